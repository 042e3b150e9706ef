package api

import (
	"net/http"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/scope"
	"github.com/rampart-cert/rampart/internal/store"
)

// Ownership claims: the API is a thin face over scope.Claims, which decides
// who may prove, approve and reject.

type (
	claimPage   = store.Page[scope.Pending]
	claimDetail = scope.Detail
)

type decisionRequest struct {
	Reason string `json:"reason,omitempty"`
}

type evidenceRequest struct {
	Evidence string `json:"evidence"`
}

func (s *Server) listClaims(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pr, err := pageRequest(r)
	if err != nil {
		return err
	}
	f := store.ClaimFilter{PageRequest: pr, State: asset.State(r.URL.Query().Get("state"))}
	if f.OrgID, err = queryInt(r, "org_id"); err != nil {
		return err
	}
	if f.Decidable, err = queryBool(r, "decidable"); err != nil {
		return err
	}
	if f.State != "" && f.State != asset.StateClaimed && f.State != asset.StateRejected {
		return errf(CodeBadRequest, "state must be claimed or rejected")
	}
	page, err := s.Claims.Pending(r.Context(), p, f)
	if err != nil {
		return err
	}
	writeJSON(w, 200, page)
	return nil
}

func (s *Server) getClaim(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	d, err := s.Claims.Detail(r.Context(), p, id)
	if err != nil {
		return err
	}
	writeJSON(w, 200, d)
	return nil
}

func (s *Server) verifyClaim(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	a, err := s.Claims.Verify(r.Context(), p, id)
	if err != nil {
		return err
	}
	s.invalidate()
	writeJSON(w, 200, a)
	return nil
}

func (s *Server) decideClaim(approve bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		var req decisionRequest
		if r.ContentLength != 0 {
			if err := decode(w, r, &req); err != nil {
				return err
			}
		}
		a, err := s.Claims.Decide(r.Context(), p, id, approve, req.Reason)
		if err != nil {
			return err
		}
		s.invalidate()
		writeJSON(w, 200, a)
		return nil
	}
}

func (s *Server) setClaimEvidence(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req evidenceRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := s.Store.SetClaimEvidence(r.Context(), p, id, req.Evidence); err != nil {
		return err
	}
	return noContent(w)
}
