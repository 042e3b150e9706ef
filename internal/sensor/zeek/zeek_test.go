package zeek

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

func readLines(t testing.TB, name string) [][]byte {
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
	return out
}

// parseFile parses a sample and counts its events by type.
func parseFile(t *testing.T, name, path string) ([]sensor.Event, map[sensor.Type]int) {
	t.Helper()
	p := NewParser(path)
	var evs []sensor.Event
	counts := map[sensor.Type]int{}
	for i, l := range readLines(t, name) {
		var ev sensor.Event
		ok, err := p.Parse(l, &ev)
		if err != nil {
			t.Fatalf("%s:%d: %v", name, i+1, err)
		}
		if ok {
			if ev.Time.IsZero() || !ev.Src.IsValid() || ev.Input != "zeek" {
				t.Errorf("%s:%d: incomplete %+v", name, i+1, ev)
			}
			evs = append(evs, ev)
			counts[ev.Type]++
		}
	}
	return evs, counts
}

func TestSamples(t *testing.T) {
	for _, c := range []struct {
		file, path string
		want       map[sensor.Type]int
	}{
		{"rita_conn.log", "", map[sensor.Type]int{sensor.TypeFlow: 29}},
		{"rita_dns.log", "dns", map[sensor.Type]int{sensor.TypeDNS: 34}},
		{"rita_http.log", "", map[sensor.Type]int{sensor.TypeHTTP: 10}},
		{"rita_ssl.log", "", map[sensor.Type]int{sensor.TypeTLS: 10}},
		{"wrccdc2018_notice_first50.json", "", map[sensor.Type]int{sensor.TypeAlert: 50}},
		{"wrccdc2018_ssh.json", "", map[sensor.Type]int{sensor.TypeSSH: 20, sensor.TypeAuthFail: 2}},
		{"zeek-btest_ssh.log", "", map[sensor.Type]int{sensor.TypeSSH: 20, sensor.TypeAuthFail: 2}},
		{"zeek-btest_http.log", "", map[sensor.Type]int{sensor.TypeHTTP: 49}},
	} {
		_, got := parseFile(t, c.file, c.path)
		if len(got) != len(c.want) {
			t.Errorf("%s: %v, want %v", c.file, got, c.want)
		}
		for typ, n := range c.want {
			if got[typ] != n {
				t.Errorf("%s: %d %s, want %d", c.file, got[typ], typ, n)
			}
		}
	}
}

func TestFields(t *testing.T) {
	evs, _ := parseFile(t, "rita_conn.log", "")
	want := sensor.Event{Time: time.Unix(1517422326, 539915000).UTC(), Type: sensor.TypeFlow, Src: netip.MustParseAddr("10.55.100.100"),
		Dst: netip.MustParseAddr("205.204.101.182"), SrcPort: 61843, DstPort: 80, Proto: 6, Bytes: 1131 + 508, Packets: 14, Input: "zeek"}
	if evs[0] != want {
		t.Errorf("conn:\n got %+v\nwant %+v", evs[0], want)
	}
	evs, _ = parseFile(t, "rita_dns.log", "dns")
	if evs[0].Name != "6dde0175375169c68f.dnsc.r-1x.com" || evs[0].Proto != 17 || evs[0].DstPort != 53 {
		t.Errorf("dns %+v", evs[0])
	}
	evs, _ = parseFile(t, "rita_ssl.log", "")
	if evs[0].Name != "lptag.liveperson.net" {
		t.Errorf("ssl %+v", evs[0])
	}
	evs, _ = parseFile(t, "rita_http.log", "")
	if evs[0].Name != "gm.mmstat.com" {
		t.Errorf("http %+v", evs[0])
	}
	evs, _ = parseFile(t, "wrccdc2018_notice_first50.json", "")
	if e := evs[0]; e.Signature != "SSL::Invalid_Server_Cert" || e.Severity != 2 || e.Src != netip.MustParseAddr("10.164.94.120") ||
		e.DstPort != 443 || !e.Time.Equal(time.Date(2018, 3, 24, 17, 15, 20, 629574000, time.UTC)) {
		t.Errorf("notice %+v", e)
	}
	evs, _ = parseFile(t, "zeek-btest_ssh.log", "")
	var fails []string
	for _, e := range evs {
		if e.Type == sensor.TypeAuthFail {
			fails = append(fails, e.Src.String()+">"+e.Dst.String())
			if e.Signature != "ssh" || e.DstPort != 22 {
				t.Errorf("ssh failure %+v", e)
			}
		}
	}
	if strings.Join(fails, " ") != "192.168.1.32>128.2.10.238 192.168.1.32>131.103.20.168" {
		t.Errorf("ssh failures %v", fails)
	}
	if !evs[0].Time.Equal(time.Unix(1324071333, 792887000)) {
		t.Errorf("tsv time %v", evs[0].Time)
	}
}

func TestTSVEscapesAndLogin(t *testing.T) {
	p := NewParser("")
	lines := []string{
		"#separator \\x09",
		"#set_separator\t,",
		"#empty_field\t(empty)",
		"#unset_field\t-",
		"#path\thttp",
		"#fields\tts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tmethod\thost\turi\tstatus_code",
		"1700000000.5\t203.0.113.9\t40000\t10.0.0.8\t443\tPOST\tPortal.Example.VN\t/wp-login.php\t401",
		"1700000001.0\t203.0.113.9\t40001\t10.0.0.8\t443\tGET\tex\\x61mple.org\t/\t200",
		"1700000002.0\t203.0.113.9\t40001\t10.0.0.8\t443\t-\t(empty)\t-\t-",
	}
	var evs []sensor.Event
	for _, l := range lines {
		var ev sensor.Event
		ok, err := p.Parse([]byte(l), &ev)
		if err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		if ok {
			evs = append(evs, ev)
		}
	}
	if len(evs) != 3 || evs[0].Type != sensor.TypeAuthFail || evs[0].Name != "portal.example.vn" || evs[1].Name != "example.org" || evs[2].Name != "" {
		t.Errorf("%+v", evs)
	}
	for _, bad := range []string{"1\t2", "x\t203.0.113.9\t1\t10.0.0.8\t2\tGET\th\t/\t200", "1700000000\t999.1.1.1\t1\t10.0.0.8\t2\tGET\th\t/\t200", "1700000000\t1.1.1.1\t1\t10.0.0.8\t2\tGET\th\\xZZ\t/\t200"} {
		if ok, err := p.Parse([]byte(bad), new(sensor.Event)); ok || !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %v %v", bad, ok, err)
		}
	}
	if _, err := NewParser("conn").Parse([]byte("1.0\t1.1.1.1"), new(sensor.Event)); !errors.Is(err, errHeader) {
		t.Errorf("data before header: %v", err)
	}
	// Canonified btest timestamps are not times.
	if _, err := NewParser("conn").Parse([]byte(`{"ts":"XXXXXXXXXX.XXXXXX","id.orig_h":"10.0.0.1"}`), new(sensor.Event)); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad ts: %v", err)
	}
	// Logs not mapped are skipped.
	if ok, err := NewParser("").Parse([]byte(`{"_path":"files","ts":1.0}`), new(sensor.Event)); ok || err != nil {
		t.Errorf("files.log: %v %v", ok, err)
	}
}

// FuzzParse feeds JSON and TSV lines seeded from every sample, after the
// TSV headers of the http sample.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.log"))
	more, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, name := range append(files, more...) {
		for _, l := range readLines(f, filepath.Base(name)) {
			f.Add(l)
		}
	}
	headers := readLines(f, "zeek-btest_http.log")[:8]
	f.Fuzz(func(t *testing.T, line []byte) {
		p := NewParser("conn")
		for _, h := range headers {
			if _, err := p.Parse(h, new(sensor.Event)); err != nil {
				t.Fatal(err)
			}
		}
		var ev sensor.Event
		ok, err := p.Parse(line, &ev)
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("error kind %v", err)
		}
		if ok && (ev.Time.IsZero() || ev.Type == 0 || len(ev.Name) > 253) {
			t.Fatalf("incomplete %+v", ev)
		}
	})
}

func TestPathOf(t *testing.T) {
	for name, want := range map[string]string{"conn.log": "conn", "/var/log/zeek/current/dns.log": "dns",
		"ssl.2026-12-07-10-00-00.log": "ssl", "weird.log": "", "files.json": "", "notice.json": "notice"} {
		if got := PathOf(name); got != want {
			t.Errorf("PathOf(%q) = %q, want %q", name, got, want)
		}
	}
}
