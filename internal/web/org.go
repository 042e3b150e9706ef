package web

import (
	"html/template"
	"net/http"
	"sort"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

type orgData struct {
	Org        org.Organization
	Parent     *org.Organization
	Roll       store.OrgRollup
	Card       Scorecard
	Children   []orgRow
	Assets     []asset.Asset
	MoreAssets bool
	Findings   []findingRow
	Contacts   []org.Contact
	SevChart   template.HTML
	Checks     []checkRow
	CanScan    bool
	CanAssess  bool
}

// orgPage shows one organization: its scorecard, the roll-ups of its
// children, assets, active findings and contacts.
func (s *Server) orgPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	p, ctx, l := c.p(), r.Context(), c.lang
	o, err := s.st.GetOrg(ctx, p, id)
	if err != nil {
		return err
	}
	ov, err := s.Dashboard.Overview(ctx, p, id, c.now)
	if err != nil {
		return err
	}
	d := orgData{Org: o, Checks: s.checkRows(l, ov.TopChecks), SevChart: severityChart(l, "sev", ov.BySeverity)}
	for _, ro := range ov.Orgs {
		switch {
		case ro.OrgID == id:
			d.Roll = ro
		case ro.ParentID == id:
			d.Children = append(d.Children, orgRow{OrgRollup: ro, Card: Score(ro), Name: l.Name(ro.Name, ro.NameEN)})
		}
	}
	sort.SliceStable(d.Children, func(i, j int) bool { return d.Children[i].Code < d.Children[j].Code })
	d.Card = Score(d.Roll)
	if o.ParentID != 0 {
		if po, err := s.st.GetOrg(ctx, p, o.ParentID); err == nil {
			d.Parent = &po
		}
	}
	ap, err := s.st.ListAssets(ctx, p, store.AssetFilter{OrgID: id, PageRequest: store.PageRequest{Limit: 25}})
	if err != nil {
		return err
	}
	d.Assets, d.MoreAssets = ap.Items, ap.Next != ""
	fp, err := s.st.ListFindings(ctx, p, store.FindingFilter{OrgID: id, Active: true, PageRequest: store.PageRequest{Limit: 25}})
	if err != nil {
		return err
	}
	if d.Findings, err = s.findingRows(r, c, fp.Items); err != nil {
		return err
	}
	if d.Contacts, err = s.st.ListContacts(ctx, p, id); err != nil {
		return err
	}
	d.CanScan = s.Findings.ScanningEnabled() && p.Can("assets:write")
	d.CanAssess = s.Assess != nil && p.Can("assets:write")
	v := s.newView(r, c, "org.title", "dash", d)
	v.TitleArg = l.OrgName(o)
	return s.render(w, http.StatusOK, "org", v)
}
