package sqlstore

import (
	"context"
	"database/sql"
	"sort"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// The dashboard's counts, read from the tallies (aggregates.go).

// tallyGroup is the active findings of one organization, severity and KEV
// listing at one time: how many, how many of them are overdue and the sum
// of the overdue ones' due dates (Unix milliseconds), from which their
// days overdue at any later time follow until another due date passes.
type tallyGroup struct {
	orgID           int64
	rank            int
	kev             bool
	active, overdue int
	overdueMS       float64
}

const msPerDay = 86400000.0

// daysAt is the sum of the days overdue of g's overdue findings at atMS
// (Unix milliseconds with the microseconds as a fraction, so a finding
// overdue by a microsecond counts as overdue by that much, not by none).
func (g *tallyGroup) daysAt(atMS float64) float64 {
	return (float64(g.overdue)*atMS - g.overdueMS) / msPerDay
}

// fracMS is t in Unix milliseconds, to the microsecond.
func fracMS(t time.Time) float64 { return float64(t.UnixMicro()) / 1000 }

// notYetIndex makes SQLite read the findings not due yet from
// findings_active_due: its planner would rather walk findings_debt in
// group order, which reads every active finding.
func (s *Store) notYetIndex() string {
	if s.d.postgres() {
		return ""
	}
	return " INDEXED BY findings_active_due"
}

// dueMSFloat is a due date column in Unix milliseconds, as a float (the
// float forms are much cheaper to sum than exact numerics on PostgreSQL).
func (s *Store) dueMSFloat(col string) string {
	if s.d.postgres() {
		return "date_part('epoch', " + col + ") * 1000.0"
	}
	return "(julianday(" + col + ") - 2440587.5) * 86400000.0"
}

// overviewGroups reads the tallies in scope and makes them overdue at at:
// the findings with a due date, less those not due yet (due_at >= at,
// read from the index findings_active_due), and the same for the sums of
// their due dates.
func (s *Store) overviewGroups(ctx context.Context, sc scope, at time.Time) ([]tallyGroup, error) {
	type notYet struct {
		n  int
		ms float64
	}
	var w where
	w.add("t.active > 0")
	inScope(&w, sc, "t.org_id")
	rows, err := s.r.QueryContext(ctx, s.q("SELECT t.org_id, t.severity_rank, t.kev, t.active, t.due_n, t.due_ms FROM finding_tally t"+w.String()), w.args...)
	if err != nil {
		return nil, err
	}
	type withDue struct {
		tallyGroup
		dueN, dueMS int64
	}
	var tallies []withDue
	for rows.Next() {
		var g withDue
		if err := rows.Scan(&g.orgID, &g.rank, &g.kev, &g.active, &g.dueN, &g.dueMS); err != nil {
			rows.Close()
			return nil, err
		}
		tallies = append(tallies, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	var nw where
	nw.add(activeStates)
	nw.add("f.due_at >= ?", at)
	inScope(&nw, sc, "f.org_id")
	rows, err = s.r.QueryContext(ctx, s.q("SELECT f.org_id, f.severity_rank, f.kev, COUNT(*), SUM("+s.dueMSFloat("f.due_at")+") FROM findings f"+
		s.notYetIndex()+nw.String()+" GROUP BY f.org_id, f.severity_rank, f.kev"), nw.args...)
	if err != nil {
		return nil, err
	}
	later := map[tallyKey]notYet{}
	for rows.Next() {
		var (
			k  tallyKey
			n  notYet
			ms sql.NullFloat64
		)
		if err := rows.Scan(&k.org, &k.rank, &k.kev, &n.n, &ms); err != nil {
			rows.Close()
			return nil, err
		}
		n.ms = ms.Float64
		later[k] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	out := make([]tallyGroup, 0, len(tallies))
	for _, t := range tallies {
		g := t.tallyGroup
		l := later[tallyKey{g.orgID, g.rank, g.kev}]
		g.overdue = int(t.dueN) - l.n
		if g.overdue > 0 {
			g.overdueMS = float64(t.dueMS) - l.ms
		}
		out = append(out, g)
	}
	return out, nil
}

// topChecks are the checks with the most active findings in scope, from
// the check tallies, with how many of them are overdue at at.
func (s *Store) topChecks(ctx context.Context, sc scope, at time.Time) ([]store.CheckCount, error) {
	var w where
	w.add("c.active > 0")
	if sc.all {
		w.add("c.org_id = 0") // every organization
	} else {
		inScope(&w, sc, "c.org_id")
	}
	rows, err := s.r.QueryContext(ctx, s.q("SELECT c.check_id, CAST(SUM(c.active) AS BIGINT), CAST(SUM(c.due_n) AS BIGINT) FROM finding_check_tally c"+w.String()+" GROUP BY c.check_id"), w.args...)
	if err != nil {
		return nil, err
	}
	type tally struct {
		store.CheckCount
		due int
	}
	var all []tally
	for rows.Next() {
		var t tally
		if err := rows.Scan(&t.Check, &t.Active, &t.due); err != nil {
			rows.Close()
			return nil, err
		}
		all = append(all, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].Active != all[j].Active {
			return all[i].Active > all[j].Active
		}
		return all[i].Check < all[j].Check
	})
	if len(all) > store.TopChecksLimit {
		all = all[:store.TopChecksLimit]
	}
	out := make([]store.CheckCount, 0, len(all))
	if len(all) == 0 {
		return out, nil
	}
	var nw where
	nw.add(activeStates)
	nw.add("f.due_at >= ?", at)
	inScope(&nw, sc, "f.org_id")
	rows, err = s.r.QueryContext(ctx, s.q("SELECT f.check_id, COUNT(*) FROM findings f"+s.notYetIndex()+nw.String()+" GROUP BY f.check_id"), nw.args...)
	if err != nil {
		return nil, err
	}
	later := map[string]int{}
	for rows.Next() {
		var (
			check string
			n     int
		)
		if err := rows.Scan(&check, &n); err != nil {
			rows.Close()
			return nil, err
		}
		later[check] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, t := range all {
		t.Overdue = t.due - later[t.Check]
		out = append(out, t.CheckCount)
	}
	return out, nil
}

var _ store.OrgLookup = (*Store)(nil)

// OrgsByID returns the organizations of ids that the principal sees, in
// one query per 500 IDs.
func (s *Store) OrgsByID(ctx context.Context, p auth.Principal, ids []int64) (map[int64]org.Organization, error) {
	const op = "organizations by ID"
	if err := needRead(p); err != nil {
		return nil, s.fail(op, err)
	}
	sc, err := s.scopeOf(ctx, s.r, p)
	if err != nil {
		return nil, s.fail(op, err)
	}
	out := make(map[int64]org.Organization, len(ids))
	if sc.none() {
		return out, nil
	}
	uniq := make([]any, 0, len(ids))
	seen := make(map[int64]bool, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			uniq = append(uniq, id)
		}
	}
	cond, cargs := sc.cond("path")
	for len(uniq) > 0 {
		n := min(len(uniq), batchRows)
		items, err := queryAll(ctx, s.r, scanOrg, s.q("SELECT "+orgCols+" FROM orgs WHERE "+cond+" AND id IN ("+placeholders(n, 1)+")"),
			append(append([]any{}, cargs...), uniq[:n]...)...)
		if err != nil {
			return nil, s.fail(op, err)
		}
		for _, o := range items {
			out[o.ID] = o
		}
		uniq = uniq[n:]
	}
	return out, nil
}
