package storetest

import (
	"errors"
	"reflect"
	"testing"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

// RunScanProfiles covers the scan profile fields of an organization's
// policy (ports, families, rate) and store.ScanProfiles: per-asset
// overrides, their validation, audit and tenancy, and inheritance.
func RunScanProfiles(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	f := newFixture(t, s)
	t.Run("Policy", func(t *testing.T) { testPolicyProfile(t, f) })
	t.Run("Asset", func(t *testing.T) { testAssetProfile(t, f) })
	t.Run("Tenancy", func(t *testing.T) { testProfileTenancy(t, f) })
}

func ptr[T any](v T) *T { return &v }

func wantField(t *testing.T, err error, field, what string) {
	t.Helper()
	var pe *store.ProfileError
	if !errors.As(err, &pe) || pe.Field != field || !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("%s: got %v, want an invalid %s", what, err, field)
	}
}

func testPolicyProfile(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	admin := as(auth.RoleOrgAdmin, f.a)
	in := store.ScanPolicy{Exclusions: []string{}, Blackouts: []store.Window{},
		Ports: " 22,80,8000-8100 ", Families: []string{"tls", "HTTP", "tls"}, Rate: 300, UDP: true}
	must(t, s.SetScanPolicy(ctx, admin, f.a1.ID, in), "set policy with a profile")
	sp, err := s.GetScanPolicy(ctx, admin, f.a1.ID)
	must(t, err, "get policy")
	if sp.Ports != "22,80,8000-8100" || !reflect.DeepEqual(sp.Families, []string{"http", "tls"}) || sp.Rate != 300 || !sp.UDP {
		t.Fatalf("policy = %+v", sp)
	}
	es := auditOf(t, s, "scan_policy", f.a1.ID)
	wantAudit(t, es, admin.Name, "scanpolicy.update")

	// Families back to empty: every family again, read as nil.
	in.Families = []string{}
	must(t, s.SetScanPolicy(ctx, admin, f.a1.ID, in), "clear families")
	if sp, _ = s.GetScanPolicy(ctx, admin, f.a1.ID); sp.Families != nil {
		t.Fatalf("cleared families = %#v", sp.Families)
	}
	for _, c := range []struct {
		sp    store.ScanPolicy
		field string
	}{
		{store.ScanPolicy{Ports: "22,99999"}, "ports"},
		{store.ScanPolicy{Ports: "ssh"}, "ports"},
		{store.ScanPolicy{Families: []string{"all"}}, "families"},
		{store.ScanPolicy{Families: []string{"t ls"}}, "families"},
		{store.ScanPolicy{Rate: -1}, "rate"},
		{store.ScanPolicy{Rate: store.MaxScanRate + 1}, "rate"},
	} {
		wantField(t, s.SetScanPolicy(ctx, admin, f.a1.ID, c.sp), c.field, "policy "+c.field)
	}
	if sp, _ = s.GetScanPolicy(ctx, admin, f.a1.ID); sp.Ports != "22,80,8000-8100" || sp.Rate != 300 {
		t.Fatalf("a refused policy changed it: %+v", sp)
	}
}

func testAssetProfile(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	admin := as(auth.RoleOrgAdmin, f.a)
	a := f.asset(t, sys, f.a1, asset.KindIPv4, "192.0.2.60")
	pr, err := s.GetAssetScanProfile(ctx, admin, a.ID)
	must(t, err, "get unset profile")
	if !pr.IsZero() {
		t.Fatalf("unset profile = %+v", pr)
	}
	in := store.ScanProfile{Ports: ptr(" 443 "), Families: ptr([]string{"tls"}), Rate: ptr(50), UDP: ptr(false)}
	must(t, s.SetAssetScanProfile(ctx, admin, a.ID, in), "set profile")
	pr, err = s.GetAssetScanProfile(ctx, admin, a.ID)
	must(t, err, "get profile")
	want := store.ScanProfile{Ports: ptr("443"), Families: ptr([]string{"tls"}), Rate: ptr(50), UDP: ptr(false)}
	if !reflect.DeepEqual(pr, want) {
		t.Fatalf("profile = %+v, want %+v", pr, want)
	}
	must(t, s.SetAssetScanProfile(ctx, admin, a.ID, in), "set the same profile again")
	wantAudit(t, auditOf(t, s, "asset_scan_profile", a.ID), admin.Name, "scanprofile.create")

	// Inheritance: the asset's fields win, the rest come from the policy.
	pol, err := s.GetScanPolicy(ctx, admin, f.a1.ID)
	must(t, err, "get policy")
	eff := pol.ForAsset(pr)
	if eff.Ports != "443" || !reflect.DeepEqual(eff.Families, []string{"tls"}) || eff.Rate != 50 || eff.UDP || eff.Credentials != pol.Credentials {
		t.Fatalf("effective = %+v (policy %+v)", eff, pol)
	}

	// An empty family list overrides a restricting policy with "every family".
	must(t, s.SetAssetScanProfile(ctx, admin, a.ID, store.ScanProfile{Families: ptr([]string{}), Credentials: ptr(true)}), "set all families")
	pr, _ = s.GetAssetScanProfile(ctx, admin, a.ID)
	if pr.Families == nil || len(*pr.Families) != 0 || pr.Ports != nil || pr.Rate != nil || pr.UDP != nil || pr.Credentials == nil || !*pr.Credentials {
		t.Fatalf("profile = %+v", pr)
	}
	wantField(t, s.SetAssetScanProfile(ctx, admin, a.ID, store.ScanProfile{Ports: ptr("0")}), "ports", "port 0")
	wantField(t, s.SetAssetScanProfile(ctx, admin, a.ID, store.ScanProfile{Rate: ptr(-5)}), "rate", "rate -5")
	wantField(t, s.SetAssetScanProfile(ctx, admin, a.ID, store.ScanProfile{Families: ptr([]string{"none"})}), "families", "none")

	must(t, s.SetAssetScanProfile(ctx, admin, a.ID, store.ScanProfile{}), "remove profile")
	if pr, _ = s.GetAssetScanProfile(ctx, admin, a.ID); !pr.IsZero() {
		t.Fatalf("removed profile = %+v", pr)
	}
	wantAudit(t, auditOf(t, s, "asset_scan_profile", a.ID), admin.Name, "scanprofile.create", "scanprofile.update", "scanprofile.delete")
	_, err = s.GetAssetScanProfile(ctx, admin, 999999)
	wantErr(t, err, store.ErrNotFound, "profile of an unknown asset")

	// Deleting the asset deletes its profile with it.
	must(t, s.SetAssetScanProfile(ctx, admin, a.ID, store.ScanProfile{Rate: ptr(10)}), "set again")
	must(t, s.DeleteAsset(ctx, sys, a.ID), "delete asset")
	_, err = s.GetAssetScanProfile(ctx, sys, a.ID)
	wantErr(t, err, store.ErrNotFound, "profile of a deleted asset")
}

func testProfileTenancy(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	theirs := f.asset(t, sys, f.b1, asset.KindIPv4, "198.51.100.60")
	mine := f.asset(t, sys, f.a11, asset.KindIPv4, "192.0.2.61")
	must(t, s.SetAssetScanProfile(ctx, sys, theirs.ID, store.ScanProfile{Rate: ptr(5)}), "B's profile")

	admin := as(auth.RoleOrgAdmin, f.a)
	_, err := s.GetAssetScanProfile(ctx, admin, theirs.ID)
	wantErr(t, err, store.ErrNotFound, "admin of A reads B's profile")
	wantErr(t, s.SetAssetScanProfile(ctx, admin, theirs.ID, store.ScanProfile{}), store.ErrNotFound, "admin of A removes B's profile")
	if pr, err := s.GetAssetScanProfile(ctx, sys, theirs.ID); err != nil || pr.Rate == nil || *pr.Rate != 5 {
		t.Fatalf("B's profile changed: %+v %v", pr, err)
	}
	// An admin of A changes the profile of an asset down its subtree.
	must(t, s.SetAssetScanProfile(ctx, admin, mine.ID, store.ScanProfile{UDP: ptr(true)}), "admin of A sets A11's asset")

	viewer := as(auth.RoleViewer, f.a11)
	if _, err := s.GetAssetScanProfile(ctx, viewer, mine.ID); err != nil {
		t.Fatalf("viewer reads the profile: %v", err)
	}
	wantErr(t, s.SetAssetScanProfile(ctx, viewer, mine.ID, store.ScanProfile{}), store.ErrForbidden, "viewer removes the profile")
	wantErr(t, s.SetScanPolicy(ctx, viewer, f.a11.ID, store.ScanPolicy{Rate: 1}), store.ErrForbidden, "viewer sets the rate")
	if pr, _ := s.GetAssetScanProfile(ctx, sys, mine.ID); pr.UDP == nil || !*pr.UDP {
		t.Fatalf("viewer changed the profile: %+v", pr)
	}
}
