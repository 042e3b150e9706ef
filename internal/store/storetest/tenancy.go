package storetest

import (
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// foreign is one object of each kind in B, seen from A.
type foreign struct {
	asset   asset.Asset
	contact org.Contact
	user    auth.User
	token   auth.Token
}

func seedB(t *testing.T, f *fixture) foreign {
	t.Helper()
	var fb foreign
	fb.asset = f.asset(t, sys, f.b1, asset.KindDomain, "b.example.vn")
	fb.contact = org.Contact{OrgID: f.b1.ID, Name: "B contact", Email: "b@example.vn"}
	must(t, f.s.CreateContact(f.ctx, sys, &fb.contact), "contact in B")
	fb.user = auth.User{Name: "buser", Role: auth.RoleOrgMember, OrgID: f.b.ID, PasswordHash: "hash-b"}
	must(t, f.s.CreateUser(f.ctx, sys, &fb.user), "user in B")
	fb.token = auth.Token{Name: "b-ci", Role: auth.RoleViewer, OrgID: f.b.ID, Hash: "hash-token-b", Prefix: "rp_b"}
	must(t, f.s.CreateToken(f.ctx, sys, &fb.token), "token in B")
	return fb
}

func testTenancyOrgAdmin(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	ctx := f.ctx
	fb := seedB(t, f)
	admin := as(auth.RoleOrgAdmin, f.a)
	mine := f.asset(t, admin, f.a1, asset.KindDomain, "a.example.vn")

	// Organizations of B: invisible, unchangeable.
	_, err := s.GetOrg(ctx, admin, f.b.ID)
	wantErr(t, err, store.ErrNotFound, "get B")
	_, err = s.GetOrgByCode(ctx, admin, "B1")
	wantErr(t, err, store.ErrNotFound, "get B1 by code")
	_, err = s.GetOrg(ctx, admin, f.nat.ID)
	wantErr(t, err, store.ErrNotFound, "get the parent of one's own org")
	orgs := all(t, func(after string) (store.Page[org.Organization], error) {
		return s.ListOrgs(ctx, admin, store.OrgFilter{PageRequest: store.PageRequest{After: after}})
	})
	if got := ids(orgs, orgID); len(got) != 3 || !got[f.a.ID] || !got[f.a1.ID] || !got[f.a11.ID] {
		t.Fatalf("admin of A lists %v, want A, A1, A11", got)
	}
	_, err = s.ListOrgs(ctx, admin, store.OrgFilter{Root: f.b.ID})
	wantErr(t, err, store.ErrNotFound, "list subtree of B")
	b := f.b
	b.Name = "hijacked"
	wantErr(t, s.UpdateOrg(ctx, admin, &b), store.ErrNotFound, "update B")
	wantErr(t, s.DeleteOrg(ctx, admin, f.b1.ID), store.ErrNotFound, "delete B1")
	child := org.Organization{ParentID: f.b.ID, Code: "EVIL", Name: "x", Kind: org.KindUnit}
	wantErr(t, s.CreateOrg(ctx, admin, &child), store.ErrNotFound, "create a child under B")
	root := org.Organization{Code: "ROOT2", Name: "x", Kind: org.KindNational}
	wantErr(t, s.CreateOrg(ctx, admin, &root), store.ErrForbidden, "create a root")
	a1 := f.a1
	a1.ParentID = f.b.ID
	wantErr(t, s.UpdateOrg(ctx, admin, &a1), store.ErrNotFound, "move A1 under B")
	a := f.a
	a.ParentID = f.b.ID
	wantRefused(t, s.UpdateOrg(ctx, admin, &a), "move own org under B")
	a.ParentID = f.a11.ID
	wantRefused(t, s.UpdateOrg(ctx, admin, &a), "move own org under its descendant")
	a.ParentID = 0
	wantErr(t, s.UpdateOrg(ctx, admin, &a), store.ErrForbidden, "make own org a root")
	wantErr(t, s.DeleteOrg(ctx, admin, f.a.ID), store.ErrForbidden, "delete own org")
	a = f.a
	a.Name, a.NameEN = "Bộ A (mới)", "Ministry A (new)"
	must(t, s.UpdateOrg(ctx, admin, &a), "rename own org")
	if a.Path != f.a.Path || a.ParentID != f.nat.ID {
		t.Fatal("renaming moved the org")
	}
	sub := f.org(t, admin, f.a11.ID, "A111", org.KindUnit)
	must(t, s.DeleteOrg(ctx, admin, sub.ID), "delete a descendant")

	// Assets of B.
	_, err = s.GetAsset(ctx, admin, fb.asset.ID)
	wantErr(t, err, store.ErrNotFound, "get B asset")
	_, err = s.ListAssets(ctx, admin, store.AssetFilter{OrgID: f.b1.ID})
	wantErr(t, err, store.ErrNotFound, "list B1 assets")
	page, err := s.ListAssets(ctx, admin, store.AssetFilter{})
	must(t, err, "list own assets")
	if len(page.Items) != 1 || page.Items[0].ID != mine.ID {
		t.Fatalf("admin of A lists %+v", page.Items)
	}
	ba := fb.asset
	ba.Notes = "mine now"
	wantErr(t, s.UpdateAsset(ctx, admin, &ba), store.ErrNotFound, "update B asset")
	ba.OrgID = f.a1.ID
	wantErr(t, s.UpdateAsset(ctx, admin, &ba), store.ErrNotFound, "pull B asset into A")
	wantErr(t, s.DeleteAsset(ctx, admin, fb.asset.ID), store.ErrNotFound, "delete B asset")
	na := asset.Asset{OrgID: f.b.ID, Kind: asset.KindDomain, Value: "planted.vn"}
	wantErr(t, s.CreateAsset(ctx, admin, &na), store.ErrNotFound, "create asset in B")
	push := mine
	push.OrgID = f.b.ID
	wantErr(t, s.UpdateAsset(ctx, admin, &push), store.ErrNotFound, "push own asset into B")
	if got, err := s.GetAsset(ctx, sys, fb.asset.ID); err != nil || got.Notes != "" || got.OrgID != f.b1.ID {
		t.Fatalf("B asset changed: %+v %v", got, err)
	}

	// Contacts of B.
	_, err = s.ListContacts(ctx, admin, f.b1.ID)
	wantErr(t, err, store.ErrNotFound, "list B contacts")
	wantErr(t, s.DeleteContact(ctx, admin, fb.contact.ID), store.ErrNotFound, "delete B contact")
	nc := org.Contact{OrgID: f.b1.ID, Name: "x", Email: "x@example.vn"}
	wantErr(t, s.CreateContact(ctx, admin, &nc), store.ErrNotFound, "create B contact")

	// Users of B, and roles above one's own.
	_, err = s.GetUser(ctx, admin, fb.user.ID)
	wantErr(t, err, store.ErrNotFound, "get B user")
	users := all(t, func(after string) (store.Page[auth.User], error) {
		return s.ListUsers(ctx, admin, store.PageRequest{After: after})
	})
	if ids(users, userID)[fb.user.ID] {
		t.Fatal("admin of A lists a user of B")
	}
	wantErr(t, s.SetPassword(ctx, admin, fb.user.ID, "new-hash"), store.ErrNotFound, "set B user's password")
	wantErr(t, s.SetTOTPSecret(ctx, admin, fb.user.ID, "secret"), store.ErrNotFound, "set B user's TOTP")
	nu := auth.User{Name: "planted", Role: auth.RoleViewer, OrgID: f.b.ID, PasswordHash: "x"}
	wantErr(t, s.CreateUser(ctx, admin, &nu), store.ErrNotFound, "create user in B")
	nu = auth.User{Name: "boss", Role: auth.RolePlatformAdmin, OrgID: f.a.ID, PasswordHash: "x"}
	wantErr(t, s.CreateUser(ctx, admin, &nu), store.ErrForbidden, "grant platform-admin")
	nu = auth.User{Name: "spy", Role: auth.RoleAnalyst, PasswordHash: "x"}
	wantRefused(t, s.CreateUser(ctx, admin, &nu), "grant analyst without org")
	nu = auth.User{Name: "peer", Role: auth.RoleOrgAdmin, OrgID: f.a1.ID, PasswordHash: "x"}
	must(t, s.CreateUser(ctx, admin, &nu), "create org-admin in own subtree")

	// Tokens of B.
	toks := all(t, func(after string) (store.Page[auth.Token], error) {
		return s.ListTokens(ctx, admin, store.PageRequest{After: after})
	})
	if ids(toks, tokenID)[fb.token.ID] {
		t.Fatal("admin of A lists a token of B")
	}
	wantErr(t, s.RevokeToken(ctx, admin, fb.token.ID), store.ErrNotFound, "revoke B token")
	exp := time.Now().Add(time.Hour)
	nt := auth.Token{Name: "x", Role: auth.RoleViewer, OrgID: f.b.ID, Hash: "h-x", ExpiresAt: &exp}
	wantErr(t, s.CreateToken(ctx, admin, &nt), store.ErrNotFound, "create token in B")
	nt = auth.Token{Name: "x", Role: auth.RoleWorker, OrgID: f.a.ID, Hash: "h-w", ExpiresAt: &exp}
	wantErr(t, s.CreateToken(ctx, admin, &nt), store.ErrForbidden, "grant worker")
	nt = auth.Token{Name: "x", Role: auth.RolePlatformAdmin, OrgID: f.a.ID, Hash: "h-p", ExpiresAt: &exp}
	wantErr(t, s.CreateToken(ctx, admin, &nt), store.ErrForbidden, "grant platform-admin token")
	if tok, err := s.TokenForAuth(ctx, fb.token.Hash); err != nil || tok.Revoked {
		t.Fatalf("B token affected: %+v %v", tok, err)
	}

	// Audit of B: none of its entries.
	entries := all(t, func(after string) (store.Page[store.AuditEntry], error) {
		return s.ListAudit(ctx, admin, store.AuditFilter{PageRequest: store.PageRequest{After: after}})
	})
	if len(entries) == 0 {
		t.Fatal("admin of A sees no audit entries of its own subtree")
	}
	bObjects := map[string]int64{"asset": fb.asset.ID, "contact": fb.contact.ID, "user": fb.user.ID, "token": fb.token.ID}
	for _, e := range entries {
		if id, ok := bObjects[e.ObjectType]; ok && id == e.ObjectID {
			t.Fatalf("admin of A reads audit entry %+v of B", e)
		}
		if e.ObjectType == "org" && (e.ObjectID == f.b.ID || e.ObjectID == f.b1.ID || e.ObjectID == f.nat.ID) {
			t.Fatalf("admin of A reads audit entry %+v of an org outside A", e)
		}
	}
	byB, err := s.ListAudit(ctx, admin, store.AuditFilter{ObjectType: "asset", ObjectID: fb.asset.ID})
	must(t, err, "audit of B asset")
	if len(byB.Items) != 0 {
		t.Fatal("audit filter leaks B's entries")
	}
}

func testTenancyRoles(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	ctx := f.ctx
	fb := seedB(t, f)
	mine := f.asset(t, sys, f.a1, asset.KindDomain, "a.example.vn")

	// Viewer: reads its subtree, writes nothing.
	viewer := as(auth.RoleViewer, f.a)
	_, err := s.GetAsset(ctx, viewer, mine.ID)
	must(t, err, "viewer reads asset")
	na := asset.Asset{OrgID: f.a.ID, Kind: asset.KindDomain, Value: "v.example.vn"}
	wantErr(t, s.CreateAsset(ctx, viewer, &na), store.ErrForbidden, "viewer creates asset")
	m := mine
	m.Notes = "x"
	wantErr(t, s.UpdateAsset(ctx, viewer, &m), store.ErrForbidden, "viewer updates asset")
	wantErr(t, s.DeleteAsset(ctx, viewer, mine.ID), store.ErrForbidden, "viewer deletes asset")
	_, err = s.ImportAssets(ctx, viewer, []store.ImportRow{{Line: 1, OrgCode: "A", Asset: asset.Asset{Kind: asset.KindDomain, Value: "i.example.vn"}}})
	wantErr(t, err, store.ErrForbidden, "viewer imports")
	a := f.a
	a.Name = "x"
	wantErr(t, s.UpdateOrg(ctx, viewer, &a), store.ErrForbidden, "viewer renames org")
	child := org.Organization{ParentID: f.a.ID, Code: "VC", Name: "x", Kind: org.KindUnit}
	wantErr(t, s.CreateOrg(ctx, viewer, &child), store.ErrForbidden, "viewer creates org")
	wantErr(t, s.DeleteOrg(ctx, viewer, f.a11.ID), store.ErrForbidden, "viewer deletes org")
	c := org.Contact{OrgID: f.a.ID, Name: "x", Email: "x@example.vn"}
	wantErr(t, s.CreateContact(ctx, viewer, &c), store.ErrForbidden, "viewer creates contact")
	_, err = s.ListAudit(ctx, viewer, store.AuditFilter{})
	wantErr(t, err, store.ErrForbidden, "viewer reads audit")
	_, err = s.ListUsers(ctx, viewer, store.PageRequest{})
	wantErr(t, err, store.ErrForbidden, "viewer lists users")
	u := auth.User{Name: "v2", Role: auth.RoleViewer, OrgID: f.a.ID, PasswordHash: "x"}
	wantErr(t, s.CreateUser(ctx, viewer, &u), store.ErrForbidden, "viewer creates user")
	_, err = s.GetAsset(ctx, viewer, fb.asset.ID)
	wantErr(t, err, store.ErrNotFound, "viewer reads B asset")

	// Org member: edits assets and contacts, not organizations or users.
	member := as(auth.RoleOrgMember, f.a)
	must(t, s.CreateAsset(ctx, member, &na), "member creates asset")
	must(t, s.CreateContact(ctx, member, &c), "member creates contact")
	wantErr(t, s.CreateOrg(ctx, member, &child), store.ErrForbidden, "member creates org")
	wantErr(t, s.CreateUser(ctx, member, &u), store.ErrForbidden, "member creates user")

	// Analyst: reads everything, writes no orgs or assets.
	analyst := auth.Principal{Name: "analyst", Role: auth.RoleAnalyst}
	_, err = s.GetOrg(ctx, analyst, f.b1.ID)
	must(t, err, "analyst reads B1")
	_, err = s.GetAsset(ctx, analyst, fb.asset.ID)
	must(t, err, "analyst reads B asset")
	all := all(t, func(after string) (store.Page[asset.Asset], error) {
		return s.ListAssets(ctx, analyst, store.AssetFilter{PageRequest: store.PageRequest{After: after}})
	})
	if len(all) != 3 {
		t.Fatalf("analyst lists %d assets, want 3", len(all))
	}
	nb := asset.Asset{OrgID: f.b.ID, Kind: asset.KindDomain, Value: "an.example.vn"}
	wantErr(t, s.CreateAsset(ctx, analyst, &nb), store.ErrForbidden, "analyst creates asset")
	wantErr(t, s.DeleteAsset(ctx, analyst, fb.asset.ID), store.ErrForbidden, "analyst deletes asset")
	b := f.b
	b.Name = "x"
	wantErr(t, s.UpdateOrg(ctx, analyst, &b), store.ErrForbidden, "analyst renames org")
	root := org.Organization{Code: "R2", Name: "x", Kind: org.KindNational}
	wantErr(t, s.CreateOrg(ctx, analyst, &root), store.ErrForbidden, "analyst creates root")
	_, err = s.ListAudit(ctx, analyst, store.AuditFilter{})
	wantErr(t, err, store.ErrForbidden, "analyst reads audit")

	// Platform admin (not the system principal) creates roots and admins.
	pa := auth.Principal{Name: "root", Role: auth.RolePlatformAdmin}
	must(t, s.CreateOrg(ctx, pa, &root), "platform admin creates root")
	boss := auth.User{Name: "boss", Role: auth.RolePlatformAdmin, PasswordHash: "x"}
	must(t, s.CreateUser(ctx, pa, &boss), "platform admin grants platform-admin")

	// Machine roles read no registry.
	sensor := as(auth.RoleSensor, f.a)
	_, err = s.GetOrg(ctx, sensor, f.a.ID)
	wantErr(t, err, store.ErrForbidden, "sensor reads org")
	_, err = s.ListAssets(ctx, sensor, store.AssetFilter{})
	wantErr(t, err, store.ErrForbidden, "sensor lists assets")
}

func testTenancyStalePrincipal(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	ctx := f.ctx
	f.asset(t, sys, f.a, asset.KindDomain, "a.example.vn")

	check := func(name string, p auth.Principal) {
		t.Helper()
		orgs, err := s.ListOrgs(ctx, p, store.OrgFilter{})
		must(t, err, name+": list orgs")
		assets, err := s.ListAssets(ctx, p, store.AssetFilter{})
		must(t, err, name+": list assets")
		if len(orgs.Items)+len(assets.Items) != 0 {
			t.Fatalf("%s sees %d orgs and %d assets, want none", name, len(orgs.Items), len(assets.Items))
		}
		_, err = s.GetOrg(ctx, p, f.a.ID)
		wantErr(t, err, store.ErrNotFound, name+": get org")
		n := 0
		must(t, s.EachAsset(ctx, p, func(asset.Asset) error { n++; return nil }), name+": each asset")
		if n != 0 {
			t.Fatalf("%s streams %d assets", name, n)
		}
		c := org.Organization{ParentID: f.a.ID, Code: "STALE", Name: "x", Kind: org.KindUnit}
		wantErr(t, s.CreateOrg(ctx, p, &c), store.ErrNotFound, name+": create org")
	}
	// No organization at all.
	check("org admin without org", auth.Principal{Name: "x", Role: auth.RoleOrgAdmin})
	// An unknown organization, whatever path it claims.
	check("org admin of unknown org", auth.Principal{Name: "x", Role: auth.RoleOrgAdmin, OrgID: 999999, OrgPath: f.nat.Path})
	// A deleted organization.
	gone := f.org(t, sys, f.a.ID, "GONE", org.KindUnit)
	p := as(auth.RoleOrgAdmin, gone)
	must(t, s.DeleteOrg(ctx, sys, gone.ID), "delete GONE")
	check("org admin of deleted org", p)
	// A stale path: the principal's organization moved; the store follows
	// the tree as it is now, not the path the principal carries.
	pa1 := as(auth.RoleOrgAdmin, f.a1)
	a1 := f.a1
	a1.ParentID = f.b.ID
	must(t, s.UpdateOrg(ctx, sys, &a1), "move A1 under B")
	o, err := s.GetOrg(ctx, pa1, f.a11.ID)
	must(t, err, "moved admin reads its subtree")
	if o.Path != org.ChildPath(a1.Path, f.a11.ID) {
		t.Fatalf("A11 path %q", o.Path)
	}
}
