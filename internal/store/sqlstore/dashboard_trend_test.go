package sqlstore

import (
	"context"
	"testing"
	"time"
)

// TestTrendNewDayIsNotComputedInline: once a day is kept, the day that
// ends next is answered live by Trend and kept only by SnapshotTrend, so
// the first dashboard of a day never computes a snapshot.
func TestTrendNewDayIsNotComputedInline(t *testing.T) {
	eachDriver(t, func(t *testing.T, open func(testing.TB) *Store) {
		s := open(t)
		ctx := context.Background()
		now := time.Date(2026, 6, 15, 5, 0, 0, 0, time.UTC)
		kept := func(at time.Time) bool {
			var n int
			if err := s.DB().QueryRow(s.q("SELECT COUNT(*) FROM dashboard_days WHERE day = ?"), dayOf(at)).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n == 1
		}
		if _, err := s.Trend(ctx, sysP, 0, 90, now); err != nil {
			t.Fatal(err)
		}
		if !kept(now.Add(-24 * time.Hour)) {
			t.Fatal("a fresh store's first trend keeps the past days")
		}
		next := now.Add(24 * time.Hour)
		pts, err := s.Trend(ctx, sysP, 0, 90, next)
		if err != nil {
			t.Fatal(err)
		}
		if len(pts) != 90 || kept(now) {
			t.Fatalf("the next day's trend computed the day that just ended (%d points)", len(pts))
		}
		if err := s.SnapshotTrend(ctx, 90, next); err != nil {
			t.Fatal(err)
		}
		if !kept(now) {
			t.Fatal("SnapshotTrend did not keep the day that just ended")
		}
		// A gap longer than provisionalDays after the last kept day is
		// computed by the request.
		later := next.Add(5 * 24 * time.Hour)
		if _, err := s.Trend(ctx, sysP, 0, 90, later); err != nil {
			t.Fatal(err)
		}
		if !kept(later.Add(-24 * time.Hour)) {
			t.Fatal("a long gap was not computed")
		}
	})
}
