package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/discovery"
	"github.com/rampart-cert/rampart/internal/findings"
	"github.com/rampart-cert/rampart/internal/scope"
	"github.com/rampart-cert/rampart/internal/store"
)

// Discovered assets in the console: a thin face over discovery.Service,
// which decides who may confirm, reject, run and sweep; the store shows
// each user the candidates of their subtree only.

// candidatesPerPage is one page of the candidates list.
const candidatesPerPage = 100

// runsShown is how many of the latest discovery runs the page shows.
const runsShown = 5

type discoveryData struct {
	State       store.CandidateState
	States      []store.CandidateState
	Q           string
	Items       []store.Candidate
	Next, First string
	MayDecide   bool
	// MaySweep: the national level on a server that scans: the rows get
	// a checkbox and the page the sweep form.
	MaySweep bool
	// RunOrg is the organization the "run now" button searches: 0 for
	// the whole constituency (the national level), the administrator's
	// own otherwise; MayRun says whether there is a button.
	RunOrg int64
	MayRun bool
	Runs   []runRow
}

// runRow is a discovery run with the code of the organization it searched
// ("" for the whole constituency).
type runRow struct {
	store.DiscoveryJob
	OrgCode string
}

func (s *Server) discoveryRoutes(m *http.ServeMux) {
	m.Handle("GET /discovery", s.authed(s.discoveryPage))
	m.Handle("POST /discovery/{id}/confirm", s.authed(s.discoveryDecide(true)))
	m.Handle("POST /discovery/{id}/reject", s.authed(s.discoveryDecide(false)))
	m.Handle("POST /discovery/sweep", s.authed(s.discoverySweep))
	m.Handle("POST /discovery/run", s.authed(s.discoveryRun))
}

// discoveryDefaults makes a discovery service over the store when New was
// given none: decisions work (a confirmation is a claim until the scope
// guard knows the covering asset); sweeps need the scan scheduler.
func (s *Server) discoveryDefaults() {
	if s.Discovery != nil {
		return
	}
	d := discovery.ServiceDeps{Store: s.Store, Findings: s.Findings, Now: s.Now, Logger: s.log}
	if s.Guard != nil {
		d.Scope, d.Invalidate = s.Guard, s.Guard.Invalidate
	} else {
		d.Scope = scope.New(s.Store, time.Minute, s.log)
	}
	s.Discovery = discovery.NewService(d)
}

// discoveryPage lists the candidates of a state (pending by default) with
// where they were found, and the actions the user may take.
func (s *Server) discoveryPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	p := c.p()
	q := r.URL.Query()
	d := discoveryData{State: store.CandidateState(q.Get("state")), Q: strings.TrimSpace(q.Get("q")),
		States:    []store.CandidateState{store.CandidatePending, store.CandidateConfirmed, store.CandidateRejected},
		MayDecide: discovery.MayDecide(p) == nil}
	if d.State == "" {
		d.State = store.CandidatePending
	}
	d.MaySweep = d.State == store.CandidatePending && discovery.MaySweep(p) == nil && s.Discovery.Sweeps()
	if discovery.MayRun(p, 0) == nil {
		d.MayRun = true
	} else if discovery.MayRun(p, p.OrgID) == nil {
		d.MayRun, d.RunOrg = true, p.OrgID
	}
	page, err := s.st.ListCandidates(r.Context(), p, store.CandidateFilter{State: d.State, Query: d.Q,
		PageRequest: store.PageRequest{Limit: candidatesPerPage, After: q.Get("after")}})
	if err != nil {
		return err
	}
	d.Items = page.Items
	if page.Next != "" {
		nq := cloneValues(q)
		nq.Set("after", page.Next)
		nq.Del("ok")
		d.Next = nq.Encode()
	}
	if q.Get("after") != "" {
		fq := cloneValues(q)
		fq.Del("after")
		fq.Del("ok")
		d.First = fq.Encode()
	}
	runs, err := s.st.ListDiscoveryJobs(r.Context(), p, store.DiscoveryJobFilter{PageRequest: store.PageRequest{Limit: runsShown}})
	if err != nil {
		return err
	}
	codes := map[int64]string{}
	for _, j := range runs.Items {
		row := runRow{DiscoveryJob: j}
		if j.OrgID != 0 {
			if _, ok := codes[j.OrgID]; !ok {
				if o, err := s.st.GetOrg(r.Context(), p, j.OrgID); err == nil {
					codes[j.OrgID] = o.Code
				}
			}
			row.OrgCode = codes[j.OrgID]
		}
		d.Runs = append(d.Runs, row)
	}
	return s.page(w, r, c, "discovery", "discovery.title", "assets", d)
}

// discoveryBack is where a discovery action returns: the form's "back"
// when it is a page of the console, else the pending list.
func discoveryBack(r *http.Request) string {
	if b := r.PostFormValue("back"); b != "" {
		return localPath(b)
	}
	return "/discovery"
}

// discoveryErr gives the service's errors the console's categories.
func discoveryErr(err error) error {
	if errors.Is(err, discovery.ErrNoSweeper) {
		return fmt.Errorf("%w: %w", findings.ErrNoScanner, err)
	}
	return err
}

func (s *Server) discoveryDecide(confirm bool) handler {
	return func(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		if _, err := s.Discovery.Decide(r.Context(), c.p(), id, confirm, r.PostFormValue("reason")); err != nil {
			return discoveryErr(err)
		}
		flash := "flash.candidate.confirmed"
		if !confirm {
			flash = "flash.candidate.rejected"
		}
		return redirect(w, r, discoveryBack(r), flash)
	}
}

// discoverySweep scans the candidates ticked on the page (national level,
// with a reason).
func (s *Server) discoverySweep(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	var ids []int64
	for _, v := range r.PostForm["id"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return &uiError{status: http.StatusBadRequest, key: "error.invalid"}
		}
		ids = append(ids, id)
	}
	if _, err := s.Discovery.Sweep(r.Context(), c.p(), ids, r.PostFormValue("reason")); err != nil {
		return discoveryErr(err)
	}
	return redirect(w, r, discoveryBack(r), "flash.swept")
}

// discoveryRun queues a run: over everything for the national level, over
// the administrator's own organization otherwise.
func (s *Server) discoveryRun(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	orgID, err := strconv.ParseInt(r.PostFormValue("org_id"), 10, 64)
	if err != nil || orgID < 0 {
		return &uiError{status: http.StatusBadRequest, key: "error.invalid"}
	}
	if _, err := s.Discovery.QueueRun(r.Context(), c.p(), orgID, nil); err != nil {
		return discoveryErr(err)
	}
	return redirect(w, r, discoveryBack(r), "flash.run.queued")
}

// SourceName names a discovery source in the page's language.
func (l *Lang) SourceName(v any) string { return l.T("discovery.source." + fmt.Sprint(v)) }

// candidateSources are the sources the catalogs name.
func candidateSources() []string {
	var out []string
	for _, s := range discovery.Sources {
		out = append(out, string(s))
	}
	return out
}
