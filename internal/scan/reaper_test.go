package scan_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/events"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/queue"
	"github.com/rampart-cert/rampart/internal/scan"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

// TestRelF3OldQueuedJobsAreReaped: jobs left queued with no publish
// message in the outbox (stored before jobs went through the outbox, or
// whose message is gone) are handed to the workers again through the
// outbox, once however often the reaper runs, and run once; a job that
// may still wait in the queue is not published twice; a job nothing took
// within the fail threshold is failed with a reason that the scans page
// shows, and the metrics count both. On SQLite, and on PostgreSQL when it
// answers (always under CI=true).
func TestRelF3OldQueuedJobsAreReaped(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlstore.Open(context.Background(), "sqlite", filepath.Join(t.TempDir(), "r.db"), nil)
		must(t, err)
		t.Cleanup(func() { st.Close() })
		testReaper(t, st)
	})
	t.Run("postgres", func(t *testing.T) { testReaper(t, openPostgres(t)) })
}

func testReaper(t *testing.T, st *sqlstore.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	must(t, st.Migrate(ctx))
	sys := auth.SystemPrincipal
	o := org.Organization{Code: "REAP", Name: "Bộ thử", Kind: org.KindMinistry}
	must(t, st.CreateOrg(ctx, sys, &o))
	a := asset.Asset{OrgID: o.ID, Kind: asset.KindIPv4, Value: "192.0.2.50"}
	must(t, st.CreateAsset(ctx, sys, &a))
	q := openQueue(t)

	job := func(id, region string, dispatch bool) {
		j := store.ScanJob{ID: id, AssetID: a.ID, Type: scanjob.JobPortscan, Region: region, Reason: "schedule"}
		if dispatch {
			j.Dispatch = scan.Dispatch
		}
		must(t, st.CreateScanJob(ctx, sys, &j))
	}
	// Stored before the outbox: never published.
	job("pre-outbox-lost", "default", false)
	// Stored before the outbox and published then: it waits in the queue
	// for a worker of its region.
	job("pre-outbox-published", "hcm", false)
	must(t, scanjob.Publish(ctx, q, scanjob.Job{ID: "pre-outbox-published", Type: scanjob.JobPortscan, Region: "hcm", OrgID: o.ID, AssetID: a.ID, Target: a.Value}))
	// Its message waits in the outbox (the relay has not run yet).
	job("in-outbox", "default", true)

	var logs syncBuffer
	var mu sync.Mutex
	clock := time.Now()
	woken := 0
	reaper := scan.NewReaper(st, q, scan.ReaperConfig{
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Now:    func() time.Time { mu.Lock(); defer mu.Unlock(); return clock },
		Wake:   func() { woken++ },
	})
	at := func(d time.Duration) { mu.Lock(); clock = time.Now().Add(d); mu.Unlock() }
	once := func() scan.ReapResult {
		t.Helper()
		res, err := reaper.Once(ctx)
		must(t, err)
		return res
	}

	// Young jobs are left alone.
	if res := once(); len(res.Requeued)+len(res.Failed)+res.Waiting != 0 {
		t.Fatalf("first run touched young jobs: %+v", res)
	}
	// An hour later: the lost job is handed out again, once; the one in
	// the queue and the one in the outbox are not.
	at(time.Hour)
	res := once()
	if !slices.Equal(res.Requeued, []string{"pre-outbox-lost"}) || len(res.Failed) != 0 || res.Waiting != 1 || woken != 1 {
		t.Fatalf("run an hour later: %+v, relay woken %d times", res, woken)
	}
	if res := once(); len(res.Requeued) != 0 {
		t.Fatalf("second run requeued %v again", res.Requeued)
	}
	if n := outboxMsgs(t, st, "pre-outbox-lost"); n != 1 {
		t.Fatalf("%d outbox messages for the lost job, want 1", n)
	}
	if !strings.Contains(logs.String(), "job=pre-outbox-lost") {
		t.Fatalf("requeue not logged: %s", logs.String())
	}
	if _, err := events.NewRelay(st, q, events.RelayOptions{}).Once(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := q.Pending(ctx, queue.StreamJobs, scanjob.JobSubject("default", scanjob.JobPortscan)); err != nil || n != 2 {
		t.Fatalf("%d jobs on the queue for default (%v), want 2", n, err)
	}
	// Published now: nothing more to do for them.
	if res := once(); len(res.Requeued) != 0 || res.Waiting != 3 {
		t.Fatalf("run with every job in the queue: %+v", res)
	}

	// A worker of region default runs what it gets; the ingester stores
	// the results. Each job runs once.
	var delivered sync.Map
	c, err := q.Consume(ctx, queue.ConsumerConfig{Stream: queue.StreamJobs, Durable: "worker-default", FilterSubject: scanjob.RegionSubjects("default")},
		func(ctx context.Context, m *queue.Message) error {
			var j scanjob.Job
			if err := json.Unmarshal(m.Data, &j); err != nil {
				return err
			}
			n, _ := delivered.LoadOrStore(j.ID, new(int))
			*n.(*int)++
			data, _ := json.Marshal(scanjob.PortscanResult{Hosts: []string{a.Value}, Ports: "80"})
			r, _ := json.Marshal(scanjob.Result{JobID: j.ID, Type: j.Type, Region: "default", Worker: "w1", Started: time.Now().UTC(), Finished: time.Now().UTC(), Data: data})
			return q.Publish(ctx, scanjob.ResultSubject(j.Type), r, scanjob.ResultMsgID(j.ID, 0, 0), nil)
		})
	must(t, err)
	defer c.Stop()
	ing, err := scan.NewIngester(st, slog.New(slog.NewTextHandler(io.Discard, nil))).Start(ctx, q)
	must(t, err)
	defer ing.Stop()
	for _, id := range []string{"pre-outbox-lost", "in-outbox"} {
		waitState(t, st, id, store.JobDone)
	}
	if res := once(); len(res.Requeued) != 0 {
		t.Fatalf("run after the jobs ran requeued %v", res.Requeued)
	}
	delivered.Range(func(k, v any) bool {
		if n := *v.(*int); n != 1 {
			t.Errorf("job %s delivered %d times", k, n)
		}
		return true
	})

	// A day later: the job no worker of its region took is failed, with
	// the reason; one whose message still waits in the outbox (NATS down
	// all day) is not.
	job("outbox-all-day", "default", true)
	at(25 * time.Hour)
	res = once()
	if !slices.Equal(res.Failed, []string{"pre-outbox-published"}) || len(res.Requeued) != 0 {
		t.Fatalf("run a day later: %+v", res)
	}
	got, err := st.GetScanJob(ctx, sys, "pre-outbox-published")
	must(t, err)
	if got.State != store.JobFailed || got.Error != scan.NeverTakenReason(scan.DefaultFailAfter) || got.FinishedAt == nil {
		t.Fatalf("old job after the reaper: %+v", got)
	}
	if !strings.Contains(got.Error, "24h") || !strings.Contains(got.Error, "Không worker") {
		t.Fatalf("reason %q", got.Error)
	}
	if got, _ := st.GetScanJob(ctx, sys, "outbox-all-day"); got.State != store.JobQueued {
		t.Fatalf("job whose message waits in the outbox: %s", got.State)
	}

	// The metrics say so.
	reg := prometheus.NewRegistry()
	reg.MustRegister(reaper.Collectors()...)
	mfs, err := reg.Gather()
	must(t, err)
	vals := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch {
			case m.GetCounter() != nil:
				vals[mf.GetName()] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				vals[mf.GetName()] = m.GetGauge().GetValue()
			}
		}
	}
	if vals["rampart_scan_jobs_requeued_total"] != 1 || vals["rampart_scan_jobs_reaped_failed_total"] != 1 || vals["rampart_scan_reaper_errors_total"] != 0 {
		t.Fatalf("metrics %v", vals)
	}
}

// waitState waits up to 15 s for job id to reach state want.
func waitState(t *testing.T, st store.Scans, id string, want store.JobState) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		j, err := st.GetScanJob(context.Background(), auth.SystemPrincipal, id)
		must(t, err)
		if j.State == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s is %s, want %s", id, j.State, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func outboxMsgs(t *testing.T, st store.Outbox, jobID string) int {
	t.Helper()
	msgs, err := st.OutboxPending(context.Background(), 10000)
	must(t, err)
	n := 0
	for _, m := range msgs {
		if m.MsgID == store.JobMsgID(jobID) {
			n++
		}
	}
	return n
}

// syncBuffer is a bytes.Buffer safe for the logger's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// openPostgres returns an unmigrated store in a fresh schema of the test
// PostgreSQL (RAMPART_TEST_POSTGRES, default 127.0.0.1:5432 database
// test), dropped when t ends. It skips when the server does not answer,
// and fails instead under CI=true, as the store's own tests do.
func openPostgres(t *testing.T) *sqlstore.Store {
	t.Helper()
	dsn := os.Getenv("RAMPART_TEST_POSTGRES")
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	admin, err := sqlstore.Open(ctx, "postgres", dsn, nil)
	if err == nil {
		err = admin.Ping(ctx)
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("postgres: %v", err)
		}
		t.Skipf("postgres is not reachable (%v); set RAMPART_TEST_POSTGRES or start it", err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "rampart_test_" + hex.EncodeToString(b)
	if _, err := admin.DB().ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.DB().Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	u, err := url.Parse(dsn)
	must(t, err)
	qv := u.Query()
	qv.Set("search_path", schema)
	u.RawQuery = qv.Encode()
	st, err := sqlstore.Open(ctx, "postgres", u.String(), nil)
	must(t, err)
	t.Cleanup(func() { st.Close() })
	return st
}
