package web

import (
	"net/http"
	"strconv"

	"github.com/rampart-cert/rampart/internal/findings"
)

// scanNow queues a manual scan of one asset, or of every asset of one
// organization (not its subtree), through the findings service, and goes
// back to the page it came from.
func (s *Server) scanNow(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if !s.Findings.ScanningEnabled() {
		return &uiError{status: http.StatusServiceUnavailable, key: "error.noscanner"}
	}
	assetID, _ := strconv.ParseInt(r.PostFormValue("asset_id"), 10, 64)
	orgID, _ := strconv.ParseInt(r.PostFormValue("org_id"), 10, 64)
	if (assetID == 0) == (orgID == 0) {
		return &uiError{status: http.StatusBadRequest, key: "error.invalid"}
	}
	if _, err := s.Findings.RequestScan(r.Context(), c.p(), findings.ScanRequest{AssetID: assetID, OrgID: orgID}); err != nil {
		return err
	}
	return redirect(w, r, localPath(r.PostFormValue("back")), "flash.scanqueued")
}
