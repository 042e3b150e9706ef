package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/decision"
	"github.com/rampart-cert/rampart/internal/store"
)

// National decisions: the API is a thin face over decision.Service
// (approve, reject, lift, decide by hand, bouncers); the store keeps
// decisions to the national level. Beside /api/v1, the CrowdSec Local API
// compatible bouncer endpoints at /v1/decisions and /v1/decisions/stream,
// and the decisions in the blocklist formats at /decisions/{format}.

type decisionPage = store.Page[store.Decision]

// decisionNote is an analyst's note on an approval, rejection or lift.
type decisionNote struct {
	Note string `json:"note,omitempty"`
}

// decisionCreate is an analyst's own decision.
type decisionCreate struct {
	Value  string `json:"value"`            // an address or CIDR
	TTL    string `json:"ttl,omitempty"`    // a Go duration ("4h"); default: the configured TTL
	Reason string `json:"reason,omitempty"` // kept with the decision and in the audit log
	// Names are host names the address serves, blocked in the RPZ zone
	// too (at most 50).
	Names []string `json:"names,omitempty"`
}

// bouncerCreate registers a bouncer.
type bouncerCreate struct {
	Name    string `json:"name"`
	OrgCode string `json:"org_code,omitempty"` // the member it enforces for, if any
}

// bouncerCreated carries the new bouncer's key, shown only here.
type bouncerCreated struct {
	store.Bouncer
	Key  string `json:"key"`
	Pull string `json:"pull"`
}

type bouncerList struct {
	Items []store.Bouncer `json:"items"`
}

const bouncerHint = "CrowdSec bouncers: api_url = this platform's URL, api_key = the key (GET /v1/decisions/stream); blocklists: GET /decisions/{format} with the key in X-Api-Key (plain, csv, nft, ipset, mikrotik, rpz)"

// decisionRoutes are the national decisions' routes of the table.
func (s *Server) decisionRoutes() []route {
	return []route{
		{method: "GET", path: "/api/v1/decisions", op: "listDecisions", tag: "decisions",
			summary: "National decisions (platform-wide roles), newest first: value, state, policy rule, evidence (organizations, sensors, counts, first and last seen)",
			query: append([]param{{"state", "string", "pending, active, expired, rejected or deleted"},
				{"q", "string", "substring of the value"}}, pageParams...),
			resp: decisionPage{}, status: 200, h: s.listDecisions},
		{method: "GET", path: "/api/v1/decisions/{id}", op: "getDecision", tag: "decisions",
			summary: "A national decision with its evidence", resp: store.Decision{}, status: 200, h: s.getDecision},
		{method: "POST", path: "/api/v1/decisions", op: "createDecision", tag: "decisions",
			summary: "Block an address or network now (intel:review, national level): active at once for the TTL given or configured",
			body:    decisionCreate{}, resp: store.Decision{}, status: 201, h: s.createDecision},
		{method: "POST", path: "/api/v1/decisions/{id}/approve", op: "approveDecision", tag: "decisions",
			summary: "Approve a pending decision: bouncers take it at their next pull", body: decisionNote{}, resp: store.Decision{}, status: 200,
			h: s.decideDecision(func(r *http.Request, p auth.Principal, id int64, note string) (store.Decision, error) {
				return s.Decisions.Approve(r.Context(), p, id, note)
			})},
		{method: "POST", path: "/api/v1/decisions/{id}/reject", op: "rejectDecision", tag: "decisions",
			summary: "Reject a pending decision: the correlator does not make it again before its end", body: decisionNote{}, resp: store.Decision{}, status: 200,
			h: s.decideDecision(func(r *http.Request, p auth.Principal, id int64, note string) (store.Decision, error) {
				return s.Decisions.Reject(r.Context(), p, id, note)
			})},
		{method: "POST", path: "/api/v1/decisions/{id}/lift", op: "liftDecision", tag: "decisions",
			summary: "Lift a pending or active decision: bouncers drop it at their next pull", body: decisionNote{}, resp: store.Decision{}, status: 200,
			h: s.decideDecision(func(r *http.Request, p auth.Principal, id int64, note string) (store.Decision, error) {
				return s.Decisions.Lift(r.Context(), p, id, note)
			})},
		{method: "GET", path: "/api/v1/bouncers", op: "listBouncers", tag: "decisions",
			summary: "Bouncers (keys never shown) and what each pulled: last pull, cursor, counts", resp: bouncerList{}, status: 200, h: s.listBouncers},
		{method: "POST", path: "/api/v1/bouncers", op: "createBouncer", tag: "decisions",
			summary: "Register a bouncer; its key is in the response only (the platform keeps its hash)",
			body:    bouncerCreate{}, resp: bouncerCreated{}, status: 201, h: s.createBouncer},
		{method: "DELETE", path: "/api/v1/bouncers/{id}", op: "deleteBouncer", tag: "decisions",
			summary: "Remove a bouncer: its key stops working", status: 204, h: s.deleteBouncer},
	}
}

// decisionDefaults makes the decision service when New was not given
// one and the store keeps decisions, and mounts the bouncer endpoints.
func (s *Server) decisionDefaults() {
	if s.Decisions == nil {
		ds, ok := s.Store.(decision.Store)
		if !ok {
			return
		}
		s.Decisions = decision.NewService(ds, decision.Options{}, s.Now, s.log)
	}
	st := s.Decisions.Store()
	s.mux.Handle("/v1/", s.counted("/v1/", &decision.LAPI{St: st, Now: s.Now, Logger: s.log, TrustProxy: s.TrustProxy}))
	bl := &decision.Blocklists{St: st, Now: s.Now, Logger: s.log}
	if s.Blocklists != nil {
		bl.Fallback = s.Blocklists.Lookup
	}
	s.mux.Handle("/decisions/", s.counted("/decisions/", http.StripPrefix("/decisions", bl.Handler())))
}

func (s *Server) needDecisions() error {
	if s.Decisions == nil {
		return errf(CodeNotFound, "this platform's store keeps no national decisions")
	}
	return nil
}

func (s *Server) listDecisions(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := s.needDecisions(); err != nil {
		return err
	}
	pr, err := pageRequest(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.DecisionFilter{PageRequest: pr, State: store.DecisionState(q.Get("state")), Query: q.Get("q")}
	switch f.State {
	case "", store.DecisionPending, store.DecisionActive, store.DecisionExpired, store.DecisionRejected, store.DecisionDeleted:
	default:
		return errf(CodeBadRequest, "state: one of pending, active, expired, rejected, deleted")
	}
	pg, err := s.Decisions.Store().ListDecisions(r.Context(), p, f)
	if err != nil {
		return err
	}
	writeJSON(w, 200, pg)
	return nil
}

func (s *Server) getDecision(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := s.needDecisions(); err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	d, err := s.Decisions.Store().GetDecision(r.Context(), p, id)
	if err != nil {
		return err
	}
	writeJSON(w, 200, d)
	return nil
}

func (s *Server) createDecision(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := s.needDecisions(); err != nil {
		return err
	}
	var req decisionCreate
	if err := decode(w, r, &req); err != nil {
		return err
	}
	var ttl time.Duration
	if req.TTL != "" {
		var err error
		if ttl, err = time.ParseDuration(req.TTL); err != nil || ttl <= 0 {
			return errf(CodeBadRequest, "ttl: a positive Go duration such as 4h")
		}
	}
	if len(req.Reason) > 2000 {
		return errf(CodeBadRequest, "reason: at most 2000 bytes")
	}
	if len(req.Names) > 50 {
		return errf(CodeBadRequest, "names: at most 50")
	}
	d, err := s.Decisions.Create(r.Context(), p, req.Value, ttl, req.Reason, req.Names...)
	if errors.Is(err, decision.ErrValue) {
		return errf(CodeBadRequest, err.Error())
	}
	if err != nil {
		return err
	}
	writeJSON(w, 201, d)
	return nil
}

func (s *Server) decideDecision(fn func(r *http.Request, p auth.Principal, id int64, note string) (store.Decision, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		if err := s.needDecisions(); err != nil {
			return err
		}
		id, err := pathID(r)
		if err != nil {
			return err
		}
		var req decisionNote
		if r.ContentLength != 0 {
			if err := decode(w, r, &req); err != nil {
				return err
			}
		}
		d, err := fn(r, p, id, strings.TrimSpace(req.Note))
		if err != nil {
			return err
		}
		writeJSON(w, 200, d)
		return nil
	}
}

func (s *Server) listBouncers(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := s.needDecisions(); err != nil {
		return err
	}
	list, err := s.Decisions.Store().ListBouncers(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, 200, bouncerList{Items: list})
	return nil
}

func (s *Server) createBouncer(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := s.needDecisions(); err != nil {
		return err
	}
	var req bouncerCreate
	if err := decode(w, r, &req); err != nil {
		return err
	}
	b, key, err := s.Decisions.AddBouncer(r.Context(), p, req.Name, req.OrgCode)
	if err != nil {
		return err
	}
	writeJSON(w, 201, bouncerCreated{Bouncer: b, Key: key, Pull: bouncerHint})
	return nil
}

func (s *Server) deleteBouncer(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := s.needDecisions(); err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.Decisions.Store().DeleteBouncer(r.Context(), p, id); err != nil {
		return err
	}
	return noContent(w)
}
