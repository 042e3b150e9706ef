package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

func testAssetCRUD(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	ctx := f.ctx
	member := as(auth.RoleOrgMember, f.a)
	version := func() int64 {
		t.Helper()
		v, err := s.AssetsVersion(ctx)
		must(t, err, "assets version")
		return v
	}
	v0 := version()

	a := asset.Asset{OrgID: f.a1.ID, Kind: "Domain", Value: " Example.VN. ", Criticality: "Critical", SecurityLevel: 3, Tags: []string{"Web", "gov", "web"}, Notes: " main site "}
	must(t, s.CreateAsset(ctx, member, &a), "create asset")
	if a.ID == 0 || a.Value != "example.vn" || a.Kind != asset.KindDomain || a.Criticality != asset.CriticalityCritical ||
		!slices.Equal(a.Tags, []string{"gov", "web"}) || a.Notes != "main site" || a.CreatedAt.IsZero() {
		t.Fatalf("asset not prepared: %+v", a)
	}
	v1 := version()
	if v1 == v0 {
		t.Fatal("AssetsVersion unchanged after create")
	}
	got, err := s.GetAsset(ctx, as(auth.RoleViewer, f.a1), a.ID)
	must(t, err, "get asset")
	if got.Value != a.Value || got.OrgID != a.OrgID || !slices.Equal(got.Tags, a.Tags) || got.SecurityLevel != 3 ||
		got.Notes != "main site" || !got.CreatedAt.Equal(a.CreatedAt) {
		t.Fatalf("get asset = %+v, want %+v", got, a)
	}

	dup := asset.Asset{OrgID: f.a1.ID, Kind: asset.KindDomain, Value: "EXAMPLE.vn"}
	wantErr(t, s.CreateAsset(ctx, member, &dup), store.ErrConflict, "same asset twice in one org")
	other := asset.Asset{OrgID: f.b.ID, Kind: asset.KindDomain, Value: "example.vn"}
	must(t, s.CreateAsset(ctx, sys, &other), "same asset in another org (an overlap, allowed)")
	bad := asset.Asset{OrgID: f.a1.ID, Kind: asset.KindIPv4, Value: "300.1.1.1"}
	wantErr(t, s.CreateAsset(ctx, member, &bad), store.ErrInvalid, "bad ipv4")
	bad = asset.Asset{OrgID: f.a1.ID, Kind: "toaster", Value: "x"}
	wantErr(t, s.CreateAsset(ctx, member, &bad), store.ErrInvalid, "bad kind")
	bad = asset.Asset{OrgID: 999999, Kind: asset.KindDomain, Value: "nowhere.vn"}
	wantErr(t, s.CreateAsset(ctx, sys, &bad), store.ErrNotFound, "unknown org")
	_, err = s.GetAsset(ctx, sys, 999999)
	wantErr(t, err, store.ErrNotFound, "get unknown asset")

	v2 := version()
	a.Criticality, a.Tags, a.Notes = "national", []string{"portal"}, ""
	a.OrgID = f.a11.ID // move within the subtree
	must(t, s.UpdateAsset(ctx, member, &a), "update asset")
	got, err = s.GetAsset(ctx, sys, a.ID)
	must(t, err, "get updated")
	if got.Criticality != asset.CriticalityNational || !slices.Equal(got.Tags, []string{"portal"}) || got.Notes != "" ||
		got.OrgID != f.a11.ID || !got.CreatedAt.Equal(a.CreatedAt) || got.UpdatedAt.Before(got.CreatedAt) {
		t.Fatalf("after update: %+v", got)
	}
	if version() == v2 {
		t.Fatal("AssetsVersion unchanged after update")
	}
	clash := asset.Asset{OrgID: f.a11.ID, Kind: asset.KindHostname, Value: "www.example.vn"}
	must(t, s.CreateAsset(ctx, member, &clash), "create hostname")
	clash.Kind, clash.Value = asset.KindDomain, "example.vn"
	wantErr(t, s.UpdateAsset(ctx, member, &clash), store.ErrConflict, "update into an existing key")
	ghost := asset.Asset{ID: 999999, OrgID: f.a1.ID, Kind: asset.KindDomain, Value: "ghost.vn"}
	wantErr(t, s.UpdateAsset(ctx, sys, &ghost), store.ErrNotFound, "update unknown")

	v3 := version()
	must(t, s.DeleteAsset(ctx, member, a.ID), "delete asset")
	if version() == v3 {
		t.Fatal("AssetsVersion unchanged after delete")
	}
	_, err = s.GetAsset(ctx, sys, a.ID)
	wantErr(t, err, store.ErrNotFound, "get deleted")
	wantErr(t, s.DeleteAsset(ctx, member, a.ID), store.ErrNotFound, "delete twice")
	v4 := version()
	_ = s.CreateAsset(ctx, member, &bad)
	if version() != v4 {
		t.Fatal("AssetsVersion changed by a failed write")
	}
}

func testPagination(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	ctx := f.ctx
	var inA []asset.Asset
	for i := range 25 {
		kind, tags := asset.KindHostname, []string{"even"}
		if i%2 == 1 {
			kind, tags = asset.KindIPv4, []string{"odd"}
		}
		o := f.a
		if i%5 == 0 {
			o = f.a1
		}
		value := fmt.Sprintf("h%02d.example.vn", i)
		if kind == asset.KindIPv4 {
			value = fmt.Sprintf("10.0.0.%d", i)
		}
		inA = append(inA, f.asset(t, sys, o, kind, value, tags...))
	}
	f.asset(t, sys, f.a, asset.KindHostname, "_dmarc.example.vn", "mail")
	for i := range 5 {
		f.asset(t, sys, f.b, asset.KindHostname, fmt.Sprintf("b%d.example.vn", i))
	}
	adminA := as(auth.RoleOrgAdmin, f.a)
	list := func(p auth.Principal, fl store.AssetFilter) []asset.Asset {
		t.Helper()
		return all(t, func(after string) (store.Page[asset.Asset], error) {
			fl.After = after
			return s.ListAssets(ctx, p, fl)
		})
	}

	// Pages of 10 over the 26 assets of A's subtree: 10, 10, 6, in ID order.
	var pages [][]asset.Asset
	after := ""
	for {
		p, err := s.ListAssets(ctx, adminA, store.AssetFilter{PageRequest: store.PageRequest{Limit: 10, After: after}})
		must(t, err, "page")
		pages = append(pages, p.Items)
		if p.Next == "" {
			break
		}
		after = p.Next
	}
	if len(pages) != 3 || len(pages[0]) != 10 || len(pages[1]) != 10 || len(pages[2]) != 6 {
		t.Fatalf("page sizes: %d pages", len(pages))
	}
	flat := slices.Concat(pages...)
	for i := 1; i < len(flat); i++ {
		if flat[i].ID <= flat[i-1].ID {
			t.Fatal("pages are not in ascending ID order")
		}
	}
	if flat[0].ID != inA[0].ID {
		t.Fatal("first item is not the first asset")
	}
	// Exactly a full last page: no empty page after it.
	p, err := s.ListAssets(ctx, adminA, store.AssetFilter{PageRequest: store.PageRequest{Limit: 26}})
	must(t, err, "limit 26")
	if len(p.Items) != 26 || p.Next != "" {
		t.Fatalf("limit 26: %d items, next %q", len(p.Items), p.Next)
	}
	p, err = s.ListAssets(ctx, sys, store.AssetFilter{})
	must(t, err, "default limit")
	if len(p.Items) != 31 {
		t.Fatalf("default limit: %d items", len(p.Items))
	}
	p, err = s.ListAssets(ctx, sys, store.AssetFilter{PageRequest: store.PageRequest{Limit: 5 * store.MaxLimit}})
	must(t, err, "over max limit")
	if len(p.Items) != 31 {
		t.Fatalf("over max limit: %d items", len(p.Items))
	}
	_, err = s.ListAssets(ctx, sys, store.AssetFilter{PageRequest: store.PageRequest{After: "!!not a cursor"}})
	wantErr(t, err, store.ErrInvalid, "bad cursor")

	// Filters, across pages.
	small := store.PageRequest{Limit: 3}
	if got := list(adminA, store.AssetFilter{PageRequest: small, OrgID: f.a.ID}); len(got) != 21 {
		t.Fatalf("OrgID A: %d, want 21", len(got))
	}
	if got := list(adminA, store.AssetFilter{PageRequest: small, OrgID: f.a.ID, Subtree: true}); len(got) != 26 {
		t.Fatalf("OrgID A subtree: %d, want 26", len(got))
	}
	if got := list(adminA, store.AssetFilter{PageRequest: small, OrgID: f.a1.ID}); len(got) != 5 {
		t.Fatalf("OrgID A1: %d, want 5", len(got))
	}
	if got := list(adminA, store.AssetFilter{PageRequest: small, Kind: asset.KindIPv4}); len(got) != 12 {
		t.Fatalf("kind ipv4: %d, want 12", len(got))
	}
	if got := list(adminA, store.AssetFilter{PageRequest: small, Tag: "Even"}); len(got) != 13 {
		t.Fatalf("tag even: %d, want 13", len(got))
	}
	if got := list(adminA, store.AssetFilter{PageRequest: small, Tag: "ev"}); len(got) != 0 {
		t.Fatalf("tag ev (a prefix, not a tag): %d, want 0", len(got))
	}
	if got := list(sys, store.AssetFilter{PageRequest: small, Criticality: asset.CriticalityNormal}); len(got) != 31 {
		t.Fatalf("criticality normal: %d, want 31", len(got))
	}
	if got := list(sys, store.AssetFilter{Criticality: asset.CriticalityCritical}); len(got) != 0 {
		t.Fatalf("criticality critical: %d", len(got))
	}
	if got := list(adminA, store.AssetFilter{PageRequest: small, Query: "H1"}); len(got) != 5 {
		t.Fatalf("query H1: %d, want 5 (h10..h18 hostnames, case-insensitive)", len(got))
	}
	if got := list(adminA, store.AssetFilter{Query: "_"}); len(got) != 1 || got[0].Value != "_dmarc.example.vn" {
		t.Fatalf("query _: %d, want only _dmarc (LIKE wildcards escaped)", len(got))
	}
	if got := list(adminA, store.AssetFilter{Query: "%"}); len(got) != 0 {
		t.Fatalf("query %%: %d, want 0", len(got))
	}
	if got := list(adminA, store.AssetFilter{PageRequest: small, OrgID: f.a.ID, Subtree: true, Kind: asset.KindHostname, Query: "example"}); len(got) != 14 {
		t.Fatalf("combined filters: %d, want 14", len(got))
	}
	if got := list(as(auth.RoleViewer, f.b), store.AssetFilter{}); len(got) != 5 {
		t.Fatalf("viewer of B: %d, want 5", len(got))
	}

	// Organizations page the same way.
	for i := range 7 {
		f.org(t, sys, f.b1.ID, fmt.Sprintf("B1U%d", i), "unit")
	}
	got := all(t, func(after string) (store.Page[org.Organization], error) {
		return s.ListOrgs(ctx, as(auth.RoleViewer, f.b), store.OrgFilter{PageRequest: store.PageRequest{Limit: 2, After: after}})
	})
	if len(got) != 9 {
		t.Fatalf("orgs of B in pages of 2: %d, want 9", len(got))
	}
}

func testEachAsset(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	for i := range 10 {
		o := f.a11
		if i%2 == 0 {
			o = f.b1
		}
		f.asset(t, sys, o, asset.KindIPv4, fmt.Sprintf("192.0.2.%d", i+1))
	}
	collect := func(p auth.Principal) []asset.Asset {
		t.Helper()
		var out []asset.Asset
		must(t, s.EachAsset(f.ctx, p, func(a asset.Asset) error { out = append(out, a); return nil }), "each asset")
		return out
	}
	if got := collect(sys); len(got) != 10 {
		t.Fatalf("system sees %d, want 10", len(got))
	}
	got := collect(as(auth.RoleOrgAdmin, f.a))
	if len(got) != 5 {
		t.Fatalf("admin of A sees %d, want 5", len(got))
	}
	for i, a := range got {
		if a.OrgID != f.a11.ID || (i > 0 && a.ID <= got[i-1].ID) {
			t.Fatalf("each asset: %+v out of scope or order", a)
		}
	}
	if got := collect(as(auth.RoleWorker, f.b)); len(got) != 5 {
		t.Fatalf("worker of B sees %d, want 5", len(got))
	}
	stop := fmt.Errorf("stop")
	n := 0
	err := s.EachAsset(f.ctx, sys, func(asset.Asset) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("fn error not returned: %v after %d", err, n)
	}
	wantErr(t, s.EachAsset(f.ctx, as(auth.RoleSensor, f.a), func(asset.Asset) error { return nil }), store.ErrForbidden, "sensor reads assets")
}
