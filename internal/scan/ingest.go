package scan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/queue"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/target"
)

// IngestStore is what the ingester writes.
type IngestStore interface {
	GetScanJob(ctx context.Context, p auth.Principal, id string) (store.ScanJob, error)
	SetJobState(ctx context.Context, id string, state store.JobState, worker, errMsg string, stats json.RawMessage) error
	RecordScan(ctx context.Context, r store.ScanReport) error
	ListObservations(ctx context.Context, p auth.Principal, f store.ObservationFilter) (store.Page[store.Observation], error)
}

// Ingester stores the results workers send. Every step is idempotent, so a
// redelivered result changes nothing.
type Ingester struct {
	st  IngestStore
	log *slog.Logger
	// After is called with each stored portscan result and when the
	// worker finished it (the check pipeline hooks in here); an error
	// makes the result come back.
	After func(ctx context.Context, job store.ScanJob, at time.Time, r scanjob.PortscanResult) error
}

// NewIngester returns an ingester.
func NewIngester(st IngestStore, log *slog.Logger) *Ingester {
	if log == nil {
		log = slog.Default()
	}
	return &Ingester{st: st, log: log}
}

// Start consumes results under the durable "ingester" until ctx ends.
func (in *Ingester) Start(ctx context.Context, q queue.Queue) (queue.Consumer, error) {
	return scanjob.ConsumeResults(ctx, q, "ingester", "", in.Handle)
}

// Handle stores one result.
func (in *Ingester) Handle(ctx context.Context, r scanjob.Result) error {
	job, err := in.st.GetScanJob(ctx, auth.SystemPrincipal, r.JobID)
	if errors.Is(err, store.ErrNotFound) {
		// A job published outside the platform's records (a ping, a
		// test): nothing to store.
		in.log.Debug("result", "job", r.JobID, "type", r.Type, "worker", r.Worker, "error", r.Error)
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case r.Type == scanjob.JobStarted:
		return in.st.SetJobState(ctx, r.JobID, store.JobRunning, r.Worker, "", nil)
	case r.Error != "":
		return in.st.SetJobState(ctx, r.JobID, store.JobFailed, r.Worker, r.Error, nil)
	case r.Type == scanjob.JobPortscan:
		return in.portscan(ctx, job, r)
	}
	return in.st.SetJobState(ctx, r.JobID, store.JobDone, r.Worker, "", r.Data)
}

func (in *Ingester) portscan(ctx context.Context, job store.ScanJob, r scanjob.Result) error {
	var pr scanjob.PortscanResult
	if err := json.Unmarshal(r.Data, &pr); err != nil {
		return in.st.SetJobState(ctx, job.ID, store.JobFailed, r.Worker, "malformed result: "+err.Error(), nil)
	}
	stats, _ := json.Marshal(pr.Stats)
	if pr.Unreachable {
		// Silence is not a fix: observations stay as they were.
		return in.st.SetJobState(ctx, job.ID, store.JobUnreachable, r.Worker, "no host answered", stats)
	}
	ports16, err := target.ParsePorts(pr.Ports)
	if err != nil {
		return in.st.SetJobState(ctx, job.ID, store.JobFailed, r.Worker, "bad port spec in result: "+err.Error(), nil)
	}
	ports := make([]int, len(ports16))
	for i, p := range ports16 {
		ports[i] = int(p)
	}
	at := r.Finished.UTC()
	if at.IsZero() {
		at = time.Now().UTC()
	}
	reps := in.reports(job, pr, ports, at)
	closed, err := in.closing(ctx, reps)
	if err != nil {
		return err
	}
	pr.ClosedNow = closed
	for _, rep := range reps {
		if err := in.st.RecordScan(ctx, rep); err != nil {
			return fmt.Errorf("scan: record job %s: %w", job.ID, err)
		}
	}
	if in.After != nil {
		if err := in.After(ctx, job, at, pr); err != nil {
			return err
		}
	}
	return in.st.SetJobState(ctx, job.ID, store.JobDone, r.Worker, "", stats)
}

// reports is what a job saw, as one report of the job's own asset. A
// result belongs to the asset the job was scheduled for, never to whoever
// else registered an address it reached: another organization's claim on
// an address must neither receive this job's observations nor have them
// taken away (review F1, F2).
func (in *Ingester) reports(job store.ScanJob, pr scanjob.PortscanResult, ports []int, at time.Time) []store.ScanReport {
	rep := store.ScanReport{JobID: job.ID, OrgID: job.OrgID, AssetID: job.AssetID, At: at, Ports: ports, Hosts: pr.Hosts}
	for _, op := range pr.Open {
		rep.Open = append(rep.Open, store.Observation{
			IP: op.IP, Port: op.Port, Proto: "tcp", Host: op.Host, State: "open",
			Service: op.Service, Product: op.Product, Version: op.Version, CPE: op.CPE,
			TLS: op.TLS, Banner: op.Banner, Cert: op.Cert,
		})
	}
	if len(rep.Hosts) == 0 && len(rep.Open) == 0 {
		return nil
	}
	return []store.ScanReport{rep}
}

// closing lists the "ip:port" services that the reports are about to close:
// open now, on a host the scan reached, probed, and not seen open, and last
// seen open before the report. An older report (a redelivery, a delayed
// worker) closes nothing that a newer one saw open (review F4 of the
// reliability review).
func (in *Ingester) closing(ctx context.Context, reps []store.ScanReport) ([]string, error) {
	var out []string
	for _, rep := range reps {
		if len(rep.Hosts) == 0 {
			continue
		}
		probed := make(map[int]bool, len(rep.Ports))
		for _, p := range rep.Ports {
			probed[p] = true
		}
		open := map[string]bool{}
		for _, o := range rep.Open {
			open[fmt.Sprintf("%s:%d", o.IP, o.Port)] = true
		}
		for _, h := range rep.Hosts {
			f := store.ObservationFilter{AssetID: rep.AssetID, IP: h, State: "open", PageRequest: store.PageRequest{Limit: store.MaxLimit}}
			for {
				page, err := in.st.ListObservations(ctx, auth.SystemPrincipal, f)
				if err != nil {
					return nil, err
				}
				for _, o := range page.Items {
					key := fmt.Sprintf("%s:%d", o.IP, o.Port)
					if probed[o.Port] && !open[key] && o.LastSeen.Before(rep.At) {
						out = append(out, key)
					}
				}
				if page.Next == "" {
					break
				}
				f.After = page.Next
			}
		}
	}
	return out, nil
}
