package sqlstore

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/store"
)

// An indicator's only source, when it says what the row says, is kept on
// the row (SQLite); a second source, or a source the row no longer
// matches, moves every source to intel_sources. Through every step the
// store reads back what intel.Indicator.Merge makes of all the records
// applied so far, on SQLite and on PostgreSQL alike, and filtering by
// feed finds the indicators each feed named.
func TestApplySourcesMoveOffTheRow(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(testing.TB) *Store
	}{{"sqlite", openSQLite}, {"postgres", openPostgres}} {
		t.Run(tc.name, func(t *testing.T) { testSourcesMoveOffTheRow(t, tc.open(t)) })
	}
}

func testSourcesMoveOffTheRow(t *testing.T, s *Store) {
	ctx := context.Background()
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	base := benchRecords(200, "row-1", at)
	for i := range base {
		base[i].ExternalID = "indicator--" + base[i].Value
	}
	var applied []intel.Record
	moved := map[store.IndicatorKey]bool{}
	apply := func(step string, recs []intel.Record) {
		t.Helper()
		if _, err := s.ApplyIndicators(ctx, sysP, recs); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		applied = append(applied, recs...)
		checkMerged(t, s, step, applied, moved)
	}
	apply("new", base)

	// The same feed later: the source moves with the row and stays on it.
	var later []intel.Record
	for _, r := range base[:100] {
		r.LastSeen = at.Add(time.Hour)
		later = append(later, r)
	}
	// A second feed names 50-149: both sources go to intel_sources.
	for _, r := range base[50:150] {
		r.Feed, r.ExternalID, r.LastSeen = "row-2", "", at.Add(2*time.Hour)
		later = append(later, r)
	}
	// The same feed with another confidence: the row keeps the highest,
	// the source says the latest. More (150-159): both say 90, the source
	// stays on the row; less (160-169): the source says 20, the row 70,
	// so the source moves.
	for i, r := range base[150:170] {
		r.Confidence = 90
		if i >= 10 {
			r.Confidence = 20
		}
		later = append(later, r)
	}
	apply("later", later)

	// Only the external ID changes: the row is rewritten, the source
	// stays on it.
	var renamed []intel.Record
	for _, r := range base[:40] {
		r.ExternalID, r.LastSeen = "indicator--renamed", at.Add(time.Hour)
		renamed = append(renamed, r)
	}
	// And a moved indicator comes back from its first feed.
	for _, r := range base[60:70] {
		r.LastSeen = at.Add(3 * time.Hour)
		renamed = append(renamed, r)
	}
	apply("renamed", renamed)

	// 50-149 (a second feed) and 160-169 (a source unlike the row) moved.
	if len(moved) != 110 {
		t.Errorf("%d indicators moved their sources off the row, want 110", len(moved))
	}
	for feed, want := range map[string]int{"row-1": 200, "row-2": 100} {
		n := 0
		if err := s.EachIndicator(ctx, sysP, store.IndicatorFilter{Feed: feed}, func(store.StoredIndicator) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("feed %s filters %d indicators, want %d", feed, n, want)
		}
	}
	for _, name := range []string{"row-1", "row-2"} {
		f, err := s.GetFeedByName(ctx, sysP, name)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteFeed(ctx, sysP, f.ID); !errors.Is(err, store.ErrConflict) {
			t.Errorf("delete feed %s, the source of indicators: %v, want a conflict", name, err)
		}
	}
}

// checkMerged compares every stored indicator with the merge of the
// records applied, and checks where its sources are kept: on SQLite on
// the row until it has had a second source or one unlike the row (moved
// records those), in intel_sources otherwise.
func checkMerged(t *testing.T, s *Store, step string, applied []intel.Record, moved map[store.IndicatorKey]bool) {
	t.Helper()
	ctx := context.Background()
	want := map[store.IndicatorKey]*intel.Indicator{}
	for _, r := range applied {
		k := store.IndicatorKey{Kind: r.Kind, Value: r.Value}
		if want[k] == nil {
			want[k] = &intel.Indicator{}
		}
		r.FirstSeen, r.LastSeen, r.ValidUntil = usec(r.FirstSeen), usec(r.LastSeen), usec(r.ValidUntil)
		want[k].Merge(r)
	}
	for k, w := range want {
		got, err := s.FindIndicator(ctx, sysP, k)
		if err != nil {
			t.Fatalf("%s: %s: %v", step, k.Value, err)
		}
		if got.Confidence != w.Confidence || !got.LastSeen.Equal(w.LastSeen) {
			t.Errorf("%s: %s: row confidence %d last seen %v, want %d %v", step, k.Value, got.Confidence, got.LastSeen, w.Confidence, w.LastSeen)
		}
		if len(got.Sources) != len(w.Sources) {
			t.Fatalf("%s: %s: %d sources, want %d", step, k.Value, len(got.Sources), len(w.Sources))
		}
		for _, ws := range w.Sources {
			i := slices.IndexFunc(got.Sources, func(g intel.Source) bool { return g.Feed == ws.Feed })
			if i < 0 {
				t.Fatalf("%s: %s: no source from %s", step, k.Value, ws.Feed)
			}
			g := got.Sources[i]
			if g.ExternalID != ws.ExternalID || g.Confidence != ws.Confidence || g.TLP != ws.TLP ||
				!g.FirstSeen.Equal(ws.FirstSeen) || !g.LastSeen.Equal(ws.LastSeen) || !g.ValidUntil.Equal(ws.ValidUntil) {
				t.Errorf("%s: %s: source %+v, want %+v", step, k.Value, g, ws)
			}
		}
		var onRow, rows int64
		if err := s.r.QueryRowContext(ctx, s.q("SELECT src_feed, (SELECT COUNT(*) FROM intel_sources c WHERE c.indicator_id = i.id) FROM intel_indicators i WHERE i.id = ?"),
			got.ID).Scan(&onRow, &rows); err != nil {
			t.Fatal(err)
		}
		if len(w.Sources) != 1 || !sourceIsRow(w, &w.Sources[0]) {
			moved[k] = true
		}
		wantOnRow := !s.d.postgres() && !moved[k]
		if (onRow != 0) != wantOnRow {
			t.Errorf("%s: %s: source on the row %v, want %v", step, k.Value, onRow != 0, wantOnRow)
		}
		want := len(w.Sources)
		if wantOnRow {
			want = 0
		}
		if int(rows) != want {
			t.Errorf("%s: %s: %d rows in intel_sources, want %d", step, k.Value, rows, want)
		}
	}
}

// A prepared batch is applied once; a bad record fails the preparation
// and nothing is stored.
func TestPreparedIndicatorsOnce(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	b, err := s.PrepareIndicators(sysP, benchRecords(30, "once", at))
	if err != nil {
		t.Fatal(err)
	}
	if sum, err := s.ApplyPreparedIndicators(ctx, sysP, b); err != nil || sum.New != 30 {
		t.Fatalf("apply: %+v, %v; want 30 new", sum, err)
	}
	if _, err := s.ApplyPreparedIndicators(ctx, sysP, b); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("applied twice: %v, want ErrInvalid", err)
	}
	bad := benchRecords(3, "once", at.Add(time.Hour))
	bad[2].Confidence = 101
	if _, err := s.PrepareIndicators(sysP, bad); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("a bad record: %v, want ErrInvalid", err)
	}
	got, err := s.FindIndicator(ctx, sysP, store.IndicatorKey{Kind: bad[0].Kind, Value: bad[0].Value})
	if err != nil || !got.LastSeen.Equal(at) {
		t.Fatalf("after the refused batch: %+v, %v; want last seen %v", got.Indicator, err, at)
	}
}
