package web

import (
	"errors"
	"net/http"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding/catalog"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

type findingData struct {
	F         store.Finding
	Overdue   bool
	Org       org.Organization
	Asset     *asset.Asset
	Meta      *catalog.Kind
	History   []store.FindingEvent
	CanTriage bool
	Back      string
}

// findingPage shows one finding: evidence, history, remediation in the
// current language, due date, and the actions the user may take.
func (s *Server) findingPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	p, ctx := c.p(), r.Context()
	f, err := s.st.GetFinding(ctx, p, id)
	if err != nil {
		return err
	}
	d := findingData{F: f, Overdue: f.Overdue(c.now), CanTriage: p.Can(auth.PermTriage), Back: r.URL.Path}
	if d.Org, err = s.st.GetOrg(ctx, p, f.OrgID); err != nil {
		return err
	}
	if a, err := s.st.GetAsset(ctx, p, f.AssetID); err == nil {
		d.Asset = &a
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if k, ok := s.Catalog.Describe(f.Check, f.Title); ok {
		d.Meta = &k
	}
	if d.History, err = s.st.FindingHistory(ctx, p, id); err != nil {
		return err
	}
	v := s.newView(r, c, "finding.title", "findings", d)
	v.TitleArg = "#" + r.PathValue("id")
	return s.render(w, http.StatusOK, "finding", v)
}
