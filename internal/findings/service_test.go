package findings_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/findings"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

func TestMay(t *testing.T) {
	analyst := auth.Principal{Name: "an", Role: auth.RoleAnalyst}
	viewer := auth.Principal{Name: "v", Role: auth.RoleViewer, OrgID: 1}
	for _, c := range []struct {
		p    auth.Principal
		a    finding.Action
		want error
	}{
		{analyst, finding.ActionAcknowledge, nil},
		{analyst, finding.ActionResolve, nil},
		{analyst, finding.ActionSeen, finding.ErrInvalid},
		{analyst, finding.ActionExpire, finding.ErrInvalid},
		{viewer, finding.ActionAcknowledge, store.ErrForbidden},
		{viewer, finding.ActionRequestVerify, store.ErrForbidden},
	} {
		if err := findings.May(c.p, c.a); !errors.Is(err, c.want) && !(c.want == nil && err == nil) {
			t.Errorf("May(%s, %s) = %v, want %v", c.p.Role, c.a, err, c.want)
		}
	}
}

// TestTransitionMany: each finding moves on its own; a refused one is
// reported, the others keep their change; verification asks one scan
// per asset.
func TestTransitionMany(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	sched := &fakeScheduler{}
	w.svc = findings.New(findings.Deps{Store: w.st, Scheduler: sched, Now: func() time.Time { return w.now }})
	a, err := w.st.ListAssets(ctx, auth.SystemPrincipal, store.AssetFilter{OrgID: w.orgA.ID})
	must(t, err)
	var seen []finding.Finding
	for _, c := range []string{"tls.a", "tls.b"} {
		seen = append(seen, finding.Finding{OrgID: w.orgA.ID, AssetID: a.Items[0].ID, Check: c, Severity: finding.High, Target: "127.60.0.3:443"})
	}
	ch, err := w.svc.Record(ctx, finding.Batch{JobID: "j1", At: w.now.Add(-time.Hour), Seen: seen})
	must(t, err)
	ids := []int64{ch[0].Finding.ID, ch[1].Finding.ID, 999999}
	member := auth.Principal{Name: "a-member", Role: auth.RoleOrgMember, OrgID: w.orgA.ID, OrgPath: w.orgA.Path}
	res, err := w.svc.TransitionMany(ctx, member, ids, finding.Transition{Action: finding.ActionRequestVerify})
	must(t, err)
	if len(res.Done) != 2 || len(res.Failed) != 1 || !errors.Is(res.Failed[999999], store.ErrNotFound) {
		t.Fatalf("bulk: %+v", res)
	}
	if len(sched.queued) != 1 || sched.queued[0].Reason != "verify" || sched.queued[0].RequestedBy != "a-member" {
		t.Fatalf("one verification scan for the one asset: %+v", sched.queued)
	}
	f, err := w.st.GetFinding(ctx, member, ids[0])
	must(t, err)
	if f.VerifyRequestedAt == nil {
		t.Fatal("verification not recorded")
	}
	// Another organization's member touches nothing.
	other := auth.Principal{Name: "b-member", Role: auth.RoleOrgMember, OrgID: w.orgB.ID, OrgPath: w.orgB.Path}
	res, err = w.svc.TransitionMany(ctx, other, ids[:2], finding.Transition{Action: finding.ActionAcknowledge})
	must(t, err)
	if len(res.Done) != 0 || len(res.Failed) != 2 {
		t.Fatalf("cross-tenant bulk: %+v", res)
	}
	if _, err := w.svc.TransitionMany(ctx, member, make([]int64, findings.MaxBulk+1), finding.Transition{Action: finding.ActionAcknowledge}); !errors.Is(err, findings.ErrBadRequest) {
		t.Fatalf("too many: %v", err)
	}
}

// TestWaiversAreRequests (security review F8): an organization's own
// members and administrators only ask; an administrator of an organization
// above (or the national level) decides, and is recorded as the approver.
func TestWaiversAreRequests(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	sys := auth.SystemPrincipal
	// A child agency under A.
	child := org.Organization{Code: "A1", Name: "A1", Kind: org.KindAgency, ParentID: w.orgA.ID}
	must(t, w.st.CreateOrg(ctx, sys, &child))
	ca := asset.Asset{OrgID: child.ID, Kind: asset.KindIPv4, Value: "127.60.2.1"}
	must(t, w.st.CreateAsset(ctx, sys, &ca))
	ch, err := w.svc.Record(ctx, finding.Batch{JobID: "j", At: w.now.Add(-time.Hour),
		Seen: []finding.Finding{{OrgID: child.ID, AssetID: ca.ID, Check: "tls.weak", Severity: finding.High, Target: "127.60.2.1:443"}}})
	must(t, err)
	id := ch[0].Finding.ID
	until := w.now.Add(30 * 24 * time.Hour)
	childAdmin := auth.Principal{Name: "a1-admin", Role: auth.RoleOrgAdmin, OrgID: child.ID, OrgPath: child.Path}
	parentAdmin := auth.Principal{Name: "a-admin", Role: auth.RoleOrgAdmin, OrgID: w.orgA.ID, OrgPath: w.orgA.Path}
	otherAdmin := auth.Principal{Name: "b-admin", Role: auth.RoleOrgAdmin, OrgID: w.orgB.ID, OrgPath: w.orgB.Path}

	f, err := w.svc.Transition(ctx, childAdmin, id, finding.Transition{Action: finding.ActionFalsePositive, Reason: "a honeypot", Until: until, Approve: "Minister"})
	must(t, err)
	if f.State != finding.StateOpen || f.Waiver == nil || f.Approver != "" {
		t.Fatalf("the owner's false positive is a request: %+v", f)
	}
	for _, p := range []auth.Principal{childAdmin, otherAdmin} {
		if _, err := w.svc.Transition(ctx, p, id, finding.Transition{Action: finding.ActionApprove}); !errors.Is(err, store.ErrForbidden) && !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s approved: %v", p.Name, err)
		}
	}
	f, err = w.svc.Transition(ctx, parentAdmin, id, finding.Transition{Action: finding.ActionApprove})
	must(t, err)
	if f.State != finding.StateFalsePositive || f.Approver != "a-admin" || f.Waiver != nil || f.Reason != "a honeypot" || !f.Until.Equal(until.UTC().Truncate(time.Microsecond)) {
		t.Fatalf("approved: %+v", f)
	}
	// The parent's own acceptance applies at once, with itself as approver.
	f, err = w.svc.Transition(ctx, parentAdmin, id, finding.Transition{Action: finding.ActionReopen})
	must(t, err)
	f, err = w.svc.Transition(ctx, parentAdmin, id, finding.Transition{Action: finding.ActionAcceptRisk, Reason: "compensating WAF", Until: until, Approve: "someone else"})
	must(t, err)
	if f.State != finding.StateRiskAccepted || f.Approver != "a-admin" {
		t.Fatalf("a decider's acceptance: %+v", f)
	}
	// A rejected request leaves the finding as it was.
	must2 := func(_ finding.Finding, err error) { t.Helper(); must(t, err) }
	must2(w.svc.Transition(ctx, parentAdmin, id, finding.Transition{Action: finding.ActionReopen}))
	must2(w.svc.Transition(ctx, childAdmin, id, finding.Transition{Action: finding.ActionAcceptRisk, Reason: "later", Until: until}))
	f, err = w.svc.Transition(ctx, parentAdmin, id, finding.Transition{Action: finding.ActionReject, Reason: "fix it"})
	must(t, err)
	if f.State != finding.StateOpen || f.Waiver != nil {
		t.Fatalf("rejected: %+v", f)
	}
}

// TestManualScanLimits (security review F11): an asset already waiting is
// not queued twice, the organization's blackout holds for manual scans,
// and an organization's hourly quota bounds what it can ask for.
func TestManualScanLimits(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	sched := &fakeScheduler{}
	w.svc = findings.New(findings.Deps{Store: w.st, Scheduler: sched, ManualJobsPerHour: 2, Now: func() time.Time { return w.now }})
	a, err := w.st.ListAssets(ctx, auth.SystemPrincipal, store.AssetFilter{OrgID: w.orgB.ID})
	must(t, err)
	member := auth.Principal{Name: "b-member", Role: auth.RoleOrgMember, OrgID: w.orgB.ID, OrgPath: w.orgB.Path}
	jobs, err := w.svc.RequestScan(ctx, member, findings.ScanRequest{OrgID: w.orgB.ID})
	must(t, err)
	if len(jobs) != len(a.Items) || len(sched.queued) != len(a.Items) {
		t.Fatalf("first request: %d jobs, %d queued for %d assets", len(jobs), len(sched.queued), len(a.Items))
	}
	// Again while they wait: the same jobs, nothing new queued, no quota used.
	again, err := w.svc.RequestScan(ctx, member, findings.ScanRequest{OrgID: w.orgB.ID})
	must(t, err)
	if len(again) != len(jobs) || len(sched.queued) != len(a.Items) || again[0].ID != jobs[0].ID {
		t.Fatalf("second request: %d jobs (%v), %d queued", len(again), again, len(sched.queued))
	}
	// The jobs end; the quota (2 an hour) is spent.
	for _, j := range jobs {
		must(t, w.st.SetJobState(ctx, j.ID, store.JobDone, "w", "", nil))
	}
	if _, err := w.svc.RequestScan(ctx, member, findings.ScanRequest{AssetID: a.Items[0].ID}); !errors.Is(err, findings.ErrQuota) {
		t.Fatalf("over quota: %v", err)
	}
	w.now = w.now.Add(31 * time.Minute) // one job's worth refilled
	if _, err := w.svc.RequestScan(ctx, member, findings.ScanRequest{AssetID: a.Items[0].ID}); err != nil {
		t.Fatalf("after refill: %v", err)
	}
	// A blackout all week: no manual scan starts.
	all := store.Window{Days: []int{0, 1, 2, 3, 4, 5, 6}, Start: "00:00", End: "23:59"}
	must(t, w.st.SetScanPolicy(ctx, auth.SystemPrincipal, w.orgA.ID, store.ScanPolicy{Blackouts: []store.Window{all}}))
	if _, err := w.svc.RequestScan(ctx, member, findings.ScanRequest{OrgID: w.orgB.ID}); err != nil && !errors.Is(err, findings.ErrQuota) {
		t.Fatalf("another organization's blackout stopped B: %v", err)
	}
	admin := auth.Principal{Name: "admin", Role: auth.RolePlatformAdmin}
	if _, err := w.svc.RequestScan(ctx, admin, findings.ScanRequest{OrgID: w.orgA.ID}); !errors.Is(err, findings.ErrBlackout) {
		t.Fatalf("blackout: %v", err)
	}
}

// TestRecordTieredDueDates: the service places each finding's asset by
// its criticality and security level, so a critical finding on a national
// asset is due in 3 days, on a level-4 system in 7, on a normal asset in
// 15 (finding.DefaultPolicy).
func TestRecordTieredDueDates(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	sys := auth.SystemPrincipal
	mk := func(value string, crit asset.Criticality, level int) asset.Asset {
		a := asset.Asset{OrgID: w.orgA.ID, Kind: asset.KindIPv4, Value: value, Criticality: crit, SecurityLevel: level}
		must(t, w.st.CreateAsset(ctx, sys, &a))
		return a
	}
	national := mk("127.60.2.1", asset.CriticalityNational, 1)
	level4 := mk("127.60.2.2", asset.CriticalityNormal, 4)
	normal := mk("127.60.2.3", asset.CriticalityNormal, 1)
	var seen []finding.Finding
	for _, a := range []asset.Asset{national, level4, normal} {
		seen = append(seen, finding.Finding{OrgID: a.OrgID, AssetID: a.ID, Check: "vuln.known-cve", Severity: finding.Critical,
			Target: a.Value + ":22", Subject: "CVE-2024-6387", CVE: []string{"CVE-2024-6387"}})
	}
	changes, err := w.svc.Record(ctx, finding.Batch{JobID: "tiers", At: w.now, Seen: seen})
	must(t, err)
	want := map[int64]int{national.ID: 3, level4.ID: 7, normal.ID: 15}
	if len(changes) != 3 {
		t.Fatalf("%d changes", len(changes))
	}
	for _, c := range changes {
		if c.Finding.DueAt == nil || int(c.Finding.DueAt.Sub(w.now).Hours()/24) != want[c.Finding.AssetID] {
			t.Errorf("asset %d: due %v, want %d days", c.Finding.AssetID, c.Finding.DueAt, want[c.Finding.AssetID])
		}
	}
}
