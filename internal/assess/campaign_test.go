package assess

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/check/all"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

// recorder is a Reminders that remembers what it was asked to send.
type recorder struct {
	calls [][]int64
	fail  error
}

func (r *recorder) Remind(_ context.Context, ids []int64, c store.Campaign) error {
	r.calls = append(r.calls, ids)
	return r.fail
}

const e2eFramework = `id: e2e
title: {vi: Bộ tiêu chí thử, en: Test framework}
controls:
  - id: C1
    title: {vi: Nhân sự chuyên trách, en: Security staff}
    levels: [1, 2, 3]
  - id: C2
    title: {vi: Sao lưu, en: Backups}
    levels: [1, 2, 3]
  - id: C3
    title: {vi: Diễn tập, en: Drills}
    levels: [2, 3]
  - id: C4
    title: {vi: Chứng thư số còn hạn, en: Certificates are current}
    levels: [1, 2, 3]
    checks: [tls.cert-expired]
`

// TestCampaignEndToEnd opens a campaign on a real SQLite store, has two
// agencies answer (one submits, one does not, a third never starts), sends
// reminders and checks the synthesis against numbers worked out by hand.
func TestCampaignEndToEnd(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "r.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write(t, dir, "e2e.yaml", e2eFramework)
	reg, _ := all.Registry("")
	cat, err := NewCatalog(dir, reg.Catalog())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	rem := &recorder{}
	svc := &Service{Store: st, Frameworks: cat, Reminders: rem, Now: func() time.Time { return now }}

	sys := auth.SystemPrincipal
	mk := func(parent int64, code, name string, kind org.Kind) org.Organization {
		o := org.Organization{ParentID: parent, Code: code, Name: name, NameEN: code, Kind: kind}
		if err := st.CreateOrg(ctx, sys, &o); err != nil {
			t.Fatal(err)
		}
		return o
	}
	nat := mk(0, "VN", "Quốc gia", org.KindNational)
	min := mk(nat.ID, "BTTTT", "Bộ Thông tin và Truyền thông", org.KindMinistry)
	a1 := mk(min.ID, "CUC-ATTT", "Cục An toàn thông tin", org.KindAgency)
	a2 := mk(min.ID, "CUC-BD", "Cục Bưu điện Trung ương", org.KindAgency)
	prov := mk(nat.ID, "HN", "Thành phố Hà Nội", org.KindProvince)
	a3 := mk(prov.ID, "SO-TTTT-HN", "Sở Thông tin và Truyền thông Hà Nội", org.KindAgency)
	_ = mk(a1.ID, "TT-1", "Trung tâm 1", org.KindUnit) // not an agency: not a target

	web := asset.Asset{OrgID: a1.ID, Kind: asset.KindHostname, Value: "attt.example.vn", SecurityLevel: 1}
	if err := st.CreateAsset(ctx, sys, &web); err != nil {
		t.Fatal(err)
	}
	_, err = st.RecordFindings(ctx, store.FindingBatch{JobID: "j1", At: now.Add(-72 * time.Hour), Policy: finding.DefaultPolicy, Seen: []store.Finding{{
		Key: finding.Key(web.ID, "tls.cert-expired", "attt.example.vn:443", ""), OrgID: a1.ID, AssetID: web.ID,
		Check: "tls.cert-expired", Family: "tls", Severity: finding.High, Target: "attt.example.vn:443", Title: "Certificate expired",
		Evidence: json.RawMessage(`{}`),
	}}})
	if err != nil {
		t.Fatal(err)
	}

	natAdmin := auth.Principal{Name: "cuc-attt-admin", Role: auth.RoleOrgAdmin, OrgID: nat.ID}
	deadline := time.Date(2026, 11, 30, 17, 0, 0, 0, time.UTC)
	c := store.Campaign{Framework: "e2e", Title: "Tự đánh giá an toàn thông tin 2026", Deadline: deadline, TargetKinds: []org.Kind{org.KindAgency}}
	if err := svc.OpenCampaign(ctx, natAdmin, &c); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Targets, []int64{a1.ID, a2.ID, a3.ID}) {
		t.Fatalf("targets = %v", c.Targets)
	}
	unknown := store.Campaign{Framework: "nope", Title: "x", Deadline: deadline}
	if err := svc.OpenCampaign(ctx, natAdmin, &unknown); !errors.Is(err, ErrUnknown) {
		t.Fatalf("unknown framework: %v", err)
	}

	// A1 answers at its assets' level (1): C1, C2, C4 apply; submits.
	p1 := auth.Principal{Name: "a1", Role: auth.RoleOrgMember, OrgID: a1.ID}
	q1, err := svc.Start(ctx, p1, a1.ID, "e2e", c.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if q1.Level != 1 {
		t.Fatalf("level = %d", q1.Level)
	}
	view, err := svc.Questionnaire(ctx, p1, q1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(view.Items) != 3 || view.Items[2].Control.ID != "C4" || view.Items[2].Open != 1 || len(view.Items[2].Findings) != 1 || view.Items[0].Open != 0 {
		t.Fatalf("questionnaire = %+v", view.Items)
	}
	if err := svc.Answer(ctx, p1, q1.ID, []store.ControlAnswer{{ControlID: "C3", Answer: store.AnswerImplemented}}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("answering a control of another level: %v", err)
	}
	if err := svc.Answer(ctx, p1, q1.ID, []store.ControlAnswer{{ControlID: "C9", Answer: store.AnswerImplemented}}); !errors.Is(err, ErrUnknown) {
		t.Fatalf("answering an unknown control: %v", err)
	}
	err = svc.Answer(ctx, p1, q1.ID, []store.ControlAnswer{
		{ControlID: "C1", Answer: store.AnswerImplemented},
		{ControlID: "C2", Answer: store.AnswerPartial, Comment: "Sao lưu hằng tuần, chưa thử khôi phục"},
		{ControlID: "C4", Answer: store.AnswerNotImplemented},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SubmitAssessment(ctx, p1, q1.ID, now); err != nil {
		t.Fatal(err)
	}

	// A2 answers at level 2 and keeps its draft; A3 never starts.
	p2 := auth.Principal{Name: "a2", Role: auth.RoleOrgMember, OrgID: a2.ID}
	q2, err := svc.Start(ctx, p2, a2.ID, "e2e", c.ID, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Answer(ctx, p2, q2.ID, []store.ControlAnswer{{ControlID: "C3", Answer: store.AnswerImplemented}}); err != nil {
		t.Fatal(err)
	}

	// Reminders go to A2 and A3, through the notifier, and are recorded.
	r, err := svc.Remind(ctx, natAdmin, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.OrgIDs, []int64{a2.ID, a3.ID}) || len(rem.calls) != 1 || !slices.Equal(rem.calls[0], []int64{a2.ID, a3.ID}) || !r.At.Equal(now) {
		t.Fatalf("reminder = %+v, calls = %v", r, rem.calls)
	}
	rem.fail = errors.New("smtp down")
	if _, err := svc.Remind(ctx, natAdmin, c.ID); err == nil {
		t.Fatal("a failed delivery is not reported")
	}
	rs, err := st.ListReminders(ctx, natAdmin, c.ID)
	if err != nil || len(rs) != 2 || rs[1].Error != "smtp down" {
		t.Fatalf("reminders = %+v, %v", rs, err)
	}
	if _, err := svc.Remind(ctx, auth.Principal{Name: "bttt-admin", Role: auth.RoleOrgAdmin, OrgID: min.ID}, c.ID); !errors.Is(err, store.ErrForbidden) || len(rem.calls) != 2 {
		t.Fatalf("a target's parent reminds: %v (calls %d)", err, len(rem.calls))
	}

	// The synthesis, by hand:
	//   A1 (level 1): C1 implemented, C2 partial, C4 not implemented
	//     → (1 + 0.5) / 3 = 50 %.
	//   A2: draft, not counted. A3: not started.
	//   Controls: C1 100 %, C2 50 %, C3 not rated (A1 is level 1), C4 0 %.
	//   Roll-up: VN 3 targets, 1 submitted, 50 %; BTTTT 2, 1, 50 %;
	//   HN 1, 0, unrated.
	syn, err := svc.Synthesis(ctx, natAdmin, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if syn.Targets != 3 || syn.Started != 2 || syn.Submitted != 1 || syn.Late != 0 || syn.Rated != 1 || !near(syn.Compliance, 50) {
		t.Fatalf("synthesis = %+v", syn)
	}
	wantCtl := map[string]struct {
		tally Tally
		rate  float64
		rated bool
	}{
		"C1": {Tally{Implemented: 1}, 100, true},
		"C2": {Tally{Partial: 1}, 50, true},
		"C3": {Tally{}, 0, false},
		"C4": {Tally{NotImplemented: 1}, 0, true},
	}
	for _, cr := range syn.Controls {
		w := wantCtl[cr.Control.ID]
		if cr.Tally != w.tally || cr.Rated != w.rated || !near(cr.Compliance, w.rate) {
			t.Errorf("control %s = %+v, want %+v", cr.Control.ID, cr, w)
		}
	}
	if len(syn.Orgs) != 3 || syn.Orgs[0].Org.Code != "CUC-ATTT" || !near(syn.Orgs[0].Compliance, 50) || syn.Orgs[1].State != store.AssessmentDraft || syn.Orgs[1].Rated || syn.Orgs[2].State != "" {
		t.Fatalf("orgs = %+v", syn.Orgs)
	}
	type roll struct {
		code              string
		depth, tg, sub, n int
		rate              float64
	}
	var got []roll
	for _, r := range syn.Rollup {
		got = append(got, roll{r.Org.Code, r.Depth, r.Targets, r.Submitted, r.Rated, math.Round(r.Compliance)})
	}
	want := []roll{
		{"VN", 0, 3, 1, 1, 50}, {"BTTTT", 1, 2, 1, 1, 50}, {"CUC-ATTT", 2, 1, 1, 1, 50}, {"CUC-BD", 2, 1, 0, 0, 0},
		{"HN", 1, 1, 0, 0, 0}, {"SO-TTTT-HN", 2, 1, 0, 0, 0},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("rollup = %+v\nwant     %+v", got, want)
	}

	// The province sees its own part only.
	hn := auth.Principal{Name: "hn", Role: auth.RoleViewer, OrgID: prov.ID}
	syn, err = svc.Synthesis(ctx, hn, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if syn.Targets != 1 || len(syn.Rollup) != 2 || syn.Rollup[0].Org.Code != "HN" || syn.Rollup[0].Depth != 0 {
		t.Fatalf("province synthesis = %+v", syn)
	}

	// Once A2 submits, nobody but A3 is reminded.
	if _, err := st.SubmitAssessment(ctx, p2, q2.ID, deadline.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	pending, err := svc.Pending(ctx, natAdmin, c.ID)
	if err != nil || !slices.Equal(pending, []int64{a3.ID}) {
		t.Fatalf("pending = %v, %v", pending, err)
	}
	syn, _ = svc.Synthesis(ctx, natAdmin, c.ID)
	// A2 (level 2): C1, C2, C4 unanswered, C3 implemented → 1/4 = 25 %; late.
	if syn.Submitted != 2 || syn.Late != 1 || !near(syn.Orgs[1].Compliance, 25) || !near(syn.Compliance, 37.5) {
		t.Fatalf("after A2 = %+v", syn.Orgs[1])
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
