// Package queuetest is a conformance suite for queue.Queue implementations.
// A driver's tests call Run with a Harness that opens connections to one
// server; the suite then checks delivery, acknowledgement, deduplication,
// redelivery, subject filters, concurrency and, for queues that are also
// a queue.KVStore, key-value buckets the same way for every driver and
// deployment (embedded or external).
//
// The suite only publishes to subjects and creates durables that carry a
// token unique to the run, so it can run repeatedly against a shared
// server. It consumes what it publishes and deletes the consumers it
// creates when the queue implements ConsumerDeleter.
//
// It imports only the queue contract and the standard library.
package queuetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/queue"
)

// Harness connects the suite to one queue deployment.
type Harness struct {
	// Open returns a new connection to the deployment under test. Every
	// call within one test must reach the same server. The suite closes
	// what it opens.
	Open func(t *testing.T) queue.Queue
	// Kill drops q's connection at once, as if its process died: nothing
	// is acknowledged or negatively acknowledged afterwards.
	Kill func(t *testing.T, q queue.Queue)
}

// ConsumerDeleter is implemented by queues that can remove a durable
// consumer; the suite uses it to clean up after itself.
type ConsumerDeleter interface {
	DeleteConsumer(ctx context.Context, stream, durable string) error
}

// KVDeleter is implemented by queues that can remove a key-value bucket;
// the suite uses it to clean up after itself.
type KVDeleter interface {
	DeleteKeyValue(ctx context.Context, bucket string) error
}

// Run runs the suite. Subtests run in parallel.
func Run(t *testing.T, h Harness) {
	run := runID()
	tests := []struct {
		name string
		fn   func(*testing.T, *env)
	}{
		{"PublishConsumeAck", testPublishConsumeAck},
		{"Dedup", testDedup},
		{"RedeliveryAfterConsumerDies", testRedeliveryAfterConsumerDies},
		{"HandlerErrorRetried", testHandlerErrorRetried},
		{"HandlerPanicRetried", testHandlerPanicRetried},
		{"RegionFilter", testRegionFilter},
		{"Concurrency", testConcurrency},
		{"LongHandlerNotRedelivered", testLongHandlerNotRedelivered},
		{"SharedDurable", testSharedDurable},
		{"EventsFanOut", testEventsFanOut},
		{"StopWaitsForHandlers", testStopWaitsForHandlers},
		{"ContextEndStopsConsumer", testContextEndStopsConsumer},
		{"PingCloseInvalid", testPingCloseInvalid},
		{"KeyValue", testKeyValue},
		{"KeyValueEntries", testKeyValueEntries},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
			t.Cleanup(cancel)
			e := &env{h: h, ctx: ctx, tok: fmt.Sprintf("%s-%d", run, i)}
			tc.fn(t, e)
		})
	}
}

// runID is unique per run so names never collide on a shared server.
func runID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("qt%x%s", time.Now().Unix(), hex.EncodeToString(b[:]))
}

type env struct {
	h   Harness
	ctx context.Context
	tok string // unique token for subjects and durables

	mu   sync.Mutex
	uses map[string]int // consumers started per durable
}

func (e *env) open(t *testing.T) queue.Queue {
	t.Helper()
	q := e.h.Open(t)
	t.Cleanup(func() { _ = q.Close() })
	return q
}

// jobSubject is rampart.jobs.<region>.<type> with a region unique to the test.
func (e *env) jobSubject(region, typ string) string {
	return fmt.Sprintf("%s.%s-%s.%s", queue.SubjectJobs, e.tok, region, typ)
}

func (e *env) jobFilter(region string) string {
	return fmt.Sprintf("%s.%s-%s.>", queue.SubjectJobs, e.tok, region)
}

func (e *env) durable(name string) string { return e.tok + "-" + name }

func (e *env) msgID(s string) string { return e.tok + "/" + s }

// consume starts a consumer and stops (and deletes) it at cleanup.
func (e *env) consume(t *testing.T, q queue.Queue, cfg queue.ConsumerConfig, h queue.Handler) queue.Consumer {
	t.Helper()
	c, err := q.Consume(e.ctx, cfg, h)
	if err != nil {
		t.Fatalf("Consume %s: %v", cfg.Durable, err)
	}
	e.mu.Lock()
	if e.uses == nil {
		e.uses = map[string]int{}
	}
	e.uses[cfg.Durable]++
	use := e.uses[cfg.Durable]
	e.mu.Unlock()
	t.Cleanup(func() {
		c.Stop()
		// The last consumer started on a durable deletes it; its queue
		// is the one most likely still connected.
		e.mu.Lock()
		last := e.uses[cfg.Durable] == use
		e.mu.Unlock()
		if d, ok := q.(ConsumerDeleter); ok && last {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := d.DeleteConsumer(ctx, cfg.Stream, cfg.Durable); err != nil && !errors.Is(err, queue.ErrClosed) {
				t.Logf("delete consumer %s: %v", cfg.Durable, err)
			}
		}
	})
	return c
}

func (e *env) publish(t *testing.T, q queue.Queue, subject, id string, data []byte, hdr map[string]string) {
	t.Helper()
	if err := q.Publish(e.ctx, subject, data, id, hdr); err != nil {
		t.Fatalf("Publish %s %s: %v", subject, id, err)
	}
}

// recorder keeps every delivery a handler saw.
type recorder struct {
	mu   sync.Mutex
	msgs []queue.Message
}

func (r *recorder) add(m *queue.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, *m)
}

func (r *recorder) all() []queue.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]queue.Message(nil), r.msgs...)
}

func (r *recorder) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

func (r *recorder) handler() queue.Handler {
	return func(_ context.Context, m *queue.Message) error {
		r.add(m)
		return nil
	}
}

// eventually polls cond until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *env) pendingIs(t *testing.T, q queue.Queue, stream, filter string, want uint64) {
	t.Helper()
	var got uint64
	var err error
	eventually(t, 5*time.Second, fmt.Sprintf("Pending(%s, %s) = %d", stream, filter, want), func() bool {
		got, err = q.Pending(e.ctx, stream, filter)
		return err == nil && got == want
	})
}

func testPublishConsumeAck(t *testing.T, e *env) {
	q := e.open(t)
	const n = 20
	subj := e.jobSubject("hanoi", "scan")
	for i := range n {
		e.publish(t, q, subj, e.msgID(fmt.Sprint(i)), []byte(fmt.Sprintf("job %d", i)), map[string]string{"Org": "42", "Seq": fmt.Sprint(i)})
	}
	e.pendingIs(t, q, queue.StreamJobs, e.jobFilter("hanoi"), n)

	var rec recorder
	e.consume(t, q, queue.ConsumerConfig{
		Stream: queue.StreamJobs, Durable: e.durable("w"), FilterSubject: e.jobFilter("hanoi"),
		AckWait: time.Second, Concurrency: 2,
	}, rec.handler())
	eventually(t, 10*time.Second, "all messages delivered", func() bool { return rec.len() >= n })
	e.pendingIs(t, q, queue.StreamJobs, e.jobFilter("hanoi"), 0)
	// Well past AckWait: acknowledged messages must not come back.
	time.Sleep(1500 * time.Millisecond)

	msgs := rec.all()
	if len(msgs) != n {
		t.Fatalf("got %d deliveries, want %d", len(msgs), n)
	}
	seen := map[string]bool{}
	for _, m := range msgs {
		if seen[m.ID] {
			t.Errorf("message %s delivered twice", m.ID)
		}
		seen[m.ID] = true
		if m.Attempt != 1 {
			t.Errorf("message %s: Attempt = %d, want 1", m.ID, m.Attempt)
		}
		if m.Subject != subj {
			t.Errorf("message %s: Subject = %q, want %q", m.ID, m.Subject, subj)
		}
		i := strings.TrimPrefix(m.ID, e.msgID(""))
		if want := "job " + i; string(m.Data) != want {
			t.Errorf("message %s: Data = %q, want %q", m.ID, m.Data, want)
		}
		if m.Header["Org"] != "42" || m.Header["Seq"] != i {
			t.Errorf("message %s: Header = %v", m.ID, m.Header)
		}
		if m.Received.IsZero() {
			t.Errorf("message %s: Received not set", m.ID)
		}
	}
}

func testDedup(t *testing.T, e *env) {
	q := e.open(t)
	subj := e.jobSubject("hanoi", "scan")
	e.publish(t, q, subj, e.msgID("a"), []byte("first"), nil)
	e.publish(t, q, subj, e.msgID("a"), []byte("second"), nil)
	e.publish(t, q, subj, e.msgID("b"), []byte("other"), nil)
	e.pendingIs(t, q, queue.StreamJobs, e.jobFilter("hanoi"), 2)

	var rec recorder
	e.consume(t, q, queue.ConsumerConfig{
		Stream: queue.StreamJobs, Durable: e.durable("w"), FilterSubject: e.jobFilter("hanoi"), AckWait: time.Second,
	}, rec.handler())
	eventually(t, 10*time.Second, "two deliveries", func() bool { return rec.len() >= 2 })
	time.Sleep(500 * time.Millisecond)
	msgs := rec.all()
	if len(msgs) != 2 {
		t.Fatalf("got %d deliveries, want 2: %v", len(msgs), msgs)
	}
	for _, m := range msgs {
		if m.ID == e.msgID("a") && string(m.Data) != "first" {
			t.Errorf("deduplicated message kept %q, want the first publish", m.Data)
		}
	}
}

func testRedeliveryAfterConsumerDies(t *testing.T, e *env) {
	victim := e.open(t)
	subj := e.jobSubject("hanoi", "scan")
	cfg := queue.ConsumerConfig{
		Stream: queue.StreamJobs, Durable: e.durable("w"), FilterSubject: e.jobFilter("hanoi"), AckWait: time.Second,
	}
	started := make(chan int, 1)
	e.consume(t, victim, cfg, func(ctx context.Context, m *queue.Message) error {
		select {
		case started <- m.Attempt:
		default:
		}
		<-ctx.Done() // a scan that never finishes before the process dies
		return ctx.Err()
	})
	e.publish(t, victim, subj, e.msgID("job"), []byte("scan me"), nil)
	select {
	case a := <-started:
		if a != 1 {
			t.Fatalf("first delivery Attempt = %d, want 1", a)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("first delivery never came")
	}
	killed := time.Now()
	e.h.Kill(t, victim)

	survivor := e.open(t)
	var rec recorder
	e.consume(t, survivor, cfg, rec.handler())
	eventually(t, 15*time.Second, "redelivery to the surviving consumer", func() bool { return rec.len() >= 1 })
	m := rec.all()[0]
	if m.Attempt < 2 {
		t.Errorf("redelivered Attempt = %d, want > 1", m.Attempt)
	}
	if m.ID != e.msgID("job") || string(m.Data) != "scan me" {
		t.Errorf("redelivered %s %q", m.ID, m.Data)
	}
	t.Logf("redelivered %s after the kill, attempt %d", time.Since(killed).Round(time.Millisecond), m.Attempt)
	e.pendingIs(t, survivor, queue.StreamJobs, e.jobFilter("hanoi"), 0)
}

func testHandlerErrorRetried(t *testing.T, e *env) {
	testRetried(t, e, func(m *queue.Message) error {
		return fmt.Errorf("transient failure on attempt %d", m.Attempt)
	})
}

func testHandlerPanicRetried(t *testing.T, e *env) {
	testRetried(t, e, func(m *queue.Message) error {
		panic(fmt.Sprintf("handler bug on attempt %d", m.Attempt))
	})
}

// testRetried checks that a first attempt failing with fail is retried and
// the second attempt's success is final.
func testRetried(t *testing.T, e *env, fail func(*queue.Message) error) {
	q := e.open(t)
	var rec recorder
	e.consume(t, q, queue.ConsumerConfig{
		Stream: queue.StreamResults, Durable: e.durable("ingest"),
		FilterSubject: queue.SubjectResults + "." + e.tok + ".>", AckWait: 2 * time.Second,
	}, func(_ context.Context, m *queue.Message) error {
		rec.add(m)
		if m.Attempt == 1 {
			return fail(m)
		}
		return nil
	})
	e.publish(t, q, queue.SubjectResults+"."+e.tok+".port", e.msgID("r"), []byte("result"), nil)
	eventually(t, 15*time.Second, "second attempt", func() bool { return rec.len() >= 2 })
	e.pendingIs(t, q, queue.StreamResults, queue.SubjectResults+"."+e.tok+".>", 0)
	time.Sleep(500 * time.Millisecond)
	msgs := rec.all()
	if len(msgs) != 2 || msgs[0].Attempt != 1 || msgs[1].Attempt != 2 {
		var as []int
		for _, m := range msgs {
			as = append(as, m.Attempt)
		}
		t.Fatalf("attempts = %v, want [1 2]", as)
	}
}

func testRegionFilter(t *testing.T, e *env) {
	q := e.open(t)
	for i := range 3 {
		e.publish(t, q, e.jobSubject("hcm", "scan"), e.msgID(fmt.Sprint("hcm", i)), []byte("hcm"), nil)
		e.publish(t, q, e.jobSubject("hanoi", "scan"), e.msgID(fmt.Sprint("hanoi", i)), []byte("hanoi"), nil)
	}
	var hanoi recorder
	e.consume(t, q, queue.ConsumerConfig{
		Stream: queue.StreamJobs, Durable: e.durable("hanoi"), FilterSubject: e.jobFilter("hanoi"), AckWait: time.Second,
	}, hanoi.handler())
	eventually(t, 10*time.Second, "hanoi jobs", func() bool { return hanoi.len() >= 3 })
	time.Sleep(300 * time.Millisecond)
	for _, m := range hanoi.all() {
		if string(m.Data) != "hanoi" {
			t.Errorf("hanoi worker got %s (%s)", m.Subject, m.Data)
		}
	}
	if n := hanoi.len(); n != 3 {
		t.Errorf("hanoi worker got %d jobs, want 3", n)
	}
	e.pendingIs(t, q, queue.StreamJobs, e.jobFilter("hcm"), 3)
	e.pendingIs(t, q, queue.StreamJobs, e.jobFilter("hanoi"), 0)

	var hcm recorder
	e.consume(t, q, queue.ConsumerConfig{
		Stream: queue.StreamJobs, Durable: e.durable("hcm"), FilterSubject: e.jobFilter("hcm"), AckWait: time.Second,
	}, hcm.handler())
	eventually(t, 10*time.Second, "hcm jobs", func() bool { return hcm.len() >= 3 })
	for _, m := range hcm.all() {
		if string(m.Data) != "hcm" {
			t.Errorf("hcm worker got %s (%s)", m.Subject, m.Data)
		}
	}
	e.pendingIs(t, q, queue.StreamJobs, e.jobFilter("hcm"), 0)
}

func testConcurrency(t *testing.T, e *env) {
	q := e.open(t)
	const conc, n = 4, 8
	for i := range n {
		e.publish(t, q, e.jobSubject("hanoi", "scan"), e.msgID(fmt.Sprint(i)), nil, nil)
	}
	var running, peak, done atomic.Int32
	allIn := make(chan struct{})
	var once sync.Once
	e.consume(t, q, queue.ConsumerConfig{
		Stream: queue.StreamJobs, Durable: e.durable("w"), FilterSubject: e.jobFilter("hanoi"),
		AckWait: 5 * time.Second, Concurrency: conc,
	}, func(ctx context.Context, _ *queue.Message) error {
		defer done.Add(1)
		now := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if now <= p || peak.CompareAndSwap(p, now) {
				break
			}
		}
		if now == conc {
			once.Do(func() { close(allIn) })
		}
		// Hold the slot until conc handlers ran together (or give up).
		select {
		case <-allIn:
		case <-time.After(5 * time.Second):
		case <-ctx.Done():
		}
		return nil
	})
	eventually(t, 20*time.Second, "all handled", func() bool { return done.Load() >= n })
	if p := peak.Load(); p != conc {
		t.Errorf("peak concurrent handlers = %d, want %d", p, conc)
	}
}

func testLongHandlerNotRedelivered(t *testing.T, e *env) {
	q := e.open(t)
	var rec recorder
	// Two slots: a redelivery during the long run would land in the
	// second one.
	e.consume(t, q, queue.ConsumerConfig{
		Stream: queue.StreamJobs, Durable: e.durable("w"), FilterSubject: e.jobFilter("hanoi"),
		AckWait: time.Second, Concurrency: 2,
	}, func(ctx context.Context, m *queue.Message) error {
		rec.add(m)
		select {
		case <-time.After(3 * time.Second): // three AckWaits
		case <-ctx.Done():
			return ctx.Err()
		}
		return nil
	})
	e.publish(t, q, e.jobSubject("hanoi", "scan"), e.msgID("long"), nil, nil)
	eventually(t, 10*time.Second, "delivery", func() bool { return rec.len() >= 1 })
	e.pendingIs(t, q, queue.StreamJobs, e.jobFilter("hanoi"), 0)
	time.Sleep(1500 * time.Millisecond)
	if n := rec.len(); n != 1 {
		t.Errorf("long handler's message delivered %d times, want 1", n)
	}
}

func testSharedDurable(t *testing.T, e *env) {
	q1, q2 := e.open(t), e.open(t)
	cfg := queue.ConsumerConfig{
		Stream: queue.StreamJobs, Durable: e.durable("w"), FilterSubject: e.jobFilter("hanoi"), AckWait: 2 * time.Second,
	}
	var rec recorder
	slow := func(ctx context.Context, m *queue.Message) error {
		rec.add(m)
		time.Sleep(20 * time.Millisecond)
		return nil
	}
	e.consume(t, q1, cfg, slow)
	e.consume(t, q2, cfg, slow)
	const n = 30
	for i := range n {
		e.publish(t, q1, e.jobSubject("hanoi", "scan"), e.msgID(fmt.Sprint(i)), nil, nil)
	}
	eventually(t, 15*time.Second, "all delivered", func() bool { return rec.len() >= n })
	e.pendingIs(t, q1, queue.StreamJobs, e.jobFilter("hanoi"), 0)
	seen := map[string]int{}
	for _, m := range rec.all() {
		seen[m.ID]++
	}
	if len(seen) != n {
		t.Errorf("%d distinct messages, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s delivered %d times", id, c)
		}
	}
}

func testEventsFanOut(t *testing.T, e *env) {
	q := e.open(t)
	filter := queue.SubjectEvents + "." + e.tok + ".>"
	for i := range 3 {
		e.publish(t, q, queue.SubjectEvents+"."+e.tok+".finding", e.msgID(fmt.Sprint(i)), []byte("ev"), nil)
	}
	var a, b recorder
	e.consume(t, q, queue.ConsumerConfig{Stream: queue.StreamEvents, Durable: e.durable("notifier"), FilterSubject: filter}, a.handler())
	e.consume(t, q, queue.ConsumerConfig{Stream: queue.StreamEvents, Durable: e.durable("correlator"), FilterSubject: filter}, b.handler())
	eventually(t, 10*time.Second, "both consumers see every event", func() bool { return a.len() >= 3 && b.len() >= 3 })
	e.pendingIs(t, q, queue.StreamEvents, filter, 0)
	if a.len() != 3 || b.len() != 3 {
		t.Errorf("deliveries = %d and %d, want 3 each", a.len(), b.len())
	}
}

func testStopWaitsForHandlers(t *testing.T, e *env) {
	q := e.open(t)
	var finished atomic.Bool
	started := make(chan struct{})
	c := e.consume(t, q, queue.ConsumerConfig{
		Stream: queue.StreamJobs, Durable: e.durable("w"), FilterSubject: e.jobFilter("hanoi"), AckWait: 5 * time.Second,
	}, func(ctx context.Context, _ *queue.Message) error {
		close(started)
		time.Sleep(300 * time.Millisecond)
		finished.Store(true)
		return nil
	})
	e.publish(t, q, e.jobSubject("hanoi", "scan"), e.msgID("x"), nil, nil)
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery")
	}
	c.Stop()
	if !finished.Load() {
		t.Fatal("Stop returned before the running handler")
	}
	c.Stop() // twice is fine
	e.pendingIs(t, q, queue.StreamJobs, e.jobFilter("hanoi"), 0)
}

func testContextEndStopsConsumer(t *testing.T, e *env) {
	q := e.open(t)
	ctx, cancel := context.WithCancel(e.ctx)
	var rec recorder
	cfg := queue.ConsumerConfig{
		Stream: queue.StreamJobs, Durable: e.durable("w"), FilterSubject: e.jobFilter("hanoi"), AckWait: time.Second,
	}
	c, err := q.Consume(ctx, cfg, rec.handler())
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	c.Stop() // returns once the consumer has wound down
	e.publish(t, q, e.jobSubject("hanoi", "scan"), e.msgID("late"), nil, nil)
	time.Sleep(500 * time.Millisecond)
	if n := rec.len(); n != 0 {
		t.Fatalf("stopped consumer got %d messages", n)
	}
	// The same durable picks the message up again.
	var again recorder
	e.consume(t, q, cfg, again.handler())
	eventually(t, 10*time.Second, "delivery to the restarted durable", func() bool { return again.len() >= 1 })
}

func testPingCloseInvalid(t *testing.T, e *env) {
	q := e.open(t)
	if err := q.Ping(e.ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := q.Publish(e.ctx, "", nil, "", nil); !errors.Is(err, queue.ErrInvalid) {
		t.Errorf("Publish to empty subject: %v, want ErrInvalid", err)
	}
	if err := q.Publish(e.ctx, e.jobSubject("hanoi", "*"), nil, "", nil); !errors.Is(err, queue.ErrInvalid) {
		t.Errorf("Publish to wildcard: %v, want ErrInvalid", err)
	}
	nop := func(context.Context, *queue.Message) error { return nil }
	if _, err := q.Consume(e.ctx, queue.ConsumerConfig{Stream: queue.StreamJobs}, nop); !errors.Is(err, queue.ErrInvalid) {
		t.Errorf("Consume without durable: %v, want ErrInvalid", err)
	}
	if _, err := q.Consume(e.ctx, queue.ConsumerConfig{Durable: e.durable("x")}, nop); !errors.Is(err, queue.ErrInvalid) {
		t.Errorf("Consume without stream: %v, want ErrInvalid", err)
	}
	if err := q.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := q.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := q.Ping(e.ctx); !errors.Is(err, queue.ErrClosed) {
		t.Errorf("Ping after Close: %v, want ErrClosed", err)
	}
	if err := q.Publish(e.ctx, e.jobSubject("hanoi", "scan"), nil, "", nil); !errors.Is(err, queue.ErrClosed) {
		t.Errorf("Publish after Close: %v, want ErrClosed", err)
	}
	if _, err := q.Consume(e.ctx, queue.ConsumerConfig{Stream: queue.StreamJobs, Durable: e.durable("x")}, nop); !errors.Is(err, queue.ErrClosed) {
		t.Errorf("Consume after Close: %v, want ErrClosed", err)
	}
	if _, err := q.Pending(e.ctx, queue.StreamJobs, ""); !errors.Is(err, queue.ErrClosed) {
		t.Errorf("Pending after Close: %v, want ErrClosed", err)
	}
}

// testKeyValue checks the key-value contract: what one connection puts,
// another (a restarted worker, a second worker) reads, also after the
// writer has gone.
func testKeyValue(t *testing.T, e *env) {
	q := e.open(t)
	st, ok := q.(queue.KVStore)
	if !ok {
		t.Skip("queue is not a queue.KVStore")
	}
	bucket := e.tok + "-kv"
	t.Cleanup(func() {
		if d, ok := q.(KVDeleter); ok {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := d.DeleteKeyValue(ctx, bucket); err != nil && !errors.Is(err, queue.ErrClosed) {
				t.Logf("delete bucket %s: %v", bucket, err)
			}
		}
	})
	open := func(st queue.KVStore) queue.KV {
		t.Helper()
		kv, err := st.KeyValue(e.ctx, bucket)
		if err != nil {
			t.Fatalf("KeyValue %s: %v", bucket, err)
		}
		return kv
	}
	get := func(kv queue.KV, key string) (string, bool) {
		t.Helper()
		v, found, err := kv.Get(e.ctx, key)
		if err != nil {
			t.Fatalf("Get %s: %v", key, err)
		}
		return string(v), found
	}
	a := open(st)
	if v, found := get(a, "absent"); found {
		t.Errorf("Get absent = %q, found; want not found", v)
	}
	for _, kv := range []struct{ k, v string }{{"page/1", "one"}, {"page/1", "one again"}, {"a-b_c=d.e", "x"}} {
		if err := a.Put(e.ctx, kv.k, []byte(kv.v)); err != nil {
			t.Fatalf("Put %s: %v", kv.k, err)
		}
	}
	if v, found := get(a, "page/1"); !found || v != "one again" {
		t.Errorf("Get page/1 = %q, %v; want the latest value", v, found)
	}

	// A second connection, as another process, sees the same bucket
	// and keeps seeing it after the first connection is gone.
	q2 := e.open(t)
	b := open(q2.(queue.KVStore))
	if v, found := get(b, "a-b_c=d.e"); !found || v != "x" {
		t.Errorf("second connection: Get = %q, %v; want x", v, found)
	}
	if err := b.Put(e.ctx, "page/2", []byte("two")); err != nil {
		t.Fatalf("Put page/2: %v", err)
	}
	if v, found := get(a, "page/2"); !found || v != "two" {
		t.Errorf("first connection: Get page/2 = %q, %v; want two", v, found)
	}

	if err := b.Delete(e.ctx, "page/2"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if v, found := get(a, "page/2"); found {
		t.Errorf("Get after Delete = %q, found", v)
	}
	if err := b.Delete(e.ctx, "never-put"); err != nil {
		t.Errorf("Delete of an absent key: %v", err)
	}

	big := make([]byte, queue.KVMaxValue)
	if err := a.Put(e.ctx, "big", big); err != nil {
		t.Errorf("Put of KVMaxValue bytes: %v", err)
	}
	if err := a.Put(e.ctx, "big", append(big, 0)); !errors.Is(err, queue.ErrInvalid) {
		t.Errorf("Put over KVMaxValue: %v, want ErrInvalid", err)
	}
	for _, key := range []string{"", ".a", "a.", "a..b", "a b", "a*", "a>", "é"} {
		if err := a.Put(e.ctx, key, nil); !errors.Is(err, queue.ErrInvalid) {
			t.Errorf("Put %q: %v, want ErrInvalid", key, err)
		}
		if _, _, err := a.Get(e.ctx, key); !errors.Is(err, queue.ErrInvalid) {
			t.Errorf("Get %q: %v, want ErrInvalid", key, err)
		}
	}
	if _, err := st.KeyValue(e.ctx, "bad.bucket"); !errors.Is(err, queue.ErrInvalid) {
		t.Errorf("KeyValue bad.bucket: %v, want ErrInvalid", err)
	}

	// Opening again is idempotent and keeps the values.
	if v, found := get(open(q2.(queue.KVStore)), "page/1"); !found || v != "one again" {
		t.Errorf("reopened bucket: Get = %q, %v", v, found)
	}
	if err := q2.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, _, err := b.Get(e.ctx, "page/1"); !errors.Is(err, queue.ErrClosed) {
		t.Errorf("Get after Close: %v, want ErrClosed", err)
	}
	if err := b.Put(e.ctx, "page/1", nil); !errors.Is(err, queue.ErrClosed) {
		t.Errorf("Put after Close: %v, want ErrClosed", err)
	}
	if v, found := get(a, "page/1"); !found || v != "one again" {
		t.Errorf("after the other connection closed: Get = %q, %v", v, found)
	}
}
