package api

import (
	"net/http"
	"slices"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/scan"
)

// WorkerLister lists the workers the platform hears from (scan.Workers).
type WorkerLister interface {
	List() []scan.WorkerStatus
	Known() bool
}

// RegionStatus is one region's workers at a glance.
type RegionStatus struct {
	Region string `json:"region"`
	Live   int    `json:"live"`    // live workers
	Slots  int    `json:"slots"`   // jobs they run at once, together
	Busy   int    `json:"running"` // jobs they run now
}

type workerList struct {
	// Known is false when the platform cannot see heartbeats (a queue
	// without key-value buckets): then no region is called empty.
	Known   bool                `json:"known"`
	Items   []scan.WorkerStatus `json:"items"`
	Regions []RegionStatus      `json:"regions"`
}

// listWorkers shows the scan workers and their regions. Workers are the
// platform's own machinery (host names, versions), so only platform-wide
// roles see them.
func (s *Server) listWorkers(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.SeesAll() {
		return errf(CodeForbidden, "the list of scan workers is for platform-wide roles")
	}
	out := workerList{Items: []scan.WorkerStatus{}, Regions: []RegionStatus{}}
	if s.Workers != nil {
		out.Known = s.Workers.Known()
		out.Items = append(out.Items, s.Workers.List()...)
	}
	out.Regions = RegionsOf(out.Items)
	writeJSON(w, 200, out)
	return nil
}

// RegionsOf sums workers by region, live ones only, sorted by region.
func RegionsOf(ws []scan.WorkerStatus) []RegionStatus {
	by := map[string]*RegionStatus{}
	var names []string
	for _, wk := range ws {
		rs := by[wk.Region]
		if rs == nil {
			rs = &RegionStatus{Region: wk.Region}
			by[wk.Region] = rs
			names = append(names, wk.Region)
		}
		if wk.Live {
			rs.Live++
			rs.Slots += wk.Concurrency
			rs.Busy += wk.Running
		}
	}
	slices.Sort(names)
	out := make([]RegionStatus, 0, len(names))
	for _, n := range names {
		out = append(out, *by[n])
	}
	return out
}
