package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/events"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/queue"
	"github.com/rampart-cert/rampart/internal/queue/natsq"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

// ---- a real store and an embedded queue ----

type world struct {
	t   testing.TB
	ctx context.Context
	st  *sqlstore.Store
	q   *natsq.Queue
	a   asset.Asset
	job int
}

func newWorld(t testing.TB) *world {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "rampart.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	q, err := natsq.Open(ctx, natsq.Options{DataDir: t.TempDir(), Name: "events-test", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	o := org.Organization{Code: "VN", Name: "Quốc gia", NameEN: "National", Kind: org.KindNational}
	if err := st.CreateOrg(ctx, auth.SystemPrincipal, &o); err != nil {
		t.Fatal(err)
	}
	a := asset.Asset{OrgID: o.ID, Kind: asset.KindCIDR, Value: "10.0.0.0/8"}
	if err := st.CreateAsset(ctx, auth.SystemPrincipal, &a); err != nil {
		t.Fatal(err)
	}
	return &world{t: t, ctx: ctx, st: st, q: q, a: a}
}

// record stores n new critical findings (n "new" events in the outbox).
func (w *world) record(n int, at time.Time) []finding.Change {
	w.t.Helper()
	return w.recordMix(n, at, 1)
}

// recordMix stores n new findings, one in every critical of them critical
// and the others low (below the default alert threshold).
func (w *world) recordMix(n int, at time.Time, critical int) []finding.Change {
	w.t.Helper()
	w.job++
	seen := make([]store.Finding, n)
	for i := range seen {
		target := fmt.Sprintf("10.%d.%d.%d:443", w.job%250, i/250%250, i%250)
		seen[i] = store.Finding{Key: finding.Key(w.a.ID, "tls.cert-expired", target, ""), OrgID: w.a.OrgID, AssetID: w.a.ID,
			Check: "tls.cert-expired", Family: "tls", Severity: finding.Critical, Target: target, Title: "Chứng chỉ hết hạn",
			Evidence: json.RawMessage(`{}`), CVE: []string{}}
		if i%critical != 0 {
			seen[i].Severity = finding.Low
		}
	}
	ch, err := w.st.RecordFindings(w.ctx, store.FindingBatch{JobID: fmt.Sprintf("job-%d", w.job), At: at, Policy: finding.DefaultPolicy, Seen: seen})
	if err != nil {
		w.t.Fatal(err)
	}
	return ch
}

func (w *world) outboxLen() int {
	w.t.Helper()
	ms, err := w.st.OutboxPending(w.ctx, 10000)
	if err != nil {
		w.t.Fatal(err)
	}
	return len(ms)
}

// collector keeps what a consumer received.
type collector struct {
	mu  sync.Mutex
	got []finding.Change
	ids map[string]int
}

func (c *collector) add(ch finding.Change) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids == nil {
		c.ids = map[string]int{}
	}
	c.got = append(c.got, ch)
	c.ids[ch.EventID()]++
}

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.got)
}

func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func runRelay(t testing.TB, r *events.Relay) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// TestRelayDeliversInOrder: every change's event reaches a durable
// consumer once, in commit order, with its EventID as the message ID, and
// leaves the outbox.
func TestRelayDeliversInOrder(t *testing.T) {
	w := newWorld(t)
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	var want []finding.Change
	want = append(want, w.record(1500, t0)...)
	want = append(want, w.record(700, t0.Add(time.Minute))...)

	var c collector
	var ids sync.Map
	cons, err := w.q.Consume(w.ctx, queue.ConsumerConfig{Stream: queue.StreamEvents, Durable: "order", FilterSubject: events.FindingSubjects},
		func(_ context.Context, m *queue.Message) error {
			ch, err := events.DecodeChange(m)
			if err != nil {
				t.Errorf("decode: %v", err)
				return nil
			}
			ids.Store(ch.EventID(), m.ID)
			c.add(ch)
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Stop()
	r := events.NewRelay(w.st, w.q, events.RelayOptions{Batch: 500})
	runRelay(t, r)
	waitFor(t, "2200 events", 20*time.Second, func() bool { return c.len() == len(want) })
	// Events written while the relay runs are picked up within its poll
	// interval.
	start := time.Now()
	more := w.record(3, t0.Add(2*time.Minute))
	want = append(want, more...)
	waitFor(t, "3 more events", 5*time.Second, func() bool { return c.len() == len(want) })
	if took := time.Since(start); took > time.Second {
		t.Errorf("a new event took %v to arrive", took)
	}
	time.Sleep(100 * time.Millisecond)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.got) != len(want) {
		t.Fatalf("%d events, want %d", len(c.got), len(want))
	}
	for i := range want {
		if c.got[i].EventID() != want[i].EventID() {
			t.Fatalf("event %d is %s, want %s (out of order)", i, c.got[i].EventID(), want[i].EventID())
		}
		if id, _ := ids.Load(want[i].EventID()); id != want[i].EventID() {
			t.Fatalf("message ID %v, want the EventID %s", id, want[i].EventID())
		}
	}
	if n := w.outboxLen(); n != 0 {
		t.Fatalf("%d messages left in the outbox", n)
	}
}

// flakyQueue fails publishing now and then, as a queue that is down or
// restarting does. It has no PublishBatch, so the relay publishes one at a
// time.
type flakyQueue struct {
	queue.Queue
	calls atomic.Int64
	every int64 // every n-th publish fails
}

func (f *flakyQueue) Publish(ctx context.Context, subject string, data []byte, msgID string, header map[string]string) error {
	if f.calls.Add(1)%f.every == 0 {
		return errors.New("flaky: no responders")
	}
	return f.Queue.Publish(ctx, subject, data, msgID, header)
}

// flakyOutbox fails deleting now and then: the batch was published, so it
// is published again.
type flakyOutbox struct {
	store.Outbox
	calls atomic.Int64
	reads atomic.Int64
}

func (f *flakyOutbox) OutboxPending(ctx context.Context, limit int) ([]store.OutboxMessage, error) {
	if f.reads.Add(1)%5 == 0 {
		return nil, errors.New("flaky: database is locked")
	}
	return f.Outbox.OutboxPending(ctx, limit)
}

func (f *flakyOutbox) OutboxDone(ctx context.Context, ids []int64) error {
	if f.calls.Add(1)%2 == 1 {
		return errors.New("flaky: connection reset")
	}
	return f.Outbox.OutboxDone(ctx, ids)
}

// TestRelayRetriesAndDropsNothing: with a queue and a database that fail
// now and then, every event still arrives, once (the queue drops the
// republished message IDs), and the outbox ends empty.
func TestRelayRetriesAndDropsNothing(t *testing.T) {
	w := newWorld(t)
	want := w.record(400, time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	var c collector
	cons, err := events.ConsumeFindings(w.ctx, w.q, events.ConsumeOptions{Durable: "retry"}, func(_ context.Context, ch finding.Change) error {
		c.add(ch)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Stop()
	fq := &flakyQueue{Queue: w.q, every: 61} // more than a batch, so a pass can succeed
	r := events.NewRelay(&flakyOutbox{Outbox: w.st}, fq, events.RelayOptions{Batch: 50, MaxBackoff: 50 * time.Millisecond})
	runRelay(t, r)
	waitFor(t, "every event", 30*time.Second, func() bool { return c.len() >= len(want) && w.outboxLen() == 0 })
	time.Sleep(200 * time.Millisecond)
	if r.Published() <= int64(len(want)) {
		t.Errorf("published %d for %d events: the failures did not make it republish", r.Published(), len(want))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.got) != len(want) {
		t.Fatalf("%d events delivered, want %d once each", len(c.got), len(want))
	}
	for _, ch := range want {
		if c.ids[ch.EventID()] != 1 {
			t.Fatalf("event %s delivered %d times", ch.EventID(), c.ids[ch.EventID()])
		}
	}
}

// TestConsumeFindingBatches: concurrent deliveries reach the handler in
// batches; a failed batch comes back; a message that is not a finding
// change is dropped without blocking the rest.
func TestConsumeFindingBatches(t *testing.T) {
	w := newWorld(t)
	want := w.record(600, time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	if err := w.q.Publish(w.ctx, events.FindingSubject(finding.ChangeNew), []byte("not json"), "junk-1", nil); err != nil {
		t.Fatal(err)
	}
	var (
		c       collector
		mu      sync.Mutex
		sizes   []int
		failed  atomic.Bool
		handled atomic.Int64
	)
	cons, err := events.ConsumeFindingBatches(w.ctx, w.q, events.ConsumeOptions{Durable: "batches", MaxBatch: 100, AckWait: 2 * time.Second},
		func(_ context.Context, chs []finding.Change) error {
			handled.Add(1)
			if !failed.Swap(true) {
				return errors.New("database is down")
			}
			mu.Lock()
			sizes = append(sizes, len(chs))
			mu.Unlock()
			for _, ch := range chs {
				c.add(ch)
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	runRelay(t, events.NewRelay(w.st, w.q, events.RelayOptions{}))
	waitFor(t, "every event", 30*time.Second, func() bool { return c.len() == len(want) })
	cons.Stop()
	mu.Lock()
	defer mu.Unlock()
	if slices.Max(sizes) < 10 || len(sizes) >= len(want)/2 {
		t.Errorf("batches of %v: changes were not gathered", sizes)
	}
	if slices.Max(sizes) > 100 {
		t.Errorf("a batch of %d, above MaxBatch", slices.Max(sizes))
	}
	for _, ch := range want {
		if c.ids[ch.EventID()] != 1 {
			t.Fatalf("event %s handled %d times", ch.EventID(), c.ids[ch.EventID()])
		}
	}
	if _, err := events.ConsumeFindingBatches(w.ctx, w.q, events.ConsumeOptions{}, nil); !errors.Is(err, queue.ErrInvalid) {
		t.Errorf("no durable name: %v", err)
	}
}

func TestDecodeChange(t *testing.T) {
	c := finding.Change{Kind: finding.ChangeOverdue, At: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Finding: finding.Finding{ID: 3, Key: "k3"}}
	data, _ := json.Marshal(c)
	got, err := events.DecodeChange(&queue.Message{Subject: "rampart.events.finding.overdue", Data: data})
	if err != nil || got.EventID() != c.EventID() {
		t.Fatalf("decode: %+v, %v", got, err)
	}
	for name, m := range map[string]queue.Message{
		"other subject": {Subject: "rampart.events.intel.new", Data: data},
		"kind mismatch": {Subject: "rampart.events.finding.new", Data: data},
		"not json":      {Subject: "rampart.events.finding.overdue", Data: []byte("{")},
		"no finding":    {Subject: "rampart.events.finding.overdue", Data: []byte(`{"kind":"overdue"}`)},
	} {
		if _, err := events.DecodeChange(&m); !errors.Is(err, events.ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// The relay publishes what sqlstore writes: the subjects must agree.
func TestFindingSubjectsMatchTheStore(t *testing.T) {
	for _, k := range []finding.ChangeKind{finding.ChangeNew, finding.ChangeReopened, finding.ChangeFixed,
		finding.ChangeDueSoon, finding.ChangeOverdue, finding.ChangeTransition} {
		if events.FindingSubject(k) != sqlstore.FindingEventSubject(k) {
			t.Errorf("%s: events says %s, sqlstore writes %s", k, events.FindingSubject(k), sqlstore.FindingEventSubject(k))
		}
	}
}

// TestDecodeBrief: a brief change is the change without what only a
// finding's page shows, with the same EventID.
func TestDecodeBrief(t *testing.T) {
	due := time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)
	at := time.Date(2026, 12, 1, 9, 0, 0, 123000, time.UTC)
	c := finding.Change{Kind: finding.ChangeReopened, At: at, Action: "reopen", From: finding.StateFixed, To: finding.StateOpen, Actor: "an",
		Finding: finding.Finding{ID: 7, Key: "k7", OrgID: 3, AssetID: 9, Source: finding.SourceImport, SourceRef: "nuclei", Check: "import.nuclei.x",
			Family: "import", Severity: finding.High, Target: "10.0.0.1:443", Subject: "/a", Title: "Tiêu đề", Evidence: json.RawMessage(`{"a":1}`),
			CVE: []string{"CVE-2024-1"}, KEV: true, State: finding.StateOpen, FirstSeen: at, LastSeen: at, DueAt: &due, UpdatedAt: at, LastJobID: "j"}}
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	m := &queue.Message{Subject: events.FindingSubject(c.Kind), Data: data}
	got, err := events.DecodeBrief(m)
	if err != nil {
		t.Fatal(err)
	}
	want := c
	want.Finding.Evidence, want.Finding.FirstSeen, want.Finding.LastSeen, want.Finding.UpdatedAt, want.Finding.LastJobID = nil, time.Time{}, time.Time{}, time.Time{}, ""
	if !reflect.DeepEqual(got, want) || got.EventID() != c.EventID() {
		t.Fatalf("brief:\n got %+v\nwant %+v", got, want)
	}
	for _, bad := range []*queue.Message{{Subject: "rampart.events.finding.new", Data: data}, {Subject: m.Subject, Data: []byte("{")}, {Subject: "x", Data: data}} {
		if _, err := events.DecodeBrief(bad); !errors.Is(err, events.ErrMalformed) {
			t.Fatalf("%s %s: err %v", bad.Subject, bad.Data, err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	c := finding.Change{Kind: finding.ChangeNew, At: at, Finding: finding.Finding{ID: 7, Key: finding.Key(1, "tls.cert-expired", "10.0.0.1:443", ""), OrgID: 3, AssetID: 9,
		Source: finding.SourceScan, Check: "tls.cert-expired", Family: "tls", Severity: finding.Critical, Target: "10.0.0.1:443", Title: "Chứng chỉ hết hạn",
		Evidence: json.RawMessage(`{}`), CVE: []string{}, State: finding.StateOpen, FirstSeen: at, LastSeen: at, DueAt: &at, UpdatedAt: at}}
	data, _ := json.Marshal(c)
	m := &queue.Message{Subject: events.FindingSubject(c.Kind), Data: data}
	b.Run("change", func(b *testing.B) {
		for b.Loop() {
			events.DecodeChange(m)
		}
	})
	b.Run("brief", func(b *testing.B) {
		for b.Loop() {
			events.DecodeBrief(m)
		}
	})
}
