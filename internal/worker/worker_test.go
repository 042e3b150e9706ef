package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/queue"
	"github.com/rampart-cert/rampart/internal/queue/natsq"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
	"github.com/rampart-cert/rampart/internal/worker"
)

func openQueues(t *testing.T) map[string]queue.Queue {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	out := map[string]queue.Queue{}
	q, err := natsq.Open(context.Background(), natsq.Options{DataDir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	out["embedded"] = q
	url := os.Getenv("RAMPART_TEST_NATS_URL")
	if url == "" {
		url = "nats://127.0.0.1:4222"
	}
	if c, err := net.DialTimeout("tcp", url[len("nats://"):], time.Second); err == nil {
		c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		xq, err := natsq.Open(ctx, natsq.Options{URL: url, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { xq.Close() })
		out["external"] = xq
	} else if os.Getenv("CI") == "true" {
		t.Fatalf("external NATS at %s unreachable in CI: %v", url, err)
	} else {
		t.Logf("external NATS at %s unreachable, testing the embedded server only: %v", url, err)
	}
	return out
}

func TestWorkerRunsJobsAndPublishesResults(t *testing.T) {
	for mode, q := range openQueues(t) {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			region := fmt.Sprintf("r%d", time.Now().UnixNano()%1e9)
			reg := worker.NewRegistry()
			// Job types unique to this run: on a work-queue stream two
			// consumers may not share a filter, and the external server
			// outlives test runs.
			echo, flaky, broken, nosuch := "echo-"+region, "flaky-"+region, "broken-"+region, "nosuch-"+region
			reg.Register(echo, func(ctx context.Context, j scanjob.Job) (json.RawMessage, error) { return j.Params, nil })
			var attempts sync.Map
			reg.Register(flaky, func(ctx context.Context, j scanjob.Job) (json.RawMessage, error) {
				n, _ := attempts.LoadOrStore(j.ID, new(int))
				*n.(*int)++
				if *n.(*int) == 1 {
					return nil, errors.New("transient")
				}
				return json.RawMessage(`{"ok":true}`), nil
			})
			reg.Register(broken, func(ctx context.Context, j scanjob.Job) (json.RawMessage, error) {
				return nil, worker.Permanent(errors.New("target refused"))
			})
			w, err := worker.Start(ctx, q, reg, worker.Config{Name: "t", Region: region, AckWait: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Stop()
			if nq, ok := q.(*natsq.Queue); ok {
				t.Cleanup(func() {
					_ = nq.DeleteConsumer(context.Background(), queue.StreamJobs, "worker-"+region)
				})
			}

			results := make(chan scanjob.Result, 10)
			for _, typ := range []string{echo, flaky, broken, nosuch} {
				c, err := scanjob.ConsumeResults(ctx, q, "ingest-"+typ, typ, func(ctx context.Context, r scanjob.Result) error {
					results <- r
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Stop()
				if nq, ok := q.(*natsq.Queue); ok {
					t.Cleanup(func() { _ = nq.DeleteConsumer(context.Background(), queue.StreamResults, "ingest-"+typ) })
				}
			}

			jobs := []scanjob.Job{
				{ID: region + "-1", Type: echo, Region: region, Params: json.RawMessage(`{"x":1}`)},
				{ID: region + "-2", Type: flaky, Region: region},
				{ID: region + "-3", Type: broken, Region: region},
				{ID: region + "-4", Type: nosuch, Region: region},
			}
			for _, j := range jobs {
				if err := scanjob.Publish(ctx, q, j); err != nil {
					t.Fatal(err)
				}
			}
			// A job for another region is not taken.
			if err := scanjob.Publish(ctx, q, scanjob.Job{ID: region + "-other", Type: echo, Region: region + "x"}); err != nil {
				t.Fatal(err)
			}
			got := map[string]scanjob.Result{}
			timeout := time.After(20 * time.Second)
			for len(got) < len(jobs) {
				select {
				case r := <-results:
					got[r.JobID] = r
				case <-timeout:
					t.Fatalf("results: %+v", got)
				}
			}
			if string(got[region+"-1"].Data) != `{"x":1}` || got[region+"-2"].Error != "" || string(got[region+"-2"].Data) != `{"ok":true}` {
				t.Errorf("results: %+v", got)
			}
			if got[region+"-3"].Error != "target refused" || got[region+"-4"].Error == "" {
				t.Errorf("failures not reported: %+v %+v", got[region+"-3"], got[region+"-4"])
			}
			if _, ok := got[region+"-other"]; ok {
				t.Error("worker took another region's job")
			}
		})
	}
}
