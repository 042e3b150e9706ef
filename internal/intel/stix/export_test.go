package stix

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/intel"
)

func TestIndicatorID(t *testing.T) {
	a := IndicatorID(intel.KindIPv4, "192.0.2.1")
	if a != IndicatorID(intel.KindIPv4, "192.0.2.1") {
		t.Fatal("IndicatorID is not deterministic")
	}
	if !regexp.MustCompile(`^indicator--[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(a) {
		t.Errorf("%q is not a version 5 UUID", a)
	}
	for _, other := range []string{IndicatorID(intel.KindIPv4, "192.0.2.2"), IndicatorID(intel.KindCIDR, "192.0.2.1")} {
		if other == a {
			t.Errorf("two indicators share the ID %s", a)
		}
	}
}

// Every kind's pattern reads back to its kind and value, quotes and
// backslashes included.
func TestPatternForRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		k intel.Kind
		v string
	}{
		{intel.KindIPv4, "192.0.2.1"},
		{intel.KindIPv6, "2001:db8::1"},
		{intel.KindCIDR, "198.51.100.0/24"},
		{intel.KindCIDR, "2001:db8::/32"},
		{intel.KindDomain, "xn--byte-5y5a.vn"},
		{intel.KindURL, `http://e.example/p?q='1'\x`},
		{intel.KindEmail, "o'brien@e.example"},
		{intel.KindMD5, "001dd76872d80801692ff942308c64e6"},
		{intel.KindSHA1, "46aba99aa7158e4609aaa72b50990842fd22ae86"},
		{intel.KindSHA256, "ec5aedf5ecc6bdadd4120932170d1b10f6cfa175cfda22951dfd882928ab279b"},
		{intel.KindASN, "AS64500"},
	} {
		if n, err := intel.NormalizeValue(tc.k, tc.v); err != nil || n != tc.v {
			t.Fatalf("test value %q is not normalized (%q, %v)", tc.v, n, err)
		}
		p, err := PatternFor(tc.k, tc.v)
		if err != nil {
			t.Fatalf("PatternFor(%s, %q): %v", tc.k, tc.v, err)
		}
		obs, err := ParsePattern(p)
		if err != nil || len(obs) != 1 {
			t.Fatalf("ParsePattern(%q): %v %v", p, obs, err)
		}
		v, err := intel.NormalizeValue(obs[0].Kind, obs[0].Value)
		if err != nil || obs[0].Kind != tc.k || v != tc.v {
			t.Errorf("%s %q → %q → %s %q (%v)", tc.k, tc.v, p, obs[0].Kind, v, err)
		}
	}
	if _, err := PatternFor("x", "y"); err == nil {
		t.Error("PatternFor accepted an unknown kind")
	}
	if _, err := PatternFor(intel.KindASN, "ASx"); err == nil {
		t.Error("PatternFor accepted a bad AS number")
	}
}

func sampleIndicators() []intel.Indicator {
	first := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return []intel.Indicator{
		{Kind: intel.KindIPv4, Value: "192.0.2.1", Category: intel.CategoryC2, Confidence: 90, TLP: intel.TLPAmberStrict,
			FirstSeen: first, LastSeen: first.Add(48 * time.Hour), ValidUntil: first.Add(30 * 24 * time.Hour),
			Labels: []string{"actor:apt1", "malware:poison ivy"}},
		{Kind: intel.KindCIDR, Value: "2001:db8::/32", Category: intel.CategoryScanner, Confidence: 0, TLP: intel.TLPClear, FirstSeen: first, LastSeen: first},
		{Kind: intel.KindDomain, Value: "evil.example", Category: intel.CategoryPhishing, Confidence: 75, TLP: intel.TLPGreen, FirstSeen: first, LastSeen: first},
		{Kind: intel.KindURL, Value: "http://x4z9arb.cn/4712/?a='1'", Category: intel.CategoryMalware, Confidence: 60, TLP: intel.TLPRed, FirstSeen: first, LastSeen: first},
		{Kind: intel.KindEmail, Value: "spam@e.example", Category: intel.CategorySpam, Confidence: 50, TLP: intel.TLPAmber, FirstSeen: first, LastSeen: first},
		{Kind: intel.KindSHA256, Value: "ec5aedf5ecc6bdadd4120932170d1b10f6cfa175cfda22951dfd882928ab279b", Category: intel.CategoryMalware, Confidence: 100, TLP: intel.TLPAmber, FirstSeen: first, LastSeen: first},
		{Kind: intel.KindASN, Value: "AS64500", Category: intel.CategoryBlocklist, Confidence: 40, TLP: intel.TLPGreen, FirstSeen: first, LastSeen: first},
		{Kind: intel.KindIPv4, Value: "192.0.2.9", Category: intel.CategoryCompromised, Confidence: 70, TLP: intel.TLPClear, FirstSeen: first, LastSeen: first},
	}
}

func TestExportRoundTrip(t *testing.T) {
	ins := sampleIndicators()
	var buf bytes.Buffer
	if err := Bundle(&buf, ins, ExportOptions{BundleID: "bundle--00000000-0000-4000-8000-000000000000", CreatedBy: "identity--00000000-0000-4000-8000-000000000001"}); err != nil {
		t.Fatal(err)
	}
	if !json.Valid(buf.Bytes()) {
		t.Fatalf("the bundle is not JSON:\n%s", buf.Bytes())
	}
	var b struct {
		Type    string            `json:"type"`
		ID      string            `json:"id"`
		Objects []json.RawMessage `json:"objects"`
	}
	if err := json.Unmarshal(buf.Bytes(), &b); err != nil || b.Type != "bundle" || b.ID != "bundle--00000000-0000-4000-8000-000000000000" {
		t.Fatalf("%v %+v", err, b)
	}
	// The indicators, then one marking definition per TLP used.
	if len(b.Objects) != len(ins)+5 {
		t.Errorf("%d objects, want %d indicators and 5 marking definitions", len(b.Objects), len(ins))
	}
	var first map[string]any
	_ = json.Unmarshal(b.Objects[0], &first)
	for k, want := range map[string]any{
		"type": "indicator", "spec_version": "2.1", "id": IndicatorID(intel.KindIPv4, "192.0.2.1"),
		"created_by_ref": "identity--00000000-0000-4000-8000-000000000001",
		"created":        "2026-01-02T03:04:05.000Z", "modified": "2026-01-04T03:04:05.000Z",
		"valid_from": "2026-01-02T03:04:05.000Z", "valid_until": "2026-02-01T03:04:05.000Z",
		"pattern": "[ipv4-addr:value = '192.0.2.1']", "pattern_type": "stix", "confidence": 90.0,
		"x_rampart_category": "c2",
	} {
		if first[k] != want {
			t.Errorf("%s = %v, want %v", k, first[k], want)
		}
	}
	if refs := first["object_marking_refs"].([]any); len(refs) != 1 || refs[0] != markingTLP2AmberStrict {
		t.Errorf("markings %v", refs)
	}

	recs, res, err := parseBytes(t, buf.Bytes(), Options{})
	if err != nil || res.Rejections.Count != 0 || len(recs) != len(ins) {
		t.Fatalf("parse back: %v %+v %d records", err, res.Rejections, len(recs))
	}
	for i, r := range recs {
		in := ins[i]
		if r.Kind != in.Kind || r.Value != in.Value || r.TLP != in.TLP || r.Confidence != in.Confidence ||
			r.Category != in.Category || !slices.Equal(r.Labels, in.Labels) || !r.FirstSeen.Equal(in.FirstSeen) ||
			!r.LastSeen.Equal(in.LastSeen) || !r.ValidUntil.Equal(in.ValidUntil) ||
			r.ExternalID != IndicatorID(in.Kind, in.Value) || r.Detail["created_by"] != "identity--00000000-0000-4000-8000-000000000001" {
			t.Errorf("round trip of %+v gave %+v", in, r)
		}
	}
}

func TestMarkingDefinitionsReadBack(t *testing.T) {
	for _, tlp := range intel.TLPs {
		md := MarkingDefinition(tlp)
		if !json.Valid(md) {
			t.Fatalf("%s: %s", tlp, md)
		}
		// Read as a bundle's own marking definition under another ID.
		local := bytes.Replace(md, []byte(MarkingID(tlp)), []byte("marking-definition--local"), 1)
		got, ok := markingTLP(local)
		if !ok || got != tlp {
			t.Errorf("%s read back as %q %v", tlp, got, ok)
		}
		if wk, ok := wellKnownTLP(MarkingID(tlp)); !ok || wk != tlp {
			t.Errorf("MarkingID(%s) is not a known marking", tlp)
		}
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n -= len(p); w.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestBundleWriterErrors(t *testing.T) {
	ins := sampleIndicators()
	bw := NewBundleWriter(&failWriter{n: 100}, ExportOptions{})
	var err error
	for i := 0; i < 2000 && err == nil; i++ {
		err = bw.Write(&ins[i%len(ins)])
	}
	if err == nil {
		err = bw.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "disk full") || !strings.HasPrefix(err.Error(), "stix: ") {
		t.Errorf("write error: %v", err)
	}
	var buf bytes.Buffer
	bw = NewBundleWriter(&buf, ExportOptions{})
	if err := bw.Write(&intel.Indicator{Kind: "bogus", Value: "x"}); err == nil {
		t.Error("an indicator without a pattern was written")
	}
	if err := bw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := bw.Write(&ins[0]); err == nil {
		t.Error("write after Close")
	}
	// An empty bundle is valid and parses to nothing.
	n := 0
	if _, err := Parse(context.Background(), bytes.NewReader(buf.Bytes()), "f", func(intel.Record) error { n++; return nil }); err != nil || n != 0 {
		t.Errorf("empty bundle %q: %v %d", buf.String(), err, n)
	}
}
