package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/hub"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/intelweb"
	"github.com/rampart-cert/rampart/internal/store"
)

// indicatorFormData is the form of a submitted indicator, kept as typed.
type indicatorFormData struct {
	Kind, Value, Category, TLP, Labels string
	Confidence                         int
	// Recipients of a TLP:RED indicator: organization codes and user
	// names, comma-separated.
	RecipientOrgs, RecipientUsers string
	Kinds                         []intel.Kind
	Categories                    []intel.Category
	TLPs                          []intel.TLP
}

func (s *Server) indicatorFormView(r *http.Request, c *reqCtx, d indicatorFormData, err error) *view {
	d.Kinds, d.Categories, d.TLPs = intel.Kinds, intel.Categories, intel.TLPs
	v := s.newView(r, c, "intel.indicator.new", "intel", d)
	if err != nil {
		v.Err = asUIError(err)
	}
	return v
}

// needSubmit is who may submit indicators: as through the push API.
func needSubmit(c *reqCtx) error {
	if !c.p().Can(auth.PermWriteFeeds) {
		return errForbidden
	}
	return nil
}

// intelIndicatorNewForm shows the form to submit an indicator.
func (s *Server) intelIndicatorNewForm(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := needSubmit(c); err != nil {
		return err
	}
	d := indicatorFormData{Kind: string(intel.KindIPv4), Category: string(intel.CategoryBlocklist), TLP: string(intel.TLPAmber), Confidence: intel.DefaultConfidence}
	return s.render(w, http.StatusOK, "intel_indicator_form", s.indicatorFormView(r, c, d, nil))
}

// splitList reads a comma-separated list.
func splitList(v string) []string {
	var out []string
	for _, x := range strings.Split(v, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// intelIndicatorCreate submits one indicator through the hub, filed
// under the user's push feed as the API files it: matched for early
// warnings, merged, recorded on the feed.
func (s *Server) intelIndicatorCreate(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := needSubmit(c); err != nil {
		return err
	}
	d := indicatorFormData{Kind: r.PostFormValue("kind"), Value: strings.TrimSpace(r.PostFormValue("value")), Category: r.PostFormValue("category"),
		TLP: r.PostFormValue("tlp"), Labels: r.PostFormValue("labels"), RecipientOrgs: r.PostFormValue("recipient_orgs"),
		RecipientUsers: r.PostFormValue("recipient_users")}
	rec, err := s.readIndicatorForm(r, c, &d)
	if err == nil {
		_, err = s.Hub.ImportRecords(r.Context(), hub.ImportRequest{Format: "console", Feed: rec.Feed, Name: "console"}, []intel.Record{rec})
	}
	if err != nil {
		ue := asUIError(err)
		if ue.status >= 500 || ue.status == http.StatusForbidden {
			return err
		}
		return s.render(w, ue.status, "intel_indicator_form", s.indicatorFormView(r, c, d, ue))
	}
	return redirect(w, r, "/intel?q="+url.QueryEscape(rec.Value), "flash.indicatoradded")
}

// readIndicatorForm checks the form and makes the normalized record.
func (s *Server) readIndicatorForm(r *http.Request, c *reqCtx, d *indicatorFormData) (intel.Record, error) {
	ctx := r.Context()
	bad := func(key string) error { return &uiError{status: http.StatusBadRequest, key: key} }
	conf, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("confidence")))
	if err != nil || conf < 0 || conf > 100 {
		return intel.Record{}, bad("intel.addform.badconfidence")
	}
	d.Confidence = conf
	feed, err := intelweb.PushFeed(ctx, s.st, c.p())
	if err != nil {
		return intel.Record{}, err
	}
	rec := intel.Record{Kind: intel.Kind(d.Kind), Value: d.Value, Feed: feed, Category: intel.Category(d.Category), Confidence: conf,
		TLP: intel.TLP(d.TLP), Labels: splitList(d.Labels)}
	orgs, users := splitList(d.RecipientOrgs), splitList(d.RecipientUsers)
	if len(orgs)+len(users) > 0 {
		if t, err := intel.ParseTLP(d.TLP); err != nil || t != intel.TLPRed {
			return rec, bad("intel.addform.recipientsred")
		}
		if len(orgs)+len(users) > intel.MaxRecipients {
			return rec, bad("error.invalid")
		}
	}
	for _, code := range orgs {
		o, err := s.st.GetOrgByCode(ctx, c.p(), code)
		if errors.Is(err, store.ErrNotFound) {
			return rec, &uiError{status: http.StatusBadRequest, key: "intel.addform.noorg", cause: errors.New(code), detail: true}
		}
		if err != nil {
			return rec, err
		}
		rec.Recipients.Orgs = append(rec.Recipients.Orgs, o.ID)
	}
	if len(users) > 0 {
		ids, err := s.userIDs(r, c)
		if err != nil {
			return rec, err
		}
		for _, n := range users {
			id, ok := ids[strings.ToLower(n)]
			if !ok {
				return rec, &uiError{status: http.StatusBadRequest, key: "intel.addform.nouser", cause: errors.New(n), detail: true}
			}
			rec.Recipients.Users = append(rec.Recipients.Users, id)
		}
	}
	if err := rec.Normalize(c.now); err != nil {
		return rec, &uiError{status: http.StatusBadRequest, key: "error.invalid", cause: err, detail: true}
	}
	return rec, nil
}

// userIDs maps the names of the users p may see to their IDs.
func (s *Server) userIDs(r *http.Request, c *reqCtx) (map[string]int64, error) {
	ids := map[string]int64{}
	pr := store.PageRequest{Limit: store.MaxLimit}
	for {
		pg, err := s.st.ListUsers(r.Context(), c.p(), pr)
		if err != nil {
			return nil, err
		}
		for _, u := range pg.Items {
			ids[strings.ToLower(u.Name)] = u.ID
		}
		if pg.Next == "" {
			return ids, nil
		}
		pr.After = pg.Next
	}
}
