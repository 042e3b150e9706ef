package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/decision"
	"github.com/rampart-cert/rampart/internal/store"
)

// National decisions in the console, beside the hub (its subnavigation):
// the decisions with their evidence, the analysts' approve, reject and
// lift buttons, and the bouncers with what each pulled. A thin face over
// decision.Service; the store keeps all of it to the national level.
// (The paths are under /intel: /decisions/ is the blocklists' mount.)

const decisionsPerPage = 100

type decisionsData struct {
	State       store.DecisionState
	States      []store.DecisionState
	Q           string
	Items       []store.Decision
	Next, First string
	TTLHours    int
}

type decisionData struct {
	D store.Decision
}

type bouncerRow struct {
	store.Bouncer
	OrgName string
}

type bouncersData struct {
	Rows []bouncerRow
	// Key is a new bouncer's key, shown once, for Shown.
	Key   string
	Shown string
}

func (s *Server) decisionRoutes(m *http.ServeMux) {
	m.Handle("GET /intel/decisions", s.authed(s.decisionsPage))
	m.Handle("POST /intel/decisions", s.authed(s.decisionCreate))
	m.Handle("GET /intel/decisions/{id}", s.authed(s.decisionPage))
	m.Handle("POST /intel/decisions/{id}/{action}", s.authed(s.decisionAct))
	m.Handle("GET /intel/bouncers", s.authed(s.bouncersPage))
	m.Handle("POST /intel/bouncers", s.authed(s.bouncerCreate))
	m.Handle("POST /intel/bouncers/{id}/delete", s.authed(s.bouncerDelete))
}

// decisionDefaults makes the decision service when New was given none
// and the store keeps decisions.
func (s *Server) decisionDefaults() {
	if s.Decisions != nil {
		return
	}
	if ds, ok := s.Store.(decision.Store); ok {
		s.Decisions = decision.NewService(ds, decision.Options{}, s.Now, s.log)
	}
}

// needDecisions admits the national level's analysts on a store that
// keeps decisions.
func (s *Server) needDecisions(c *reqCtx) error {
	if s.Decisions == nil {
		return errNotFound
	}
	if err := needIntelAdmin(c); err != nil {
		return err
	}
	if !c.p().SeesAll() {
		return errForbidden
	}
	return nil
}

func (s *Server) decisionsPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := s.needDecisions(c); err != nil {
		return err
	}
	q := r.URL.Query()
	d := decisionsData{State: store.DecisionState(q.Get("state")), Q: strings.TrimSpace(q.Get("q")),
		States:   []store.DecisionState{store.DecisionPending, store.DecisionActive, store.DecisionExpired, store.DecisionRejected, store.DecisionDeleted},
		TTLHours: int(s.Decisions.TTL() / time.Hour)}
	if d.State != "" && !containsState(d.States, d.State) {
		return &uiError{status: http.StatusBadRequest, key: "error.invalid"}
	}
	page, err := s.Decisions.Store().ListDecisions(r.Context(), c.p(), store.DecisionFilter{State: d.State, Query: d.Q,
		PageRequest: store.PageRequest{Limit: decisionsPerPage, After: q.Get("after")}})
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
	return s.page(w, r, c, "intel_decisions", "decisions.title", "intel", d)
}

func containsState(list []store.DecisionState, s store.DecisionState) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (s *Server) decisionPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := s.needDecisions(c); err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	d, err := s.Decisions.Store().GetDecision(r.Context(), c.p(), id)
	if err != nil {
		return err
	}
	return s.page(w, r, c, "intel_decision", "decisions.one", "intel", decisionData{D: d})
}

// decisionAct approves, rejects or lifts a decision with the form's note.
func (s *Server) decisionAct(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := s.needDecisions(c); err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	note := strings.TrimSpace(r.PostFormValue("note"))
	if len(note) > 2000 {
		return &uiError{status: http.StatusBadRequest, key: "error.invalid"}
	}
	var flash string
	switch r.PathValue("action") {
	case "approve":
		flash = "flash.decision.approved"
		_, err = s.Decisions.Approve(r.Context(), c.p(), id, note)
	case "reject":
		flash = "flash.decision.rejected"
		_, err = s.Decisions.Reject(r.Context(), c.p(), id, note)
	case "lift":
		flash = "flash.decision.lifted"
		_, err = s.Decisions.Lift(r.Context(), c.p(), id, note)
	default:
		return errNotFound
	}
	if err != nil {
		return err
	}
	back := "/intel/decisions/" + strconv.FormatInt(id, 10)
	if b := r.PostFormValue("back"); b != "" {
		back = localPath(b)
	}
	return redirect(w, r, back, flash)
}

// decisionCreate blocks an address or network by hand.
func (s *Server) decisionCreate(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := s.needDecisions(c); err != nil {
		return err
	}
	hours, ok := formInt(r, "ttl_hours")
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if !ok || hours < 0 || hours > 24*365 || len(reason) > 2000 {
		return &uiError{status: http.StatusBadRequest, key: "error.invalid"}
	}
	d, err := s.Decisions.Create(r.Context(), c.p(), r.PostFormValue("value"), time.Duration(hours)*time.Hour, reason)
	if errors.Is(err, decision.ErrValue) {
		return &uiError{status: http.StatusBadRequest, key: "decisions.badvalue", cause: err, detail: true}
	}
	if err != nil {
		return err
	}
	return redirect(w, r, "/intel/decisions/"+strconv.FormatInt(d.ID, 10), "flash.decision.created")
}

func (s *Server) bouncersData(r *http.Request, c *reqCtx) (bouncersData, error) {
	var d bouncersData
	list, err := s.Decisions.Store().ListBouncers(r.Context(), c.p())
	if err != nil {
		return d, err
	}
	names := s.orgNames(r.Context(), c)
	for _, b := range list {
		d.Rows = append(d.Rows, bouncerRow{Bouncer: b, OrgName: names(b.OrgID)})
	}
	return d, nil
}

func (s *Server) bouncersPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := s.needDecisions(c); err != nil {
		return err
	}
	d, err := s.bouncersData(r, c)
	if err != nil {
		return err
	}
	return s.page(w, r, c, "intel_bouncers", "bouncers.title", "intel", d)
}

// bouncerCreate adds a bouncer and shows its key once (never in a URL or
// a redirect).
func (s *Server) bouncerCreate(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := s.needDecisions(c); err != nil {
		return err
	}
	b, key, err := s.Decisions.AddBouncer(r.Context(), c.p(), r.PostFormValue("name"), r.PostFormValue("org_code"))
	d, lerr := s.bouncersData(r, c)
	if lerr != nil {
		return lerr
	}
	v := s.newView(r, c, "bouncers.title", "intel", nil)
	status := http.StatusOK
	if err != nil {
		v.Err = asUIError(err)
		if v.Err.status >= 500 {
			return err
		}
		status = v.Err.status
	} else {
		d.Key, d.Shown = key, b.Name
		v.Flash = "flash.bouncer.created"
	}
	v.Data = d
	return s.render(w, status, "intel_bouncers", v)
}

func (s *Server) bouncerDelete(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := s.needDecisions(c); err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.Decisions.Store().DeleteBouncer(r.Context(), c.p(), id); err != nil {
		return err
	}
	return redirect(w, r, "/intel/bouncers", "flash.bouncer.deleted")
}
