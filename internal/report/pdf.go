package report

import (
	_ "embed"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/go-pdf/fpdf"

	"github.com/rampart-cert/rampart/internal/assess"
	"github.com/rampart-cert/rampart/internal/finding"
)

// The DejaVu fonts cover Vietnamese; fpdf embeds the glyphs used, with a
// ToUnicode map so extracted text keeps its diacritics.
var (
	//go:embed fonts/DejaVuSans.ttf
	fontRegular []byte
	//go:embed fonts/DejaVuSans-Bold.ttf
	fontBold []byte
)

const (
	pageW   = 210.0
	margin  = 15.0
	content = pageW - 2*margin
	font    = "DejaVu"
)

type rgb [3]int

var (
	navy   = rgb{18, 58, 107}
	light  = rgb{238, 241, 245}
	grades = sync.OnceValue(func() map[string]rgb {
		return map[string]rgb{"A": {30, 132, 73}, "B": {82, 164, 71}, "C": {212, 172, 13}, "D": {230, 126, 34}, "F": {192, 57, 43}}
	})
	sevCol = sync.OnceValue(func() map[finding.Severity]rgb {
		return map[finding.Severity]rgb{finding.Critical: {146, 43, 33}, finding.High: {192, 57, 43}, finding.Medium: {185, 119, 14}, finding.Low: {40, 116, 166}, finding.Info: {93, 109, 126}}
	})
)

type pdfDoc struct {
	*fpdf.Fpdf
	l loc
}

func (d *pdfDoc) fill(c rgb) { d.SetFillColor(c[0], c[1], c[2]) }
func (d *pdfDoc) ink(c rgb)  { d.SetTextColor(c[0], c[1], c[2]) }

// fit shortens s with an ellipsis until it fits in w millimetres.
func (d *pdfDoc) fit(s string, w float64) string {
	if d.GetStringWidth(s) <= w {
		return s
	}
	r := []rune(s)
	for len(r) > 1 && d.GetStringWidth(string(r)+"…") > w {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}

type column struct {
	title string
	width float64 // share of the content width
	right bool
}

// table draws a table with a header repeated on each page.
func (d *pdfDoc) table(cols []column, rows [][]string, styles ...func(row, col int) (rgb, bool)) {
	const h = 6.0
	header := func() {
		d.SetFont(font, "B", 7)
		d.fill(light)
		d.ink(navy)
		for _, c := range cols {
			align := "L"
			if c.right {
				align = "R"
			}
			w := c.width * content
			d.CellFormat(w, h, d.fit(c.title, w-2), "B", 0, align, true, 0, "")
		}
		d.Ln(h)
	}
	header()
	for i, row := range rows {
		if d.GetY()+h > 297-margin-8 {
			d.AddPage()
			header()
		}
		for j, c := range cols {
			d.SetFont(font, "", 8)
			d.ink(rgb{27, 36, 48})
			for _, st := range styles {
				if col, bold := st(i, j); col != (rgb{}) {
					d.ink(col)
					if bold {
						d.SetFont(font, "B", 8)
					}
				}
			}
			align := "L"
			if c.right {
				align = "R"
			}
			w := c.width * content
			txt := ""
			if j < len(row) {
				txt = row[j]
			}
			d.CellFormat(w, h, d.fit(txt, w-2), "B", 0, align, false, 0, "")
		}
		d.Ln(h)
	}
	d.Ln(3)
}

func (d *pdfDoc) heading(s string) {
	if d.GetY() > 297-margin-40 {
		d.AddPage()
	}
	d.SetFont(font, "B", 12)
	d.ink(navy)
	d.CellFormat(content, 8, s, "", 1, "L", false, 0, "")
	d.Ln(1)
}

func renderPDF(w io.Writer, r *Report, l loc) error {
	f := fpdf.New("P", "mm", "A4", "")
	f.AddUTF8FontFromBytes(font, "", fontRegular)
	f.AddUTF8FontFromBytes(font, "B", fontBold)
	f.SetMargins(margin, margin, margin)
	f.SetAutoPageBreak(true, margin+5)
	title := l.T("title") + " — " + l.Name(r.Root.Org)
	f.SetTitle(title, true)
	f.SetAuthor("Rampart", true)
	f.SetCreator("Rampart", true)
	f.SetSubject(l.Level(r.Level), true)
	f.SetCreationDate(r.GeneratedAt)
	f.SetModificationDate(r.GeneratedAt)
	d := &pdfDoc{Fpdf: f, l: l}
	f.SetFooterFunc(func() {
		f.SetY(-12)
		f.SetFont(font, "", 7)
		d.ink(rgb{93, 109, 126})
		f.CellFormat(content/2, 5, d.fit("Rampart · "+l.Name(r.Root.Org), content/2), "", 0, "L", false, 0, "")
		f.CellFormat(content/2, 5, l.T("page")+" "+strconv.Itoa(f.PageNo()), "", 0, "R", false, 0, "")
	})

	d.cover(r)
	d.AddPage()
	d.topProblems(r)
	d.orgTables(r)
	for _, s := range r.Assessments {
		d.assessment(s)
	}
	if err := f.Error(); err != nil {
		return fmt.Errorf("report: pdf: %w", err)
	}
	if err := f.Output(w); err != nil {
		return fmt.Errorf("report: pdf: %w", err)
	}
	return nil
}

func (d *pdfDoc) cover(r *Report) {
	l := d.l
	d.AddPage()
	d.fill(navy)
	d.Rect(0, 0, pageW, 62, "F")
	d.ink(rgb{255, 255, 255})
	d.SetXY(margin, 14)
	d.SetFont(font, "", 10)
	d.CellFormat(content, 6, strings.ToUpper(l.Level(r.Level)), "", 1, "L", false, 0, "")
	d.SetFont(font, "B", 22)
	d.CellFormat(content, 11, l.T("title"), "", 1, "L", false, 0, "")
	d.SetFont(font, "B", 15)
	d.MultiCell(content, 7, l.Name(r.Root.Org), "", "L", false)
	d.SetFont(font, "", 9)
	d.CellFormat(content, 6, l.T("subtitle")+" · "+l.T("generated")+" "+l.Date(r.GeneratedAt), "", 1, "L", false, 0, "")

	// The score box and key numbers.
	y := 72.0
	g := grades()[r.Root.Grade]
	d.fill(g)
	d.Rect(margin, y, 50, 38, "F")
	d.ink(rgb{255, 255, 255})
	d.SetXY(margin, y+3)
	d.SetFont(font, "", 9)
	d.CellFormat(50, 5, l.T("score")+" / "+l.T("grade"), "", 2, "C", false, 0, "")
	d.SetFont(font, "B", 26)
	d.CellFormat(50, 14, l.Num(r.Root.Score), "", 2, "C", false, 0, "")
	d.SetFont(font, "B", 16)
	d.CellFormat(50, 10, r.Root.Grade, "", 0, "C", false, 0, "")

	stats := [][2]string{
		{l.T("active"), l.Int(r.Root.Active)}, {l.T("overdue"), l.Int(r.Root.Overdue)},
		{l.T("kev"), l.Int(r.Root.KEV)}, {l.T("debt"), l.Num(r.Root.Debt)},
		{l.T("mttr"), l.MTTR(r.Root)}, {l.T("fixed"), l.Int(r.Root.Fixed)},
		{l.T("assets"), l.Int(r.Root.Assets)}, {l.T("orgs"), l.Int(max(len(r.Orgs), 1))},
		{l.T("rank"), l.Rank(r.Root)}, {l.T("percentile"), percentile(l, r.Root)},
	}
	x0, colW := margin+56, (content-56)/2
	for i, s := range stats {
		x := x0 + float64(i%2)*colW
		yy := y + float64(i/2)*7.6
		d.SetXY(x, yy)
		d.SetFont(font, "", 8)
		d.ink(rgb{93, 109, 126})
		d.CellFormat(colW*0.62, 7, d.fit(s[0], colW*0.62-1), "", 0, "L", false, 0, "")
		d.SetFont(font, "B", 10)
		d.ink(rgb{27, 36, 48})
		d.CellFormat(colW*0.38-2, 7, s[1], "", 0, "R", false, 0, "")
	}
	d.SetXY(margin, y+44)
	d.SetFont(font, "", 7)
	d.ink(rgb{93, 109, 126})
	d.MultiCell(content, 3.6, l.T("formula"), "", "L", false)
	d.Ln(4)

	d.heading(l.T("by_severity"))
	var rows [][]string
	var tot SeverityRow
	for _, s := range r.Severity {
		rows = append(rows, []string{l.Sev(s.Severity), l.Int(s.Active), l.Int(s.Overdue), l.Int(s.KEV)})
		tot.Active += s.Active
		tot.Overdue += s.Overdue
		tot.KEV += s.KEV
	}
	rows = append(rows, []string{l.T("total"), l.Int(tot.Active), l.Int(tot.Overdue), l.Int(tot.KEV)})
	d.table([]column{{l.T("severity"), 0.4, false}, {l.T("active"), 0.2, true}, {l.T("overdue"), 0.2, true}, {l.T("s.kev"), 0.2, true}}, rows,
		func(i, j int) (rgb, bool) {
			if j == 0 && i < len(r.Severity) {
				return sevCol()[r.Severity[i].Severity], true
			}
			return rgb{}, false
		})

	if len(r.Children) > 0 {
		d.heading(l.T("per_org"))
		d.cardTable(r.Children, 14)
	}
}

func percentile(l loc, c Scorecard) string {
	if c.PeerCount == 0 {
		return "–"
	}
	return l.Num(c.Percentile)
}

// cardTable lists scorecards; limit > 0 stops after that many rows.
func (d *pdfDoc) cardTable(cs []Scorecard, limit int) {
	l := d.l
	var rows [][]string
	for i, c := range cs {
		if limit > 0 && i == limit {
			rows = append(rows, []string{fmt.Sprintf("… %s %s", l.Int(len(cs)-limit), strings.ToLower(l.T("orgs")))})
			break
		}
		rows = append(rows, []string{l.Name(c.Org), c.Org.Code, l.Num(c.Score), c.Grade, l.Int(c.Active), l.Int(c.Overdue), l.Int(c.KEV), l.MTTR(c), l.Rank(c)})
	}
	d.table([]column{{l.T("name"), 0.34, false}, {l.T("code"), 0.12, false}, {l.T("score"), 0.07, true}, {l.T("s.grade"), 0.06, true},
		{l.T("s.active"), 0.08, true}, {l.T("s.overdue"), 0.08, true}, {l.T("s.kev"), 0.05, true}, {l.T("s.mttr"), 0.11, true}, {l.T("s.rank"), 0.09, true}}, rows,
		func(i, j int) (rgb, bool) {
			if j == 3 && i < len(cs) && (limit == 0 || i < limit) {
				return grades()[cs[i].Grade], true
			}
			return rgb{}, false
		})
}

func (d *pdfDoc) topProblems(r *Report) {
	l := d.l
	d.heading(l.T("top"))
	if len(r.Top) == 0 {
		d.SetFont(font, "", 9)
		d.CellFormat(content, 6, l.T("none"), "", 1, "L", false, 0, "")
		return
	}
	var rows [][]string
	for _, p := range r.Top {
		rows = append(rows, []string{p.Title.In(l.lang), p.Check, l.Sev(p.Severity), l.Int(p.Findings), l.Int(p.Orgs), l.Int(p.KEV), l.Int(p.Overdue)})
	}
	d.table([]column{{l.T("problem"), 0.38, false}, {l.T("check"), 0.2, false}, {l.T("severity"), 0.12, false}, {l.T("s.findings"), 0.08, true},
		{l.T("s.affected"), 0.08, true}, {l.T("s.kev"), 0.06, true}, {l.T("s.overdue"), 0.08, true}}, rows,
		func(i, j int) (rgb, bool) {
			if j == 2 {
				return sevCol()[r.Top[i].Severity], true
			}
			return rgb{}, false
		})
}

func (d *pdfDoc) orgTables(r *Report) {
	l := d.l
	if len(r.Worst) > 0 && len(r.Orgs) > 2 {
		d.heading(l.T("worst"))
		d.cardTable(r.Worst, 0)
	}
	// The tree down to two levels below the root (the XLSX has everyone).
	var tree []Scorecard
	for _, c := range r.Orgs {
		if c.Depth <= 2 {
			c.Org.Name = strings.Repeat("   ", c.Depth) + c.Org.Name
			c.Org.NameEN = strings.Repeat("   ", c.Depth) + c.Org.NameEN
			tree = append(tree, c)
		}
	}
	if len(tree) > 1 {
		d.heading(l.T("per_org"))
		d.cardTable(tree, 300)
	}
}

func (d *pdfDoc) assessment(syn *assess.Synthesis) {
	l := d.l
	d.heading(l.T("assessment") + ": " + syn.Campaign.Title)
	d.SetFont(font, "", 9)
	d.ink(rgb{27, 36, 48})
	rate := "–"
	if syn.Rated > 0 {
		rate = l.Pct(syn.Compliance)
	}
	d.MultiCell(content, 5, fmt.Sprintf("%s: %s · %s %s · %s %s · %s %s · %s %s · %s %s",
		l.T("framework"), syn.Framework.Title.In(l.lang), l.T("deadline"), l.Date(syn.Campaign.Deadline),
		l.T("targets"), l.Int(syn.Targets), l.T("submitted"), l.Int(syn.Submitted), l.T("late"), l.Int(syn.Late), l.T("compliance"), rate), "", "L", false)
	d.Ln(2)
	var rows [][]string
	for _, c := range syn.Controls {
		cr := "–"
		if c.Rated {
			cr = l.Pct(c.Compliance)
		}
		t := c.Tally
		rows = append(rows, []string{c.Control.ID + " " + c.Control.Title.In(l.lang), strconv.Itoa(t.Implemented), strconv.Itoa(t.Partial),
			strconv.Itoa(t.NotImplemented), strconv.Itoa(t.NotApplicable), strconv.Itoa(t.Unanswered), cr})
	}
	d.table([]column{{l.T("control"), 0.46, false}, {l.T("s.implemented"), 0.08, true}, {l.T("s.partial"), 0.09, true}, {l.T("s.not_implemented"), 0.09, true},
		{l.T("s.not_applicable"), 0.09, true}, {l.T("s.unanswered"), 0.08, true}, {l.T("s.compliance"), 0.11, true}}, rows)
	rows = rows[:0]
	for _, ru := range syn.Rollup {
		if ru.Depth > 2 {
			continue
		}
		cr := "–"
		if ru.Rated > 0 {
			cr = l.Pct(ru.Compliance)
		}
		rows = append(rows, []string{strings.Repeat("   ", ru.Depth) + l.Name(ru.Org), strconv.Itoa(ru.Targets), strconv.Itoa(ru.Submitted), cr})
	}
	d.table([]column{{l.T("orgs"), 0.52, false}, {l.T("targets"), 0.16, true}, {l.T("submitted"), 0.16, true}, {l.T("s.compliance"), 0.16, true}}, rows)
}
