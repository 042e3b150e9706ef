package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"github.com/rampart-cert/rampart/internal/finding"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
)

//go:embed templates/*.html
var templateFS embed.FS

// pages holds one template set per page: the layout, the partials and the
// page's own "content".
type pages struct {
	set map[string]*template.Template
}

var funcs = template.FuncMap{
	"add":      func(a, b int) int { return a + b },
	"pretty":   prettyJSON,
	"cert":     certSummary,
	"sevcount": func(m map[finding.Severity]int, s string) int { return m[finding.Severity(s)] },
	"join":     strings.Join,
	"query":    func(v url.Values) template.URL { return template.URL(v.Encode()) },
	"derefTime": func(t *time.Time) time.Time {
		if t == nil {
			return time.Time{}
		}
		return *t
	},
}

func loadPages() (*pages, error) {
	base := template.New("layout").Funcs(funcs)
	partials, err := fs.Glob(templateFS, "templates/_*.html")
	if err != nil {
		return nil, err
	}
	base, err = base.ParseFS(templateFS, append([]string{"templates/layout.html"}, partials...)...)
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{set: map[string]*template.Template{}}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" || strings.HasPrefix(name, "_") {
			continue
		}
		t, err := base.Clone()
		if err == nil {
			t, err = t.ParseFS(templateFS, f)
		}
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		p.set[name] = t
	}
	return p, nil
}

// view is what every template gets: the language, the user, the CSRF
// token, and the page's own data.
type view struct {
	*Lang
	Title    string // catalog key of the page title
	TitleArg string // shown after the title (an object's name)
	Nav      string // which navigation entry is current
	P        auth.Principal
	LoggedIn bool
	CSRF     string
	Path     string // the request URI, for the language links
	Now      time.Time
	Version  string
	Flash    string // catalog key of a success message
	Assess   bool   // the assessment pages are on
	Err      *uiError
	Data     any
}

// Can reports whether the user holds a permission ("assets:write", ...).
func (v *view) Can(perm string) bool { return v.LoggedIn && v.P.Can(auth.Perm(perm)) }

// LangURL is the current page in another language.
func (v *view) LangURL(code string) string {
	u, err := url.Parse(v.Path)
	if err != nil {
		return "/?lang=" + code
	}
	q := u.Query()
	q.Set("lang", code)
	u.RawQuery = q.Encode()
	return u.RequestURI()
}

// ErrText is the message of the page's error, with its detail.
func (v *view) ErrText() string {
	if v.Err == nil {
		return ""
	}
	return v.T(v.Err.key)
}

// ErrDetail is the validation detail of the page's error, if shown.
func (v *view) ErrDetail() string {
	if v.Err == nil || !v.Err.detail || v.Err.cause == nil {
		return ""
	}
	return v.Err.cause.Error()
}

func (s *Server) newView(r *http.Request, c *reqCtx, title, nav string, data any) *view {
	v := &view{Lang: c.lang, Title: title, Nav: nav, CSRF: s.csrfToken(c), Path: r.URL.RequestURI(),
		Now: c.now, Version: s.Version, Data: data, Assess: s.Assess != nil}
	if c.sess != nil {
		v.P, v.LoggedIn = c.sess.p, true
	}
	if f := r.URL.Query().Get("ok"); strings.HasPrefix(f, "flash.") && c.lang.Has(f) {
		v.Flash = f
	}
	return v
}

// render executes page with v into a buffer first, so a template error
// never sends half a page.
func (s *Server) render(w http.ResponseWriter, status int, page string, v *view) error {
	t, ok := s.pages.set[page]
	if !ok {
		return fmt.Errorf("web: no page %q", page)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return fmt.Errorf("web: render %s: %w", page, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Language", v.Lang.Code)
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// page renders a page with status 200.
func (s *Server) page(w http.ResponseWriter, r *http.Request, c *reqCtx, name, title, nav string, data any) error {
	return s.render(w, http.StatusOK, name, s.newView(r, c, title, nav, data))
}

// renderError shows err as a page (or logs it when even that fails).
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, c *reqCtx, err error) {
	ue := asUIError(err)
	if ue.status >= 500 {
		s.log.Error("web: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	v := s.newView(r, c, "error.title", "", nil)
	v.Err = ue
	if rerr := s.render(w, ue.status, "error", v); rerr != nil {
		s.log.Error("web: render error page", "err", rerr)
		http.Error(w, http.StatusText(ue.status), ue.status)
	}
}

// redirect sends the browser to target after a successful POST, with a
// flash message key. The key goes into the query, before any fragment
// ("/assessments/3?ok=flash.uploaded#ctl-X"): after the fragment the
// browser never sends it and the page never shows it (security F26).
func redirect(w http.ResponseWriter, r *http.Request, target, flash string) error {
	if flash != "" {
		path, frag, hasFrag := strings.Cut(target, "#")
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		target = path + sep + "ok=" + url.QueryEscape(flash)
		if hasFrag {
			target += "#" + frag
		}
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}

// prettyJSON indents JSON for display; the template escapes it.
func prettyJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return string(raw)
	}
	return buf.String()
}

// FindingTable is the argument of the "findingrows" partial.
func (v *view) FindingTable(rows []findingRow, selectable bool) map[string]any {
	return map[string]any{"L": v.Lang, "Rows": rows, "Select": selectable}
}

// Pager is the argument of the "pager" partial.
func (v *view) Pager(first, next string) map[string]any {
	return map[string]any{"L": v.Lang, "First": first, "Next": next}
}

// JobTable is the argument of the "jobrows" partial.
func (v *view) JobTable(jobs any) map[string]any {
	return map[string]any{"L": v.Lang, "Jobs": jobs}
}
