package api

import (
	"context"
	"net/http"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/store"
)

type (
	findingJSON = store.Finding
	findingPage = store.Page[store.Finding]
	debtJSON    = store.OrgDebt
)

type findingHistory struct {
	Items []store.FindingEvent `json:"items"`
}

type debtList struct {
	Items []store.OrgDebt `json:"items"`
}

type transitionRequest struct {
	Action   finding.Action `json:"action"` // acknowledge, accept-risk, false-positive, approve, reject, reopen, resolve, request-verify
	Reason   string         `json:"reason,omitempty"`
	Until    *time.Time     `json:"until,omitempty"`    // accept-risk, false-positive
	Approver string         `json:"approver,omitempty"` // ignored: the approver is who decides (kept so old clients still parse)
}

var findingParams = []param{
	{"org_id", "integer", "this organization's subtree"}, {"asset_id", "integer", "one asset"},
	{"severity", "string", "critical, high, medium, low or info"}, {"min_severity", "string", "this severity or worse"},
	{"state", "string", "open, acknowledged, fixed, reopened, risk-accepted or false-positive"},
	{"active", "boolean", "open, acknowledged or reopened"}, {"check", "string", "a check ID, or a family prefix like tls."},
	{"kev", "boolean", "KEV-listed (true) or not (false)"}, {"overdue", "boolean", "active and past due"},
	{"q", "string", "substring of the target or title"},
	{"waiver", "string", "pending: an owner's request to accept the risk or mark a false positive awaits a decision"},
	{"sort", "string", "id (default, oldest first) or likelihood: KEV-listed first, then by EPSS score, then by severity"},
}

// findingFilter reads the finding filters shared by list and export.
func (s *Server) findingFilter(r *http.Request) (store.FindingFilter, error) {
	pr, err := pageRequest(r)
	if err != nil {
		return store.FindingFilter{}, err
	}
	q := r.URL.Query()
	f := store.FindingFilter{PageRequest: pr, Check: q.Get("check"), Query: q.Get("q"), Now: s.Now(), Sort: q.Get("sort")}
	if f.Sort != "" && f.Sort != store.SortID && f.Sort != store.SortLikelihood {
		return f, errf(CodeBadRequest, "sort must be id or likelihood")
	}
	if f.OrgID, err = queryInt(r, "org_id"); err != nil {
		return f, err
	}
	if f.AssetID, err = queryInt(r, "asset_id"); err != nil {
		return f, err
	}
	if v := q.Get("severity"); v != "" {
		if f.Severity, err = finding.ParseSeverity(v); err != nil {
			return f, errf(CodeBadRequest, err.Error())
		}
	}
	if v := q.Get("min_severity"); v != "" {
		if f.MinSeverity, err = finding.ParseSeverity(v); err != nil {
			return f, errf(CodeBadRequest, err.Error())
		}
	}
	if v := q.Get("state"); v != "" {
		f.State = finding.State(v)
		if !f.State.Valid() {
			return f, errf(CodeBadRequest, "unknown state "+v)
		}
	}
	if f.Active, err = queryBool(r, "active"); err != nil {
		return f, err
	}
	if f.Overdue, err = queryBool(r, "overdue"); err != nil {
		return f, err
	}
	switch q.Get("waiver") {
	case "":
	case "pending":
		f.WaiverPending = true
	default:
		return f, errf(CodeBadRequest, "waiver must be pending")
	}
	if v := q.Get("kev"); v != "" {
		b, err := queryBool(r, "kev")
		if err != nil {
			return f, err
		}
		f.KEV = &b
	}
	return f, nil
}

func (s *Server) listFindings(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	f, err := s.findingFilter(r)
	if err != nil {
		return err
	}
	page, err := s.Store.ListFindings(r.Context(), p, f)
	if err != nil {
		return err
	}
	writeJSON(w, 200, page)
	return nil
}

func (s *Server) getFinding(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return getByID(w, r, func(ctx context.Context, id int64) (store.Finding, error) { return s.Store.GetFinding(ctx, p, id) })
}

func (s *Server) findingHistory(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	evs, err := s.Store.FindingHistory(r.Context(), p, id)
	if err != nil {
		return err
	}
	if evs == nil {
		evs = []store.FindingEvent{}
	}
	writeJSON(w, 200, findingHistory{Items: evs})
	return nil
}

func (s *Server) transitionFinding(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req transitionRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	t := finding.Transition{Action: req.Action, Reason: req.Reason, Approve: req.Approver, At: s.Now()}
	if req.Until != nil {
		t.Until = req.Until.UTC()
	}
	f, err := s.Findings.Transition(r.Context(), p, id, t)
	if err != nil {
		return err
	}
	writeJSON(w, 200, f)
	return nil
}

func (s *Server) debt(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ds, err := s.Store.Debt(r.Context(), p, s.Now())
	if err != nil {
		return err
	}
	if ds == nil {
		ds = []store.OrgDebt{}
	}
	writeJSON(w, 200, debtList{Items: ds})
	return nil
}
