package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/store"
)

// Findings.
//
// A finding belongs to the organization that owned its asset when a scan
// last saw it (org_id), and tenancy follows that organization's path like
// assets. Its asset may be deleted later: the finding and its history stay,
// with the asset's ID (there is no foreign key on asset_id).
//
// Listings page by keyset on ascending id, like assets and organizations:
// the oldest findings (usually the most overdue) come first. History is
// oldest first.
//
// Scanner writes (RecordFindings) keep their trace in finding_events with
// the job ID, not in the audit log; people's actions (TransitionFinding)
// and the expiry of their acceptances (ExpireAcceptances) go to both.

var _ store.Findings = (*Store)(nil)

const findingCols = "id, key, org_id, asset_id, check_id, family, severity, target, subject, title, evidence, cve, kev, state, " +
	"first_seen, last_seen, due_from, due_at, fixed_at, until_at, reason, approver, verify_requested_at, last_job_id, updated_at, source, source_ref, waiver, epss"

// findingColsF is findingCols qualified with the alias f.
var findingColsF = "f." + strings.ReplaceAll(findingCols, ", ", ", f.")

// activeStates is the SQL form of finding.State.Active. It is written the
// same everywhere, and as the partial indexes' WHERE (findings_active_due,
// findings_debt ...: sqlite/0034_findings_partial_or.sql), so that SQLite
// uses them; comparisons joined by OR, as SQLite writes a row under an IN
// list's WHERE at a cost.
const activeStates = "(f.state = 'open' OR f.state = 'acknowledged' OR f.state = 'reopened')"

// acceptedStates are the states with an expiry (partial index findings_until).
const acceptedStates = "(f.state = 'risk-accepted' OR f.state = 'false-positive')"

// findingRow is a stored finding with what the store keeps beside it.
type findingRow struct {
	store.Finding
	path string // the organization's path, when loaded with it
}

func (s *Store) scanFinding(sc scanner, extra ...any) (findingRow, error) {
	var (
		r                         findingRow
		f                         = &r.Finding
		sev, state, cve, src      string
		evidence, waiver          sql.NullString
		due, fixed, until, verify sql.NullTime
	)
	dest := append([]any{&f.ID, &f.Key, &f.OrgID, &f.AssetID, &f.Check, &f.Family, &sev, &f.Target, &f.Subject, &f.Title,
		&evidence, &cve, &f.KEV, &state, &f.FirstSeen, &f.LastSeen, &f.DueFrom, &due, &fixed, &until,
		&f.Reason, &f.Approver, &verify, &f.LastJobID, &f.UpdatedAt, &src, &f.SourceRef, &waiver, &f.EPSS}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return r, err
	}
	f.Severity, f.State, f.Source = finding.Severity(sev), finding.State(state), finding.Source(src)
	if evidence.Valid {
		ev, err := s.unpackEvidence(evidence.String)
		if err != nil {
			return r, fmt.Errorf("finding %d: %w", f.ID, err)
		}
		f.Evidence = ev
	}
	if waiver.Valid && waiver.String != "" {
		f.Waiver = new(finding.Waiver)
		if err := json.Unmarshal([]byte(waiver.String), f.Waiver); err != nil {
			return r, fmt.Errorf("finding %d: waiver: %w", f.ID, err)
		}
	}
	if err := json.Unmarshal([]byte(cve), &f.CVE); err != nil {
		return r, fmt.Errorf("finding %d: cve: %w", f.ID, err)
	}
	if f.CVE == nil {
		f.CVE = []string{}
	}
	f.FirstSeen, f.LastSeen, f.UpdatedAt, f.DueFrom = f.FirstSeen.UTC(), f.LastSeen.UTC(), f.UpdatedAt.UTC(), f.DueFrom.UTC()
	f.DueAt, f.FixedAt, f.Until, f.VerifyRequestedAt = timePtr(due), timePtr(fixed), timePtr(until), timePtr(verify)
	return r, nil
}

// findingArgs are the values of findingCols after id, in order, plus
// severity_rank last, for inserts and full updates.
func findingArgs(f *store.Finding) []any {
	return appendFindingArgs(make([]any, 0, findingInsertN), f, nil)
}

// appendFindingArgs appends findingArgs(f) to dst, with f's evidence as
// pk packed it.
func appendFindingArgs(dst []any, f *store.Finding, pk *packed) []any {
	src := f.Source
	if src == "" {
		src = finding.SourceScan
	}
	return append(dst, f.Key, f.OrgID, f.AssetID, f.Check, f.Family, string(f.Severity), f.Target, f.Subject, f.Title,
		pk.arg(f), cveJSON(f.CVE), f.KEV, string(f.State), f.FirstSeen, f.LastSeen, f.DueFrom,
		nullTime(f.DueAt), nullTime(f.FixedAt), nullTime(f.Until), f.Reason, f.Approver, nullTime(f.VerifyRequestedAt),
		f.LastJobID, f.UpdatedAt, f.Severity.Rank(), string(src), f.SourceRef, waiverArg(f.Waiver), finding.EPSSOf(f.Evidence))
}

const findingInsertCols = "key, org_id, asset_id, check_id, family, severity, target, subject, title, evidence, cve, kev, state, " +
	"first_seen, last_seen, due_from, due_at, fixed_at, until_at, reason, approver, verify_requested_at, last_job_id, updated_at, severity_rank, " +
	"source, source_ref, waiver, epss"

const findingInsertN = 29

// waiverArg stores a pending waiver as JSON, or NULL.
func waiverArg(w *finding.Waiver) any {
	if w == nil {
		return nil
	}
	return mustJSON(w)
} // columns in findingInsertCols

func evidenceArg(e json.RawMessage) any {
	if len(e) == 0 {
		return nil
	}
	return string(e)
}

func cveJSON(cve []string) string {
	if len(cve) == 0 {
		return "[]" // as json.Marshal writes an empty list, without its reflection (most findings name no CVE)
	}
	return mustJSON(cve)
}

// loadFinding reads one finding with its organization's path; findings
// outside sc are not found. lock takes a row lock on PostgreSQL.
func (s *Store) loadFinding(ctx context.Context, q querier, sc scope, id int64, lock bool) (findingRow, error) {
	query := "SELECT " + findingColsF + ", o.path FROM findings f JOIN orgs o ON o.id = f.org_id WHERE f.id = ?"
	if lock && s.d.postgres() {
		query += " FOR UPDATE OF f"
	}
	var path string
	r, err := s.scanFinding(q.QueryRowContext(ctx, s.q(query), id), &path)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !sc.contains(path)) {
		return findingRow{}, notFound("finding", id)
	}
	r.path = path
	return r, err
}

// GetFinding returns one finding in the principal's subtree.
func (s *Store) GetFinding(ctx context.Context, p auth.Principal, id int64) (store.Finding, error) {
	const op = "get finding"
	if err := needRead(p); err != nil {
		return store.Finding{}, s.fail(op, err)
	}
	sc, err := s.scopeOf(ctx, s.r, p)
	if err != nil {
		return store.Finding{}, s.fail(op, err)
	}
	r, err := s.loadFinding(ctx, s.r, sc, id, false)
	return r.Finding, s.fail(op, err)
}

// findingWhere turns a filter into conditions on findings aliased f.
func (s *Store) findingWhere(ctx context.Context, sc scope, fl store.FindingFilter) (where, error) {
	var w where
	switch {
	case fl.OrgID != 0:
		o, err := s.loadOrg(ctx, s.r, sc, fl.OrgID, false)
		if err != nil {
			return w, err
		}
		cond, args := subtreeRange("path", o.Path)
		w.add("f.org_id IN (SELECT id FROM orgs WHERE "+cond+")", args...)
	case sc.none():
		w.add("1 = 0")
	case !sc.all:
		cond, args := sc.cond("path")
		w.add("f.org_id IN (SELECT id FROM orgs WHERE "+cond+")", args...)
	}
	if fl.AssetID != 0 {
		w.add("f.asset_id = ?", fl.AssetID)
	}
	if fl.Severity != "" {
		sev, err := finding.ParseSeverity(string(fl.Severity))
		if err != nil {
			return w, fmt.Errorf("%w: %w", store.ErrInvalid, err)
		}
		w.add("f.severity_rank = ?", sev.Rank())
	}
	if fl.MinSeverity != "" {
		sev, err := finding.ParseSeverity(string(fl.MinSeverity))
		if err != nil {
			return w, fmt.Errorf("%w: %w", store.ErrInvalid, err)
		}
		w.add("f.severity_rank >= ?", sev.Rank())
	}
	if fl.State != "" {
		st := finding.State(strings.ToLower(strings.TrimSpace(string(fl.State))))
		if !st.Valid() {
			return w, invalid("unknown finding state %q", fl.State)
		}
		w.add("f.state = ?", string(st))
	}
	if fl.Active || fl.Overdue {
		w.add(activeStates)
	}
	if fl.Overdue {
		at := fl.Now
		if at.IsZero() {
			at = time.Now()
		}
		w.add("f.due_at < ?", at.UTC().Truncate(time.Microsecond))
	}
	if c := strings.TrimSpace(fl.Check); c != "" {
		if strings.HasSuffix(c, ".") {
			// A family: the range [c, c with its last '.' raised to '/')
			// uses the index (check_id is "C"-collated on PostgreSQL).
			w.add("f.check_id >= ? AND f.check_id < ?", c, strings.TrimSuffix(c, ".")+"/")
		} else {
			w.add("f.check_id = ?", c)
		}
	}
	if fl.KEV != nil {
		w.add("f.kev = ?", *fl.KEV)
	}
	if fl.WaiverPending {
		w.add("f.waiver IS NOT NULL")
	}
	if q := strings.TrimSpace(fl.Query); q != "" {
		w.add("("+s.d.like("f.target")+" OR "+s.d.like("f.title")+")", likeArg(q), likeArg(q))
	}
	return w, nil
}

// ListFindings lists findings in the principal's subtree in ascending ID
// order.
func (s *Store) ListFindings(ctx context.Context, p auth.Principal, fl store.FindingFilter) (store.Page[store.Finding], error) {
	const op = "list findings"
	var page store.Page[store.Finding]
	if err := needRead(p); err != nil {
		return page, s.fail(op, err)
	}
	var lk *likelihoodKey
	switch fl.Sort {
	case "", store.SortID:
	case store.SortLikelihood:
		k, err := decodeLikelihood(fl.After)
		if err != nil {
			return page, s.fail(op, err)
		}
		lk, fl.After = &k, ""
	default:
		return page, s.fail(op, invalid("unknown sort %q (id or likelihood)", fl.Sort))
	}
	limit, after, sc, err := s.listStart(ctx, p, fl.PageRequest)
	if err != nil {
		return page, s.fail(op, err)
	}
	w, err := s.findingWhere(ctx, sc, fl)
	if err != nil {
		return page, s.fail(op, err)
	}
	order := " ORDER BY f.id"
	if lk != nil {
		order = " ORDER BY f.kev DESC, f.epss DESC, f.severity_rank DESC, f.id DESC"
		if lk.id > 0 {
			w.add("(f.kev < ? OR (f.kev = ? AND (f.epss < ? OR (f.epss = ? AND (f.severity_rank < ? OR (f.severity_rank = ? AND f.id < ?))))))",
				lk.kev, lk.kev, lk.epss, lk.epss, lk.rank, lk.rank, lk.id)
		}
	} else if after > 0 {
		w.add("f.id > ?", after)
	}
	rows, err := s.r.QueryContext(ctx, s.q("SELECT "+findingColsF+" FROM findings f"+w.String()+order+" LIMIT ?"), append(w.args, limit+1)...)
	if err != nil {
		return page, s.fail(op, err)
	}
	defer rows.Close()
	var items []store.Finding
	for rows.Next() {
		r, err := s.scanFinding(rows)
		if err != nil {
			return page, s.fail(op, err)
		}
		items = append(items, r.Finding)
	}
	if err := rows.Err(); err != nil {
		return page, s.fail(op, err)
	}
	if lk != nil {
		page = finishPage(items, limit, func(store.Finding) int64 { return 0 })
		if len(items) > limit {
			page.Next = encodeLikelihood(&items[limit-1])
		}
		return page, nil
	}
	return finishPage(items, limit, func(f store.Finding) int64 { return f.ID }), nil
}

// FindingHistory returns a finding's events, oldest first.
func (s *Store) FindingHistory(ctx context.Context, p auth.Principal, id int64) ([]store.FindingEvent, error) {
	const op = "finding history"
	if err := needRead(p); err != nil {
		return nil, s.fail(op, err)
	}
	sc, err := s.scopeOf(ctx, s.r, p)
	if err != nil {
		return nil, s.fail(op, err)
	}
	f, err := s.loadFinding(ctx, s.r, sc, id, false)
	if err != nil {
		return nil, s.fail(op, err)
	}
	out := []store.FindingEvent{}
	// An opening recorded with its batch (finding_openings) is the first.
	var (
		open     store.FindingEvent
		to, last = "", int64(0)
	)
	err = s.r.QueryRowContext(ctx, s.q("SELECT last_id, at, actor, to_state, job_id FROM finding_openings WHERE first_id <= ? ORDER BY first_id DESC LIMIT 1"), id).
		Scan(&last, &open.At, &open.Actor, &to, &open.JobID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, s.fail(op, err)
	}
	if err == nil && last >= id {
		open.FindingID, open.At, open.Action, open.To = id, open.At.UTC(), finding.ActionSeen, finding.State(to)
		out = append(out, open)
	}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT id, finding_id, at, actor, action, from_state, to_state, reason, until_at, job_id, evidence
		FROM finding_events WHERE finding_id = ? ORDER BY id`), id)
	if err != nil {
		return nil, s.fail(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			e        store.FindingEvent
			action   string
			from, to string
			until    sql.NullTime
			evidence sql.NullString
		)
		if err := rows.Scan(&e.ID, &e.FindingID, &e.At, &e.Actor, &action, &from, &to, &e.Reason, &until, &e.JobID, &evidence); err != nil {
			return nil, s.fail(op, err)
		}
		e.At = e.At.UTC()
		e.Action, e.From, e.To = finding.Action(action), finding.State(from), finding.State(to)
		e.Until = timePtr(until)
		if evidence.Valid {
			e.Evidence = json.RawMessage(evidence.String)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(op, err)
	}
	if len(out) > 0 && out[0].From == "" && out[0].Action == finding.ActionSeen && out[0].Evidence == nil && f.LastSeen.Equal(f.FirstSeen) {
		// A feed's opening entry: its evidence is the finding's own
		// until the feed reports it again (finding.Reconcile).
		out[0].Evidence = f.Evidence
	}
	return out, nil
}

const findingEventInsert = "finding_events (finding_id, at, actor, action, from_state, to_state, reason, until_at, job_id, evidence) VALUES "

const findingEventN = 10

// addFindingEvents appends events with multi-row inserts; runs of
// openings go to finding_openings (openingRuns).
func (s *Store) addFindingEvents(ctx context.Context, tx *sql.Tx, evs []finding.HistoryEntry) error {
	runs, evs := openingRuns(evs)
	if err := s.addOpenings(ctx, tx, runs); err != nil {
		return err
	}
	if !s.d.postgres() {
		return s.sharedInsert(ctx, tx, findingEventInsert, findingEventN, len(evs), func(i int, dst []any) []any {
			e := &evs[i]
			return append(dst, e.FindingID, e.At, e.Actor, string(e.Action), string(e.From), string(e.To), e.Reason,
				nullTime(e.Until), e.JobID, evidenceArg(e.Evidence))
		}, nil)
	}
	stmt := func(n int) string { return s.q(s.insertInto(findingEventInsert) + placeholders(n, findingEventN)) }
	return batches(ctx, tx, evs, stmt, func(st *sql.Stmt, chunk []finding.HistoryEntry) error {
		args := make([]any, 0, len(chunk)*findingEventN)
		for _, e := range chunk {
			args = append(args, e.FindingID, e.At, e.Actor, string(e.Action), string(e.From), string(e.To), e.Reason,
				nullTime(e.Until), e.JobID, evidenceArg(e.Evidence))
		}
		_, err := st.ExecContext(ctx, args...)
		return err
	})
}

// openingRun is the opening entry of findings first … last, alike but
// for the finding.
type openingRun struct {
	first, last int64
	e           *finding.HistoryEntry
}

// minOpeningRun is the shortest run of openings kept as one row.
const minOpeningRun = 8

// openingRuns takes from evs the runs of at least minOpeningRun openings
// (seen, from no state, without reason, expiry or evidence) of
// consecutive finding IDs that share time, actor, state and job, and
// returns them and the entries left, in order.
func openingRuns(evs []finding.HistoryEntry) ([]openingRun, []finding.HistoryEntry) {
	opening := func(e *finding.HistoryEntry) bool {
		return e.FindingID > 0 && e.Action == finding.ActionSeen && e.From == "" && e.Reason == "" && e.Until == nil && len(e.Evidence) == 0
	}
	var (
		runs []openingRun
		rest []finding.HistoryEntry
	)
	for i := 0; i < len(evs); {
		j := i + 1
		if opening(&evs[i]) {
			a := &evs[i]
			for j < len(evs) {
				b := &evs[j]
				if !opening(b) || b.FindingID != a.FindingID+int64(j-i) || !b.At.Equal(a.At) || b.Actor != a.Actor || b.To != a.To || b.JobID != a.JobID {
					break
				}
				j++
			}
		}
		if j-i >= minOpeningRun {
			runs = append(runs, openingRun{evs[i].FindingID, evs[j-1].FindingID, &evs[i]})
		} else {
			if rest == nil && len(runs) == 0 {
				rest = make([]finding.HistoryEntry, 0, len(evs))
			}
			rest = append(rest, evs[i:j]...)
		}
		i = j
	}
	if len(runs) == 0 {
		return nil, evs
	}
	return runs, rest
}

// addOpenings writes runs of openings to finding_openings.
func (s *Store) addOpenings(ctx context.Context, tx *sql.Tx, runs []openingRun) error {
	for len(runs) > 0 {
		n := min(len(runs), batchRows)
		args := make([]any, 0, n*6)
		for _, r := range runs[:n] {
			args = append(args, r.first, r.last, r.e.At, r.e.Actor, string(r.e.To), r.e.JobID)
		}
		if _, err := tx.ExecContext(ctx, s.q("INSERT INTO finding_openings (first_id, last_id, at, actor, to_state, job_id) VALUES "+placeholders(n, 6)), args...); err != nil {
			return err
		}
		runs = runs[n:]
	}
	return nil
}

// WorstForAsset returns the worst severity among the asset's active
// findings and whether any of them is KEV-listed.
func (s *Store) WorstForAsset(ctx context.Context, assetID int64) (finding.Severity, bool, error) {
	const op = "worst finding for asset"
	var rank, kev sql.NullInt64
	err := s.r.QueryRowContext(ctx, s.q("SELECT MAX(f.severity_rank), MAX(CASE WHEN f.kev THEN 1 ELSE 0 END) FROM findings f WHERE f.asset_id = ? AND "+activeStates),
		assetID).Scan(&rank, &kev)
	if err != nil {
		return "", false, s.fail(op, err)
	}
	if !rank.Valid {
		return "", false, nil
	}
	return severityOfRank(int(rank.Int64)), kev.Int64 == 1, nil
}

func severityOfRank(r int) finding.Severity {
	for _, sev := range finding.Severities {
		if sev.Rank() == r {
			return sev
		}
	}
	return ""
}

// daysSince is an SQL expression for the days (fractional) from col to
// the time given as its one argument.
func (s *Store) daysSince(col string) string {
	if s.d.postgres() {
		return "CAST(EXTRACT(EPOCH FROM (CAST(? AS TIMESTAMPTZ) - " + col + ")) AS DOUBLE PRECISION) / 86400.0"
	}
	return "(julianday(?) - julianday(" + col + "))"
}

// Debt returns the compliance debt of every organization the principal
// sees, each over its subtree, in ID order of the organizations.
//
// One query aggregates the active findings per organization, severity and
// KEV listing (count, overdue count, and the sum of days overdue); the
// roll-up along the materialized paths happens here. The weight of a group
// is n × finding.DebtWeight(severity, kev, mean days overdue), which equals
// the sum of the members' weights because DebtWeight is linear in the days
// for every overdue finding (days > 0).
func (s *Store) Debt(ctx context.Context, p auth.Principal, at time.Time) ([]store.OrgDebt, error) {
	const op = "debt"
	if err := needRead(p); err != nil {
		return nil, s.fail(op, err)
	}
	if at.IsZero() {
		at = time.Now()
	}
	at = at.UTC().Truncate(time.Microsecond)
	sc, err := s.scopeOf(ctx, s.r, p)
	if err != nil {
		return nil, s.fail(op, err)
	}
	out := []store.OrgDebt{}
	if sc.none() {
		return out, nil
	}
	cond, cargs := sc.cond("path")
	rows, err := s.r.QueryContext(ctx, s.q("SELECT id, path FROM orgs WHERE "+cond+" ORDER BY id"), cargs...)
	if err != nil {
		return nil, s.fail(op, err)
	}
	byPath := map[string]int{}
	var paths []string
	for rows.Next() {
		var (
			id   int64
			path string
		)
		if err := rows.Scan(&id, &path); err != nil {
			rows.Close()
			return nil, s.fail(op, err)
		}
		byPath[path] = len(out)
		paths = append(paths, path)
		d := store.OrgDebt{OrgID: id, BySeverity: make(map[finding.Severity]int, len(finding.Severities))}
		for _, sev := range finding.Severities {
			d.BySeverity[sev] = 0
		}
		out = append(out, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.fail(op, err)
	}
	pathOf := make(map[int64]string, len(out))
	for i, d := range out {
		pathOf[d.OrgID] = paths[i]
	}

	var w where
	w.add(activeStates)
	if !sc.all {
		w.add("f.org_id IN (SELECT id FROM orgs WHERE "+cond+")", cargs...)
	}
	// Only columns of the partial index findings_debt, so the engines
	// answer from it without reading the rows.
	query := "SELECT f.org_id, f.severity_rank, f.kev, COUNT(*), " +
		"SUM(CASE WHEN f.due_at < ? THEN 1 ELSE 0 END), " +
		"SUM(CASE WHEN f.due_at < ? THEN " + s.daysSince("f.due_at") + " ELSE 0 END) " +
		"FROM findings f" + w.String() + " GROUP BY f.org_id, f.severity_rank, f.kev"
	rows, err = s.r.QueryContext(ctx, s.q(query), append([]any{at, at, at}, w.args...)...)
	if err != nil {
		return nil, s.fail(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			orgID           int64
			rank            int
			kev             bool
			active, overdue int
			days            sql.NullFloat64
		)
		if err := rows.Scan(&orgID, &rank, &kev, &active, &overdue, &days); err != nil {
			return nil, s.fail(op, err)
		}
		sev := severityOfRank(rank)
		var weighted float64
		if overdue > 0 {
			weighted = float64(overdue) * finding.DebtWeight(sev, kev, days.Float64/float64(overdue))
		}
		path, ok := pathOf[orgID]
		if !ok {
			continue // an organization created after the first query
		}
		// Add to the organization and every ancestor in view: the
		// prefixes of its path that end in '/'.
		for i := 1; i < len(path); i++ {
			if path[i] != '/' {
				continue
			}
			j, ok := byPath[path[:i+1]]
			if !ok {
				continue
			}
			d := &out[j]
			d.Active += active
			d.Overdue += overdue
			if kev {
				d.KEV += active
			}
			d.Weighted += weighted
			d.BySeverity[sev] += active
		}
	}
	return out, s.fail(op, rows.Err())
}
