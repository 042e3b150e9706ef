package web

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// scanProfileData is the scan profile page of an organization (Asset nil)
// or of one asset (its overrides, over the organization's policy).
type scanProfileData struct {
	Org      org.Organization
	Asset    *asset.Asset
	Policy   store.ScanPolicy  // the organization's
	Profile  store.ScanProfile // the asset's overrides
	Families []string          // check families to choose from
	CanWrite bool
	// The form's values, kept on error: Ports and Rate as typed; Chosen
	// the ticked families; FamMode, UDP and Creds "inherit", "on"/"off"
	// or "set" (for the asset form) or "on"/"" (the organization's).
	Ports, Rate, FamMode, UDP, Creds string
	Chosen                           []string
}

// Chose reports whether family f is ticked.
func (d scanProfileData) Chose(f string) bool { return slices.Contains(d.Chosen, f) }

// Modes are the choices of the asset form's UDP and credentials selects.
func (scanProfileData) Modes() []string { return []string{"inherit", "on", "off"} }

// Effective is the asset's policy once its overrides apply.
func (d scanProfileData) Effective() store.ScanPolicy { return d.Policy.ForAsset(d.Profile) }

// scanFamilies lists the check families a profile may choose: those of
// the scan checks in the catalog.
func (s *Server) scanFamilies() []string { return s.Catalog.FamiliesOf(finding.SourceScan) }

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// fill sets the form's values from what is stored.
func (d *scanProfileData) fill() {
	if d.Asset == nil {
		d.Ports, d.Chosen = d.Policy.Ports, d.Policy.Families
		if d.Policy.Rate > 0 {
			d.Rate = strconv.Itoa(d.Policy.Rate)
		}
		d.UDP, d.Creds = onOff(d.Policy.UDP), onOff(d.Policy.Credentials)
		return
	}
	pr := d.Profile
	d.FamMode, d.UDP, d.Creds = "inherit", "inherit", "inherit"
	if pr.Ports != nil {
		d.Ports = *pr.Ports
	}
	if pr.Rate != nil {
		d.Rate = strconv.Itoa(*pr.Rate)
	}
	if pr.Families != nil {
		d.FamMode, d.Chosen = "set", *pr.Families
	}
	if pr.UDP != nil {
		d.UDP = onOff(*pr.UDP)
	}
	if pr.Credentials != nil {
		d.Creds = onOff(*pr.Credentials)
	}
}

// load reads the organization (and asset) the page is about.
func (s *Server) scanProfileLoad(r *http.Request, c *reqCtx, orgID, assetID int64) (scanProfileData, error) {
	p, ctx := c.p(), r.Context()
	var d scanProfileData
	if assetID != 0 {
		a, err := s.st.GetAsset(ctx, p, assetID)
		if err != nil {
			return d, err
		}
		d.Asset, orgID = &a, a.OrgID
		if d.Profile, err = s.st.GetAssetScanProfile(ctx, p, assetID); err != nil {
			return d, err
		}
	}
	var err error
	if d.Org, err = s.st.GetOrg(ctx, p, orgID); err != nil {
		return d, err
	}
	if d.Policy, err = s.st.GetScanPolicy(ctx, p, orgID); err != nil {
		return d, err
	}
	d.Families, d.CanWrite = s.scanFamilies(), p.Can(auth.PermWriteAssets)
	return d, nil
}

func (s *Server) scanProfileRender(w http.ResponseWriter, r *http.Request, c *reqCtx, d scanProfileData, status int, uerr *uiError) error {
	v := s.newView(r, c, "scanprofile.title", "dash", d)
	v.TitleArg = c.lang.OrgName(d.Org)
	if d.Asset != nil {
		v.TitleArg = d.Asset.Value
	}
	v.Err = uerr
	return s.render(w, status, "scan_profile", v)
}

// scanProfilePage shows an organization's or an asset's scan profile form.
func (s *Server) scanProfilePage(asAsset bool) handler {
	return func(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		orgID, assetID := id, int64(0)
		if asAsset {
			orgID, assetID = 0, id
		}
		d, err := s.scanProfileLoad(r, c, orgID, assetID)
		if err != nil {
			return err
		}
		d.fill()
		return s.scanProfileRender(w, r, c, d, http.StatusOK, nil)
	}
}

// scanProfileFail shows the form again, as typed, with the error of a
// refused change (a 404 or an internal error is shown alone).
func (s *Server) scanProfileFail(w http.ResponseWriter, r *http.Request, c *reqCtx, d scanProfileData, err error) error {
	ue := asUIError(err)
	if ue.status >= 500 || ue.status == http.StatusNotFound {
		return err
	}
	return s.scanProfileRender(w, r, c, d, ue.status, ue)
}

// formProfile reads the form's values into d (as typed).
func formProfile(r *http.Request, d *scanProfileData) {
	d.Ports = strings.TrimSpace(r.PostFormValue("ports"))
	d.Rate = strings.TrimSpace(r.PostFormValue("rate"))
	d.Chosen = r.PostForm["family"]
	d.FamMode, d.UDP, d.Creds = r.PostFormValue("families_mode"), r.PostFormValue("udp"), r.PostFormValue("credentials")
}

// parseRate reads the rate field: "" is 0 (the platform's default).
func parseRate(v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, &store.ProfileError{Field: "rate", Reason: "not a whole number of probes per second"}
	}
	return n, nil
}

func badField(err error) error {
	return &uiError{status: http.StatusBadRequest, key: "error.invalid", cause: err, detail: true}
}

// orgScanProfileSave stores the organization form; exclusions and
// blackouts are kept as they are.
func (s *Server) orgScanProfileSave(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	d, err := s.scanProfileLoad(r, c, id, 0)
	if err != nil {
		return err
	}
	formProfile(r, &d)
	sp := d.Policy
	sp.Ports, sp.Families = d.Ports, d.Chosen
	sp.UDP, sp.Credentials = d.UDP == "on", d.Creds == "on"
	if sp.Rate, err = parseRate(d.Rate); err != nil {
		return s.scanProfileFail(w, r, c, d, badField(err))
	}
	if err := s.checkFamilies(sp.Families); err != nil {
		return s.scanProfileFail(w, r, c, d, err)
	}
	if err := s.st.SetScanPolicy(r.Context(), c.p(), id, sp); err != nil {
		return s.scanProfileFail(w, r, c, d, profileUIError(err))
	}
	return redirect(w, r, "/orgs/"+strconv.FormatInt(id, 10)+"/scan-profile", "flash.saved")
}

// assetScanProfileSave stores the asset form: an empty field, "inherit"
// or the remove button leaves the organization's value.
func (s *Server) assetScanProfileSave(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	d, err := s.scanProfileLoad(r, c, 0, id)
	if err != nil {
		return err
	}
	var pr store.ScanProfile
	if r.PostFormValue("remove") == "" {
		formProfile(r, &d)
		if d.Ports != "" {
			pr.Ports = &d.Ports
		}
		if d.Rate != "" {
			n, err := parseRate(d.Rate)
			if err != nil {
				return s.scanProfileFail(w, r, c, d, badField(err))
			}
			pr.Rate = &n
		}
		if d.FamMode == "set" {
			fams := slices.Clone(d.Chosen)
			if fams == nil {
				fams = []string{}
			}
			if err := s.checkFamilies(fams); err != nil {
				return s.scanProfileFail(w, r, c, d, err)
			}
			pr.Families = &fams
		}
		pr.UDP, pr.Credentials = tristate(d.UDP), tristate(d.Creds)
	}
	if err := s.st.SetAssetScanProfile(r.Context(), c.p(), id, pr); err != nil {
		return s.scanProfileFail(w, r, c, d, profileUIError(err))
	}
	return redirect(w, r, "/assets/"+strconv.FormatInt(id, 10)+"/scan-profile", "flash.saved")
}

// tristate reads an inherit/on/off select: nil inherits.
func tristate(v string) *bool {
	switch v {
	case "on":
		t := true
		return &t
	case "off":
		f := false
		return &f
	}
	return nil
}

// checkFamilies refuses a family the catalog does not know.
func (s *Server) checkFamilies(fams []string) error {
	known := s.scanFamilies()
	for _, f := range fams {
		if len(known) > 0 && !slices.Contains(known, f) {
			return badField(&store.ProfileError{Field: "families", Reason: strconv.Quote(f) + " is not a check family"})
		}
	}
	return nil
}

// profileUIError shows a refused profile field's reason.
func profileUIError(err error) error {
	var pe *store.ProfileError
	if errors.As(err, &pe) {
		return badField(pe)
	}
	return err
}
