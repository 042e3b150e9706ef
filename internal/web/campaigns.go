package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

type campaignRow struct {
	store.Campaign
	FrameworkTitle string
	Overdue        bool // the deadline has passed
}

type campaignsData struct {
	Rows       []campaignRow
	First      string
	Next       string
	CanOpen    bool
	Frameworks []frameworkOption
	Orgs       []orgOption
	Kinds      []org.Kind
	Form       campaignForm
}

type frameworkOption struct {
	ID    string
	Title string
}

// campaignForm is what the "open a campaign" form holds (kept on error).
type campaignForm struct {
	Framework string
	Title     string
	Deadline  string
	Root      int64
	Kinds     map[org.Kind]bool
}

// assessOn refuses the assessment pages when the server runs without them.
func (s *Server) assessOn() error {
	if s.Assess == nil {
		return errNotFound
	}
	return nil
}

func (s *Server) frameworkTitle(l *Lang, id string) string {
	if f, ok := s.Assess.Frameworks.Get(id); ok {
		return l.Text(f.Title)
	}
	return id
}

func (s *Server) campaignsView(r *http.Request, c *reqCtx, form campaignForm, uerr *uiError) (*view, error) {
	p, ctx, l := c.p(), r.Context(), c.lang
	pr := store.PageRequest{Limit: 50, After: r.URL.Query().Get("after")}
	page, err := s.st.ListCampaigns(ctx, p, store.CampaignFilter{PageRequest: pr})
	if err != nil {
		return nil, err
	}
	d := campaignsData{CanOpen: p.Can(auth.PermWriteOrgs), Kinds: org.Kinds, Form: form}
	for _, cp := range page.Items {
		d.Rows = append(d.Rows, campaignRow{Campaign: cp, FrameworkTitle: s.frameworkTitle(l, cp.Framework), Overdue: c.now.After(cp.Deadline)})
	}
	if page.Next != "" {
		d.Next = "after=" + urlQueryEscape(page.Next)
	}
	if pr.After != "" {
		d.First = "after="
	}
	if d.CanOpen {
		for _, f := range s.Assess.Frameworks.All() {
			d.Frameworks = append(d.Frameworks, frameworkOption{ID: f.ID, Title: l.Text(f.Title)})
		}
		if d.Orgs, err = s.orgOptions(r, c, form.Root); err != nil {
			return nil, err
		}
	}
	v := s.newView(r, c, "campaigns.title", "campaigns", d)
	v.Err = uerr
	return v, nil
}

// campaignsList lists the campaigns in view and, for those who may, the
// form to open one.
func (s *Server) campaignsList(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := s.assessOn(); err != nil {
		return err
	}
	form := campaignForm{Framework: "baseline", Root: c.p().OrgID}
	v, err := s.campaignsView(r, c, form, nil)
	if err != nil {
		return err
	}
	return s.render(w, http.StatusOK, "campaigns", v)
}

// parseDeadline reads a date (YYYY-MM-DD) as the end of that day in
// Vietnam: "submit by 30 November" includes the 30th.
func parseDeadline(v string) (time.Time, error) {
	d, err := time.ParseInLocation("2006-01-02", strings.TrimSpace(v), zone())
	if err != nil {
		return time.Time{}, &uiError{status: http.StatusBadRequest, key: "error.baddate", cause: err}
	}
	return d.Add(24*time.Hour - time.Second).UTC(), nil
}

// campaignCreate opens a campaign over a subtree (optionally narrowed to
// kinds of organization).
func (s *Server) campaignCreate(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := s.assessOn(); err != nil {
		return err
	}
	p := c.p()
	form := campaignForm{Framework: r.PostFormValue("framework"), Title: strings.TrimSpace(r.PostFormValue("title")),
		Deadline: r.PostFormValue("deadline"), Kinds: map[org.Kind]bool{}}
	form.Root, _ = strconv.ParseInt(r.PostFormValue("target_root"), 10, 64)
	cp := store.Campaign{Framework: form.Framework, Title: form.Title, TargetRoot: form.Root, OwnerOrg: p.OrgID}
	for _, k := range r.PostForm["kind"] {
		cp.TargetKinds = append(cp.TargetKinds, org.Kind(k))
		form.Kinds[org.Kind(k)] = true
	}
	if cp.OwnerOrg == 0 {
		// A platform-wide user runs the campaign from the subtree's root.
		cp.OwnerOrg = form.Root
	}
	var err error
	if form.Root <= 0 {
		err = &uiError{status: http.StatusBadRequest, key: "error.noroot"}
	} else if cp.Deadline, err = parseDeadline(form.Deadline); err == nil {
		err = s.Assess.OpenCampaign(r.Context(), p, &cp)
	}
	if err != nil {
		ue := asUIError(err)
		if ue.status >= 500 {
			return err
		}
		if ue.status == http.StatusNotFound {
			return err
		}
		v, verr := s.campaignsView(r, c, form, ue)
		if verr != nil {
			return verr
		}
		return s.render(w, ue.status, "campaigns", v)
	}
	return redirect(w, r, "/campaigns/"+strconv.FormatInt(cp.ID, 10), "flash.campaignopened")
}

// Checked reports whether the form had kind k ticked.
func (f campaignForm) Checked(k org.Kind) bool { return f.Kinds[k] }
