package web

import (
	"html/template"
	"net/http"
	"sort"
	"strconv"

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

type checkRow struct {
	ID      string
	Title   string
	Active  int
	Overdue int
}

type dashData struct {
	Ov         store.Overview
	Card       Scorecard
	Posture    []orgRow
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
	// so the headline score is the score of everything in view.
	in := map[int64]bool{}
	for _, o := range ov.Orgs {
		in[o.OrgID] = true
	}
	for _, o := range ov.Orgs {
		if !in[o.ParentID] {
			r.Assets += o.Assets
			r.Units += o.Units
		}
	}
	return r
}

// postureOf scores every organization and keeps the n worst (lowest
// score, then most weighted debt, then name).
func postureOf(l *Lang, orgs []store.OrgRollup, n int) []orgRow {
	// Rank indexes, not rows: a row is large, and a national view ranks
	// a thousand organizations on every request.
	cards := make([]Scorecard, len(orgs))
	idx := make([]int, len(orgs))
	for i, o := range orgs {
		cards[i], idx[i] = Score(o), i
	}
	sort.SliceStable(idx, func(x, y int) bool {
		i, j := idx[x], idx[y]
		if cards[i].Score != cards[j].Score {
			return cards[i].Score < cards[j].Score
		}
		if orgs[i].Weighted != orgs[j].Weighted {
			return orgs[i].Weighted > orgs[j].Weighted
		}
		return orgs[i].Code < orgs[j].Code
	})
	if len(idx) > n {
		idx = idx[:n]
	}
	rows := make([]orgRow, 0, len(idx))
	for _, i := range idx {
		o := orgs[i]
		rows = append(rows, orgRow{OrgRollup: o, Card: cards[i], Name: l.Name(o.Name, o.NameEN)})
	}
	return rows
}

// debtBars ranks the organizations of one kind by overdue findings.
func debtBars(l *Lang, id, title string, orgs []store.OrgRollup, kind org.Kind) template.HTML {
	var sel []store.OrgRollup
	for _, o := range orgs {
		if o.Kind == kind {
			sel = append(sel, o)
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
