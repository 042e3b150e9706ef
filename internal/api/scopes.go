package api

import (
	"net/http"
	"strings"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
)

type scopeResponse struct {
	Target     string     `json:"target"`      // the target, normalized
	TargetKind string     `json:"target_kind"` // ip, name, url, cidr or asn
	OrgID      int64      `json:"org_id"`
	OrgCode    string     `json:"org_code"`
	AssetID    int64      `json:"asset_id"`
	AssetKind  asset.Kind `json:"asset_kind"`
	AssetValue string     `json:"asset_value"`
}

type overlapList struct {
	Items []asset.Overlap `json:"items"`
}

func (s *Server) scopeLookup(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.Can(auth.PermReadScope) {
		return errf(CodeForbidden, "your role may not query the scope")
	}
	target := strings.TrimSpace(r.URL.Query().Get("target"))
	if target == "" {
		return errf(CodeBadRequest, "target is required")
	}
	if len(target) > 2048 {
		return errf(CodeBadRequest, "target longer than 2048 bytes")
	}
	m, err := s.Guard.LookupFor(p, target)
	if err != nil {
		return err
	}
	resp := scopeResponse{Target: m.Target, TargetKind: m.TargetKind, OrgID: m.OrgID, AssetID: m.AssetID, AssetKind: m.Kind, AssetValue: m.Value}
	if o, err := s.Store.GetOrg(r.Context(), auth.SystemPrincipal, m.OrgID); err == nil {
		resp.OrgCode = o.Code
	}
	writeJSON(w, 200, resp)
	return nil
}

func (s *Server) scopeOverlaps(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.Can(auth.PermReadRegistry) {
		return errf(CodeForbidden, "your role may not read the registry")
	}
	ov, err := s.Guard.Overlaps(p)
	if err != nil {
		return err
	}
	if ov == nil {
		ov = []asset.Overlap{}
	}
	writeJSON(w, 200, overlapList{Items: ov})
	return nil
}
