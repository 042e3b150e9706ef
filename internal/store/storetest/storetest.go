// Package storetest is the conformance suite for store.Store: every
// implementation runs Run against a fresh, migrated store and must pass it
// unchanged. It covers the contract in store.go: CRUD of each entity, the
// organization tree and its paths, pagination and filters, tenancy (what
// each role may read and write, and that objects outside the subtree are
// not found), the audit log, imports, AssetsVersion, token and login
// lookups, and concurrent writers.
//
// It imports only the domain packages and the standard library, so it can
// be used by any implementation's tests.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// Run runs the suite. open must return a new, empty, migrated store for
// each call and arrange for it to be closed when t ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Migrate", testMigrate},
		{"OrgCRUD", testOrgCRUD},
		{"OrgMove", testOrgMove},
		{"Contacts", testContacts},
		{"AssetCRUD", testAssetCRUD},
		{"Pagination", testPagination},
		{"EachAsset", testEachAsset},
		{"Claims", testClaims},
		{"Regions", testRegions},
		{"F13CredentialChanges", testF13CredentialChanges},
		{"F15TOTPSteps", testF15TOTPSteps},
		{"F16OrgIdentity", testF16OrgIdentity},
		{"F17Conflicts", testF17Conflicts},
		{"F22BootstrapToken", testF22BootstrapToken},
		{"TenancyOrgAdmin", testTenancyOrgAdmin},
		{"TenancyRoles", testTenancyRoles},
		{"TenancyStalePrincipal", testTenancyStalePrincipal},
		{"Audit", testAudit},
		{"Import", testImport},
		{"ImportErrors", testImportErrors},
		{"ImportOrgs", testImportOrgs},
		{"Users", testUsers},
		{"Tokens", testTokens},
		{"ConcurrentWriters", testConcurrentWriters},
		{"Scans", testScans},
		{"StaleJobs", testStaleJobs},
		{"Findings", testFindings},
		{"Notify", testNotify},
		{"AlertQueue", testAlertQueue},
		{"Deadlines", testDeadlines},
		{"Dashboard", testDashboard},
		{"Assessments", testAssessments},
		{"Intel", testIntel},
		{"Discovery", testDiscovery},
		{"DiscoverySweep", testDiscoverySweep},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

var sys = auth.SystemPrincipal

// fixture is a small tree with a principal for each role:
//
//	NAT (national)
//	├── A (ministry)
//	│   └── A1 (agency)
//	│       └── A11 (unit)
//	└── B (ministry)
//	    └── B1 (agency)
type fixture struct {
	s                      store.Store
	ctx                    context.Context
	nat, a, a1, a11, b, b1 org.Organization
}

func newFixture(t *testing.T, s store.Store) *fixture {
	t.Helper()
	f := &fixture{s: s, ctx: context.Background()}
	f.nat = f.org(t, sys, 0, "NAT", org.KindNational)
	f.a = f.org(t, sys, f.nat.ID, "A", org.KindMinistry)
	f.a1 = f.org(t, sys, f.a.ID, "A1", org.KindAgency)
	f.a11 = f.org(t, sys, f.a1.ID, "A11", org.KindUnit)
	f.b = f.org(t, sys, f.nat.ID, "B", org.KindMinistry)
	f.b1 = f.org(t, sys, f.b.ID, "B1", org.KindAgency)
	return f
}

func (f *fixture) org(t *testing.T, p auth.Principal, parent int64, code string, kind org.Kind) org.Organization {
	t.Helper()
	o := org.Organization{ParentID: parent, Code: code, Name: "Tổ chức " + code, NameEN: "Organization " + code, Kind: kind}
	must(t, f.s.CreateOrg(f.ctx, p, &o), "create org "+code)
	return o
}

func (f *fixture) asset(t *testing.T, p auth.Principal, o org.Organization, kind asset.Kind, value string, tags ...string) asset.Asset {
	t.Helper()
	a := asset.Asset{OrgID: o.ID, Kind: kind, Value: value, Tags: tags}
	must(t, f.s.CreateAsset(f.ctx, p, &a), "create asset "+value)
	return a
}

// as returns a principal with role in organization o.
func as(role auth.Role, o org.Organization) auth.Principal {
	return auth.Principal{Name: fmt.Sprintf("%s@%s", role, o.Code), Role: role, OrgID: o.ID, OrgPath: o.Path}
}

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

// wantHidden accepts ErrNotFound or ErrForbidden, for calls where either
// refusal is correct (e.g. moving one's own organization under a foreign
// one: the move itself is forbidden and the target invisible).
func wantRefused(t *testing.T, err error, what string) {
	t.Helper()
	if !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("%s: got error %v, want not found or forbidden", what, err)
	}
}

// all pages through a listing.
func all[T any](t *testing.T, list func(after string) (store.Page[T], error)) []T {
	t.Helper()
	var out []T
	after := ""
	for i := 0; ; i++ {
		if i > 10000 {
			t.Fatal("pagination does not end")
		}
		p, err := list(after)
		must(t, err, "list page")
		out = append(out, p.Items...)
		if p.Next == "" {
			return out
		}
		after = p.Next
	}
}

func ids[T any](items []T, id func(T) int64) map[int64]bool {
	m := make(map[int64]bool, len(items))
	for _, it := range items {
		m[id(it)] = true
	}
	return m
}

func orgID(o org.Organization) int64   { return o.ID }
func assetID(a asset.Asset) int64      { return a.ID }
func userID(u auth.User) int64         { return u.ID }
func tokenID(t auth.Token) int64       { return t.ID }
func auditID(e store.AuditEntry) int64 { return e.ID }

func testMigrate(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.Migrate(ctx), "second migrate")
	errs := make(chan error, 4)
	for range 4 {
		go func() { errs <- s.Migrate(ctx) }()
	}
	for range 4 {
		must(t, <-errs, "concurrent migrate")
	}
	must(t, s.Ping(ctx), "ping")
	if d := s.Driver(); d == "" {
		t.Fatal("Driver() is empty")
	}
	v, err := s.AssetsVersion(ctx)
	must(t, err, "assets version")
	_ = v
}
