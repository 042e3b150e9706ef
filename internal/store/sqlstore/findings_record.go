package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/store"
)

// RecordFindings applies one report of a source in one transaction: it
// loads what the batch concerns, lets finding.Reconcile decide, and saves
// the plan with its history and its events (in the outbox, in the same
// transaction). The lifecycle rules are finding.Reconcile's; this method
// loads and saves.
//
// What it loads: every finding of the covered and ended assets (they hold
// most seen keys, and the candidates for fixing), then the seen keys not
// among them.
//
// A concurrent job inserting one of the same new keys makes this fail with
// store.ErrConflict; redelivering the batch is safe.
func (s *Store) RecordFindings(ctx context.Context, b store.FindingBatch) ([]store.FindingChange, error) {
	const op = "record findings"
	seen, err := b.Normalize()
	if err != nil {
		return nil, s.fail(op, fmt.Errorf("%w: %w", store.ErrInvalid, err))
	}
	var coveredAssets []any
	for _, c := range append(slices.Clip(b.Covered), b.Ended...) {
		if (len(c.Checks) > 0 || c.All) && !slices.Contains(coveredAssets, any(c.AssetID)) {
			coveredAssets = append(coveredAssets, c.AssetID)
		}
	}
	if len(seen) == 0 && len(coveredAssets) == 0 {
		return []store.FindingChange{}, nil
	}
	var changes []store.FindingChange
	packing := s.packBatch(&b, seen)
	// The packer reads seen, which is the caller's once this returns.
	defer packing()
	err = s.write(ctx, op, func(tx *sql.Tx) error {
		existing, err := s.findingsWhereIn(ctx, tx, "f.asset_id", "BIGINT", coveredAssets)
		if err != nil {
			return err
		}
		more, err := s.findingsSeen(ctx, tx, seen, existing)
		if err != nil {
			return err
		}
		maps.Copy(existing, more)
		if b.Tiers == nil {
			if b.Tiers, err = s.assetTiers(ctx, tx, seen); err != nil {
				return err
			}
		}
		plan, err := finding.Reconcile(b, seen, existing, now())
		if err != nil {
			return err
		}
		pk := packing()
		if ok, err := s.storeDict(ctx, tx, pk); err != nil {
			return err
		} else if !ok {
			pk = nil
		}
		changes, err = s.savePlanValid(ctx, tx, plan, validSeen(seen, b.EncodedEvidence), pk)
		return err
	})
	if err != nil {
		return nil, err
	}
	return changes, nil
}

// assetTiers places each asset of the seen findings in its deadline tier
// (finding.TierOf of its criticality and security level), in one read per
// batchRows assets. An asset the registry does not have is left out: its
// findings get the normal tier's dates.
func (s *Store) assetTiers(ctx context.Context, tx *sql.Tx, seen []finding.Finding) (map[int64]finding.Tier, error) {
	var ids []any
	have := map[int64]bool{}
	for _, f := range seen {
		if f.AssetID > 0 && !have[f.AssetID] {
			have[f.AssetID] = true
			ids = append(ids, f.AssetID)
		}
	}
	out := make(map[int64]finding.Tier, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), batchRows)
		query := "SELECT id, criticality, security_level FROM assets WHERE id IN (" + placeholders(n, 1) + ")"
		args := ids[:n]
		if s.d.postgres() {
			n = len(ids)
			query = "SELECT id, criticality, security_level FROM assets WHERE id = ANY(CAST(? AS BIGINT[]))"
			args = []any{pgArray(ids)}
		}
		rows, err := tx.QueryContext(ctx, s.q(query), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id int64
			var crit string
			var level int
			if err := rows.Scan(&id, &crit, &level); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = finding.TierOf(crit, level)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		ids = ids[n:]
	}
	return out, nil
}

// savePlan writes a finding.Plan, which it may change: inserts (giving
// the new findings their IDs, in their history entries and changes too),
// full rewrites, narrow updates of the touched and the fixed, the history,
// and the changes' events in the outbox. It returns the changes with IDs
// set.
func (s *Store) savePlan(ctx context.Context, tx *sql.Tx, p finding.Plan) ([]finding.Change, error) {
	return s.savePlanValid(ctx, tx, p, nil, nil)
}

// savePlanValid is savePlan for a plan whose evidence in valid is known
// to be JSON, and of which pk (if not nil) holds packed evidence whose
// dictionary tx has stored.
func (s *Store) savePlanValid(ctx context.Context, tx *sql.Tx, p finding.Plan, valid validEvidence, pk *packed) ([]finding.Change, error) {
	if err := s.tallyPlan(ctx, tx, p); err != nil { // aggregates.go
		return nil, err
	}
	// The plan is the caller's to give away (every caller makes one per
	// transaction): its changes get their IDs in place, not in a copy of
	// thousands of wide structs.
	changes := p.Changes
	var events func() ([]store.OutboxMessage, error)
	want, err := s.predictFindingIDs(ctx, tx, p.Insert, len(changes))
	if err != nil {
		return nil, err
	}
	if want != nil {
		// The events are encoded while the rows go in.
		setChangeIDs(changes, want)
		events = pendingEvents(changes, valid)
	}
	ids, err := s.insertFindings(ctx, tx, p.Insert, pk)
	if err != nil {
		return nil, err
	}
	for i := range p.History {
		if p.History[i].FindingID == 0 {
			p.History[i].FindingID = ids[p.History[i].FindingKey]
		}
	}
	if want != nil && !maps.Equal(want, ids) {
		// Not what SQLite gave: encode them again with the real IDs.
		if _, err := events(); err != nil {
			return nil, err
		}
		for i := range changes {
			if _, ok := want[changes[i].Finding.Key]; ok {
				changes[i].Finding.ID = 0
			}
		}
		want = nil
	}
	if want == nil {
		setChangeIDs(changes, ids)
		events = pendingEvents(changes, valid) // changes is read-only from here
	}
	if err := s.updateFindings(ctx, tx, p.Update); err != nil {
		return nil, err
	}
	if err := s.refreshFindings(ctx, tx, p.Refresh, pk); err != nil {
		return nil, err
	}
	// Touched rows share one last sighting per batch; group by it.
	type touch struct {
		at  time.Time
		job string
		upd time.Time
	}
	touched := map[touch][]any{}
	var order []touch
	for _, f := range p.Touch {
		k := touch{f.LastSeen, f.LastJobID, f.UpdatedAt}
		if _, ok := touched[k]; !ok {
			order = append(order, k)
		}
		touched[k] = append(touched[k], f.ID)
	}
	for _, k := range order {
		if err := s.execIn(ctx, tx, "UPDATE findings SET last_seen = ?, last_job_id = ?, updated_at = ? WHERE id IN ", []any{k.at, k.job, k.upd}, touched[k]); err != nil {
			return nil, err
		}
	}
	type fix struct {
		at, upd time.Time
		job     string
	}
	fixed := map[fix][]any{}
	var forder []fix
	for _, f := range p.Fixed {
		k := fix{*f.FixedAt, f.UpdatedAt, f.LastJobID}
		if _, ok := fixed[k]; !ok {
			forder = append(forder, k)
		}
		fixed[k] = append(fixed[k], f.ID)
	}
	for _, k := range forder {
		if err := s.execIn(ctx, tx, "UPDATE findings SET state = ?, fixed_at = ?, verify_requested_at = NULL, last_job_id = ?, updated_at = ? WHERE id IN ",
			[]any{string(finding.StateFixed), k.at, k.job, k.upd}, fixed[k]); err != nil {
			return nil, err
		}
	}
	if err := s.addFindingEvents(ctx, tx, p.History); err != nil {
		return nil, err
	}
	msgs, err := events()
	if err != nil {
		return nil, err
	}
	if err := s.enqueue(ctx, tx, msgs); err != nil {
		return nil, err
	}
	return changes, nil
}

// setChangeIDs gives the changes of new findings their IDs.
func setChangeIDs(changes []finding.Change, ids map[string]int64) {
	for i := range changes {
		if changes[i].Finding.ID == 0 {
			changes[i].Finding.ID = ids[changes[i].Finding.Key]
		}
	}
}

// predictFindingIDs returns the IDs SQLite will give fs, inserted in
// order by insertFindingsSQLite, when there are enough changes to encode
// beside the inserts (nil otherwise, and always on PostgreSQL). An
// AUTOINCREMENT table gives each new row one more than the largest ID it
// ever gave or holds, and this transaction is the only writer; the caller
// still compares them with what the inserts return.
func (s *Store) predictFindingIDs(ctx context.Context, tx *sql.Tx, fs []finding.Finding, changes int) (map[string]int64, error) {
	if s.d.postgres() || len(fs) == 0 || changes < encodeInBackground {
		return nil, nil
	}
	var last int64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'findings'), 0),
		COALESCE((SELECT MAX(id) FROM findings), 0))`).Scan(&last); err != nil {
		return nil, err
	}
	ids := make(map[string]int64, len(fs))
	for i := range fs {
		ids[fs[i].Key] = last + 1 + int64(i)
	}
	return ids, nil
}

// findingsWhereIn loads the findings whose col is one of vals, keyed by
// key, locking them on PostgreSQL. There the values go as one array
// parameter (col = ANY(?)): a cached generic plan of "IN ($1, ... $500)"
// can neither hash the list nor estimate it, and ends up scanning the
// table once per chunk.
func (s *Store) findingsWhereIn(ctx context.Context, tx *sql.Tx, col, typ string, vals []any) (map[string]finding.Finding, error) {
	out := make(map[string]finding.Finding, len(vals))
	for len(vals) > 0 {
		n := min(len(vals), batchRows)
		query := "SELECT " + findingColsF + " FROM findings f WHERE " + col + " IN (" + placeholders(n, 1) + ")"
		args := vals[:n]
		if s.d.postgres() {
			n = len(vals)
			query = "SELECT " + findingColsF + " FROM findings f WHERE " + col + " = ANY(CAST(? AS " + typ + "[])) FOR UPDATE"
			args = []any{pgArray(vals)}
		}
		if err := s.queryFindingsInto(ctx, tx, s.q(query), args, out); err != nil {
			return nil, err
		}
		vals = vals[n:]
	}
	return out, nil
}

// queryFindingsInto adds the findings query selects to out, by key.
func (s *Store) queryFindingsInto(ctx context.Context, tx *sql.Tx, query string, args []any, out map[string]finding.Finding) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		r, err := s.scanFinding(rows)
		if err != nil {
			return err
		}
		out[r.Key] = r.Finding
	}
	return rows.Err()
}

// findingsSeen loads the stored findings of the seen keys not in loaded.
// PostgreSQL finds them by key; SQLite, whose unique index is (asset_id,
// key) (migration 0032), by asset and key together, as row values.
func (s *Store) findingsSeen(ctx context.Context, tx *sql.Tx, seen []finding.Finding, loaded map[string]finding.Finding) (map[string]finding.Finding, error) {
	var vals []any
	pg := s.d.postgres()
	var stocked map[int64]bool
	if !pg {
		var err error
		if stocked, err = s.assetsWithFindings(ctx, tx, seen, loaded); err != nil {
			return nil, err
		}
	}
	for i := range seen {
		if _, ok := loaded[seen[i].Key]; ok {
			continue
		}
		if !pg && !stocked[seen[i].AssetID] {
			continue // an asset without findings has none of these keys
		}
		if pg {
			vals = append(vals, seen[i].Key)
		} else {
			vals = append(vals, seen[i].AssetID, seen[i].Key)
		}
	}
	if pg {
		return s.findingsWhereIn(ctx, tx, "f.key", "TEXT", vals)
	}
	out := make(map[string]finding.Finding, len(vals)/2)
	for len(vals) > 0 {
		n := min(len(vals)/2, batchRows)
		query := "SELECT " + findingColsF + " FROM findings f WHERE (f.asset_id, f.key) IN (VALUES " + placeholders(n, 2) + ")"
		if err := s.queryFindingsInto(ctx, tx, query, vals[:2*n], out); err != nil {
			return nil, err
		}
		vals = vals[2*n:]
	}
	return out, nil
}

// assetsWithFindings returns which assets of the seen findings not in
// loaded have any stored finding, one index probe each: a report of new
// findings on assets that have none (a feed's first report on them) then
// looks none of its keys up.
func (s *Store) assetsWithFindings(ctx context.Context, tx *sql.Tx, seen []finding.Finding, loaded map[string]finding.Finding) (map[int64]bool, error) {
	var ids []any
	asked := map[int64]bool{}
	for i := range seen {
		if _, ok := loaded[seen[i].Key]; ok || asked[seen[i].AssetID] {
			continue
		}
		asked[seen[i].AssetID] = true
		ids = append(ids, seen[i].AssetID)
	}
	out := make(map[int64]bool, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), batchRows)
		rows, err := tx.QueryContext(ctx, "SELECT column1 FROM (VALUES "+strings.Repeat("(?), ", n-1)+"(?)) AS v"+
			" WHERE EXISTS (SELECT 1 FROM findings f WHERE f.asset_id = v.column1)", ids[:n]...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		ids = ids[n:]
	}
	return out, nil
}

// insertFindings inserts new findings in multi-row statements and returns
// their IDs by key: on PostgreSQL as the statements return them, on SQLite
// as they follow from the last one (insertFindingsSQLite).
func (s *Store) insertFindings(ctx context.Context, tx *sql.Tx, fs []finding.Finding, pk *packed) (map[string]int64, error) {
	ids := make(map[string]int64, len(fs))
	if !s.d.postgres() {
		return ids, s.insertFindingsSQLite(ctx, tx, fs, ids, pk)
	}
	stmt := func(n int) string {
		return s.q("INSERT INTO findings (" + findingInsertCols + ") VALUES " + placeholders(n, findingInsertN) + " RETURNING id, key")
	}
	err := batches(ctx, tx, fs, stmt, func(st *sql.Stmt, chunk []finding.Finding) error {
		args := make([]any, 0, len(chunk)*findingInsertN)
		for i := range chunk {
			args = append(args, findingArgs(&chunk[i])...)
		}
		rows, err := st.QueryContext(ctx, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				id  int64
				key string
			)
			if err := rows.Scan(&id, &key); err != nil {
				return err
			}
			ids[key] = id
		}
		return rows.Err()
	})
	return ids, err
}

// findingUpdate rewrites what may change of a stored finding: not its
// identity (key, asset, check, source, first sighting), so SQLite touches
// neither the unique key index nor a statement journal for it.
const findingUpdate = "UPDATE findings SET org_id = ?, family = ?, severity = ?, target = ?, subject = ?, " +
	"title = ?, evidence = ?, cve = ?, kev = ?, state = ?, last_seen = ?, due_from = ?, due_at = ?, fixed_at = ?, until_at = ?, " +
	"reason = ?, approver = ?, verify_requested_at = ?, last_job_id = ?, updated_at = ?, severity_rank = ?, waiver = ?, epss = ? WHERE id = ?"

// findingUpdateArgs are findingUpdate's values for f.
func findingUpdateArgs(f *finding.Finding) []any {
	return []any{f.OrgID, f.Family, string(f.Severity), f.Target, f.Subject, f.Title, evidenceArg(f.Evidence), cveJSON(f.CVE), f.KEV,
		string(f.State), f.LastSeen, f.DueFrom, nullTime(f.DueAt), nullTime(f.FixedAt), nullTime(f.Until), f.Reason, f.Approver,
		nullTime(f.VerifyRequestedAt), f.LastJobID, f.UpdatedAt, f.Severity.Rank(), waiverArg(f.Waiver), finding.EPSSOf(f.Evidence), f.ID}
}

// findingTypes are the PostgreSQL types of findingInsertCols, for the
// VALUES list of a batched update.
var findingTypes = []string{"TEXT", "BIGINT", "BIGINT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "BOOLEAN", "TEXT",
	"TIMESTAMPTZ", "TIMESTAMPTZ", "TIMESTAMPTZ", "TIMESTAMPTZ", "TIMESTAMPTZ", "TIMESTAMPTZ", "TEXT", "TEXT", "TIMESTAMPTZ", "TEXT", "TIMESTAMPTZ", "INTEGER",
	"TEXT", "TEXT", "TEXT", "DOUBLE PRECISION"}

// updateFindings rewrites whole rows: on PostgreSQL in batches of
// UPDATE ... FROM (VALUES ...), saving a round trip per row; on SQLite,
// where a statement costs no round trip, one prepared statement each.
func (s *Store) updateFindings(ctx context.Context, tx *sql.Tx, rs []finding.Finding) error {
	if len(rs) == 0 {
		return nil
	}
	if s.d.postgres() && len(rs) > 1 {
		cols := strings.Split(findingInsertCols, ", ")
		one := make([]string, 0, len(cols)+1)
		one = append(one, "CAST(? AS BIGINT)")
		set := make([]string, len(cols))
		for i, c := range cols {
			one = append(one, "CAST(? AS "+findingTypes[i]+")")
			set[i] = c + " = v." + c
		}
		row := "(" + strings.Join(one, ", ") + ")"
		stmt := func(n int) string {
			return s.q("UPDATE findings AS f SET " + strings.Join(set, ", ") + " FROM (VALUES " +
				strings.TrimSuffix(strings.Repeat(row+", ", n), ", ") + ") AS v(id, " + findingInsertCols + ") WHERE f.id = v.id")
		}
		return batches(ctx, tx, rs, stmt, func(st *sql.Stmt, chunk []finding.Finding) error {
			args := make([]any, 0, len(chunk)*(findingInsertN+1))
			for i := range chunk {
				args = append(args, chunk[i].ID)
				args = append(args, findingArgs(&chunk[i])...)
			}
			_, err := st.ExecContext(ctx, args...)
			return err
		})
	}
	st, err := tx.PrepareContext(ctx, s.q(findingUpdate))
	if err != nil {
		return err
	}
	defer st.Close()
	for i := range rs {
		if _, err := st.ExecContext(ctx, findingUpdateArgs(&rs[i])...); err != nil {
			return err
		}
	}
	return nil
}

// refreshFindings writes new evidence, title and CVE list with the last
// sighting: columns no index holds. On PostgreSQL in batches of
// UPDATE ... FROM (VALUES ...); on SQLite one prepared statement each.
func (s *Store) refreshFindings(ctx context.Context, tx *sql.Tx, rs []finding.Finding, pk *packed) error {
	if len(rs) == 0 {
		return nil
	}
	args := func(f *finding.Finding) []any {
		return []any{f.ID, pk.arg(f), f.Title, cveJSON(f.CVE), f.LastSeen, f.LastJobID, f.UpdatedAt, finding.EPSSOf(f.Evidence)}
	}
	if s.d.postgres() && len(rs) > 1 {
		const row = "(CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TIMESTAMPTZ), CAST(? AS TEXT), CAST(? AS TIMESTAMPTZ), CAST(? AS DOUBLE PRECISION))"
		stmt := func(n int) string {
			return s.q("UPDATE findings AS f SET evidence = v.evidence, title = v.title, cve = v.cve, last_seen = v.last_seen, last_job_id = v.last_job_id, " +
				"updated_at = v.updated_at, epss = v.epss FROM (VALUES " + strings.TrimSuffix(strings.Repeat(row+", ", n), ", ") +
				") AS v(id, evidence, title, cve, last_seen, last_job_id, updated_at, epss) WHERE f.id = v.id")
		}
		return batches(ctx, tx, rs, stmt, func(st *sql.Stmt, chunk []finding.Finding) error {
			a := make([]any, 0, len(chunk)*8)
			for i := range chunk {
				a = append(a, args(&chunk[i])...)
			}
			_, err := st.ExecContext(ctx, a...)
			return err
		})
	}
	st, err := tx.PrepareContext(ctx, s.q("UPDATE findings SET evidence = ?, title = ?, cve = ?, last_seen = ?, last_job_id = ?, updated_at = ?, epss = ? WHERE id = ?"))
	if err != nil {
		return err
	}
	defer st.Close()
	for i := range rs {
		a := args(&rs[i])
		if _, err := st.ExecContext(ctx, append(a[1:], a[0])...); err != nil {
			return err
		}
	}
	return nil
}

// execIn runs prefix + "(?, ...)" with args followed by each chunk of ids;
// on PostgreSQL, one statement with the ids as an array.
func (s *Store) execIn(ctx context.Context, tx *sql.Tx, prefix string, args []any, ids []any) error {
	if s.d.postgres() && len(ids) > 0 {
		prefix = strings.TrimSuffix(prefix, " IN ")
		_, err := tx.ExecContext(ctx, s.q(prefix+" = ANY(CAST(? AS BIGINT[]))"), append(slices.Clone(args), pgArray(ids))...)
		return err
	}
	for len(ids) > 0 {
		n := min(len(ids), batchRows)
		if _, err := tx.ExecContext(ctx, s.q(prefix+"("+placeholders(n, 1)+")"), append(slices.Clone(args), ids[:n]...)...); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// pgArray writes values (strings or integers) as a PostgreSQL array
// literal, each element quoted.
func pgArray(vals []any) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, v := range vals {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		for _, r := range fmt.Sprint(v) {
			if r == '"' || r == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// insertFindingsSQLite inserts fs in multi-row statements without
// RETURNING, which makes SQLite gather the rows it returns in a temporary
// table and hand them over one step each. The IDs of one statement's rows
// follow from its last: the table's INTEGER PRIMARY KEY AUTOINCREMENT gives
// the rows of an INSERT ... VALUES one more than the largest ID so far,
// each in turn, and only this transaction writes (SQLite has one writer).
// The values the rows share are bound once (sharedInsert).
func (s *Store) insertFindingsSQLite(ctx context.Context, tx *sql.Tx, fs []finding.Finding, ids map[string]int64, pk *packed) error {
	return s.sharedInsert(ctx, tx, "findings ("+findingInsertCols+") VALUES ", findingInsertN, len(fs),
		func(i int, dst []any) []any { return appendFindingArgs(dst, &fs[i], pk) },
		func(res sql.Result, lo, hi int) error {
			last, err := res.LastInsertId()
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n != int64(hi-lo) {
				return fmt.Errorf("insert findings: %d rows inserted of %d (%v)", n, hi-lo, err)
			}
			for i := lo; i < hi; i++ {
				ids[fs[i].Key] = last - int64(hi-1-i)
			}
			return nil
		})
}
