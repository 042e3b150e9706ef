package shadowserver

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/intel"
)

func TestDefaultSchema(t *testing.T) {
	s, err := DefaultSchema()
	if err != nil {
		t.Fatal(err)
	}
	types := s.Types()
	for _, want := range []string{"scan_snmp", "scan_ntp", "event4_sinkhole", "compromised_website", "blocklist", "scan_http_vulnerable",
		"scan_rdp", "scan_memcached", "scan_ssdp", "scan_smb"} {
		if !slices.Contains(types, want) {
			t.Errorf("the shipped schema lacks %s (has %v)", want, types)
		}
	}
	if s.Created == "" || len(s.Changes) == 0 {
		t.Errorf("_meta not read: %q %v", s.Created, s.Changes)
	}
	for _, ty := range types {
		r, err := s.Report(ty)
		if err != nil {
			t.Fatal(err)
		}
		e := r.Rampart
		if e.Category == "" || e.Confidence == nil || e.TLP != "AMBER" || len(e.Detail) == 0 || r.FeedName == "" {
			t.Errorf("%s: incomplete report %+v", ty, r)
		}
		if strings.HasPrefix(ty, "scan_") && e.Category != intel.CategoryExposed {
			t.Errorf("%s: category %s", ty, e.Category)
		}
		if _, err := newPlan(r); err != nil {
			t.Errorf("%s: %v", ty, err)
		}
	}
	for name, want := range map[string]string{"Sinkhole-Events IPv4": "event4_sinkhole", "open-snmp": "scan_snmp", "SCAN_RDP": "scan_rdp",
		"2026-12-01-scan_ssdp-vietnam-geo.csv": "scan_ssdp"} {
		if r, err := s.Report(name); err != nil || r.FileName != want {
			t.Errorf("Report(%q) = %v, %v; want %s", name, r, err, want)
		}
	}
}

// TestIntelMQTestSchema loads IntelMQ's own test schema (the format
// Shadowserver publishes) and parses its two samples with it.
func TestIntelMQTestSchema(t *testing.T) {
	f, err := os.Open("testdata/intelmq_schema.json.test")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := LoadSchema(f)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Types(), []string{"test_afs", "test_smb", "test_telnet"}) {
		t.Fatalf("types %v", s.Types())
	}
	recs, rej := parseSample(t, s, "test_smb.csv", "2010-02-10-test_smb-test-geo.csv")
	if rej.Count != 0 || len(recs) != 3 {
		t.Fatalf("%d records, rejections %+v", len(recs), rej)
	}
	r := recs[0]
	// No "rampart" block: the category comes from the classification,
	// confidence and TLP are the model's defaults, every extra is detail.
	if r.Value != "192.168.0.1" || r.Feed != "shadowserver:test_smb" || r.Category != intel.CategoryExposed ||
		r.Confidence != intel.DefaultConfidence || r.TLP != intel.TLPAmber {
		t.Fatalf("record %+v", r)
	}
	wantDetail(t, r, map[string]string{"port": "445", "protocol": "tcp", "service": "smb", "identifier": "test-smb",
		"smb_implant": "false", "smbv1_support": "N", "smb_version_string": "SMB 2.1", "source.naics": "", "arch": ""})
	recs, rej = parseSample(t, s, "test_telnet.csv", "test_telnet")
	if rej.Count != 0 || len(recs) != 2 {
		t.Fatalf("%d records, rejections %+v", len(recs), rej)
	}
	wantDetail(t, recs[1], map[string]string{"banner": "|MikroTik v6.45.3 (stable)|Login:", "port": "5678", "protocol": "tcp", "tag": "telnet-alt"})
}

// TestSchemaUpdate is a format change handled as a data update: the
// report renames a column; the shipped schema refuses the file with a
// clear error, an updated schema file merged over it reads it, and our
// category, confidence and detail list stay.
func TestSchemaUpdate(t *testing.T) {
	report := "timestamp,src_ip,protocol,port,tag,community,amplification\n2026-12-01 00:00:00,192.0.2.7,udp,161,snmp,public,4.2\n"
	def, _ := DefaultSchema()
	if _, err := Parse(context.Background(), strings.NewReader(report), def, "scan_snmp", func(intel.Record) error { return nil }); err == nil ||
		!strings.Contains(err.Error(), "update the schema") {
		t.Fatalf("renamed column accepted: %v", err)
	}
	update := `{"_meta": {"date_created": "2027-01-01T00:00:00Z", "change_log": ["scan_snmp: ip is src_ip"]},
	  "scan_snmp": {"feed_name": "Open-SNMP", "file_name": "scan_snmp", "url": "https://example.org/", "date_created": "2027",
	    "constant_fields": {"classification.taxonomy": "vulnerable", "classification.type": "vulnerable-system", "protocol.application": "snmp"},
	    "required_fields": [["time.source", "timestamp", "add_UTC_to_timestamp"], ["source.ip", "src_ip", "validate_ip"], ["source.port", "port", "convert_int"]],
	    "optional_fields": [["protocol.transport", "protocol"], ["extra.", "tag", "validate_to_none"], ["extra.", "community", "validate_to_none"],
	      ["extra.", "amplification", "convert_float"], [false, "ignored"]]},
	  "scan_newthing": {"feed_name": "New", "file_name": "scan_newthing",
	    "required_fields": [["source.ip", "ip", "validate_ip"]]}}`
	up, err := LoadSchema(strings.NewReader(update))
	if err != nil {
		t.Fatal(err)
	}
	merged := def.Merge(up)
	if merged.Created != "2027-01-01T00:00:00Z" || len(merged.Types()) != len(def.Types())+1 {
		t.Fatalf("merged %v %v", merged.Created, merged.Types())
	}
	var recs []intel.Record
	rej, err := Parse(context.Background(), strings.NewReader(report), merged, "scan_snmp", func(r intel.Record) error {
		recs = append(recs, r)
		return nil
	})
	if err != nil || rej.Count != 0 || len(recs) != 1 {
		t.Fatalf("%v %+v %+v", err, rej, recs)
	}
	r := recs[0]
	if r.Value != "192.0.2.7" || r.Category != intel.CategoryExposed || r.Confidence != 90 {
		t.Fatalf("record %+v", r)
	}
	wantDetail(t, r, map[string]string{"community": "public", "amplification": "4.2", "port": "161"})
	// The shipped schema is unchanged by the merge.
	if old, _ := def.Report("scan_snmp"); old.Required[1].Column != "ip" {
		t.Fatal("Merge changed its receiver")
	}
	// A new type from the update, without our block, is read too.
	recs = recs[:0]
	if _, err := Parse(context.Background(), strings.NewReader("ip\n192.0.2.8\n"), merged, "scan_newthing", func(r intel.Record) error {
		recs = append(recs, r)
		return nil
	}); err != nil || len(recs) != 1 || recs[0].Category != intel.CategoryExposed {
		t.Fatalf("%v %+v", err, recs)
	}
}

func TestLoadSchemaErrors(t *testing.T) {
	field := `["source.ip", "ip", "validate_ip"]`
	rep := func(body string) string {
		return `{"r": {"file_name": "r", "required_fields": [` + field + `]` + body + `}}`
	}
	bad := map[string]string{
		"not json":           `{"r": `,
		"not an object":      `[]`,
		"no report":          `{"_meta": {}}`,
		"no file name":       `{"r": {"required_fields": [` + field + `]}}`,
		"bad file name":      `{"r": {"file_name": "scan-snmp", "required_fields": [` + field + `]}}`,
		"no required":        `{"r": {"file_name": "r"}}`,
		"unknown converter":  rep(`, "optional_fields": [["extra.", "x", "rot13"]]`),
		"short field":        rep(`, "optional_fields": [["extra."]]`),
		"long field":         rep(`, "optional_fields": [["extra.", "x", "convert_int", true, 1]]`),
		"key true":           rep(`, "optional_fields": [[true, "x"]]`),
		"numeric column":     rep(`, "optional_fields": [["extra.", 3]]`),
		"flag not bool":      rep(`, "optional_fields": [["extra.", "x", "convert_int", "yes"]]`),
		"constant object":    rep(`, "constant_fields": {"a": {"b": 1}}`),
		"rampart unknown":    rep(`, "rampart": {"categroy": "c2"}`),
		"rampart category":   rep(`, "rampart": {"category": "evil"}`),
		"rampart confidence": rep(`, "rampart": {"confidence": 101}`),
		"rampart tlp":        rep(`, "rampart": {"tlp": "purple"}`),
		"duplicate file":     `{"a": {"file_name": "r", "required_fields": [` + field + `]}, "b": {"file_name": "r", "required_fields": [` + field + `]}}`,
	}
	for name, in := range bad {
		if _, err := LoadSchema(strings.NewReader(in)); err == nil || !strings.HasPrefix(err.Error(), "shadowserver:") {
			t.Errorf("%s: accepted (%v)", name, err)
		}
	}
	big := bytes.Repeat([]byte(" "), maxSchemaBytes+1)
	if _, err := LoadSchema(bytes.NewReader(big)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized schema: %v", err)
	}
	// A report with nothing to match loads, but is refused when used.
	s, err := LoadSchema(strings.NewReader(`{"acc": {"file_name": "acc", "required_fields": [["time.source", "timestamp"]]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(context.Background(), strings.NewReader("timestamp\n"), s, "acc", func(intel.Record) error { return nil }); err == nil ||
		!strings.Contains(err.Error(), "not supported") {
		t.Fatalf("err %v", err)
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		tax, typ, file string
		want           intel.Category
	}{
		{"vulnerable", "vulnerable-system", "scan_x", intel.CategoryExposed},
		{"malicious-code", "infected-system", "event4_sinkhole", intel.CategoryCompromised},
		{"intrusions", "system-compromise", "compromised_website", intel.CategoryCompromised},
		{"other", "blacklist", "blocklist", intel.CategoryBlocklist},
		{"other", "other", "scan_http", intel.CategoryExposed},
		{"other", "other", "population_bgp", intel.CategoryBlocklist},
		{"information-gathering", "scanner", "event4_honeypot_darknet", intel.CategoryScanner},
		{"malicious-code", "malware-distribution", "malware_url", intel.CategoryMalware},
		{"fraud", "", "x", intel.CategoryPhishing},
	}
	for _, c := range cases {
		if got := classify(c.tax, c.typ, c.file); got != c.want {
			t.Errorf("classify(%q, %q, %q) = %s, want %s", c.tax, c.typ, c.file, got, c.want)
		}
	}
}

func TestConverters(t *testing.T) {
	r := &row{index: map[string]int{"http_host": 0, "url": 1, "application": 2, "tag": 3, "detail": 4},
		fields: []string{"www.example.org", "GET /shell.php?x=1 HTTP/1.1", "https", "CVE-2021-26855;exchange;cve-2021-34473", "d"}}
	cases := []struct {
		conv, in, out string
		ok, err       bool
	}{
		{"validate_ip", "192.0.2.1", "192.0.2.1", true, false},
		{"validate_ip", "0.0.0.0", "", false, false},
		{"validate_ip", "10.0.0.0/8", "", false, false},
		{"validate_network", "10.0.0.0/8", "10.0.0.0/8", true, false},
		{"validate_fqdn", "a..b", "", false, false},
		{"invalidate_zero", "0", "", false, false},
		{"invalidate_zero", "x", "", false, true},
		{"convert_int", "42", "42", true, false},
		{"convert_float", "1.5e3", "1.5e3", true, false},
		{"convert_float", "lots", "", false, true},
		{"convert_bool", "Y", "true", true, false},
		{"convert_bool", "maybe", "", false, false},
		{"validate_to_none", "unknown", "", false, false},
		{"convert_date", "Wed, 10 Feb 2010 00:00:00 GMT", "2010-02-10T00:00:00Z", true, false},
		{"add_UTC_to_timestamp", "2010-02-10 25:00:00", "", false, true},
		{"convert_http_host_and_url", "GET /shell.php?x=1 HTTP/1.1", "https://www.example.org/shell.php?x=1", true, false},
		{"extract_cve_from_tag", "", "CVE-2021-26855,CVE-2021-34473", true, false},
		{"category_or_detail", "", "d", true, false},
		{"scan_exchange_type", "", "vulnerable-system", true, false},
	}
	for _, c := range cases {
		f, ok := converter(c.conv)
		if !ok {
			t.Fatalf("no converter %s", c.conv)
		}
		in := c.in
		if c.conv == "extract_cve_from_tag" {
			in = r.fields[3]
		}
		out, ok, err := f(in, r)
		if out != c.out || ok != c.ok || (err != nil) != c.err {
			t.Errorf("%s(%q) = %q, %v, %v; want %q, %v, error %v", c.conv, in, out, ok, err, c.out, c.ok, c.err)
		}
	}
}
