package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/rampart-cert/rampart/internal/store"
)

// The notifier's alert queue (notify_alerts): rows are written by the
// events consumer before it acknowledges an event, read by the flush of
// alert batches, marked sent in the transaction that enqueues the batch's
// delivery, and pruned later.

var _ store.AlertQueue = (*Store)(nil)

// alertChange is what notify_alerts keeps of a change: what an alert mail
// or webhook shows and what the change's EventID is made of. Its JSON
// names are finding.Change's, so a row reads back into a Change (also the
// full changes older rows hold). Evidence, history and dates an alert
// never shows stay out: the row is a fraction of the change's size.
type alertChange struct {
	Kind    string       `json:"kind"`
	Finding alertFinding `json:"finding"`
	At      time.Time    `json:"at,omitzero"`
	Action  string       `json:"action,omitempty"`
}

type alertFinding struct {
	ID       int64      `json:"id"`
	Key      string     `json:"key"`
	OrgID    int64      `json:"org_id"`
	Check    string     `json:"check"`
	Severity string     `json:"severity"`
	Target   string     `json:"target"`
	Title    string     `json:"title"`
	CVE      []string   `json:"cve,omitempty"`
	KEV      bool       `json:"kev,omitempty"`
	State    string     `json:"state"`
	DueAt    *time.Time `json:"due_at,omitempty"`
}

// alertRows is how many alerts one INSERT statement carries at most: 6
// values each, below both engines' limits on bound parameters (SQLite's
// 32,766, PostgreSQL's 65,535).
const alertRows = 5000

// QueueAlerts stores alerts, skipping (recipient, event) pairs already
// stored, with one multi-row INSERT … ON CONFLICT DO NOTHING. A statement
// is atomic on its own: up to alertRows alerts (every batch of the events
// consumer) it runs outside an explicit transaction, which spares SQLite
// the statement journal a multi-row statement inside one needs; more go in
// one transaction, alertRows at a time.
func (s *Store) QueueAlerts(ctx context.Context, alerts []store.QueuedAlert) (int, error) {
	const op = "queue alerts"
	if len(alerts) == 0 {
		return 0, nil
	}
	args := make([]any, 0, 6*len(alerts))
	var data, last string
	for _, a := range alerts {
		if a.Recipient == "" || a.EventID == "" {
			return 0, s.fail(op, invalid("an alert needs a recipient and an event ID"))
		}
		// An event's alerts (one per recipient) come one after the other:
		// encode its change once.
		if a.EventID != last {
			f := a.Change.Finding
			b, err := json.Marshal(alertChange{Kind: string(a.Change.Kind), At: a.Change.At, Action: string(a.Change.Action),
				Finding: alertFinding{ID: f.ID, Key: f.Key, OrgID: f.OrgID, Check: f.Check, Severity: string(f.Severity), Target: f.Target,
					Title: f.Title, CVE: f.CVE, KEV: f.KEV, State: string(f.State), DueAt: f.DueAt}})
			if err != nil {
				return 0, s.fail(op, err)
			}
			data, last = string(b), a.EventID
		}
		args = append(args, a.Recipient, a.EventID, a.OrgID, a.Change.Finding.ID, data, utc(a.QueuedAt))
	}
	insert := func(ctx context.Context, exec func(context.Context, string, ...any) (sql.Result, error), args []any) (int, error) {
		res, err := exec(ctx, s.q("INSERT INTO notify_alerts (recipient, event_id, org_id, finding_id, data, queued_at) VALUES "+
			placeholders(len(args)/6, 6)+" ON CONFLICT (finding_id, recipient, event_id) DO NOTHING"), args...)
		if err != nil {
			return 0, err
		}
		n, err := res.RowsAffected()
		return int(n), err
	}
	if len(alerts) <= alertRows {
		n, err := insert(ctx, s.w.ExecContext, args)
		return n, s.fail(op, err)
	}
	n := 0
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		n = 0
		for chunk := range slices.Chunk(args, 6*alertRows) {
			k, err := insert(ctx, tx.ExecContext, chunk)
			if err != nil {
				return err
			}
			n += k
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// DueAlerts returns the waiting alerts of recipients whose oldest waiting
// alert was queued at or before firstBefore.
func (s *Store) DueAlerts(ctx context.Context, firstBefore time.Time) ([]store.QueuedAlert, error) {
	const op = "due alerts"
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT a.id, a.recipient, a.event_id, a.org_id, a.data, a.queued_at FROM notify_alerts a
		WHERE a.sent_at IS NULL AND a.recipient IN (
			SELECT recipient FROM notify_alerts WHERE sent_at IS NULL GROUP BY recipient HAVING MIN(queued_at) <= ?)
		ORDER BY a.recipient, a.id`), utc(firstBefore))
	if err != nil {
		return nil, s.fail(op, err)
	}
	defer rows.Close()
	var out []store.QueuedAlert
	for rows.Next() {
		var (
			a    store.QueuedAlert
			data string
		)
		if err := rows.Scan(&a.ID, &a.Recipient, &a.EventID, &a.OrgID, &data, &a.QueuedAt); err != nil {
			return nil, s.fail(op, err)
		}
		if err := json.Unmarshal([]byte(data), &a.Change); err != nil {
			return nil, s.fail(op, fmt.Errorf("alert %d: %w", a.ID, err))
		}
		a.QueuedAt = a.QueuedAt.UTC()
		out = append(out, a)
	}
	return out, s.fail(op, rows.Err())
}

var errAlertsTaken = errors.New("alerts sent by someone else")

// SendAlerts marks alerts sent and enqueues their deliveries together.
func (s *Store) SendAlerts(ctx context.Context, ids []int64, ds []*store.Delivery, at time.Time) (bool, error) {
	const op = "send alerts"
	if len(ids) == 0 {
		return false, nil
	}
	key := ""
	if len(ds) > 0 {
		key = ds[0].Key
	}
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		marked := 0
		for chunk := range slices.Chunk(ids, batchRows) {
			args := []any{utc(at), key}
			for _, id := range chunk {
				args = append(args, id)
			}
			res, err := tx.ExecContext(ctx, s.q("UPDATE notify_alerts SET sent_at = ?, delivery_key = ? WHERE sent_at IS NULL AND id IN ("+placeholders(len(chunk), 1)+")"), args...)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			marked += int(n)
		}
		if marked != len(ids) {
			return errAlertsTaken
		}
		return s.enqueueTx(ctx, tx, ds)
	})
	if errors.Is(err, errAlertsTaken) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// PruneAlerts deletes alerts sent before before.
func (s *Store) PruneAlerts(ctx context.Context, before time.Time) (int, error) {
	const op = "prune alerts"
	n := 0
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q("DELETE FROM notify_alerts WHERE sent_at IS NOT NULL AND sent_at < ?"), utc(before))
		if err != nil {
			return err
		}
		k, err := res.RowsAffected()
		n = int(k)
		return err
	})
	return n, err
}
