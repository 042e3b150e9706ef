package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
)

type assetFormData struct {
	A             asset.Asset
	OrgCode       string
	Tags          string
	Edit          bool
	Kinds         []asset.Kind
	Criticalities []asset.Criticality
}

func (s *Server) assetFormView(r *http.Request, c *reqCtx, d assetFormData, err error) *view {
	d.Kinds, d.Criticalities = assetKinds, criticalities
	title := "asset.new"
	if d.Edit {
		title = "asset.edit"
	}
	v := s.newView(r, c, title, "assets", d)
	if err != nil {
		v.Err = asUIError(err)
	}
	return v
}

// assetNewForm shows the form to register an asset.
func (s *Server) assetNewForm(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if !c.p().Can(auth.PermWriteAssets) {
		return errForbidden
	}
	d := assetFormData{A: asset.Asset{Criticality: asset.CriticalityNormal, SecurityLevel: 1}, OrgCode: r.URL.Query().Get("org")}
	return s.render(w, http.StatusOK, "asset_form", s.assetFormView(r, c, d, nil))
}

// readAssetForm fills a from the posted form.
func readAssetForm(r *http.Request, a *asset.Asset) (tags string) {
	a.Criticality = asset.Criticality(r.PostFormValue("criticality"))
	a.SecurityLevel, _ = strconv.Atoi(r.PostFormValue("security_level"))
	tags = r.PostFormValue("tags")
	a.Tags = nil
	for _, t := range strings.Split(tags, ",") {
		if t = strings.TrimSpace(t); t != "" {
			a.Tags = append(a.Tags, t)
		}
	}
	a.Notes = strings.TrimSpace(r.PostFormValue("notes"))
	return tags
}

// assetCreate registers an asset under the organization named by code.
func (s *Server) assetCreate(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	p, ctx := c.p(), r.Context()
	a := asset.Asset{Kind: asset.Kind(r.PostFormValue("kind")), Value: strings.TrimSpace(r.PostFormValue("value"))}
	tags := readAssetForm(r, &a)
	code := strings.TrimSpace(r.PostFormValue("org_code"))
	d := assetFormData{A: a, OrgCode: code, Tags: tags}
	o, err := s.st.GetOrgByCode(ctx, p, code)
	if err == nil {
		a.OrgID = o.ID
		err = s.Claims.Register(ctx, p, &a, strings.TrimSpace(r.PostFormValue("evidence")))
	}
	if err != nil {
		ue := asUIError(err)
		if ue.status >= 500 {
			return err
		}
		return s.render(w, ue.status, "asset_form", s.assetFormView(r, c, d, ue))
	}
	return redirect(w, r, "/assets/"+strconv.FormatInt(a.ID, 10), "flash.saved")
}

// assetEditForm shows an asset's attributes for editing.
func (s *Server) assetEditForm(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	a, err := s.st.GetAsset(r.Context(), c.p(), id)
	if err != nil {
		return err
	}
	if !c.p().Can(auth.PermWriteAssets) {
		return errForbidden
	}
	d := assetFormData{A: a, Tags: strings.Join(a.Tags, ", "), Edit: true}
	return s.render(w, http.StatusOK, "asset_form", s.assetFormView(r, c, d, nil))
}

// assetUpdate changes an asset's criticality, security level, tags and
// notes (its kind, value and owner stay).
func (s *Server) assetUpdate(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	p, ctx := c.p(), r.Context()
	a, err := s.st.GetAsset(ctx, p, id)
	if err != nil {
		return err
	}
	tags := readAssetForm(r, &a)
	if err := s.Claims.Update(ctx, p, &a); err != nil {
		ue := asUIError(err)
		if ue.status >= 500 {
			return err
		}
		return s.render(w, ue.status, "asset_form", s.assetFormView(r, c, assetFormData{A: a, Tags: tags, Edit: true}, ue))
	}
	return redirect(w, r, "/assets/"+strconv.FormatInt(id, 10), "flash.saved")
}
