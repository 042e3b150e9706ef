package events

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/rampart-cert/rampart/internal/queue"
	"github.com/rampart-cert/rampart/internal/store"
)

// RelayOptions tune a Relay. Zero values take the defaults noted.
type RelayOptions struct {
	Interval   time.Duration // how often an idle relay looks at the outbox; 0: 100ms
	Batch      int           // messages read and published at a time; 0: 4000
	MaxBackoff time.Duration // longest wait after repeated failures; 0: 10s
	Timeout    time.Duration // bound on one publish of a batch; 0: 30s
	Logger     *slog.Logger
}

// Relay publishes the store's outbox on the queue. See the package
// documentation for the guarantees.
type Relay struct {
	src  store.Outbox
	q    queue.Queue
	o    RelayOptions
	wake chan struct{}

	published atomic.Int64
}

// NewRelay returns a relay from src to q; Run starts it.
func NewRelay(src store.Outbox, q queue.Queue, o RelayOptions) *Relay {
	if o.Interval <= 0 {
		o.Interval = 100 * time.Millisecond
	}
	if o.Batch <= 0 {
		o.Batch = 4000
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 10 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Relay{src: src, q: q, o: o, wake: make(chan struct{}, 1)}
}

// Notify wakes an idle relay at once, e.g. after a commit that wrote
// events. It never blocks.
func (r *Relay) Notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Published is how many messages the relay has published so far
// (republished ones count again).
func (r *Relay) Published() int64 { return r.published.Load() }

// Run relays until ctx ends, and returns ctx's error. Errors are logged
// and retried with backoff, from the oldest message not yet deleted.
func (r *Relay) Run(ctx context.Context) error {
	failures := 0
	idle := time.NewTimer(r.o.Interval)
	defer idle.Stop()
	for {
		n, err := r.Once(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var wait time.Duration
		switch {
		case err != nil:
			failures++
			wait = backoff(failures, r.o.MaxBackoff)
			r.o.Logger.Warn("events: relay failed; will retry", "err", err, "failures", failures, "retry_in", wait)
		case n == r.o.Batch:
			failures = 0
			continue // a backlog: no pause
		default:
			failures = 0
			wait = r.o.Interval
		}
		idle.Reset(wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.wake:
			if err != nil {
				// A write does not cure a failing queue or database:
				// keep the backoff.
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-idle.C:
				}
			}
		case <-idle.C:
		}
	}
}

// backoff is 100ms doubled per consecutive failure, at most max.
func backoff(failures int, max time.Duration) time.Duration {
	d := 100 * time.Millisecond
	for i := 1; i < failures && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

// Once publishes up to one batch of the oldest outbox messages and deletes
// them, and reports how many it relayed. Run calls it in a loop; tests and
// tools may call it directly.
func (r *Relay) Once(ctx context.Context) (int, error) {
	msgs, err := r.src.OutboxPending(ctx, r.o.Batch)
	if err != nil {
		return 0, fmt.Errorf("events: relay: read outbox: %w", err)
	}
	if len(msgs) == 0 {
		return 0, nil
	}
	pctx, cancel := context.WithTimeout(ctx, r.o.Timeout)
	defer cancel()
	if err := r.publish(pctx, msgs); err != nil {
		return 0, fmt.Errorf("events: relay: %w", err)
	}
	r.published.Add(int64(len(msgs)))
	ids := make([]int64, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	if err := r.src.OutboxDone(ctx, ids); err != nil {
		// Published but not deleted: the next pass publishes them again,
		// which the queue and the consumers ignore.
		return 0, fmt.Errorf("events: relay: delete from outbox: %w", err)
	}
	return len(msgs), nil
}

// publish stores msgs on the queue in order: in one batch when the queue
// can, else one at a time.
func (r *Relay) publish(ctx context.Context, msgs []store.OutboxMessage) error {
	if bp, ok := r.q.(queue.BatchPublisher); ok {
		out := make([]queue.Outgoing, len(msgs))
		for i, m := range msgs {
			out[i] = queue.Outgoing{Subject: m.Subject, Data: m.Data, MsgID: m.MsgID}
		}
		return bp.PublishBatch(ctx, out)
	}
	for _, m := range msgs {
		if err := r.q.Publish(ctx, m.Subject, m.Data, m.MsgID, nil); err != nil {
			return err
		}
	}
	return nil
}
