package web

import (
	"encoding/json"
	"net/http"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/scope"
	"github.com/rampart-cert/rampart/internal/store"
)

type assetData struct {
	A        asset.Asset
	Org      org.Organization
	Obs      []store.Observation
	Findings []findingRow
	Jobs     []store.ScanJob
	CanWrite bool
	CanScan  bool
	Claim    *scope.Detail // the ownership claim, for an asset not verified
}

// assetPage shows an asset with what scans saw on it (open and closed
// ports, services, certificates, first and last seen), its findings and
// its recent scans.
func (s *Server) assetPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	p, ctx := c.p(), r.Context()
	a, err := s.st.GetAsset(ctx, p, id)
	if err != nil {
		return err
	}
	d := assetData{A: a, CanWrite: p.Can(auth.PermWriteAssets)}
	d.CanScan = d.CanWrite && s.Findings.ScanningEnabled() && a.Kind != asset.KindASN && a.Verified()
	if !a.Verified() {
		cd, err := s.Claims.Detail(ctx, p, id)
		if err != nil {
			return err
		}
		d.Claim = &cd
	}
	if d.Org, err = s.st.GetOrg(ctx, p, a.OrgID); err != nil {
		return err
	}
	obs, err := s.st.ListObservations(ctx, p, store.ObservationFilter{AssetID: id, PageRequest: store.PageRequest{Limit: 200}})
	if err != nil {
		return err
	}
	d.Obs = obs.Items
	fp, err := s.st.ListFindings(ctx, p, store.FindingFilter{AssetID: id, PageRequest: store.PageRequest{Limit: 50}})
	if err != nil {
		return err
	}
	if d.Findings, err = s.findingRows(r, c, fp.Items); err != nil {
		return err
	}
	jobs, err := s.st.ListScanJobs(ctx, p, store.JobFilter{AssetID: id, PageRequest: store.PageRequest{Limit: 10}})
	if err != nil {
		return err
	}
	d.Jobs = jobs.Items
	v := s.newView(r, c, "asset.title", "assets", d)
	v.TitleArg = a.Value
	return s.render(w, http.StatusOK, "asset", v)
}

// certSummary reads the few certificate fields the asset page shows.
func certSummary(raw json.RawMessage) map[string]any {
	if len(raw) == 0 {
		return nil
	}
	m := map[string]any{}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil
	}
	return m
}
