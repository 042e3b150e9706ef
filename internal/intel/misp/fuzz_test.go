package misp

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/intel"
)

// FuzzParseEvent holds ParseEvent to its contract on any input: a
// malformed event emits nothing; every record is normalized and comes
// from a to_ids attribute that was not rejected; errors carry the
// package prefix; the counts add up.
func FuzzParseEvent(f *testing.F) {
	f.Add(readTestdata(f, "event/57c4445b-c548-4654-af0b-4be3950d210f.json"))
	f.Add(readTestdata(f, "feed/56bf399d-c46c-4fdb-a9cf-d9bb02de0b81.json"))
	f.Add([]byte(sampleEvent))
	f.Add([]byte(`{"Event":{"Attribute":[{"type":"domain|ip","to_ids":"True","value":"a.example|1.2.3.4","Tag":[{"name":"tlp:red"}]}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var recs []intel.Record
		res, err := ParseEventWith(context.Background(), bytes.NewReader(data), "fuzz", func(r intel.Record) error {
			recs = append(recs, r)
			return nil
		}, Options{Now: testNow, MaxEvent: 1 << 20})
		if err != nil {
			if !errors.Is(err, ErrMalformed) || !strings.HasPrefix(err.Error(), "misp: ") || len(recs) != 0 {
				t.Fatalf("%v with %d records", err, len(recs))
			}
			return
		}
		rejected := map[string]bool{}
		for _, r := range res.Rejections.List {
			rejected[strings.TrimPrefix(r.Where, "attribute ")] = true
		}
		for _, r := range recs {
			again := r
			again.Labels = append([]string(nil), r.Labels...)
			if err := again.Normalize(testNow); err != nil || again.Value != r.Value || again.Kind != r.Kind || r.Feed != "fuzz" || len(r.Raw) > intel.MaxRaw {
				t.Fatalf("record not normalized: %+v (%v)", r, err)
			}
			if rejected[r.ExternalID] {
				t.Fatalf("records of the rejected attribute %s were emitted", r.ExternalID)
			}
		}
		if res.Records != len(recs) || res.Skipped > res.Attributes || res.Rejections.Count > res.Attributes {
			t.Fatalf("counts %+v for %d records", res, len(recs))
		}
	})
}

// FuzzParseManifest: entries have UUID keys, or the manifest is refused.
func FuzzParseManifest(f *testing.F) {
	f.Add(readTestdata(f, "feed/manifest.json"))
	f.Add([]byte(`{"bbbbbbbb-0000-4000-8000-000000000000":{"timestamp":"200","Tag":[{"name":"tlp:red"}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := ParseManifest(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrMalformed) || !strings.HasPrefix(err.Error(), "misp: ") {
				t.Fatalf("error %v", err)
			}
			return
		}
		for i, e := range entries {
			if !isUUID(e.UUID) || strings.ContainsAny(e.UUID, "/\\.") {
				t.Fatalf("entry %q", e.UUID)
			}
			if i > 0 && entries[i-1].Timestamp.After(e.Timestamp) {
				t.Fatal("entries out of order")
			}
		}
	})
}

// FuzzReadTag: a tag means at most a TLP, a label, a confidence and a
// category the model knows.
func FuzzReadTag(f *testing.F) {
	for _, s := range []string{"tlp:white", `misp-galaxy:threat-actor="APT 28"`, `misp:confidence-level="usually-confident"`, `rsit:fraud="phishing"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tag string) {
		m := ReadTag(tag)
		if m.TLP != "" {
			if _, err := intel.ParseTLP(string(m.TLP)); err != nil {
				t.Fatalf("%q: TLP %q", tag, m.TLP)
			}
		}
		if m.Confidence < -1 || m.Confidence > 100 || (m.Category != "" && !slices.Contains(intel.Categories, m.Category)) {
			t.Fatalf("%q: %+v", tag, m)
		}
		if m.Label != "" && !strings.Contains(m.Label, ":") {
			t.Fatalf("%q: label %q has no prefix", tag, m.Label)
		}
	})
}
