package shadowserver

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/intel"
)

func parseSample(t *testing.T, s *Schema, file, report string) ([]intel.Record, *intel.Rejections) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if report == "" {
		report = file
	}
	var recs []intel.Record
	rej, err := Parse(context.Background(), f, s, report, func(r intel.Record) error {
		recs = append(recs, r)
		return nil
	})
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return recs, rej
}

func parseString(t *testing.T, report, in string) ([]intel.Record, *intel.Rejections, error) {
	t.Helper()
	var recs []intel.Record
	rej, err := Parse(context.Background(), strings.NewReader(in), nil, report, func(r intel.Record) error {
		recs = append(recs, r)
		return nil
	})
	return recs, rej, err
}

// wantDetail checks some detail keys; "" means the key must be absent.
func wantDetail(t *testing.T, r intel.Record, want map[string]string) {
	t.Helper()
	for k, v := range want {
		got, ok := r.Detail[k]
		if v == "" && ok || v != "" && got != v {
			t.Errorf("%s: detail %s = %q (set %v), want %q; detail %v", r.Value, k, got, ok, v, r.Detail)
		}
	}
}

func TestScanSNMP(t *testing.T) {
	recs, rej := parseSample(t, nil, "scan_snmp.csv", "2026-12-01-scan_snmp-vietnam-geo.csv")
	if rej.Count != 0 || len(recs) != 3 {
		t.Fatalf("%d records, rejections %+v", len(recs), rej)
	}
	r := recs[1]
	if r.Kind != intel.KindIPv4 || r.Value != "192.168.0.2" || r.Feed != "shadowserver:scan_snmp" || r.Category != intel.CategoryExposed ||
		r.TLP != intel.TLPAmber || r.Confidence != 90 || !r.LastSeen.Equal(time.Date(2010, 2, 10, 0, 0, 1, 0, time.UTC)) {
		t.Fatalf("record %+v", r)
	}
	wantDetail(t, r, map[string]string{"port": "161", "protocol": "udp", "service": "snmp", "community": "public",
		"amplification": "1.35", "response_size": "115", "sysdesc": "RouterOS CCR1009-8G-1S-1S+", "product_vendor": "MikroTik",
		"device_type": "router", "identifier": "open-snmp", "naics": "", "region": ""})
	if !slices.Equal(r.Labels, []string{"tag:iot", "tag:snmp"}) {
		t.Fatalf("labels %v", r.Labels)
	}
	if !strings.HasPrefix(r.Raw, "2010-02-10 00:00:01,192.168.0.2,udp,161,") || !strings.Contains(r.Raw, `,"snmp,iot",public,115,1.35`) {
		t.Fatalf("raw %q", r.Raw)
	}
}

func TestScanNTP(t *testing.T) {
	recs, rej := parseSample(t, nil, "scan_ntp.csv", "scan_ntp")
	if rej.Count != 0 || len(recs) != 3 {
		t.Fatalf("%d records, rejections %+v", len(recs), rej)
	}
	wantDetail(t, recs[1], map[string]string{"port": "123", "protocol": "udp", "service": "ntp", "amplification": "27.33",
		"response_size": "328", "stratum": "8", "version": "4", "refid": ""})
}

func TestSinkhole(t *testing.T) {
	recs, rej := parseSample(t, nil, "event4_sinkhole.csv", "2021-03-04-event4_sinkhole-vn-geo.csv")
	if rej.Count != 0 || len(recs) != 3 {
		t.Fatalf("%d records, rejections %+v", len(recs), rej)
	}
	r := recs[0]
	if r.Value != "190.113.1.2" || r.Category != intel.CategoryCompromised || r.Feed != "shadowserver:event4_sinkhole" ||
		!slices.Equal(r.Labels, []string{"malware:victorygate.b"}) {
		t.Fatalf("record %+v", r)
	}
	wantDetail(t, r, map[string]string{"infection": "victorygate.b", "family": "victorygate.b", "dst_ip": "178.162.1.2",
		"dst_port": "4455", "port": "17409", "protocol": "tcp", "public_source": "eset", "invalid": ""})
	// Row 3: the constituent side (src_ip) is valid; the sinkhole's
	// address 148.81.111.11.12 is not. The row is kept, the bad optional
	// field dropped and named.
	r = recs[2]
	if r.Value != "35.197.11.12" {
		t.Fatalf("row 3 %+v", r)
	}
	wantDetail(t, r, map[string]string{"dst_ip": "", "invalid": "dst_ip", "dst_port": "80", "infection": "virut"})
	if !strings.Contains(r.Raw, "148.81.111.11.12") {
		t.Fatalf("raw lost the bad value: %q", r.Raw)
	}
}

func TestSinkholeRequiredFieldRejects(t *testing.T) {
	b, err := os.ReadFile("testdata/event4_sinkhole.csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	// The constituent side invalid (src_ip), then a required field that
	// does not convert (src_port), then a time that is not a time.
	badIP := strings.Replace(lines[1], `"190.113.1.2"`, `"190.113.1.2.3"`, 1)
	badPort := strings.Replace(lines[2], ",44696,", ",port44696,", 1)
	badTime := strings.Replace(lines[3], `"2021-03-04 00:00:00"`, `"yesterday"`, 1)
	in := strings.Join([]string{lines[0], badIP, badPort, badTime, lines[1]}, "\n")
	recs, rej, err := parseString(t, "event4_sinkhole", in)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Value != "190.113.1.2" || rej.Count != 3 {
		t.Fatalf("records %+v rejections %+v", recs, rej)
	}
	want := []struct{ where, reason string }{
		{"line 2", `src_ip "190.113.1.2.3"`}, {"line 3", `column "src_port": "port44696" is not a whole number`}, {"line 4", `"yesterday" is not a time`},
	}
	for i, w := range want {
		if rej.List[i].Where != w.where || !strings.Contains(rej.List[i].Reason, w.reason) {
			t.Errorf("rejection %d: %+v, want %s: …%s…", i, rej.List[i], w.where, w.reason)
		}
	}
}

func TestCompromisedWebsite(t *testing.T) {
	recs, rej := parseSample(t, nil, "compromised_website.csv", "")
	if rej.Count != 0 || len(recs) != 3 {
		t.Fatalf("%d records, rejections %+v", len(recs), rej)
	}
	if recs[0].Kind != intel.KindURL || recs[0].Value != "http://example.com/header.php" || recs[0].Category != intel.CategoryMalware {
		t.Fatalf("record %+v", recs[0])
	}
	wantDetail(t, recs[0], map[string]string{"ip": "203.0.113.1", "port": "80", "description": "spam", "server": "Microsoft-IIS/7.5",
		"detected_since": "2015-05-09 05:51:12", "identifier": "compromised-website"})
	if recs[1].Value != "http://example.com/" || recs[1].Detail["description"] != "phishing" {
		t.Fatalf("record %+v", recs[1])
	}
	// No URL and no host: the website's address is the value.
	if recs[2].Kind != intel.KindIPv4 || recs[2].Value != "66.249.0.0" || recs[2].Category != intel.CategoryMalware {
		t.Fatalf("record %+v", recs[2])
	}
	wantDetail(t, recs[2], map[string]string{"cc_url": "https://lolfree.pw/ads.txt", "description": "stealer", "port": "", "ip": ""})
}

func TestBlocklist(t *testing.T) {
	recs, rej := parseSample(t, nil, "blocklist.csv", "2019-09-04-blocklist-xx.csv")
	if rej.Count != 0 || len(recs) != 3 {
		t.Fatalf("%d records, rejections %+v", len(recs), rej)
	}
	got := []string{}
	for _, r := range recs {
		got = append(got, string(r.Kind)+" "+r.Value+" "+string(r.Category))
	}
	want := []string{"ipv4 198.123.245.134 blocklist", "ipv4 198.123.245.171 blocklist", "cidr 198.123.245.0/24 blocklist"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q", got)
	}
	wantDetail(t, recs[0], map[string]string{"source_name": "Alien Vault", "reason": "Malicious Host AA", "hostname": "host.local", "invalid": ""})
}

func TestHTTPVulnerableQuotes(t *testing.T) {
	recs, rej := parseSample(t, nil, "scan_http_vulnerable.csv", "")
	if rej.Count != 0 || len(recs) != 3 {
		t.Fatalf("%d records, rejections %+v", len(recs), rej)
	}
	r := recs[0]
	// The quoted field with embedded \"\" quotes is one field: the columns
	// after it stay in place.
	wantDetail(t, r, map[string]string{"server": "TwistedWeb/19.7.0", "http_code": "401", "http_reason": "Unauthorized",
		"www_authenticate": `Basic realm=""OpenWebif""`, "http_date": "2010-02-10T00:00:00Z", "port": "8080"})
	if !slices.Equal(r.Labels, []string{"tag:basic-auth", "tag:http"}) {
		t.Fatalf("labels %v", r.Labels)
	}
	wantDetail(t, recs[2], map[string]string{"detail": "repositoryformatversion = 0;filemode = false;bare = false;logallrefupdates = true;symlinks = false;ignorecase = true",
		"http_code": "", "port": "443"})
}

func TestUnknownAndBadReports(t *testing.T) {
	_, _, err := parseString(t, "2026-12-01-scan_teapot-vietnam-geo.csv", "timestamp,ip\n")
	if err == nil || !strings.Contains(err.Error(), `unknown report type "scan_teapot"`) || !strings.HasPrefix(err.Error(), "shadowserver:") {
		t.Fatalf("err %v", err)
	}
	_, _, err = parseString(t, "scan_snmp", "timestamp,hostname,port\n2010-02-10 00:00:00,x,161\n")
	if err == nil || !strings.Contains(err.Error(), `["ip"]`) || !strings.Contains(err.Error(), "update the schema") {
		t.Fatalf("err %v", err)
	}
	_, _, err = parseString(t, "scan_snmp", "\n\n")
	if err == nil || !strings.Contains(err.Error(), "no header") {
		t.Fatalf("err %v", err)
	}
}

func TestRowShapes(t *testing.T) {
	in := "timestamp,ip,protocol,port,tag,community\n" +
		"2010-02-10 00:00:00,192.0.2.1,udp,161,snmp\n" + // a field short
		"2010-02-10 00:00:00,192.0.2.2,udp,161,\"snmp\nwrapped\",public\n" + // a quoted line break
		"2010-02-10 00:00:00,192.0.2.3,udp,161,snmp," + strings.Repeat("p", maxLine) + "\n" + // over the bound
		"2010-02-10 00:00:00,2001:DB8::1,udp,161,snmp,private\n" +
		"2010-02-10 00:00:00,0.0.0.0,udp,161,snmp,private\n" + // no valid address
		"2010-02-10 00:00:00,192.0.2.9,udp,161,\"never closed,x\n"
	recs, rej, err := parseString(t, "scan_snmp", in)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Value != "192.0.2.2" || recs[0].Detail["tag"] != "snmp\nwrapped" || recs[1].Value != "2001:db8::1" ||
		recs[1].Kind != intel.KindIPv6 || recs[1].Detail["community"] != "private" {
		t.Fatalf("records %+v", recs)
	}
	want := []struct{ where, reason string }{
		{"line 2", "5 fields, the header 6"}, {"line 5", "longer than"}, {"line 7", `ip "0.0.0.0"`}, {"line 8", "not closed"},
	}
	if rej.Count != len(want) {
		t.Fatalf("rejections %+v", rej)
	}
	for i, w := range want {
		if rej.List[i].Where != w.where || !strings.Contains(rej.List[i].Reason, w.reason) {
			t.Errorf("rejection %d: %+v, want %s: …%s…", i, rej.List[i], w.where, w.reason)
		}
	}
}

func TestEmitErrorAndContext(t *testing.T) {
	stop := errors.New("stop")
	f, _ := os.Open("testdata/scan_snmp.csv")
	defer f.Close()
	n := 0
	_, err := Parse(context.Background(), f, nil, "scan_snmp", func(intel.Record) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("err %v after %d", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Parse(ctx, &rowGen{report: "scan_snmp", n: 10000}, nil, "scan_snmp", func(intel.Record) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
}

func TestReportType(t *testing.T) {
	ok := map[string]string{
		"2026-12-01-scan_snmp-vietnam-geo.csv":                  "scan_snmp",
		"/var/spool/2020-04-03-scan_ics-sample-asn-delayed.csv": "scan_ics",
		"2024-07-04-dns_openresolver-123-sample-asn.csv":        "dns_openresolver",
		`C:\reports\2021-03-04-event4_sinkhole-vn.CSV`:          "event4_sinkhole",
		"scan_ntp.csv": "scan_ntp",
	}
	for in, want := range ok {
		if got, found := ReportType(in); !found || got != want {
			t.Errorf("ReportType(%q) = %q, %v; want %q", in, got, found, want)
		}
	}
	for _, in := range []string{"scan_snmp", "report.txt", "2026-12-01-.csv", "2026-12-01-scan snmp-x.csv", ".csv"} {
		if got, found := ReportType(in); found {
			t.Errorf("ReportType(%q) = %q", in, got)
		}
	}
}
