package feedcsv

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

// parseFile parses a testdata file with a preset and returns the records.
func parseFile(t *testing.T, preset, file string) ([]intel.Record, *intel.Rejections) {
	t.Helper()
	f, err := Preset(preset)
	if err != nil {
		t.Fatal(err)
	}
	fh, err := os.Open(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var recs []intel.Record
	rej, err := Parse(context.Background(), fh, f, preset, func(r intel.Record) error {
		recs = append(recs, r)
		return nil
	})
	if err != nil {
		t.Fatalf("%s with %s: %v", file, preset, err)
	}
	return recs, rej
}

func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04:05", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestFeodoTracker(t *testing.T) {
	recs, rej := parseFile(t, "feodotracker", "abusech_feodotracker_ipblocklist.csv")
	if rej.Count != 0 || len(recs) != 2 {
		t.Fatalf("%d records, rejections %+v", len(recs), rej)
	}
	r := recs[0]
	if r.Kind != intel.KindIPv4 || r.Value != "10.213.75.205" || r.Category != intel.CategoryC2 || r.TLP != intel.TLPClear ||
		r.Confidence != 90 || r.Feed != "feodotracker" {
		t.Fatalf("record %+v", r)
	}
	if !slices.Equal(r.Labels, []string{"malware:dridex"}) || r.Detail["port"] != "443" || r.Detail["status"] != "online" {
		t.Fatalf("labels %v detail %v", r.Labels, r.Detail)
	}
	if !r.FirstSeen.Equal(utc("2021-01-17 07:30:05")) || !r.LastSeen.Equal(utc("2021-02-10 00:00:00")) {
		t.Fatalf("seen %v – %v", r.FirstSeen, r.LastSeen)
	}
	if recs[1].Value != "192.16.238.101" || !strings.Contains(recs[1].Raw, `"192.16.238.101","443"`) {
		t.Fatalf("second record %+v", recs[1])
	}
}

func TestURLhausTLDFeed(t *testing.T) {
	recs, rej := parseFile(t, "urlhaus", "abusech_urlhaus_tld_feed.csv")
	if rej.Count != 0 || len(recs) != 2 {
		t.Fatalf("%d records, rejections %+v", len(recs), rej)
	}
	r := recs[0]
	if r.Kind != intel.KindURL || r.Value != "http://marconuenlist.ch/verif.accounts.docs.net/" || r.Category != intel.CategoryMalware {
		t.Fatalf("record %+v", r)
	}
	want := map[string]string{"status": "offline", "host": "marconuenlist.ch", "ip": "62.241.37.242", "asn": "29083", "country": "DE"}
	for k, v := range want {
		if r.Detail[k] != v {
			t.Errorf("detail %s = %q, want %q (%v)", k, r.Detail[k], v, r.Detail)
		}
	}
	if !r.FirstSeen.Equal(utc("2019-02-13 00:34:42")) || !slices.Equal(r.Labels, []string{"threat:malware_download"}) {
		t.Fatalf("first seen %v labels %v", r.FirstSeen, r.Labels)
	}
	if recs[1].Detail["status"] != "online" || recs[1].Detail["country"] != "CH" {
		t.Fatalf("second %+v", recs[1])
	}
}

func TestURLhausRecentLayout(t *testing.T) {
	recs, rej := parseFile(t, "urlhaus", "urlhaus_csv_recent_ours.csv")
	if len(recs) != 3 || rej.Count != 2 {
		t.Fatalf("%d records, rejections %+v", len(recs), rej)
	}
	r := recs[0]
	if r.Value != "http://192.0.2.10:8080/i" || r.ExternalID != "1000001" || r.Detail["reference"] != "https://urlhaus.abuse.ch/url/1000001/" {
		t.Fatalf("record %+v", r)
	}
	wantLabels := []string{"tag:32-bit", "tag:elf", "tag:mips", "tag:mozi", "threat:malware_download"}
	if !slices.Equal(r.Labels, wantLabels) {
		t.Fatalf("labels %v", r.Labels)
	}
	if !r.LastSeen.Equal(utc("2026-12-01 06:00:00")) || !r.FirstSeen.Equal(utc("2026-11-30 10:02:08")) {
		t.Fatalf("seen %v – %v", r.FirstSeen, r.LastSeen)
	}
	if recs[1].Value != "https://files.example.com/payload.exe?x=1" {
		t.Fatalf("normalized URL %q", recs[1].Value)
	}
	if recs[2].Category != intel.CategoryPhishing {
		t.Fatalf("category from the threat column: %q", recs[2].Category)
	}
	if rej.List[0].Where != "line 11" || !strings.Contains(rej.List[0].Reason, "yesterday") {
		t.Errorf("rejection %+v", rej.List[0])
	}
	if rej.List[1].Where != "line 12" || !strings.Contains(rej.List[1].Reason, "empty label") {
		t.Errorf("rejection %+v", rej.List[1])
	}
}

func TestSpamhaus(t *testing.T) {
	recs, rej := parseFile(t, "spamhaus-drop", "spamhaus_drop.txt")
	if rej.Count != 0 || len(recs) != 2 {
		t.Fatalf("%d records, rejections %+v", len(recs), rej)
	}
	if recs[0].Kind != intel.KindCIDR || recs[0].Value != "1.4.0.0/17" || recs[0].Detail["sbl"] != "SBL256893" {
		t.Fatalf("drop %+v", recs[0])
	}
	if recs[1].Value != "2a06:e480::/29" || recs[1].Detail["sbl"] != "SBL301771" {
		t.Fatalf("drop v6 %+v", recs[1])
	}
	recs, rej = parseFile(t, "spamhaus-asndrop", "spamhaus_asndrop.txt")
	if rej.Count != 0 || len(recs) != 2 {
		t.Fatalf("%d records, rejections %+v", len(recs), rej)
	}
	if recs[0].Kind != intel.KindASN || recs[0].Value != "AS260" || recs[0].Detail["country"] != "AE" ||
		recs[0].Detail["as_name"] != "XCONNECT24 - Xconnect24 Inc., US" {
		t.Fatalf("asndrop %+v", recs[0])
	}
	if _, ok := recs[1].Detail["country"]; ok || recs[1].Value != "AS10516" || recs[1].Detail["as_name"] != "Orb-bit Design Group" {
		t.Fatalf("asndrop without country %+v", recs[1])
	}
}

func TestPlainLists(t *testing.T) {
	recs, rej := parseFile(t, "blocklistde", "blocklistde_imap.txt")
	if rej.Count != 0 || len(recs) != 6 || recs[5].Value != "203.0.113.254" || recs[5].Category != intel.CategoryScanner {
		t.Fatalf("%d records %+v, rejections %+v", len(recs), recs, rej)
	}
	recs, rej = parseFile(t, "openphish", "openphish_feed.txt")
	if len(recs) != 0 || rej.Count != 2 {
		t.Fatalf("openphish: %d records, rejections %+v", len(recs), rej)
	}
	for i, r := range rej.List {
		if r.Where != "line "+string(rune('1'+i)) || !strings.Contains(r.Reason, "empty label") {
			t.Errorf("rejection %+v", r)
		}
	}
	// The same list with a good URL in it: only the bad rows go.
	f, _ := Preset("openphish")
	in := "http://www..example.com/phishing\nhttps://login.example.net/a,b#x\n"
	got := collect(t, f, in)
	if len(got) != 1 || got[0].Value != "https://login.example.net/a,b" || got[0].Category != intel.CategoryPhishing {
		t.Fatalf("%+v", got)
	}
}

func collect(t *testing.T, f Format, in string) []intel.Record {
	t.Helper()
	var out []intel.Record
	if _, err := Parse(context.Background(), strings.NewReader(in), f, "test", func(r intel.Record) error {
		out = append(out, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPlainIPWithComments(t *testing.T) {
	f, _ := Preset("plain-ip")
	in := "\ufeff# list\n; other comment\n\n  192.0.2.1  \n198.51.100.0/24 # bad net\n2001:DB8::1\n192.0.2.9/32\t extra column\n300.1.1.1\n"
	var recs []intel.Record
	rej, err := Parse(context.Background(), strings.NewReader(in), f, "p", func(r intel.Record) error {
		recs = append(recs, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, len(recs))
	for i, r := range recs {
		got[i] = string(r.Kind) + " " + r.Value
	}
	want := []string{"ipv4 192.0.2.1", "cidr 198.51.100.0/24", "ipv6 2001:db8::1", "ipv4 192.0.2.9"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q", got)
	}
	if recs[1].Detail["comment"] != "bad net" || recs[0].TLP != intel.TLPAmber || recs[0].Confidence != intel.DefaultConfidence {
		t.Fatalf("record %+v", recs[1])
	}
	if rej.Count != 1 || rej.List[0].Where != "line 8" {
		t.Fatalf("rejections %+v", rej)
	}
}

func TestLineTooLong(t *testing.T) {
	f := Format{Kind: "auto", MaxLine: 256}
	in := "192.0.2.1\n" + strings.Repeat("a", 1000) + "\nexample.org\n" + strings.Repeat("b", 300)
	var recs []intel.Record
	rej, err := Parse(context.Background(), strings.NewReader(in), f, "t", func(r intel.Record) error {
		recs = append(recs, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[1].Kind != intel.KindDomain || rej.Count != 2 || rej.List[0].Where != "line 2" || rej.List[1].Where != "line 4" {
		t.Fatalf("records %+v rejections %+v", recs, rej)
	}
}

func TestDetect(t *testing.T) {
	cases := map[string]intel.Kind{
		"192.0.2.1": intel.KindIPv4, "2001:db8::1": intel.KindIPv6, "::ffff:192.0.2.1": intel.KindIPv4,
		"10.0.0.0/8": intel.KindCIDR, "http://x.example/a": intel.KindURL, "x.example/a": intel.KindURL,
		"a@b.example": intel.KindEmail, strings.Repeat("a", 32): intel.KindMD5, strings.Repeat("B", 40): intel.KindSHA1,
		strings.Repeat("0", 64): intel.KindSHA256, "AS64500": intel.KindASN, "as1": intel.KindASN,
		"evil.example": intel.KindDomain, "2001:db8::zz": intel.KindIPv6,
	}
	for v, want := range cases {
		if got := detect(v); got != want {
			t.Errorf("detect(%q) = %s, want %s", v, got, want)
		}
	}
}

func TestHeaderMissingValueColumn(t *testing.T) {
	f, _ := Preset("feodotracker")
	_, err := Parse(context.Background(), strings.NewReader("a,b,c\n1,2,3\n"), f, "x", func(intel.Record) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "dst_ip") || !strings.HasPrefix(err.Error(), "feedcsv:") {
		t.Fatalf("err %v", err)
	}
	u, _ := Preset("urlhaus")
	_, err = Parse(context.Background(), strings.NewReader("http://x.example/\n"), u, "x", func(intel.Record) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "no header comment") {
		t.Fatalf("err %v", err)
	}
}

func TestEmitErrorAndContext(t *testing.T) {
	f, _ := Preset("plain-ip")
	stop := errors.New("stop")
	n := 0
	_, err := Parse(context.Background(), strings.NewReader("192.0.2.1\n192.0.2.2\n"), f, "x", func(intel.Record) error {
		n++
		return stop
	})
	if err != stop || n != 1 {
		t.Fatalf("err %v after %d", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Parse(ctx, strings.NewReader(strings.Repeat("192.0.2.1\n", 5000)), f, "x", func(intel.Record) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
}

func TestColumnsByIndexAndConstants(t *testing.T) {
	conf := 65
	f := Format{
		Delimiter: "|", Kind: "auto", Value: Col(1), Confidence: &conf, TLP: "green",
		CategoryColumn: &Column{Index: 2}, CategoryMap: map[string]string{"cnc": "c2"},
		TLPColumn: &Column{Index: 3}, ConfidenceColumn: &Column{Index: 4},
		Labels: []Label{{Value: "x", Prefix: "campaign"}, {Column: Col(5), Prefix: "actor", Split: ";"}},
		Detail: []Detail{{Column: Col(0), Key: "id"}},
	}
	in := "7|192.0.2.7|CNC|red|99|A1; B2\n8|evil.example|spam|||\n9|evil.example|bogus||200|\n"
	var recs []intel.Record
	rej, err := Parse(context.Background(), strings.NewReader(in), f, "x", func(r intel.Record) error {
		recs = append(recs, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || rej.Count != 1 || !strings.Contains(rej.List[0].Reason, "200") {
		t.Fatalf("records %+v rejections %+v", recs, rej)
	}
	a, b := recs[0], recs[1]
	if a.Category != intel.CategoryC2 || a.TLP != intel.TLPRed || a.Confidence != 99 || a.Detail["id"] != "7" ||
		!slices.Equal(a.Labels, []string{"actor:a1", "actor:b2", "campaign:x"}) {
		t.Fatalf("first %+v", a)
	}
	if b.Kind != intel.KindDomain || b.Category != intel.CategorySpam || b.TLP != intel.TLPGreen || b.Confidence != 65 {
		t.Fatalf("second %+v", b)
	}
}
