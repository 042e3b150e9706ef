package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/store"
)

// findingsPerPage is one page of the findings list.
const findingsPerPage = 50

// findingRow is a finding with what the lists show beside it.
type findingRow struct {
	store.Finding
	OrgName    string
	CheckTitle string
	Overdue    bool
}

// EPSSText is the finding's exploit probability as a percentage ("97%",
// "0.4%"), empty when unknown.
func (r findingRow) EPSSText() string {
	switch p := r.EPSS * 100; {
	case r.EPSS <= 0:
		return ""
	case p >= 10:
		return strconv.FormatFloat(p, 'f', 0, 64) + "%"
	case p >= 1:
		return strconv.FormatFloat(p, 'f', 1, 64) + "%"
	default:
		return strconv.FormatFloat(p, 'f', 2, 64) + "%"
	}
}

// findingFilter is the list's filter as the form shows it.
type findingFilter struct {
	Severity, State, Check, KEV, Org, Asset, Q, Sort string
	Overdue, Waiver                                  bool
}

type findingsData struct {
	F          findingFilter
	Rows       []findingRow
	Next       string // query of the next page, empty on the last
	First      string // query of the first page when not on it
	CanTriage  bool
	Back       string
	Severities []finding.Severity
	States     []finding.State
}

// parseFindingFilter reads the filter from the query.
func parseFindingFilter(q url.Values, now func() store.FindingFilter) (findingFilter, store.FindingFilter, error) {
	ff := findingFilter{Severity: q.Get("severity"), State: q.Get("state"), Check: strings.TrimSpace(q.Get("check")),
		KEV: q.Get("kev"), Org: q.Get("org"), Asset: q.Get("asset"), Q: strings.TrimSpace(q.Get("q")), Overdue: q.Get("overdue") == "1",
		Waiver: q.Get("waiver") == "pending", Sort: q.Get("sort")}
	sf := now()
	if ff.Severity != "" {
		sev, err := finding.ParseSeverity(ff.Severity)
		if err != nil {
			return ff, sf, &uiError{status: http.StatusBadRequest, key: "error.invalid", cause: err, detail: true}
		}
		sf.Severity = sev
	}
	switch {
	case ff.State == "active":
		sf.Active = true
	case ff.State != "":
		st := finding.State(ff.State)
		if !st.Valid() {
			return ff, sf, &uiError{status: http.StatusBadRequest, key: "error.invalid"}
		}
		sf.State = st
	}
	sf.Check, sf.Query, sf.Overdue, sf.WaiverPending = ff.Check, ff.Q, ff.Overdue, ff.Waiver
	switch ff.Sort {
	case "", store.SortID:
		ff.Sort = ""
	case store.SortLikelihood:
		sf.Sort = store.SortLikelihood
	default:
		return ff, sf, &uiError{status: http.StatusBadRequest, key: "error.invalid"}
	}
	switch ff.KEV {
	case "yes":
		t := true
		sf.KEV = &t
	case "no":
		f := false
		sf.KEV = &f
	}
	var err error
	if ff.Org != "" {
		if sf.OrgID, err = strconv.ParseInt(ff.Org, 10, 64); err != nil {
			return ff, sf, &uiError{status: http.StatusBadRequest, key: "error.invalid"}
		}
	}
	if ff.Asset != "" {
		if sf.AssetID, err = strconv.ParseInt(ff.Asset, 10, 64); err != nil {
			return ff, sf, &uiError{status: http.StatusBadRequest, key: "error.invalid"}
		}
	}
	return ff, sf, nil
}

// findingsList lists findings with filters and keyset pages, with the
// bulk action form around the rows.
func (s *Server) findingsList(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	q := r.URL.Query()
	ff, sf, err := parseFindingFilter(q, func() store.FindingFilter { return store.FindingFilter{Now: c.now} })
	if err != nil {
		return err
	}
	sf.PageRequest = store.PageRequest{Limit: findingsPerPage, After: q.Get("after")}
	page, err := s.st.ListFindings(r.Context(), c.p(), sf)
	if err != nil {
		return err
	}
	d := findingsData{F: ff, CanTriage: c.p().Can(auth.PermTriage), Back: r.URL.RequestURI(),
		Severities: finding.Severities, States: finding.States}
	if d.Rows, err = s.findingRows(r, c, page.Items); err != nil {
		return err
	}
	if page.Next != "" {
		nq := cloneValues(q)
		nq.Set("after", page.Next)
		nq.Del("ok")
		d.Next = nq.Encode()
	}
	if q.Get("after") != "" {
		fq := cloneValues(q)
		fq.Del("after")
		fq.Del("ok")
		d.First = fq.Encode()
	}
	return s.page(w, r, c, "findings", "findings.title", "findings", d)
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// findingRows adds organization names and check titles. A store that
// reads several organizations at once (store.OrgLookup) names the whole
// page in one query.
func (s *Server) findingRows(r *http.Request, c *reqCtx, fs []store.Finding) ([]findingRow, error) {
	names := map[int64]string{}
	if lk, ok := s.st.(store.OrgLookup); ok && len(fs) > 0 {
		ids := make([]int64, 0, len(fs))
		for _, f := range fs {
			ids = append(ids, f.OrgID)
		}
		orgs, err := lk.OrgsByID(r.Context(), c.p(), ids)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			name := ""
			if o, ok := orgs[id]; ok {
				name = c.lang.OrgName(o)
			}
			names[id] = name
		}
	}
	out := make([]findingRow, 0, len(fs))
	for _, f := range fs {
		name, ok := names[f.OrgID]
		if !ok {
			o, err := s.st.GetOrg(r.Context(), c.p(), f.OrgID)
			if err == nil {
				name = c.lang.OrgName(o)
			}
			names[f.OrgID] = name
		}
		out = append(out, findingRow{Finding: f, OrgName: name, CheckTitle: s.checkTitle(c.lang, f.Check), Overdue: f.Overdue(c.now)})
	}
	return out, nil
}
