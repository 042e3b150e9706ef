package web

import (
	"net/http"
	"strconv"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

// maxOrgScan bounds the jobs one "scan this organization" creates.
const maxOrgScan = 10000

// scanNow queues a manual scan of one asset, or of every asset of one
// organization (not its subtree), and goes back to the page it came from.
func (s *Server) scanNow(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if s.Scheduler == nil {
		return &uiError{status: http.StatusServiceUnavailable, key: "error.noscanner"}
	}
	p, ctx := c.p(), r.Context()
	if !p.Can(auth.PermWriteAssets) {
		return errForbidden
	}
	assetID, _ := strconv.ParseInt(r.PostFormValue("asset_id"), 10, 64)
	orgID, _ := strconv.ParseInt(r.PostFormValue("org_id"), 10, 64)
	if (assetID == 0) == (orgID == 0) {
		return &uiError{status: http.StatusBadRequest, key: "error.invalid"}
	}
	var assets []asset.Asset
	if assetID != 0 {
		a, err := s.st.GetAsset(ctx, p, assetID)
		if err != nil {
			return err
		}
		assets = append(assets, a)
	} else {
		if _, err := s.st.GetOrg(ctx, p, orgID); err != nil {
			return err
		}
		f := store.AssetFilter{OrgID: orgID, PageRequest: store.PageRequest{Limit: store.MaxLimit}}
		for {
			page, err := s.st.ListAssets(ctx, p, f)
			if err != nil {
				return err
			}
			assets = append(assets, page.Items...)
			if page.Next == "" || len(assets) >= maxOrgScan {
				break
			}
			f.After = page.Next
		}
	}
	policies := map[int64]store.ScanPolicy{}
	for _, a := range assets {
		if a.Kind == asset.KindASN {
			continue
		}
		pol, ok := policies[a.OrgID]
		if !ok {
			var err error
			if pol, err = s.st.GetScanPolicy(ctx, p, a.OrgID); err != nil {
				return err
			}
			policies[a.OrgID] = pol
		}
		j, err := s.Scheduler.Job(a, pol, "manual", p.Name, c.now)
		if err != nil {
			return err
		}
		if err := s.st.CreateScanJob(ctx, p, &j); err != nil {
			return err
		}
		if err := s.Scheduler.Queue(ctx, &j); err != nil {
			return err
		}
	}
	return redirect(w, r, localPath(r.PostFormValue("back")), "flash.scanqueued")
}
