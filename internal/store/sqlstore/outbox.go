package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/store"
)

var _ store.Outbox = (*Store)(nil)

// FindingEventSubject is the subject of a finding change of kind k.
func FindingEventSubject(k finding.ChangeKind) string { return "rampart.events.finding." + string(k) }

// enqueueChanges appends one event per finding change to the outbox, in
// the caller's transaction. The message ID is the change's EventID.
func (s *Store) enqueueChanges(ctx context.Context, tx *sql.Tx, changes []finding.Change) error {
	if len(changes) == 0 {
		return nil
	}
	t := now()
	msgs := make([]store.OutboxMessage, len(changes))
	for i, c := range changes {
		data, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
		msgs[i] = store.OutboxMessage{Subject: FindingEventSubject(c.Kind), MsgID: c.EventID(), Data: data, CreatedAt: t}
	}
	return s.enqueue(ctx, tx, msgs)
}

// enqueue appends messages to the outbox in multi-row statements.
func (s *Store) enqueue(ctx context.Context, tx *sql.Tx, msgs []store.OutboxMessage) error {
	stmt := func(n int) string {
		return s.q(s.insertInto("outbox (subject, msg_id, data, created_at, parts) VALUES ") + placeholders(n, 5))
	}
	return batches(ctx, tx, msgs, stmt, func(st *sql.Stmt, chunk []store.OutboxMessage) error {
		args := make([]any, 0, 5*len(chunk))
		for _, m := range chunk {
			args = append(args, m.Subject, m.MsgID, m.Data, m.CreatedAt, m.Parts)
		}
		_, err := st.ExecContext(ctx, args...)
		return err
	})
}

// OutboxPending returns up to limit messages, oldest first. Of a bundle
// (outbox_bundle.go) it returns the messages not yet published, as many
// as limit allows, each with an ID of its own (bundlePartID).
func (s *Store) OutboxPending(ctx context.Context, limit int) ([]store.OutboxMessage, error) {
	const op = "outbox pending"
	if limit <= 0 || limit > 10000 {
		limit = 10000
	}
	rows, err := s.r.QueryContext(ctx, s.q("SELECT id, subject, msg_id, data, created_at, parts, done FROM outbox ORDER BY id LIMIT ?"), limit)
	if err != nil {
		return nil, s.fail(op, err)
	}
	defer rows.Close()
	var out []store.OutboxMessage
	for rows.Next() && len(out) < limit {
		var (
			m    store.OutboxMessage
			done int
		)
		if err := rows.Scan(&m.ID, &m.Subject, &m.MsgID, &m.Data, &m.CreatedAt, &m.Parts, &done); err != nil {
			return nil, s.fail(op, err)
		}
		m.CreatedAt = m.CreatedAt.UTC()
		if m.Parts == 0 {
			out = append(out, m)
			continue
		}
		ms, err := unbundle(m)
		if err != nil {
			return nil, s.fail(op, err)
		}
		for p := done; p < len(ms) && len(out) < limit; p++ {
			ms[p].ID = bundlePartID(m.ID, p)
			out = append(out, ms[p])
		}
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(op, err)
	}
	return out, nil
}

// OutboxDone deletes published messages: a row of one message, or a
// bundle once its last message is published; of a bundle published only
// in part, it records how far.
func (s *Store) OutboxDone(ctx context.Context, ids []int64) error {
	const op = "outbox done"
	if len(ids) == 0 {
		return nil
	}
	var (
		whole []any
		upTo  = map[int64]int{} // bundle row → parts published, at least
		order []int64
	)
	for _, id := range ids {
		row, part, ok := bundlePart(id)
		if !ok {
			whole = append(whole, id)
			continue
		}
		if _, seen := upTo[row]; !seen {
			order = append(order, row)
		}
		upTo[row] = max(upTo[row], part+1)
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		for _, row := range order {
			if _, err := tx.ExecContext(ctx, s.q("UPDATE outbox SET done = ? WHERE id = ? AND done < ?"), upTo[row], row, upTo[row]); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, s.q("DELETE FROM outbox WHERE id = ? AND done >= parts"), row); err != nil {
				return err
			}
		}
		return s.execIn(ctx, tx, "DELETE FROM outbox WHERE id IN ", nil, whole)
	})
}
