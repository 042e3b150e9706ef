package storetest

import (
	"reflect"
	"slices"
	"testing"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// testRegions covers store.Regions: who may route an organization's and
// an asset's scans, inheritance through the scan policy, and the waiting
// reason of queued jobs.
func testRegions(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	ctx := f.ctx

	// Nothing named anywhere: the route is empty (the platform default).
	sp, err := s.GetScanPolicy(ctx, sys, f.a11.ID)
	must(t, err, "policy")
	if len(sp.Route.Regions) != 0 || sp.Route.FromOrgID != 0 {
		t.Fatalf("route without regions = %+v, want empty", sp.Route)
	}

	// An organization administrator of A routes A1 (below it), not A.
	adminA := as(auth.RoleOrgAdmin, f.a)
	_, err = s.SetOrgRegions(ctx, adminA, f.a.ID, []string{"hanoi"}, false)
	wantErr(t, err, store.ErrForbidden, "org admin routes its own organization")
	_, err = s.SetOrgRegions(ctx, adminA, f.b.ID, []string{"hanoi"}, false)
	wantErr(t, err, store.ErrNotFound, "org admin routes another subtree")
	_, err = s.SetOrgRegions(ctx, as(auth.RoleOrgMember, f.nat), f.a1.ID, []string{"hanoi"}, false)
	wantErr(t, err, store.ErrForbidden, "member routes")
	_, err = s.SetOrgRegions(ctx, adminA, f.a1.ID, []string{"Ha Noi"}, false)
	wantErr(t, err, store.ErrInvalid, "bad region")

	o, err := s.SetOrgRegions(ctx, adminA, f.a1.ID, []string{" HCM", "hanoi", "hcm"}, true)
	must(t, err, "route A1")
	if !slices.Equal(o.Regions, []string{"hanoi", "hcm"}) || !o.CrossCheck {
		t.Fatalf("SetOrgRegions = %q cross %v", o.Regions, o.CrossCheck)
	}
	got, err := s.GetOrg(ctx, sys, f.a1.ID)
	must(t, err, "get A1")
	if !slices.Equal(got.Regions, []string{"hanoi", "hcm"}) || !got.CrossCheck {
		t.Fatalf("stored A1 regions = %q cross %v", got.Regions, got.CrossCheck)
	}
	// Other edits keep the route.
	got.Name = "Renamed"
	must(t, s.UpdateOrg(ctx, adminA, &got), "rename A1")
	if again, _ := s.GetOrg(ctx, sys, f.a1.ID); !slices.Equal(again.Regions, []string{"hanoi", "hcm"}) {
		t.Fatalf("rename lost regions: %q", again.Regions)
	}
	// The same route again writes nothing.
	before := auditCount(t, f, "org", f.a1.ID)
	_, err = s.SetOrgRegions(ctx, adminA, f.a1.ID, []string{"hcm", "hanoi"}, true)
	must(t, err, "same route")
	if n := auditCount(t, f, "org", f.a1.ID); n != before {
		t.Fatalf("same route audited again: %d → %d entries", before, n)
	}

	// A11 inherits A1's route, cross-check included; A and B see none.
	want := org.Route{Regions: []string{"hanoi", "hcm"}, CrossCheck: true, FromOrgID: f.a1.ID}
	for _, id := range []int64{f.a1.ID, f.a11.ID} {
		sp, err := s.GetScanPolicy(ctx, as(auth.RoleViewer, f.a11), f.a11.ID)
		must(t, err, "policy A11")
		if !reflect.DeepEqual(sp.Route, want) {
			t.Fatalf("route of %d = %+v, want %+v", id, sp.Route, want)
		}
	}
	if sp, _ := s.GetScanPolicy(ctx, sys, f.b1.ID); len(sp.Route.Regions) != 0 {
		t.Fatalf("B1 route = %+v, want none", sp.Route)
	}
	// The platform routes the national root; A11's own regions win.
	_, err = s.SetOrgRegions(ctx, as(auth.RolePlatformAdmin, f.nat), f.nat.ID, []string{"default"}, false)
	must(t, err, "platform admin routes the root")
	if sp, _ := s.GetScanPolicy(ctx, sys, f.b1.ID); !reflect.DeepEqual(sp.Route, org.Route{Regions: []string{"default"}, FromOrgID: f.nat.ID}) {
		t.Fatalf("B1 route = %+v, want the root's", sp.Route)
	}
	_, err = s.SetOrgRegions(ctx, adminA, f.a11.ID, []string{"danang"}, false)
	must(t, err, "route A11")
	if sp, _ := s.GetScanPolicy(ctx, sys, f.a11.ID); !reflect.DeepEqual(sp.Route, org.Route{Regions: []string{"danang"}, FromOrgID: f.a11.ID}) {
		t.Fatalf("A11 own route = %+v", sp.Route)
	}
	// Clearing inherits again.
	_, err = s.SetOrgRegions(ctx, adminA, f.a11.ID, nil, false)
	must(t, err, "clear A11")
	if sp, _ := s.GetScanPolicy(ctx, sys, f.a11.ID); !reflect.DeepEqual(sp.Route, want) {
		t.Fatalf("A11 cleared route = %+v, want %+v", sp.Route, want)
	}

	// Assets: routed from above their organization too.
	a := f.asset(t, sys, f.a1, asset.KindIPv4, "192.0.2.61")
	if a2, _ := s.GetAsset(ctx, sys, a.ID); len(a2.Regions) != 0 {
		t.Fatalf("new asset regions = %q", a2.Regions)
	}
	_, err = s.SetAssetRegions(ctx, as(auth.RoleOrgAdmin, f.a1), a.ID, []string{"hcm"})
	wantErr(t, err, store.ErrForbidden, "org admin routes its own asset")
	_, err = s.SetAssetRegions(ctx, as(auth.RoleOrgAdmin, f.b), a.ID, []string{"hcm"})
	wantErr(t, err, store.ErrNotFound, "org admin routes another subtree's asset")
	ra, err := s.SetAssetRegions(ctx, adminA, a.ID, []string{"hcm"})
	must(t, err, "route asset")
	if !slices.Equal(ra.Regions, []string{"hcm"}) {
		t.Fatalf("SetAssetRegions = %q", ra.Regions)
	}
	// An update by the asset's own organization keeps its route.
	cur, err := s.GetAsset(ctx, sys, a.ID)
	must(t, err, "get asset")
	cur.Notes = "edited"
	cur.Regions = []string{"elsewhere"}
	must(t, s.UpdateAsset(ctx, as(auth.RoleOrgAdmin, f.a1), &cur), "update asset")
	if got, _ := s.GetAsset(ctx, sys, a.ID); !slices.Equal(got.Regions, []string{"hcm"}) {
		t.Fatalf("UpdateAsset changed regions: %q", got.Regions)
	}
	page, err := s.ListAssets(ctx, sys, store.AssetFilter{OrgID: f.a1.ID})
	must(t, err, "list assets")
	if len(page.Items) != 1 || !slices.Equal(page.Items[0].Regions, []string{"hcm"}) {
		t.Fatalf("listed asset regions = %+v", page.Items)
	}

	// Waiting reasons: set by region for queued jobs, cleared on start.
	b := f.asset(t, sys, f.a1, asset.KindIPv4, "192.0.2.62")
	for _, j := range []store.ScanJob{
		{ID: "rg-1", AssetID: a.ID, Type: "portscan", Region: "hcm", WaitingReason: "no live worker in region hcm"},
		{ID: "rg-2", AssetID: b.ID, Type: "portscan", Region: "hcm"},
		{ID: "rg-3", AssetID: b.ID, Type: "portscan", Region: "hanoi"},
	} {
		must(t, s.CreateScanJob(ctx, sys, &j), "create "+j.ID)
	}
	if j, _ := s.GetScanJob(ctx, sys, "rg-1"); j.WaitingReason != "no live worker in region hcm" {
		t.Fatalf("stored waiting reason = %q", j.WaitingReason)
	}
	regions, err := s.QueuedRegions(ctx)
	must(t, err, "queued regions")
	if !slices.Contains(regions, "hcm") || !slices.Contains(regions, "hanoi") || !slices.IsSorted(regions) {
		t.Fatalf("QueuedRegions = %q", regions)
	}
	must(t, s.SetJobState(ctx, "rg-1", store.JobRunning, "w1", "", nil), "start rg-1")
	n, err := s.SetWaitingReason(ctx, "hcm", "no live worker in region hcm")
	must(t, err, "set waiting")
	if n != 1 {
		t.Fatalf("SetWaitingReason changed %d jobs, want 1 (rg-2; rg-1 runs)", n)
	}
	for id, want := range map[string]string{"rg-1": "", "rg-2": "no live worker in region hcm", "rg-3": ""} {
		if j, _ := s.GetScanJob(ctx, sys, id); j.WaitingReason != want {
			t.Errorf("%s waiting reason = %q, want %q", id, j.WaitingReason, want)
		}
	}
	listed := listJobs(t, f, sys, store.JobFilter{AssetID: b.ID})
	if i := slices.IndexFunc(listed, func(j store.ScanJob) bool { return j.ID == "rg-2" }); i < 0 || listed[i].WaitingReason == "" {
		t.Fatalf("listed jobs lack the waiting reason: %+v", listed)
	}
	if n, _ := s.SetWaitingReason(ctx, "hcm", ""); n != 1 {
		t.Fatalf("clearing changed %d jobs, want 1", n)
	}
	must(t, s.SetJobState(ctx, "rg-3", store.JobDone, "w2", "", nil), "finish rg-3")
	if n, _ := s.SetWaitingReason(ctx, "hanoi", "x"); n != 0 {
		t.Fatalf("a finished job got a waiting reason")
	}
}

func auditCount(t *testing.T, f *fixture, typ string, id int64) int {
	t.Helper()
	return len(all(t, func(after string) (store.Page[store.AuditEntry], error) {
		return f.s.ListAudit(f.ctx, sys, store.AuditFilter{PageRequest: store.PageRequest{After: after}, ObjectType: typ, ObjectID: id})
	}))
}
