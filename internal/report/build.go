package report

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/assess"
	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/finding/catalog"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// Source is what Build reads. A source that also implements
// store.Assessments contributes campaign syntheses (with WithFrameworks).
type Source interface {
	store.Orgs
	store.Assets
	store.Findings
}

// MTTRWindow is how far back fixed findings count for the mean time to
// remediate.
const MTTRWindow = 90 * 24 * time.Hour

// Limits of what a report lists.
const (
	TopProblems    = 10
	WorstOrgs      = 25
	MaxFindingRows = 250_000 // rows of the findings table (XLSX); the rest is counted
	MaxCampaigns   = 3
)

// Scorecard is one organization's standing, over its subtree.
type Scorecard struct {
	Org   org.Organization `json:"org"`
	Depth int              `json:"depth"` // below the report's root
	Result
	Assets     int     `json:"assets"`
	Units      int     `json:"units"`
	Active     int     `json:"active"`
	BySeverity [5]int  `json:"by_severity"` // critical, high, medium, low, info
	KEV        int     `json:"kev"`
	Overdue    int     `json:"overdue"`
	Debt       float64 `json:"debt"`
	// MTTRDays is the mean days from first seen to fixed of the findings
	// fixed in the last 90 days (Fixed of them); 0 when none.
	MTTRDays float64 `json:"mttr_days"`
	Fixed    int     `json:"fixed"`
	// Peers are the organizations with the same parent (the ministry,
	// sector or province), when the reader sees that parent (PeerCount 0
	// otherwise, and for roots); Rank 1 is the best score;
	// Percentile is the share of the other peers scoring lower (ties
	// count half), 100 for a group of one.
	PeerCount  int     `json:"peer_count"`
	Rank       int     `json:"rank"`
	Percentile float64 `json:"percentile"`
}

// SeverityRow is one line of the findings-by-severity table.
type SeverityRow struct {
	Severity finding.Severity `json:"severity"`
	Active   int              `json:"active"`
	Overdue  int              `json:"overdue"`
	KEV      int              `json:"kev"`
}

// Problem is one check across the report's scope.
type Problem struct {
	Check    string           `json:"check"`
	Title    catalog.Text     `json:"title"`
	Severity finding.Severity `json:"severity"` // the worst seen
	Findings int              `json:"findings"`
	Orgs     int              `json:"orgs"`
	KEV      int              `json:"kev"`
	Overdue  int              `json:"overdue"`
	Penalty  float64          `json:"penalty"` // what the problem costs in score terms (ordering)
}

// FindingRow is one active finding in the tables.
type FindingRow struct {
	ID          int64            `json:"id"`
	OrgCode     string           `json:"org_code"`
	Check       string           `json:"check"`
	Severity    finding.Severity `json:"severity"`
	KEV         bool             `json:"kev"`
	EPSS        float64          `json:"epss,omitempty"`
	State       finding.State    `json:"state"`
	Target      string           `json:"target"`
	Title       string           `json:"title"`
	FirstSeen   time.Time        `json:"first_seen"`
	DueAt       *time.Time       `json:"due_at,omitempty"`
	DaysOverdue int              `json:"days_overdue"`
}

// Report is everything a report shows, built once and rendered in any
// format.
type Report struct {
	GeneratedAt time.Time     `json:"generated_at"`
	Level       string        `json:"level"` // national, ministry, sector, province, organization
	Root        Scorecard     `json:"root"`
	Severity    []SeverityRow `json:"severity"`
	Top         []Problem     `json:"top"`
	// Orgs is every organization of the root's subtree, root first,
	// depth-first by path.
	Orgs []Scorecard `json:"orgs"`
	// Children are the root's direct children; Worst the lowest scores
	// among the organizations below the root that own assets.
	Children     []Scorecard         `json:"children"`
	Worst        []Scorecard         `json:"worst"`
	Findings     []FindingRow        `json:"findings"`
	MoreFindings int                 `json:"more_findings"` // active findings beyond MaxFindingRows
	Assessments  []*assess.Synthesis `json:"assessments,omitempty"`
}

// Option changes what Build includes.
type Option func(*options)

type options struct {
	kinds      *catalog.Catalog
	frameworks *assess.Catalog
	likelihood bool
}

// WithLikelihoodOrder orders the findings table by exploit likelihood
// (finding.Likelihood: KEV-listed first, then EPSS, then severity)
// instead of severity first.
func WithLikelihoodOrder() Option { return func(o *options) { o.likelihood = true } }

// WithCatalog gives problems their bilingual titles from the finding
// catalog.
func WithCatalog(c *catalog.Catalog) Option { return func(o *options) { o.kinds = c } }

// WithFrameworks includes the syntheses of the latest campaigns with
// targets in the report's scope (when the source keeps assessments).
func WithFrameworks(c *assess.Catalog) Option { return func(o *options) { o.frameworks = c } }

// sevIndex maps a severity to its BySeverity slot.
func sevIndex(s finding.Severity) int { return 4 - s.Rank() }

// Build reads the report of rootOrgID's subtree as p sees it at now.
// rootOrgID 0 means p's organization, or for a platform-wide principal
// without one, the whole constituency.
func Build(ctx context.Context, st Source, p auth.Principal, rootOrgID int64, now time.Time, opts ...Option) (*Report, error) {
	var o options
	for _, fn := range opts {
		fn(&o)
	}
	now = now.UTC()
	if rootOrgID == 0 {
		rootOrgID = p.OrgID
	}
	// Everything the reader sees: peers of the root lie outside its subtree.
	all, err := listOrgs(ctx, st, p)
	if err != nil {
		return nil, fmt.Errorf("report: organizations: %w", err)
	}
	var root org.Organization
	if rootOrgID != 0 {
		if root, err = st.GetOrg(ctx, p, rootOrgID); err != nil {
			return nil, fmt.Errorf("report: root: %w", err)
		}
	} else {
		var roots []org.Organization
		for _, x := range all {
			if x.ParentID == 0 {
				roots = append(roots, x)
			}
		}
		if len(roots) == 1 {
			root = roots[0]
		} else {
			root = org.Organization{Code: "*", Name: "Toàn bộ hệ thống", NameEN: "Whole constituency", Kind: org.KindNational}
		}
	}
	inRoot := func(path string) bool { return root.Path == "" || strings.HasPrefix(path, root.Path) }

	cards := make(map[int64]*Scorecard, len(all))
	byPath := make(map[string]*Scorecard, len(all))
	for _, x := range all {
		c := &Scorecard{Org: x}
		cards[x.ID] = c
		byPath[x.Path] = c
	}
	ancestors := func(path string, fn func(*Scorecard)) {
		for _, id := range pathIDs(path) {
			if c := cards[id]; c != nil {
				fn(c)
			}
		}
	}

	// Assets and units, rolled up.
	owned := map[int64]int{}
	var rootAssets []int64
	if err := st.EachAsset(ctx, p, func(a asset.Asset) error {
		owned[a.OrgID]++
		if a.OrgID == rootOrgID && rootOrgID != 0 {
			rootAssets = append(rootAssets, a.ID)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("report: assets: %w", err)
	}
	for id, n := range owned {
		c := cards[id]
		if c == nil {
			continue
		}
		ancestors(c.Org.Path, func(a *Scorecard) { a.Assets += n; a.Units++ })
	}

	// Debt: already rolled up by the store.
	debts, err := st.Debt(ctx, p, now)
	if err != nil {
		return nil, fmt.Errorf("report: debt: %w", err)
	}
	for _, d := range debts {
		c := cards[d.OrgID]
		if c == nil {
			continue
		}
		c.Active, c.Overdue, c.KEV, c.Debt = d.Active, d.Overdue, d.KEV, d.Weighted
		for sev, n := range d.BySeverity {
			if sev.Valid() {
				c.BySeverity[sevIndex(sev)] = n
			}
		}
	}
	for _, c := range cards {
		c.Result = Score(exposure(c))
	}
	peers(cards)

	r := &Report{GeneratedAt: now, Level: levelOf(root)}
	// The root's own card: a real organization, or the virtual whole.
	if c := cards[root.ID]; c != nil {
		r.Root = *c
	} else {
		r.Root = Scorecard{Org: root}
		for _, c := range cards {
			if c.Org.ParentID == 0 {
				r.Root.Assets += c.Assets
				r.Root.Units += c.Units
				r.Root.Active += c.Active
				r.Root.Overdue += c.Overdue
				r.Root.KEV += c.KEV
				r.Root.Debt += c.Debt
				for i := range c.BySeverity {
					r.Root.BySeverity[i] += c.BySeverity[i]
				}
			}
		}
		r.Root.Result = Score(exposure(&r.Root))
	}

	// Findings of the subtree: problems, rows, overdue by severity, MTTR.
	if err := r.scanFindings(ctx, st, p, root, rootAssets, cards, now, o); err != nil {
		return nil, err
	}

	rootDepth := strings.Count(root.Path, "/") - 1
	for _, x := range all {
		if !inRoot(x.Path) {
			continue
		}
		c := cards[x.ID]
		c.Depth = strings.Count(x.Path, "/") - 1 // "/1/" is 1
		if root.Path != "" {
			c.Depth -= rootDepth
		}
		if x.ID == root.ID {
			r.Root = *c
			continue
		}
		r.Orgs = append(r.Orgs, *c)
	}
	sort.Slice(r.Orgs, func(i, j int) bool { return pathLess(r.Orgs[i].Org.Path, r.Orgs[j].Org.Path) })
	r.Orgs = append([]Scorecard{r.Root}, r.Orgs...)
	for _, c := range r.Orgs[1:] {
		if c.Depth == 1 {
			r.Children = append(r.Children, c)
		}
		if c.Assets > 0 {
			r.Worst = append(r.Worst, c)
		}
	}
	sort.SliceStable(r.Worst, func(i, j int) bool {
		if r.Worst[i].Score != r.Worst[j].Score {
			return r.Worst[i].Score < r.Worst[j].Score
		}
		return r.Worst[i].Penalty > r.Worst[j].Penalty
	})
	if len(r.Worst) > WorstOrgs {
		r.Worst = r.Worst[:WorstOrgs]
	}

	if as, ok := st.(store.Assessments); ok && o.frameworks != nil {
		if err := r.addAssessments(ctx, as, p, root, all, o.frameworks); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func exposure(c *Scorecard) Exposure {
	bs := make(map[finding.Severity]int, 5)
	for _, sev := range finding.Severities {
		bs[sev] = c.BySeverity[sevIndex(sev)]
	}
	return Exposure{BySeverity: bs, KEV: c.KEV, Debt: c.Debt, Units: c.Units}
}

// peers ranks each organization among those with the same parent.
func peers(cards map[int64]*Scorecard) {
	groups := map[int64][]*Scorecard{}
	for _, c := range cards {
		groups[c.Org.ParentID] = append(groups[c.Org.ParentID], c)
	}
	for parent, g := range groups {
		if cards[parent] == nil {
			continue // a root, or a parent the reader does not see: no peers to show
		}
		n := len(g)
		for _, c := range g {
			better, lower, ties := 0, 0, 0
			for _, o := range g {
				switch {
				case o == c:
				case o.Score > c.Score:
					better++
				case o.Score < c.Score:
					lower++
				default:
					ties++
				}
			}
			c.PeerCount, c.Rank = n, better+1
			c.Percentile = 100
			if n > 1 {
				c.Percentile = math.Round(1000*(float64(lower)+0.5*float64(ties))/float64(n-1)) / 10
			}
		}
	}
}

func (r *Report) scanFindings(ctx context.Context, st Source, p auth.Principal, root org.Organization, rootAssets []int64, cards map[int64]*Scorecard, now time.Time, o options) error {
	sev := map[finding.Severity]*SeverityRow{}
	for _, s := range finding.Severities {
		row := &SeverityRow{Severity: s}
		sev[s] = row
	}
	type agg struct {
		Problem
		orgs map[int64]bool
	}
	probs := map[string]*agg{}
	code := func(id int64) string {
		if c := cards[id]; c != nil {
			return c.Org.Code
		}
		return "#" + strconv.FormatInt(id, 10)
	}
	// One pass over every finding of the subtree: a state filter would make
	// the store sort each page of its keyset (the state index is not in
	// id order), which is quadratic over 200,000 findings.
	from := now.Add(-MTTRWindow)
	sums := map[int64]float64{}
	err := subtreeFindings(ctx, st, p, root, rootAssets, cards, func(f store.Finding) error {
		if f.State == finding.StateFixed {
			r.addFixed(f, root, cards, sums, from, now)
			return nil
		}
		if !f.State.Active() {
			return nil
		}
		row := sev[f.Severity]
		if row == nil {
			return nil
		}
		row.Active++
		overdue := f.Overdue(now)
		days := 0
		if overdue {
			row.Overdue++
			days = int(now.Sub(*f.DueAt).Hours() / 24)
		}
		if f.KEV {
			row.KEV++
		}
		a := probs[f.Check]
		if a == nil {
			a = &agg{Problem: Problem{Check: f.Check, Severity: f.Severity, Title: catalog.Text{EN: f.Title, VI: f.Title}}, orgs: map[int64]bool{}}
			if k, ok := o.kinds.Describe(f.Check, f.Title); ok {
				a.Title = k.Title
			}
			probs[f.Check] = a
		}
		a.Findings++
		a.orgs[f.OrgID] = true
		if f.Severity.Rank() > a.Severity.Rank() {
			a.Severity = f.Severity
		}
		a.Penalty += SeverityWeight(f.Severity)
		if f.KEV {
			a.KEV++
			a.Penalty += KEVSurcharge
		}
		if overdue {
			a.Overdue++
			a.Penalty += finding.DebtWeight(f.Severity, f.KEV, now.Sub(*f.DueAt).Hours()/24)
		}
		if len(r.Findings) < MaxFindingRows {
			r.Findings = append(r.Findings, FindingRow{ID: f.ID, OrgCode: code(f.OrgID), Check: f.Check, Severity: f.Severity, KEV: f.KEV, EPSS: f.EPSS,
				State: f.State, Target: f.Target, Title: f.Title, FirstSeen: f.FirstSeen, DueAt: f.DueAt, DaysOverdue: days})
		} else {
			r.MoreFindings++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("report: findings: %w", err)
	}
	for _, s := range finding.Severities {
		r.Severity = append(r.Severity, *sev[s])
	}
	for _, a := range probs {
		a.Orgs = len(a.orgs)
		r.Top = append(r.Top, a.Problem)
	}
	sort.Slice(r.Top, func(i, j int) bool {
		if r.Top[i].Penalty != r.Top[j].Penalty {
			return r.Top[i].Penalty > r.Top[j].Penalty
		}
		return r.Top[i].Check < r.Top[j].Check
	})
	if len(r.Top) > TopProblems {
		r.Top = r.Top[:TopProblems]
	}
	// Worst first in the findings table: severity, then days overdue; or
	// the most likely to be exploited first.
	sort.SliceStable(r.Findings, func(i, j int) bool {
		a, b := r.Findings[i], r.Findings[j]
		if o.likelihood {
			x := finding.Finding{KEV: a.KEV, EPSS: a.EPSS, Severity: a.Severity}
			y := finding.Finding{KEV: b.KEV, EPSS: b.EPSS, Severity: b.Severity}
			if c := finding.Likelihood(&x, &y); c != 0 {
				return c < 0
			}
			return a.DaysOverdue > b.DaysOverdue
		}
		if a.Severity != b.Severity {
			return a.Severity.Rank() > b.Severity.Rank()
		}
		if a.KEV != b.KEV {
			return a.KEV
		}
		return a.DaysOverdue > b.DaysOverdue
	})

	for id, s := range sums {
		if c := cards[id]; c != nil && c.Fixed > 0 {
			c.MTTRDays = math.Round(10*s/float64(c.Fixed)) / 10
		}
	}
	if root.ID == 0 && r.Root.Fixed > 0 {
		r.Root.MTTRDays = math.Round(10*sums[0]/float64(r.Root.Fixed)) / 10
	}
	return nil
}

// subtreeFindings calls fn for every finding of root's subtree. A listing
// of a large subtree pages slowly (the store probes every organization of
// the subtree for each page), so it lists each child's subtree apart, and
// the root's own findings by its assets; when those do not add up to the
// root's own active findings (a finding of a deleted asset), it lists the
// root's subtree once more for the rest of its own.
func subtreeFindings(ctx context.Context, st Source, p auth.Principal, root org.Organization, rootAssets []int64, cards map[int64]*Scorecard, fn func(store.Finding) error) error {
	var children []*Scorecard
	for _, c := range cards {
		if c.Org.ParentID == root.ID && (root.ID == 0 || strings.HasPrefix(c.Org.Path, root.Path)) {
			children = append(children, c)
		}
	}
	if len(children) == 0 {
		return eachFinding(ctx, st, p, store.FindingFilter{OrgID: root.ID}, fn)
	}
	sort.Slice(children, func(i, j int) bool { return children[i].Org.ID < children[j].Org.ID })
	expect := 0
	if rc := cards[root.ID]; rc != nil {
		expect = rc.Active
	}
	for _, c := range children {
		expect -= c.Active
		if err := eachFinding(ctx, st, p, store.FindingFilter{OrgID: c.Org.ID}, fn); err != nil {
			return err
		}
	}
	if root.ID == 0 {
		return nil // the virtual whole owns nothing
	}
	seen := map[int64]bool{}
	active := 0
	for _, a := range rootAssets {
		err := eachFinding(ctx, st, p, store.FindingFilter{OrgID: root.ID, AssetID: a}, func(f store.Finding) error {
			if f.OrgID != root.ID {
				return nil // a child's, listed already
			}
			seen[f.ID] = true
			if f.State.Active() {
				active++
			}
			return fn(f)
		})
		if err != nil {
			return err
		}
	}
	if active == expect {
		return nil
	}
	return eachFinding(ctx, st, p, store.FindingFilter{OrgID: root.ID}, func(f store.Finding) error {
		if f.OrgID != root.ID || seen[f.ID] {
			return nil
		}
		return fn(f)
	})
}

// addFixed counts a fixed finding towards the mean time to remediate of
// its organization and every ancestor, when it was fixed in the window.
func (r *Report) addFixed(f store.Finding, root org.Organization, cards map[int64]*Scorecard, sums map[int64]float64, from, now time.Time) {
	if f.FixedAt == nil || f.FixedAt.Before(from) || f.FixedAt.After(now) {
		return
	}
	c := cards[f.OrgID]
	if c == nil {
		return
	}
	d := f.FixedAt.Sub(f.FirstSeen).Hours() / 24
	for _, id := range pathIDs(c.Org.Path) {
		if a := cards[id]; a != nil {
			a.Fixed++
			sums[id] += d
		}
	}
	if root.ID == 0 {
		r.Root.Fixed++
		sums[0] += d
	}
}

func (r *Report) addAssessments(ctx context.Context, st store.Assessments, p auth.Principal, root org.Organization, all []org.Organization, cat *assess.Catalog) error {
	page, err := st.ListCampaigns(ctx, p, store.CampaignFilter{PageRequest: store.PageRequest{Limit: 50}})
	if err != nil {
		return fmt.Errorf("report: campaigns: %w", err)
	}
	inRoot := map[int64]org.Organization{}
	for _, x := range all {
		if root.Path == "" || strings.HasPrefix(x.Path, root.Path) {
			inRoot[x.ID] = x
		}
	}
	for _, c := range page.Items {
		if len(r.Assessments) == MaxCampaigns {
			break
		}
		f, ok := cat.Get(c.Framework)
		if !ok {
			continue
		}
		status, err := st.CampaignStatus(ctx, p, c.ID)
		if err != nil {
			return fmt.Errorf("report: campaign %d: %w", c.ID, err)
		}
		var mine []store.TargetStatus
		for _, s := range status {
			if _, ok := inRoot[s.OrgID]; ok {
				mine = append(mine, s)
			}
		}
		if len(mine) == 0 {
			continue
		}
		qs, err := st.CampaignAssessments(ctx, p, c.ID)
		if err != nil {
			return fmt.Errorf("report: campaign %d: %w", c.ID, err)
		}
		r.Assessments = append(r.Assessments, assess.Synthesize(c, f, mine, qs, inRoot))
	}
	return nil
}

func levelOf(o org.Organization) string {
	switch o.Kind {
	case org.KindNational, org.KindMinistry, org.KindSector, org.KindProvince:
		return string(o.Kind)
	}
	return "organization"
}

func listOrgs(ctx context.Context, st store.Orgs, p auth.Principal) ([]org.Organization, error) {
	var out []org.Organization
	f := store.OrgFilter{PageRequest: store.PageRequest{Limit: store.MaxLimit}}
	for {
		page, err := st.ListOrgs(ctx, p, f)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if page.Next == "" {
			return out, nil
		}
		f.After = page.Next
	}
}

func eachFinding(ctx context.Context, st store.Findings, p auth.Principal, f store.FindingFilter, fn func(store.Finding) error) error {
	f.Limit = store.MaxLimit
	for {
		page, err := st.ListFindings(ctx, p, f)
		if err != nil {
			return err
		}
		for _, x := range page.Items {
			if err := fn(x); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		f.After = page.Next
	}
}

func pathIDs(path string) []int64 {
	var out []int64
	for _, part := range strings.Split(strings.Trim(path, "/"), "/") {
		if id, err := strconv.ParseInt(part, 10, 64); err == nil {
			out = append(out, id)
		}
	}
	return out
}

func pathLess(a, b string) bool {
	x, y := pathIDs(a), pathIDs(b)
	for i := 0; i < len(x) && i < len(y); i++ {
		if x[i] != y[i] {
			return x[i] < y[i]
		}
	}
	return len(x) < len(y)
}
