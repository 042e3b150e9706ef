package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
)

// ExpireStaleKinds is ExpireStale with a time to live per finding kind as
// well as per source (an exposed service not reported for a week is
// likely closed; a leak stays news longer): kinds[src] lists the kinds of
// src swept with their own ttl(src, kind); the rest of src's findings are
// swept with ttl(src, ""). A ttl of zero or less never expires. As
// ExpireStale, finding.Stale decides and each batch is one transaction
// with history and outbox events; it returns how many were fixed.
func (s *Store) ExpireStaleKinds(ctx context.Context, ttl func(finding.Source, string) time.Duration, kinds map[finding.Source][]string, at time.Time) (int, error) {
	const op = "expire stale findings"
	if at.IsZero() {
		at = now()
	}
	at = at.UTC().Truncate(time.Microsecond)
	n := 0
	for _, src := range finding.Sources {
		if src.Closure() != finding.ClosedByExpiry {
			continue
		}
		own := slices.Clone(kinds[src])
		slices.Sort(own)
		own = slices.Compact(own)
		for _, k := range own {
			fixed, err := s.expireSweep(ctx, op, src, ttl(src, k), "f.check_id = ?", []any{k}, at)
			n += fixed
			if err != nil {
				return n, err
			}
		}
		cond, args := "1 = 1", []any(nil)
		if len(own) > 0 {
			cond = "f.check_id NOT IN (" + placeholders(len(own), 1) + ")"
			for _, k := range own {
				args = append(args, k)
			}
		}
		fixed, err := s.expireSweep(ctx, op, src, ttl(src, ""), cond, args, at)
		n += fixed
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// expireSweep fixes, in batches of 5,000, the active findings of src
// matching cond that were last seen more than d before at.
func (s *Store) expireSweep(ctx context.Context, op string, src finding.Source, d time.Duration, cond string, args []any, at time.Time) (int, error) {
	if d <= 0 {
		return 0, nil
	}
	n := 0
	for {
		var changes []finding.Change
		err := s.write(ctx, op, func(tx *sql.Tx) error {
			// The source is a literal (one of finding.Sources) and the
			// feed-source term is repeated, so both engines match the
			// partial index findings_feed.
			query := "SELECT " + findingColsF + " FROM findings f WHERE " + feedSources + " AND f.source = '" + string(src) + "' AND " +
				activeStates + " AND f.last_seen < ? AND " + cond + " ORDER BY f.id LIMIT 5000"
			if s.d.postgres() {
				query += " FOR UPDATE"
			}
			rows, err := tx.QueryContext(ctx, s.q(query), append([]any{at.Add(-d)}, args...)...)
			if err != nil {
				return err
			}
			var stale []finding.Finding
			for rows.Next() {
				r, err := s.scanFinding(rows)
				if err != nil {
					rows.Close()
					return err
				}
				stale = append(stale, r.Finding)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			plan := finding.Stale(stale, func(finding.Source) time.Duration { return d }, at)
			changes, err = s.savePlan(ctx, tx, plan)
			return err
		})
		n += len(changes)
		if err != nil || len(changes) < 5000 {
			return n, err
		}
	}
}
