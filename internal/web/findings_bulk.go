package web

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/findings"
)

// findingsBulk applies one action to the selected findings through the
// findings service: acknowledge, accept the risk (reason, approver,
// expiry), mark false positive (reason, expiry), reopen, resolve, or ask
// for verification, which also queues a "verify" scan of each asset
// concerned. Each finding moves on its own; the ones refused are
// reported, the others keep their change.
func (s *Server) findingsBulk(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	p, ctx := c.p(), r.Context()
	back := localPath(r.PostFormValue("back"))
	action := finding.Action(r.PostFormValue("action"))
	if !finding.PersonAction(action) {
		return &uiError{status: http.StatusBadRequest, key: "error.noaction"}
	}
	ids := r.PostForm["id"]
	if len(ids) == 0 {
		return &uiError{status: http.StatusBadRequest, key: "error.noselection"}
	}
	if len(ids) > findings.MaxBulk {
		return &uiError{status: http.StatusBadRequest, key: "error.toomany"}
	}
	t := finding.Transition{Action: action, Reason: strings.TrimSpace(r.PostFormValue("reason")),
		Approve: strings.TrimSpace(r.PostFormValue("approver")), At: c.now}
	if u := r.PostFormValue("until"); u != "" {
		day, err := time.ParseInLocation("2006-01-02", u, zone())
		if err != nil {
			return &uiError{status: http.StatusBadRequest, key: "error.baddate", cause: err}
		}
		t.Until = day.Add(24*time.Hour - time.Second) // to the end of that day
	}
	nums := make([]int64, 0, len(ids))
	for _, v := range ids {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return &uiError{status: http.StatusBadRequest, key: "error.invalid"}
		}
		nums = append(nums, id)
	}
	res, err := s.Findings.TransitionMany(ctx, p, nums, t)
	if err != nil {
		return err
	}
	if len(res.Failed) > 0 {
		var failed []string
		for _, id := range slices.Sorted(maps.Keys(res.Failed)) {
			failed = append(failed, fmt.Sprintf("#%d: %v", id, res.Failed[id]))
		}
		return &uiError{status: http.StatusConflict, key: "error.bulk", cause: errors.New(strings.Join(failed, "\n")), detail: true}
	}
	return redirect(w, r, back, "flash.done")
}
