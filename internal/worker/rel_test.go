package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/queue/natsq"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
	"github.com/rampart-cert/rampart/internal/worker"
)

// TestRelF2LargeResultTravelsInParts: a /24's result (over NATS's 1 MB
// message limit) reaches the results stream in parts that each fit, with
// every address in exactly one part, instead of failing to publish and
// being scanned again and again; a result that cannot be split ends the
// job as failed, with the reason.
func TestRelF2LargeResultTravelsInParts(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	q, err := natsq.Open(ctx, natsq.Options{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	big := scanjob.PortscanResult{Ports: "21,23,80,6379,11211"}
	for i := 1; i <= 254; i++ {
		ip := fmt.Sprintf("10.7.7.%d", i)
		big.Hosts = append(big.Hosts, ip)
		for _, port := range []int{21, 23, 80, 6379, 11211} {
			svc := fmt.Sprintf("%s:%d", ip, port)
			big.Open = append(big.Open, scanjob.OpenPort{IP: ip, Port: port, Service: "svc", Banner: strings.Repeat("b", 200)})
			big.Findings = append(big.Findings, scanjob.FindingOut{Check: "svc.x", Family: "svc", Severity: "high", Target: svc, IP: ip,
				Title: "x", Evidence: scanjob.Evidence{Response: strings.Repeat("r", 800)}})
			big.Covered = append(big.Covered, scanjob.CoverageOut{Target: svc, IP: ip, Checks: []string{"svc.x"}})
		}
	}
	reg := worker.NewRegistry()
	reg.Register(scanjob.JobPortscan, func(ctx context.Context, j scanjob.Job) (json.RawMessage, error) {
		if j.ID == "unsplittable" {
			// One address alone over the limit, even with evidence cut.
			one := scanjob.PortscanResult{Ports: "1-65535", Hosts: []string{"10.7.8.1"}}
			for p := 1; p <= 9000; p++ {
				one.Open = append(one.Open, scanjob.OpenPort{IP: "10.7.8.1", Port: p, Banner: strings.Repeat("b", 100)})
			}
			return json.Marshal(one)
		}
		return json.Marshal(big)
	})
	w, err := worker.Start(ctx, q, reg, worker.Config{Name: "t", Region: "lab", AckWait: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	results := make(chan scanjob.Result, 100)
	c, err := scanjob.ConsumeResults(ctx, q, "ingester", scanjob.JobPortscan, func(ctx context.Context, r scanjob.Result) error {
		results <- r
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	for _, id := range []string{"net24", "unsplittable"} {
		if err := scanjob.Publish(ctx, q, scanjob.Job{ID: id, Type: scanjob.JobPortscan, Region: "lab"}); err != nil {
			t.Fatal(err)
		}
	}
	hosts := map[string]int{}
	parts, total := map[int]bool{}, 0
	var failed *scanjob.Result
	deadline := time.After(30 * time.Second)
	for failed == nil || total == 0 || len(parts) < total {
		select {
		case r := <-results:
			if r.JobID == "unsplittable" {
				failed = &r
				continue
			}
			b, _ := json.Marshal(r)
			if len(b) > scanjob.MaxResultMessage || r.Parts < 2 || r.Part < 1 || r.Part > r.Parts {
				t.Fatalf("part %d of %d: %d bytes", r.Part, r.Parts, len(b))
			}
			total, parts[r.Part] = r.Parts, true
			var pr scanjob.PortscanResult
			if err := json.Unmarshal(r.Data, &pr); err != nil {
				t.Fatal(err)
			}
			for _, h := range pr.Hosts {
				hosts[h]++
			}
			for _, f := range pr.Findings {
				if !contains(pr.Hosts, f.IP) {
					t.Fatalf("part %d has a finding of %s without its host", r.Part, f.IP)
				}
			}
		case <-deadline:
			t.Fatalf("after 30 s: %d of %d parts, failed job %v", len(parts), total, failed)
		}
	}
	if len(hosts) != 254 {
		t.Fatalf("%d hosts arrived, want 254", len(hosts))
	}
	for h, n := range hosts {
		if n != 1 {
			t.Fatalf("host %s in %d parts", h, n)
		}
	}
	if failed.Error == "" || !strings.Contains(failed.Error, "too large") || len(failed.Data) != 0 {
		t.Fatalf("unsplittable result: %+v", failed)
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
