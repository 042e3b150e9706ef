package scan_test

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/queue"
	"github.com/rampart-cert/rampart/internal/scan"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
	"github.com/rampart-cert/rampart/internal/store"
)

// memKV is a bucket in memory that remembers when each key was stored.
type memKV struct {
	mu  sync.Mutex
	m   map[string]queue.KVEntry
	now func() time.Time
}

func newMemKV(now func() time.Time) *memKV { return &memKV{m: map[string]queue.KVEntry{}, now: now} }

func (k *memKV) Get(_ context.Context, key string) ([]byte, bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	e, ok := k.m[key]
	return e.Value, ok, nil
}

func (k *memKV) Put(_ context.Context, key string, val []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.m[key] = queue.KVEntry{Key: key, Value: val, Stored: k.now()}
	return nil
}

func (k *memKV) Delete(_ context.Context, key string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.m, key)
	return nil
}

func (k *memKV) Entries(context.Context) ([]queue.KVEntry, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]queue.KVEntry, 0, len(k.m))
	for _, e := range k.m {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func beat(t *testing.T, kv *memKV, region, name string, concurrency, running int) {
	t.Helper()
	b, _ := json.Marshal(scanjob.Heartbeat{Name: name, Region: region, Concurrency: concurrency, Running: running})
	if err := kv.Put(context.Background(), scanjob.HeartbeatKey(region, name), b); err != nil {
		t.Fatal(err)
	}
}

func policyWith(regions []string, cross bool) store.ScanPolicy {
	return store.ScanPolicy{Route: org.Route{Regions: regions, CrossCheck: cross}}
}

// place routes n scans and counts jobs by region and waiting reason.
func place(r *scan.Router, a asset.Asset, pol store.ScanPolicy, n int) map[string]int {
	got := map[string]int{}
	for range n {
		for _, p := range r.Place(a, pol) {
			k := p.Region
			if p.Waiting != "" {
				k += " (" + p.Waiting + ")"
			}
			got[k]++
		}
	}
	return got
}

func TestRouterPlace(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	a := asset.Asset{ID: 1, OrgID: 1, Kind: asset.KindIPv4, Value: "192.0.2.1"}
	own := a
	own.Regions = []string{"danang"}
	tests := []struct {
		name     string
		strategy string
		workers  func(kv *memKV)
		noBucket bool
		asset    asset.Asset
		pol      store.ScanPolicy
		want     map[string]int
	}{
		{name: "no route: the default region", workers: func(kv *memKV) { beat(t, kv, "default", "serve", 4, 0) },
			asset: a, want: map[string]int{"default": 6}},
		{name: "F1: an org routed to hanoi runs on the hanoi worker", workers: func(kv *memKV) {
			beat(t, kv, "default", "serve", 4, 0)
			beat(t, kv, "hanoi", "w-hanoi", 4, 0)
		}, asset: a, pol: policyWith([]string{"hanoi"}, false), want: map[string]int{"hanoi": 6}},
		{name: "two live regions share the work (least loaded)", workers: func(kv *memKV) {
			beat(t, kv, "hanoi", "w-hanoi", 4, 0)
			beat(t, kv, "hcm", "w-hcm", 4, 0)
		}, asset: a, pol: policyWith([]string{"hanoi", "hcm"}, false), want: map[string]int{"hanoi": 3, "hcm": 3}},
		{name: "least loaded follows capacity", workers: func(kv *memKV) {
			beat(t, kv, "hanoi", "w-hanoi", 4, 0)
			beat(t, kv, "hcm", "w-hcm-1", 4, 0)
			beat(t, kv, "hcm", "w-hcm-2", 4, 0)
		}, asset: a, pol: policyWith([]string{"hanoi", "hcm"}, false), want: map[string]int{"hanoi": 2, "hcm": 4}},
		{name: "least loaded avoids the busy region", workers: func(kv *memKV) {
			beat(t, kv, "hanoi", "w-hanoi", 4, 4)
			beat(t, kv, "hcm", "w-hcm", 4, 0)
		}, asset: a, pol: policyWith([]string{"hanoi", "hcm"}, false), want: map[string]int{"hanoi": 1, "hcm": 5}},
		{name: "round robin ignores load", strategy: scan.RouteRoundRobin, workers: func(kv *memKV) {
			beat(t, kv, "hanoi", "w-hanoi", 4, 4)
			beat(t, kv, "hcm", "w-hcm", 4, 0)
		}, asset: a, pol: policyWith([]string{"hanoi", "hcm"}, false), want: map[string]int{"hanoi": 3, "hcm": 3}},
		{name: "only live regions are used", workers: func(kv *memKV) { beat(t, kv, "hcm", "w-hcm", 4, 0) },
			asset: a, pol: policyWith([]string{"hanoi", "hcm"}, false), want: map[string]int{"hcm": 6}},
		{name: "no live worker: the job waits, and says why", workers: func(kv *memKV) { beat(t, kv, "default", "serve", 4, 0) },
			asset: a, pol: policyWith([]string{"hanoi"}, false), want: map[string]int{"hanoi (no live worker in region hanoi)": 6}},
		{name: "a dead worker is not live", workers: func(kv *memKV) {
			kv.now = func() time.Time { return now.Add(-time.Minute) }
			beat(t, kv, "hanoi", "w-hanoi", 4, 0)
		}, asset: a, pol: policyWith([]string{"hanoi"}, false), want: map[string]int{"hanoi (no live worker in region hanoi)": 6}},
		{name: "no bucket: nothing is known, nothing is called empty", noBucket: true,
			asset: a, pol: policyWith([]string{"hanoi", "hcm"}, false), want: map[string]int{"hanoi": 3, "hcm": 3}},
		{name: "the asset's own regions win", workers: func(kv *memKV) { beat(t, kv, "danang", "w-dn", 4, 0) },
			asset: own, pol: policyWith([]string{"hanoi"}, true), want: map[string]int{"danang": 6}},
		{name: "cross-check: one job per region", workers: func(kv *memKV) { beat(t, kv, "hanoi", "w-hanoi", 4, 0) },
			asset: a, pol: policyWith([]string{"hanoi", "hcm"}, true), want: map[string]int{"hanoi": 6, "hcm (no live worker in region hcm)": 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w *scan.Workers
			if !tt.noBucket {
				kv := newMemKV(clock)
				tt.workers(kv)
				w = scan.NewWorkersFrom(kv, clock)
				if err := w.Refresh(ctx); err != nil {
					t.Fatal(err)
				}
			}
			r, err := scan.NewRouter(w, "default", tt.strategy)
			if err != nil {
				t.Fatal(err)
			}
			got := place(r, tt.asset, tt.pol, 6)
			if len(got) != len(tt.want) {
				t.Fatalf("placed %v, want %v", got, tt.want)
			}
			for k, n := range tt.want {
				if got[k] != n {
					t.Fatalf("placed %v, want %v", got, tt.want)
				}
			}
		})
	}
	if _, err := scan.NewRouter(nil, "default", "random"); err == nil {
		t.Error("unknown strategy accepted")
	}
	if _, err := scan.NewRouter(nil, "Ha Noi", ""); err == nil {
		t.Error("bad default region accepted")
	}
}

type waitingStore struct {
	queued  []string
	reasons map[string]string
}

func (s *waitingStore) QueuedRegions(context.Context) ([]string, error) { return s.queued, nil }

func (s *waitingStore) SetWaitingReason(_ context.Context, region, reason string) (int64, error) {
	if s.reasons[region] == reason {
		return 0, nil
	}
	s.reasons[region] = reason
	return 1, nil
}

func TestWorkersSync(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	kv := newMemKV(clock)
	beat(t, kv, "default", "host/serve", 4, 1)
	kv.now = func() time.Time { return now.Add(-2 * time.Hour) }
	beat(t, kv, "hcm", "long-gone", 4, 0)
	kv.now = clock
	w := scan.NewWorkersFrom(kv, clock)
	st := &waitingStore{queued: []string{"default", "hanoi"}, reasons: map[string]string{}}
	if err := w.Sync(ctx, st); err != nil {
		t.Fatal(err)
	}
	if st.reasons["hanoi"] != "no live worker in region hanoi" || st.reasons["default"] != "" {
		t.Fatalf("reasons = %q", st.reasons)
	}
	list := w.List()
	if len(list) != 1 || list[0].Name != "host/serve" || !list[0].Live || list[0].Running != 1 || !list[0].LastSeen.Equal(now) {
		t.Fatalf("workers = %+v", list)
	}
	if _, found, _ := kv.Get(ctx, scanjob.HeartbeatKey("hcm", "long-gone")); found {
		t.Error("a worker silent for 2 h is still in the bucket")
	}
	// A hanoi worker appears: its jobs stop waiting.
	beat(t, kv, "hanoi", "w-hanoi", 4, 0)
	if err := w.Sync(ctx, st); err != nil {
		t.Fatal(err)
	}
	if st.reasons["hanoi"] != "" {
		t.Fatalf("hanoi still waiting: %q", st.reasons["hanoi"])
	}
}

type anyScope struct{}

func (anyScope) Lookup(string) (asset.Match, error) { return asset.Match{}, nil }

// TestSchedulerJobsCrossCheck: a cross-checked route makes one job per
// region, each with its own ID; Job alone makes one ordinary job.
func TestSchedulerJobsCrossCheck(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	r, err := scan.NewRouter(nil, "default", "")
	if err != nil {
		t.Fatal(err)
	}
	s := scan.NewScheduler(nil, nil, anyScope{}, nil, scan.SchedulerConfig{Region: "default", Router: r})
	a := asset.Asset{ID: 7, OrgID: 1, Kind: asset.KindIPv4, Value: "192.0.2.7"}
	js, err := s.Jobs(a, policyWith([]string{"hanoi", "hcm"}, true), "schedule", "scheduler", now)
	if err != nil {
		t.Fatal(err)
	}
	var ids, regions []string
	for _, j := range js {
		ids, regions = append(ids, j.ID), append(regions, j.Region)
	}
	if !slices.Equal(regions, []string{"hanoi", "hcm"}) || ids[0] != "a7-schedule-20261207T0900-hanoi" || ids[1] != "a7-schedule-20261207T0900-hcm" {
		t.Fatalf("cross-check jobs: %q in %q", ids, regions)
	}
	j, err := s.Job(a, policyWith([]string{"hanoi", "hcm"}, true), "schedule", "scheduler", now)
	if err != nil || strings.HasSuffix(j.ID, "-"+j.Region) || j.ID != "a7-schedule-20261207T0900" {
		t.Fatalf("Job = %q in %q, %v", j.ID, j.Region, err)
	}
	// Without a router every job goes to the default region.
	plain := scan.NewScheduler(nil, nil, anyScope{}, nil, scan.SchedulerConfig{Region: "hn"})
	if j, err := plain.Job(a, policyWith([]string{"hanoi"}, false), "manual", "x", now); err != nil || j.Region != "hn" {
		t.Fatalf("no router: %q, %v", j.Region, err)
	}
}
