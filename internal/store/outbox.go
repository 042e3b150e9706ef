package store

import (
	"context"
	"time"
)

// OutboxMessage is an event written in the same transaction as the change
// it describes, waiting for the relay to publish it.
type OutboxMessage struct {
	ID        int64  // the store's name for it, to hand back to OutboxDone
	Subject   string // e.g. "rampart.events.finding.new"
	MsgID     string // idempotency key: the queue and consumers deduplicate on it
	Data      []byte
	CreatedAt time.Time
	Parts     int // the store's own: how many messages a bundle of them holds (0: one message)
}

// Outbox is what the relay reads. The platform's own (no tenancy).
//
// Every write of the store that changes a finding (RecordFindings,
// TransitionFinding, ExpireAcceptances, ExpireStale, MarkDeadlines)
// appends its events here in the same transaction; the relay publishes
// them in ID order and deletes them once the queue has stored them. A
// crash between publish and delete publishes them again with the same
// MsgID, which the queue and consumers ignore.
type Outbox interface {
	// OutboxPending returns up to limit messages, oldest first.
	OutboxPending(ctx context.Context, limit int) ([]OutboxMessage, error)
	// OutboxDone deletes published messages.
	OutboxDone(ctx context.Context, ids []int64) error
}
