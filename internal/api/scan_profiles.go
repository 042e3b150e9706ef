package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/store"
)

type scanProfileJSON = store.ScanProfile

// policyOut shows "every family" as [] rather than null.
func policyOut(sp store.ScanPolicy) store.ScanPolicy {
	if sp.Families == nil {
		sp.Families = []string{}
	}
	return sp
}

// checkProfile checks the scan profile fields a request sets (nil: not
// set) and answers 400 naming the field that breaks a rule; families must
// be check families the platform's catalog knows, when it has one.
func (s *Server) checkProfile(ports *string, fams *[]string, rate *int) error {
	bad := func(err error) error {
		var pe *store.ProfileError
		if errors.As(err, &pe) {
			return errf(CodeBadRequest, pe.Error())
		}
		return err
	}
	if ports != nil {
		if _, err := store.NormalizePorts(*ports); err != nil {
			return bad(err)
		}
	}
	if fams != nil {
		norm, err := store.NormalizeFamilies(*fams)
		if err != nil {
			return bad(err)
		}
		if known := s.Catalog.FamiliesOf(finding.SourceScan); len(known) > 0 {
			for _, f := range norm {
				if !slices.Contains(known, f) {
					return errf(CodeBadRequest, fmt.Sprintf("scan profile: families: %q is not a check family (known: %v)", f, known))
				}
			}
		}
	}
	if rate != nil {
		if err := store.CheckRate(*rate); err != nil {
			return bad(err)
		}
	}
	return nil
}

func (s *Server) getAssetScanProfile(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	pr, err := s.Store.GetAssetScanProfile(r.Context(), p, id)
	if err != nil {
		return err
	}
	writeJSON(w, 200, pr)
	return nil
}

// putAssetScanProfile replaces an asset's override: a field absent or
// null inherits the organization's value.
func (s *Server) putAssetScanProfile(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req *store.ScanProfile
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req == nil {
		return errf(CodeInvalid, "scan profile must be an object; DELETE removes the override")
	}
	if err := s.checkProfile(req.Ports, req.Families, req.Rate); err != nil {
		return err
	}
	if err := s.Store.SetAssetScanProfile(r.Context(), p, id, *req); err != nil {
		return err
	}
	pr, err := s.Store.GetAssetScanProfile(r.Context(), p, id)
	if err != nil {
		return err
	}
	writeJSON(w, 200, pr)
	return nil
}

func (s *Server) deleteAssetScanProfile(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.Store.SetAssetScanProfile(r.Context(), p, id, store.ScanProfile{}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
