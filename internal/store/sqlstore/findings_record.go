package sqlstore

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/store"
)

// scannerActor is the actor of history entries written by RecordFindings.
const scannerActor = "scanner"

// coverKey is one (asset, target, check) a job examined; targets compare
// case-insensitively, as finding.Key does.
type coverKey struct {
	asset  int64
	target string
	check  string
}

// prepareFindingBatch checks and normalizes a batch: times in UTC to the
// microsecond, severities parsed, families and keys filled in, keys
// checked against finding.Key, CVE lists never nil. The same key twice in
// Seen keeps the last occurrence (a job may report one problem twice; the
// later report wins rather than failing the whole job forever on
// redelivery).
func prepareFindingBatch(b *store.FindingBatch) ([]store.Finding, error) {
	if b.At.IsZero() {
		b.At = now()
	}
	b.At = b.At.UTC().Truncate(time.Microsecond)
	if err := b.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", store.ErrInvalid, err)
	}
	for i, c := range b.Covered {
		if c.AssetID <= 0 || strings.TrimSpace(c.Target) == "" {
			return nil, invalid("covered[%d]: an asset and a target are required", i)
		}
	}
	seen := make([]store.Finding, 0, len(b.Seen))
	at := make(map[string]int, len(b.Seen))
	for i, f := range b.Seen {
		if f.AssetID <= 0 || f.OrgID <= 0 {
			return nil, invalid("seen[%d]: an asset and an organization are required", i)
		}
		f.Check, f.Target = strings.TrimSpace(f.Check), strings.TrimSpace(f.Target)
		if f.Check == "" || f.Target == "" {
			return nil, invalid("seen[%d]: a check and a target are required", i)
		}
		sev, err := finding.ParseSeverity(string(f.Severity))
		if err != nil {
			return nil, fmt.Errorf("%w: seen[%d]: %w", store.ErrInvalid, i, err)
		}
		f.Severity = sev
		if f.Family == "" {
			f.Family, _, _ = strings.Cut(f.Check, ".")
		}
		key := finding.Key(f.AssetID, f.Check, f.Target, f.Subject)
		if f.Key == "" {
			f.Key = key
		} else if f.Key != key {
			return nil, invalid("seen[%d]: key %s is not finding.Key of its asset, check, target and subject", i, f.Key)
		}
		if len(f.Evidence) > 0 && !json.Valid(f.Evidence) {
			return nil, invalid("seen[%d]: evidence is not JSON", i)
		}
		if f.CVE == nil {
			f.CVE = []string{}
		}
		if j, dup := at[f.Key]; dup {
			seen[j] = f
			continue
		}
		at[f.Key] = len(seen)
		seen = append(seen, f)
	}
	return seen, nil
}

// RecordFindings applies one job's results in one transaction.
//
// Beyond the contract in store.Findings:
//   - results older than what is stored are ignored, so a batch redelivered
//     after a later job changes nothing: a seen key whose LastSeen is after
//     b.At (or that was fixed at or after b.At) is left alone, and a
//     finding is fixed only if its LastSeen is before b.At;
//   - a seen finding takes the batch's organization (its asset may have
//     moved), title, family, CVE list and KEV flag as well;
//   - when its severity or KEV listing changes, its due date is recomputed
//     with b.Policy from when it counts (first seen, or when last
//     reopened); the policy alone changing moves no due date;
//   - a seen or fixed finding whose verification was requested before b.At
//     has VerifyRequestedAt cleared (the rescan answered); when it is still
//     seen, the history gets a "seen" entry without a state change, with
//     the new evidence;
//   - Coverage.OrgID is informational: the asset identifies what was
//     covered. Coverage of an asset with no checks covers nothing.
//
// A concurrent job inserting one of the same new keys makes this fail with
// store.ErrConflict; redelivering the batch is safe.
func (s *Store) RecordFindings(ctx context.Context, b store.FindingBatch) ([]store.FindingChange, error) {
	const op = "record findings"
	seen, err := prepareFindingBatch(&b)
	if err != nil {
		return nil, s.fail(op, err)
	}
	covered := map[coverKey]bool{}
	var coveredAssets []int64
	for _, c := range b.Covered {
		for _, check := range c.Checks {
			covered[coverKey{c.AssetID, strings.ToLower(strings.TrimSpace(c.Target)), strings.TrimSpace(check)}] = true
		}
		if len(c.Checks) > 0 && !slices.Contains(coveredAssets, c.AssetID) {
			coveredAssets = append(coveredAssets, c.AssetID)
		}
	}
	if len(seen) == 0 && len(covered) == 0 {
		return []store.FindingChange{}, nil
	}

	var changes []store.FindingChange
	err = s.write(ctx, op, func(tx *sql.Tx) error {
		changes = []store.FindingChange{}
		// Preload in two queries at most per 500 values: every finding of
		// the covered assets (they hold most seen keys, and the candidates
		// for fixing), then the seen keys not among them.
		ids := make([]any, len(coveredAssets))
		for i, id := range coveredAssets {
			ids[i] = id
		}
		existing, err := s.findingsWhereIn(ctx, tx, "f.asset_id", "BIGINT", ids)
		if err != nil {
			return err
		}
		var keys []any
		for _, f := range seen {
			if _, ok := existing[f.Key]; !ok {
				keys = append(keys, f.Key)
			}
		}
		more, err := s.findingsWhereIn(ctx, tx, "f.key", "TEXT", keys)
		if err != nil {
			return err
		}
		maps.Copy(existing, more)

		t := now()
		var (
			inserts []findingRow
			full    []findingRow // rows to rewrite entirely
			touched []any        // ids whose last_seen and last_job_id only move
			fixed   []findingRow
			events  []findingEvent
		)
		for _, f := range seen {
			cur, ok := existing[f.Key]
			if !ok {
				r := findingRow{Finding: f, dueFrom: b.At}
				r.ID = 0
				r.State = finding.StateOpen
				r.FirstSeen, r.LastSeen, r.UpdatedAt = b.At, b.At, t
				r.DueAt = dueAt(b.Policy, f.Severity, f.KEV, b.At)
				r.FixedAt, r.Until, r.VerifyRequestedAt = nil, nil, nil
				r.Reason, r.Approver, r.LastJobID = "", "", b.JobID
				inserts = append(inserts, r)
				continue
			}
			if b.At.Before(cur.LastSeen) || (cur.State == finding.StateFixed && cur.FixedAt != nil && !b.At.After(*cur.FixedAt)) {
				continue // an older result than the stored one
			}
			next, err := finding.Next(cur.State, finding.Transition{Action: finding.ActionSeen, At: b.At, By: scannerActor})
			if err != nil {
				return err
			}
			upd := cur
			upd.OrgID, upd.Family, upd.Severity, upd.Target, upd.Subject, upd.Title = f.OrgID, f.Family, f.Severity, f.Target, f.Subject, f.Title
			upd.Evidence, upd.CVE, upd.KEV = f.Evidence, f.CVE, f.KEV
			upd.LastSeen, upd.LastJobID = b.At, b.JobID
			var ev *findingEvent
			switch {
			case next != cur.State: // fixed → reopened
				upd.State, upd.FixedAt, upd.VerifyRequestedAt = next, nil, nil
				upd.dueFrom = b.At
				upd.DueAt = dueAt(b.Policy, upd.Severity, upd.KEV, b.At)
				ev = &findingEvent{action: finding.ActionSeen, from: cur.State, to: next}
			default:
				if upd.Severity != cur.Severity || upd.KEV != cur.KEV {
					upd.DueAt = dueAt(b.Policy, upd.Severity, upd.KEV, upd.dueFrom)
				}
				if cur.VerifyRequestedAt != nil && !b.At.Before(*cur.VerifyRequestedAt) {
					upd.VerifyRequestedAt = nil
					ev = &findingEvent{action: finding.ActionSeen, from: cur.State, to: cur.State,
						reason: "a rescan after the verification request still sees it"}
				}
			}
			if ev != nil {
				ev.findingID, ev.at, ev.actor, ev.jobID, ev.evidence = cur.ID, b.At, scannerActor, b.JobID, f.Evidence
				events = append(events, *ev)
			}
			upd.UpdatedAt = t
			switch findingDiff(cur, upd) {
			case diffNone:
				continue
			case diffTouch:
				touched = append(touched, cur.ID)
			default:
				full = append(full, upd)
			}
			if next != cur.State {
				changes = append(changes, store.FindingChange{Kind: store.ChangeReopened, Finding: upd.Finding})
			}
		}
		seenKey := make(map[string]bool, len(seen))
		for _, f := range seen {
			seenKey[f.Key] = true
		}
		candidates := slices.SortedFunc(maps.Values(existing), func(a, b findingRow) int { return cmp.Compare(a.ID, b.ID) })
		for _, cur := range candidates {
			if !cur.State.Active() || seenKey[cur.Key] || !covered[coverKey{cur.AssetID, strings.ToLower(cur.Target), cur.Check}] || !b.At.After(cur.LastSeen) {
				continue
			}
			next, err := finding.Next(cur.State, finding.Transition{Action: finding.ActionNotSeen, At: b.At, By: scannerActor})
			if err != nil {
				return err
			}
			if next == cur.State {
				continue
			}
			upd := cur
			at := b.At
			upd.State, upd.FixedAt, upd.VerifyRequestedAt, upd.LastJobID, upd.UpdatedAt = next, &at, nil, b.JobID, t
			fixed = append(fixed, upd)
			events = append(events, findingEvent{findingID: cur.ID, at: b.At, actor: scannerActor, action: finding.ActionNotSeen,
				from: cur.State, to: next, jobID: b.JobID})
			changes = append(changes, store.FindingChange{Kind: store.ChangeFixed, Finding: upd.Finding})
		}

		if err := s.insertFindings(ctx, tx, inserts); err != nil {
			return err
		}
		for _, r := range inserts {
			events = append(events, findingEvent{findingID: r.ID, at: b.At, actor: scannerActor, action: finding.ActionSeen,
				to: r.State, jobID: b.JobID, evidence: r.Evidence})
			changes = append(changes, store.FindingChange{Kind: store.ChangeNew, Finding: r.Finding})
		}
		if err := s.updateFindings(ctx, tx, full); err != nil {
			return err
		}
		if err := s.execIn(ctx, tx, "UPDATE findings SET last_seen = ?, last_job_id = ?, updated_at = ? WHERE id IN ", []any{b.At, b.JobID, t}, touched); err != nil {
			return err
		}
		fixedIDs := make([]any, len(fixed))
		for i, r := range fixed {
			fixedIDs[i] = r.ID
		}
		if err := s.execIn(ctx, tx, "UPDATE findings SET state = ?, fixed_at = ?, verify_requested_at = NULL, last_job_id = ?, updated_at = ? WHERE id IN ",
			[]any{string(finding.StateFixed), b.At, b.JobID, t}, fixedIDs); err != nil {
			return err
		}
		return s.addFindingEvents(ctx, tx, events)
	})
	if err != nil {
		return nil, err
	}
	return changes, nil
}

func dueAt(p finding.Policy, sev finding.Severity, kev bool, from time.Time) *time.Time {
	d := p.DueAt(sev, kev, from)
	if d.IsZero() {
		return nil
	}
	d = d.UTC().Truncate(time.Microsecond)
	return &d
}

type diff int

const (
	diffNone  diff = iota
	diffTouch      // only LastSeen and LastJobID differ
	diffFull
)

// findingDiff compares a stored finding with its update, ignoring UpdatedAt.
func findingDiff(a, b findingRow) diff {
	same := a.OrgID == b.OrgID && a.Family == b.Family && a.Severity == b.Severity && a.Target == b.Target &&
		a.Subject == b.Subject && a.Title == b.Title && bytes.Equal(a.Evidence, b.Evidence) && slices.Equal(a.CVE, b.CVE) &&
		a.KEV == b.KEV && a.State == b.State && a.dueFrom.Equal(b.dueFrom) && timeEq(a.DueAt, b.DueAt) &&
		timeEq(a.FixedAt, b.FixedAt) && timeEq(a.Until, b.Until) && a.Reason == b.Reason && a.Approver == b.Approver &&
		timeEq(a.VerifyRequestedAt, b.VerifyRequestedAt) && a.FirstSeen.Equal(b.FirstSeen)
	switch {
	case !same:
		return diffFull
	case a.LastSeen.Equal(b.LastSeen) && a.LastJobID == b.LastJobID:
		return diffNone
	}
	return diffTouch
}

func timeEq(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// findingsWhereIn loads the findings whose col is one of vals, keyed by
// key, locking them on PostgreSQL. There the values go as one array
// parameter (col = ANY(?)): a cached generic plan of "IN ($1, ... $500)"
// can neither hash the list nor estimate it, and ends up scanning the
// table once per chunk.
func (s *Store) findingsWhereIn(ctx context.Context, tx *sql.Tx, col, typ string, vals []any) (map[string]findingRow, error) {
	out := make(map[string]findingRow, len(vals))
	for len(vals) > 0 {
		n := min(len(vals), batchRows)
		query := "SELECT " + findingColsF + " FROM findings f WHERE " + col + " IN (" + placeholders(n, 1) + ")"
		args := vals[:n]
		if s.d.postgres() {
			n = len(vals)
			query = "SELECT " + findingColsF + " FROM findings f WHERE " + col + " = ANY(CAST(? AS " + typ + "[])) FOR UPDATE"
			args = []any{pgArray(vals)}
		}
		rows, err := tx.QueryContext(ctx, s.q(query), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			r, err := scanFinding(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			out[r.Key] = r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		vals = vals[n:]
	}
	return out, nil
}

// insertFindings inserts new findings in multi-row statements and sets
// their IDs.
func (s *Store) insertFindings(ctx context.Context, tx *sql.Tx, rs []findingRow) error {
	idx := make(map[string]int, len(rs))
	for i, r := range rs {
		idx[r.Key] = i
	}
	stmt := func(n int) string {
		return s.q("INSERT INTO findings (" + findingInsertCols + ") VALUES " + placeholders(n, findingInsertN) + " RETURNING id, key")
	}
	return batches(ctx, tx, rs, stmt, func(st *sql.Stmt, chunk []findingRow) error {
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
			if i, ok := idx[key]; ok {
				rs[i].ID = id
			}
		}
		return rows.Err()
	})
}

const findingUpdate = "UPDATE findings SET key = ?, org_id = ?, asset_id = ?, check_id = ?, family = ?, severity = ?, target = ?, subject = ?, " +
	"title = ?, evidence = ?, cve = ?, kev = ?, state = ?, first_seen = ?, last_seen = ?, due_from = ?, due_at = ?, fixed_at = ?, until_at = ?, " +
	"reason = ?, approver = ?, verify_requested_at = ?, last_job_id = ?, updated_at = ?, severity_rank = ? WHERE id = ?"

// findingTypes are the PostgreSQL types of findingInsertCols, for the
// VALUES list of a batched update.
var findingTypes = []string{"TEXT", "BIGINT", "BIGINT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "BOOLEAN", "TEXT",
	"TIMESTAMPTZ", "TIMESTAMPTZ", "TIMESTAMPTZ", "TIMESTAMPTZ", "TIMESTAMPTZ", "TIMESTAMPTZ", "TEXT", "TEXT", "TIMESTAMPTZ", "TEXT", "TIMESTAMPTZ", "INTEGER"}

// updateFindings rewrites whole rows: on PostgreSQL in batches of
// UPDATE ... FROM (VALUES ...), saving a round trip per row; on SQLite,
// where a statement costs no round trip, one prepared statement each.
func (s *Store) updateFindings(ctx context.Context, tx *sql.Tx, rs []findingRow) error {
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
		return batches(ctx, tx, rs, stmt, func(st *sql.Stmt, chunk []findingRow) error {
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
		if _, err := st.ExecContext(ctx, append(findingArgs(&rs[i]), rs[i].ID)...); err != nil {
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
