package discovery_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/discovery"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/store"
)

// TestWhoMay is the table of who may decide, run and sweep.
func TestWhoMay(t *testing.T) {
	for _, c := range []struct {
		role                             auth.Role
		decide, runAll, runOrg, maySweep bool
	}{
		{auth.RolePlatformAdmin, true, true, true, true},
		{auth.RoleAnalyst, false, true, true, true},
		{auth.RoleOrgAdmin, true, false, true, false},
		{auth.RoleOrgMember, false, false, false, false},
		{auth.RoleViewer, false, false, false, false},
		{auth.RoleWorker, false, false, false, false},
	} {
		p := auth.Principal{Name: "x", Role: c.role, OrgID: 5}
		for what, got := range map[string]error{"decide": discovery.MayDecide(p), "run all": discovery.MayRun(p, 0), "run org": discovery.MayRun(p, 5),
			"sweep": discovery.MaySweep(p)} {
			want := map[string]bool{"decide": c.decide, "run all": c.runAll, "run org": c.runOrg, "sweep": c.maySweep}[what]
			if (got == nil) != want || (got != nil && !errors.Is(got, store.ErrForbidden)) {
				t.Errorf("%s %s: %v, want allowed=%v", c.role, what, got, want)
			}
		}
	}
}

// TestQueueRun: runs are queued by who may, with the sources checked.
func TestQueueRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := newPlatform(t, ctx, "127.77.112.0")
	hn := p.orgs["HN-DEMO"]
	if _, err := p.svc.QueueRun(ctx, as(auth.RoleOrgAdmin, hn), 0, nil); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("an org admin's national run: %v", err)
	}
	if _, err := p.svc.QueueRun(ctx, as(auth.RoleOrgMember, hn), hn, nil); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("a member's run: %v", err)
	}
	if _, err := p.svc.QueueRun(ctx, as(auth.RoleOrgAdmin, hn), p.orgs["HCM-DEMO"], nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a run for another tree: %v", err)
	}
	if _, err := p.svc.QueueRun(ctx, as(auth.RoleOrgAdmin, hn), hn, []string{"ct", "gossip"}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("an unknown source: %v", err)
	}
	j, err := p.svc.QueueRun(ctx, as(auth.RoleOrgAdmin, hn), hn, []string{"WORDLIST", "axfr", "wordlist"})
	if err != nil || j.ID == 0 || j.OrgID != hn || !slices.Equal(j.Sources, []string{"wordlist", "axfr"}) {
		t.Fatalf("org run %+v %v", j, err)
	}
	analyst := auth.Principal{Name: "analyst-1", Role: auth.RoleAnalyst, OrgID: p.orgs["BTTTT-DEMO"]}
	all, err := p.svc.QueueRun(ctx, analyst, 0, nil)
	if err != nil || all.OrgID != 0 || all.RequestedBy != analyst.Name || all.State != store.JobQueued {
		t.Fatalf("national run %+v %v", all, err)
	}
}

// TestProposeEndsDecidedFindings: a candidate decided while its finding
// stayed open (the decision's own close failed) has the finding closed by
// the next run that sees it again.
func TestProposeEndsDecidedFindings(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := newPlatform(t, ctx, "127.77.120.0")
	name := "forgotten.hn-demo.gov.vn"
	if _, err := p.svc.Propose(ctx, "run-1", []discovery.Candidate{{Name: name, Source: discovery.SourceCT}}); err != nil {
		t.Fatal(err)
	}
	page, err := p.st.ListCandidates(ctx, auth.SystemPrincipal, store.CandidateFilter{Query: name})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("candidate %+v %v", page.Items, err)
	}
	// Decided in the store alone: the finding stays open.
	if _, err := p.st.DecideCandidate(ctx, as(auth.RoleOrgAdmin, p.orgs["HN-DEMO"]), page.Items[0].ID, store.CandidateDecision{Reason: "not ours"}); err != nil {
		t.Fatal(err)
	}
	state := func() finding.State {
		fp, err := p.st.ListFindings(ctx, auth.SystemPrincipal, store.FindingFilter{Check: discovery.FindingKind, Query: name})
		if err != nil || len(fp.Items) != 1 {
			t.Fatalf("findings %+v %v", fp.Items, err)
		}
		return fp.Items[0].State
	}
	if s := state(); s != finding.StateOpen {
		t.Fatalf("finding %s before the next run", s)
	}
	time.Sleep(time.Millisecond) // the next run comes later
	rep, err := p.svc.Propose(ctx, "run-2", []discovery.Candidate{{Name: name, Source: discovery.SourceCT}})
	if err != nil || rep.Pending != 0 {
		t.Fatalf("second run %+v %v", rep, err)
	}
	if s := state(); s != finding.StateFixed {
		t.Fatalf("finding %s after the next run", s)
	}
}
