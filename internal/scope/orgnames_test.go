package scope

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

// TestOrgNames: an organization's names are its verified host names,
// domains and URL hosts (not a URL's literal address, not a claim, not
// another organization's), sorted and once each.
func TestOrgNames(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "r.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	must(t, st.Migrate(ctx))
	sys := auth.SystemPrincipal
	vn := org.Organization{Code: "VN", Name: "VN", Kind: org.KindNational}
	must(t, st.CreateOrg(ctx, sys, &vn))
	a := org.Organization{Code: "A", Name: "A", Kind: org.KindMinistry, ParentID: vn.ID}
	must(t, st.CreateOrg(ctx, sys, &a))
	b := org.Organization{Code: "B", Name: "B", Kind: org.KindMinistry, ParentID: vn.ID}
	must(t, st.CreateOrg(ctx, sys, &b))
	add := func(p auth.Principal, o org.Organization, k asset.Kind, v string) {
		t.Helper()
		x := asset.Asset{OrgID: o.ID, Kind: k, Value: v}
		must(t, st.CreateAsset(ctx, p, &x))
	}
	add(sys, a, asset.KindHostname, "www.a.gov.vn")
	add(sys, a, asset.KindDomain, "a.gov.vn")
	add(sys, a, asset.KindURL, "https://portal.a.gov.vn:8443/login")
	add(sys, a, asset.KindURL, "https://portal.a.gov.vn/")
	add(sys, a, asset.KindURL, "http://192.0.2.10/")
	add(sys, a, asset.KindIPv4, "192.0.2.10")
	member := auth.Principal{Name: "m", Role: auth.RoleOrgMember, OrgID: a.ID, OrgPath: a.Path}
	add(member, a, asset.KindHostname, "claimed.a.gov.vn")
	add(sys, b, asset.KindHostname, "www.b.gov.vn")
	g := New(st, time.Minute, log)
	if g.OrgNames(a.ID) != nil {
		t.Fatal("names before the first refresh")
	}
	must(t, g.Refresh(ctx))
	if got, want := g.OrgNames(a.ID), []string{"a.gov.vn", "portal.a.gov.vn", "www.a.gov.vn"}; !slices.Equal(got, want) {
		t.Fatalf("A's names %v, want %v", got, want)
	}
	if got := g.OrgNames(b.ID); !slices.Equal(got, []string{"www.b.gov.vn"}) {
		t.Fatalf("B's names %v", got)
	}
	// A copy: the caller may not change the snapshot.
	g.OrgNames(a.ID)[0] = "x"
	if g.OrgNames(a.ID)[0] != "a.gov.vn" {
		t.Fatal("OrgNames shares the snapshot's slice")
	}
}
