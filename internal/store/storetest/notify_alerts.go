package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/store"
)

// alertStore is a store with the notifier's alert queue.
type alertStore interface {
	store.Store
	store.Notifications
	store.AlertQueue
}

// testAlertQueue covers store.AlertQueue: queuing is idempotent per
// (recipient, event), also after the batch was sent; a recipient's batch
// is due when its oldest alert is; sending marks and enqueues together,
// once, even with several notifiers; pruning drops only sent alerts.
func testAlertQueue(t *testing.T, s store.Store) {
	aq, ok := any(s).(alertStore)
	if !ok {
		t.Skipf("%T does not implement store.AlertQueue", s)
	}
	ctx := t.Context()
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	alert := func(recipient string, findingID int64, at time.Time) store.QueuedAlert {
		c := finding.Change{Kind: finding.ChangeNew, At: at, Finding: finding.Finding{ID: findingID, Key: fmt.Sprintf("k%d", findingID),
			OrgID: 7, Severity: finding.Critical, Title: fmt.Sprintf("finding %d", findingID), State: finding.StateOpen, CVE: []string{}}}
		return store.QueuedAlert{Recipient: recipient, OrgID: 7, EventID: c.EventID(), Change: c, QueuedAt: at}
	}
	batch := []store.QueuedAlert{
		alert("contact:1", 1, t0), alert("contact:1", 2, t0.Add(10*time.Second)),
		alert("webhook:1", 1, t0.Add(30*time.Second)), alert("contact:2", 3, t0.Add(50*time.Second)),
	}
	n, err := aq.QueueAlerts(ctx, batch)
	must(t, err, "queue alerts")
	if n != 4 {
		t.Fatalf("queued %d, want 4", n)
	}
	n, err = aq.QueueAlerts(ctx, append(batch[:2:2], alert("contact:1", 4, t0.Add(20*time.Second))))
	must(t, err, "queue again")
	if n != 1 {
		t.Fatalf("queued %d on redelivery, want 1 (only the new event)", n)
	}
	_, err = aq.QueueAlerts(ctx, []store.QueuedAlert{{Recipient: "contact:1"}})
	wantErr(t, err, store.ErrInvalid, "alert without an event ID")

	due, err := aq.DueAlerts(ctx, t0.Add(-time.Second))
	must(t, err, "due alerts (none)")
	if len(due) != 0 {
		t.Fatalf("%d alerts due before any was queued", len(due))
	}
	// contact:1's oldest is at t0 and webhook:1's at t0+30s; contact:2's
	// is not due yet. A batch carries every waiting alert of its
	// recipient, also the ones queued after the oldest.
	due, err = aq.DueAlerts(ctx, t0.Add(30*time.Second))
	must(t, err, "due alerts")
	var got []string
	for _, a := range due {
		got = append(got, fmt.Sprintf("%s/%d", a.Recipient, a.Change.Finding.ID))
		if a.OrgID != 7 || a.EventID != a.Change.EventID() || a.Change.Finding.Title == "" || a.QueuedAt.IsZero() {
			t.Fatalf("alert read back: %+v", a)
		}
	}
	if fmt.Sprint(got) != "[contact:1/1 contact:1/2 contact:1/4 webhook:1/1]" {
		t.Fatalf("due alerts: %v", got)
	}
	if !due[0].QueuedAt.Equal(t0) {
		t.Fatalf("queued at %v, want %v", due[0].QueuedAt, t0)
	}

	// Two notifiers send contact:1's batch at once: one wins.
	ids := []int64{due[0].ID, due[1].ID, due[2].ID}
	var wg sync.WaitGroup
	wins := make([]bool, 2)
	for i := range wins {
		wg.Go(func() {
			d := &store.Delivery{Key: "alert/contact:1/test", OrgID: 7, Kind: store.NotifyAlert, Channel: store.ChannelEmail, ContactID: 1,
				Recipient: "an@example.vn", Subject: "alert", Payload: []byte(`{}`)}
			ok, err := aq.SendAlerts(ctx, ids, []*store.Delivery{d}, t0.Add(time.Minute))
			if err != nil {
				t.Errorf("send alerts: %v", err)
			}
			wins[i] = ok
		})
	}
	wg.Wait()
	if wins[0] == wins[1] {
		t.Fatalf("send alerts twice at once: %v, want exactly one true", wins)
	}
	ds, err := aq.ListDeliveries(ctx, sys, store.DeliveryFilter{Kind: store.NotifyAlert})
	must(t, err, "list deliveries")
	if len(ds.Items) != 1 || ds.Items[0].Key != "alert/contact:1/test" {
		t.Fatalf("deliveries: %+v", ds.Items)
	}
	// A webhook whose recipient vanished: marked, nothing enqueued.
	ok, err = aq.SendAlerts(ctx, []int64{due[3].ID}, nil, t0.Add(time.Minute))
	must(t, err, "send without deliveries")
	if !ok {
		t.Fatal("send without deliveries refused")
	}
	due, err = aq.DueAlerts(ctx, t0.Add(time.Hour))
	must(t, err, "due after send")
	if len(due) != 1 || due[0].Recipient != "contact:2" {
		t.Fatalf("due after send: %+v", due)
	}
	// Sent alerts still deduplicate a redelivered event.
	n, err = aq.QueueAlerts(ctx, batch[:1])
	must(t, err, "queue a sent event again")
	if n != 0 {
		t.Fatalf("a sent alert was queued again")
	}

	n, err = aq.PruneAlerts(ctx, t0.Add(time.Minute))
	must(t, err, "prune (none old enough)")
	if n != 0 {
		t.Fatalf("pruned %d alerts sent at the cut-off", n)
	}
	n, err = aq.PruneAlerts(ctx, t0.Add(time.Hour))
	must(t, err, "prune")
	if n != 4 {
		t.Fatalf("pruned %d, want the 4 sent", n)
	}
	due, err = aq.DueAlerts(ctx, t0.Add(time.Hour))
	must(t, err, "due after prune")
	if len(due) != 1 {
		t.Fatalf("prune took waiting alerts: %+v", due)
	}

	// A large batch (more than one statement's worth) is stored whole,
	// and what an alert shows reads back.
	big := make([]store.QueuedAlert, 0, 12000)
	for i := range 6000 {
		a := alert("contact:9", int64(100+i), t0.Add(2*time.Hour))
		a.Change.Finding.Target, a.Change.Finding.Check, a.Change.Finding.KEV = "10.0.0.1:443", "tls.cert-expired", i%2 == 0
		a.Change.Finding.CVE = []string{"CVE-2024-0001"}
		due := t0.Add(72 * time.Hour)
		a.Change.Finding.DueAt = &due
		big = append(big, a)
		w := a
		w.Recipient = "webhook:9"
		big = append(big, w)
	}
	n, err = aq.QueueAlerts(ctx, append(big, big[:3]...))
	must(t, err, "queue a large batch")
	if n != len(big) {
		t.Fatalf("queued %d of a large batch of %d", n, len(big))
	}
	due, err = aq.DueAlerts(ctx, t0.Add(3*time.Hour))
	must(t, err, "due large batch")
	if len(due) != 1+len(big) {
		t.Fatalf("%d alerts due, want %d", len(due), 1+len(big))
	}
	for _, a := range due {
		if a.Recipient != "contact:9" {
			continue
		}
		want := big[2*(a.Change.Finding.ID-100)].Change
		got := a.Change
		if got.EventID() != a.EventID || got.Kind != want.Kind || got.Finding.Title != want.Finding.Title || got.Finding.Target != want.Finding.Target ||
			got.Finding.Check != want.Finding.Check || got.Finding.Severity != want.Finding.Severity || got.Finding.KEV != want.Finding.KEV ||
			got.Finding.State != want.Finding.State || fmt.Sprint(got.Finding.CVE) != fmt.Sprint(want.Finding.CVE) ||
			got.Finding.DueAt == nil || !got.Finding.DueAt.Equal(*want.Finding.DueAt) || got.Finding.OrgID != 7 {
			t.Fatalf("alert read back:\n got %+v\nwant %+v", got, want)
		}
	}
}
