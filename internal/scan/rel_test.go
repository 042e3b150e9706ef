package scan_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/events"
	"github.com/rampart-cert/rampart/internal/findings"
	"github.com/rampart-cert/rampart/internal/queue"
	"github.com/rampart-cert/rampart/internal/queue/natsq"
	"github.com/rampart-cert/rampart/internal/scan"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
	"github.com/rampart-cert/rampart/internal/scope"
	"github.com/rampart-cert/rampart/internal/store"
)

// crashingQueue stores nothing on the jobs stream: the process "dies"
// right after the job was committed, before its publish.
type crashingQueue struct {
	queue.Queue
	published atomic.Int64
}

func (q *crashingQueue) Publish(ctx context.Context, subject string, data []byte, msgID string, h map[string]string) error {
	if strings.HasPrefix(subject, queue.SubjectJobs+".") {
		return errors.New("killed before the publish")
	}
	return q.Queue.Publish(ctx, subject, data, msgID, h)
}

func openQueue(t *testing.T) *natsq.Queue {
	t.Helper()
	q, err := natsq.Open(context.Background(), natsq.Options{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	must(t, err)
	t.Cleanup(func() { q.Close() })
	return q
}

func (p *pipeline) scheduler(q queue.Queue) *scan.Scheduler {
	guard := scope.New(p.st, time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))
	must(p.t, guard.Refresh(p.ctx))
	return scan.NewScheduler(p.st, q, guard, nil, scan.SchedulerConfig{Region: "default"})
}

// TestRelF3JobStoredIsAlwaysPublished: a job is written with its publish
// message in one transaction, so a crash between the store and the
// publish (review 3b) leaves a job the relay still hands to the workers,
// never one stuck in queued; a retried request with the same idempotency
// key returns the same jobs instead of a second set.
func TestRelF3JobStoredIsAlwaysPublished(t *testing.T) {
	p := newPipeline(t)
	o := p.org("A")
	a := p.asset(o, asset.KindIPv4, "192.0.2.10")
	b := p.asset(o, asset.KindIPv4, "192.0.2.11")
	nats := openQueue(t)
	crash := &crashingQueue{Queue: nats}
	sched := p.scheduler(crash)
	svc := findings.New(findings.Deps{Store: p.st, Scheduler: sched})
	admin := auth.SystemPrincipal

	// The "crash": nothing reaches the jobs stream from the request itself.
	jobs, _ := svc.RequestScan(p.ctx, admin, findings.ScanRequest{OrgID: o.ID, IdempotencyKey: "req-1"})
	stored, err := p.st.ListScanJobs(p.ctx, admin, store.JobFilter{})
	must(t, err)
	if len(stored.Items) != 2 {
		t.Fatalf("stored %d jobs, want 2", len(stored.Items))
	}
	// After the restart the relay publishes what the outbox holds.
	if _, err := events.NewRelay(p.st, nats, events.RelayOptions{}).Once(p.ctx); err != nil {
		t.Fatal(err)
	}
	n, err := nats.Pending(p.ctx, queue.StreamJobs, "")
	must(t, err)
	if n != 2 {
		t.Fatalf("%d of 2 stored jobs on the queue: the others would stay queued forever", n)
	}

	// The client saw an error and retries with the same key: the same
	// jobs, no new ones, nothing published twice.
	again, err := svc.RequestScan(p.ctx, admin, findings.ScanRequest{OrgID: o.ID, IdempotencyKey: "req-1"})
	must(t, err)
	if len(again) != 2 || (len(jobs) == 2 && (again[0].ID != jobs[0].ID || again[1].ID != jobs[1].ID)) {
		t.Fatalf("retry answered %+v, first attempt %+v", again, jobs)
	}
	stored, err = p.st.ListScanJobs(p.ctx, admin, store.JobFilter{})
	must(t, err)
	if len(stored.Items) != 2 {
		t.Fatalf("the retry made %d jobs in all, want 2", len(stored.Items))
	}
	// Even once the jobs finished, a late retry does not scan again.
	for _, j := range stored.Items {
		must(t, p.st.SetJobState(p.ctx, j.ID, store.JobDone, "w", "", nil))
	}
	late, err := svc.RequestScan(p.ctx, admin, findings.ScanRequest{AssetID: a.ID, IdempotencyKey: "req-1"})
	must(t, err)
	if len(late) != 1 || late[0].State != store.JobDone {
		t.Fatalf("late retry: %+v", late)
	}
	if _, err := events.NewRelay(p.st, nats, events.RelayOptions{}).Once(p.ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := nats.Pending(p.ctx, queue.StreamJobs, ""); n != 2 {
		t.Fatalf("%d jobs on the queue after the retries, want 2", n)
	}
	// Another key is another request.
	other, err := svc.RequestScan(p.ctx, admin, findings.ScanRequest{AssetID: b.ID, IdempotencyKey: "req-2"})
	must(t, err)
	if len(other) != 1 || other[0].State != store.JobQueued {
		t.Fatalf("new key: %+v", other)
	}
	if _, err := svc.RequestScan(p.ctx, admin, findings.ScanRequest{AssetID: b.ID, IdempotencyKey: strings.Repeat("k", 200)}); !errors.Is(err, findings.ErrBadRequest) {
		t.Fatalf("a 200-byte key: %v", err)
	}
}

// TestRelF9ScanRequestWithQueueDown: with NATS down a scan request is
// answered at once with its jobs queued (not a 503 after 10 s for a job
// that runs anyway); the jobs wait in the outbox and run once NATS is back.
func TestRelF9ScanRequestWithQueueDown(t *testing.T) {
	p := newPipeline(t)
	o := p.org("A")
	a := p.asset(o, asset.KindIPv4, "192.0.2.20")
	down := openQueue(t)
	down.Close()
	svc := findings.New(findings.Deps{Store: p.st, Scheduler: p.scheduler(down)})
	start := time.Now()
	jobs, err := svc.RequestScan(p.ctx, auth.SystemPrincipal, findings.ScanRequest{AssetID: a.ID})
	if err != nil || len(jobs) != 1 || jobs[0].State != store.JobQueued {
		t.Fatalf("request with NATS down: %+v, %v", jobs, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the request took %v", d)
	}
	back := openQueue(t)
	if _, err := events.NewRelay(p.st, back, events.RelayOptions{}).Once(p.ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := back.Pending(p.ctx, queue.StreamJobs, ""); n != 1 {
		t.Fatalf("%d jobs published once NATS is back, want 1", n)
	}
}

// bigResult is a /24's portscan: every address answers with five services
// and findings with verbose evidence, about 2 MB of JSON.
func bigResult(prefix string, hosts int) scanjob.PortscanResult {
	pr := scanjob.PortscanResult{Ports: "21,23,80,6379,11211"}
	evidence := strings.Repeat("x", 1500)
	for i := 1; i <= hosts; i++ {
		ip := fmt.Sprintf("%s.%d", prefix, i)
		pr.Hosts = append(pr.Hosts, ip)
		for _, port := range []int{21, 23, 80, 6379, 11211} {
			svc := fmt.Sprintf("%s:%d", ip, port)
			pr.Open = append(pr.Open, scanjob.OpenPort{IP: ip, Port: port, Service: "svc", Banner: "banner " + svc})
			pr.Findings = append(pr.Findings, scanjob.FindingOut{Check: "svc.redis-unauthenticated", Family: "svc", Severity: "critical",
				Target: svc, IP: ip, Title: "open", Evidence: scanjob.Evidence{Response: evidence}})
			pr.Covered = append(pr.Covered, scanjob.CoverageOut{Target: svc, IP: ip, Checks: []string{"svc.redis-unauthenticated"}})
		}
	}
	pr.Stats.Hosts = hosts
	return pr
}

// TestRelF2ResultInParts: a result too large for one message travels in
// parts that each fit; the ingester applies each part as it comes, in
// any order and more than once, and the job is done only once every part
// is in.
func TestRelF2ResultInParts(t *testing.T) {
	p := newPipeline(t)
	o := p.org("NET")
	a := p.asset(o, asset.KindCIDR, "10.9.8.0/24")
	pr := bigResult("10.9.8", 200)
	whole, _ := json.Marshal(pr)
	parts, err := scanjob.SplitPortscan(pr, scanjob.MaxResultMessage-8<<10)
	must(t, err)
	if len(whole) < 1<<20 || len(parts) < 4 {
		t.Fatalf("%d bytes in %d parts", len(whole), len(parts))
	}
	j := store.ScanJob{ID: "big", AssetID: a.ID, Type: scanjob.JobPortscan, Region: "default", Reason: "manual"}
	must(t, p.st.CreateScanJob(p.ctx, auth.SystemPrincipal, &j))
	at := time.Now().UTC()
	result := func(i int) scanjob.Result {
		data, _ := json.Marshal(parts[i])
		r := scanjob.Result{JobID: "big", Type: scanjob.JobPortscan, Worker: "w", Finished: at, Data: data, Part: i + 1, Parts: len(parts)}
		if b, _ := json.Marshal(r); len(b) > scanjob.MaxResultMessage {
			t.Fatalf("part %d is %d bytes", i+1, len(b))
		}
		return r
	}
	state := func() store.JobState {
		got, err := p.st.GetScanJob(p.ctx, auth.SystemPrincipal, "big")
		must(t, err)
		return got.State
	}
	// Last part first, then the rest but the first, one of them twice.
	must(t, p.in.Handle(p.ctx, result(len(parts)-1)))
	for i := 1; i < len(parts)-1; i++ {
		must(t, p.in.Handle(p.ctx, result(i)))
	}
	must(t, p.in.Handle(p.ctx, result(1)))
	if s := state(); s != store.JobRunning {
		t.Fatalf("job %s with part 1 missing", s)
	}
	must(t, p.in.Handle(p.ctx, result(0)))
	if s := state(); s != store.JobDone {
		t.Fatalf("job %s with every part in", s)
	}
	obs, err := p.st.ListObservations(p.ctx, auth.SystemPrincipal, store.ObservationFilter{AssetID: a.ID, State: "open", PageRequest: store.PageRequest{Limit: store.MaxLimit}})
	must(t, err)
	if len(obs.Items) != 1000 {
		t.Fatalf("%d open observations, want 1000", len(obs.Items))
	}
	fs, err := p.st.ListFindings(p.ctx, auth.SystemPrincipal, store.FindingFilter{AssetID: a.ID, PageRequest: store.PageRequest{Limit: store.MaxLimit}})
	must(t, err)
	open := 0
	for _, f := range fs.Items {
		if f.State == "open" {
			open++
		}
	}
	if len(fs.Items) != 1000 || open != 1000 {
		t.Fatalf("%d findings, %d open; want 1000 open", len(fs.Items), open)
	}
}

// flakyStore is the store with a database that can go down.
type flakyStore struct {
	scan.IngestStore
	down atomic.Bool
}

var errDown = fmt.Errorf("sqlstore: get scan job: %w: connection refused", store.ErrUnavailable)

func (f *flakyStore) GetScanJob(ctx context.Context, p auth.Principal, id string) (store.ScanJob, error) {
	if f.down.Load() {
		return store.ScanJob{}, errDown
	}
	return f.IngestStore.GetScanJob(ctx, p, id)
}

func (f *flakyStore) Ping(ctx context.Context) error {
	if f.down.Load() {
		return errDown
	}
	return f.IngestStore.Ping(ctx)
}

// TestRelF5IngestWaitsForTheDatabase: with the database down a result is
// neither dropped nor bounced back into a growing backoff: the ingester
// holds it and applies it within seconds of the database coming back,
// however long the outage; a result that fails for another reason shows
// on its job and in the counters, and is cleared once it is applied.
func TestRelF5IngestWaitsForTheDatabase(t *testing.T) {
	p := newPipeline(t)
	o := p.org("A")
	a := p.asset(o, asset.KindIPv4, "192.0.2.30")
	j := store.ScanJob{ID: "j-outage", AssetID: a.ID, Type: scanjob.JobPortscan, Region: "default", Reason: "schedule"}
	must(t, p.st.CreateScanJob(p.ctx, auth.SystemPrincipal, &j))
	fs := &flakyStore{IngestStore: p.st}
	in := scan.NewIngester(fs, slog.New(slog.NewTextHandler(io.Discard, nil)))
	in.ProbeEvery = 100 * time.Millisecond
	data, _ := json.Marshal(redisOpen("192.0.2.30"))
	r := scanjob.Result{JobID: "j-outage", Type: scanjob.JobPortscan, Worker: "w", Finished: time.Now().UTC(), Data: data}

	fs.down.Store(true)
	done := make(chan error, 1)
	go func() { done <- in.Handle(p.ctx, r) }()
	select {
	case err := <-done:
		t.Fatalf("the result was handed back while the database was down: %v", err)
	case <-time.After(1500 * time.Millisecond):
	}
	if in.Stats().Waiting != 1 {
		t.Fatalf("stats while down: %+v", in.Stats())
	}
	fs.down.Store(false)
	back := time.Now()
	select {
	case err := <-done:
		must(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("not applied within 5 s of the database coming back")
	}
	t.Logf("applied %v after the database came back", time.Since(back))
	got, err := p.st.GetScanJob(p.ctx, auth.SystemPrincipal, "j-outage")
	must(t, err)
	if got.State != store.JobDone {
		t.Fatalf("job %s", got.State)
	}

	// A result that cannot be applied for another reason: visible.
	j2 := store.ScanJob{ID: "j-bug", AssetID: a.ID, Type: scanjob.JobPortscan, Region: "default", Reason: "schedule"}
	must(t, p.st.CreateScanJob(p.ctx, auth.SystemPrincipal, &j2))
	in.After = func(context.Context, store.ScanJob, time.Time, scanjob.PortscanResult) error {
		return errors.New("findings: broken")
	}
	r.JobID = "j-bug"
	if err := in.Handle(p.ctx, r); err == nil {
		t.Fatal("a failing result was acknowledged")
	}
	probs, err := p.st.ListIngestProblems(p.ctx, auth.SystemPrincipal, 10)
	must(t, err)
	if len(probs) != 1 || probs[0].JobID != "j-bug" || !strings.Contains(probs[0].Error, "broken") || in.Stats().Failing != 1 || in.Stats().Failures != 1 {
		t.Fatalf("problems %+v, stats %+v", probs, in.Stats())
	}
	in.After = nil
	r.Attempt = 2
	must(t, in.Handle(p.ctx, r))
	if probs, _ := p.st.ListIngestProblems(p.ctx, auth.SystemPrincipal, 10); len(probs) != 0 || in.Stats().Failing != 0 {
		t.Fatalf("after the retry: %+v, stats %+v", probs, in.Stats())
	}
}

// TestRelF5ResultsAreNeverGivenUp: the results consumer retries without
// a delivery limit, every few seconds at most, so an outage longer than
// any budget loses nothing and ingestion resumes promptly.
func TestRelF5ResultsAreNeverGivenUp(t *testing.T) {
	q := &recordingQueue{}
	if _, err := scanjob.ConsumeResults(context.Background(), q, "ingester", "", func(context.Context, scanjob.Result) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if q.cfg.MaxDeliver != -1 || q.cfg.RetryMax <= 0 || q.cfg.RetryMax > 5*time.Second {
		t.Fatalf("results consumer %+v: gives up, or waits too long after an outage", q.cfg)
	}
}

type recordingQueue struct {
	queue.Queue
	cfg queue.ConsumerConfig
}

func (q *recordingQueue) Consume(_ context.Context, cfg queue.ConsumerConfig, _ queue.Handler) (queue.Consumer, error) {
	q.cfg = cfg
	return nil, nil
}

// TestRelF7OrphanResultsAreKeptAside: a result for a job the database does
// not know is kept (once, however often it comes) and counted, not
// acknowledged and dropped.
func TestRelF7OrphanResultsAreKeptAside(t *testing.T) {
	p := newPipeline(t)
	data, _ := json.Marshal(redisOpen("192.0.2.40"))
	r := scanjob.Result{JobID: "other-platform-job", Type: scanjob.JobPortscan, Worker: "w", Finished: time.Now().UTC(), Data: data,
		MsgID: scanjob.ResultMsgID("other-platform-job", 0, 0)}
	must(t, p.in.Handle(p.ctx, r))
	must(t, p.in.Handle(p.ctx, r)) // redelivered
	must(t, p.in.Handle(p.ctx, scanjob.Result{JobID: "other-platform-job", Type: scanjob.JobStarted, Worker: "w"}))
	n, kept, err := p.st.ListOrphanResults(p.ctx, auth.SystemPrincipal, 10)
	must(t, err)
	if n != 1 || len(kept) != 1 || kept[0].JobID != "other-platform-job" || kept[0].Type != scanjob.JobPortscan {
		t.Fatalf("kept %d: %+v", n, kept)
	}
	if p.in.Stats().Orphans != 2 {
		t.Fatalf("stats %+v", p.in.Stats())
	}
	// Members of an organization do not see another platform's results.
	if n, _, _ := p.st.ListOrphanResults(p.ctx, auth.Principal{Name: "u", Role: auth.RoleOrgAdmin, OrgID: 1}, 10); n != 0 {
		t.Fatalf("an organization's admin sees %d orphans", n)
	}
}
