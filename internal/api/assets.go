package api

import (
	"context"
	"net/http"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

type (
	assetJSON = asset.Asset
	assetPage = store.Page[asset.Asset]
)

type assetRequest struct {
	OrgID         int64             `json:"org_id"`
	Kind          asset.Kind        `json:"kind"`
	Value         string            `json:"value"`
	Criticality   asset.Criticality `json:"criticality,omitempty"`
	SecurityLevel int               `json:"security_level,omitempty"`
	Tags          []string          `json:"tags,omitempty"`
	Notes         string            `json:"notes,omitempty"`
	// Evidence backs a claim the national level approves (a network's
	// or an AS number's registry allocation).
	Evidence string `json:"evidence,omitempty"`
}

type assetPatch struct {
	Value         *string            `json:"value,omitempty"`
	Criticality   *asset.Criticality `json:"criticality,omitempty"`
	SecurityLevel *int               `json:"security_level,omitempty"`
	Tags          *[]string          `json:"tags,omitempty"`
	Notes         *string            `json:"notes,omitempty"`
	// Regions route this asset's scans instead of its organization's ([]:
	// the organization's). Only administrators above the asset's
	// organization change them.
	Regions *[]string `json:"regions,omitempty"`
}

func (s *Server) listAssets(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pr, err := pageRequest(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.AssetFilter{PageRequest: pr, Kind: asset.Kind(q.Get("kind")),
		Criticality: asset.Criticality(q.Get("criticality")), Tag: q.Get("tag"), Query: q.Get("q")}
	if f.OrgID, err = queryInt(r, "org_id"); err != nil {
		return err
	}
	if f.Subtree, err = queryBool(r, "subtree"); err != nil {
		return err
	}
	if f.Kind != "" && !f.Kind.Valid() {
		return errf(CodeBadRequest, "unknown asset kind "+string(f.Kind))
	}
	if f.Criticality != "" && !f.Criticality.Valid() {
		return errf(CodeBadRequest, "unknown criticality "+string(f.Criticality))
	}
	page, err := s.Store.ListAssets(r.Context(), p, f)
	if err != nil {
		return err
	}
	writeJSON(w, 200, page)
	return nil
}

func (s *Server) createAsset(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var req assetRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	a := asset.Asset{OrgID: req.OrgID, Kind: req.Kind, Value: req.Value, Criticality: req.Criticality,
		SecurityLevel: req.SecurityLevel, Tags: req.Tags, Notes: req.Notes}
	if err := a.Prepare(); err != nil {
		return err
	}
	if err := s.Claims.Register(r.Context(), p, &a, req.Evidence); err != nil {
		return err
	}
	s.invalidate()
	writeJSON(w, 201, a)
	return nil
}

func (s *Server) getAsset(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return getByID(w, r, func(ctx context.Context, id int64) (asset.Asset, error) { return s.Store.GetAsset(ctx, p, id) })
}

func (s *Server) updateAsset(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req assetPatch
	if err := decode(w, r, &req); err != nil {
		return err
	}
	a, err := s.Store.GetAsset(r.Context(), p, id)
	if err != nil {
		return err
	}
	if req.Regions != nil {
		if _, err := org.NormalizeRegions(*req.Regions); err != nil {
			return err
		}
		if req.Value == nil && req.Criticality == nil && req.SecurityLevel == nil && req.Tags == nil && req.Notes == nil {
			// Only the route.
			if a, err = s.Store.SetAssetRegions(r.Context(), p, id, *req.Regions); err != nil {
				return err
			}
			writeJSON(w, 200, a)
			return nil
		}
	}
	set(&a.Value, req.Value)
	set(&a.Criticality, req.Criticality)
	set(&a.SecurityLevel, req.SecurityLevel)
	set(&a.Tags, req.Tags)
	set(&a.Notes, req.Notes)
	if err := a.Prepare(); err != nil {
		return err
	}
	if err := s.Claims.Update(r.Context(), p, &a); err != nil {
		return err
	}
	s.invalidate()
	if req.Regions != nil {
		if a, err = s.Store.SetAssetRegions(r.Context(), p, id, *req.Regions); err != nil {
			return err
		}
	}
	writeJSON(w, 200, a)
	return nil
}

func (s *Server) deleteAsset(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.Store.DeleteAsset(r.Context(), p, id); err != nil {
		return err
	}
	s.invalidate()
	return noContent(w)
}
