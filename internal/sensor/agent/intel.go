package agent

import (
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rampart-cert/rampart/internal/hub/snapshot"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/intel/match"
)

// intelTable is the hub's indicators as the detector matches them: the
// snapshot the follower keeps up to date, in a match.Matcher. It is a
// snapshot.Handler (one goroutine writes) and a detect.Indicators (the
// detector reads, lock-free).
type intelTable struct {
	log *slog.Logger
	m   atomic.Pointer[match.Matcher]

	mu     sync.RWMutex
	values []string               // by ID - 1: the indicator value, for detections
	ids    map[snapshot.Key]int64 // the ID of each entry held
	free   []int64

	connected atomic.Bool
	version   atomic.Int64
}

func newIntelTable(log *slog.Logger) *intelTable {
	t := &intelTable{log: log, ids: map[snapshot.Key]int64{}}
	t.m.Store(match.New())
	return t
}

// matchable reports whether the detector can use an indicator of kind k:
// addresses, networks and names.
func matchable(k intel.Kind) bool {
	return k == intel.KindIPv4 || k == intel.KindIPv6 || k == intel.KindCIDR || k == intel.KindDomain
}

// LookupAddr implements detect.Indicators.
func (t *intelTable) LookupAddr(a netip.Addr) (int64, bool) { return t.m.Load().LookupAddr(a) }

// LookupName implements detect.Indicators.
func (t *intelTable) LookupName(name string) (int64, bool) { return t.m.Load().LookupName(name) }

// describe is the indicator value of an ID, for detect.Config.Describe.
func (t *intelTable) describe(id int64) string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if id <= 0 || int(id) > len(t.values) {
		return ""
	}
	return t.values[id-1]
}

// count is how many indicators the table matches.
func (t *intelTable) count() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.ids)
}

// Apply loads a whole snapshot into a new matcher and swaps it in.
func (t *intelTable) Apply(s *snapshot.Snapshot) {
	start := time.Now()
	m := match.New()
	t.mu.Lock()
	t.values, t.ids, t.free = t.values[:0], make(map[snapshot.Key]int64, len(s.Entries)), nil
	changes := make([]match.Change, 0, len(s.Entries))
	for _, e := range s.Entries {
		if !matchable(e.Kind) {
			continue
		}
		t.values = append(t.values, e.Value)
		id := int64(len(t.values))
		t.ids[e.Key()] = id
		changes = append(changes, match.Change{Kind: e.Kind, Value: e.Value, ID: id})
	}
	t.mu.Unlock()
	t.applyChanges(m, changes)
	t.m.Store(m)
	t.version.Store(s.Version)
	t.log.Info("indicators loaded", "version", s.Version, "indicators", len(changes), "took", time.Since(start).Round(time.Millisecond))
}

// ApplyDelta applies one change of the snapshot to the current matcher.
func (t *intelTable) ApplyDelta(d *snapshot.Delta) {
	var changes []match.Change
	t.mu.Lock()
	for _, k := range d.Remove {
		id, ok := t.ids[k]
		if !ok {
			continue
		}
		delete(t.ids, k)
		t.values[id-1] = ""
		t.free = append(t.free, id)
		changes = append(changes, match.Change{Kind: k.Kind, Value: k.Value, Remove: true})
	}
	for _, e := range d.Add {
		if !matchable(e.Kind) {
			continue
		}
		id, ok := t.ids[e.Key()]
		if !ok {
			if n := len(t.free); n > 0 {
				id, t.free = t.free[n-1], t.free[:n-1]
				t.values[id-1] = e.Value
			} else {
				t.values = append(t.values, e.Value)
				id = int64(len(t.values))
			}
			t.ids[e.Key()] = id
		}
		changes = append(changes, match.Change{Kind: e.Kind, Value: e.Value, ID: id})
	}
	t.mu.Unlock()
	t.applyChanges(t.m.Load(), changes)
	t.version.Store(d.Version)
}

// applyChanges applies a batch; a batch refused as a whole (one value
// not in canonical form) is applied one change at a time, skipping the
// bad ones.
func (t *intelTable) applyChanges(m *match.Matcher, changes []match.Change) {
	if len(changes) == 0 {
		return
	}
	if err := m.Apply(changes); err == nil {
		return
	}
	bad := 0
	for _, c := range changes {
		if err := m.Apply([]match.Change{c}); err != nil {
			bad++
		}
	}
	t.log.Warn("indicators the matcher refused", "count", bad)
}

// State implements snapshot.Handler.
func (t *intelTable) State(connected bool, version int64, _ time.Time) {
	t.connected.Store(connected)
}
