package web

import (
	"cmp"
	"html/template"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// trendDays is the length of the dashboard's trend.
const trendDays = 90

// postureRows is how many organizations the posture table lists (the
// worst first).
const postureRows = 50

type orgRow struct {
	store.OrgRollup
	Card Scorecard
	Name string
}

// postureRow is one line of the dashboard's posture table.
type postureRow struct {
	OrgID                                  int64
	Name, Code, Kind, Grade                string
	Score                                  int
	Active, Critical, KEV, Overdue, Assets int
}

// postureHTML prints the posture table's lines. Fifty lines of nine cells
// are most of the dashboard's markup, and here they cost a fraction of
// what the template engine, which looks every field up by name, spends on
// them; text is escaped as the template would.
func postureHTML(l *Lang, rows []postureRow) template.HTML {
	var sb strings.Builder
	sb.Grow(400 * len(rows))
	num := func(n int) {
		sb.WriteString(`<td class="num">`)
		sb.WriteString(esc(l.Num(n)))
		sb.WriteString(`</td>`)
	}
	for _, r := range rows {
		sb.WriteString(`<tr><td><a href="/orgs/`)
		sb.WriteString(strconv.FormatInt(r.OrgID, 10))
		sb.WriteString(`">`)
		sb.WriteString(esc(r.Name))
		sb.WriteString(`</a> <small class="muted">`)
		sb.WriteString(esc(r.Code))
		sb.WriteString(`</small></td><td>`)
		sb.WriteString(esc(r.Kind))
		sb.WriteString(`</td><td><span class="badge grade-`)
		sb.WriteString(esc(r.Grade))
		sb.WriteString(`">`)
		sb.WriteString(esc(r.Grade))
		sb.WriteString(`</span></td><td class="num">`)
		sb.WriteString(strconv.Itoa(r.Score))
		sb.WriteString(`</td>`)
		for _, n := range []int{r.Active, r.Critical, r.KEV, r.Overdue, r.Assets} {
			num(n)
		}
		sb.WriteString("</tr>\n")
	}
	return template.HTML(sb.String())
}

type checkRow struct {
	ID      string
	Title   string
	Active  int
	Overdue int
}

type dashData struct {
	Ov         store.Overview
	Card       Scorecard
	Posture    []postureRow
	PostureRow template.HTML // Posture printed
	OrgCount   int
	Checks     []checkRow
	SevChart   template.HTML
	TrendChart template.HTML
	Debt       []debtChart
}

type debtChart struct {
	Key   string // catalog key of its heading
	Chart template.HTML
}

// dashboard is the national (or, for an agency user, their own subtree's)
// view: posture, findings by severity, KEV, overdue, debt roll-ups by
// ministry, sector and province, the most common problems and the trend.
func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	p := c.p()
	// The two aggregates read different data: ask for both at once.
	var (
		trend    []store.TrendPoint
		trendErr error
		done     = make(chan struct{})
	)
	go func() {
		defer close(done)
		trend, trendErr = s.Dashboard.Trend(r.Context(), p, 0, trendDays, c.now)
	}()
	ov, err := s.Dashboard.Overview(r.Context(), p, 0, c.now)
	<-done
	if err != nil {
		return err
	}
	if trendErr != nil {
		return trendErr
	}
	l := c.lang
	d := dashData{Ov: ov, OrgCount: len(ov.Orgs)}
	d.Card = Score(total(ov))
	d.Posture = postureOf(l, ov.Orgs, postureRows)
	d.PostureRow = postureHTML(l, d.Posture)
	d.Checks = s.checkRows(l, ov.TopChecks)
	d.SevChart = severityChart(l, "sev", ov.BySeverity)
	d.TrendChart = trendChart(l, "trend", trend)
	for _, k := range []org.Kind{org.KindMinistry, org.KindProvince, org.KindSector} {
		d.Debt = append(d.Debt, debtChart{Key: "dash.debt." + string(k), Chart: debtBars(l, "debt-"+string(k), l.T("dash.debt."+string(k)), ov.Orgs, k)})
	}
	return s.page(w, r, c, "dashboard", "dash.title", "dash", d)
}

// total is the whole overview as one roll-up, for its scorecard.
func total(ov store.Overview) store.OrgRollup {
	r := store.OrgRollup{OrgDebt: store.OrgDebt{Active: ov.Active, Overdue: ov.Overdue, KEV: ov.KEV, Weighted: ov.Weighted, BySeverity: ov.BySeverity}}
	// Assets and units: the sums over the topmost organizations in view,
	// so the headline score is the score of everything in view. Orgs is
	// in ID order.
	in := func(id int64) bool {
		i := sort.Search(len(ov.Orgs), func(i int) bool { return ov.Orgs[i].OrgID >= id })
		return i < len(ov.Orgs) && ov.Orgs[i].OrgID == id
	}
	for i := range ov.Orgs {
		o := &ov.Orgs[i]
		if !in(o.ParentID) {
			r.Assets += o.Assets
			r.Units += o.Units
		}
	}
	return r
}

// postureOf scores every organization and keeps the n worst (lowest
// score, then most weighted debt, then name).
func postureOf(l *Lang, orgs []store.OrgRollup, n int) []postureRow {
	// Rank indexes, not rows: a row is large, and a national view ranks
	// a thousand organizations on every request.
	cards := make([]Scorecard, len(orgs))
	idx := make([]int, len(orgs))
	for i, o := range orgs {
		cards[i], idx[i] = Score(o), i
	}
	slices.SortFunc(idx, func(i, j int) int {
		if c := cmp.Compare(cards[i].Score, cards[j].Score); c != 0 {
			return c
		}
		if c := cmp.Compare(orgs[j].Weighted, orgs[i].Weighted); c != 0 {
			return c
		}
		if c := strings.Compare(orgs[i].Code, orgs[j].Code); c != 0 {
			return c
		}
		return cmp.Compare(i, j) // as they came, in ID order
	})
	if len(idx) > n {
		idx = idx[:n]
	}
	rows := make([]postureRow, 0, len(idx))
	for _, i := range idx {
		o := &orgs[i]
		rows = append(rows, postureRow{OrgID: o.OrgID, Name: l.Name(o.Name, o.NameEN), Code: o.Code, Kind: l.OrgKind(o.Kind),
			Grade: cards[i].Grade, Score: cards[i].Score, Active: o.Active, Critical: o.BySeverity[finding.Critical],
			KEV: o.KEV, Overdue: o.Overdue, Assets: o.Assets})
	}
	return rows
}

// debtBars ranks the organizations of one kind by overdue findings.
func debtBars(l *Lang, id, title string, orgs []store.OrgRollup, kind org.Kind) template.HTML {
	var sel []*store.OrgRollup
	for i := range orgs {
		if orgs[i].Kind == kind {
			sel = append(sel, &orgs[i])
		}
	}
	sort.SliceStable(sel, func(i, j int) bool {
		if sel[i].Overdue != sel[j].Overdue {
			return sel[i].Overdue > sel[j].Overdue
		}
		return sel[i].Code < sel[j].Code
	})
	if len(sel) > 15 {
		sel = sel[:15]
	}
	bars := make([]bar, 0, len(sel))
	for _, o := range sel {
		bars = append(bars, bar{Label: l.Name(o.Name, o.NameEN), Value: o.Overdue, Class: "debt",
			Href: "/orgs/" + strconv.FormatInt(o.OrgID, 10)})
	}
	return barList(l, id, title, bars)
}

// checkRows names the top checks in the current language.
func (s *Server) checkRows(l *Lang, cs []store.CheckCount) []checkRow {
	out := make([]checkRow, 0, len(cs))
	for _, cc := range cs {
		out = append(out, checkRow{ID: cc.Check, Title: s.checkTitle(l, cc.Check), Active: cc.Active, Overdue: cc.Overdue})
	}
	return out
}

// checkTitle is a finding kind's title in the current language, or its ID
// when the catalog does not know it.
func (s *Server) checkTitle(l *Lang, id string) string {
	if t := s.Catalog.Title(id, l.Code); t != "" {
		return t
	}
	return id
}
