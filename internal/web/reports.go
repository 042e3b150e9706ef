package web

import (
	"bytes"
	"mime"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/report"
	"github.com/rampart-cert/rampart/internal/store"
)

// reportTypes are the Content-Types of the report formats.
var reportTypes = map[string]string{
	"html": "text/html; charset=utf-8",
	"pdf":  "application/pdf",
	"csv":  "text/csv; charset=utf-8",
	"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

// orgOption is one organization of a chooser, indented by depth.
type orgOption struct {
	ID    int64
	Name  string
	Code  string
	Depth int
}

// Indent is the option's label prefix (non-breaking spaces by depth).
func (o orgOption) Indent() string { return strings.Repeat("\u00a0\u00a0", o.Depth) }

// orgOptions lists the organizations a chooser offers: those in view that
// group others (national, ministries, sectors, provinces), the user's own,
// and extra (the one already chosen), ordered by path. Agencies are left
// out so the list stays short for a national constituency; their own
// pages link here with org_id set.
func (s *Server) orgOptions(r *http.Request, c *reqCtx, extra int64) ([]orgOption, error) {
	p, ctx := c.p(), r.Context()
	seen := map[int64]bool{}
	var all []org.Organization
	add := func(o org.Organization) {
		if !seen[o.ID] {
			seen[o.ID] = true
			all = append(all, o)
		}
	}
	for _, k := range []org.Kind{org.KindNational, org.KindMinistry, org.KindSector, org.KindProvince} {
		page, err := s.st.ListOrgs(ctx, p, store.OrgFilter{Kind: k, PageRequest: store.PageRequest{Limit: store.MaxLimit}})
		if err != nil {
			return nil, err
		}
		for _, o := range page.Items {
			add(o)
		}
	}
	for _, id := range []int64{p.OrgID, extra} {
		if id == 0 || seen[id] {
			continue
		}
		o, err := s.st.GetOrg(ctx, p, id)
		if err != nil {
			return nil, err
		}
		add(o)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Path < all[j].Path })
	out := make([]orgOption, 0, len(all))
	for _, o := range all {
		out = append(out, orgOption{ID: o.ID, Name: c.lang.OrgName(o), Code: o.Code, Depth: strings.Count(strings.Trim(o.Path, "/"), "/")})
	}
	return out, nil
}

type reportsData struct {
	Orgs   []orgOption
	OrgID  int64
	Org    *org.Organization
	Inline string // URL of the HTML report
	Links  []reportLink
}

type reportLink struct {
	Format string
	Href   string
}

// queryID reads an optional positive integer query parameter (0 when absent).
func queryID(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 0 {
		return 0, errNotFound
	}
	return id, nil
}

// reportsPage lets the user choose an organization and shows its report
// (the report's own HTML in a sandboxed frame) with download links.
func (s *Server) reportsPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	p := c.p()
	if !p.Can(auth.PermReadRegistry) {
		return errForbidden
	}
	id, err := queryID(r, "org_id")
	if err != nil {
		return err
	}
	d := reportsData{OrgID: id}
	if id != 0 {
		o, err := s.st.GetOrg(r.Context(), p, id)
		if err != nil {
			return err
		}
		d.Org = &o
	}
	if d.Orgs, err = s.orgOptions(r, c, id); err != nil {
		return err
	}
	base := "/reports/download?org_id=" + strconv.FormatInt(id, 10) + "&lang=" + c.lang.Code + "&format="
	d.Inline = base + "html"
	for _, f := range []string{"pdf", "xlsx", "csv"} {
		d.Links = append(d.Links, reportLink{Format: f, Href: base + f})
	}
	v := s.newView(r, c, "reports.title", "reports", d)
	if d.Org != nil {
		v.TitleArg = c.lang.OrgName(*d.Org)
	}
	return s.render(w, http.StatusOK, "reports", v)
}

var unsafeName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^A-Za-z0-9._-]+`) })

// reportDownload builds the report of org_id (0: everything in view) and
// sends it in format and lang: HTML inline (for the frame on /reports),
// the others as attachments.
func (s *Server) reportDownload(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	p := c.p()
	if !p.Can(auth.PermReadRegistry) {
		return errForbidden
	}
	id, err := queryID(r, "org_id")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	format := strings.ToLower(q.Get("format"))
	ct, ok := reportTypes[format]
	if !ok {
		return &uiError{status: http.StatusBadRequest, key: "error.format"}
	}
	lang := q.Get("lang")
	if lang == "" {
		lang = c.lang.Code
	}
	if !s.cat.has(lang) {
		return &uiError{status: http.StatusBadRequest, key: "error.format"}
	}
	opts := []report.Option{}
	if s.Catalog != nil {
		opts = append(opts, report.WithCatalog(s.Catalog))
	}
	if s.Assess != nil {
		opts = append(opts, report.WithFrameworks(s.Assess.Frameworks))
	}
	switch q.Get("order") {
	case "", "severity":
	case "likelihood":
		opts = append(opts, report.WithLikelihoodOrder())
	default:
		return &uiError{status: http.StatusBadRequest, key: "error.invalid"}
	}
	rep, err := report.Build(r.Context(), s.st, p, id, c.now, opts...)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := report.Render(&buf, rep, format, lang); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Cache-Control", "no-store")
	if format == "html" {
		// The report is one self-contained page with its own inline
		// styles and no scripts; it may be framed by the console only.
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; form-action 'none'; base-uri 'none'; frame-ancestors 'self'; sandbox")
		h.Set("X-Frame-Options", "SAMEORIGIN")
	} else {
		code := unsafeName().ReplaceAllString(rep.Root.Org.Code, "_")
		if code == "" || code == "_" {
			code = "all"
		}
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": "rampart-report-" + code + "-" + lang + "." + format}))
	}
	_, err = buf.WriteTo(w)
	return err
}
