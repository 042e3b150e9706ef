package eve

import (
	"bufio"
	"bytes"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/sensor"
)

// lines returns the lines of a testdata file.
func lines(t testing.TB, name string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, MaxLine)
	for sc.Scan() {
		out = append(out, bytes.Clone(sc.Bytes()))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSamples(t *testing.T) {
	cases := []struct {
		file    string
		counts  map[sensor.Type]int
		skipped int
	}{
		{"suricatalog_eve-2_first200.json", map[sensor.Type]int{sensor.TypeAlert: 5, sensor.TypeDNS: 95, sensor.TypeTLS: 81, sensor.TypeHTTP: 3, sensor.TypeFlow: 5}, 11},
		{"suricatalog_eve_large_first120.json", map[sensor.Type]int{sensor.TypeAlert: 3, sensor.TypeFlow: 55, sensor.TypeSSH: 3}, 59},
		{"crowdsec-hub_suricata-logs-evelog.json", map[sensor.Type]int{sensor.TypeAlert: 4, sensor.TypeFlow: 2}, 2},
		{"fever_alertify_input.json", map[sensor.Type]int{sensor.TypeDNS: 1, sensor.TypeHTTP: 1, sensor.TypeTLS: 1}, 0},
		{"fever_jsonparse_eve.json", map[sensor.Type]int{sensor.TypeDNS: 1, sensor.TypeHTTP: 1}, 1},
	}
	p := NewParser()
	for _, c := range cases {
		got := map[sensor.Type]int{}
		skipped := 0
		for i, l := range lines(t, c.file) {
			var ev sensor.Event
			ok, err := p.Parse(l, &ev)
			if err != nil {
				t.Fatalf("%s line %d: %v", c.file, i+1, err)
			}
			if !ok {
				skipped++
				continue
			}
			if ev.Time.IsZero() || !ev.Src.IsValid() || !ev.Dst.IsValid() || ev.Input != "eve" {
				t.Errorf("%s line %d: incomplete event %+v", c.file, i+1, ev)
			}
			if (ev.Type == sensor.TypeDNS || ev.Type == sensor.TypeTLS && ev.Name != "") && strings.ToLower(ev.Name) != ev.Name {
				t.Errorf("%s line %d: name not lower case: %q", c.file, i+1, ev.Name)
			}
			got[ev.Type]++
		}
		for typ, n := range c.counts {
			if got[typ] != n {
				t.Errorf("%s: %d %s events, want %d", c.file, got[typ], typ, n)
			}
		}
		if len(got) != len(c.counts) || skipped != c.skipped {
			t.Errorf("%s: got %v and %d skipped, want %v and %d", c.file, got, skipped, c.counts, c.skipped)
		}
	}
}

func parseOne(t *testing.T, line string) sensor.Event {
	t.Helper()
	var ev sensor.Event
	ok, err := NewParser().Parse([]byte(line), &ev)
	if err != nil || !ok {
		t.Fatalf("Parse(%.80s…) = %v, %v", line, ok, err)
	}
	return ev
}

func TestFields(t *testing.T) {
	// The first alert of the CrowdSec hub sample.
	ev := parseOne(t, string(lines(t, "crowdsec-hub_suricata-logs-evelog.json")[0]))
	want := sensor.Event{
		Time: time.Date(2022, 7, 10, 23, 50, 5, 533101000, time.UTC), Type: sensor.TypeAlert,
		Src: netip.MustParseAddr("1.2.3.4"), Dst: netip.MustParseAddr("127.0.0.1"), SrcPort: 52812, DstPort: 80, Proto: 6,
		Signature: "ET WEB_SPECIFIC_APPS OGNL Expression Injection (CVE-2017-9791)", Severity: 1, Input: "eve",
	}
	if ev != want {
		t.Errorf("alert:\n got %+v\nwant %+v", ev, want)
	}
	// The CVE-2021-41773 alert carries an http block: its hostname is an
	// IP literal, so no name.
	ev = parseOne(t, string(lines(t, "crowdsec-hub_suricata-logs-evelog.json")[4]))
	if ev.Severity != 1 || ev.Name != "" || !strings.Contains(ev.Signature, "CVE-2021-41773") {
		t.Errorf("alert with http: %+v", ev)
	}
	// The flow: 108+54 bytes, 2+1 packets; offset -0000.
	ev = parseOne(t, string(lines(t, "crowdsec-hub_suricata-logs-evelog.json")[2]))
	if ev.Type != sensor.TypeFlow || ev.Bytes != 162 || ev.Packets != 3 || ev.DstPort != 2352 {
		t.Errorf("flow: %+v", ev)
	}
	// fever: IPv6 TLS with SNI, a v2 DNS answer, an HTTP request.
	fever := lines(t, "fever_alertify_input.json")
	ev = parseOne(t, string(fever[2]))
	if ev.Type != sensor.TypeTLS || ev.Name != "example.com" || ev.Src != netip.MustParseAddr("2a03:b0c0:2:d0::bd3:4001") || ev.DstPort != 443 {
		t.Errorf("tls: %+v", ev)
	}
	ev = parseOne(t, string(fever[1]))
	if ev.Type != sensor.TypeDNS || ev.Name != "static.programme-tv.net" || ev.Proto != 17 {
		t.Errorf("dns: %+v", ev)
	}
	ev = parseOne(t, string(fever[0]))
	if ev.Type != sensor.TypeHTTP || ev.Name != "evader.example.com" {
		t.Errorf("http: %+v", ev)
	}
	// Offsets: -0500 is five hours behind UTC.
	ev = parseOne(t, string(lines(t, "suricatalog_eve-2_first200.json")[0]))
	if !ev.Time.Equal(time.Date(2022, 2, 8, 14, 40, 29, 80710000, time.UTC)) {
		t.Errorf("time %v", ev.Time)
	}
	// SSH from the internet-facing sensor.
	for _, l := range lines(t, "suricatalog_eve_large_first120.json") {
		if bytes.Contains(l, []byte(`"event_type":"ssh"`)) {
			ev = parseOne(t, string(l))
			if ev.Type != sensor.TypeSSH || ev.Src != netip.MustParseAddr("218.92.0.76") || ev.DstPort != 22 {
				t.Errorf("ssh: %+v", ev)
			}
			break
		}
	}
}

func TestOrderEscapesUnknown(t *testing.T) {
	line := `{"x":{"deep":[1,{"a":"}\"]"}],"y":null},"tls":{"ja3":{"hash":"h"},"sni":"Ex\u0041mple.COM."},` +
		`"dest_port":443, "src_port" : 5000 ,"proto":"006","src_ip":"10.0.0.1","dest_ip":"::ffff:192.0.2.7",` +
		`"timestamp":"2024-01-02T03:04:05Z","event_type":"tls"}`
	ev := parseOne(t, line)
	if ev.Type != sensor.TypeTLS || ev.Name != "example.com" || ev.Proto != 6 || ev.Dst != netip.MustParseAddr("192.0.2.7") ||
		ev.SrcPort != 5000 || ev.Time != time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC) {
		t.Errorf("%+v", ev)
	}
	ev = parseOne(t, `{"timestamp":"2024-01-02T03:04:05.5+07:00","event_type":"alert","src_ip":"198.51.100.1","dest_ip":"10.0.0.2",`+
		`"alert":{"signature":"say \"hi\"\t\u00e9","severity":2}}`)
	if ev.Signature != "say \"hi\"\té" || ev.Severity != 2 || ev.Time != time.Date(2024, 1, 1, 20, 4, 5, 500000000, time.UTC) {
		t.Errorf("%+v", ev)
	}
	// Suricata 8 DNS (v3): the name is in queries[].
	ev = parseOne(t, `{"timestamp":"2025-01-01T00:00:00+0000","event_type":"dns","src_ip":"10.0.0.3","dest_ip":"10.0.0.53",`+
		`"dns":{"version":3,"type":"request","id":1,"queries":[{"rrname":"C2.Evil.example","rrtype":"A"}]}}`)
	if ev.Name != "c2.evil.example" {
		t.Errorf("v3 dns: %+v", ev)
	}
	// QUIC carries its SNI like TLS.
	ev = parseOne(t, `{"timestamp":"2025-01-01T00:00:00+0000","event_type":"quic","src_ip":"10.0.0.3","src_port":50000,"dest_ip":"203.0.113.3","dest_port":443,`+
		`"proto":"UDP","quic":{"version":"1","sni":"Video.Example","ua":"x"}}`)
	if ev.Type != sensor.TypeTLS || ev.Name != "video.example" || ev.Proto != 17 {
		t.Errorf("quic: %+v", ev)
	}
}

func TestLoginFailure(t *testing.T) {
	line := `{"timestamp":"2024-05-01T10:00:00+0000","event_type":"http","src_ip":"203.0.113.9","src_port":41000,"dest_ip":"10.1.1.1","dest_port":443,` +
		`"proto":"TCP","http":{"hostname":"portal.example.vn","url":"/wp-login.php?redirect_to=x","http_method":"POST","status":401}}`
	ev := parseOne(t, line)
	if ev.Type != sensor.TypeAuthFail || ev.Signature != "http" || ev.Name != "portal.example.vn" {
		t.Errorf("%+v", ev)
	}
	ev = parseOne(t, strings.Replace(line, `"status":401`, `"status":200`, 1))
	if ev.Type != sensor.TypeHTTP {
		t.Errorf("a successful login is an HTTP event: %+v", ev)
	}
}

func TestInvalid(t *testing.T) {
	p := NewParser()
	for _, l := range []string{
		``, `[]`, `{"event_type":"dns"`, `{"event_type":"dns","timestamp":"2024-01-01T00:00:00Z"} x`,
		`{"event_type":"dns","timestamp":"yesterday"}`,
		`{"event_type":"flow","timestamp":"2024-01-01T00:00:00Z","src_ip":"10.0.0.300","dest_ip":"10.0.0.1"}`,
		`{"timestamp":"2024-01-01T00:00:00Z"}`,
		`{"event_type":7,"timestamp":"2024-01-01T00:00:00Z"}`,
		`{"event_type":"alert","timestamp":"2024-01-01T00:00:00Z","alert":{"signature":"bad \q escape"}}`,
		`{"a":[1,2}`,
		`{"s":"unterminated}`,
	} {
		var ev sensor.Event
		ok, err := p.Parse([]byte(l), &ev)
		if ok || !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) = %v, %v; want ErrInvalid", l, ok, err)
		}
	}
	long := append([]byte(`{"event_type":"stats","x":"`), bytes.Repeat([]byte("a"), MaxLine)...)
	if _, err := p.Parse(long, new(sensor.Event)); !errors.Is(err, ErrTooLong) {
		t.Errorf("long line: %v", err)
	}
}

func TestAllocations(t *testing.T) {
	p := NewParser()
	var ev sensor.Event
	flow := lines(t, "suricatalog_eve_large_first120.json")[0]
	for _, l := range lines(t, "suricatalog_eve_large_first120.json") {
		if bytes.Contains(l, []byte(`"event_type":"flow"`)) {
			flow = l
			break
		}
	}
	alert := lines(t, "crowdsec-hub_suricata-logs-evelog.json")[0]
	for _, c := range []struct {
		name string
		line []byte
		max  float64
	}{{"flow", flow, 0}, {"alert", alert, 0}} {
		p.Parse(c.line, &ev) // warm the signature cache
		if n := testing.AllocsPerRun(100, func() { p.Parse(c.line, &ev) }); n > c.max {
			t.Errorf("%s: %v allocations per line, want ≤ %v", c.name, n, c.max)
		}
	}
}
