package natsq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rampart-cert/rampart/internal/queue"
)

// Consumer defaults and limits.
const (
	defaultAckWait    = 30 * time.Second
	defaultMaxDeliver = 10
	// pullWait is how long one pull request waits for messages; it also
	// bounds how stale a pull left on the server by Stop can be.
	pullWait = 5 * time.Second
	// ackTimeout bounds waiting for the server to confirm an ack.
	ackTimeout = 5 * time.Second
	// nakBase and nakMax shape the redelivery delay after a handler
	// error: nakBase doubled per attempt, at most nakMax.
	nakBase = time.Second
	nakMax  = 5 * time.Minute
	// backOffSteps is how many growing ack-timeout steps the server uses
	// to redeliver messages whose consumer died.
	backOffSteps = 5
	backOffMax   = 15 * time.Minute
)

var _ queue.Consumer = (*consumer)(nil)

type consumer struct {
	q    *Queue
	log  *slog.Logger
	h    queue.Handler
	cfg  queue.ConsumerConfig
	jcfg jetstream.ConsumerConfig
	cons jetstream.Consumer // owned by run

	fetchCtx   context.Context // ends fetching: Stop, Close or ctx
	stopFetch  context.CancelFunc
	handlerCtx context.Context // given to handlers: ends on Close or ctx
	cancelHand context.CancelFunc

	sem  chan struct{} // one slot per running handler
	wg   sync.WaitGroup
	done chan struct{} // closed when run and every handler returned
}

// Consume creates or updates the durable pull consumer cfg.Durable on
// cfg.Stream and runs h for its messages until ctx ends or Stop is called.
// See the package documentation for acknowledgement and redelivery.
func (q *Queue) Consume(ctx context.Context, cfg queue.ConsumerConfig, h queue.Handler) (queue.Consumer, error) {
	if q.isClosed() {
		return nil, fmt.Errorf("natsq: consume %s: %w", cfg.Durable, queue.ErrClosed)
	}
	if h == nil {
		return nil, fmt.Errorf("natsq: consume %s: nil handler: %w", cfg.Durable, queue.ErrInvalid)
	}
	cfg, err := withDefaults(cfg)
	if err != nil {
		return nil, err
	}
	c := &consumer{
		q:    q,
		log:  q.log.With("stream", cfg.Stream, "durable", cfg.Durable),
		h:    h,
		cfg:  cfg,
		jcfg: jetstreamConfig(cfg),
		sem:  make(chan struct{}, cfg.Concurrency),
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
	go c.run()
	return c, nil
}

func withDefaults(cfg queue.ConsumerConfig) (queue.ConsumerConfig, error) {
	bad := func(why string) error {
		return fmt.Errorf("natsq: consume %s/%s: %s: %w", cfg.Stream, cfg.Durable, why, queue.ErrInvalid)
	}
	switch {
	case cfg.Stream == "":
		return cfg, bad("no stream")
	case cfg.Durable == "" || strings.ContainsAny(cfg.Durable, ".*> \t\r\n/\\"):
		return cfg, bad("durable name must be non-empty without '.', '*', '>', slashes or spaces")
	case strings.ContainsAny(cfg.FilterSubject, " \t\r\n"):
		return cfg, bad("filter subject has spaces")
	case cfg.AckWait < 0, cfg.Concurrency < 0, cfg.MaxDeliver < -1, cfg.RetryMax < 0:
		return cfg, bad("negative AckWait, Concurrency, MaxDeliver or RetryMax")
	}
	if cfg.AckWait == 0 {
		cfg.AckWait = defaultAckWait
	}
	if cfg.MaxDeliver == 0 {
		cfg.MaxDeliver = defaultMaxDeliver
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 1
	}
	return cfg, nil
}

func jetstreamConfig(cfg queue.ConsumerConfig) jetstream.ConsumerConfig {
	jc := jetstream.ConsumerConfig{
		Durable:       cfg.Durable,
		Description:   "rampart " + cfg.Durable,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.AckWait,
		MaxDeliver:    cfg.MaxDeliver,
		BackOff:       backOff(cfg.AckWait, cfg.MaxDeliver),
		FilterSubject: cfg.FilterSubject,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
	if cfg.RetryMax > 0 {
		// The server adds a BackOff step to every NAK delay (it dates a
		// NAKed message AckWait back and then waits the step), so a
		// consumer that wants its short retries must have none: a
		// message of a dead consumer then comes back after AckWait.
		jc.BackOff = nil
	}
	return jc
}

// backOff is the server's redelivery schedule for messages nobody acked in
// time (a dead worker): AckWait first, then doubling. JetStream wants fewer
// steps than MaxDeliver.
func backOff(ackWait time.Duration, maxDeliver int) []time.Duration {
	n := backOffSteps
	if maxDeliver > 0 {
		n = min(n, maxDeliver-1)
	}
	if n < 2 {
		return nil
	}
	steps := make([]time.Duration, n)
	d := ackWait
	for i := range steps {
		steps[i] = d
		d = min(2*d, max(ackWait, backOffMax))
	}
	return steps
}

// nakDelay is how long a message whose handler failed waits before its
// next attempt.
func nakDelay(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	if attempt > 20 {
		return nakMax
	}
	return min(nakBase<<(attempt-1), nakMax)
}

// ensure creates or updates the JetStream consumer, retrying races with
// other processes and a cluster without a leader.
func (c *consumer) ensure(ctx context.Context) error {
	var err error
	for attempt := 1; attempt <= 5; attempt++ {
		var cons jetstream.Consumer
		cons, err = c.q.js.CreateOrUpdateConsumer(ctx, c.cfg.Stream, c.jcfg)
		if err == nil {
			c.cons = cons
			return nil
		}
		if c.jcfg.BackOff != nil && backOffRefused(err) {
			// Servers before 2.10 want MaxDeliver > len(BackOff) even
			// for unlimited delivery (-1): such a consumer redelivers
			// after AckWait each time instead of backing off.
			c.log.Warn("the NATS server refuses a redelivery back-off with unlimited deliveries; redelivering every AckWait", "consumer", c.cfg.Durable, "err", err)
			c.jcfg.BackOff = nil
			attempt--
			continue
		}
		if !retryableConsumerSetup(err) {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("natsq: consumer %s/%s: %w (last error: %v)", c.cfg.Stream, c.cfg.Durable, ctx.Err(), err)
		case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
		}
	}
	return fmt.Errorf("natsq: consumer %s/%s: %w", c.cfg.Stream, c.cfg.Durable, err)
}

// jsErrCodeMaxDeliverBackOff is the server's "max deliver is required to
// be > length of backoff values" (NATS_JS_CONSUMER_MAX_DELIVER_BACKOFF).
const jsErrCodeMaxDeliverBackOff jetstream.ErrorCode = 10116

func backOffRefused(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jsErrCodeMaxDeliverBackOff
}

func retryableConsumerSetup(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case jetstream.JSErrCodeConsumerExists, jetstream.JSErrCodeConsumerNameExists,
			jetstream.JSErrCodeConsumerAlreadyExists, jetstream.JSErrCodeConsumerDoesNotExist,
			jetstream.JSErrCodeConsumerCreate:
			return true
		}
		return apiErr.Code == 503 || apiErr.Code == 500
	}
	return errors.Is(err, nats.ErrTimeout) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, nats.ErrConnectionReconnecting) || errors.Is(err, context.DeadlineExceeded)
}

// Stop ends fetching and waits for running handlers to return. Handlers
// keep their context; messages fetched but not yet started are left to
// redeliver.
func (c *consumer) Stop() { c.shutdown(false) }

// shutdown stops fetching; with cancel (from Close) it also cancels the
// handlers' context and waits at most closeGrace for them.
func (c *consumer) shutdown(cancel bool) {
	c.stopFetch()
	if !cancel {
		<-c.done
		return
	}
	c.cancelHand()
	select {
	case <-c.done:
	case <-time.After(closeGrace):
		c.log.Warn("handlers still running after close; their messages will be redelivered", "grace", closeGrace)
	}
}

// run pulls as many messages as there are free handler slots, so nothing
// sits in a client buffer while its AckWait runs out, and hands each to a
// handler goroutine.
func (c *consumer) run() {
	defer close(c.done)
	defer c.q.removeConsumer(c)
	defer c.wg.Wait()
	defer c.cancelHand()

	failures := 0
	for {
		select {
		case c.sem <- struct{}{}:
		case <-c.fetchCtx.Done():
			return
		}
		n := 1
	more:
		for n < cap(c.sem) {
			select {
			case c.sem <- struct{}{}:
				n++
			default:
				break more
			}
		}

		got, err := c.fetch(n)
		for range n - got {
			<-c.sem
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

// fetch pulls up to n messages within pullWait and starts a handler for
// each, reporting how many it started. The caller holds n slots; each
// started handler releases one.
func (c *consumer) fetch(n int) (int, error) {
	ctx, cancel := context.WithTimeout(c.fetchCtx, pullWait)
	defer cancel()
	batch, err := c.cons.Fetch(n, jetstream.FetchContext(ctx))
	if err != nil {
		return 0, err
	}
	got := 0
	for m := range batch.Messages() {
		got++
		c.wg.Add(1)
		go c.handle(m)
	}
	err = batch.Error()
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		err = nil
	}
	return got, err
}

// recreate reports fetch errors that mean the consumer is gone from the
// server (deleted, or lost with a non-replicated stream).
func recreate(err error) bool {
	return errors.Is(err, jetstream.ErrConsumerDeleted) ||
		errors.Is(err, jetstream.ErrConsumerNotFound) ||
		errors.Is(err, jetstream.ErrConsumerDoesNotExist) ||
		errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, jetstream.ErrNoHeartbeat)
}

func (c *consumer) handle(jm jetstream.Msg) {
	defer c.wg.Done()
	defer func() { <-c.sem }()

	m := toMessage(jm)
	log := c.log.With("subject", m.Subject, "msg_id", m.ID, "attempt", m.Attempt)

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
				if err := jm.InProgress(); err != nil {
					log.Debug("in-progress signal failed", "err", err)
				}
			}
		}
	}()
	err := c.call(m)
	close(stopTick)
	<-ticking

	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), ackTimeout)
		defer cancel()
		if err := jm.DoubleAck(ctx); err != nil {
			log.Warn("ack failed; message may be redelivered", "err", err)
		}
		return
	}
	if c.handlerCtx.Err() != nil {
		// Shutting down: hand the message back at once.
		if nerr := jm.Nak(); nerr != nil {
			log.Debug("nak on shutdown failed", "err", nerr)
		}
		return
	}
	delay := nakDelay(m.Attempt)
	if c.cfg.RetryMax > 0 {
		delay = min(delay, c.cfg.RetryMax)
	}
	if c.cfg.MaxDeliver > 0 && m.Attempt >= c.cfg.MaxDeliver {
		log.Error("handler failed on the last attempt; message will not be redelivered", "err", err)
	} else {
		log.Warn("handler failed; will retry", "err", err, "delay", delay)
	}
	if nerr := jm.NakWithDelay(delay); nerr != nil {
		log.Warn("nak failed; message will be redelivered after AckWait", "err", nerr)
	}
}

// call runs the handler, turning a panic into an error.
func (c *consumer) call(m *queue.Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("handler panicked", "subject", m.Subject, "msg_id", m.ID, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("natsq: handler panic: %v", r)
		}
	}()
	return c.h(c.handlerCtx, m)
}

func toMessage(jm jetstream.Msg) *queue.Message {
	m := &queue.Message{
		Subject:  jm.Subject(),
		Data:     jm.Data(),
		Attempt:  1,
		Received: time.Now(),
	}
	if md, err := jm.Metadata(); err == nil && md.NumDelivered > 0 {
		m.Attempt = int(md.NumDelivered)
	}
	for k, vs := range jm.Headers() {
		if len(vs) == 0 {
			continue
		}
		if strings.HasPrefix(strings.ToLower(k), "nats-") {
			if strings.EqualFold(k, jetstream.MsgIDHeader) {
				m.ID = vs[0]
			}
			continue
		}
		if m.Header == nil {
			m.Header = make(map[string]string)
		}
		m.Header[k] = vs[0]
	}
	return m
}

// recover handles the failures-th failed fetch in a row: it stops the
// fetch loop (false) when the connection is closed, and otherwise waits a
// growing while and recreates the consumer if the server lost it.
func (c *consumer) recover(err error, failures int) bool {
	if errors.Is(err, nats.ErrConnectionClosed) {
		if !c.q.isClosed() {
			c.log.Warn("connection closed; consumer stops", "err", err)
		}
		return false
	}
	c.log.Warn("fetch failed", "err", err, "failures", failures)
	select {
	case <-c.fetchCtx.Done():
		return false
	case <-time.After(time.Duration(min(failures, 10)) * 500 * time.Millisecond):
	}
	if recreate(err) {
		if err := c.ensure(c.fetchCtx); err != nil && c.fetchCtx.Err() == nil {
			c.log.Warn("recreating consumer failed", "err", err)
		}
	}
	return true
}
