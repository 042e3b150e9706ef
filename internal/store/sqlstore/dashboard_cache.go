package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/store"
)

// Kept overviews.
//
// An overview of a scope is a function of the tallies, the assets, the
// organizations in scope and, for what is overdue, the time. The first
// three are read each request as a stamp, in one query:
//
//   - counters.finding_tally, bumped by every transaction that changes a
//     tally (aggregates.go, migration 0017);
//   - counters.assets, bumped by every transaction that changes an asset;
//   - a digest of the organizations in scope (every column the overview
//     shows or rolls up by), computed by the database, or on SQLite
//     counters.orgs, bumped by triggers on every change of an
//     organization.
//
// The stamp is read before the data, so a kept overview is at least as new
// as its stamp, and it is used only while the stamp is the same: any write
// committed since, by this process or another, shows in the counters or
// the digest and makes the next request compute afresh. Time: what is
// overdue at t is what is due before t, so an overview computed at t0
// answers every t after the latest due date before t0 and up to the first
// one at or after t0 (dueWindow); the weighted debt, which grows with
// time, is worked out per request from the overdue groups (overviewBase.at).
// The numbers are therefore those a fresh computation gives, which
// TestOverviewKeptIsExact checks after writes, transitions, asset and
// organization changes and the passing of a due date.
//
// Requests that find the same stamp while an overview is being computed
// wait for it instead of computing it again: under load, one computation
// per change serves every client. The cache holds at most
// dashCacheScopes scopes (the national one and the subtrees asked for),
// the least recently used leaving first.

const dashCacheScopes = 64

// dashStamp is what a kept overview was computed from.
type dashStamp struct {
	assets, tally int64
	orgs          string // digest of the organizations in scope
}

type dashCache struct {
	mu     sync.Mutex
	m      map[string]*dashEntry
	tick   uint64
	trends map[trendKey]keptTrend // platform-wide
}

type dashEntry struct {
	stamp dashStamp
	done  chan struct{} // closed when base and err are set
	base  *overviewBase
	err   error
	used  uint64
}

// scopeKey names a scope in the cache.
func scopeKey(sc scope) string {
	if sc.all {
		return "*"
	}
	return sc.path
}

// overviewBase returns an overview of sc that covers at: the kept one when
// its stamp is current and it covers at, else a new one, which it keeps.
func (s *Store) overviewBase(ctx context.Context, sc scope, at time.Time) (*overviewBase, error) {
	stamp, err := s.dashStamp(ctx, sc)
	if err != nil {
		return nil, err
	}
	key := scopeKey(sc)
	c := &s.dash
	c.mu.Lock()
	if e := c.m[key]; e != nil && e.stamp == stamp {
		c.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if e.err == nil && e.base.covers(at) {
			c.mu.Lock()
			c.tick++
			e.used = c.tick
			c.mu.Unlock()
			return e.base, nil
		}
		c.mu.Lock()
	}
	var prev *overviewBase
	if old := c.m[key]; old != nil {
		select {
		case <-old.done:
			prev = old.base // nil after an error
		default: // still being computed, from another stamp
		}
	}
	e := &dashEntry{stamp: stamp, done: make(chan struct{})}
	c.put(key, e)
	c.mu.Unlock()

	e.base, e.err = s.computeOverview(ctx, sc, at, stamp, prev)
	close(e.done)
	if e.err != nil {
		c.mu.Lock()
		if c.m[key] == e {
			delete(c.m, key)
		}
		c.mu.Unlock()
		return nil, e.err
	}
	return e.base, nil
}

// put keeps e under key, making room if needed; c.mu is held.
func (c *dashCache) put(key string, e *dashEntry) {
	if c.m == nil {
		c.m = make(map[string]*dashEntry)
	}
	if _, ok := c.m[key]; !ok && len(c.m) >= dashCacheScopes {
		var (
			oldest string
			used   uint64
			first  = true
		)
		for k, v := range c.m {
			if first || v.used < used {
				oldest, used, first = k, v.used, false
			}
		}
		delete(c.m, oldest)
	}
	c.tick++
	e.used = c.tick
	c.m[key] = e
}

// orgDigest is an SQL expression over orgs giving one value that changes
// whenever an organization of the rows aggregated is added, removed or
// changes in a column the overview uses: on PostgreSQL the MD5 of the
// rows, each text preceded by its length so that no two different sets
// of rows give the same text. On SQLite, where that costs more than
// reading the rows, counters.orgs, which triggers bump on every change of
// an organization (migration 0017).
func (s *Store) orgDigest(cond string) string {
	if !s.d.postgres() {
		return "SELECT CAST(value AS TEXT) FROM counters WHERE name = 'orgs'"
	}
	field := func(col string) string { return " || length(" + col + ") || ':' || " + col }
	row := "id || ',' || COALESCE(parent_id, 0) || ','" + field("code") + field("name") + field("name_en") + field("kind") + field("path")
	return "SELECT md5(string_agg(" + row + ", ';' ORDER BY id)) FROM orgs WHERE " + cond
}

// dashStamp reads the counters and the digest of sc's organizations, in
// one query.
func (s *Store) dashStamp(ctx context.Context, sc scope) (dashStamp, error) {
	cond, args := sc.cond("path")
	if !s.d.postgres() {
		args = nil
	}
	var (
		st     dashStamp
		digest sql.NullString
	)
	err := s.r.QueryRowContext(ctx, s.q("SELECT (SELECT value FROM counters WHERE name = 'assets'), "+
		"(SELECT value FROM counters WHERE name = 'finding_tally'), ("+s.orgDigest(cond)+")"), args...).Scan(&st.assets, &st.tally, &digest)
	st.orgs = digest.String
	return st, err
}

// dueWindow returns the latest due date of an active finding before at and
// the first one at or after it (zero when there is none): the overdue
// findings are the same at every time after the first and up to the second.
func (s *Store) dueWindow(ctx context.Context, at time.Time) (after, upTo time.Time, err error) {
	var prev, next sql.NullTime
	from := " FROM findings f" + s.notYetIndex() + " WHERE " + activeStates
	err = s.r.QueryRowContext(ctx, s.q("SELECT f.due_at"+from+" AND f.due_at < ? ORDER BY f.due_at DESC LIMIT 1"), at).Scan(&prev)
	if err != nil && err != sql.ErrNoRows {
		return after, upTo, err
	}
	err = s.r.QueryRowContext(ctx, s.q("SELECT f.due_at"+from+" AND f.due_at >= ? ORDER BY f.due_at LIMIT 1"), at).Scan(&next)
	if err != nil && err != sql.ErrNoRows {
		return after, upTo, err
	}
	if prev.Valid {
		after = prev.Time.UTC()
	}
	if next.Valid {
		upTo = next.Time.UTC()
	}
	return after, upTo, nil
}

// sumActive sums the tallied active findings of sc.
func (s *Store) sumActive(ctx context.Context, sc scope) (int, error) {
	var cur where
	cur.add("t.active > 0")
	inScope(&cur, sc, "t.org_id")
	var n sql.NullInt64
	err := s.r.QueryRowContext(ctx, s.q("SELECT CAST(SUM(t.active) AS BIGINT) FROM finding_tally t"+cur.String()), cur.args...).Scan(&n)
	return int(n.Int64), err
}

// Kept trends. The platform-wide trend is read from the kept days
// (dashboard_days, dashboard_subtree, which change only when
// snapshotDays keeps more days, and bumps counters.dashboard_days in that
// transaction), the roots of the tree, and the tallies for the live
// points; it is kept while those are the same, per day and length.

type trendKey struct {
	today int64
	days  int
}

type trendStamp struct {
	tally, days int64
	roots       string
}

type keptTrend struct {
	stamp trendStamp
	pts   []store.TrendPoint
}

// trendStamp reads what the platform-wide trend is made of, in one query.
func (s *Store) trendStamp(ctx context.Context) (trendStamp, error) {
	roots := "string_agg(CAST(id AS TEXT), ',' ORDER BY id)"
	if !s.d.postgres() {
		roots = "group_concat(id, ',' ORDER BY id)"
	}
	var (
		st trendStamp
		r  sql.NullString
	)
	err := s.r.QueryRowContext(ctx, "SELECT (SELECT value FROM counters WHERE name = 'finding_tally'), "+
		"(SELECT value FROM counters WHERE name = 'dashboard_days'), "+
		"(SELECT "+roots+" FROM orgs WHERE parent_id IS NULL)").Scan(&st.tally, &st.days, &r)
	st.roots = r.String
	return st, err
}

// keptTrend returns a copy of the trend kept for k at st.
func (c *dashCache) keptTrend(k trendKey, st trendStamp) ([]store.TrendPoint, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.trends[k]
	if !ok || t.stamp != st {
		return nil, false
	}
	return slices.Clone(t.pts), true
}

// keepTrend keeps a copy of pts for k at st.
func (c *dashCache) keepTrend(k trendKey, st trendStamp, pts []store.TrendPoint) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.trends == nil || len(c.trends) >= 8 {
		c.trends = make(map[trendKey]keptTrend) // days change once a day: start afresh
	}
	c.trends[k] = keptTrend{stamp: st, pts: slices.Clone(pts)}
}
