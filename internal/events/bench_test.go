package events_test

import (
	"context"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/events"
	"github.com/rampart-cert/rampart/internal/notify"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/queue"
)

// fill records n new critical findings, so n events wait in the outbox.
func (w *world) fill(b *testing.B, n int) {
	b.Helper()
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for done := 0; done < n; {
		k := min(n-done, 5000)
		w.record(k, t0.Add(time.Duration(w.job)*time.Second))
		done += k
	}
}

// drained waits until the outbox is empty and the durable consumer of
// finding events acknowledged everything.
func (w *world) drained(b *testing.B) {
	b.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		left, err := w.st.OutboxPending(w.ctx, 1)
		if err != nil {
			b.Fatal(err)
		}
		if len(left) == 0 {
			pending, err := w.q.Pending(w.ctx, queue.StreamEvents, events.FindingSubjects)
			if err != nil {
				b.Fatal(err)
			}
			if pending == 0 {
				return
			}
		}
		if time.Now().After(deadline) {
			b.Fatal("events not drained")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// BenchmarkFindingEvents measures the whole path of finding events in
// serve: b.N events committed in the outbox are published by the relay on
// an embedded NATS server and consumed by the notifier's durable consumer,
// which stores each one as an alert for the organization's contact (every
// finding is critical) before acknowledging it. Recording the findings is
// not timed. Run with a fixed count, e.g.
//
//	go test ./internal/events -run '^$' -bench BenchmarkFindingEvents -benchtime 50000x
func BenchmarkFindingEvents(b *testing.B) {
	w := newWorld(b)
	c := org.Contact{OrgID: w.a.OrgID, Name: "Bob Smith", Email: "bob@example.vn", Language: "en"}
	if err := w.st.CreateContact(w.ctx, auth.SystemPrincipal, &c); err != nil {
		b.Fatal(err)
	}
	w.fill(b, b.N)
	n := notify.New(w.st, notify.Options{})
	ctx, cancel := context.WithCancel(w.ctx)
	defer cancel()

	b.ResetTimer()
	start := time.Now()
	go events.NewRelay(w.st, w.q, events.RelayOptions{}).Run(ctx)
	cons, err := n.Consume(ctx, w.q)
	if err != nil {
		b.Fatal(err)
	}
	w.drained(b)
	elapsed := time.Since(start)
	b.StopTimer()
	cons.Stop()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")

	due, err := w.st.DueAlerts(w.ctx, time.Now().Add(time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	if len(due) != b.N {
		b.Fatalf("%d alerts stored for %d events", len(due), b.N)
	}
}

// BenchmarkFindingEventsRelay measures the relay alone: outbox to the
// embedded NATS server (stored and acknowledged), b.N events.
func BenchmarkFindingEventsRelay(b *testing.B) {
	w := newWorld(b)
	w.fill(b, b.N)
	r := events.NewRelay(w.st, w.q, events.RelayOptions{})
	b.ResetTimer()
	start := time.Now()
	for {
		k, err := r.Once(w.ctx)
		if err != nil {
			b.Fatal(err)
		}
		if k == 0 {
			break
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if r.Published() != int64(b.N) {
		b.Fatalf("published %d of %d", r.Published(), b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
}

// BenchmarkFindingEventsConsume measures the notifier's consumer alone:
// b.N events already on the embedded NATS server are consumed and stored
// as alerts (one per event) before being acknowledged.
func BenchmarkFindingEventsConsume(b *testing.B) {
	w := newWorld(b)
	c := org.Contact{OrgID: w.a.OrgID, Name: "Bob Smith", Email: "bob@example.vn", Language: "en"}
	if err := w.st.CreateContact(w.ctx, auth.SystemPrincipal, &c); err != nil {
		b.Fatal(err)
	}
	w.fill(b, b.N)
	r := events.NewRelay(w.st, w.q, events.RelayOptions{})
	for {
		k, err := r.Once(w.ctx)
		if err != nil {
			b.Fatal(err)
		}
		if k == 0 {
			break
		}
	}
	n := notify.New(w.st, notify.Options{})
	b.ResetTimer()
	start := time.Now()
	cons, err := n.Consume(w.ctx, w.q)
	if err != nil {
		b.Fatal(err)
	}
	w.drained(b)
	elapsed := time.Since(start)
	b.StopTimer()
	cons.Stop()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
}
