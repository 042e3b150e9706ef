package discovery_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/discovery"
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
