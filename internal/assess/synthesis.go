package assess

import (
	"context"
	"sort"
	"strconv"
	"strings"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// Compliance of one questionnaire, in percent:
//
//	100 × (implemented + ½·partial) / (applicable − not-applicable)
//
// where applicable are the framework's controls at the questionnaire's
// level; an unanswered applicable control counts as not implemented. When
// every applicable control is not applicable the questionnaire is not
// rated. Only submitted questionnaires enter a synthesis: a draft may
// still change.

// Tally counts answers.
type Tally struct {
	Implemented    int `json:"implemented"`
	Partial        int `json:"partial"`
	NotImplemented int `json:"not_implemented"`
	NotApplicable  int `json:"not_applicable"`
	Unanswered     int `json:"unanswered"`
}

func (t *Tally) add(a store.Answer) {
	switch a {
	case store.AnswerImplemented:
		t.Implemented++
	case store.AnswerPartial:
		t.Partial++
	case store.AnswerNotImplemented:
		t.NotImplemented++
	case store.AnswerNotApplicable:
		t.NotApplicable++
	default:
		t.Unanswered++
	}
}

// Rate returns the compliance in percent and whether there is anything to
// rate.
func (t Tally) Rate() (float64, bool) {
	den := t.Implemented + t.Partial + t.NotImplemented + t.Unanswered
	if den == 0 {
		return 0, false
	}
	return 100 * (float64(t.Implemented) + 0.5*float64(t.Partial)) / float64(den), true
}

// ControlResult is one control across the submitted questionnaires.
type ControlResult struct {
	Control    Control `json:"control"`
	Tally      Tally   `json:"tally"`
	Compliance float64 `json:"compliance"` // percent; meaningful when Rated
	Rated      bool    `json:"rated"`
}

// OrgResult is one target.
type OrgResult struct {
	Org          org.Organization      `json:"org"`
	State        store.AssessmentState `json:"state,omitempty"` // "" when not started
	AssessmentID int64                 `json:"assessment_id,omitempty"`
	Level        int                   `json:"level,omitempty"`
	Late         bool                  `json:"late,omitempty"` // submitted after the deadline
	Tally        Tally                 `json:"tally"`
	Compliance   float64               `json:"compliance"`
	Rated        bool                  `json:"rated"`
}

// Rollup is one organization of the hierarchy over the targets in its
// subtree (itself included).
type Rollup struct {
	Org        org.Organization `json:"org"`
	Depth      int              `json:"depth"` // 0 for the topmost rows
	Targets    int              `json:"targets"`
	Submitted  int              `json:"submitted"`
	Compliance float64          `json:"compliance"` // mean of the rated submitted targets
	Rated      int              `json:"rated"`
}

// Synthesis is the campaign's result as the caller sees it.
type Synthesis struct {
	Campaign   store.Campaign  `json:"campaign"`
	Framework  *Framework      `json:"-"`
	Targets    int             `json:"targets"`
	Started    int             `json:"started"`
	Submitted  int             `json:"submitted"`
	Late       int             `json:"late"`
	Compliance float64         `json:"compliance"` // mean over rated submitted targets
	Rated      int             `json:"rated"`
	Controls   []ControlResult `json:"controls"`
	Orgs       []OrgResult     `json:"orgs"`   // by organization ID
	Rollup     []Rollup        `json:"rollup"` // depth-first by path
}

// Synthesis computes a campaign's synthesis over the targets in the
// caller's subtree.
func (s *Service) Synthesis(ctx context.Context, p auth.Principal, campaignID int64) (*Synthesis, error) {
	c, err := s.Store.GetCampaign(ctx, p, campaignID)
	if err != nil {
		return nil, err
	}
	f, err := s.framework(c.Framework)
	if err != nil {
		return nil, err
	}
	status, err := s.Store.CampaignStatus(ctx, p, campaignID)
	if err != nil {
		return nil, err
	}
	qs, err := s.Store.CampaignAssessments(ctx, p, campaignID)
	if err != nil {
		return nil, err
	}
	orgs, err := visibleOrgs(ctx, s.Store, p)
	if err != nil {
		return nil, err
	}
	return Synthesize(c, f, status, qs, orgs), nil
}

// visibleOrgs returns every organization p sees, by ID.
func visibleOrgs(ctx context.Context, st store.Orgs, p auth.Principal) (map[int64]org.Organization, error) {
	out := map[int64]org.Organization{}
	f := store.OrgFilter{PageRequest: store.PageRequest{Limit: store.MaxLimit}}
	for {
		page, err := st.ListOrgs(ctx, p, f)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Items {
			out[o.ID] = o
		}
		if page.Next == "" {
			return out, nil
		}
		f.After = page.Next
	}
}

// Synthesize computes the synthesis from what the store returned: the
// targets' status, their questionnaires and the organizations in view
// (for names and the hierarchy). It is pure, for tests and reports.
func Synthesize(c store.Campaign, f *Framework, status []store.TargetStatus, qs []store.Assessment, orgs map[int64]org.Organization) *Synthesis {
	syn := &Synthesis{Campaign: c, Framework: f, Targets: len(status)}
	byOrg := map[int64]*store.Assessment{}
	for i := range qs {
		byOrg[qs[i].OrgID] = &qs[i]
	}
	ctl := make([]ControlResult, len(f.Controls))
	for i, fc := range f.Controls {
		ctl[i].Control = fc
	}
	var sum float64
	for _, ts := range status {
		r := OrgResult{Org: orgs[ts.OrgID], State: ts.State, AssessmentID: ts.AssessmentID}
		if r.Org.ID == 0 {
			r.Org = org.Organization{ID: ts.OrgID, Code: "#" + strconv.FormatInt(ts.OrgID, 10)}
		}
		if ts.State != "" {
			syn.Started++
		}
		q := byOrg[ts.OrgID]
		if ts.Submitted() && q != nil {
			syn.Submitted++
			r.Level = q.Level
			if q.SubmittedAt != nil && q.SubmittedAt.After(c.Deadline) {
				r.Late = true
				syn.Late++
			}
			answers := make(map[string]store.Answer, len(q.Answers))
			for _, a := range q.Answers {
				answers[a.ControlID] = a.Answer
			}
			for i := range ctl {
				if !ctl[i].Control.AppliesAt(q.Level) {
					continue
				}
				a := answers[ctl[i].Control.ID]
				ctl[i].Tally.add(a)
				r.Tally.add(a)
			}
			if r.Compliance, r.Rated = r.Tally.Rate(); r.Rated {
				sum += r.Compliance
				syn.Rated++
			}
		}
		syn.Orgs = append(syn.Orgs, r)
	}
	if syn.Rated > 0 {
		syn.Compliance = sum / float64(syn.Rated)
	}
	for i := range ctl {
		ctl[i].Compliance, ctl[i].Rated = ctl[i].Tally.Rate()
	}
	syn.Controls = ctl
	syn.Rollup = rollup(syn.Orgs, orgs)
	return syn
}

// rollup adds each target to itself and every ancestor in view, and lists
// the organizations touched depth-first by path.
func rollup(results []OrgResult, orgs map[int64]org.Organization) []Rollup {
	rows := map[int64]*Rollup{}
	sums := map[int64]float64{}
	for _, r := range results {
		ids := pathIDs(r.Org.Path)
		if len(ids) == 0 {
			ids = []int64{r.Org.ID}
		}
		for _, id := range ids {
			o, ok := orgs[id]
			if !ok {
				continue // above the caller's view
			}
			row := rows[id]
			if row == nil {
				row = &Rollup{Org: o}
				rows[id] = row
			}
			row.Targets++
			if r.State == store.AssessmentSubmitted {
				row.Submitted++
			}
			if r.Rated {
				row.Rated++
				sums[id] += r.Compliance
			}
		}
	}
	out := make([]Rollup, 0, len(rows))
	minDepth := -1
	for id, row := range rows {
		if row.Rated > 0 {
			row.Compliance = sums[id] / float64(row.Rated)
		}
		row.Depth = strings.Count(row.Org.Path, "/") - 2
		if minDepth < 0 || row.Depth < minDepth {
			minDepth = row.Depth
		}
		out = append(out, *row)
	}
	for i := range out {
		out[i].Depth -= minDepth
	}
	sort.Slice(out, func(i, j int) bool { return pathLess(out[i].Org.Path, out[j].Org.Path) })
	return out
}

// pathIDs returns the IDs of a materialized path "/1/7/42/".
func pathIDs(path string) []int64 {
	var out []int64
	for _, part := range strings.Split(strings.Trim(path, "/"), "/") {
		if id, err := strconv.ParseInt(part, 10, 64); err == nil {
			out = append(out, id)
		}
	}
	return out
}

// pathLess orders paths depth-first with numeric IDs ("/1/2/" < "/1/10/").
func pathLess(a, b string) bool {
	x, y := pathIDs(a), pathIDs(b)
	for i := 0; i < len(x) && i < len(y); i++ {
		if x[i] != y[i] {
			return x[i] < y[i]
		}
	}
	return len(x) < len(y)
}
