package sqlstore

import (
	"context"
	"database/sql"
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
// Overview runs four independent reads at once (organizations in view,
// asset counts, the active findings by organization, severity and KEV
// listing, and the top checks). The findings counts come from the tallies
// every finding write keeps (aggregates.go), so they cost a few rows per
// organization, not one per active finding; overdue is the tallied
// findings with a due date minus those not due yet, read from the partial
// index findings_active_due alone. The roll-up along materialized paths
// happens here, as in Debt.
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
func (s *Store) Overview(ctx context.Context, p auth.Principal, root int64, now time.Time) (store.Overview, error) {
	const op = "dashboard overview"
	if now.IsZero() {
		now = time.Now()
	}
	at := now.UTC().Truncate(time.Microsecond)
	ov := store.Overview{At: at, BySeverity: map[finding.Severity]int{},
		TopChecks: []store.CheckCount{}, Orgs: []store.OrgRollup{}}
	for _, sev := range finding.Severities {
		ov.BySeverity[sev] = 0
	}
	sc, err := s.dashScope(ctx, p, root)
	if err != nil {
		return ov, s.fail(op, err)
	}
	if sc.none() {
		return ov, nil
	}

	var (
		wg                          sync.WaitGroup
		errOrgs, errAss, errF, errC error
		orgs                        []store.OrgRollup
		assets                      = map[int64]int{}
		groups                      []tallyGroup
	)
	wg.Add(4)
	go func() {
		defer wg.Done()
		cond, args := sc.cond("path")
		rows, err := s.r.QueryContext(ctx, s.q("SELECT id, parent_id, code, name, name_en, kind, path FROM orgs WHERE "+cond+" ORDER BY id"), args...)
		if err != nil {
			errOrgs = err
			return
		}
		defer rows.Close()
		for rows.Next() {
			var (
				o      store.OrgRollup
				parent sql.NullInt64
				kind   string
			)
			if err := rows.Scan(&o.OrgID, &parent, &o.Code, &o.Name, &o.NameEN, &kind, &o.Path); err != nil {
				errOrgs = err
				return
			}
			o.ParentID, o.Kind = parent.Int64, org.Kind(kind)
			o.BySeverity = make(map[finding.Severity]int, len(finding.Severities))
			for _, sev := range finding.Severities {
				o.BySeverity[sev] = 0
			}
			orgs = append(orgs, o)
		}
		errOrgs = rows.Err()
	}()
	go func() {
		defer wg.Done()
		var w where
		inScope(&w, sc, "org_id")
		rows, err := s.r.QueryContext(ctx, s.q("SELECT org_id, COUNT(*) FROM assets"+w.String()+" GROUP BY org_id"), w.args...)
		if err != nil {
			errAss = err
			return
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				errAss = err
				return
			}
			assets[id] = n
		}
		errAss = rows.Err()
	}()
	go func() {
		defer wg.Done()
		groups, errF = s.overviewGroups(ctx, sc, at)
	}()
	go func() {
		defer wg.Done()
		ov.TopChecks, errC = s.topChecks(ctx, sc, at)
	}()
	wg.Wait()
	for _, err := range []error{errOrgs, errAss, errF, errC} {
		if err != nil {
			return ov, s.fail(op, err)
		}
	}

	byPath := make(map[string]int, len(orgs))
	pathOf := make(map[int64]string, len(orgs))
	for i, o := range orgs {
		byPath[o.Path] = i
		pathOf[o.OrgID] = o.Path
	}
	// ancestors calls fn with the index of the organization at path and of
	// each of its ancestors in view.
	ancestors := func(path string, fn func(i int)) {
		for i := 1; i < len(path); i++ {
			if path[i] != '/' {
				continue
			}
			if j, ok := byPath[path[:i+1]]; ok {
				fn(j)
			}
		}
	}
	for id, n := range assets {
		if path, ok := pathOf[id]; ok {
			ancestors(path, func(i int) {
				orgs[i].Assets += n
				if n > 0 {
					orgs[i].Units++
				}
			})
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
	for _, g := range groups {
		path, ok := pathOf[g.orgID]
		if !ok {
			continue // created after the organizations were read
		}
		sev := severityOfRank(g.rank)
		var weighted float64
		if g.overdue > 0 {
			weighted = float64(g.overdue) * finding.DebtWeight(sev, g.kev, g.days/float64(g.overdue))
		}
		ov.Active += g.active
		ov.Overdue += g.overdue
		ov.Weighted += weighted
		ov.BySeverity[sev] += g.active
		if g.kev {
			ov.KEV += g.active
		}
		ancestors(path, func(i int) {
			d := &orgs[i]
			d.Active += g.active
			d.Overdue += g.overdue
			d.Weighted += weighted
			d.BySeverity[sev] += g.active
			if g.kev {
				d.KEV += g.active
			}
		})
	}
	if orgs != nil {
		ov.Orgs = orgs
	}
	return ov, nil
}
