package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/store"
)

// reapStore is a store that can find and repair stale queued jobs.
type reapStore interface {
	store.Store
	store.StaleJobs
	store.Outbox
}

// testStaleJobs covers store.StaleJobs: queued jobs without a publish
// message in the outbox are listed once they are old enough; requeueing
// writes one message however often it is asked, and never for a job that
// left queued; failing keeps the reason and touches only queued jobs
// without a message.
func testStaleJobs(t *testing.T, s store.Store) {
	rs, ok := any(s).(reapStore)
	if !ok {
		t.Skipf("%T does not implement store.StaleJobs", s)
	}
	f := newFixture(t, s)
	ctx := f.ctx
	a := f.asset(t, sys, f.a1, asset.KindIPv4, "192.0.2.90")
	dispatch := func(j store.ScanJob) (store.OutboxMessage, error) {
		return store.OutboxMessage{Subject: "rampart.jobs." + j.Region + "." + j.Type, MsgID: store.JobMsgID(j.ID), Data: []byte(j.ID)}, nil
	}
	// Two jobs as they were stored before the outbox (no message), one
	// with its message, one that already ran.
	f.job(t, sys, "reap-old-1", a, "hn")
	f.job(t, sys, "reap-old-2", a, "hcm")
	withMsg := store.ScanJob{ID: "reap-outbox", AssetID: a.ID, Type: "portscan", Region: "hn", Reason: "schedule", Dispatch: dispatch}
	must(t, s.CreateScanJob(ctx, sys, &withMsg), "create job with its message")
	f.job(t, sys, "reap-done", a, "hn")
	must(t, s.SetJobState(ctx, "reap-done", store.JobDone, "w", "", nil), "finish job")

	if got, err := rs.StaleQueuedJobs(ctx, time.Now().Add(-time.Hour), 10); err != nil || len(got) != 0 {
		t.Fatalf("stale jobs an hour ago = %v, %v; want none", jobIDs(got), err)
	}
	later := time.Now().Add(time.Hour)
	got, err := rs.StaleQueuedJobs(ctx, later, 10)
	must(t, err, "stale queued jobs")
	if ids := jobIDs(got); len(ids) != 2 || ids[0] != "reap-old-1" || ids[1] != "reap-old-2" || got[1].Region != "hcm" {
		t.Fatalf("stale jobs = %v, want [reap-old-1 reap-old-2] oldest first", ids)
	}
	if got, _ := rs.StaleQueuedJobs(ctx, later, 1); len(got) != 1 {
		t.Fatalf("limit 1 gave %d jobs", len(got))
	}

	// Requeue: one message, then none while it waits in the outbox.
	done, err := rs.RequeueScanJob(ctx, "reap-old-1", dispatch)
	must(t, err, "requeue")
	again, err := rs.RequeueScanJob(ctx, "reap-old-1", dispatch)
	must(t, err, "requeue again")
	if !done || again {
		t.Fatalf("requeue = %v, again = %v; want true, false", done, again)
	}
	if n := outboxFor(t, f, rs, "reap-old-1"); n != 1 {
		t.Fatalf("%d outbox messages for reap-old-1, want 1", n)
	}
	if got, _ := rs.StaleQueuedJobs(ctx, later, 10); len(got) != 1 || got[0].ID != "reap-old-2" {
		t.Fatalf("stale jobs after the requeue = %v", jobIDs(got))
	}
	if done, err := rs.RequeueScanJob(ctx, "reap-done", dispatch); err != nil || done {
		t.Fatalf("requeue of a finished job = %v, %v", done, err)
	}
	if _, err := rs.RequeueScanJob(ctx, "reap-nope", dispatch); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("requeue of an unknown job: %v", err)
	}
	wrongID := func(j store.ScanJob) (store.OutboxMessage, error) {
		return store.OutboxMessage{Subject: "x", MsgID: "other", Data: []byte("x")}, nil
	}
	if _, err := rs.RequeueScanJob(ctx, "reap-old-2", wrongID); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("requeue under another message id: %v", err)
	}

	// Fail: only queued jobs without a message.
	if done, err := rs.FailQueuedJob(ctx, "reap-outbox", "too old"); err != nil || done {
		t.Fatalf("fail of a job whose message waits = %v, %v", done, err)
	}
	if done, err := rs.FailQueuedJob(ctx, "reap-done", "too old"); err != nil || done {
		t.Fatalf("fail of a finished job = %v, %v", done, err)
	}
	if _, err := rs.FailQueuedJob(ctx, "reap-old-2", " "); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("fail without a reason: %v", err)
	}
	done, err = rs.FailQueuedJob(ctx, "reap-old-2", "không worker nào nhận / never taken")
	must(t, err, "fail queued job")
	j, err := s.GetScanJob(ctx, sys, "reap-old-2")
	must(t, err, "get failed job")
	if !done || j.State != store.JobFailed || j.Error != "không worker nào nhận / never taken" || j.FinishedAt == nil {
		t.Fatalf("failed job = %v %+v", done, j)
	}
	if got, _ := rs.StaleQueuedJobs(ctx, later, 10); len(got) != 0 {
		t.Fatalf("stale jobs at the end = %v", jobIDs(got))
	}
}

// outboxFor counts the outbox messages of job id.
func outboxFor(t *testing.T, f *fixture, o store.Outbox, id string) int {
	t.Helper()
	msgs, err := o.OutboxPending(f.ctx, 10000)
	must(t, err, "outbox pending")
	n := 0
	for _, m := range msgs {
		if m.MsgID == store.JobMsgID(id) {
			n++
		}
	}
	return n
}
