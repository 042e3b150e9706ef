package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
)

// feedSources is the SQL form of "a source closed by expiry", written as
// the partial index findings_feed has it.
const feedSources = "(f.source = 'intel' OR f.source = 'sensor' OR f.source = 'dns' OR f.source = 'discovery' OR f.source = 'monitor')"

// ExpireStale fixes the active findings of sources that close by expiry
// (feeds, sensors, protective DNS, discovery, monitoring) that their source
// has not reported for longer than ttl(source); finding.Stale decides,
// this loads and saves, with history and outbox events. A source whose ttl
// is zero or less never expires. It returns how many were fixed.
func (s *Store) ExpireStale(ctx context.Context, ttl func(finding.Source) time.Duration, at time.Time) (int, error) {
	const op = "expire stale findings"
	if at.IsZero() {
		at = now()
	}
	at = at.UTC().Truncate(time.Microsecond)
	n := 0
	for _, src := range finding.Sources {
		d := ttl(src)
		if src.Closure() != finding.ClosedByExpiry || d <= 0 {
			continue
		}
		err := s.write(ctx, op, func(tx *sql.Tx) error {
			// The source is a literal (one of finding.Sources) and the
			// feed-source term is repeated, so both engines match the
			// partial index findings_feed.
			query := "SELECT " + findingColsF + " FROM findings f WHERE " + feedSources + " AND f.source = '" + string(src) + "' AND " +
				activeStates + " AND f.last_seen < ? ORDER BY f.id LIMIT 5000"
			if s.d.postgres() {
				query += " FOR UPDATE"
			}
			rows, err := tx.QueryContext(ctx, s.q(query), at.Add(-d))
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
			plan := finding.Stale(stale, ttl, at)
			changes, err := s.savePlan(ctx, tx, plan)
			n += len(changes)
			return err
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
