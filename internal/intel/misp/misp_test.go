package misp

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/rampart-cert/rampart/internal/intel"
)

var testNow = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parse(t *testing.T, data []byte, opt Options) ([]intel.Record, *Result, error) {
	t.Helper()
	if opt.Now.IsZero() {
		opt.Now = testNow
	}
	var recs []intel.Record
	res, err := ParseEventWith(context.Background(), bytes.NewReader(data), "misp:test", func(r intel.Record) error {
		recs = append(recs, r)
		return nil
	}, opt)
	return recs, res, err
}

func TestXoristEvent(t *testing.T) {
	recs, res, err := parse(t, readTestdata(t, "event/57c4445b-c548-4654-af0b-4be3950d210f.json"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	type rec struct {
		kind  intel.Kind
		value string
		id    string
		seen  int64
	}
	var got []rec
	for _, r := range recs {
		got = append(got, rec{r.Kind, r.Value, r.ExternalID, r.FirstSeen.Unix()})
	}
	want := []rec{
		{intel.KindMD5, "0749bae92ca336a02c83d126e04ec628", "57c4448b-454c-4d17-90d1-4d2f950d210f", 1472480395},
		{intel.KindSHA1, "77b0c41b7d340b8a3d903f21347bbf06aa766b5b", "57c4448a-bef0-4ba7-a071-444e950d210f", 1472480394},
		{intel.KindSHA256, "b3c4ae251f8094fa15b510051835c657eaef2a6cea46075d3aec964b14a99f68", "57c4448b-3fa4-4d65-9ccc-4afa950d210f", 1472480395},
	}
	if !slices.Equal(got, want) {
		t.Errorf("records:\n got %v\nwant %v", got, want)
	}
	wantLabels := []string{`tag:circl:incident-classification="malware"`, `tag:malware_classification:malware-category="ransomware"`, `tag:ms-caro-malware:malware-type="ransom"`}
	for _, r := range recs {
		if r.TLP != intel.TLPClear || r.Category != intel.CategoryMalware || r.Confidence != intel.DefaultConfidence ||
			r.Feed != "misp:test" || !slices.Equal(r.Labels, wantLabels) || !r.LastSeen.Equal(r.FirstSeen) ||
			r.Detail["event"] != "57c4445b-c548-4654-af0b-4be3950d210f" || r.Detail["event_info"] != "Ransomware - Xorist" ||
			r.Detail["org"] != "CIRCL" || r.Detail["misp_category"] != "Payload delivery" ||
			!strings.HasPrefix(r.Raw, `{"category": "Payload delivery"`) || !strings.Contains(r.Raw, r.Value) {
			t.Errorf("record %+v", r)
		}
	}
	if res.Events != 1 || res.Attributes != 9 || res.Records != 3 || res.Skipped != 6 || res.Rejections.Count != 0 {
		t.Errorf("counts %+v", res)
	}
	if want := map[string]int{"not to_ids": 4, "filename": 1, "regkey|value": 1}; !mapsEqual(res.SkippedBy, want) {
		t.Errorf("skipped %v, want %v", res.SkippedBy, want)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestParseManifest(t *testing.T) {
	entries, err := ParseManifest(bytes.NewReader(readTestdata(t, "feed/manifest.json")))
	if err != nil {
		t.Fatal(err)
	}
	want := ManifestEntry{
		UUID: "56bf399d-c46c-4fdb-a9cf-d9bb02de0b81", Info: "OSINT - Hunting for Malware with Machine Learning",
		Date: "2015-12-18", Timestamp: time.Unix(1455373240, 0).UTC(), Org: "CIRCL",
		Tags: []string{"type:OSINT", "tlp:white"}, ThreatLevel: 3, Analysis: 2,
	}
	if len(entries) != 1 || entries[0].UUID != want.UUID || entries[0].Info != want.Info || entries[0].Date != want.Date ||
		!entries[0].Timestamp.Equal(want.Timestamp) || entries[0].Org != want.Org || !slices.Equal(entries[0].Tags, want.Tags) ||
		entries[0].ThreatLevel != 3 || entries[0].Analysis != 2 {
		t.Errorf("entries %+v", entries)
	}
	// Oldest first; string timestamps are read too.
	two := `{"bbbbbbbb-0000-4000-8000-000000000000":{"timestamp":"200"},"aaaaaaaa-0000-4000-8000-000000000000":{"timestamp":300},"cccccccc-0000-4000-8000-000000000000":{"timestamp":200}}`
	entries, err = ParseManifest(strings.NewReader(two))
	if err != nil || len(entries) != 3 || entries[0].UUID[0] != 'b' || entries[1].UUID[0] != 'c' || entries[2].UUID[0] != 'a' {
		t.Errorf("order: %v %v", entries, err)
	}
	for _, bad := range []string{``, `[]`, `{"../../etc/passwd":{}}`, `{"x":1}`, `{"aaaaaaaa-0000-4000-8000-000000000000":{"timestamp":"soon"}}`, `{} {}`, `{"a":`} {
		if _, err := ParseManifest(strings.NewReader(bad)); !errors.Is(err, ErrMalformed) || !strings.HasPrefix(err.Error(), "misp: ") {
			t.Errorf("manifest %q: %v", bad, err)
		}
	}
}

// sampleEvent is a synthetic event with the attribute types the parser reads.
const sampleEvent = `{"Event": {
	"uuid": "11111111-1111-4111-8111-111111111111", "info": "Phishing wave", "timestamp": "1700000000",
	"Orgc": {"name": "VNCERT"},
	"Tag": [{"name": "tlp:green"}, {"name": "misp-galaxy:threat-actor=\"APT32\""}, {"name": "misp:confidence-level=\"usually-confident\""}],
	"Attribute": [
		{"uuid": "a1", "type": "ip-dst|port", "category": "Network activity", "to_ids": true, "value": "192.0.2.10|8443", "timestamp": "1700000100"},
		{"uuid": "a2", "type": "domain|ip", "category": "Network activity", "to_ids": "1", "value": "c2.example|2001:db8::5", "timestamp": 1700000200,
		 "first_seen": "2023-11-01T00:00:00Z", "last_seen": "2023-11-20T00:00:00.5Z"},
		{"uuid": "a3", "type": "ip-src", "category": "Network activity", "to_ids": true, "value": "198.51.100.0/24",
		 "Tag": [{"name": "tlp:amber+strict"}, {"name": "admiralty-scale:information-credibility=\"2\""}]},
		{"uuid": "a4", "type": "email-src", "category": "Payload delivery", "to_ids": true, "value": "Bank@Evil.Example"},
		{"uuid": "a5", "type": "url", "category": "Payload delivery", "to_ids": true, "value": "http://evil.example/a.exe",
		 "Tag": [{"name": "ecsirt:malicious-code=\"c2-server\""}]},
		{"uuid": "a6", "type": "AS", "category": "Network activity", "to_ids": true, "value": "AS64500"},
		{"uuid": "a7", "type": "domain|ip", "category": "Network activity", "to_ids": true, "value": "ok.example|300.1.1.1"},
		{"uuid": "a8", "type": "ip-dst", "category": "Network activity", "to_ids": true, "value": "192.0.2.11", "deleted": true},
		{"uuid": "a9", "type": "link", "category": "External analysis", "to_ids": true, "value": "https://blog.example/report"},
		{"uuid": "a10", "type": "hostname", "category": "Network activity", "to_ids": false, "value": "quiet.example"},
		{"uuid": "a11", "type": "sha512", "category": "Payload delivery", "to_ids": true, "value": "00"},
		{"uuid": "a12", "type": "ip-dst", "to_ids": 3, "value": "192.0.2.12"}
	],
	"Object": [
		{"name": "file", "Attribute": [
			{"uuid": "o1", "type": "filename|sha256", "category": "Payload delivery", "to_ids": true,
			 "value": "invoice.pdf.exe|EC5AEDF5ECC6BDADD4120932170D1B10F6CFA175CFDA22951DFD882928AB279B"},
			{"uuid": "o2", "type": "malware-sample", "category": "Payload delivery", "to_ids": true, "value": "x.zip|8764605c6f388c89096b534d33565802"}]},
		{"name": "domain-ip", "deleted": true, "Attribute": [
			{"uuid": "o3", "type": "domain", "to_ids": true, "value": "gone.example"}]}
	]
}}`

func TestEventMapping(t *testing.T) {
	recs, res, err := parse(t, []byte(sampleEvent), Options{})
	if err != nil {
		t.Fatal(err)
	}
	type rec struct {
		id       string
		kind     intel.Kind
		value    string
		category intel.Category
		tlp      intel.TLP
		conf     int
	}
	var got []rec
	for _, r := range recs {
		got = append(got, rec{r.ExternalID, r.Kind, r.Value, r.Category, r.TLP, r.Confidence})
	}
	want := []rec{
		{"a1", intel.KindIPv4, "192.0.2.10", intel.CategoryC2, intel.TLPGreen, 75},
		{"a2", intel.KindDomain, "c2.example", intel.CategoryC2, intel.TLPGreen, 75},
		{"a2", intel.KindIPv6, "2001:db8::5", intel.CategoryC2, intel.TLPGreen, 75},
		// The attribute's own tags override the event's.
		{"a3", intel.KindCIDR, "198.51.100.0/24", intel.CategoryBlocklist, intel.TLPAmberStrict, 80},
		{"a4", intel.KindEmail, "Bank@evil.example", intel.CategoryPhishing, intel.TLPGreen, 75},
		{"a5", intel.KindURL, "http://evil.example/a.exe", intel.CategoryC2, intel.TLPGreen, 75},
		{"a6", intel.KindASN, "AS64500", intel.CategoryBlocklist, intel.TLPGreen, 75},
		{"o1", intel.KindSHA256, "ec5aedf5ecc6bdadd4120932170d1b10f6cfa175cfda22951dfd882928ab279b", intel.CategoryMalware, intel.TLPGreen, 75},
		{"o2", intel.KindMD5, "8764605c6f388c89096b534d33565802", intel.CategoryMalware, intel.TLPGreen, 75},
	}
	// e-mail local parts are folded by the model: compare normalized.
	want[4].value, _ = intel.NormalizeValue(intel.KindEmail, "Bank@Evil.Example")
	if !slices.Equal(got, want) {
		t.Errorf("records:\n got %v\nwant %v", got, want)
	}
	byID := map[string]intel.Record{}
	for _, r := range recs {
		byID[r.ExternalID+string(r.Kind)] = r
	}
	if r := byID["a1ipv4"]; r.Detail["port"] != "8443" || !r.FirstSeen.Equal(time.Unix(1700000100, 0)) ||
		!slices.Equal(r.Labels, []string{"actor:apt32"}) || r.Detail["org"] != "VNCERT" || r.Detail["misp_type"] != "ip-dst|port" {
		t.Errorf("a1: %+v", r)
	}
	if r := byID["a2domain"]; !r.FirstSeen.Equal(time.Date(2023, 11, 1, 0, 0, 0, 0, time.UTC)) ||
		!r.LastSeen.Equal(time.Date(2023, 11, 20, 0, 0, 0, 5e8, time.UTC)) {
		t.Errorf("a2 seen %v %v", r.FirstSeen, r.LastSeen)
	}
	if r := byID["a3cidr"]; !r.FirstSeen.Equal(time.Unix(1700000000, 0)) { // the event's timestamp
		t.Errorf("a3 seen %v", r.FirstSeen)
	}
	if r := byID["o1sha256"]; r.Detail["filename"] != "invoice.pdf.exe" || r.Detail["object"] != "file" {
		t.Errorf("o1 detail %v", r.Detail)
	}
	// domain|ip with a bad address: rejected whole, nothing emitted.
	if res.Rejections.Count != 2 {
		t.Fatalf("rejections %+v", res.Rejections)
	}
	if r := res.Rejections.List[0]; r.Where != "attribute a7" || !strings.Contains(r.Reason, `domain|ip value "300.1.1.1"`) {
		t.Errorf("rejection %+v", r)
	}
	if r := res.Rejections.List[1]; r.Where != "Attribute[11]" && r.Where != "attribute a12" || !strings.Contains(r.Reason, "malformed attribute") {
		t.Errorf("rejection %+v", r)
	}
	for _, r := range recs {
		if r.Value == "ok.example" {
			t.Error("half of a rejected domain|ip was emitted")
		}
	}
	if want := map[string]int{"deleted": 2, "link": 1, "not to_ids": 1, "sha512": 1}; !mapsEqual(res.SkippedBy, want) {
		t.Errorf("skipped %v, want %v", res.SkippedBy, want)
	}
	if res.Attributes != 15 || res.Records != len(recs) {
		t.Errorf("counts %+v", res)
	}
}

func TestDefaultTLP(t *testing.T) {
	ev := `{"Event":{"uuid":"e","Attribute":[{"type":"domain","to_ids":true,"value":"a.example"}]}}`
	recs, _, err := parse(t, []byte(ev), Options{})
	if err != nil || len(recs) != 1 || recs[0].TLP != intel.TLPAmber || recs[0].ExternalID != "e/Attribute[0]" || !recs[0].FirstSeen.Equal(testNow) {
		t.Errorf("unmarked: %+v %v", recs, err)
	}
	recs, _, err = parse(t, []byte(ev), Options{DefaultTLP: intel.TLPRed})
	if err != nil || len(recs) != 1 || recs[0].TLP != intel.TLPRed {
		t.Errorf("default RED: %+v %v", recs, err)
	}
}

func TestMalformedEvents(t *testing.T) {
	for _, tc := range []struct{ data, want string }{
		{``, "ends early"},
		{`{"Event":`, "ends early"},
		{`[]`, "cannot unmarshal"},
		{`{}`, `no "Event" object`},
		{`{"Event":{"Attribute":{}}}`, "cannot unmarshal"},
		{`{"Event":{"timestamp":"yesterday"}}`, "is not a whole number"},
		{`{"Event":{}} x`, "after the event"},
		{`{"Event":{"info":"` + strings.Repeat("x", 2000) + `"}}`, "larger than 1024 bytes"},
	} {
		recs, _, err := parse(t, []byte(tc.data), Options{MaxEvent: 1024})
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "misp: ") || len(recs) != 0 {
			t.Errorf("%.40q: %v (%d records), want %q", tc.data, err, len(recs), tc.want)
		}
	}
	// Attributes before a malformed end are not emitted either.
	recs, _, err := parse(t, []byte(`{"Event":{"Attribute":[{"type":"domain","to_ids":true,"value":"a.example"}],"Object":[{"Attribute":[`), Options{})
	if err == nil || len(recs) != 0 {
		t.Errorf("%v, %d records", err, len(recs))
	}
	if _, err := ParseEvent(context.Background(), strings.NewReader(sampleEvent), "", func(intel.Record) error { return nil }); err == nil {
		t.Error("no feed name accepted")
	}
	stop := errors.New("stop")
	if _, err := ParseEvent(context.Background(), strings.NewReader(sampleEvent), "f", func(intel.Record) error { return stop }); err != stop {
		t.Errorf("emit error: %v", err)
	}
	if _, err := ParseEvent(context.Background(), iotestErr{}, "f", func(intel.Record) error { return nil }); err == nil || errors.Is(err, ErrMalformed) {
		t.Errorf("read error: %v", err)
	}
}

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, errors.New("disk gone") }

func TestReadFeed(t *testing.T) {
	// The real feed: one event, one link attribute without to_ids.
	res, err := ReadFeed(context.Background(), os.DirFS("testdata/feed"), "misp:circl", func(intel.Record) error {
		t.Error("a record from a feed without to_ids attributes")
		return nil
	})
	if err != nil || res.Events != 1 || res.Attributes != 1 || res.SkippedBy["not to_ids"] != 1 {
		t.Errorf("%+v %v", res, err)
	}

	fsys := fstest.MapFS{
		"manifest.json": {Data: []byte(`{
			"11111111-1111-4111-8111-111111111111": {"timestamp": 1700000000},
			"22222222-2222-4222-8222-222222222222": {"timestamp": 1600000000},
			"33333333-3333-4333-8333-333333333333": {"timestamp": 1800000000},
			"44444444-4444-4444-8444-444444444444": {"timestamp": 1500000000}}`)},
		"11111111-1111-4111-8111-111111111111.json": {Data: []byte(sampleEvent)},
		"22222222-2222-4222-8222-222222222222.json": {Data: []byte(`{"Event": {"Attribute": [`)},
		"44444444-4444-4444-8444-444444444444.json": {Data: readTestdata(t, "event/57c4445b-c548-4654-af0b-4be3950d210f.json")},
	}
	var values []string
	collect := func(r intel.Record) error { values = append(values, r.Value); return nil }
	res, err = ReadFeed(context.Background(), fsys, "f", collect)
	if err != nil {
		t.Fatal(err)
	}
	// Oldest first: 4444 (Xorist, 3 records), 2222 (malformed), 1111 (9), 3333 (missing).
	if res.Events != 2 || res.Records != 12 || len(values) != 12 || values[0] != "0749bae92ca336a02c83d126e04ec628" {
		t.Errorf("%+v %v", res, values)
	}
	var where []string
	for _, r := range res.Rejections.List {
		where = append(where, r.Where)
	}
	if !slices.Contains(where, "event 22222222-2222-4222-8222-222222222222") || !slices.Contains(where, "event 33333333-3333-4333-8333-333333333333") || res.Rejections.Count != 4 {
		t.Errorf("rejections %+v", res.Rejections)
	}
	// Since: only events changed later.
	values = nil
	res, err = ReadFeedWith(context.Background(), fsys, "f", collect, Options{Since: time.Unix(1650000000, 0)})
	if err != nil || res.Events != 1 || len(values) != 9 {
		t.Errorf("since: %+v %v %v", res, values, err)
	}
	// An emit error stops the feed.
	stop := errors.New("stop")
	if _, err := ReadFeed(context.Background(), fsys, "f", func(intel.Record) error { return stop }); err != stop {
		t.Errorf("emit error: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ReadFeed(ctx, fsys, "f", collect); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
	if _, err := ReadFeed(context.Background(), fstest.MapFS{}, "f", collect); !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "misp: ") {
		t.Errorf("no manifest: %v", err)
	}
}

func TestReadTag(t *testing.T) {
	for _, tc := range []struct {
		tag  string
		want TagMeaning
	}{
		{"tlp:white", TagMeaning{TLP: intel.TLPClear, Confidence: -1}},
		{"TLP:AMBER+STRICT", TagMeaning{TLP: intel.TLPAmberStrict, Confidence: -1}},
		{"tlp:ex:chr", TagMeaning{Confidence: -1}},
		{`misp-galaxy:threat-actor="APT 28"`, TagMeaning{Label: "actor:apt 28", Confidence: -1}},
		{`misp-galaxy:mitre-intrusion-set="APT28 - G0007"`, TagMeaning{Label: "actor:apt28", Confidence: -1}},
		{`misp-galaxy:malpedia="Xorist"`, TagMeaning{Label: "malware:xorist", Category: intel.CategoryMalware, Confidence: -1}},
		{`misp-galaxy:mitre-tool="Mimikatz - S0002"`, TagMeaning{Label: "tool:mimikatz", Confidence: -1}},
		{`misp-galaxy:sector="Finance"`, TagMeaning{Label: `tag:misp-galaxy:sector="finance"`, Confidence: -1}},
		{`misp:confidence-level="completely-confident"`, TagMeaning{Confidence: 100}},
		{`admiralty-scale:information-credibility="5"`, TagMeaning{Confidence: 20}},
		{`misp:name="file"`, TagMeaning{Confidence: -1}},
		{`rsit:fraud="phishing"`, TagMeaning{Label: `tag:rsit:fraud="phishing"`, Category: intel.CategoryPhishing, Confidence: -1}},
		{`ecsirt:malicious-code="c2-server"`, TagMeaning{Label: `tag:ecsirt:malicious-code="c2-server"`, Category: intel.CategoryC2, Confidence: -1}},
		{`aws:ec2`, TagMeaning{Label: "tag:aws:ec2", Confidence: -1}},
		{"type:OSINT", TagMeaning{Label: "tag:type:osint", Confidence: -1}},
		{"  ", TagMeaning{Confidence: -1}},
	} {
		if got := ReadTag(tc.tag); got != tc.want {
			t.Errorf("ReadTag(%q) = %+v, want %+v", tc.tag, got, tc.want)
		}
	}
}
