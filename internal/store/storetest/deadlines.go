package storetest

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/store"
)

// deadlineStore is a store that emits deadline events into its outbox.
type deadlineStore interface {
	findingStore
	store.Deadlines
	store.Outbox
}

// testDeadlines covers store.Deadlines: due-soon and overdue events once
// per finding per due date, in the outbox with their change, nothing for
// inactive findings or findings without a due date, a fresh start for a
// reopened finding's new due date, and concurrent callers emitting once.
func testDeadlines(t *testing.T, s store.Store) {
	ds, ok := any(s).(deadlineStore)
	if !ok {
		t.Skipf("%T does not implement store.Deadlines and store.Outbox", s)
	}
	f := &findingFixture{fixture: newFixture(t, s), s: ds}
	ctx := f.ctx
	x := f.asset(t, sys, f.a1, asset.KindIPv4, "10.9.8.1")
	t0 := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	crit := seen(x, "svc.rdp-exposed", "10.9.8.1:3389", "", finding.Critical) // due t0+15d
	high := seen(x, "svc.smb-exposed", "10.9.8.1:445", "", finding.High)      // due t0+30d
	low := seen(x, "http.server-banner", "10.9.8.1:80", "", finding.Low)      // due t0+180d
	info := seen(x, "tls.info", "10.9.8.1:443", "", finding.Info)             // no due date
	waived := seen(x, "svc.ftp-exposed", "10.9.8.1:21", "", finding.High)     // accepted: not active
	f.record(t, "dl-1", t0, nil, crit, high, low, info, waived)
	_, err := ds.TransitionFinding(ctx, as(auth.RoleOrgMember, f.a1), f.byKey(t, waived.Key).ID,
		finding.Transition{Action: finding.ActionAcceptRisk, Reason: "lab", Approve: "ciso", At: t0.Add(time.Hour), Until: t0.Add(300 * day)})
	must(t, err, "accept risk")
	drainOutbox(t, ds)

	type want struct {
		kind finding.ChangeKind
		key  string
		at   time.Time
	}
	mark := func(now time.Time, wants ...want) {
		t.Helper()
		n, err := ds.MarkDeadlines(ctx, now)
		must(t, err, "mark deadlines")
		if n != len(wants) {
			t.Fatalf("at %s: %d deadline events, want %d", now.Sub(t0), n, len(wants))
		}
		got := drainOutbox(t, ds)
		if len(got) != len(wants) {
			t.Fatalf("at %s: %d outbox messages, want %d", now.Sub(t0), len(got), len(wants))
		}
		byKey := map[string]store.OutboxMessage{}
		for _, m := range got {
			var c finding.Change
			must(t, json.Unmarshal(m.Data, &c), "decode event")
			byKey[c.Finding.Key] = m
		}
		for _, w := range wants {
			m, ok := byKey[w.key]
			if !ok {
				t.Fatalf("at %s: no event for %s", now.Sub(t0), w.key)
			}
			var c finding.Change
			must(t, json.Unmarshal(m.Data, &c), "decode event")
			if c.Kind != w.kind || !c.At.Equal(w.at) || c.Finding.ID == 0 || c.Finding.DueAt == nil {
				t.Fatalf("at %s: event %+v, want %s at %s", now.Sub(t0), c, w.kind, w.at)
			}
			if m.Subject != "rampart.events.finding."+string(w.kind) || m.MsgID != c.EventID() {
				t.Fatalf("outbox message %s %s for %s", m.Subject, m.MsgID, c.EventID())
			}
		}
	}

	mark(t0.Add(day))
	mark(t0.Add(9*day), want{finding.ChangeDueSoon, crit.Key, t0.Add(8 * day)})
	mark(t0.Add(10 * day)) // marked already
	// The high finding skips due soon: first marked when already overdue.
	mark(t0.Add(40*day), want{finding.ChangeOverdue, crit.Key, t0.Add(15 * day)}, want{finding.ChangeOverdue, high.Key, t0.Add(30 * day)})
	mark(t0.Add(41 * day))

	// Fixed, then seen again more than 90 days later: a new due date, and
	// its own events. (Back sooner, it would keep its original due date,
	// already marked overdue.)
	f.record(t, "dl-2", t0.Add(50*day), []store.Coverage{cover(x, crit.Target, crit.Check)})
	if got := f.byKey(t, crit.Key); got.State != finding.StateFixed {
		t.Fatalf("not fixed: %+v", got)
	}
	drainOutbox(t, ds)
	mark(t0.Add(51 * day))
	f.record(t, "dl-3", t0.Add(150*day), nil, crit)
	reopened := f.byKey(t, crit.Key)
	wantTime(t, "due date after reopening", reopened.DueAt, t0.Add(165*day))
	drainOutbox(t, ds)
	mark(t0.Add(151 * day))
	mark(t0.Add(160*day), want{finding.ChangeDueSoon, crit.Key, t0.Add(158 * day)})
	mark(t0.Add(170*day), want{finding.ChangeOverdue, crit.Key, t0.Add(165 * day)})

	// Two callers at once emit the low finding's overdue event once.
	var wg sync.WaitGroup
	counts := make([]int, 4)
	for i := range counts {
		wg.Go(func() {
			n, err := ds.MarkDeadlines(ctx, t0.Add(200*day))
			if err != nil {
				t.Errorf("concurrent mark: %v", err)
			}
			counts[i] = n
		})
	}
	wg.Wait()
	total := 0
	for _, n := range counts {
		total += n
	}
	if total != 1 {
		t.Fatalf("concurrent callers emitted %d events, want 1", total)
	}
	if got := drainOutbox(t, ds); len(got) != 1 {
		t.Fatalf("%d outbox messages after concurrent marks, want 1", len(got))
	}
}

// drainOutbox returns and deletes every outbox message.
func drainOutbox(t *testing.T, o store.Outbox) []store.OutboxMessage {
	t.Helper()
	var out []store.OutboxMessage
	for {
		ms, err := o.OutboxPending(t.Context(), 1000)
		must(t, err, "outbox pending")
		if len(ms) == 0 {
			return out
		}
		ids := make([]int64, len(ms))
		for i, m := range ms {
			ids[i] = m.ID
			if i > 0 && m.ID <= ms[i-1].ID {
				t.Fatalf("outbox not in ID order: %d after %d", m.ID, ms[i-1].ID)
			}
		}
		must(t, o.OutboxDone(t.Context(), ids), "outbox done")
		out = append(out, ms...)
	}
}
