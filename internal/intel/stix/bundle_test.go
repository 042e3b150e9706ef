package stix

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
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

// streamOnly hides io.Seeker: the one-pass path.
type streamOnly struct{ io.Reader }

// parseBytes parses data both ways (two passes over a seeker, one pass
// over a stream) and fails unless they agree.
func parseBytes(t *testing.T, data []byte, opt Options) ([]intel.Record, *Result, error) {
	t.Helper()
	if opt.Now.IsZero() {
		opt.Now = testNow
	}
	run := func(r io.Reader) ([]intel.Record, *Result, error) {
		var recs []intel.Record
		res, err := ParseWith(context.Background(), r, "test-feed", func(r intel.Record) error {
			recs = append(recs, r)
			return nil
		}, opt)
		return recs, res, err
	}
	recs, res, err := run(bytes.NewReader(data))
	recs1, res1, err1 := run(streamOnly{iotest.HalfReader(bytes.NewReader(data))})
	if (err == nil) != (err1 == nil) || !reflect.DeepEqual(recs, recs1) || (res != nil && res1 != nil && !reflect.DeepEqual(res.Rejections, res1.Rejections)) {
		t.Fatalf("two passes and one pass differ:\n%v %v %v\n%v %v %v", recs, res, err, recs1, res1, err1)
	}
	return recs, res, err
}

func parseFile(t *testing.T, name string) ([]intel.Record, *Result) {
	t.Helper()
	recs, res, err := parseBytes(t, readTestdata(t, name), Options{})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return recs, res
}

type rec struct {
	kind     intel.Kind
	value    string
	category intel.Category
	labels   string
}

func summary(recs []intel.Record) []rec {
	var out []rec
	for _, r := range recs {
		out = append(out, rec{r.Kind, r.Value, r.Category, strings.Join(r.Labels, ",")})
	}
	return out
}

func TestAPT1(t *testing.T) {
	recs, res := parseFile(t, "apt1.json")
	htran := "malware:huc packet transmit tool (htran)"
	want := []rec{
		{intel.KindCIDR, "223.166.0.0/15", intel.CategoryMalware, htran},
		{intel.KindCIDR, "58.246.0.0/15", intel.CategoryMalware, htran},
		{intel.KindCIDR, "112.64.0.0/15", intel.CategoryMalware, htran},
		{intel.KindCIDR, "139.226.0.0/15", intel.CategoryMalware, htran},
		{intel.KindDomain, "hugesoft.org", intel.CategoryBlocklist, "actor:ugly gorilla"},
		{intel.KindDomain, "arrowservice.net", intel.CategoryBlocklist, "actor:ugly gorilla"},
		{intel.KindDomain, "msnhome.org", intel.CategoryBlocklist, "actor:ugly gorilla"},
		{intel.KindMD5, "001dd76872d80801692ff942308c64e6", intel.CategoryBlocklist, ""},
		{intel.KindMD5, "002325a0a67fded0381b5648d7fe9b8e", intel.CategoryBlocklist, ""},
		{intel.KindMD5, "00dbb9e1c09dbdafb360f3163ba5a3de", intel.CategoryBlocklist, ""},
	}
	if got := summary(recs); !slices.Equal(got, want) {
		t.Errorf("records:\n got %v\nwant %v", got, want)
	}
	if res.Objects != 76 || res.Indicators != 12 || res.Records != 10 {
		t.Errorf("counts %+v, want 76 objects, 12 indicators, 10 records", res)
	}
	// The two x509-certificate patterns use AND.
	if res.Rejections.Count != 2 {
		t.Fatalf("rejections %+v, want the 2 certificate indicators", res.Rejections)
	}
	for _, r := range res.Rejections.List {
		if !strings.HasPrefix(r.Where, "indicator--b3b") || !strings.Contains(r.Reason, "pattern uses AND: only = and OR are supported") {
			t.Errorf("rejection %+v", r)
		}
	}
	r := recs[0]
	if r.Feed != "test-feed" || r.ExternalID != "indicator--031778a4-057f-48e6-9db9-c8d72b81ccd5" ||
		r.TLP != intel.TLPAmber || r.Confidence != intel.DefaultConfidence ||
		!r.FirstSeen.Equal(time.Date(2015, 5, 15, 9, 12, 16, 432678000, time.UTC)) ||
		!r.LastSeen.Equal(time.Date(2015, 5, 15, 9, 12, 16, 432678000, time.UTC)) ||
		r.Detail["name"] != "HTRAN Hop Point Accessor" || len(r.Detail) != 1 || !strings.Contains(r.Raw, `"pattern": "[ipv4-addr:value = '223.166.0.0/15']"`) ||
		!strings.HasPrefix(r.Raw, "{\n      \"type\": \"indicator\"") || !strings.HasSuffix(r.Raw, "}") {
		t.Errorf("first record %+v", r)
	}
}

func TestC2WithCOA(t *testing.T) {
	recs, res := parseFile(t, "indicators-for-C2-with-COA.json")
	want := []rec{
		// "IP Address for known C2 channel": a network address, read
		// as the address it is.
		{intel.KindIPv4, "10.0.0.0", intel.CategoryC2, "malware:poison ivy"},
		{intel.KindSHA256, "ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c", intel.CategoryMalware, "malware:poison ivy"},
	}
	if got := summary(recs); !slices.Equal(got, want) || res.Rejections.Count != 0 {
		t.Errorf("got %v %+v, want %v", got, res.Rejections, want)
	}
	if recs[0].Detail["created_by"] != "The MITRE Corporation - DHS Support Team" {
		t.Errorf("created_by %q", recs[0].Detail["created_by"])
	}
}

func TestMaliciousEmailRejected(t *testing.T) {
	recs, res := parseFile(t, "malicious-email-indicator-with-attachment.json")
	if len(recs) != 0 {
		t.Errorf("emitted %v for MATCHES patterns", recs)
	}
	want := []intel.Rejection{
		{Where: "indicator--8cf9236f-1b96-493d-98be-0c1c1e8b62d7", Reason: "pattern uses MATCHES: only = and OR are supported"},
		{Where: "indicator--2e17f6fe-3a4d-438a-911a-e509ba1b9933", Reason: "pattern uses MATCHES: only = and OR are supported"},
	}
	if res.Rejections.Count != 2 || !slices.Equal(res.Rejections.List, want) {
		t.Errorf("rejections %+v, want %+v", res.Rejections, want)
	}
}

func TestMISPExportAND(t *testing.T) {
	recs, res := parseFile(t, "misp-stix_test_objects_collection_stix21.json")
	want := []rec{
		{intel.KindEmail, "donald.duck@disney.com", intel.CategoryPhishing, ""},
		// MD5 AND SHA-1 AND SHA-256 AND file:name of one file: the
		// three hashes, the name dropped.
		{intel.KindMD5, "8764605c6f388c89096b534d33565802", intel.CategoryBlocklist, ""},
		{intel.KindSHA1, "46aba99aa7158e4609aaa72b50990842fd22ae86", intel.CategoryBlocklist, ""},
		{intel.KindSHA256, "ec5aedf5ecc6bdadd4120932170d1b10f6cfa175cfda22951dfd882928ab279b", intel.CategoryBlocklist, ""},
	}
	if got := summary(recs); !slices.Equal(got, want) {
		t.Errorf("records:\n got %v\nwant %v", got, want)
	}
	if recs[1].ExternalID != recs[3].ExternalID || recs[1].ExternalID != "indicator--5e384ae7-672c-4250-9cda-3b4da964451a" {
		t.Errorf("the hashes of one indicator have IDs %q, %q", recs[1].ExternalID, recs[3].ExternalID)
	}
	// domain-name AND resolves_to_refs: refused whole.
	if res.Rejections.Count != 1 || res.Rejections.List[0].Where != "indicator--5ac337df-e078-4e99-8b17-02550a00020f" ||
		!strings.HasPrefix(res.Rejections.List[0].Reason, "pattern uses AND") {
		t.Errorf("rejections %+v", res.Rejections)
	}
}

func TestURLAndFileHashExamples(t *testing.T) {
	recs, _ := parseFile(t, "indicator-for-malicious-url.json")
	if got := summary(recs); len(got) != 1 || got[0] != (rec{intel.KindURL, "http://x4z9arb.cn/4712/", intel.CategoryMalware, "malware:x4z9arb backdoor"}) {
		t.Errorf("url example: %v", got)
	}
	recs, _ = parseFile(t, "malware-indicator-for-file-hash.json")
	if got := summary(recs); len(got) != 1 || got[0].kind != intel.KindSHA256 || got[0].labels != "malware:poison ivy" {
		t.Errorf("file hash example: %v", got)
	}
}

// bundle builds a bundle of the given objects.
func bundle(objs ...string) []byte {
	return []byte(`{"type":"bundle","id":"bundle--1","objects":[` + strings.Join(objs, ",") + `]}`)
}

func ind(id, pattern string, extra ...string) string {
	s := fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":"2024-01-02T03:04:05.000Z","modified":"2024-02-03T00:00:00Z","pattern":%q,"pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z"`, id, pattern)
	for _, e := range extra {
		s += "," + e
	}
	return s + "}"
}

func TestMarkings(t *testing.T) {
	data := bundle(
		ind("indicator--00000000-0000-4000-8000-000000000001", "[domain-name:value = 'a.example']", `"object_marking_refs":["marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"]`),
		ind("indicator--00000000-0000-4000-8000-000000000002", "[domain-name:value = 'b.example']", `"object_marking_refs":["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da","marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"]`),
		ind("indicator--00000000-0000-4000-8000-000000000003", "[domain-name:value = 'c.example']", `"object_marking_refs":["marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"]`),
		ind("indicator--00000000-0000-4000-8000-000000000004", "[domain-name:value = 'd.example']", `"object_marking_refs":["marking-definition--local-green"]`),
		ind("indicator--00000000-0000-4000-8000-000000000005", "[domain-name:value = 'e.example']", `"object_marking_refs":["marking-definition--local-strict","marking-definition--statement"]`),
		ind("indicator--00000000-0000-4000-8000-000000000006", "[domain-name:value = 'f.example']", `"object_marking_refs":["marking-definition--statement"]`),
		ind("indicator--00000000-0000-4000-8000-000000000007", "[domain-name:value = 'g.example']"),
		// MISP writes TLP tags as labels: used when nothing marks the
		// indicator; a marking wins.
		ind("indicator--00000000-0000-4000-8000-000000000008", "[domain-name:value = 'h.example']", `"labels":["tlp:red","misp-galaxy:threat-actor=\"Sofacy\"","misp:name=\"domain\""]`),
		ind("indicator--00000000-0000-4000-8000-000000000009", "[domain-name:value = 'i.example']", `"labels":["tlp:red"]`, `"object_marking_refs":["marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"]`),
		// Marking definitions after the indicators that use them.
		`{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--local-green","created":"2017-01-20T00:00:00.000Z","definition_type":"tlp","definition":{"tlp":"green"}}`,
		`{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--local-strict","created":"2022-10-01T00:00:00.000Z","extensions":{"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d":{"extension_type":"property-extension","tlp_2_0":"amber+strict"}},"name":"TLP:AMBER+STRICT"}`,
		`{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--statement","created":"2017-01-20T00:00:00.000Z","definition_type":"statement","definition":{"statement":"Copyright 2024"}}`,
	)
	for _, def := range []intel.TLP{"", intel.TLPRed} {
		recs, _, err := parseBytes(t, data, Options{DefaultTLP: def})
		if err != nil {
			t.Fatal(err)
		}
		var got []intel.TLP
		for _, r := range recs {
			got = append(got, r.TLP)
		}
		unmarked := intel.TLPAmber
		if def != "" {
			unmarked = def
		}
		want := []intel.TLP{intel.TLPClear, intel.TLPRed, intel.TLPAmberStrict, intel.TLPGreen, intel.TLPAmberStrict, unmarked, unmarked, intel.TLPRed, intel.TLPClear}
		if !slices.Equal(got, want) {
			t.Errorf("default %q: TLPs %v, want %v", def, got, want)
		}
		if l := recs[7].Labels; !slices.Equal(l, []string{"actor:sofacy"}) {
			t.Errorf("labels from MISP tags: %v", l)
		}
	}
}

func TestMappingAndRejections(t *testing.T) {
	data := bundle(
		`{"type":"campaign","id":"campaign--1","name":"Operation X"}`,
		`{"type":"intrusion-set","id":"intrusion-set--1","name":"APT-Y"}`,
		`{"type":"threat-actor","id":"threat-actor--1","name":"Actor Z"}`,
		`{"type":"infrastructure","id":"infrastructure--1","name":"servers","infrastructure_types":["command-and-control"]}`,
		`{"type":"attack-pattern","id":"attack-pattern--1","name":"Spearphishing Link","external_references":[{"source_name":"mitre-attack","external_id":"T1566.002"}]}`,
		`{"type":"malware","id":"malware--revoked","name":"Old","revoked":true}`,
		ind("indicator--00000000-0000-4000-8000-000000000001", "[ipv4-addr:value = '192.0.2.1'] OR [ipv6-addr:value = '2001:DB8::1']",
			`"confidence":85`, `"valid_until":"2025-01-01T00:00:00Z"`, `"labels":["Botnet","actor:Known"]`, `"indicator_types":["compromised"]`,
			`"external_references":[{"source_name":"cert-x","external_id":"CX-1","url":"https://cert.example/1"}]`),
		ind("indicator--00000000-0000-4000-8000-000000000002", "[url:value = 'http://c2.example/gate.php']"),
		ind("indicator--00000000-0000-4000-8000-000000000003", "[domain-name:value = 'login-bank.example']"),
		ind("indicator--00000000-0000-4000-8000-000000000004", "[domain-name:value = 'x.example']", `"kill_chain_phases":[{"kill_chain_name":"lockheed-martin-cyber-kill-chain","phase_name":"command-and-control"}]`),
		ind("indicator--00000000-0000-4000-8000-000000000005", "[domain-name:value = 'y.example']", `"name":"CnC server"`),
		ind("indicator--00000000-0000-4000-8000-000000000006", "[domain-name:value = 'old.example']", `"revoked":true`),
		ind("indicator--00000000-0000-4000-8000-000000000007", "[domain-name:value = 'ok.example' OR domain-name:value = 'bad..example']"),
		ind("indicator--00000000-0000-4000-8000-000000000008", "[domain-name:value = 'z.example']", `"confidence":101`),
		ind("indicator--00000000-0000-4000-8000-000000000009", "alert tcp any any -> any any", `"pattern_type":"snort"`),
		`{"type":"indicator","id":"indicator--00000000-0000-4000-8000-00000000000a","valid_from":"yesterday","pattern":"[domain-name:value = 'w.example']"}`,
		`{"type":"indicator","valid_from":"2024-01-01T00:00:00Z"}`,
		ind("indicator--00000000-0000-4000-8000-00000000000b", "[domain-name:value = 'dup.example' OR domain-name:value = 'DUP.example.']"),
		ind("indicator--not-a-uuid", "[domain-name:value = 'nc.example']"),
		ind("indicator--00000000-0000-4000-8000-00000000000c", "[domain-name:value = 'old-malware.example']"),
		`{"type":"relationship","id":"relationship--1","relationship_type":"indicates","source_ref":"indicator--00000000-0000-4000-8000-000000000001","target_ref":"campaign--1"}`,
		`{"type":"relationship","id":"relationship--2","relationship_type":"attributed-to","source_ref":"campaign--1","target_ref":"intrusion-set--1"}`,
		`{"type":"relationship","id":"relationship--3","relationship_type":"attributed-to","source_ref":"intrusion-set--1","target_ref":"threat-actor--1"}`,
		`{"type":"relationship","id":"relationship--4","relationship_type":"indicates","source_ref":"indicator--00000000-0000-4000-8000-000000000002","target_ref":"infrastructure--1"}`,
		`{"type":"relationship","id":"relationship--5","relationship_type":"indicates","source_ref":"indicator--00000000-0000-4000-8000-000000000003","target_ref":"attack-pattern--1"}`,
		`{"type":"relationship","id":"relationship--6","relationship_type":"indicates","source_ref":"indicator--not-a-uuid","target_ref":"threat-actor--1"}`,
		`{"type":"relationship","id":"relationship--7","relationship_type":"indicates","source_ref":"indicator--00000000-0000-4000-8000-00000000000c","target_ref":"malware--revoked"}`,
		`{"type":"relationship","id":"relationship--8","relationship_type":"uses","source_ref":"threat-actor--1","target_ref":"indicator--00000000-0000-4000-8000-000000000002"}`,
	)
	recs, res, err := parseBytes(t, data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []rec{
		{intel.KindIPv4, "192.0.2.1", intel.CategoryCompromised, "actor:actor z,actor:apt-y,actor:known,campaign:operation x,tag:botnet"},
		{intel.KindIPv6, "2001:db8::1", intel.CategoryCompromised, "actor:actor z,actor:apt-y,actor:known,campaign:operation x,tag:botnet"},
		{intel.KindURL, "http://c2.example/gate.php", intel.CategoryC2, ""},
		{intel.KindDomain, "login-bank.example", intel.CategoryPhishing, ""},
		{intel.KindDomain, "x.example", intel.CategoryC2, ""},
		{intel.KindDomain, "y.example", intel.CategoryC2, ""},
		{intel.KindDomain, "dup.example", intel.CategoryBlocklist, ""},
		{intel.KindDomain, "nc.example", intel.CategoryBlocklist, "actor:actor z"},
		{intel.KindDomain, "old-malware.example", intel.CategoryBlocklist, ""},
	}
	if got := summary(recs); !slices.Equal(got, want) {
		t.Errorf("records:\n got %v\nwant %v", got, want)
	}
	r := recs[0]
	if r.Confidence != 85 || !r.ValidUntil.Equal(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) ||
		!r.FirstSeen.Equal(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)) || !r.LastSeen.Equal(time.Date(2024, 2, 3, 0, 0, 0, 0, time.UTC)) ||
		r.Detail["references"] != "cert-x CX-1 https://cert.example/1" {
		t.Errorf("first record %+v", r)
	}
	wantRej := map[string]string{
		"indicator--00000000-0000-4000-8000-000000000006": "indicator is revoked",
		"indicator--00000000-0000-4000-8000-000000000007": `domain value "bad..example"`,
		"indicator--00000000-0000-4000-8000-000000000008": "confidence 101 is outside 0-100",
		"indicator--00000000-0000-4000-8000-000000000009": `pattern_type "snort" is not supported`,
		"indicator--00000000-0000-4000-8000-00000000000a": `valid_from "yesterday" is not a timestamp`,
		"objects[16]": "indicator has no pattern",
	}
	if res.Rejections.Count != len(wantRej) {
		t.Errorf("rejections %+v", res.Rejections)
	}
	for _, rj := range res.Rejections.List {
		if w, ok := wantRej[rj.Where]; !ok || !strings.Contains(rj.Reason, w) {
			t.Errorf("rejection %+v, want reason containing %q", rj, w)
		}
	}
	// Nothing of the rejected OR indicator was emitted.
	for _, r := range recs {
		if r.Value == "ok.example" {
			t.Error("half of a rejected indicator was emitted")
		}
	}
}

func TestEnvelopeAndOrder(t *testing.T) {
	// A TAXII envelope: "objects" after other members; relationships
	// before the indicator.
	data := []byte(`{"more":false,"next":"x","extra":{"a":[1,2.5e3,null,true]},"objects":[
		{"type":"relationship","relationship_type":"indicates","source_ref":"indicator--00000000-0000-4000-8000-000000000001","target_ref":"malware--1"},
		{"type":"malware","id":"malware--1","name":"M"},
		` + ind("indicator--00000000-0000-4000-8000-000000000001", "[domain-name:value = 'a.example']") + `]}`)
	recs, _, err := parseBytes(t, data, Options{})
	if err != nil || len(recs) != 1 || recs[0].Category != intel.CategoryMalware || !slices.Equal(recs[0].Labels, []string{"malware:m"}) {
		t.Fatalf("%v %v", recs, err)
	}
}

func TestMalformedBundles(t *testing.T) {
	good := ind("indicator--00000000-0000-4000-8000-000000000001", "[domain-name:value = 'a.example']")
	for _, tc := range []struct {
		data string
		want string
	}{
		{"", "stix: empty input"},
		{"   ", "stix: empty input"},
		{"[]", "is not a JSON object"},
		{`{"type":"bundle"}`, `no "objects" array`},
		{`{"objects":{}}`, `expected the "objects" array`},
		{`{"objects":[1]}`, "objects[0] at byte 12 is not a JSON object"},
		{`{"objects":[` + good + `,{"type":"indicator",}]}`, "malformed JSON at byte"},
		{`{"objects":[` + good + `,{"type":"indicator"`, "unexpected EOF"},
		{`{"objects":[` + good + `]} x`, "data after the end of the bundle"},
		{`{"objects":[` + good + `] "x":1}`, "expected ',' or '}'"},
		{`{"objects":[` + good + `,{"a":"` + strings.Repeat("x", 5000) + `"}]}`, "larger than 4096 bytes"},
		{`{"objects":[` + good + `,{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}]}`, "nested deeper"},
		{`{"objects":[` + good + `,{"a":"` + "\x01" + `"}]}`, "control character"},
	} {
		var recs []intel.Record
		_, err := ParseWith(context.Background(), strings.NewReader(tc.data), "f", func(r intel.Record) error {
			recs = append(recs, r)
			return nil
		}, Options{MaxObject: 4096})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "stix: ") {
			t.Errorf("%.60q: error %v, want %q", tc.data, err, tc.want)
		}
		// A seekable input is checked whole before anything is emitted.
		if len(recs) != 0 {
			t.Errorf("%.60q: emitted %d records from a malformed bundle", tc.data, len(recs))
		}
	}
}

func TestPendingBoundAndEmitError(t *testing.T) {
	var objs []string
	for i := range 5 {
		objs = append(objs, ind(fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d", i), fmt.Sprintf("[ipv4-addr:value = '192.0.2.%d']", i)))
	}
	data := bundle(objs...)
	n := 0
	count := func(intel.Record) error { n++; return nil }
	_, err := ParseWith(context.Background(), streamOnly{bytes.NewReader(data)}, "f", count, Options{MaxPending: 4})
	if !errors.Is(err, ErrTooManyPending) || n != 0 {
		t.Errorf("stream over the bound: %v, %d emitted", err, n)
	}
	if _, err := ParseWith(context.Background(), bytes.NewReader(data), "f", count, Options{MaxPending: 4}); err != nil || n != 5 {
		t.Errorf("a seekable input is not bound by MaxPending: %v, %d emitted", err, n)
	}
	stop := errors.New("full")
	n = 0
	_, err = Parse(context.Background(), bytes.NewReader(data), "f", func(intel.Record) error {
		if n++; n == 2 {
			return stop
		}
		return nil
	})
	if err != stop || n != 2 {
		t.Errorf("emit error: %v after %d", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Parse(ctx, bytes.NewReader(data), "f", count); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: %v", err)
	}
	if _, err := Parse(context.Background(), bytes.NewReader(data), "", count); err == nil {
		t.Error("no feed name accepted")
	}
}

// A bundle read one byte at a time, with values larger than the read
// buffer, gives the same records.
func TestStreamBoundaries(t *testing.T) {
	long := strings.Repeat("d", 200*1024)
	data := bundle(
		ind("indicator--00000000-0000-4000-8000-000000000001", "[domain-name:value = 'a.example']", `"description":"`+long+`"`),
		ind("indicator--00000000-0000-4000-8000-000000000002", "[domain-name:value = 'b\u00e9.example']", `"name":"caf\u00e9 \ud83d\ude00 \"q\""`),
	)
	var a, b []intel.Record
	if _, err := ParseWith(context.Background(), bytes.NewReader(data), "f", func(r intel.Record) error { a = append(a, r); return nil }, Options{Now: testNow}); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseWith(context.Background(), streamOnly{iotest.OneByteReader(bytes.NewReader(data))}, "f", func(r intel.Record) error { b = append(b, r); return nil }, Options{Now: testNow}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) || len(a) != 2 {
		t.Fatalf("one byte at a time differs: %v\n%v", a, b)
	}
	if want, _ := intel.NormalizeValue(intel.KindDomain, "b\u00e9.example"); a[1].Value != want || !strings.HasPrefix(want, "xn--") || a[1].Detail["name"] != "café 😀 \"q\"" || len(a[0].Raw) != intel.MaxRaw {
		t.Errorf("decoded %q %q raw %d", a[1].Value, a[1].Detail["name"], len(a[0].Raw))
	}
}
