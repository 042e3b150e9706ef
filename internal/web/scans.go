package web

import (
	"net/http"
	"sort"
	"time"

	"github.com/rampart-cert/rampart/internal/queue"
	"github.com/rampart-cert/rampart/internal/scan"
	"github.com/rampart-cert/rampart/internal/store"
)

const jobsPerPage = 50

type workerRow struct {
	Worker, Region string
	LastSeen       time.Time
	Jobs           int
}

type scansData struct {
	Depth       uint64
	HasQueue    bool
	QueueErr    bool
	Jobs        []store.ScanJob
	Workers     []workerRow
	State       string
	States      []store.JobState
	Next, First string
	// Problems are jobs whose results cannot be applied yet; Orphans
	// counts results kept aside for jobs the database does not know
	// (reliability review F5, F7).
	Problems []store.IngestProblem
	Orphans  int
	// Live are the workers heard from (heartbeats), by region, for
	// platform-wide roles; LiveShown says whether the section is shown.
	Live      []scan.WorkerStatus
	LiveShown bool
	LiveCount int
}

// WorkerLister lists the scan workers heard from (scan.Workers).
type WorkerLister interface {
	List() []scan.WorkerStatus
	Known() bool
}

var jobStates = []store.JobState{store.JobQueued, store.JobRunning, store.JobDone, store.JobFailed, store.JobUnreachable}

// scansPage shows the queue depth, the workers and regions seen in recent
// jobs, and the recent jobs with their state.
func (s *Server) scansPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	q := r.URL.Query()
	d := scansData{State: q.Get("state"), States: jobStates}
	if s.Queue != nil {
		d.HasQueue = true
		n, err := s.Queue.Pending(r.Context(), queue.StreamJobs, "")
		if err != nil {
			s.log.Warn("web: queue depth", "err", err)
			d.QueueErr = true
		}
		d.Depth = n
	}
	page, err := s.st.ListScanJobs(r.Context(), c.p(), store.JobFilter{State: store.JobState(d.State),
		PageRequest: store.PageRequest{Limit: jobsPerPage, After: q.Get("after")}})
	if err != nil {
		return err
	}
	d.Jobs = page.Items
	if d.Problems, err = s.Store.ListIngestProblems(r.Context(), c.p(), 20); err != nil {
		return err
	}
	if d.Orphans, _, err = s.Store.ListOrphanResults(r.Context(), c.p(), 1); err != nil {
		return err
	}
	if s.Workers != nil && c.p().SeesAll() && s.Workers.Known() {
		d.LiveShown, d.Live = true, s.Workers.List()
		for _, wk := range d.Live {
			if wk.Live {
				d.LiveCount++
			}
		}
	}
	workers := map[string]*workerRow{}
	for _, j := range page.Items {
		if j.Worker == "" {
			continue
		}
		k := j.Worker + "\x00" + j.Region
		wr := workers[k]
		if wr == nil {
			wr = &workerRow{Worker: j.Worker, Region: j.Region}
			workers[k] = wr
		}
		wr.Jobs++
		seen := j.CreatedAt
		if j.StartedAt != nil {
			seen = *j.StartedAt
		}
		if j.FinishedAt != nil {
			seen = *j.FinishedAt
		}
		if seen.After(wr.LastSeen) {
			wr.LastSeen = seen
		}
	}
	for _, wr := range workers {
		d.Workers = append(d.Workers, *wr)
	}
	sort.Slice(d.Workers, func(i, j int) bool {
		if d.Workers[i].Region != d.Workers[j].Region {
			return d.Workers[i].Region < d.Workers[j].Region
		}
		return d.Workers[i].Worker < d.Workers[j].Worker
	})
	if page.Next != "" {
		nq := cloneValues(q)
		nq.Set("after", page.Next)
		d.Next = nq.Encode()
	}
	if q.Get("after") != "" {
		fq := cloneValues(q)
		fq.Del("after")
		d.First = fq.Encode()
	}
	return s.page(w, r, c, "scans", "scans.title", "scans", d)
}
