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

// QueueAlerts stores alerts, skipping (recipient, event) pairs already
// stored.
func (s *Store) QueueAlerts(ctx context.Context, alerts []store.QueuedAlert) (int, error) {
	const op = "queue alerts"
	if len(alerts) == 0 {
		return 0, nil
	}
	rows := make([][]any, len(alerts))
	for i, a := range alerts {
		if a.Recipient == "" || a.EventID == "" {
			return 0, s.fail(op, invalid("an alert needs a recipient and an event ID"))
		}
		data, err := json.Marshal(a.Change)
		if err != nil {
			return 0, s.fail(op, err)
		}
		rows[i] = []any{a.Recipient, a.EventID, a.OrgID, a.Change.Finding.ID, string(data), utc(a.QueuedAt)}
	}
	n := 0
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		n = 0
		stmt := func(k int) string {
			return s.q("INSERT INTO notify_alerts (recipient, event_id, org_id, finding_id, data, queued_at) VALUES " +
				placeholders(k, 6) + " ON CONFLICT (recipient, event_id) DO NOTHING")
		}
		return batches(ctx, tx, rows, stmt, func(st *sql.Stmt, chunk [][]any) error {
			args := make([]any, 0, 6*len(chunk))
			for _, r := range chunk {
				args = append(args, r...)
			}
			res, err := st.ExecContext(ctx, args...)
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			n += int(k)
			return err
		})
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
