package stix

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/intel"
)

var samples = []string{
	"apt1.json", "indicators-for-C2-with-COA.json", "malicious-email-indicator-with-attachment.json",
	"indicator-for-malicious-url.json", "malware-indicator-for-file-hash.json", "misp-stix_test_objects_collection_stix21.json",
}

// FuzzParse holds Parse to its contract on any input: the two reading
// paths agree; every record is normalized, from the feed, of an indicator
// that was not rejected; errors carry the package prefix.
func FuzzParse(f *testing.F) {
	for _, s := range samples {
		f.Add(readTestdata(f, s))
	}
	var buf bytes.Buffer
	_ = Bundle(&buf, sampleIndicators(), ExportOptions{BundleID: "bundle--1"})
	f.Add(buf.Bytes())
	f.Add([]byte(`{"objects":[{"type":"indicator","id":"indicator--1","pattern":"[ipv4-addr:value = '192.0.2.1' OR ipv4-addr:value = 'x']"}]}`))
	f.Add([]byte(`{"more":true,"objects":[]}`))
	f.Add([]byte(`{"objects":[{"type":"indicator","id":"indicator--2","pattern":"[ipv4-addr:value = '192.0.2.2']","object_marking_refs":["marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"],"x_rampart_recipients":{"orgs":[3,3,9],"users":[4]}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		opt := Options{Now: testNow, MaxObject: 1 << 16, MaxPending: 1000}
		run := func(seek bool) ([]intel.Record, *Result, error) {
			var recs []intel.Record
			var r = bytes.NewReader(data)
			var in interface{ Read([]byte) (int, error) } = r
			if !seek {
				in = streamOnly{r}
			}
			res, err := ParseWith(context.Background(), in, "fuzz", func(rec intel.Record) error {
				recs = append(recs, rec)
				return nil
			}, opt)
			return recs, res, err
		}
		recs, res, err := run(true)
		recs1, res1, err1 := run(false)
		if (err == nil) != (err1 == nil) {
			t.Fatalf("two passes: %v; one pass: %v", err, err1)
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "stix: ") {
				t.Fatalf("error without the package prefix: %v", err)
			}
			if len(recs) != 0 {
				t.Fatalf("a bundle that fails emitted %d records from a seekable input", len(recs))
			}
			return
		}
		if !reflect.DeepEqual(recs, recs1) || !reflect.DeepEqual(res.Rejections, res1.Rejections) {
			t.Fatalf("the reading paths differ")
		}
		rejected := map[string]bool{}
		for _, r := range res.Rejections.List {
			rejected[r.Where] = true
		}
		for _, r := range recs {
			again := r
			again.Labels = append([]string(nil), r.Labels...)
			if err := again.Normalize(testNow); err != nil || again.Value != r.Value || again.Kind != r.Kind {
				t.Fatalf("record not normalized: %+v (%v)", r, err)
			}
			if r.Feed != "fuzz" || len(r.Raw) > intel.MaxRaw {
				t.Fatalf("record %+v", r)
			}
			if r.ExternalID != "" && rejected[r.ExternalID] {
				t.Fatalf("records of the rejected indicator %s were emitted", r.ExternalID)
			}
		}
		if res.Records != len(recs) || res.Indicators > res.Objects {
			t.Fatalf("counts %+v for %d records", res, len(recs))
		}
	})
}

// FuzzParsePattern: a pattern is refused with a *PatternError or read to
// observables of known kinds, each of which exports to a pattern that
// reads back the same.
func FuzzParsePattern(f *testing.F) {
	for _, p := range []string{
		"[ipv4-addr:value = '10.0.0.0']",
		"[file:hashes.'SHA-256' = 'ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c']",
		"[email-message:subject MATCHES '^[IMPORTANT] Please Review Before']",
		"[email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\\\.exe$']",
		"[file:hashes.MD5 = '8764605c6f388c89096b534d33565802' AND file:hashes.'SHA-1' = '46aba99aa7158e4609aaa72b50990842fd22ae86' AND file:name = 'oui']",
		"[domain-name:value = 'circl.lu' AND domain-name:resolves_to_refs[*].value = '149.13.33.14']",
		"([url:value = 'http://a.example/'] OR [domain-name:value = 'b.example']) WITHIN 10 SECONDS",
		"[autonomous-system:number = 64500] OR [ipv6-addr:value = '2001:db8::/32']",
		"[x509-certificate:issuer = 'CN=WEBMAIL' AND x509-certificate:serial_number = '4c:0b']",
		"[network-traffic:dst_port = 443] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
	} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		obs, err := ParsePattern(p)
		if err != nil {
			var pe *PatternError
			if !errors.As(err, &pe) || obs != nil {
				t.Fatalf("%q: %v %v", p, obs, err)
			}
			return
		}
		if len(obs) == 0 {
			t.Fatalf("%q: accepted with no observables", p)
		}
		for _, o := range obs {
			if !o.Kind.Valid() {
				t.Fatalf("%q: kind %q", p, o.Kind)
			}
			v, err := intel.NormalizeValue(o.Kind, o.Value)
			if err != nil {
				continue // the bundle parser rejects the indicator
			}
			r := intel.Record{Kind: o.Kind, Value: v, Feed: "f"}
			if r.Normalize(testNow) != nil {
				continue
			}
			back, err := PatternFor(r.Kind, r.Value)
			if err != nil {
				t.Fatalf("%q: no pattern for %s %q: %v", p, r.Kind, r.Value, err)
			}
			o2, err := ParsePattern(back)
			if err != nil || len(o2) != 1 {
				t.Fatalf("%q: %s %q → %q → %v %v", p, r.Kind, r.Value, back, o2, err)
			}
			if v2, err := intel.NormalizeValue(o2[0].Kind, o2[0].Value); err != nil || v2 != r.Value {
				t.Fatalf("%q: %s %q → %q → %v %v", p, r.Kind, r.Value, back, o2, err)
			}
		}
	})
}

// FuzzScanValue holds the scanner to encoding/json's idea of valid JSON.
func FuzzScanValue(f *testing.F) {
	for _, s := range samples[:2] {
		f.Add(readTestdata(f, s))
	}
	for _, s := range []string{`{"a":[1,-2.5e+3,true,false,null,"\u00e9\n"]}`, `"\ud83d\ude00"`, `0`, `-0.1`, `01`, `[1,]`, `{"a" 1}`, `"\x"`, "\"\x01\"", `1e`, `tru`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		padded := append(append([]byte(nil), data...), ' ')
		start := skipSpace(padded, 0)
		n, err := scanValue(padded, start, 0)
		var se *syntaxError
		if errors.As(err, &se) && strings.Contains(se.msg, "nested deeper") {
			return // encoding/json allows deeper nesting
		}
		ours := err == nil && skipSpace(padded, n) == len(padded)
		if ours != json.Valid(data) {
			t.Fatalf("scanValue %v (n=%d, err %v), json.Valid %v for %q", ours, n, err, json.Valid(data), data)
		}
		if err == nil {
			v := padded[start:n]
			if !json.Valid(v) {
				t.Fatalf("scanValue accepted %q", v)
			}
			if s, ok := str(v); ok {
				var want string
				if json.Unmarshal(v, &want) != nil || s != want {
					t.Fatalf("str(%q) = %q, encoding/json %q", v, s, want)
				}
			}
		}
	})
}
