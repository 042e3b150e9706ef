package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/discovery"
	"github.com/rampart-cert/rampart/internal/store"
)

// Discovered assets: the API is a thin face over discovery.Service, which
// decides who may confirm, reject, run and sweep; the store keeps each
// caller to their subtree.

type (
	candidatePage    = store.Page[store.Candidate]
	discoveryJobPage = store.Page[store.DiscoveryJob]
)

// discoveryRunRequest queues a discovery run.
type discoveryRunRequest struct {
	// OrgID is the organization whose verified scope (with its subtree's)
	// is searched; 0 or absent: the whole constituency (national level).
	OrgID int64 `json:"org_id,omitempty"`
	// Sources are ct, axfr, wordlist, nsec, rdns, certs, links, routing;
	// empty: the platform's configured ones.
	Sources []string `json:"sources,omitempty"`
}

// sweepRequest asks for a scan of pending candidates nobody confirmed.
type sweepRequest struct {
	CandidateIDs []int64 `json:"candidate_ids"`
	Reason       string  `json:"reason"` // required: kept in the audit log
}

// sweepResponse lists the scan jobs a sweep queued.
type sweepResponse struct {
	Swept []discovery.Swept `json:"swept"`
}

// discoveryRoutes are the routes of discovered assets, in the route table.
func (s *Server) discoveryRoutes() []route {
	return []route{
		{method: "GET", path: "/api/v1/discovery/candidates", op: "listCandidates", tag: "discovery",
			summary: "Assets discovery found that no one registered (pending by default), proposed to the organizations of your subtree whose verified domain, network or AS number covers them",
			query: append([]param{{"state", "string", "pending (default), confirmed or rejected"}, {"org_id", "integer", "candidates of this organization's subtree"},
				{"q", "string", "substring of the value"}}, pageParams...),
			resp: candidatePage{}, status: 200, h: s.listCandidates},
		{method: "GET", path: "/api/v1/discovery/candidates/{id}", op: "getCandidate", tag: "discovery",
			summary: "A discovered candidate: sources, evidence, addresses, first and last seen, decision", resp: store.Candidate{}, status: 200, h: s.getCandidate},
		{method: "POST", path: "/api/v1/discovery/candidates/{id}/confirm", op: "confirmCandidate", tag: "discovery",
			summary: "Confirm a candidate is yours (its organization's admins or the level above): it becomes a registered asset, verified inside your proven scope, and is scanned from then on; its finding closes",
			body:    decisionRequest{}, resp: store.Candidate{}, status: 200, h: s.decideCandidate(true)},
		{method: "POST", path: "/api/v1/discovery/candidates/{id}/reject", op: "rejectCandidate", tag: "discovery",
			summary: "Reject a candidate as not yours (its organization's admins or the level above): it is never proposed again; its finding closes",
			body:    decisionRequest{}, resp: store.Candidate{}, status: 200, h: s.decideCandidate(false)},
		{method: "POST", path: "/api/v1/discovery/sweep", op: "sweepCandidates", tag: "discovery",
			summary: "Scan chosen pending candidates before anyone confirmed them (the national level only, with a reason kept in the audit log); each scan belongs to the asset covering its candidate",
			body:    sweepRequest{}, resp: sweepResponse{}, status: 202, h: s.sweepCandidates},
		{method: "POST", path: "/api/v1/discovery/runs", op: "queueDiscoveryRun", tag: "discovery",
			summary: "Queue a discovery run: over the whole constituency (the national level) or over one organization's verified scope (its admins)",
			body:    discoveryRunRequest{}, resp: store.DiscoveryJob{}, status: 202, h: s.queueDiscoveryRun},
		{method: "GET", path: "/api/v1/discovery/runs", op: "listDiscoveryRuns", tag: "discovery",
			summary: "Discovery runs you may see, newest first, with their state and progress",
			query:   append([]param{{"state", "string", "queued, running, done or failed"}}, pageParams...),
			resp:    discoveryJobPage{}, status: 200, h: s.listDiscoveryRuns},
	}
}

// discoveryDefaults makes a discovery service over the store when New was
// given none (no sweeps: they need the scan scheduler).
func (s *Server) discoveryDefaults() {
	if s.Discovery == nil && s.Guard != nil {
		s.Discovery = discovery.NewService(discovery.ServiceDeps{Store: s.Store, Scope: s.Guard, Findings: s.Findings,
			Invalidate: s.Guard.Invalidate, Now: s.Now, Logger: s.log})
	}
}

// discoveryErr gives the service's own errors their API codes.
func discoveryErr(err error) error {
	if errors.Is(err, discovery.ErrNoSweeper) {
		return errf(CodeUnavailable, err.Error())
	}
	return err
}

func (s *Server) needDiscovery() error {
	if s.Discovery == nil {
		return errf(CodeUnavailable, "discovery is not enabled on this server")
	}
	return nil
}

func (s *Server) listCandidates(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pr, err := pageRequest(r)
	if err != nil {
		return err
	}
	f := store.CandidateFilter{PageRequest: pr, State: store.CandidateState(r.URL.Query().Get("state")), Query: r.URL.Query().Get("q")}
	if f.OrgID, err = queryInt(r, "org_id"); err != nil {
		return err
	}
	switch f.State {
	case "", store.CandidatePending, store.CandidateConfirmed, store.CandidateRejected:
	default:
		return errf(CodeBadRequest, "state must be pending, confirmed or rejected")
	}
	page, err := s.Store.ListCandidates(r.Context(), p, f)
	if err != nil {
		return err
	}
	writeJSON(w, 200, page)
	return nil
}

func (s *Server) getCandidate(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return getByID(w, r, func(ctx context.Context, id int64) (store.Candidate, error) { return s.Store.GetCandidate(ctx, p, id) })
}

func (s *Server) decideCandidate(confirm bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		if err := s.needDiscovery(); err != nil {
			return err
		}
		id, err := pathID(r)
		if err != nil {
			return err
		}
		var req decisionRequest
		if r.ContentLength != 0 {
			if err := decode(w, r, &req); err != nil {
				return err
			}
		}
		c, err := s.Discovery.Decide(r.Context(), p, id, confirm, req.Reason)
		if err != nil {
			return discoveryErr(err)
		}
		writeJSON(w, 200, c)
		return nil
	}
}

func (s *Server) sweepCandidates(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := s.needDiscovery(); err != nil {
		return err
	}
	var req sweepRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	swept, err := s.Discovery.Sweep(r.Context(), p, req.CandidateIDs, req.Reason)
	if err != nil {
		return discoveryErr(err)
	}
	writeJSON(w, 202, sweepResponse{Swept: swept})
	return nil
}

func (s *Server) queueDiscoveryRun(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := s.needDiscovery(); err != nil {
		return err
	}
	var req discoveryRunRequest
	if r.ContentLength != 0 {
		if err := decode(w, r, &req); err != nil {
			return err
		}
	}
	if req.OrgID < 0 {
		return errf(CodeBadRequest, "org_id must not be negative")
	}
	j, err := s.Discovery.QueueRun(r.Context(), p, req.OrgID, req.Sources)
	if err != nil {
		return discoveryErr(err)
	}
	writeJSON(w, 202, j)
	return nil
}

func (s *Server) listDiscoveryRuns(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pr, err := pageRequest(r)
	if err != nil {
		return err
	}
	f := store.DiscoveryJobFilter{PageRequest: pr, State: store.JobState(r.URL.Query().Get("state"))}
	page, err := s.Store.ListDiscoveryJobs(r.Context(), p, f)
	if err != nil {
		return err
	}
	writeJSON(w, 200, page)
	return nil
}
