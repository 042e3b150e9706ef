package storetest

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// Finding triage: transitions, tenancy, filters, expiry, posture and debt.

func testFindingTransitions(t *testing.T, f *findingFixture) {
	ctx := f.ctx
	y := f.asset(t, sys, f.a1, asset.KindHostname, "triage.a1.example.vn")
	const tgt = "triage.a1.example.vn:443"
	fnd := seen(y, "tls.cert-self-signed", tgt, "", finding.High)
	t0 := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	f.record(t, "t-1", t0, nil, fnd)
	id := f.byKey(t, fnd.Key).ID
	member := as(auth.RoleOrgMember, f.a1)
	admin := as(auth.RoleOrgAdmin, f.a)
	tr := func(p auth.Principal, tt finding.Transition) (store.Finding, error) {
		return f.s.TransitionFinding(ctx, p, id, tt)
	}
	refused := func(p auth.Principal, tt finding.Transition, sentinel, storeSentinel error) {
		t.Helper()
		before := f.get(t, id)
		n := len(f.history(t, id))
		_, err := tr(p, tt)
		if !errors.Is(err, sentinel) || !errors.Is(err, storeSentinel) {
			t.Fatalf("%s from %s: %v, want %v and %v", tt.Action, before.State, err, sentinel, storeSentinel)
		}
		if after := f.get(t, id); after.State != before.State || !after.UpdatedAt.Equal(before.UpdatedAt) || len(f.history(t, id)) != n {
			t.Fatalf("refused %s changed the finding", tt.Action)
		}
	}
	month := 30 * day

	_, err := tr(as(auth.RoleViewer, f.a1), finding.Transition{Action: finding.ActionAcknowledge})
	wantErr(t, err, store.ErrForbidden, "viewer acknowledges")
	_, err = tr(as(auth.RoleWorker, f.a1), finding.Transition{Action: finding.ActionAcknowledge})
	wantErr(t, err, store.ErrForbidden, "worker acknowledges")

	got, err := tr(member, finding.Transition{Action: finding.ActionAcknowledge, Reason: "working on it"})
	must(t, err, "acknowledge")
	if got.State != finding.StateAcknowledged {
		t.Fatalf("acknowledged: %+v", got)
	}
	refused(member, finding.Transition{Action: finding.ActionAcknowledge}, finding.ErrTransition, store.ErrConflict)
	refused(member, finding.Transition{Action: finding.ActionReopen}, finding.ErrTransition, store.ErrConflict)
	refused(member, finding.Transition{Action: finding.ActionNotSeen}, finding.ErrInvalid, store.ErrInvalid)
	refused(member, finding.Transition{Action: finding.ActionExpire}, finding.ErrInvalid, store.ErrInvalid)
	refused(member, finding.Transition{Action: "delete"}, finding.ErrInvalid, store.ErrInvalid)
	refused(member, finding.Transition{Action: finding.ActionAcceptRisk, Reason: "x", Until: time.Now().Add(month)}, finding.ErrInvalid, store.ErrInvalid)     // no approver
	refused(member, finding.Transition{Action: finding.ActionAcceptRisk, Approve: "boss", Until: time.Now().Add(month)}, finding.ErrInvalid, store.ErrInvalid) // no reason
	refused(member, finding.Transition{Action: finding.ActionAcceptRisk, Reason: "x", Approve: "boss", Until: time.Now().Add(400 * day)}, finding.ErrInvalid, store.ErrInvalid)
	refused(member, finding.Transition{Action: finding.ActionFalsePositive, Reason: "x", Until: time.Now().Add(-day)}, finding.ErrInvalid, store.ErrInvalid)

	got, err = tr(member, finding.Transition{Action: finding.ActionRequestVerify, Reason: "replaced the certificate"})
	must(t, err, "request verify")
	if got.State != finding.StateAcknowledged || got.VerifyRequestedAt == nil {
		t.Fatalf("verify requested: %+v", got)
	}
	// The rescan still sees it: the request is answered, the state stays.
	f.record(t, "t-verify", time.Now().UTC().Add(time.Minute), nil, withEvidence(fnd, `{"still":"self-signed"}`))
	if got := f.get(t, id); got.VerifyRequestedAt != nil || got.State != finding.StateAcknowledged {
		t.Fatalf("after the verification rescan: %+v", got)
	}

	until := time.Now().UTC().Add(month).Truncate(time.Second)
	got, err = tr(admin, finding.Transition{Action: finding.ActionAcceptRisk, Reason: "internal only", Approve: "ciso@a", Until: until})
	must(t, err, "accept risk")
	if got.State != finding.StateRiskAccepted || got.Reason != "internal only" || got.Approver != "ciso@a" || got.Until == nil || !got.Until.Equal(until) {
		t.Fatalf("risk accepted: %+v", got)
	}
	if g := f.get(t, id); g.State != finding.StateRiskAccepted || g.Approver != "ciso@a" || !g.Until.Equal(until) {
		t.Fatalf("stored acceptance: %+v", g)
	}
	refused(member, finding.Transition{Action: finding.ActionRequestVerify}, finding.ErrTransition, store.ErrConflict)
	refused(member, finding.Transition{Action: finding.ActionAcknowledge}, finding.ErrTransition, store.ErrConflict)
	refused(member, finding.Transition{Action: finding.ActionFalsePositive, Reason: "x", Until: until}, finding.ErrTransition, store.ErrConflict)

	got, err = tr(member, finding.Transition{Action: finding.ActionReopen, Reason: "the exception was withdrawn"})
	must(t, err, "reopen")
	if got.State != finding.StateOpen || got.Until != nil || got.Reason != "" || got.Approver != "" {
		t.Fatalf("reopened by a person: %+v", got)
	}
	got, err = tr(member, finding.Transition{Action: finding.ActionFalsePositive, Reason: "a test host", Until: until})
	must(t, err, "false positive")
	if got.State != finding.StateFalsePositive || got.Reason != "a test host" {
		t.Fatalf("false positive: %+v", got)
	}
	_, err = tr(member, finding.Transition{Action: finding.ActionReopen})
	must(t, err, "reopen false positive")

	// Fixed by a rescan; people cannot act on a fixed finding; a rescan
	// that sees it reopens it, and it can be acknowledged again.
	now := time.Now().UTC()
	f.record(t, "t-fix", now.Add(2*time.Minute), []store.Coverage{cover(y, tgt, "tls.cert-self-signed")})
	if got := f.get(t, id); got.State != finding.StateFixed {
		t.Fatalf("not fixed: %+v", got)
	}
	refused(member, finding.Transition{Action: finding.ActionAcknowledge}, finding.ErrTransition, store.ErrConflict)
	refused(member, finding.Transition{Action: finding.ActionRequestVerify}, finding.ErrTransition, store.ErrConflict)
	f.record(t, "t-back", now.Add(3*time.Minute), nil, fnd)
	got, err = tr(member, finding.Transition{Action: finding.ActionAcknowledge, Reason: "again"})
	must(t, err, "acknowledge reopened")
	if got.State != finding.StateAcknowledged {
		t.Fatalf("acknowledge reopened: %+v", got)
	}

	h := f.history(t, id)
	mem, adm := "org-member@A1", "org-admin@A"
	wantHistory(t, h,
		step{finding.ActionSeen, "", finding.StateOpen, "scanner", "t-1"},
		step{finding.ActionAcknowledge, finding.StateOpen, finding.StateAcknowledged, mem, ""},
		step{finding.ActionRequestVerify, finding.StateAcknowledged, finding.StateAcknowledged, mem, ""},
		step{finding.ActionSeen, finding.StateAcknowledged, finding.StateAcknowledged, "scanner", "t-verify"},
		step{finding.ActionAcceptRisk, finding.StateAcknowledged, finding.StateRiskAccepted, adm, ""},
		step{finding.ActionReopen, finding.StateRiskAccepted, finding.StateOpen, mem, ""},
		step{finding.ActionFalsePositive, finding.StateOpen, finding.StateFalsePositive, mem, ""},
		step{finding.ActionReopen, finding.StateFalsePositive, finding.StateOpen, mem, ""},
		step{finding.ActionNotSeen, finding.StateOpen, finding.StateFixed, "scanner", "t-fix"},
		step{finding.ActionSeen, finding.StateFixed, finding.StateReopened, "scanner", "t-back"},
		step{finding.ActionAcknowledge, finding.StateReopened, finding.StateAcknowledged, mem, ""},
	)
	if h[1].Reason != "working on it" || h[4].Reason != "internal only" || h[4].Until == nil || !h[4].Until.Equal(until) ||
		h[5].Reason != "the exception was withdrawn" || string(h[3].Evidence) != `{"still":"self-signed"}` {
		t.Fatalf("history lacks why: %+v", h)
	}
	// People's actions are audited, before and after.
	es := auditOf(t, f.fixture.s, "finding", id)
	wantAudit(t, es, "", "finding.acknowledge", "finding.request-verify", "finding.accept-risk", "finding.reopen",
		"finding.false-positive", "finding.reopen", "finding.acknowledge")
	if es[2].Actor != adm || field(t, es[2].Before, "state") != "acknowledged" || field(t, es[2].After, "state") != "risk-accepted" {
		t.Fatalf("audit of accept-risk: %+v", es[2])
	}
	_, err = f.s.TransitionFinding(ctx, member, 999999, finding.Transition{Action: finding.ActionAcknowledge})
	wantErr(t, err, store.ErrNotFound, "unknown finding")
}

func testFindingTenancy(t *testing.T, f *findingFixture) {
	ctx := f.ctx
	xa := f.asset(t, sys, f.a11, asset.KindIPv4, "10.9.2.1")
	xb := f.asset(t, sys, f.b1, asset.KindIPv4, "10.9.2.2")
	at := time.Now().UTC().Add(-time.Hour)
	f.record(t, "ten-1", at, nil, seen(xa, "svc.redis-unauthenticated", "10.9.2.1:6379", "", finding.Critical),
		seen(xb, "svc.redis-unauthenticated", "10.9.2.2:6379", "", finding.Critical))
	fa := f.byKey(t, finding.Key(xa.ID, "svc.redis-unauthenticated", "10.9.2.1:6379", ""))
	fb := f.byKey(t, finding.Key(xb.ID, "svc.redis-unauthenticated", "10.9.2.2:6379", ""))
	adminA := as(auth.RoleOrgAdmin, f.a)

	_, err := f.s.GetFinding(ctx, adminA, fb.ID)
	wantErr(t, err, store.ErrNotFound, "A gets B's finding")
	_, err = f.s.FindingHistory(ctx, adminA, fb.ID)
	wantErr(t, err, store.ErrNotFound, "A reads B's history")
	_, err = f.s.TransitionFinding(ctx, adminA, fb.ID, finding.Transition{Action: finding.ActionAcknowledge})
	wantErr(t, err, store.ErrNotFound, "A acknowledges B's finding")
	_, err = f.s.TransitionFinding(ctx, as(auth.RoleViewer, f.b), fa.ID, finding.Transition{Action: finding.ActionAcknowledge})
	wantErr(t, err, store.ErrNotFound, "B's viewer acts on A's finding (not found before forbidden)")
	_, err = f.s.ListFindings(ctx, adminA, store.FindingFilter{OrgID: f.b.ID})
	wantErr(t, err, store.ErrNotFound, "A lists B's subtree")
	_, err = f.s.ListFindings(ctx, as(auth.RoleWorker, f.a), store.FindingFilter{})
	wantErr(t, err, store.ErrForbidden, "a worker lists findings")
	if got := f.get(t, fb.ID); got.State != finding.StateOpen {
		t.Fatal("B's finding changed")
	}

	inA := map[int64]bool{f.a.ID: true, f.a1.ID: true, f.a11.ID: true}
	items := all(t, func(after string) (store.Page[store.Finding], error) {
		return f.s.ListFindings(ctx, adminA, store.FindingFilter{PageRequest: store.PageRequest{After: after, Limit: 7}})
	})
	found := false
	for _, it := range items {
		if !inA[it.OrgID] {
			t.Fatalf("A lists a finding of organization %d", it.OrgID)
		}
		found = found || it.ID == fa.ID
	}
	if !found {
		t.Fatal("A does not list its own finding")
	}
	viewer := as(auth.RoleViewer, f.a11)
	if _, err := f.s.GetFinding(ctx, viewer, fa.ID); err != nil {
		t.Fatalf("viewer of A11 reads its finding: %v", err)
	}
	_, err = f.s.TransitionFinding(ctx, viewer, fa.ID, finding.Transition{Action: finding.ActionAcknowledge})
	wantErr(t, err, store.ErrForbidden, "viewer triages")
	if _, err := f.s.TransitionFinding(ctx, as(auth.RoleAnalyst, f.nat), fb.ID, finding.Transition{Action: finding.ActionAcknowledge}); err != nil {
		t.Fatalf("an analyst triages anywhere: %v", err)
	}
	debts, err := f.s.Debt(ctx, adminA, time.Now())
	must(t, err, "debt of A")
	if got := ids(debts, func(d store.OrgDebt) int64 { return d.OrgID }); len(got) != 3 || !got[f.a.ID] || !got[f.a1.ID] || !got[f.a11.ID] {
		t.Fatalf("A's debt covers %v", got)
	}
	nobody := auth.Principal{Name: "ghost", Role: auth.RoleOrgAdmin, OrgID: 999999}
	if d, err := f.s.Debt(ctx, nobody, time.Now()); err != nil || len(d) != 0 {
		t.Fatalf("debt of a principal without an organization: %v %v", d, err)
	}
}

func testFindingFilters(t *testing.T, f *findingFixture) {
	ctx := f.ctx
	fo := f.org(t, sys, f.nat.ID, "FLT", org.KindMinistry)
	fo1 := f.org(t, sys, fo.ID, "FLT1", org.KindAgency)
	p := as(auth.RoleViewer, fo)
	h1 := f.asset(t, sys, fo, asset.KindHostname, "portal.flt.example.vn")
	h2 := f.asset(t, sys, fo1, asset.KindHostname, "mail.flt1.example.vn")
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	const t1, t2 = "portal.flt.example.vn:443", "mail.flt1.example.vn:443"
	crit := seen(h1, "tls.cert-expired", t1, "", finding.Critical)      // due t0+15
	weak := seen(h1, "tls.weak-cipher", t1, "RC4", finding.Medium)      // due t0+90
	accepted := seen(h1, "tls.cert-expiring", t1, "", finding.Critical) // risk-accepted
	git := seen(h1, "http.exposed-git", "https://portal.flt.example.vn/", "", finding.High)
	hsts := seen(h2, "http.missing-hsts", "https://mail.flt1.example.vn/", "", finding.High) // due t0+30
	hsts.Title = "Thiếu HSTS (Missing HSTS)"
	cve := seen(h2, "vuln.known-cve", t2, "CVE-2024-1234", finding.High) // KEV: due t0+14
	cve.KEV, cve.CVE = true, []string{"CVE-2024-1234"}
	spf := seen(h2, "dns.spf-missing", "flt1.example.vn", "", finding.Low)
	legacy := seen(h2, "tls.legacy-protocol", t2, "TLS1.0", finding.Info)
	f.record(t, "flt-1", t0, nil, crit, weak, accepted, git, hsts, cve, spf, legacy)
	f.record(t, "flt-2", t0.Add(time.Hour), []store.Coverage{cover(h1, "https://portal.flt.example.vn/", "http.exposed-git")})
	_, err := f.s.TransitionFinding(ctx, as(auth.RoleOrgMember, fo), f.byKey(t, accepted.Key).ID, finding.Transition{
		Action: finding.ActionAcceptRisk, Reason: "renewal ordered", Approve: "cio", At: t0.Add(2 * time.Hour), Until: t0.Add(60 * day)})
	must(t, err, "accept")

	list := func(fl store.FindingFilter) []string {
		t.Helper()
		fl.Limit = 3
		items := all(t, func(after string) (store.Page[store.Finding], error) {
			fl.After = after
			return f.s.ListFindings(ctx, p, fl)
		})
		var out []string
		for i, it := range items {
			if i > 0 && it.ID <= items[i-1].ID {
				t.Fatal("findings are not in ascending ID order")
			}
			out = append(out, it.Key)
		}
		slices.Sort(out)
		return out
	}
	keys := func(fs ...store.Finding) []string {
		var out []string
		for _, x := range fs {
			out = append(out, x.Key)
		}
		slices.Sort(out)
		return out
	}
	yes, no := true, false
	at := t0.Add(20 * day)
	for _, c := range []struct {
		name string
		fl   store.FindingFilter
		want []store.Finding
	}{
		{"all", store.FindingFilter{}, []store.Finding{crit, weak, accepted, git, hsts, cve, spf, legacy}},
		{"org subtree", store.FindingFilter{OrgID: fo.ID}, []store.Finding{crit, weak, accepted, git, hsts, cve, spf, legacy}},
		{"child org", store.FindingFilter{OrgID: fo1.ID}, []store.Finding{hsts, cve, spf, legacy}},
		{"asset", store.FindingFilter{AssetID: h1.ID}, []store.Finding{crit, weak, accepted, git}},
		{"severity high", store.FindingFilter{Severity: finding.High}, []store.Finding{git, hsts, cve}},
		{"min severity high", store.FindingFilter{MinSeverity: "HIGH"}, []store.Finding{crit, accepted, git, hsts, cve}},
		{"min severity low", store.FindingFilter{MinSeverity: finding.Low}, []store.Finding{crit, weak, accepted, git, hsts, cve, spf}},
		{"state fixed", store.FindingFilter{State: finding.StateFixed}, []store.Finding{git}},
		{"state accepted", store.FindingFilter{State: finding.StateRiskAccepted}, []store.Finding{accepted}},
		{"active", store.FindingFilter{Active: true}, []store.Finding{crit, weak, hsts, cve, spf, legacy}},
		{"family", store.FindingFilter{Check: "tls."}, []store.Finding{crit, weak, accepted, legacy}},
		{"check", store.FindingFilter{Check: "tls.weak-cipher"}, []store.Finding{weak}},
		{"not a family", store.FindingFilter{Check: "tls"}, nil},
		{"kev", store.FindingFilter{KEV: &yes}, []store.Finding{cve}},
		{"not kev", store.FindingFilter{KEV: &no, Active: true}, []store.Finding{crit, weak, hsts, spf, legacy}},
		{"overdue", store.FindingFilter{Overdue: true, Now: at}, []store.Finding{crit, cve}},
		{"overdue later", store.FindingFilter{Overdue: true, Now: t0.Add(31 * day)}, []store.Finding{crit, hsts, cve}},
		{"overdue critical", store.FindingFilter{Overdue: true, Now: at, MinSeverity: finding.Critical}, []store.Finding{crit}},
		{"overdue at the due instant", store.FindingFilter{Overdue: true, Now: t0.Add(15 * day)}, []store.Finding{cve}},
		{"query title", store.FindingFilter{Query: "hsts"}, []store.Finding{hsts}},
		{"query target", store.FindingFilter{Query: "MAIL.flt1"}, []store.Finding{hsts, cve, legacy}},
	} {
		if got, want := list(c.fl), keys(c.want...); !slices.Equal(got, want) {
			t.Errorf("%s: %d findings, want %d", c.name, len(got), len(want))
		}
	}
	for name, fl := range map[string]store.FindingFilter{
		"bad severity":     {Severity: "urgent"},
		"bad min severity": {MinSeverity: "urgent"},
		"bad state":        {State: "active"},
		"bad cursor":       {PageRequest: store.PageRequest{After: "!!"}},
		"negative limit":   {PageRequest: store.PageRequest{Limit: -1}},
	} {
		_, err := f.s.ListFindings(ctx, p, fl)
		wantErr(t, err, store.ErrInvalid, name)
	}
	pg, err := f.s.ListFindings(ctx, p, store.FindingFilter{PageRequest: store.PageRequest{Limit: 8}})
	must(t, err, "exact page")
	if len(pg.Items) != 8 || pg.Next != "" {
		t.Fatalf("limit 8 of 8: %d items, next %q", len(pg.Items), pg.Next)
	}
}

func testExpireAcceptances(t *testing.T, f *findingFixture) {
	ctx := f.ctx
	x := f.asset(t, sys, f.a1, asset.KindIPv4, "10.9.3.1")
	// Times long past, so no other part's acceptance expires first.
	t0 := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	a := seen(x, "svc.telnet-exposed", "10.9.3.1:23", "", finding.High)
	b := seen(x, "svc.ftp-anonymous", "10.9.3.1:21", "", finding.Medium)
	c := seen(x, "svc.vnc-exposed", "10.9.3.1:5900", "", finding.High)
	f.record(t, "exp-1", t0, nil, a, b, c)
	member := as(auth.RoleOrgMember, f.a1)
	fa, fb := f.byKey(t, a.Key), f.byKey(t, b.Key)
	_, err := f.s.TransitionFinding(ctx, member, fa.ID, finding.Transition{Action: finding.ActionAcceptRisk, Reason: "isolated VLAN", Approve: "ciso",
		At: t0.Add(time.Hour), Until: t0.Add(day)})
	must(t, err, "accept")
	_, err = f.s.TransitionFinding(ctx, member, fb.ID, finding.Transition{Action: finding.ActionFalsePositive, Reason: "honeypot",
		At: t0.Add(time.Hour), Until: t0.Add(36 * time.Hour)})
	must(t, err, "false positive")

	n, err := f.s.ExpireAcceptances(ctx, t0.Add(12*time.Hour))
	must(t, err, "expire (none due)")
	if n != 0 {
		t.Fatalf("expired %d before their time", n)
	}
	n, err = f.s.ExpireAcceptances(ctx, t0.Add(day)) // exactly at Until
	must(t, err, "expire")
	if n != 1 {
		t.Fatalf("expired %d, want 1", n)
	}
	got := f.get(t, fa.ID)
	if got.State != finding.StateOpen || got.Until != nil || got.Reason != "" || got.Approver != "" {
		t.Fatalf("expired acceptance: %+v", got)
	}
	wantTime(t, "due date after expiry (kept)", got.DueAt, t0.Add(30*day))
	h := f.history(t, fa.ID)
	last := h[len(h)-1]
	if last.Action != finding.ActionExpire || last.Actor != "system" || last.From != finding.StateRiskAccepted || last.To != finding.StateOpen ||
		last.Until == nil || !last.Until.Equal(t0.Add(day)) || last.Reason != "isolated VLAN" {
		t.Fatalf("expiry history: %+v", last)
	}
	if g := f.get(t, fb.ID); g.State != finding.StateFalsePositive {
		t.Fatalf("false positive expired early: %+v", g)
	}
	n, err = f.s.ExpireAcceptances(ctx, t0.Add(2*day))
	must(t, err, "expire false positive")
	if n != 1 || f.get(t, fb.ID).State != finding.StateOpen {
		t.Fatalf("false positive: expired %d", n)
	}
	n, err = f.s.ExpireAcceptances(ctx, t0.Add(2*day))
	must(t, err, "expire again")
	if n != 0 {
		t.Fatalf("expired %d twice", n)
	}
	wantAudit(t, auditOf(t, f.fixture.s, "finding", fa.ID), "", "finding.accept-risk", "finding.expire")
}

func testWorstForAsset(t *testing.T, f *findingFixture) {
	ctx := f.ctx
	w := f.asset(t, sys, f.a1, asset.KindIPv4, "10.9.4.1")
	worst := func() (finding.Severity, bool) {
		t.Helper()
		sev, kev, err := f.s.WorstForAsset(ctx, w.ID)
		must(t, err, "worst")
		return sev, kev
	}
	if sev, kev := worst(); sev != "" || kev {
		t.Fatalf("no findings: %s %v", sev, kev)
	}
	const tgt = "10.9.4.1:443"
	t0 := time.Now().UTC().Add(-time.Hour)
	low := seen(w, "http.version-disclosure", tgt, "", finding.Low)
	high := seen(w, "http.exposed-env", tgt, "", finding.High)
	crit := seen(w, "http.exposed-git", tgt, "", finding.Critical)
	med := seen(w, "vuln.known-cve", tgt, "CVE-2023-0001", finding.Medium)
	med.KEV = true
	f.record(t, "w-1", t0, nil, low, high, crit, med)
	_, err := f.s.TransitionFinding(ctx, sys, f.byKey(t, crit.Key).ID, finding.Transition{Action: finding.ActionFalsePositive, Reason: "a decoy", Until: time.Now().Add(day)})
	must(t, err, "false positive")
	if sev, kev := worst(); sev != finding.High || !kev {
		t.Fatalf("worst = %s %v, want high, KEV", sev, kev)
	}
	f.record(t, "w-2", t0.Add(time.Minute), []store.Coverage{cover(w, tgt, "http.exposed-env", "vuln.known-cve")}, low)
	if sev, kev := worst(); sev != finding.Low || kev {
		t.Fatalf("after fixes worst = %s %v, want low", sev, kev)
	}
}

func testDebt(t *testing.T, f *findingFixture) {
	ctx := f.ctx
	// D ── D1 ── D11
	//  └── D2
	d := f.org(t, sys, f.nat.ID, "D", org.KindMinistry)
	d1 := f.org(t, sys, d.ID, "D1", org.KindAgency)
	d11 := f.org(t, sys, d1.ID, "D11", org.KindUnit)
	d2 := f.org(t, sys, d.ID, "D2", org.KindAgency)
	x11 := f.asset(t, sys, d11, asset.KindIPv4, "10.9.5.11")
	x1 := f.asset(t, sys, d1, asset.KindIPv4, "10.9.5.1")
	x2 := f.asset(t, sys, d2, asset.KindIPv4, "10.9.5.2")
	xd := f.asset(t, sys, d, asset.KindIPv4, "10.9.5.0")
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	ago := func(days int) time.Time { return now.Add(-time.Duration(days) * day) }
	rec := func(job string, at time.Time, fs ...store.Finding) { f.record(t, job, at, nil, fs...) }

	kev := seen(x11, "vuln.known-cve", "10.9.5.11:80", "CVE-2021-44228", finding.High)
	kev.KEV = true
	rec("d-1", ago(25), seen(x11, "svc.redis-unauthenticated", "10.9.5.11:6379", "", finding.Critical)) // due 10 days ago
	rec("d-2", ago(44), kev)                                                                            // KEV: due 30 days ago
	rec("d-3", ago(10), seen(x1, "tls.weak-cipher", "10.9.5.1:443", "RC4", finding.Medium))             // due in 80 days
	rec("d-4", ago(240), seen(x1, "dns.spf-missing", "10.9.5.1", "", finding.Low))                      // due 60 days ago
	rec("d-5", ago(45), seen(x2, "http.missing-hsts", "https://10.9.5.2/", "", finding.High))           // due 15 days ago
	rec("d-6", ago(1000), seen(x2, "tls.legacy-protocol", "10.9.5.2:443", "TLS1.0", finding.Info))      // no due date
	accepted := seen(x2, "svc.rdp-exposed", "10.9.5.2:3389", "", finding.Critical)
	rec("d-7", ago(100), accepted)
	_, err := f.s.TransitionFinding(ctx, sys, f.byKey(t, accepted.Key).ID, finding.Transition{
		Action: finding.ActionAcceptRisk, Reason: "jump host", Approve: "ciso", At: ago(2), Until: now.Add(30 * day)})
	must(t, err, "accept")
	rec("d-8", ago(100), seen(xd, "svc.telnet-exposed", "10.9.5.0:23", "", finding.Medium))
	f.record(t, "d-9", ago(99), []store.Coverage{cover(xd, "10.9.5.0:23", "svc.telnet-exposed")}) // fixed

	w11 := finding.DebtWeight(finding.Critical, false, 10) + finding.DebtWeight(finding.High, true, 30)
	w1 := w11 + finding.DebtWeight(finding.Low, false, 60)
	w2 := finding.DebtWeight(finding.High, false, 15)
	// By hand: 10×(1+10/30) + 5×2×(1+30/30) = 13.333 + 20; low 1×(1+60/30) = 3; high 5×(1+15/30) = 7.5.
	for _, c := range []struct {
		got, want float64
	}{{w11, 33.3333333333}, {w1, 36.3333333333}, {w2, 7.5}} {
		if math.Abs(c.got-c.want) > 1e-6 {
			t.Fatalf("DebtWeight sum %v, want %v by hand", c.got, c.want)
		}
	}
	sev := func(cr, hi, me, lo, in int) map[finding.Severity]int {
		return map[finding.Severity]int{finding.Critical: cr, finding.High: hi, finding.Medium: me, finding.Low: lo, finding.Info: in}
	}
	want := map[int64]store.OrgDebt{
		d11.ID: {OrgID: d11.ID, Active: 2, Overdue: 2, KEV: 1, Weighted: w11, BySeverity: sev(1, 1, 0, 0, 0)},
		d1.ID:  {OrgID: d1.ID, Active: 4, Overdue: 3, KEV: 1, Weighted: w1, BySeverity: sev(1, 1, 1, 1, 0)},
		d2.ID:  {OrgID: d2.ID, Active: 2, Overdue: 1, KEV: 0, Weighted: w2, BySeverity: sev(0, 1, 0, 0, 1)},
		d.ID:   {OrgID: d.ID, Active: 6, Overdue: 4, KEV: 1, Weighted: w1 + w2, BySeverity: sev(1, 2, 1, 1, 1)},
	}
	check := func(p auth.Principal, orgs ...int64) {
		t.Helper()
		debts, err := f.s.Debt(ctx, p, now)
		must(t, err, "debt")
		if len(debts) != len(orgs) {
			t.Fatalf("debt of %d organizations, want %d", len(debts), len(orgs))
		}
		for _, got := range debts {
			w, ok := want[got.OrgID]
			if !ok || !slices.Contains(orgs, got.OrgID) {
				t.Fatalf("debt of unexpected organization %d", got.OrgID)
			}
			if got.Active != w.Active || got.Overdue != w.Overdue || got.KEV != w.KEV || math.Abs(got.Weighted-w.Weighted) > 1e-6 {
				t.Errorf("debt of %d = %+v, want %+v", got.OrgID, got, w)
			}
			for _, s := range finding.Severities {
				if got.BySeverity[s] != w.BySeverity[s] {
					t.Errorf("debt of %d: %s = %d, want %d", got.OrgID, s, got.BySeverity[s], w.BySeverity[s])
				}
			}
		}
	}
	check(as(auth.RoleViewer, d), d.ID, d1.ID, d11.ID, d2.ID)
	check(as(auth.RoleOrgAdmin, d1), d1.ID, d11.ID)

	// The platform sees every organization; the national total includes D's.
	debts, err := f.s.Debt(ctx, sys, now)
	must(t, err, "debt of the platform")
	var natDebt, dDebt store.OrgDebt
	for _, x := range debts {
		switch x.OrgID {
		case f.nat.ID:
			natDebt = x
		case d.ID:
			dDebt = x
		}
	}
	if natDebt.Active < dDebt.Active || natDebt.Overdue < dDebt.Overdue || natDebt.Weighted < dDebt.Weighted-1e-6 || dDebt.Active != 6 {
		t.Fatalf("national debt %+v does not include D's %+v", natDebt, dDebt)
	}
	if len(debts) < 10 {
		t.Fatalf("platform debt lists %d organizations", len(debts))
	}
}
