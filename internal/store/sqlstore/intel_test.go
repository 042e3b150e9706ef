package sqlstore

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/store"
)

// Two processes apply to one database: each one's filter of stored values
// catches up with the other's writes, so no value becomes two indicators.
func TestIntelSeenAcrossStores(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	one, two := openSQLiteAt(t, path), openSQLiteAt(t, path)
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	recs := benchRecords(3000, "feed-1", at)
	if _, err := one.ApplyIndicators(ctx, sysP, recs[:1000]); err != nil {
		t.Fatal(err)
	}
	// two loads its filter now, then one writes more behind its back.
	if _, err := two.ApplyIndicators(ctx, sysP, recs[2000:2001]); err != nil {
		t.Fatal(err)
	}
	if _, err := one.ApplyIndicators(ctx, sysP, recs[1000:2000]); err != nil {
		t.Fatal(err)
	}
	again := benchRecords(3000, "feed-2", at)
	sum, err := two.ApplyIndicators(ctx, sysP, again)
	if err != nil {
		t.Fatal(err)
	}
	if sum.New != 999 || sum.Updated != 2001 {
		t.Fatalf("second store: %+v, want 999 new (2001-3000 but the one it wrote) and 2001 updated", sum)
	}
	n := 0
	if err := one.EachIndicator(ctx, sysP, store.IndicatorFilter{Kind: intel.KindIPv4}, func(store.StoredIndicator) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 1000 {
		t.Fatalf("%d addresses, want 1000", n)
	}
}

func TestEncodeLabels(t *testing.T) {
	for _, l := range [][]string{
		nil, {"malware:mirai"}, {"actor:apt \"x\"", "tag:a\\b", "tag:\x01\n", "tag:bộ y tế", "tag:bad\xffutf8"},
	} {
		// The same JSON as encoding/json writes, read back.
		got := encodeLabels(l)
		want, _ := json.Marshal(l)
		if len(l) == 0 {
			want = []byte("[]")
		}
		var a, b []string
		if err := json.Unmarshal([]byte(got), &a); err != nil {
			t.Fatalf("encodeLabels(%q) = %s: %v", l, got, err)
		}
		_ = json.Unmarshal(want, &b)
		if !slices.Equal(a, b) {
			t.Errorf("encodeLabels(%q) reads back %q, want %q", l, a, b)
		}
		if back := decodeLabels(got); len(back) != len(l) {
			t.Errorf("decodeLabels(%s) = %q", got, back)
		}
	}
}

// A new indicator's sources read back as intel.Indicator.Merge makes
// them, whether the store writes a source from its row (one record, the
// common case) or from its own values (records merged, several feeds).
func TestApplyNewSourcesAsMerged(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	recs := benchRecords(1500, "feed-1", at) // several full statements and a short one
	for i := range recs {
		recs[i].ExternalID = "indicator--" + recs[i].Value
		if i%7 == 0 {
			recs[i].ValidUntil = at.Add(time.Duration(i) * time.Minute)
		}
	}
	// The same value twice from one feed (the row keeps the higher
	// confidence, the source the later record's), and from two feeds.
	twice := recs[10]
	twice.Confidence, twice.ExternalID, twice.LastSeen = 40, "indicator--later", at.Add(time.Hour)
	other := recs[11]
	other.Feed, other.ExternalID, other.TLP = "feed-2", "", intel.TLPAmber
	recs = append(recs, twice, other)
	if _, err := s.ApplyIndicators(ctx, sysP, recs); err != nil {
		t.Fatal(err)
	}
	want := map[store.IndicatorKey]*intel.Indicator{}
	for _, r := range recs {
		k := store.IndicatorKey{Kind: r.Kind, Value: r.Value}
		if want[k] == nil {
			want[k] = &intel.Indicator{}
		}
		want[k].Merge(r)
	}
	for k, w := range want {
		got, err := s.FindIndicator(ctx, sysP, k)
		if err != nil {
			t.Fatalf("%s: %v", k.Value, err)
		}
		if got.Confidence != w.Confidence || got.TLP != w.TLP || !got.ValidUntil.Equal(w.ValidUntil) {
			t.Errorf("%s: row %+v, want %+v", k.Value, got.Indicator, *w)
		}
		if len(got.Sources) != len(w.Sources) {
			t.Fatalf("%s: %d sources, want %d", k.Value, len(got.Sources), len(w.Sources))
		}
		for _, ws := range w.Sources {
			i := slices.IndexFunc(got.Sources, func(g intel.Source) bool { return g.Feed == ws.Feed })
			if i < 0 {
				t.Fatalf("%s: no source from %s", k.Value, ws.Feed)
			}
			g := got.Sources[i]
			if g.ExternalID != ws.ExternalID || g.Confidence != ws.Confidence || g.TLP != ws.TLP ||
				!g.FirstSeen.Equal(ws.FirstSeen) || !g.LastSeen.Equal(ws.LastSeen) || !g.ValidUntil.Equal(ws.ValidUntil) {
				t.Errorf("%s: source %+v, want %+v", k.Value, g, ws)
			}
		}
	}
}

// Records group by kind and value, in the order values first come, even
// when values share a hash.
func TestGroupRecords(t *testing.T) {
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	recs := benchRecords(60, "feed-1", at)
	recs = append(recs, benchRecords(30, "feed-2", at)...) // the first 30 values again
	recs = append(recs, recs[5], recs[59])
	// The same value as an IPv4 and as a domain is two values.
	recs = append(recs, intel.Record{Kind: intel.KindDomain, Value: recs[0].Value})
	for name, hash := range map[string]func(intel.Kind, string) int64{
		"fnv":   valueHash,
		"one":   func(intel.Kind, string) int64 { return 7 },
		"three": func(k intel.Kind, v string) int64 { return valueHash(k, v) % 3 },
	} {
		g := groupRecords(recs, hash)
		if len(g.order) != 61 || len(g.hashes) != 61 || len(g.chains) != 61 {
			t.Fatalf("%s: %d values, want 61", name, len(g.order))
		}
		seen := 0
		for j, k := range g.order {
			if g.hashes[j] != hash(k.kind, k.value) {
				t.Errorf("%s: hash of %v", name, k)
			}
			var got []int32
			for i := g.chains[j].first; i >= 0; i = g.next[i] {
				got = append(got, i)
				if recs[i].Kind != k.kind || recs[i].Value != k.value {
					t.Fatalf("%s: record %d in the chain of %v", name, i, k)
				}
			}
			if got[len(got)-1] != g.chains[j].last {
				t.Errorf("%s: chain of %v ends at %d, last says %d", name, k, got[len(got)-1], g.chains[j].last)
			}
			if !slices.IsSorted(got) {
				t.Errorf("%s: chain of %v out of order: %v", name, k, got)
			}
			seen += len(got)
		}
		if seen != len(recs) {
			t.Errorf("%s: chains hold %d records, want %d", name, seen, len(recs))
		}
		if want := []int32{5, 65, 90}; !slices.Equal(chainOf(g, recs[5]), want) {
			t.Errorf("%s: records of %s at %v, want %v", name, recs[5].Value, chainOf(g, recs[5]), want)
		}
		if g.order[0] != (ikey{recs[0].Kind, recs[0].Value}) || g.order[60] != (ikey{intel.KindDomain, recs[0].Value}) {
			t.Errorf("%s: values out of order: first %v, last %v", name, g.order[0], g.order[60])
		}
	}
}

func chainOf(g grouped, r intel.Record) []int32 {
	j := slices.Index(g.order, ikey{r.Kind, r.Value})
	if j < 0 {
		return nil
	}
	var out []int32
	for i := g.chains[j].first; i >= 0; i = g.next[i] {
		out = append(out, i)
	}
	return out
}
