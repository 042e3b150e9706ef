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
func (w *world) fill(b *testing.B, n int) { w.fillMix(b, n, 1) }

// fillMix records n new findings, one in every critical of them critical,
// the others low, and returns how many are critical.
func (w *world) fillMix(b *testing.B, n, critical int) int {
	b.Helper()
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	crit := 0
	for done := 0; done < n; {
		k := min(n-done, 5000)
		w.recordMix(k, t0.Add(time.Duration(w.job)*time.Second), critical)
		done += k
		crit += (k + critical - 1) / critical
	}
	return crit
}

// report adds the throughput and the CPU time (user and system, all
// goroutines: relay, NATS server, consumer) per event. The machine may be
// shared: the CPU time per event varies less with the load than events/s.
func report(b *testing.B, elapsed, cpu time.Duration) {
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/event")
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
		// Each look asks the server for the consumer's state, which costs
		// the pipeline CPU: look often enough to add at most 5ms.
		time.Sleep(5 * time.Millisecond)
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
func BenchmarkFindingEvents(b *testing.B) { benchmarkFindingEvents(b, 1) }

// BenchmarkFindingEventsMix is BenchmarkFindingEvents with a more usual
// mix: one finding in ten is critical and alerts, the others are low and
// are only read (the notifier acknowledges them without storing
// anything).
func BenchmarkFindingEventsMix(b *testing.B) { benchmarkFindingEvents(b, 10) }

func benchmarkFindingEvents(b *testing.B, critical int) {
	w := newWorld(b)
	c := org.Contact{OrgID: w.a.OrgID, Name: "Bob Smith", Email: "bob@example.vn", Language: "en"}
	if err := w.st.CreateContact(w.ctx, auth.SystemPrincipal, &c); err != nil {
		b.Fatal(err)
	}
	crit := w.fillMix(b, b.N, critical)
	n := notify.New(w.st, notify.Options{})
	ctx, cancel := context.WithCancel(w.ctx)
	defer cancel()

	b.ResetTimer()
	start, cpu := time.Now(), cpuTime()
	go events.NewRelay(w.st, w.q, events.RelayOptions{}).Run(ctx)
	cons, err := n.Consume(ctx, w.q)
	if err != nil {
		b.Fatal(err)
	}
	w.drained(b)
	elapsed, cpu := time.Since(start), cpuTime()-cpu
	b.StopTimer()
	cons.Stop()
	report(b, elapsed, cpu)

	due, err := w.st.DueAlerts(w.ctx, time.Now().Add(time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	if len(due) != crit {
		b.Fatalf("%d alerts stored for %d events, want %d", len(due), b.N, crit)
	}
}

// BenchmarkFindingEventsRelay measures the relay alone: outbox to the
// embedded NATS server (stored and acknowledged), b.N events.
func BenchmarkFindingEventsRelay(b *testing.B) {
	w := newWorld(b)
	w.fill(b, b.N)
	r := events.NewRelay(w.st, w.q, events.RelayOptions{})
	b.ResetTimer()
	start, cpu := time.Now(), cpuTime()
	for {
		k, err := r.Once(w.ctx)
		if err != nil {
			b.Fatal(err)
		}
		if k == 0 {
			break
		}
	}
	elapsed, cpu := time.Since(start), cpuTime()-cpu
	b.StopTimer()
	if r.Published() != int64(b.N) {
		b.Fatalf("published %d of %d", r.Published(), b.N)
	}
	report(b, elapsed, cpu)
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
	start, cpu := time.Now(), cpuTime()
	cons, err := n.Consume(w.ctx, w.q)
	if err != nil {
		b.Fatal(err)
	}
	w.drained(b)
	elapsed, cpu := time.Since(start), cpuTime()-cpu
	b.StopTimer()
	cons.Stop()
	report(b, elapsed, cpu)
}
