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
		return s.q(s.insertInto("outbox (subject, msg_id, data, created_at) VALUES ") + placeholders(n, 4))
	}
	return batches(ctx, tx, msgs, stmt, func(st *sql.Stmt, chunk []store.OutboxMessage) error {
		args := make([]any, 0, 4*len(chunk))
		for _, m := range chunk {
			args = append(args, m.Subject, m.MsgID, m.Data, m.CreatedAt)
		}
		_, err := st.ExecContext(ctx, args...)
		return err
	})
}

// OutboxPending returns up to limit messages, oldest first.
func (s *Store) OutboxPending(ctx context.Context, limit int) ([]store.OutboxMessage, error) {
	const op = "outbox pending"
	if limit <= 0 || limit > 10000 {
		limit = 10000
	}
	rows, err := s.r.QueryContext(ctx, s.q("SELECT id, subject, msg_id, data, created_at FROM outbox ORDER BY id LIMIT ?"), limit)
	if err != nil {
		return nil, s.fail(op, err)
	}
	defer rows.Close()
	var out []store.OutboxMessage
	for rows.Next() {
		var m store.OutboxMessage
		if err := rows.Scan(&m.ID, &m.Subject, &m.MsgID, &m.Data, &m.CreatedAt); err != nil {
			return nil, s.fail(op, err)
		}
		m.CreatedAt = m.CreatedAt.UTC()
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(op, err)
	}
	return out, nil
}

// OutboxDone deletes published messages.
func (s *Store) OutboxDone(ctx context.Context, ids []int64) error {
	const op = "outbox done"
	if len(ids) == 0 {
		return nil
	}
	vals := make([]any, len(ids))
	for i, id := range ids {
		vals[i] = id
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		return s.execIn(ctx, tx, "DELETE FROM outbox WHERE id IN ", nil, vals)
	})
}
