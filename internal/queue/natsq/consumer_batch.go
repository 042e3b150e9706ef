package natsq

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rampart-cert/rampart/internal/queue"
)

var _ queue.BatchConsumer = (*Queue)(nil)

// ConsumeBatch creates or updates the durable pull consumer cfg.Durable and
// hands h the messages waiting, up to max at a time, one batch after the
// other, until ctx ends or Stop is called. It takes what is waiting at once
// (no wait for a batch to fill), and when nothing is, waits for the next
// message. A batch is acknowledged when h returns nil (without waiting
// for the server's confirmation: a lost ack redelivers, which idempotent
// handlers ignore) and negatively acknowledged with a growing delay
// otherwise. While h runs, the batch is kept in progress.
func (q *Queue) ConsumeBatch(ctx context.Context, cfg queue.ConsumerConfig, size int, h queue.BatchHandler) (queue.Consumer, error) {
	if q.isClosed() {
		return nil, fmt.Errorf("natsq: consume %s: %w", cfg.Durable, queue.ErrClosed)
	}
	if h == nil || size < 1 {
		return nil, fmt.Errorf("natsq: consume %s: nil handler or batch size below 1: %w", cfg.Durable, queue.ErrInvalid)
	}
	cfg.Concurrency = 1
	cfg, err := withDefaults(cfg)
	if err != nil {
		return nil, err
	}
	// Up to three batches are out at once: one handled, one waiting, one
	// being fetched.
	jcfg := jetstreamConfig(cfg)
	jcfg.MaxAckPending = max(4*size, 1000)
	c := &consumer{
		q:    q,
		log:  q.log.With("stream", cfg.Stream, "durable", cfg.Durable),
		cfg:  cfg,
		jcfg: jcfg,
		sem:  make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	if err := c.ensure(ctx); err != nil {
		return nil, err
	}
	c.fetchCtx, c.stopFetch = context.WithCancel(ctx)
	c.handlerCtx, c.cancelHand = context.WithCancel(ctx)
	if !q.addConsumer(c) {
		c.stopFetch()
		c.cancelHand()
		return nil, fmt.Errorf("natsq: consume %s: %w", cfg.Durable, queue.ErrClosed)
	}
	go c.runBatches(size, h)
	return c, nil
}

func (c *consumer) runBatches(size int, h queue.BatchHandler) {
	defer close(c.done)
	defer c.q.removeConsumer(c)
	defer c.cancelHand()
	// The next batch is fetched while the handler works on this one.
	batches := make(chan []jetstream.Msg, 1)
	go func() {
		defer close(batches)
		c.fetchBatches(size, batches)
	}()
	for msgs := range batches {
		if c.fetchCtx.Err() != nil {
			for _, m := range msgs {
				m.Nak()
			}
			continue
		}
		c.handleBatch(msgs, h)
	}
}

// fetchBatches sends batches until fetching stops.
func (c *consumer) fetchBatches(size int, out chan<- []jetstream.Msg) {
	failures := 0
	for c.fetchCtx.Err() == nil {
		msgs, err := c.fetchBatch(size)
		if len(msgs) > 0 {
			out <- msgs
		}
		if c.fetchCtx.Err() != nil {
			return
		}
		if err == nil {
			failures = 0
			continue
		}
		failures++
		if !c.recover(err, failures) {
			return
		}
	}
}

// fetchBatch returns the messages waiting, up to max; when there are none
// it waits up to pullWait for one, then takes what came with it.
func (c *consumer) fetchBatch(size int) ([]jetstream.Msg, error) {
	collect := func(b jetstream.MessageBatch, out []jetstream.Msg) ([]jetstream.Msg, error) {
		for m := range b.Messages() {
			out = append(out, m)
		}
		err := b.Error()
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.Is(err, nats.ErrTimeout) {
			err = nil
		}
		return out, err
	}
	b, err := c.cons.FetchNoWait(size)
	if err != nil {
		return nil, err
	}
	msgs, err := collect(b, nil)
	if err != nil || len(msgs) > 0 {
		return msgs, err
	}
	ctx, cancel := context.WithTimeout(c.fetchCtx, pullWait)
	defer cancel()
	b, err = c.cons.Fetch(1, jetstream.FetchContext(ctx))
	if err != nil {
		return nil, err
	}
	if msgs, err = collect(b, msgs); err != nil || len(msgs) == 0 || size == 1 {
		return msgs, err
	}
	b, err = c.cons.FetchNoWait(size - 1)
	if err != nil {
		return msgs, nil
	}
	more, _ := collect(b, nil)
	return append(msgs, more...), nil
}

func (c *consumer) handleBatch(jms []jetstream.Msg, h queue.BatchHandler) {
	ms := make([]*queue.Message, len(jms))
	for i, jm := range jms {
		ms[i] = toMessage(jm)
	}
	stopTick := make(chan struct{})
	ticking := make(chan struct{})
	go func() {
		defer close(ticking)
		t := time.NewTicker(max(c.cfg.AckWait/2, 10*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-stopTick:
				return
			case <-t.C:
				for _, jm := range jms {
					jm.InProgress()
				}
			}
		}
	}()
	err := c.callBatch(ms, h)
	close(stopTick)
	<-ticking
	if err == nil {
		for _, jm := range jms {
			if err := jm.Ack(); err != nil {
				c.log.Debug("ack failed; message may be redelivered", "err", err)
			}
		}
		return
	}
	if c.handlerCtx.Err() != nil {
		for _, jm := range jms {
			jm.Nak()
		}
		return
	}
	c.log.Warn("batch handler failed; will retry", "err", err, "messages", len(jms))
	for i, jm := range jms {
		if nerr := jm.NakWithDelay(nakDelay(ms[i].Attempt)); nerr != nil {
			c.log.Debug("nak failed; message will be redelivered after AckWait", "err", nerr)
		}
	}
}

// callBatch runs the handler, turning a panic into an error.
func (c *consumer) callBatch(ms []*queue.Message, h queue.BatchHandler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("batch handler panicked", "messages", len(ms), "panic", r)
			err = fmt.Errorf("natsq: handler panic: %v", r)
		}
	}()
	return h(c.handlerCtx, ms)
}
