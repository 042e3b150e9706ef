package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
)

// maxBulk bounds one bulk action.
const maxBulk = 500

// findingsBulk applies one action to the selected findings: acknowledge,
// accept the risk (reason, approver, expiry), mark false positive (reason,
// expiry), or ask for verification, which also queues a "verify" scan of
// each asset concerned. Each finding moves on its own; the ones refused
// are reported, the others keep their change.
func (s *Server) findingsBulk(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	p, ctx := c.p(), r.Context()
	back := localPath(r.PostFormValue("back"))
	action := finding.Action(r.PostFormValue("action"))
	switch action {
	case finding.ActionAcknowledge, finding.ActionAcceptRisk, finding.ActionFalsePositive, finding.ActionRequestVerify, finding.ActionReopen:
	default:
		return &uiError{status: http.StatusBadRequest, key: "error.noaction"}
	}
	ids := r.PostForm["id"]
	if len(ids) == 0 {
		return &uiError{status: http.StatusBadRequest, key: "error.noselection"}
	}
	if len(ids) > maxBulk {
		return &uiError{status: http.StatusBadRequest, key: "error.toomany"}
	}
	t := finding.Transition{Action: action, Reason: strings.TrimSpace(r.PostFormValue("reason")),
		Approve: strings.TrimSpace(r.PostFormValue("approver")), By: p.Name, ByRole: string(p.Role), At: c.now}
	if u := r.PostFormValue("until"); u != "" {
		day, err := time.ParseInLocation("2006-01-02", u, zone)
		if err != nil {
			return &uiError{status: http.StatusBadRequest, key: "error.baddate", cause: err}
		}
		t.Until = day.Add(24*time.Hour - time.Second) // to the end of that day
	}
	var failed []string
	verified := map[int64]bool{}
	for _, v := range ids {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return &uiError{status: http.StatusBadRequest, key: "error.invalid"}
		}
		f, err := s.st.TransitionFinding(ctx, p, id, t)
		if err != nil {
			if ue := classify(err); ue.status >= 500 {
				return err
			}
			failed = append(failed, fmt.Sprintf("#%d: %v", id, err))
			continue
		}
		if action == finding.ActionRequestVerify && s.Scheduler != nil && !verified[f.AssetID] {
			verified[f.AssetID] = true
			if err := s.queueVerify(r, c, f.AssetID); err != nil {
				failed = append(failed, fmt.Sprintf("#%d: %v", id, err))
			}
		}
	}
	if len(failed) > 0 {
		return &uiError{status: http.StatusConflict, key: "error.bulk", cause: errors.New(strings.Join(failed, "\n")), detail: true}
	}
	return redirect(w, r, back, "flash.done")
}

// queueVerify queues a "verify" scan of an asset. The person may triage
// the finding but not necessarily request scans, so the job is stored by
// the scheduler as the platform (Queue), on their behalf.
func (s *Server) queueVerify(r *http.Request, c *reqCtx, assetID int64) error {
	ctx, p := r.Context(), c.p()
	a, err := s.st.GetAsset(ctx, p, assetID)
	if err != nil {
		return err
	}
	pol, err := s.st.GetScanPolicy(ctx, p, a.OrgID)
	if err != nil {
		return err
	}
	j, err := s.Scheduler.Job(a, pol, "verify", p.Name, c.now)
	if err != nil {
		return err
	}
	return s.Scheduler.Queue(ctx, &j)
}
