package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
)

// Aggregates kept beside the findings (migration 0014).
//
// finding_tally (per organization, severity and KEV listing) and
// finding_check_tally (per organization and check, and per check over
// every organization as organization 0) count the active findings, so the dashboard reads a few rows per organization instead of
// every active finding. Every write that changes a finding's state,
// organization, severity, KEV listing, check or due date goes through
// savePlan, TransitionFinding or ExpireAcceptances, and each of them calls
// one of the tally functions below in its own transaction: the counts
// change exactly when the findings do, and roll back with them. Deltas
// are applied in key order, so concurrent writers on PostgreSQL lock the
// rows in the same order and never deadlock on them.
//
// Overdue depends on the time of the question, so it is not kept: the
// tallies hold how many active findings have a due date and the sum of
// those dates, and a read subtracts the findings not due yet, which the
// partial index findings_active_due answers alone.
//
// A transaction that changes a tally also bumps counters.finding_tally
// (migration 0017), after the tally rows, so the version is visible
// exactly when the new counts are: the dashboard keeps an overview while
// the version it was computed at is current (dashboard_cache.go). The
// counter row is the last lock such a transaction takes, after the tally
// rows in key order, so the order stays the same for every writer.

type tallyKey struct {
	org  int64
	rank int
	kev  bool
}

type checkKey struct {
	org   int64
	check string
}

type tallyVal struct{ active, dueN, dueMS int64 }

// tallyDelta is what one transaction changes in the tallies.
type tallyDelta struct {
	sev map[tallyKey]tallyVal
	chk map[checkKey]tallyVal
}

func newTallyDelta() *tallyDelta {
	return &tallyDelta{sev: map[tallyKey]tallyVal{}, chk: map[checkKey]tallyVal{}}
}

// unixMS is a due date as the tallies sum it: Unix milliseconds, rounded.
func unixMS(t time.Time) int64 { return (t.UnixMicro() + 500) / 1000 }

// add counts f (sign +1) or takes it out (sign -1) when it is active.
func (d *tallyDelta) add(f *finding.Finding, sign int64) {
	if !f.State.Active() {
		return
	}
	d.addActive(f.OrgID, f.Severity.Rank(), f.KEV, f.Check, f.DueAt, sign)
}

func (d *tallyDelta) addActive(org int64, rank int, kev bool, check string, due *time.Time, sign int64) {
	k := tallyKey{org, rank, kev}
	v := d.sev[k]
	v.active += sign
	c := d.chk[checkKey{org, check}]
	c.active += sign
	if due != nil {
		v.dueN += sign
		v.dueMS += sign * unixMS(*due)
		c.dueN += sign
	}
	d.sev[k] = v
	d.chk[checkKey{org, check}] = c
	// Organization 0: every organization, for platform-wide readers.
	t := d.chk[checkKey{0, check}]
	t.active += sign
	if due != nil {
		t.dueN += sign
	}
	d.chk[checkKey{0, check}] = t
}

// apply upserts the non-zero deltas, in key order.
func (s *Store) applyTally(ctx context.Context, tx *sql.Tx, d *tallyDelta) error {
	sevKeys := make([]tallyKey, 0, len(d.sev))
	for k, v := range d.sev {
		if v != (tallyVal{}) {
			sevKeys = append(sevKeys, k)
		}
	}
	slices.SortFunc(sevKeys, func(a, b tallyKey) int {
		switch {
		case a.org != b.org:
			return cmpInt(a.org, b.org)
		case a.rank != b.rank:
			return cmpInt(int64(a.rank), int64(b.rank))
		case a.kev != b.kev:
			if b.kev {
				return -1
			}
			return 1
		}
		return 0
	})
	if len(sevKeys) > 0 {
		st, err := tx.PrepareContext(ctx, s.q("INSERT INTO finding_tally (org_id, severity_rank, kev, active, due_n, due_ms) VALUES (?, ?, ?, ?, ?, ?) "+
			"ON CONFLICT (org_id, severity_rank, kev) DO UPDATE SET active = finding_tally.active + excluded.active, "+
			"due_n = finding_tally.due_n + excluded.due_n, due_ms = finding_tally.due_ms + excluded.due_ms"))
		if err != nil {
			return err
		}
		defer st.Close()
		for _, k := range sevKeys {
			v := d.sev[k]
			if _, err := st.ExecContext(ctx, k.org, k.rank, k.kev, v.active, v.dueN, v.dueMS); err != nil {
				return err
			}
		}
	}
	chkKeys := make([]checkKey, 0, len(d.chk))
	for k, v := range d.chk {
		if v != (tallyVal{}) {
			chkKeys = append(chkKeys, k)
		}
	}
	slices.SortFunc(chkKeys, func(a, b checkKey) int {
		if a.org != b.org {
			return cmpInt(a.org, b.org)
		}
		return strings.Compare(a.check, b.check)
	})
	if len(chkKeys) > 0 {
		st, err := tx.PrepareContext(ctx, s.q("INSERT INTO finding_check_tally (org_id, check_id, active, due_n) VALUES (?, ?, ?, ?) "+
			"ON CONFLICT (org_id, check_id) DO UPDATE SET active = finding_check_tally.active + excluded.active, "+
			"due_n = finding_check_tally.due_n + excluded.due_n"))
		if err != nil {
			return err
		}
		defer st.Close()
		for _, k := range chkKeys {
			v := d.chk[k]
			if _, err := st.ExecContext(ctx, k.org, k.check, v.active, v.dueN); err != nil {
				return err
			}
		}
	}
	if len(sevKeys) == 0 && len(chkKeys) == 0 {
		return nil // nothing counted changed: the version stays
	}
	return bumpTallyVersion(ctx, tx)
}

// bumpTallyVersion marks the tallies changed by tx.
func bumpTallyVersion(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, "UPDATE counters SET value = value + 1 WHERE name = 'finding_tally'")
	return err
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// tallyPlan counts what savePlan is about to write: the inserted findings,
// the rewritten ones as they will be and the fixed ones (no longer
// active), minus the rewritten and fixed ones as they are stored now.
// Touched and refreshed findings keep what the tallies count.
func (s *Store) tallyPlan(ctx context.Context, tx *sql.Tx, p finding.Plan) error {
	d := newTallyDelta()
	for i := range p.Insert {
		d.add(&p.Insert[i], 1)
	}
	fixed := make(map[int64]bool, len(p.Fixed))
	for _, f := range p.Fixed {
		fixed[f.ID] = true
	}
	var ids []any
	for i := range p.Update {
		if !fixed[p.Update[i].ID] {
			d.add(&p.Update[i], 1)
		}
		ids = append(ids, p.Update[i].ID)
	}
	for _, f := range p.Fixed {
		ids = append(ids, f.ID)
	}
	if err := s.tallyStored(ctx, tx, ids, d, -1); err != nil {
		return err
	}
	return s.applyTally(ctx, tx, d)
}

// tallyStored adds the stored active findings among ids to d with sign.
// An ID listed twice counts once.
func (s *Store) tallyStored(ctx context.Context, tx *sql.Tx, ids []any, d *tallyDelta, sign int64) error {
	seen := make(map[any]bool, len(ids))
	uniq := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			uniq = append(uniq, id)
		}
	}
	const cols = "SELECT f.org_id, f.severity_rank, f.kev, f.check_id, f.due_at FROM findings f WHERE " + activeStates + " AND f.id "
	for len(uniq) > 0 {
		n := min(len(uniq), batchRows)
		query, args := cols+"IN ("+placeholders(n, 1)+")", uniq[:n]
		if s.d.postgres() {
			n = len(uniq)
			query, args = cols+"= ANY(CAST(? AS BIGINT[]))", []any{pgArray(uniq)}
		}
		rows, err := tx.QueryContext(ctx, s.q(query), args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var (
				org   int64
				rank  int
				kev   bool
				check string
				due   sql.NullTime
			)
			if err := rows.Scan(&org, &rank, &kev, &check, &due); err != nil {
				rows.Close()
				return err
			}
			d.addActive(org, rank, kev, check, timePtr(due), sign)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		uniq = uniq[n:]
	}
	return nil
}

// tallyChange counts one finding changing from before to after.
func (s *Store) tallyChange(ctx context.Context, tx *sql.Tx, before, after finding.Finding) error {
	d := newTallyDelta()
	d.add(&before, -1)
	d.add(&after, 1)
	return s.applyTally(ctx, tx, d)
}

// tallyReopened counts the findings of due whose IDs are in ids as open
// again (ExpireAcceptances: they were accepted, so not counted, and keep
// their organization, severity, check and due date).
func (s *Store) tallyReopened(ctx context.Context, tx *sql.Tx, due []findingRow, ids []any) error {
	in := make(map[any]bool, len(ids))
	for _, id := range ids {
		in[id] = true
	}
	d := newTallyDelta()
	for _, r := range due {
		if !in[any(r.ID)] {
			continue
		}
		f := r.Finding
		d.add(&f, -1)
		f.State = finding.StateOpen
		d.add(&f, 1)
	}
	return s.applyTally(ctx, tx, d)
}

// dueMSExpr is the SQL form of unixMS for a timestamp column.
func (s *Store) dueMSExpr(col string) string {
	if s.d.postgres() {
		return "CAST(ROUND(EXTRACT(EPOCH FROM " + col + ") * 1000) AS BIGINT)"
	}
	return "CAST(ROUND((julianday(" + col + ") - 2440587.5) * 86400000.0) AS INTEGER)"
}

// RebuildAggregates recomputes the finding tallies from the findings and
// keeps the trend snapshot of the 90 days before today: for rows loaded
// around the store (bulk seeding, a restore by hand). The store's own
// writes keep the tallies current without it.
func (s *Store) RebuildAggregates(ctx context.Context) error {
	const op = "rebuild aggregates"
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		for _, q := range []string{
			"DELETE FROM finding_tally",
			"DELETE FROM finding_check_tally",
			"INSERT INTO finding_tally (org_id, severity_rank, kev, active, due_n, due_ms) " +
				"SELECT f.org_id, f.severity_rank, f.kev, COUNT(*), COUNT(f.due_at), COALESCE(SUM(" + s.dueMSExpr("f.due_at") + "), 0) " +
				"FROM findings f WHERE " + activeStates + " GROUP BY f.org_id, f.severity_rank, f.kev",
			"INSERT INTO finding_check_tally (org_id, check_id, active, due_n) " +
				"SELECT f.org_id, f.check_id, COUNT(*), COUNT(f.due_at) FROM findings f WHERE " + activeStates + " GROUP BY f.org_id, f.check_id",
			"INSERT INTO finding_check_tally (org_id, check_id, active, due_n) " +
				"SELECT 0, f.check_id, COUNT(*), COUNT(f.due_at) FROM findings f WHERE " + activeStates + " GROUP BY f.check_id",
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return bumpTallyVersion(ctx, tx)
	})
	if err != nil {
		return err
	}
	return s.SnapshotTrend(ctx, 90, time.Now())
}
