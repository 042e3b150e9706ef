package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/queue"
)

// ErrMalformed is wrapped by DecodeChange for a message that is not a
// finding change.
var ErrMalformed = errors.New("events: malformed finding event")

// findingPrefix starts the subject of every finding event.
const findingPrefix = queue.SubjectEvents + ".finding."

// FindingSubjects is the filter subject of every finding event.
const FindingSubjects = findingPrefix + ">"

// FindingSubject is the subject of finding changes of kind k.
func FindingSubject(k finding.ChangeKind) string { return findingPrefix + string(k) }

// DecodeChange reads the finding change a message carries.
func DecodeChange(m *queue.Message) (finding.Change, error) {
	var c finding.Change
	if !strings.HasPrefix(m.Subject, findingPrefix) {
		return c, fmt.Errorf("%w: subject %q", ErrMalformed, m.Subject)
	}
	if err := json.Unmarshal(m.Data, &c); err != nil {
		return c, fmt.Errorf("%w: %s: %v", ErrMalformed, m.Subject, err)
	}
	if c.Kind == "" || c.Finding.Key == "" || FindingSubject(c.Kind) != m.Subject {
		return c, fmt.Errorf("%w: %s: kind %q, finding %q", ErrMalformed, m.Subject, c.Kind, c.Finding.Key)
	}
	return c, nil
}

// briefChange is the part of a finding.Change that DecodeBrief reads; its
// JSON names are the change's.
type briefChange struct {
	Kind    finding.ChangeKind `json:"kind"`
	Finding struct {
		ID        int64            `json:"id"`
		Key       string           `json:"key"`
		OrgID     int64            `json:"org_id"`
		AssetID   int64            `json:"asset_id"`
		Source    finding.Source   `json:"source"`
		SourceRef string           `json:"source_ref"`
		Check     string           `json:"check"`
		Family    string           `json:"family"`
		Severity  finding.Severity `json:"severity"`
		Target    string           `json:"target"`
		Subject   string           `json:"subject"`
		Title     string           `json:"title"`
		CVE       []string         `json:"cve"`
		KEV       bool             `json:"kev"`
		State     finding.State    `json:"state"`
		DueAt     *time.Time       `json:"due_at"`
	} `json:"finding"`
	At     time.Time      `json:"at"`
	Action finding.Action `json:"action"`
	From   finding.State  `json:"from"`
	To     finding.State  `json:"to"`
	Actor  string         `json:"actor"`
}

// DecodeBrief is DecodeChange without what only a finding's page shows:
// the change's kind, time, action, states and actor, and its finding's ID,
// key, organization, asset, source, check, family, severity, target,
// subject, title, CVE, KEV, state and due date. The evidence, the first,
// last seen, fix and update times and the acceptance stay zero. It costs
// less than DecodeChange, for consumers that list findings (alerts).
func DecodeBrief(m *queue.Message) (finding.Change, error) {
	var (
		b briefChange
		c finding.Change
	)
	if !strings.HasPrefix(m.Subject, findingPrefix) {
		return c, fmt.Errorf("%w: subject %q", ErrMalformed, m.Subject)
	}
	if err := json.Unmarshal(m.Data, &b); err != nil {
		return c, fmt.Errorf("%w: %s: %v", ErrMalformed, m.Subject, err)
	}
	f := &b.Finding
	c = finding.Change{Kind: b.Kind, At: b.At, Action: b.Action, From: b.From, To: b.To, Actor: b.Actor,
		Finding: finding.Finding{ID: f.ID, Key: f.Key, OrgID: f.OrgID, AssetID: f.AssetID, Source: f.Source, SourceRef: f.SourceRef,
			Check: f.Check, Family: f.Family, Severity: f.Severity, Target: f.Target, Subject: f.Subject, Title: f.Title,
			CVE: f.CVE, KEV: f.KEV, State: f.State, DueAt: f.DueAt}}
	if c.Kind == "" || c.Finding.Key == "" || FindingSubject(c.Kind) != m.Subject {
		return c, fmt.Errorf("%w: %s: kind %q, finding %q", ErrMalformed, m.Subject, c.Kind, c.Finding.Key)
	}
	return c, nil
}

// ConsumeOptions configure a consumer of finding events. Zero values take
// the defaults noted.
type ConsumeOptions struct {
	Durable string        // the durable consumer's name, e.g. "notifier"; required
	Filter  string        // a subject under FindingSubjects; "": every finding event
	AckWait time.Duration // redelivery after this long without an ack; 0: 30s
	// MaxBatch is how many changes ConsumeFindingBatches hands over at
	// most in one call; 0: 4000 (a larger batch amortizes the store write of each batch).
	MaxBatch int
	// Concurrency is how many messages are in flight at once; 0: 1 for
	// ConsumeFindings, 2×MaxBatch for ConsumeFindingBatches.
	Concurrency int
	// Brief hands the handler changes read by DecodeBrief: cheaper, for
	// handlers that need only what a list of findings shows.
	Brief  bool
	Logger *slog.Logger
}

func (o *ConsumeOptions) defaults(batch bool) error {
	if o.Durable == "" {
		return fmt.Errorf("events: consume: no durable name: %w", queue.ErrInvalid)
	}
	if o.Filter == "" {
		o.Filter = FindingSubjects
	}
	if !strings.HasPrefix(o.Filter, findingPrefix) {
		return fmt.Errorf("events: consume %s: filter %q is not a finding subject: %w", o.Durable, o.Filter, queue.ErrInvalid)
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 4000
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 1
		if batch {
			o.Concurrency = 2 * o.MaxBatch
		}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

func (o ConsumeOptions) decoder() func(*queue.Message) (finding.Change, error) {
	if o.Brief {
		return DecodeBrief
	}
	return DecodeChange
}

func (o ConsumeOptions) config() queue.ConsumerConfig {
	return queue.ConsumerConfig{Stream: queue.StreamEvents, Durable: o.Durable, FilterSubject: o.Filter,
		AckWait: o.AckWait, MaxDeliver: -1, Concurrency: o.Concurrency}
}

// ConsumeFindings runs h for every finding event on the durable consumer
// o.Durable until ctx ends or the consumer is stopped. A change is
// acknowledged when h returns nil and redelivered later otherwise; h must
// be idempotent on the change's EventID.
func ConsumeFindings(ctx context.Context, q queue.Queue, o ConsumeOptions, h func(context.Context, finding.Change) error) (queue.Consumer, error) {
	if err := o.defaults(false); err != nil {
		return nil, err
	}
	log, decode := o.Logger, o.decoder()
	return q.Consume(ctx, o.config(), func(ctx context.Context, m *queue.Message) error {
		c, err := decode(m)
		if err != nil {
			log.Error("events: dropping a message that is not a finding change", "durable", o.Durable, "msg_id", m.ID, "err", err)
			return nil
		}
		return h(ctx, c)
	})
}

// ConsumeFindingBatches is ConsumeFindings for handlers that do better
// with many changes at once: the changes waiting (up to o.MaxBatch) go to
// one call of h, and each is acknowledged when that call returns nil. A
// queue.BatchConsumer fetches the batches itself; on another queue the
// changes being delivered concurrently are gathered. h must be idempotent
// on each change's EventID.
func ConsumeFindingBatches(ctx context.Context, q queue.Queue, o ConsumeOptions, h func(context.Context, []finding.Change) error) (queue.Consumer, error) {
	if err := o.defaults(true); err != nil {
		return nil, err
	}
	log, decode := o.Logger, o.decoder()
	if bc, ok := q.(queue.BatchConsumer); ok {
		// The queue delivers batches itself: one call per batch fetched.
		return bc.ConsumeBatch(ctx, o.config(), o.MaxBatch, func(ctx context.Context, ms []*queue.Message) error {
			changes := make([]finding.Change, 0, len(ms))
			for _, m := range ms {
				c, err := decode(m)
				if err != nil {
					log.Error("events: dropping a message that is not a finding change", "durable", o.Durable, "msg_id", m.ID, "err", err)
					continue
				}
				changes = append(changes, c)
			}
			if len(changes) == 0 {
				return nil
			}
			return h(ctx, changes)
		})
	}
	bctx, cancel := context.WithCancel(ctx)
	b := &batcher{in: make(chan pending), h: h, max: o.MaxBatch}
	b.wg.Go(func() { b.run(bctx) })
	c, err := q.Consume(ctx, o.config(), func(ctx context.Context, m *queue.Message) error {
		ch, err := decode(m)
		if err != nil {
			log.Error("events: dropping a message that is not a finding change", "durable", o.Durable, "msg_id", m.ID, "err", err)
			return nil
		}
		return b.do(ctx, ch)
	})
	if err != nil {
		cancel()
		b.wg.Wait()
		return nil, err
	}
	return &batchConsumer{Consumer: c, stop: func() { cancel(); b.wg.Wait() }}, nil
}

// batchConsumer stops the batcher after the queue's consumer.
type batchConsumer struct {
	queue.Consumer
	stop func()
}

func (c *batchConsumer) Stop() {
	c.Consumer.Stop()
	c.stop()
}

// pending is one change waiting for its batch's outcome.
type pending struct {
	c    finding.Change
	done chan error
}

// batcher gathers the changes of concurrent handlers into calls of h.
type batcher struct {
	in  chan pending
	h   func(context.Context, []finding.Change) error
	max int
	wg  sync.WaitGroup
}

// linger is how long a batch waits for more changes after the last one
// arrived, once the changes already waiting are taken.
const linger = time.Millisecond

func (b *batcher) do(ctx context.Context, c finding.Change) error {
	p := pending{c: c, done: make(chan error, 1)}
	select {
	case b.in <- p:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *batcher) run(ctx context.Context) {
	t := time.NewTimer(linger)
	defer t.Stop()
	for {
		var batch []pending
		select {
		case p := <-b.in:
			batch = append(batch, p)
		case <-ctx.Done():
			return
		}
	gather:
		for len(batch) < b.max {
			select {
			case p := <-b.in:
				batch = append(batch, p)
				continue
			default:
			}
			t.Reset(linger)
			select {
			case p := <-b.in:
				batch = append(batch, p)
			case <-t.C:
				break gather
			case <-ctx.Done():
				break gather
			}
		}
		changes := make([]finding.Change, len(batch))
		for i, p := range batch {
			changes[i] = p.c
		}
		err := b.call(ctx, changes)
		for _, p := range batch {
			p.done <- err
		}
	}
}

// call runs h, turning a panic into an error so one bad batch does not
// stop the consumer.
func (b *batcher) call(ctx context.Context, changes []finding.Change) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("events: batch handler panic: %v", r)
		}
	}()
	if err := ctx.Err(); err != nil {
		return err
	}
	return b.h(ctx, changes)
}
