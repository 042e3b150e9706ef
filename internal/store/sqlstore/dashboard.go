package sqlstore

import (
	"context"
	"database/sql"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// Dashboard.
//
// Overview runs its reads at once (organizations in view, asset counts,
// the active findings by organization, severity and KEV listing, the top
// checks, and the due dates either side of now). The findings counts come
// from the tallies every finding write keeps (aggregates.go), so they cost
// a few rows per organization, not one per active finding; overdue is the
// tallied findings with a due date minus those not due yet, read from the
// partial index findings_active_due alone. The roll-up along materialized
// paths happens here, as in Debt. The result is kept for later requests
// while it stays exact (dashboard_cache.go).
//
// Trend keeps one row per past day and organization in dashboard_daily;
// see dashboard_trend.go.

var _ store.Dashboard = (*Store)(nil)

// dashScope resolves root within the principal's scope: the subtree the
// dashboard aggregates over.
func (s *Store) dashScope(ctx context.Context, p auth.Principal, root int64) (scope, error) {
	if err := needRead(p); err != nil {
		return scope{}, err
	}
	sc, err := s.scopeOf(ctx, s.r, p)
	if err != nil {
		return scope{}, err
	}
	if root == 0 {
		return sc, nil
	}
	o, err := s.loadOrg(ctx, s.r, sc, root, false)
	if err != nil {
		return scope{}, err
	}
	return scope{path: o.Path}, nil
}

// inScope is a condition restricting col (an organization ID) to sc, or
// nothing for everything.
func inScope(w *where, sc scope, col string) {
	if sc.all {
		return
	}
	cond, args := sc.cond("path")
	w.add(col+" IN (SELECT id FROM orgs WHERE "+cond+")", args...)
}

// Overview aggregates the active findings of root's subtree at now.
//
// The counts of a scope change only when a finding, an asset or an
// organization does, or when a due date passes, so a computed overview
// (overviewBase) is kept and answers later requests until one of those
// happens; only the weighted debt, which grows with time, is worked out
// per request. See dashboard_cache.go.
func (s *Store) Overview(ctx context.Context, p auth.Principal, root int64, now time.Time) (store.Overview, error) {
	const op = "dashboard overview"
	if now.IsZero() {
		now = time.Now()
	}
	at := now.UTC().Truncate(time.Microsecond)
	sc, err := s.dashScope(ctx, p, root)
	if err != nil {
		return emptyOverview(at), s.fail(op, err)
	}
	if sc.none() {
		return emptyOverview(at), nil
	}
	b, err := s.overviewBase(ctx, sc, at)
	if err != nil {
		return emptyOverview(at), s.fail(op, err)
	}
	return b.at(at), nil
}

func emptyOverview(at time.Time) store.Overview {
	ov := store.Overview{At: at, BySeverity: map[finding.Severity]int{},
		TopChecks: []store.CheckCount{}, Orgs: []store.OrgRollup{}}
	for _, sev := range finding.Severities {
		ov.BySeverity[sev] = 0
	}
	return ov
}

// overviewBase is the overview of one scope over the times at which the
// same findings are overdue: every count, and for the weighted debt the
// overdue groups, whose days overdue depend on the time of the question.
type overviewBase struct {
	stamp dashStamp
	// The times it answers: after < at <= upTo. after is the latest due
	// date before the time it was computed at, upTo the first one at or
	// after it; zero when there is none.
	after, upTo time.Time
	total       store.Overview    // Weighted left zero
	orgs        []store.OrgRollup // rolled up, Weighted left zero
	anc         [][]int           // anc[i]: i and its ancestors in view, as indexes of orgs
	overdue     []tallyGroup      // groups with overdue findings, in (organization, severity, KEV) order
	groupOrg    []int             // groupOrg[j]: index in orgs of overdue[j]'s organization
	// What a later computation with the same organizations (and assets)
	// reuses.
	rawOrgs []store.OrgRollup
	assets  map[int64]int
}

// covers reports whether b answers at.
func (b *overviewBase) covers(at time.Time) bool {
	return (b.after.IsZero() || at.After(b.after)) && (b.upTo.IsZero() || !at.After(b.upTo))
}

// at is the overview at at, which b covers: its counts, with fresh maps
// and slices the caller may change, and the weighted debt at at.
func (b *overviewBase) at(at time.Time) store.Overview {
	ov := b.total
	ov.At = at
	ov.BySeverity = maps.Clone(b.total.BySeverity)
	ov.TopChecks = slices.Clone(b.total.TopChecks)
	ov.Orgs = make([]store.OrgRollup, len(b.orgs))
	for i, o := range b.orgs {
		o.BySeverity = maps.Clone(o.BySeverity)
		ov.Orgs[i] = o
	}
	atMS := fracMS(at)
	for j := range b.overdue {
		g := &b.overdue[j]
		w := float64(g.overdue) * finding.DebtWeight(severityOfRank(g.rank), g.kev, g.daysAt(atMS)/float64(g.overdue))
		ov.Weighted += w
		for _, i := range b.anc[b.groupOrg[j]] {
			ov.Orgs[i].Weighted += w
		}
	}
	return ov
}

// computeOverview reads what the overview of sc at at is made of. prev,
// when not nil, is an earlier overview of the same scope: its
// organizations are reused when their digest is the same, and its asset
// counts when the assets counter is too.
func (s *Store) computeOverview(ctx context.Context, sc scope, at time.Time, stamp dashStamp, prev *overviewBase) (*overviewBase, error) {
	b := &overviewBase{stamp: stamp, total: emptyOverview(at)}
	var (
		wg                                sync.WaitGroup
		errOrgs, errAss, errF, errC, errW error
		groups                            []tallyGroup
	)
	if prev != nil && prev.stamp.orgs == stamp.orgs {
		b.rawOrgs = prev.rawOrgs
		if prev.stamp.assets == stamp.assets {
			b.assets = prev.assets
		}
	}
	if b.rawOrgs == nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.rawOrgs, errOrgs = s.dashOrgs(ctx, sc)
		}()
	}
	if b.assets == nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.assets, errAss = s.dashAssets(ctx, sc)
		}()
	}
	wg.Add(3)
	go func() {
		defer wg.Done()
		groups, errF = s.overviewGroups(ctx, sc, at)
	}()
	go func() {
		defer wg.Done()
		b.total.TopChecks, errC = s.topChecks(ctx, sc, at)
	}()
	go func() {
		defer wg.Done()
		b.after, b.upTo, errW = s.dueWindow(ctx, at)
	}()
	wg.Wait()
	for _, err := range []error{errOrgs, errAss, errF, errC, errW} {
		if err != nil {
			return nil, err
		}
	}

	orgs := make([]store.OrgRollup, len(b.rawOrgs))
	byPath := make(map[string]int, len(orgs))
	index := make(map[int64]int, len(orgs))
	for i, o := range b.rawOrgs {
		o.BySeverity = make(map[finding.Severity]int, len(finding.Severities))
		for _, sev := range finding.Severities {
			o.BySeverity[sev] = 0
		}
		orgs[i] = o
		byPath[o.Path] = i
		index[o.OrgID] = i
	}
	// anc[i] is i and each of its ancestors in view.
	b.anc = make([][]int, len(orgs))
	for i, o := range orgs {
		path := o.Path
		for k := 1; k < len(path); k++ {
			if path[k] != '/' {
				continue
			}
			if j, ok := byPath[path[:k+1]]; ok {
				b.anc[i] = append(b.anc[i], j)
			}
		}
	}
	for id, n := range b.assets {
		if i, ok := index[id]; ok {
			for _, j := range b.anc[i] {
				orgs[j].Assets += n
				if n > 0 {
					orgs[j].Units++
				}
			}
		}
	}
	// Sort the groups so float sums come out the same on every run.
	sort.Slice(groups, func(i, j int) bool {
		a, b := groups[i], groups[j]
		if a.orgID != b.orgID {
			return a.orgID < b.orgID
		}
		if a.rank != b.rank {
			return a.rank < b.rank
		}
		return !a.kev && b.kev
	})
	ov := &b.total
	for _, g := range groups {
		i, ok := index[g.orgID]
		if !ok {
			continue // created after the organizations were read
		}
		sev := severityOfRank(g.rank)
		ov.Active += g.active
		ov.Overdue += g.overdue
		ov.BySeverity[sev] += g.active
		if g.kev {
			ov.KEV += g.active
		}
		for _, j := range b.anc[i] {
			d := &orgs[j]
			d.Active += g.active
			d.Overdue += g.overdue
			d.BySeverity[sev] += g.active
			if g.kev {
				d.KEV += g.active
			}
		}
		if g.overdue > 0 {
			b.overdue = append(b.overdue, g)
			b.groupOrg = append(b.groupOrg, i)
		}
	}
	b.orgs = orgs
	return b, nil
}

// dashOrgs reads the organizations of sc in ID order, with no counts.
func (s *Store) dashOrgs(ctx context.Context, sc scope) ([]store.OrgRollup, error) {
	cond, args := sc.cond("path")
	rows, err := s.r.QueryContext(ctx, s.q("SELECT id, parent_id, code, name, name_en, kind, path FROM orgs WHERE "+cond+" ORDER BY id"), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	orgs := []store.OrgRollup{}
	for rows.Next() {
		var (
			o      store.OrgRollup
			parent sql.NullInt64
			kind   string
		)
		if err := rows.Scan(&o.OrgID, &parent, &o.Code, &o.Name, &o.NameEN, &kind, &o.Path); err != nil {
			return nil, err
		}
		o.ParentID, o.Kind = parent.Int64, org.Kind(kind)
		orgs = append(orgs, o)
	}
	return orgs, rows.Err()
}

// dashAssets counts the assets of each organization of sc.
func (s *Store) dashAssets(ctx context.Context, sc scope) (map[int64]int, error) {
	var w where
	inScope(&w, sc, "org_id")
	rows, err := s.r.QueryContext(ctx, s.q("SELECT org_id, COUNT(*) FROM assets"+w.String()+" GROUP BY org_id"), w.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	assets := map[int64]int{}
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		assets[id] = n
	}
	return assets, rows.Err()
}
