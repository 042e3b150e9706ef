package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/store"
)

var _ store.Deadlines = (*Store)(nil)

// MarkDeadlines emits the due-soon and overdue events of active findings
// that crossed into either since they were last marked; store.DeadlineChange
// decides. The stage and the due date it was for are kept on the finding
// (deadline_stage, deadline_due), so the query only reads findings whose
// mark is missing, for another due date, or due soon and now overdue.
func (s *Store) MarkDeadlines(ctx context.Context, at time.Time) (int, error) {
	const op = "mark deadlines"
	if at.IsZero() {
		at = time.Now()
	}
	at = at.UTC().Truncate(time.Microsecond)
	n := 0
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		n = 0
		query := "SELECT " + findingColsF + ", f.deadline_stage, f.deadline_due FROM findings f WHERE " + activeStates +
			" AND f.due_at IS NOT NULL AND f.due_at <= ?" +
			" AND (f.deadline_due IS NULL OR f.deadline_due <> f.due_at OR (f.deadline_stage = 'due-soon' AND f.due_at < ?))" +
			" ORDER BY f.id"
		if s.d.postgres() {
			query += " FOR UPDATE OF f"
		}
		rows, err := tx.QueryContext(ctx, s.q(query), at.Add(store.DueSoonWithin), at)
		if err != nil {
			return err
		}
		var changes []finding.Change
		ids := map[finding.ChangeKind][]any{}
		for rows.Next() {
			var (
				stage string
				due   sql.NullTime
			)
			r, err := s.scanFinding(rows, &stage, &due)
			if err != nil {
				rows.Close()
				return err
			}
			c, ok := store.DeadlineChange(r.Finding, finding.ChangeKind(stage), timePtr(due), at)
			if !ok {
				continue
			}
			changes = append(changes, c)
			ids[c.Kind] = append(ids[c.Kind], r.ID)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, k := range []finding.ChangeKind{finding.ChangeDueSoon, finding.ChangeOverdue} {
			if len(ids[k]) == 0 {
				continue
			}
			if err := s.execIn(ctx, tx, "UPDATE findings SET deadline_stage = ?, deadline_due = due_at WHERE id IN ", []any{string(k)}, ids[k]); err != nil {
				return err
			}
		}
		if err := s.enqueueChanges(ctx, tx, changes); err != nil {
			return err
		}
		n = len(changes)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
