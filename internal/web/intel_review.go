package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/rampart-cert/rampart/internal/store"
)

// reviewRow is a review with its reason in the user's language: the
// guard says it again when it still holds the indicator back (the store
// keeps the English words).
type reviewRow struct {
	store.Review
	ReasonText string
}

func (s *Server) reviewRow(ctx context.Context, c *reqCtx, rv store.Review) (reviewRow, error) {
	row := reviewRow{Review: rv, ReasonText: rv.Reason}
	g, held, err := s.Blocklists.Check(ctx, rv.Kind, rv.Value)
	if err != nil {
		return row, err
	}
	if held && g.Reason.EN == rv.Reason {
		row.ReasonText = g.Reason.EN
		if c.lang.Code == "vi" {
			row.ReasonText = g.Reason.VI
		}
	}
	return row, nil
}

type reviewsData struct {
	State       string
	States      []string
	Rows        []reviewRow
	Next, First string
}

var reviewStates = []string{string(store.ReviewPending), string(store.ReviewApproved), string(store.ReviewRejected), "all"}

// intelReviews is the review queue: indicators the blocklist guard holds
// back, with the reason, for an analyst to approve or reject.
func (s *Server) intelReviews(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := needIntelAdmin(c); err != nil {
		return err
	}
	q := r.URL.Query()
	d := reviewsData{State: q.Get("state"), States: reviewStates}
	if d.State == "" {
		d.State = string(store.ReviewPending)
	}
	f := store.ReviewFilter{PageRequest: store.PageRequest{Limit: 50, After: q.Get("after")}, State: store.ReviewState(d.State)}
	switch d.State {
	case "all":
		f.State = ""
	case string(store.ReviewPending), string(store.ReviewApproved), string(store.ReviewRejected):
	default:
		return &uiError{status: http.StatusBadRequest, key: "error.invalid"}
	}
	page, err := s.Hub.Reviews(r.Context(), c.p(), f)
	if err != nil {
		return err
	}
	for _, rv := range page.Items {
		row, err := s.reviewRow(r.Context(), c, rv)
		if err != nil {
			return err
		}
		d.Rows = append(d.Rows, row)
	}
	d.Next, d.First = pageLinks(q, page.Next)
	return s.page(w, r, c, "intel_reviews", "intel.reviews", "intel", d)
}

// intelReviewDecide approves or rejects a held indicator with a note; the
// blocklists are rebuilt on their next pull.
func (s *Server) intelReviewDecide(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := needIntelAdmin(c); err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var approve bool
	switch r.PostFormValue("decision") {
	case "approve":
		approve = true
	case "reject":
	default:
		return &uiError{status: http.StatusBadRequest, key: "error.invalid"}
	}
	note := strings.TrimSpace(r.PostFormValue("note"))
	if len(note) > 2000 {
		return &uiError{status: http.StatusBadRequest, key: "error.invalid"}
	}
	if _, err := s.Hub.DecideReview(r.Context(), c.p(), id, approve, note); err != nil {
		return err
	}
	s.Blocklists.Invalidate()
	back := "/intel/reviews"
	if st := r.PostFormValue("state"); st != "" && st != string(store.ReviewPending) {
		back += "?state=" + urlQueryEscape(st)
	}
	flash := "flash.reviewrejected"
	if approve {
		flash = "flash.reviewapproved"
	}
	return redirect(w, r, back, flash)
}
