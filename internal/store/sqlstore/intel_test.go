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
	open := func() *Store {
		s, err := Open(ctx, "sqlite", path, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return s
	}
	one, two := open(), open()
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
