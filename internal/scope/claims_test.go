package scope

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

// fakeProver proves the claims whose tokens it was given.
type fakeProver map[string]bool

func (f fakeProver) Prove(_ context.Context, a asset.Asset) (string, error) {
	if f[a.VerifyToken] {
		return asset.VerifiedByDNS, nil
	}
	return "", errors.New("proof: no TXT record")
}

type claimsEnv struct {
	st                *sqlstore.Store
	g                 *Guard
	c                 *Claims
	prover            fakeProver
	nat, a, a1, b     org.Organization
	member, adminA    auth.Principal
	adminNat, memberB auth.Principal
	platform          auth.Principal
}

// NAT
// ├── A
// │   └── A1
// └── B
func newClaimsEnv(t *testing.T, lim asset.Limits) *claimsEnv {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "r.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	must(t, st.Migrate(ctx))
	e := &claimsEnv{st: st, prover: fakeProver{}}
	mk := func(code string, kind org.Kind, parent int64) org.Organization {
		o := org.Organization{Code: code, Name: code, Kind: kind, ParentID: parent}
		must(t, st.CreateOrg(ctx, auth.SystemPrincipal, &o))
		return o
	}
	e.nat = mk("NAT", org.KindNational, 0)
	e.a = mk("A", org.KindMinistry, e.nat.ID)
	e.a1 = mk("A1", org.KindAgency, e.a.ID)
	e.b = mk("B", org.KindMinistry, e.nat.ID)
	as := func(role auth.Role, o org.Organization) auth.Principal {
		return auth.Principal{Name: string(role) + "@" + o.Code, Role: role, OrgID: o.ID, OrgPath: o.Path}
	}
	e.member, e.adminA, e.adminNat, e.memberB = as(auth.RoleOrgMember, e.a1), as(auth.RoleOrgAdmin, e.a), as(auth.RoleOrgAdmin, e.nat), as(auth.RoleOrgMember, e.b)
	e.platform = auth.Principal{Name: "cert", Role: auth.RolePlatformAdmin}
	e.g = New(st, time.Hour, log)
	must(t, e.g.Refresh(ctx))
	e.c = NewClaims(ClaimsDeps{Store: st, Guard: e.g, Prover: e.prover, Limits: lim, Logger: log})
	return e
}

// TestClaimNotInScopeUntilVerified: a member's claim is stored but no
// probe may reach it until a proof or an approval verifies it.
func TestClaimNotInScopeUntilVerified(t *testing.T) {
	e := newClaimsEnv(t, asset.Limits{})
	ctx := context.Background()
	a := asset.Asset{OrgID: e.a1.ID, Kind: asset.KindHostname, Value: "portal.a1.example.vn"}
	must(t, e.c.Register(ctx, e.member, &a, ""))
	if a.State != asset.StateClaimed {
		t.Fatalf("member's asset is %s", a.State)
	}
	must(t, e.g.Refresh(ctx))
	if _, err := e.g.Lookup("portal.a1.example.vn"); !errors.Is(err, asset.ErrOutOfScope) {
		t.Fatalf("claim in scope: %v", err)
	}
	if _, err := e.c.Verify(ctx, e.member, a.ID); !errors.Is(err, ErrNotProven) {
		t.Fatalf("unproven claim: %v", err)
	}
	d, err := e.c.Detail(ctx, e.member, a.ID)
	must(t, err)
	if d.Claim == nil || d.Claim.CheckResult == "" || d.Proof.DNSName != "_rampart-verify.portal.a1.example.vn" || d.MayDecide {
		t.Fatalf("detail %+v", d)
	}
	e.prover[a.VerifyToken] = true
	n, err := e.c.Tick(ctx)
	must(t, err)
	if n != 0 {
		t.Fatal("the loop checked a claim checked a moment ago")
	}
	v, err := e.c.Verify(ctx, e.member, a.ID)
	must(t, err)
	if v.State != asset.StateVerified || v.VerifiedBy != asset.VerifiedByDNS {
		t.Fatalf("verified %+v", v)
	}
	must(t, e.g.Refresh(ctx))
	if m, err := e.g.Lookup("portal.a1.example.vn"); err != nil || m.AssetID != a.ID {
		t.Fatalf("verified asset out of scope: %v", err)
	}

	// The loop proves claims on its own.
	b := asset.Asset{OrgID: e.a1.ID, Kind: asset.KindHostname, Value: "loop.a1.example.vn"}
	must(t, e.c.Register(ctx, e.member, &b, ""))
	e.prover[b.VerifyToken] = true
	if n, err := e.c.Tick(ctx); err != nil || n != 1 {
		t.Fatalf("tick verified %d: %v", n, err)
	}
}

func TestClaimLimits(t *testing.T) {
	e := newClaimsEnv(t, asset.Limits{})
	ctx := context.Background()
	reg := func(p auth.Principal, kind asset.Kind, v string) (asset.Asset, error) {
		a := asset.Asset{OrgID: e.a1.ID, Kind: kind, Value: v}
		err := e.c.Register(ctx, p, &a, "")
		return a, err
	}
	for _, v := range []string{"gov.vn", "com.vn", "co.uk"} {
		if _, err := reg(e.member, asset.KindDomain, v); !errors.Is(err, store.ErrInvalid) || !errors.Is(err, asset.ErrRefused) {
			t.Fatalf("public suffix %s: %v", v, err)
		}
	}
	if _, err := reg(e.member, asset.KindCIDR, "10.0.0.0/8"); !errors.Is(err, asset.ErrRefused) {
		t.Fatalf("10.0.0.0/8 by a member: %v", err)
	}
	if _, err := reg(e.adminA, asset.KindCIDR, "45.116.0.0/15"); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("a /15 below the national level: %v", err)
	}
	a, err := reg(e.platform, asset.KindCIDR, "198.51.0.0/15")
	if err != nil || a.State != asset.StateVerified {
		t.Fatalf("a /15 by the national level: %+v %v", a, err)
	}
	// A /24 is claimed, and only the national level approves it.
	n, err := reg(e.member, asset.KindCIDR, "203.0.113.0/24")
	must(t, err)
	must(t, e.st.SetClaimEvidence(ctx, e.member, n.ID, "APNIC allocation 203.0.113.0/24 to A1"))
	if _, err := e.c.Decide(ctx, e.adminA, n.ID, true, ""); !errors.Is(err, store.ErrForbidden) || !errors.Is(err, asset.ErrNeedsNational) {
		t.Fatalf("parent admin approves a network: %v", err)
	}
	if v, err := e.c.Decide(ctx, e.platform, n.ID, true, ""); err != nil || v.State != asset.StateVerified || v.VerifiedBy != "national:cert" {
		t.Fatalf("national approves a network: %+v %v", v, err)
	}
	// Internal deployments may claim private ranges.
	in := newClaimsEnv(t, asset.Limits{Internal: true})
	p := asset.Asset{OrgID: in.a1.ID, Kind: asset.KindCIDR, Value: "10.1.0.0/16"}
	must(t, in.c.Register(ctx, in.member, &p, ""))
	if err := in.c.Update(ctx, in.member, &asset.Asset{ID: p.ID, OrgID: in.a1.ID, Kind: asset.KindDomain, Value: "gov.vn"}); !errors.Is(err, asset.ErrRefused) {
		t.Fatalf("update to a public suffix: %v", err)
	}
	rows := []store.ImportRow{{Line: 2, Asset: asset.Asset{OrgID: e.a1.ID, Kind: asset.KindHostname, Value: "ok.example.vn"}},
		{Line: 3, Asset: asset.Asset{OrgID: e.a1.ID, Kind: asset.KindIPv4, Value: "127.0.0.1"}}}
	var ie *store.ImportError
	if _, err := e.c.Import(ctx, e.adminA, rows); !errors.As(err, &ie) || ie.Line != 3 {
		t.Fatalf("import with loopback: %v", err)
	}
}

func TestClaimApprovals(t *testing.T) {
	e := newClaimsEnv(t, asset.Limits{})
	ctx := context.Background()
	a := asset.Asset{OrgID: e.a1.ID, Kind: asset.KindHostname, Value: "app.a1.example.vn"}
	must(t, e.c.Register(ctx, e.member, &a, ""))
	adminA1 := auth.Principal{Name: "admin@A1", Role: auth.RoleOrgAdmin, OrgID: e.a1.ID, OrgPath: e.a1.Path}
	if _, err := e.c.Decide(ctx, adminA1, a.ID, true, ""); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("own admin approves: %v", err)
	}
	page, err := e.c.Pending(ctx, e.adminA, store.ClaimFilter{Decidable: true})
	must(t, err)
	if len(page.Items) != 1 || !page.Items[0].MayDecide || page.Items[0].Asset.ID != a.ID {
		t.Fatalf("parent admin's pending list %+v", page.Items)
	}
	v, err := e.c.Decide(ctx, e.adminA, a.ID, true, "")
	must(t, err)
	if v.State != asset.StateVerified || v.VerifiedBy != "approval:org-admin@A" {
		t.Fatalf("approved %+v", v)
	}
	// An admin registering for a child organization approves at once.
	c := asset.Asset{OrgID: e.a1.ID, Kind: asset.KindHostname, Value: "child.a1.example.vn"}
	must(t, e.c.Register(ctx, e.adminA, &c, ""))
	if c.State != asset.StateVerified {
		t.Fatalf("parent admin's registration for a child: %s", c.State)
	}
	// Rejected.
	r := asset.Asset{OrgID: e.a1.ID, Kind: asset.KindHostname, Value: "no.a1.example.vn"}
	must(t, e.c.Register(ctx, e.member, &r, ""))
	if v, err := e.c.Decide(ctx, e.adminA, r.ID, false, "not ours"); err != nil || v.State != asset.StateRejected {
		t.Fatalf("reject: %+v %v", v, err)
	}
	if _, err := e.c.Verify(ctx, e.member, r.ID); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("verify a rejected claim: %v", err)
	}
}

// TestClaimOverlap: a claim over another organization's verified asset is
// not proven by its claimant nor approved by its parent; the lowest common
// ancestor's admin sees it as a conflict and decides.
func TestClaimOverlap(t *testing.T) {
	e := newClaimsEnv(t, asset.Limits{})
	ctx := context.Background()
	bv := asset.Asset{OrgID: e.b.ID, Kind: asset.KindHostname, Value: "shared.example.vn"}
	must(t, e.c.Register(ctx, e.platform, &bv, ""))
	c := asset.Asset{OrgID: e.a1.ID, Kind: asset.KindDomain, Value: "example.vn"}
	must(t, e.c.Register(ctx, e.member, &c, ""))
	e.prover[c.VerifyToken] = true
	if _, err := e.c.Verify(ctx, e.member, c.ID); !errors.Is(err, asset.ErrOverlap) || !errors.Is(err, store.ErrConflict) {
		t.Fatalf("member proves an overlapping claim: %v", err)
	}
	if _, err := e.c.Decide(ctx, e.adminA, c.ID, true, ""); !errors.Is(err, asset.ErrOverlap) {
		t.Fatalf("parent admin approves an overlapping claim: %v", err)
	}
	pa, err := e.c.Pending(ctx, e.adminA, store.ClaimFilter{Decidable: true})
	must(t, err)
	if len(pa.Items) != 1 || !pa.Items[0].Conflict || pa.Items[0].MayDecide {
		t.Fatalf("parent admin's view %+v", pa.Items)
	}
	pn, err := e.c.Pending(ctx, e.adminNat, store.ClaimFilter{Decidable: true})
	must(t, err)
	if len(pn.Items) != 1 || !pn.Items[0].Conflict || !pn.Items[0].MayDecide {
		t.Fatalf("common ancestor's admin view %+v", pn.Items)
	}
	if _, err := e.c.Decide(ctx, e.adminNat, c.ID, false, "B runs shared.example.vn"); err != nil {
		t.Fatalf("common ancestor rejects: %v", err)
	}
}
