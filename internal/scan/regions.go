package scan

// Regions route work (reliability F1).
//
// A region is a vantage point: the workers started with --region R take
// the jobs published on rampart.jobs.R.<type>. Which regions may scan an
// asset is registry data, not a property of the serving process:
//
//   - an asset may name its own regions (asset.Asset.Regions);
//   - otherwise its organization's route applies, inherited down the tree
//     (org.InheritRoute, delivered with the scan policy as
//     store.ScanPolicy.Route);
//   - when nobody up the tree names regions, the platform's default region
//     (SchedulerConfig.Region, the configuration's region) applies.
//
// Among those regions a job goes to one with a live worker (a heartbeat
// in scanjob.WorkersBucket younger than scanjob.LiveFor), the least loaded
// one by default (running jobs plus jobs routed since the last heartbeats,
// over the region's live capacity; ties in turn) or simply in turn
// (RouteRoundRobin). When none of them has a live worker the job still
// goes to one of them, in turn, and is stored with a waiting reason ("no
// live worker in region hanoi"): it runs as soon as a worker of that
// region appears, and until then the scans page and the API say why it
// waits. Regions.Run keeps those reasons true as workers come and go.
//
// Cross-check: a route with CrossCheck set scans each asset from every
// one of its regions: one job per region, each with its own job ID (the
// usual ID with "-<region>" appended). Both results belong to the same
// asset and are applied by the ingester one after the other, in the order
// the workers finished, like any two scans of the asset: when the vantage
// points agree the second changes nothing (the same findings are seen
// again); when they disagree (a port open from one region and filtered
// from the other) the later result's view is applied and the finding's
// history records the change with both job IDs, which is what a
// cross-check is for. Scheduled scans are cross-checked; a manual or
// verification scan (findings.Service, through Job) goes to one region.

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/queue"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
	"github.com/rampart-cert/rampart/internal/store"
)

// WorkerStatus is one worker as the platform last heard from it.
type WorkerStatus struct {
	scanjob.Heartbeat
	LastSeen time.Time `json:"last_seen"` // when its last heartbeat was stored (the NATS server's clock)
	Live     bool      `json:"live"`      // heard from within scanjob.LiveFor
}

// Workers tracks the workers' heartbeats. It is safe for concurrent use.
type Workers struct {
	kv  queue.KV // nil: the queue keeps no buckets, nothing is known
	log *slog.Logger
	now func() time.Time

	mu    sync.RWMutex
	list  []WorkerStatus
	known bool // at least one refresh succeeded
}

// OpenWorkers opens (creating it: workers may not) the heartbeat bucket
// on q. A queue without key-value buckets gives a tracker that knows no
// worker and never calls a region empty.
func OpenWorkers(ctx context.Context, q queue.Queue, log *slog.Logger) (*Workers, error) {
	if log == nil {
		log = slog.Default()
	}
	w := &Workers{log: log, now: time.Now}
	st, ok := q.(queue.KVStore)
	if !ok {
		return w, nil
	}
	kv, err := st.KeyValue(ctx, scanjob.WorkersBucket)
	if err != nil {
		return nil, fmt.Errorf("scan: workers bucket: %w", err)
	}
	if _, ok := kv.(queue.KVLister); !ok {
		return w, nil
	}
	w.kv = kv
	return w, nil
}

// NewWorkersFrom is a tracker over a bucket given directly, for tests.
func NewWorkersFrom(kv queue.KV, now func() time.Time) *Workers {
	if now == nil {
		now = time.Now
	}
	return &Workers{kv: kv, log: slog.Default(), now: now}
}

// Refresh reads the bucket again. Heartbeats older than
// scanjob.ForgetAfter (a worker that died without saying goodbye) are
// deleted.
func (w *Workers) Refresh(ctx context.Context) error {
	if w == nil || w.kv == nil {
		return nil
	}
	entries, err := w.kv.(queue.KVLister).Entries(ctx)
	if err != nil {
		return fmt.Errorf("scan: workers: %w", err)
	}
	now := w.now()
	list := make([]WorkerStatus, 0, len(entries))
	for _, e := range entries {
		age := now.Sub(e.Stored)
		if age > scanjob.ForgetAfter {
			if err := w.kv.Delete(ctx, e.Key); err != nil {
				w.log.Debug("scan: forget worker", "key", e.Key, "err", err)
			}
			continue
		}
		var hb scanjob.Heartbeat
		// A worker may write only its own region's keys (natsq's worker
		// permissions), so the key, not the value, says the region.
		if err := json.Unmarshal(e.Value, &hb); err != nil || !scanjob.ValidToken(hb.Region) || !strings.HasPrefix(e.Key, hb.Region+".") {
			w.log.Debug("scan: malformed heartbeat", "key", e.Key, "err", err)
			continue
		}
		list = append(list, WorkerStatus{Heartbeat: hb, LastSeen: e.Stored.UTC(), Live: age <= scanjob.LiveFor})
	}
	slices.SortFunc(list, func(a, b WorkerStatus) int {
		if c := cmp.Compare(a.Region, b.Region); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	w.mu.Lock()
	w.list, w.known = list, true
	w.mu.Unlock()
	return nil
}

// List returns the workers heard from within scanjob.ForgetAfter, by
// region and name, as of the last Refresh.
func (w *Workers) List() []WorkerStatus {
	if w == nil {
		return nil
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	return slices.Clone(w.list)
}

// Known reports whether the tracker has read the bucket at least once:
// only then does "no live worker" mean anything.
func (w *Workers) Known() bool {
	if w == nil {
		return false
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.known
}

// RegionLoad is what the router knows of one region's live workers.
type RegionLoad struct {
	Live     int // live workers
	Capacity int // jobs they run at once, together
	Running  int // jobs they run now
}

// loads sums the live workers by region.
func (w *Workers) loads() map[string]RegionLoad {
	out := map[string]RegionLoad{}
	for _, s := range w.List() {
		if !s.Live {
			continue
		}
		l := out[s.Region]
		l.Live++
		l.Capacity += max(s.Concurrency, 1)
		l.Running += s.Running
		out[s.Region] = l
	}
	return out
}

// Routing strategies.
const (
	RouteLeastLoaded = "least-loaded"
	RouteRoundRobin  = "round-robin"
)

// Placement is one job's region and, when it has no live worker, why the
// job will wait.
type Placement struct {
	Region  string
	Waiting string
}

// WaitingReason is the reason stored on a job whose region has no live
// worker.
func WaitingReason(region string) string { return "no live worker in region " + region }

// Router places jobs in regions. It is safe for concurrent use.
type Router struct {
	workers  *Workers
	def      string
	strategy string

	mu       sync.Mutex
	turn     uint64
	assigned map[string]int // jobs routed to a region since its load was last heard
	heard    time.Time
}

// NewRouter returns a router over workers (nil: no worker is known and
// every job goes to its first region), with def the platform's default
// region and strategy RouteLeastLoaded (default) or RouteRoundRobin.
func NewRouter(workers *Workers, def, strategy string) (*Router, error) {
	switch strategy {
	case "":
		strategy = RouteLeastLoaded
	case RouteLeastLoaded, RouteRoundRobin:
	default:
		return nil, fmt.Errorf("scan: routing %q: want %s or %s", strategy, RouteLeastLoaded, RouteRoundRobin)
	}
	if !scanjob.ValidToken(def) {
		return nil, fmt.Errorf("scan: default region %q is not a valid region", def)
	}
	return &Router{workers: workers, def: def, strategy: strategy, assigned: map[string]int{}}, nil
}

// Candidates returns the regions that may scan a (its own, else its
// organization's route, else the default) and whether to cross-check.
func Candidates(a asset.Asset, pol store.ScanPolicy, def string) (regions []string, crossCheck bool) {
	switch {
	case len(a.Regions) > 0:
		regions = a.Regions
	case len(pol.Route.Regions) > 0:
		regions = pol.Route.Regions
	default:
		return []string{def}, false
	}
	return slices.Clone(regions), pol.Route.CrossCheck && len(regions) > 1
}

// Place returns where the jobs of one scan of a go: one placement, or one
// per region for a cross-check.
func (r *Router) Place(a asset.Asset, pol store.ScanPolicy) []Placement {
	cands, cross := Candidates(a, pol, r.def)
	known := r.workers.Known()
	loads := r.workers.loads()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.forgetAssigned()
	waiting := func(region string) string {
		if known && loads[region].Live == 0 {
			return WaitingReason(region)
		}
		return ""
	}
	if cross {
		out := make([]Placement, len(cands))
		for i, c := range cands {
			out[i] = Placement{Region: c, Waiting: waiting(c)}
			r.assigned[c]++
		}
		return out
	}
	live := make([]string, 0, len(cands))
	for _, c := range cands {
		if loads[c].Live > 0 {
			live = append(live, c)
		}
	}
	turn := r.turn
	r.turn++
	var region string
	switch {
	case len(live) == 0:
		region = cands[turn%uint64(len(cands))]
	case r.strategy == RouteRoundRobin:
		region = live[turn%uint64(len(live))]
	default:
		region = leastLoaded(live, loads, r.assigned, turn)
	}
	r.assigned[region]++
	return []Placement{{Region: region, Waiting: waiting(region)}}
}

// forgetAssigned drops the jobs counted since the last heartbeats once
// new ones are in: their load shows in Running (or in the stream) by then.
func (r *Router) forgetAssigned() {
	if r.workers == nil {
		return
	}
	r.workers.mu.RLock()
	var newest time.Time
	for _, s := range r.workers.list {
		if s.LastSeen.After(newest) {
			newest = s.LastSeen
		}
	}
	r.workers.mu.RUnlock()
	if newest.After(r.heard) {
		r.heard = newest
		clear(r.assigned)
	}
}

// leastLoaded picks the live region whose workers have the most room:
// (running + routed since their last heartbeat) / capacity, lowest first;
// among equals, in turn.
func leastLoaded(live []string, loads map[string]RegionLoad, assigned map[string]int, turn uint64) string {
	best := []string{}
	var bestNum, bestDen int
	for _, c := range live {
		num, den := loads[c].Running+assigned[c], max(loads[c].Capacity, 1)
		switch {
		case len(best) == 0 || num*bestDen < bestNum*den:
			best, bestNum, bestDen = []string{c}, num, den
		case num*bestDen == bestNum*den:
			best = append(best, c)
		}
	}
	return best[turn%uint64(len(best))]
}

// Jobs builds the jobs of one scan of asset a: one, or one per region of
// a cross-checked route, each placed by the router (see the top of this
// file). Without a router every job goes to SchedulerConfig.Region.
func (s *Scheduler) Jobs(a asset.Asset, pol store.ScanPolicy, reason, by string, now time.Time) ([]store.ScanJob, error) {
	j, err := s.baseJob(a, pol, reason, by, now)
	if err != nil {
		return nil, err
	}
	if s.cfg.Router == nil {
		return []store.ScanJob{j}, nil
	}
	places := s.cfg.Router.Place(a, pol)
	out := make([]store.ScanJob, len(places))
	for i, p := range places {
		out[i] = j
		out[i].Region, out[i].WaitingReason = p.Region, p.Waiting
		if len(places) > 1 {
			out[i].ID = j.ID + "-" + p.Region
		}
	}
	return out, nil
}

// Job builds the portscan job of asset a, placed in one region: a
// cross-checked route gets its first placement only (Jobs gives all).
func (s *Scheduler) Job(a asset.Asset, pol store.ScanPolicy, reason, by string, now time.Time) (store.ScanJob, error) {
	js, err := s.Jobs(a, pol, reason, by, now)
	if err != nil {
		return store.ScanJob{}, err
	}
	j := js[0]
	if len(js) > 1 {
		// One job of a cross-check alone is an ordinary job of its region.
		j.ID = j.ID[:len(j.ID)-len("-"+j.Region)]
	}
	return j, nil
}

// WaitingStore is what keeping waiting reasons true needs.
type WaitingStore interface {
	QueuedRegions(ctx context.Context) ([]string, error)
	SetWaitingReason(ctx context.Context, region, reason string) (int64, error)
}

// Run refreshes the workers every `every` (default scanjob.HeartbeatEvery)
// and, when st is set, the waiting reasons of queued jobs: a region
// without a live worker says so on its queued jobs; one that has a worker
// again clears them. It returns when ctx ends.
func (w *Workers) Run(ctx context.Context, st WaitingStore, every time.Duration) {
	if every <= 0 {
		every = scanjob.HeartbeatEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := w.Sync(ctx, st); err != nil && ctx.Err() == nil {
			w.log.Warn("scan: workers", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sync is one round of Run.
func (w *Workers) Sync(ctx context.Context, st WaitingStore) error {
	if err := w.Refresh(ctx); err != nil {
		return err
	}
	if st == nil || !w.Known() {
		return nil
	}
	regions, err := st.QueuedRegions(ctx)
	if err != nil {
		return err
	}
	loads := w.loads()
	for _, r := range regions {
		reason := ""
		if loads[r].Live == 0 {
			reason = WaitingReason(r)
		}
		if n, err := st.SetWaitingReason(ctx, r, reason); err != nil {
			return err
		} else if n > 0 {
			w.log.Info("scan: queued jobs' waiting reason", "region", r, "jobs", n, "reason", reason)
		}
	}
	return nil
}
