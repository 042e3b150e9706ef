package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

// RunDNS is the conformance suite of store.DNS, for stores that implement
// it (open returns a new, empty, migrated store).
func RunDNS(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store, ds store.DNS)
	}{
		{"ClientNetworks", testDNSClientNetworks},
		{"BlockedMergeAndRedelivery", testDNSBlockedMerge},
		{"BlockedTenancy", testDNSBlockedTenancy},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			ds, ok := s.(store.DNS)
			if !ok {
				t.Skipf("%T does not keep protective DNS state", s)
			}
			tc.fn(t, s, ds)
		})
	}
}

func testDNSClientNetworks(t *testing.T, s store.Store, ds store.DNS) {
	ctx := context.Background()
	f := newFixture(t, s)
	wide := f.asset(t, sys, f.a1, asset.KindCIDR, "198.51.100.0/24")
	narrow := f.asset(t, sys, f.a1, asset.KindCIDR, "198.51.100.0/28")
	f.asset(t, sys, f.b1, asset.KindCIDR, "203.0.113.0/24")

	n := store.DNSClientNetwork{OrgID: f.a1.ID, Prefix: "198.51.100.9/29", Note: "NAT egress"}
	must(t, ds.CreateDNSClientNetwork(ctx, as(auth.RoleOrgAdmin, f.a), &n), "create")
	if n.ID == 0 || n.Prefix != "198.51.100.8/29" || n.AssetID != narrow.ID || n.OrgCode != "A1" {
		t.Fatalf("created %+v (want the /28's asset %d)", n, narrow.ID)
	}
	m := store.DNSClientNetwork{OrgID: f.a1.ID, Prefix: "198.51.100.128"}
	must(t, ds.CreateDNSClientNetwork(ctx, sys, &m), "create address")
	if m.Prefix != "198.51.100.128/32" || m.AssetID != wide.ID {
		t.Fatalf("created %+v", m)
	}
	// Outside its own assets, another member's range, twice, or by
	// someone outside the subtree: refused.
	err := ds.CreateDNSClientNetwork(ctx, sys, &store.DNSClientNetwork{OrgID: f.a1.ID, Prefix: "203.0.113.0/25"})
	wantErr(t, err, store.ErrInvalid, "another organization's range")
	err = ds.CreateDNSClientNetwork(ctx, sys, &store.DNSClientNetwork{OrgID: f.a1.ID, Prefix: "198.51.100.8/29"})
	wantErr(t, err, store.ErrConflict, "twice")
	err = ds.CreateDNSClientNetwork(ctx, as(auth.RoleOrgAdmin, f.b), &store.DNSClientNetwork{OrgID: f.a1.ID, Prefix: "198.51.100.64/26"})
	if err == nil {
		t.Fatal("a member of another subtree registered a client network")
	}
	err = ds.CreateDNSClientNetwork(ctx, as(auth.RoleViewer, f.a1), &store.DNSClientNetwork{OrgID: f.a1.ID, Prefix: "198.51.100.64/26"})
	wantErr(t, err, store.ErrForbidden, "a viewer")

	for _, c := range []struct {
		p    auth.Principal
		want int
	}{{as(auth.RoleViewer, f.a), 2}, {as(auth.RoleOrgAdmin, f.b), 0}, {sys, 2}} {
		got, err := ds.ListDNSClientNetworks(ctx, c.p)
		must(t, err, "list")
		if len(got) != c.want {
			t.Errorf("%s sees %d networks, want %d", c.p.Name, len(got), c.want)
		}
	}
	if err := ds.DeleteDNSClientNetwork(ctx, as(auth.RoleOrgAdmin, f.b), n.ID); err == nil {
		t.Error("a member of another subtree removed a client network")
	}
	must(t, ds.DeleteDNSClientNetwork(ctx, as(auth.RoleOrgAdmin, f.a1), n.ID), "delete")
	got, err := ds.ListDNSClientNetworks(ctx, sys)
	must(t, err, "list")
	if len(got) != 1 || got[0].ID != m.ID {
		t.Fatalf("after delete: %+v", got)
	}
}

func testDNSBlockedMerge(t *testing.T, s store.Store, ds store.DNS) {
	ctx := context.Background()
	f := newFixture(t, s)
	a := f.asset(t, sys, f.a1, asset.KindCIDR, "198.51.100.0/24")
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	item := func(n int64, first, last time.Time) store.DNSBlocked {
		return store.DNSBlocked{OrgID: f.a1.ID, AssetID: a.ID, Client: "198.51.100.7", Name: "evil.example", List: "malware", Count: n, First: first, Last: last}
	}
	got, dup, err := ds.RecordDNSBlocked(ctx, store.DNSBlockedReport{Resolver: "hn1", ReportID: "r1", At: t0, Items: []store.DNSBlocked{item(1000, t0, t0.Add(time.Second))}})
	must(t, err, "record")
	if dup || len(got) != 1 || got[0].Count != 1000 || got[0].OrgCode != "A1" || got[0].Resolver != "hn1" || got[0].ID == 0 {
		t.Fatalf("first: dup %v %+v", dup, got)
	}
	got, dup, err = ds.RecordDNSBlocked(ctx, store.DNSBlockedReport{Resolver: "hcm1", ReportID: "r1", At: t0, Items: []store.DNSBlocked{item(5, t0.Add(-time.Minute), t0.Add(time.Minute))}})
	must(t, err, "record from another resolver")
	if dup || len(got) != 1 || got[0].Count != 1005 || got[0].Reports != 2 || !got[0].First.Equal(t0.Add(-time.Minute)) || !got[0].Last.Equal(t0.Add(time.Minute)) || got[0].Resolver != "hcm1" {
		t.Fatalf("merged: %+v", got)
	}
	got, dup, err = ds.RecordDNSBlocked(ctx, store.DNSBlockedReport{Resolver: "hn1", ReportID: "r1", At: t0, Items: []store.DNSBlocked{item(1000, t0, t0.Add(time.Second))}})
	must(t, err, "redelivery")
	if !dup || len(got) != 1 || got[0].Count != 1005 {
		t.Fatalf("redelivery: dup %v %+v", dup, got)
	}
	_, _, err = ds.RecordDNSBlocked(ctx, store.DNSBlockedReport{Resolver: "hn1", ReportID: "r2", Items: []store.DNSBlocked{{OrgID: f.a1.ID, Client: "x", Name: "y", Count: 1}}})
	if !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("an item without an asset: %v", err)
	}
}

func testDNSBlockedTenancy(t *testing.T, s store.Store, ds store.DNS) {
	ctx := context.Background()
	f := newFixture(t, s)
	t0 := time.Now().UTC()
	for _, o := range []struct {
		org    int64
		client string
	}{{f.a1.ID, "198.51.100.7"}, {f.a11.ID, "198.51.100.77"}, {f.b1.ID, "203.0.113.9"}} {
		_, _, err := ds.RecordDNSBlocked(ctx, store.DNSBlockedReport{Resolver: "hn1", ReportID: o.client, At: t0,
			Items: []store.DNSBlocked{{OrgID: o.org, AssetID: 1, Client: o.client, Name: "evil.example", List: "malware", Count: 3, First: t0, Last: t0}}})
		must(t, err, "record "+o.client)
	}
	for _, c := range []struct {
		p    auth.Principal
		want int
	}{
		{as(auth.RoleOrgMember, f.a1), 2},
		{as(auth.RoleOrgMember, f.a11), 1},
		{as(auth.RoleViewer, f.b1), 1},
		{as(auth.RolePlatformAdmin, f.nat), 3},
		{auth.Principal{Name: "nobody", Role: auth.RoleOrgMember}, 0},
	} {
		got, err := ds.ListDNSBlocked(ctx, c.p, store.DNSBlockedFilter{})
		must(t, err, "list")
		if len(got) != c.want {
			t.Errorf("%s sees %d blocked clients, want %d: %+v", c.p.Name, len(got), c.want, got)
		}
		for _, b := range got {
			if c.p.OrgID == f.b1.ID && b.Client != "203.0.113.9" {
				t.Errorf("B1 sees another organization's client %s", b.Client)
			}
		}
	}
	got, err := ds.ListDNSBlocked(ctx, sys, store.DNSBlockedFilter{Client: "198.51.100.77"})
	must(t, err, "filter")
	if len(got) != 1 || got[0].OrgID != f.a11.ID {
		t.Fatalf("by client: %+v", got)
	}
}
