package scan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
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
	RecordJobPart(ctx context.Context, jobID string, part, total int) (int, error)
	SetJobIngestError(ctx context.Context, jobID, errMsg string) error
	KeepOrphanResult(ctx context.Context, r store.OrphanResult) error
	Ping(ctx context.Context) error
}

// Ingester stores the results workers send. Every step is idempotent, so a
// redelivered result changes nothing.
//
// No result is lost or left aside silently (reliability review F5, F7):
//   - while the database is unavailable, a handler holds its result and
//     probes the database every ProbeEvery, and applies the result as soon
//     as it answers; the queue hands out no more results meanwhile;
//   - a result that fails for another reason comes back within
//     scanjob.ResultRetryMax, forever, and its job shows the error
//     (store.SetJobIngestError) until it is applied;
//   - a result for a job the database does not know is kept aside
//     (store.KeepOrphanResult) and counted, not dropped.
type Ingester struct {
	st  IngestStore
	log *slog.Logger
	// After is called with each stored portscan result and when the
	// worker finished it (the check pipeline hooks in here); an error
	// makes the result come back.
	After func(ctx context.Context, job store.ScanJob, at time.Time, r scanjob.PortscanResult) error
	// ProbeEvery is how often a handler waiting for the database pings
	// it; default one second.
	ProbeEvery time.Duration

	applied, failures, orphans atomic.Int64
	waiting                    atomic.Int64 // handlers waiting for the database
	failing                    sync.Map     // job ID → true while its results fail
}

// IngestStats are the ingester's counters, for /metrics.
type IngestStats struct {
	Applied  int64 // results (or parts) applied
	Failures int64 // attempts that failed for a reason other than the database being down
	Orphans  int64 // results for unknown jobs kept aside
	Waiting  int64 // handlers holding a result until the database answers
	Failing  int64 // jobs whose results are failing now
}

// Stats returns the ingester's counters since it was created.
func (in *Ingester) Stats() IngestStats {
	st := IngestStats{Applied: in.applied.Load(), Failures: in.failures.Load(), Orphans: in.orphans.Load(), Waiting: in.waiting.Load()}
	in.failing.Range(func(any, any) bool { st.Failing++; return true })
	return st
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

// Handle stores one result. It returns only once the result is applied,
// kept aside, or failed for a reason other than the database being down
// (then the queue brings it back); while the database is unavailable it
// waits for it.
func (in *Ingester) Handle(ctx context.Context, r scanjob.Result) error {
	for {
		err := in.handle(ctx, r)
		switch {
		case err == nil:
			in.applied.Add(1)
			if _, was := in.failing.LoadAndDelete(r.JobID); was || r.Attempt > 1 {
				if cerr := in.st.SetJobIngestError(ctx, r.JobID, ""); cerr != nil && !errors.Is(cerr, store.ErrNotFound) {
					in.log.Warn("scan: clear ingest error", "job", r.JobID, "err", cerr)
				}
			}
			return nil
		case ctx.Err() != nil:
			return err
		case !errors.Is(err, store.ErrUnavailable):
			in.failures.Add(1)
			in.failing.Store(r.JobID, true)
			if ferr := in.st.SetJobIngestError(ctx, r.JobID, err.Error()); ferr != nil && !errors.Is(ferr, store.ErrNotFound) {
				in.log.Warn("scan: record ingest error", "job", r.JobID, "err", ferr)
			}
			in.log.Warn("scan: result not applied; it will come back", "job", r.JobID, "type", r.Type, "attempt", r.Attempt, "err", err)
			return err
		}
		// Each wait lasts at least one probe interval, so a database
		// that answers pings but not this result costs a try a second.
		if !in.waitForStore(ctx, r.JobID, err) {
			return err
		}
	}
}

// waitForStore holds the caller until the database answers a ping, and
// reports false if ctx ended first.
func (in *Ingester) waitForStore(ctx context.Context, jobID string, cause error) bool {
	every := in.ProbeEvery
	if every <= 0 {
		every = time.Second
	}
	if in.waiting.Add(1) == 1 {
		in.log.Warn("scan: database unavailable; results wait for it", "job", jobID, "err", cause)
	}
	defer in.waiting.Add(-1)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, every+2*time.Second)
		err := in.st.Ping(pctx)
		cancel()
		if err == nil {
			if in.waiting.Load() == 1 {
				in.log.Info("scan: database back; applying results", "job", jobID)
			}
			return true
		}
	}
}

func (in *Ingester) handle(ctx context.Context, r scanjob.Result) error {
	job, err := in.st.GetScanJob(ctx, auth.SystemPrincipal, r.JobID)
	if errors.Is(err, store.ErrNotFound) {
		return in.orphan(ctx, r)
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

// orphan keeps a result for a job the database does not know (a restored
// older database, another platform on the same NATS account) aside, where
// the console and /metrics show it, instead of dropping it (review F7). A
// started notice is only logged: it carries nothing to apply.
func (in *Ingester) orphan(ctx context.Context, r scanjob.Result) error {
	if r.Type == scanjob.JobStarted {
		in.log.Debug("scan: start notice for an unknown job", "job", r.JobID, "worker", r.Worker)
		return nil
	}
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("scan: orphan result %s: %w", r.JobID, err)
	}
	msgID := r.MsgID
	if msgID == "" {
		msgID = scanjob.ResultMsgID(r.JobID, r.Part, r.Parts)
	}
	if err := in.st.KeepOrphanResult(ctx, store.OrphanResult{MsgID: msgID, JobID: r.JobID, Type: r.Type, Region: r.Region, Worker: r.Worker, Data: data}); err != nil {
		return fmt.Errorf("scan: keep orphan result %s: %w", r.JobID, err)
	}
	in.orphans.Add(1)
	in.log.Warn("scan: result for a job this database does not know; kept aside", "job", r.JobID, "type", r.Type, "worker", r.Worker, "msg_id", msgID)
	return nil
}

func (in *Ingester) portscan(ctx context.Context, job store.ScanJob, r scanjob.Result) error {
	var pr scanjob.PortscanResult
	if err := json.Unmarshal(r.Data, &pr); err != nil {
		return in.st.SetJobState(ctx, job.ID, store.JobFailed, r.Worker, "malformed result: "+err.Error(), nil)
	}
	if r.Parts < 0 || (r.Parts > 0 && (r.Part < 1 || r.Part > r.Parts)) {
		return in.st.SetJobState(ctx, job.ID, store.JobFailed, r.Worker, fmt.Sprintf("malformed result: part %d of %d", r.Part, r.Parts), nil)
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
	var udp16 []uint16
	if pr.UDPPorts != "" {
		if udp16, err = target.ParsePorts(pr.UDPPorts); err != nil {
			return in.st.SetJobState(ctx, job.ID, store.JobFailed, r.Worker, "bad udp port spec in result: "+err.Error(), nil)
		}
	}
	at := r.Finished.UTC()
	if at.IsZero() {
		at = time.Now().UTC()
	}
	reps := in.reports(job, pr, ints(ports16), ints(udp16), at)
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
	if r.Parts > 1 {
		// A result in parts: the job is done once every part is applied
		// (each part stands alone, so the order does not matter).
		n, err := in.st.RecordJobPart(ctx, job.ID, r.Part, r.Parts)
		if err != nil {
			return fmt.Errorf("scan: job %s part %d of %d: %w", job.ID, r.Part, r.Parts, err)
		}
		if n < r.Parts {
			if job.State == store.JobQueued {
				return in.st.SetJobState(ctx, job.ID, store.JobRunning, r.Worker, "", nil)
			}
			return nil
		}
	}
	return in.st.SetJobState(ctx, job.ID, store.JobDone, r.Worker, "", stats)
}

// reports is what a job saw, as one report of the job's own asset. A
// result belongs to the asset the job was scheduled for, never to whoever
// else registered an address it reached: another organization's claim on
// an address must neither receive this job's observations nor have them
// taken away (review F1, F2).
//
// A UDP scan (udpPorts) covers the hosts the job reached over TCP and
// those that answered over UDP: their UDP services not heard again close.
func (in *Ingester) reports(job store.ScanJob, pr scanjob.PortscanResult, ports, udpPorts []int, at time.Time) []store.ScanReport {
	rep := store.ScanReport{JobID: job.ID, OrgID: job.OrgID, AssetID: job.AssetID, At: at, Ports: ports, Hosts: pr.Hosts}
	if len(udpPorts) > 0 {
		rep.UDPPorts, rep.UDPHosts = udpPorts, slices.Clone(pr.Hosts)
	}
	for _, op := range pr.Open {
		proto := "tcp"
		if op.Proto == "udp" {
			proto = "udp"
			if len(udpPorts) > 0 && !slices.Contains(rep.UDPHosts, op.IP) {
				rep.UDPHosts = append(rep.UDPHosts, op.IP)
			}
		}
		rep.Open = append(rep.Open, store.Observation{
			IP: op.IP, Port: op.Port, Proto: proto, Host: op.Host, State: "open",
			Service: op.Service, Product: op.Product, Version: op.Version, CPE: op.CPE,
			TLS: op.TLS, Banner: op.Banner, Cert: op.Cert,
		})
	}
	if len(rep.Hosts) == 0 && len(rep.Open) == 0 {
		return nil
	}
	return []store.ScanReport{rep}
}

func ints(ps []uint16) []int {
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = int(p)
	}
	return out
}

// serviceKey names a service as findings' targets do: "ip:port" for TCP
// ("[ip]:port" for IPv6), "ip:port/udp" for UDP.
func serviceKey(ip string, port int, proto string) string {
	k := net.JoinHostPort(ip, strconv.Itoa(port))
	if proto == "udp" {
		k += "/udp"
	}
	return k
}

// closing lists the services ("ip:port", "ip:port/udp") that the reports
// are about to close: open now, on a host the scan of their protocol
// covered, probed, and not seen open, and last seen open before the
// report. An older report (a redelivery, a delayed worker) closes nothing
// that a newer one saw open (review F4 of the reliability review).
func (in *Ingester) closing(ctx context.Context, reps []store.ScanReport) ([]string, error) {
	var out []string
	for _, rep := range reps {
		probed := map[string]map[int]bool{"tcp": {}, "udp": {}}
		for _, p := range rep.Ports {
			probed["tcp"][p] = true
		}
		for _, p := range rep.UDPPorts {
			probed["udp"][p] = true
		}
		covers := map[string]map[string]bool{"tcp": {}, "udp": {}}
		for _, h := range rep.Hosts {
			covers["tcp"][h] = true
		}
		for _, h := range rep.UDPHosts {
			covers["udp"][h] = true
		}
		hosts := slices.Concat(rep.Hosts, rep.UDPHosts)
		slices.Sort(hosts)
		hosts = slices.Compact(hosts)
		open := map[string]bool{}
		for _, o := range rep.Open {
			open[serviceKey(o.IP, o.Port, o.Proto)] = true
		}
		for _, h := range hosts {
			f := store.ObservationFilter{AssetID: rep.AssetID, IP: h, State: "open", PageRequest: store.PageRequest{Limit: store.MaxLimit}}
			for {
				page, err := in.st.ListObservations(ctx, auth.SystemPrincipal, f)
				if err != nil {
					return nil, err
				}
				for _, o := range page.Items {
					key := serviceKey(o.IP, o.Port, o.Proto)
					if covers[o.Proto][h] && probed[o.Proto][o.Port] && !open[key] && o.LastSeen.Before(rep.At) {
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
