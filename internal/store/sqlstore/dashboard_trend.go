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
// result goes to dashboard_daily, marked done in dashboard_days, and is
// never recomputed: history does not change. Today is counted live.
//
// Computing a range of missing days is two grouped scans of the findings
// (first seen per day, fixed per day) over the findings still active at the
// start of the range; it happens once, on the first trend request of a day.

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

// Trend returns the active findings at the end of each of the last days
// days of root's subtree, oldest first.
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
	first := today - int64(days) + 1
	if err := s.snapshotDays(ctx, first, today-1); err != nil {
		return nil, s.fail(op, err)
	}
	byDay := make(map[int64]int, days)
	if !sc.none() {
		var w where
		w.add("d.day >= ? AND d.day < ?", first, today)
		inScope(&w, sc, "d.org_id")
		rows, err := s.r.QueryContext(ctx, s.q("SELECT d.day, SUM(d.active) FROM dashboard_daily d"+w.String()+" GROUP BY d.day"), w.args...)
		if err != nil {
			return nil, s.fail(op, err)
		}
		for rows.Next() {
			var d int64
			var n int
			if err := rows.Scan(&d, &n); err != nil {
				rows.Close()
				return nil, s.fail(op, err)
			}
			byDay[d] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, s.fail(op, err)
		}
		var cur where
		cur.add(activeStates)
		inScope(&cur, sc, "f.org_id")
		var n int
		if err := s.r.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM findings f"+cur.String()), cur.args...).Scan(&n); err != nil {
			return nil, s.fail(op, err)
		}
		byDay[today] = n
	}
	out := make([]store.TrendPoint, 0, days)
	for d := first; d <= today; d++ {
		out = append(out, store.TrendPoint{Day: dayStart(d).In(ict), Active: byDay[d]})
	}
	return out, nil
}

// snapshotDays computes and keeps the days of [from, to] not kept yet.
func (s *Store) snapshotDays(ctx context.Context, from, to int64) error {
	if to < from {
		return nil
	}
	rows, err := s.r.QueryContext(ctx, s.q("SELECT day FROM dashboard_days WHERE day >= ? AND day <= ?"), from, to)
	if err != nil {
		return err
	}
	have := map[int64]bool{}
	for rows.Next() {
		var d int64
		if err := rows.Scan(&d); err != nil {
			rows.Close()
			return err
		}
		have[d] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
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
	computed := now()
	return s.write(ctx, "dashboard snapshot", func(tx *sql.Tx) error {
		ins, err := tx.PrepareContext(ctx, s.q("INSERT INTO dashboard_daily (day, org_id, active) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"))
		if err != nil {
			return err
		}
		defer ins.Close()
		mark, err := tx.PrepareContext(ctx, s.q("INSERT INTO dashboard_days (day, computed_at) VALUES (?, ?) ON CONFLICT DO NOTHING"))
		if err != nil {
			return err
		}
		defer mark.Close()
		for d := lo; d <= hi; d++ {
			if have[d] {
				continue
			}
			for org, n := range counts[d] {
				if _, err := ins.ExecContext(ctx, d, org, n); err != nil {
					return err
				}
			}
			if _, err := mark.ExecContext(ctx, d, computed); err != nil {
				return err
			}
		}
		return nil
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
