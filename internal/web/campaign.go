package web

import (
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/rampart-cert/rampart/internal/assess"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

// targetRow is one target of a campaign on its page.
type targetRow struct {
	assess.OrgResult
	Name        string
	Answered    int
	SubmittedAt any
	Overdue     bool // not submitted and the deadline has passed
	Pct         string
}

type rollupRow struct {
	assess.Rollup
	Name   string
	Pct    string
	Indent string
}

type campaignData struct {
	C              store.Campaign
	FrameworkTitle string
	Syn            *assess.Synthesis
	Pct            string
	Controls       int // controls of the framework
	Rows           []targetRow
	Rollup         []rollupRow
	Chart          template.HTML
	Reminders      []store.Reminder
	Pending        int
	CanRemind      bool
	CanStart       bool
	Overdue        bool
}

// pct formats a compliance percentage with one decimal.
func (l *Lang) Pct(v float64) string {
	s := strconv.FormatFloat(math.Round(v*10)/10, 'f', 1, 64)
	if l.Code == "vi" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s + " %"
}

// campaignPage shows who has submitted, who is late, the reminders and the
// synthesis.
func (s *Server) campaignPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := s.assessOn(); err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	p, ctx, l := c.p(), r.Context(), c.lang
	cp, err := s.st.GetCampaign(ctx, p, id)
	if err != nil {
		return err
	}
	syn, err := s.Assess.Synthesis(ctx, p, id)
	if err != nil {
		return err
	}
	status, err := s.st.CampaignStatus(ctx, p, id)
	if err != nil {
		return err
	}
	byOrg := map[int64]store.TargetStatus{}
	for _, t := range status {
		byOrg[t.OrgID] = t
	}
	d := campaignData{C: cp, FrameworkTitle: s.frameworkTitle(l, cp.Framework), Syn: syn, Pct: l.Pct(syn.Compliance),
		Overdue: c.now.After(cp.Deadline), CanRemind: p.Can(auth.PermWriteOrgs), CanStart: p.Can(auth.PermWriteAssets)}
	if syn.Framework != nil {
		d.Controls = len(syn.Framework.Controls)
	}
	for _, o := range syn.Orgs {
		t := byOrg[o.Org.ID]
		row := targetRow{OrgResult: o, Name: l.OrgName(o.Org), Answered: t.Answered, SubmittedAt: t.SubmittedAt, Pct: l.Pct(o.Compliance)}
		if o.State != store.AssessmentSubmitted {
			d.Pending++
			row.Overdue = d.Overdue
		}
		d.Rows = append(d.Rows, row)
	}
	for _, ro := range syn.Rollup {
		d.Rollup = append(d.Rollup, rollupRow{Rollup: ro, Name: l.OrgName(ro.Org), Pct: l.Pct(ro.Compliance), Indent: strings.Repeat("· ", ro.Depth)})
	}
	d.Chart = complianceChart(l, "ctl", syn.Controls)
	if d.Reminders, err = s.st.ListReminders(ctx, p, id); err != nil {
		return err
	}
	v := s.newView(r, c, "campaign.title", "campaigns", d)
	v.TitleArg = cp.Title
	return s.render(w, http.StatusOK, "campaign", v)
}

// campaignRemind reminds the targets that have not submitted.
func (s *Server) campaignRemind(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := s.assessOn(); err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	back := "/campaigns/" + strconv.FormatInt(id, 10)
	_, err = s.Assess.Remind(r.Context(), c.p(), id)
	switch {
	case errors.Is(err, assess.ErrNothingPending):
		return redirect(w, r, back, "flash.nothingpending")
	case err != nil:
		return err
	}
	return redirect(w, r, back, "flash.reminded")
}

// campaignStart starts (or finds) the questionnaire of one target.
func (s *Server) campaignStart(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := s.assessOn(); err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	orgID, err := strconv.ParseInt(r.PostFormValue("org_id"), 10, 64)
	if err != nil || orgID <= 0 {
		return errNotFound
	}
	p, ctx := c.p(), r.Context()
	cp, err := s.st.GetCampaign(ctx, p, id)
	if err != nil {
		return err
	}
	a, err := s.Assess.Start(ctx, p, orgID, cp.Framework, cp.ID, 0)
	if err != nil {
		return err
	}
	return redirect(w, r, "/assessments/"+strconv.FormatInt(a.ID, 10), "")
}

// complianceChart draws one horizontal bar per control: its compliance
// over the submitted questionnaires (0-100 %), coloured by band; controls
// nobody rated show an empty bar and a dash.
func complianceChart(l *Lang, id string, rows []assess.ControlResult) template.HTML {
	const w, row, labelW = 640, 24, 300
	h := row*len(rows) + 8
	if len(rows) == 0 {
		h = row
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="chart bars" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t"><title id="%s-t">%s</title>`, w, h, id, id, esc(l.T("campaign.chart")))
	if len(rows) == 0 {
		fmt.Fprintf(&sb, `<text x="0" y="18" class="lbl">%s</text>`, esc(l.T("chart.empty")))
	}
	for i, cr := range rows {
		y := i*row + 4
		val, class := "—", "axis"
		bw := 0.0
		if cr.Rated {
			val = l.Pct(cr.Compliance)
			bw = float64(w-labelW-70) * cr.Compliance / 100
			switch {
			case cr.Compliance >= 80:
				class = "ok"
			case cr.Compliance >= 50:
				class = "mid"
			default:
				class = "bad"
			}
		}
		name := cr.Control.ID + " " + l.Text(cr.Control.Title)
		short := name
		if rs := []rune(short); len(rs) > 44 {
			short = string(rs[:43]) + "…"
		}
		fmt.Fprintf(&sb, `<g class="%s"><title>%s: %s</title><text x="0" y="%d" class="lbl">%s</text>`, class, esc(name), esc(val), y+15, esc(short))
		fmt.Fprintf(&sb, `<rect x="%d" y="%d" width="%.1f" height="%d" rx="2"/>`, labelW, y+2, math.Max(bw, 1), row-8)
		fmt.Fprintf(&sb, `<text x="%.1f" y="%d" class="val">%s</text></g>`, float64(labelW)+math.Max(bw, 1)+6, y+15, esc(val))
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String())
}
