package findings_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/findings"
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
