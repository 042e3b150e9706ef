package report

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"sync"

	"github.com/rampart-cert/rampart/internal/assess"
	"github.com/rampart-cert/rampart/internal/finding/catalog"
)

// Formats lists what Render writes.
var Formats = []string{"html", "pdf", "csv", "xlsx"}

// Render writes r in format (html, pdf, csv, xlsx) and language (vi, en).
// HTML is one self-contained page (no external assets) for the console;
// PDF the printable report with the DejaVu fonts embedded; CSV the
// per-organization scorecard table; XLSX the scorecards, findings and
// organizations (and the assessment synthesis) as sheets.
func Render(w io.Writer, r *Report, format, lang string) error {
	l, err := newLoc(lang)
	if err != nil {
		return err
	}
	switch strings.ToLower(format) {
	case "html":
		return renderHTML(w, r, l)
	case "pdf":
		return renderPDF(w, r, l)
	case "csv":
		return renderCSV(w, r, l)
	case "xlsx":
		return renderXLSX(w, r, l)
	}
	return fmt.Errorf("report: format %q is not one of %s", format, strings.Join(Formats, ", "))
}

//go:embed templates/report.html
var templateFS embed.FS

// pageTmpl is parsed on first use, not at package init.
var pageTmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report.html").Funcs(template.FuncMap{
		"text":  func(l loc, t catalog.Text) string { return t.In(l.lang) },
		"grade": func(g string) string { return "g" + strings.ToLower(g) },
		"indent": func(depth int) template.CSS {
			return template.CSS(fmt.Sprintf("padding-left:%.1fem", 0.4+1.2*float64(max(depth, 0))))
		},
		"ctlRows": func(s *assess.Synthesis) []assess.ControlResult { return s.Controls },
	}).ParseFS(templateFS, "templates/report.html"))
})

func renderHTML(w io.Writer, r *Report, l loc) error {
	return pageTmpl().Execute(w, struct {
		R *Report
		L loc
	}{r, l})
}
