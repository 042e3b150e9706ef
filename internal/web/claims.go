package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/scope"
	"github.com/rampart-cert/rampart/internal/store"
)

// Ownership claims in the console: a thin face over scope.Claims, which
// decides who may prove, approve and reject.

type claimsData struct {
	Items    []scope.Pending
	Rejected bool
}

// claimsPage lists the pending claims the principal could decide (for a
// member: the claims of their subtree), conflicts marked, with approve and
// reject buttons where the principal may decide.
func (s *Server) claimsPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	p := c.p()
	f := store.ClaimFilter{PageRequest: store.PageRequest{Limit: store.MaxLimit}}
	d := claimsData{}
	if r.URL.Query().Get("state") == string(asset.StateRejected) {
		f.State, d.Rejected = asset.StateRejected, true
	}
	page, err := s.Claims.Pending(r.Context(), p, f)
	if err != nil {
		return err
	}
	d.Items = page.Items
	return s.page(w, r, c, "claims", "claims.title", "assets", d)
}

// back is where a claim action returns: the form's "back", else the
// asset's page.
func claimBack(r *http.Request, id int64) string {
	if b := r.PostFormValue("back"); b != "" {
		return localPath(b)
	}
	return "/assets/" + strconv.FormatInt(id, 10)
}

func (s *Server) claimVerify(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	_, err = s.Claims.Verify(r.Context(), c.p(), id)
	switch {
	case errors.Is(err, scope.ErrNotProven), errors.Is(err, asset.ErrOverlap), errors.Is(err, scope.ErrNoProver):
		// What the check found is on the asset page.
		return redirect(w, r, claimBack(r, id), "flash.notproven")
	case err != nil:
		return err
	}
	return redirect(w, r, claimBack(r, id), "flash.verified")
}

func (s *Server) claimDecide(approve bool) func(http.ResponseWriter, *http.Request, *reqCtx) error {
	return func(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		if _, err := s.Claims.Decide(r.Context(), c.p(), id, approve, r.PostFormValue("reason")); err != nil {
			return err
		}
		flash := "flash.approved"
		if !approve {
			flash = "flash.rejected"
		}
		return redirect(w, r, claimBack(r, id), flash)
	}
}

func (s *Server) claimEvidence(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.st.SetClaimEvidence(r.Context(), c.p(), id, r.PostFormValue("evidence")); err != nil {
		return err
	}
	return redirect(w, r, claimBack(r, id), "flash.done")
}
