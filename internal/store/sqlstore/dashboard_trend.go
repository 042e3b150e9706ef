package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

// The trend.
//
// Days are numbered in Asia/Ho_Chi_Minh time, which is UTC+07:00 all year
// (no daylight saving): day(t) = floor((unix seconds + 25200) / 86400).
//
// A past day D is computed once for every organization, from first-seen and
// fixed times: a finding counts on D when it was first seen by the end of D
// and not fixed by then. Findings now risk-accepted or false-positive are
// left out (their acceptance time is not kept), and a finding reopened after
// a fix counts from its reopening only if its fixed time was cleared. The
// result goes to dashboard_daily (and, rolled up along the paths, to
// dashboard_subtree), marked done in dashboard_days, and is never
// recomputed: history does not change. Today is counted live.
//
// Computing a range of missing days is two grouped scans of the findings
// (first seen per day, fixed per day) over the findings still active at the
// start of the range. SnapshotTrend does it (serve runs it at start, just
// after every midnight and every hour); a trend request does it only when
// there is no kept day before the gap (a fresh store).

const vnOffset = 7 * 3600

// ict is the zone of trend days.
var ict = time.FixedZone("ICT", vnOffset)

// dayOf is the day number of t.
func dayOf(t time.Time) int64 {
	u := t.Unix() + vnOffset
	if u < 0 {
		return (u - 86399) / 86400
	}
	return u / 86400
}

// dayStart is the first instant of day d.
func dayStart(d int64) time.Time { return time.Unix(d*86400-vnOffset, 0).UTC() }

// dayExpr is the SQL day number of a timestamp column.
func (s *Store) dayExpr(col string) string {
	if s.d.postgres() {
		return "CAST(FLOOR((EXTRACT(EPOCH FROM " + col + ") + 25200) / 86400) AS BIGINT)"
	}
	return "CAST(((julianday(" + col + ") - 2440587.5) * 86400.0 + 25200) / 86400 AS INTEGER)"
}

// provisionalDays is how many days just ended a trend may answer with the
// live count while their snapshot is not kept yet; a longer gap (a store
// that was off for days, with no one keeping snapshots) is computed.
const provisionalDays = 2

// Trend returns the active findings at the end of each of the last days
// days of root's subtree, oldest first.
//
// Kept days are read from dashboard_subtree, one row per day for the
// subtree's root (or each root of the tree, for a platform-wide
// principal); today is the live count of the tallies. The days that just
// ended are missing until SnapshotTrend keeps them: while they follow a
// kept day they are answered with the live count too, so the first
// request of a day never computes them.
func (s *Store) Trend(ctx context.Context, p auth.Principal, root int64, days int, now time.Time) ([]store.TrendPoint, error) {
	const op = "dashboard trend"
	if days <= 0 || days > store.MaxTrendDays {
		return nil, s.fail(op, invalid("days must be 1-%d", store.MaxTrendDays))
	}
	if now.IsZero() {
		now = time.Now()
	}
	sc, err := s.dashScope(ctx, p, root)
	if err != nil {
		return nil, s.fail(op, err)
	}
	today := dayOf(now)
	if !sc.all {
		pts, err := s.trendOf(ctx, sc, days, today)
		return pts, s.fail(op, err)
	}
	// The platform-wide trend is kept while what it was read from is
	// the same (dashboard_cache.go).
	st, err := s.trendStamp(ctx)
	if err != nil {
		return nil, s.fail(op, err)
	}
	key := trendKey{today: today, days: days}
	if pts, ok := s.dash.keptTrend(key, st); ok {
		return pts, nil
	}
	pts, err := s.trendOf(ctx, sc, days, today)
	if err != nil {
		return nil, s.fail(op, err)
	}
	s.dash.keepTrend(key, st, pts)
	return pts, nil
}

// trendOf computes the trend of sc for the days days ending with today.
func (s *Store) trendOf(ctx context.Context, sc scope, days int, today int64) ([]store.TrendPoint, error) {
	first := today - int64(days) + 1
	kept, err := s.keptDays(ctx, first-1, today-1)
	if err != nil {
		return nil, err
	}
	// The missing days at the end, after a kept day, are provisional.
	last := today - 1
	for d := today - 1; d >= first-1 && d >= today-provisionalDays && !kept[d]; d-- {
		last = d - 1
	}
	if !kept[last] {
		last = today - 1 // no kept day before the gap: compute it all
	}
	if err := s.snapshotDays(ctx, first, last, kept); err != nil {
		return nil, err
	}
	byDay := make(map[int64]int, days)
	if !sc.none() {
		var w where
		w.add("d.day >= ? AND d.day <= ?", first, last)
		if sc.all {
			w.add("d.org_id IN (SELECT id FROM orgs WHERE parent_id IS NULL)")
		} else {
			w.add("d.org_id IN (SELECT id FROM orgs WHERE path = ?)", sc.path)
		}
		rows, err := s.r.QueryContext(ctx, s.q("SELECT d.day, CAST(SUM(d.active) AS BIGINT) FROM dashboard_subtree d"+w.String()+" GROUP BY d.day"), w.args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var d int64
			var n int
			if err := rows.Scan(&d, &n); err != nil {
				rows.Close()
				return nil, err
			}
			byDay[d] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		n, err := s.sumActive(ctx, sc)
		if err != nil {
			return nil, err
		}
		for d := last + 1; d <= today; d++ {
			byDay[d] = n
		}
	}
	out := make([]store.TrendPoint, 0, days)
	for d := first; d <= today; d++ {
		out = append(out, store.TrendPoint{Day: dayStart(d).In(ict), Active: byDay[d]})
	}
	return out, nil
}

// SnapshotTrend computes and keeps the days days before the day of now
// that are not kept yet.
func (s *Store) SnapshotTrend(ctx context.Context, days int, now time.Time) error {
	const op = "dashboard snapshot"
	if days <= 0 || days > store.MaxTrendDays {
		return s.fail(op, invalid("days must be 1-%d", store.MaxTrendDays))
	}
	today := dayOf(now)
	kept, err := s.keptDays(ctx, today-int64(days), today-1)
	if err != nil {
		return s.fail(op, err)
	}
	return s.fail(op, s.snapshotDays(ctx, today-int64(days), today-1, kept))
}

// keptDays are the days of [from, to] with a snapshot.
func (s *Store) keptDays(ctx context.Context, from, to int64) (map[int64]bool, error) {
	have := map[int64]bool{}
	if to < from {
		return have, nil
	}
	rows, err := s.r.QueryContext(ctx, s.q("SELECT day FROM dashboard_days WHERE day >= ? AND day <= ?"), from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var d int64
		if err := rows.Scan(&d); err != nil {
			return nil, err
		}
		have[d] = true
	}
	return have, rows.Err()
}

// snapshotDays computes and keeps the days of [from, to] not in have:
// each organization's own count (dashboard_daily) and its subtree's
// (dashboard_subtree), in multi-row inserts.
func (s *Store) snapshotDays(ctx context.Context, from, to int64, have map[int64]bool) error {
	lo, hi := int64(-1), int64(-1)
	for d := from; d <= to; d++ {
		if !have[d] {
			if lo < 0 {
				lo = d
			}
			hi = d
		}
	}
	if lo < 0 {
		return nil
	}
	counts, err := s.computeDays(ctx, lo, hi)
	if err != nil {
		return err
	}
	paths := map[int64]string{}
	byPath := map[string]int64{}
	rows, err := s.r.QueryContext(ctx, "SELECT id, path FROM orgs")
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int64
		var path string
		if err := rows.Scan(&id, &path); err != nil {
			rows.Close()
			return err
		}
		paths[id], byPath[path] = path, id
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	computed := now()
	return s.write(ctx, "dashboard snapshot", func(tx *sql.Tx) error {
		// Another process may have kept some of the days meanwhile.
		var marked []int64
		if err := func() error {
			rows, err := tx.QueryContext(ctx, s.q("SELECT day FROM dashboard_days WHERE day >= ? AND day <= ?"), lo, hi)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var d int64
				if err := rows.Scan(&d); err != nil {
					return err
				}
				marked = append(marked, d)
			}
			return rows.Err()
		}(); err != nil {
			return err
		}
		skip := map[int64]bool{}
		for _, d := range marked {
			skip[d] = true
		}
		type row struct{ day, org, n int64 }
		var own, sub []row
		var mark []any
		for d := lo; d <= hi; d++ {
			if have[d] || skip[d] {
				continue
			}
			tree := map[int64]int64{}
			for org, n := range counts[d] {
				own = append(own, row{d, org, int64(n)})
				path, ok := paths[org]
				if !ok {
					continue
				}
				for i := 1; i < len(path); i++ {
					if path[i] == '/' {
						if a, ok := byPath[path[:i+1]]; ok {
							tree[a] += int64(n)
						}
					}
				}
			}
			for org, n := range tree {
				sub = append(sub, row{d, org, n})
			}
			mark = append(mark, d)
		}
		if err := batches(ctx, tx, own, func(n int) string {
			return s.q("INSERT INTO dashboard_daily (day, org_id, active) VALUES " + placeholders(n, 3) + " ON CONFLICT DO NOTHING")
		}, func(st *sql.Stmt, chunk []row) error {
			args := make([]any, 0, 3*len(chunk))
			for _, r := range chunk {
				args = append(args, r.day, r.org, r.n)
			}
			_, err := st.ExecContext(ctx, args...)
			return err
		}); err != nil {
			return err
		}
		if err := batches(ctx, tx, sub, func(n int) string {
			return s.q("INSERT INTO dashboard_subtree (day, org_id, active) VALUES " + placeholders(n, 3) + " ON CONFLICT DO NOTHING")
		}, func(st *sql.Stmt, chunk []row) error {
			args := make([]any, 0, 3*len(chunk))
			for _, r := range chunk {
				args = append(args, r.day, r.org, r.n)
			}
			_, err := st.ExecContext(ctx, args...)
			return err
		}); err != nil {
			return err
		}
		if len(mark) > 0 {
			// Kept trends were read from the days before these.
			if _, err := tx.ExecContext(ctx, "UPDATE counters SET value = value + 1 WHERE name = 'dashboard_days'"); err != nil {
				return err
			}
		}
		return batches(ctx, tx, mark, func(n int) string {
			return s.q("INSERT INTO dashboard_days (day, computed_at) VALUES " + placeholders(n, 2) + " ON CONFLICT DO NOTHING")
		}, func(st *sql.Stmt, chunk []any) error {
			args := make([]any, 0, 2*len(chunk))
			for _, d := range chunk {
				args = append(args, d, computed)
			}
			_, err := st.ExecContext(ctx, args...)
			return err
		})
	})
}

// computeDays counts, for each day of [lo, hi] and each organization, the
// findings first seen by the end of the day and not fixed by then.
func (s *Store) computeDays(ctx context.Context, lo, hi int64) (map[int64]map[int64]int, error) {
	start, end := dayStart(lo), dayStart(hi+1)
	const notAccepted = "f.state NOT IN ('risk-accepted', 'false-positive')"
	// opened: per organization and day of first sighting, with everything
	// before lo in bucket lo-1.
	fs := s.dayExpr("f.first_seen")
	opened := "SELECT f.org_id, CASE WHEN f.first_seen < ? THEN ? ELSE " + fs + " END AS d, COUNT(*) FROM findings f WHERE " +
		notAccepted + " AND f.first_seen < ? AND (f.fixed_at IS NULL OR f.fixed_at >= ?) GROUP BY f.org_id, d"
	fx := s.dayExpr("f.fixed_at")
	closed := "SELECT f.org_id, " + fx + " AS d, COUNT(*) FROM findings f WHERE " +
		notAccepted + " AND f.fixed_at >= ? AND f.fixed_at < ? AND f.first_seen < ? GROUP BY f.org_id, d"
	delta := map[int64]map[int64]int{} // org → day → change
	add := func(query string, sign int, args ...any) error {
		rows, err := s.r.QueryContext(ctx, s.q(query), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var org, d int64
			var n int
			if err := rows.Scan(&org, &d, &n); err != nil {
				return err
			}
			if delta[org] == nil {
				delta[org] = map[int64]int{}
			}
			delta[org][d] += sign * n
		}
		return rows.Err()
	}
	if err := add(opened, 1, start, lo-1, end, start); err != nil {
		return nil, err
	}
	if err := add(closed, -1, start, end, end); err != nil {
		return nil, err
	}
	out := make(map[int64]map[int64]int, hi-lo+1)
	for d := lo; d <= hi; d++ {
		out[d] = map[int64]int{}
	}
	for org, byDay := range delta {
		run := byDay[lo-1]
		for d := lo; d <= hi; d++ {
			run += byDay[d]
			if run > 0 {
				out[d][org] = run
			}
		}
	}
	return out, nil
}
