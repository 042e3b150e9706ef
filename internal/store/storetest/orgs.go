package storetest

import (
	"testing"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

func testOrgCRUD(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	ctx := f.ctx
	if f.nat.ParentID != 0 || f.nat.Path != org.ChildPath("", f.nat.ID) {
		t.Fatalf("root path %q", f.nat.Path)
	}
	if want := org.ChildPath(f.a1.Path, f.a11.ID); f.a11.Path != want {
		t.Fatalf("A11 path %q, want %q", f.a11.Path, want)
	}
	if f.a.CreatedAt.IsZero() || f.a.UpdatedAt.IsZero() {
		t.Fatal("times not set")
	}

	got, err := s.GetOrg(ctx, sys, f.a1.ID)
	must(t, err, "get A1")
	if got.Code != "A1" || got.ParentID != f.a.ID || got.Path != f.a1.Path || got.Kind != org.KindAgency || got.Name != "Tổ chức A1" {
		t.Fatalf("get A1 = %+v", got)
	}
	if !got.CreatedAt.Equal(f.a1.CreatedAt) {
		t.Fatalf("created_at %v, stored %v", got.CreatedAt, f.a1.CreatedAt)
	}
	got, err = s.GetOrgByCode(ctx, sys, " a1 ")
	must(t, err, "get by code")
	if got.ID != f.a1.ID {
		t.Fatalf("get by code = %d, want %d", got.ID, f.a1.ID)
	}
	_, err = s.GetOrg(ctx, sys, 999999)
	wantErr(t, err, store.ErrNotFound, "get unknown org")
	_, err = s.GetOrgByCode(ctx, sys, "NOPE")
	wantErr(t, err, store.ErrNotFound, "get unknown code")

	// Normalization and validation.
	o := org.Organization{ParentID: f.a.ID, Code: " a2 ", Name: " Đơn vị A2 ", Kind: "Agency"}
	must(t, s.CreateOrg(ctx, sys, &o), "create A2")
	if o.Code != "A2" || o.Name != "Đơn vị A2" || o.Kind != org.KindAgency {
		t.Fatalf("not normalized: %+v", o)
	}
	dup := org.Organization{ParentID: f.b.ID, Code: "a2", Name: "x", Kind: org.KindAgency}
	wantErr(t, s.CreateOrg(ctx, sys, &dup), store.ErrConflict, "duplicate code")
	bad := org.Organization{ParentID: f.a.ID, Code: "bad code!", Name: "x", Kind: org.KindAgency}
	wantErr(t, s.CreateOrg(ctx, sys, &bad), store.ErrInvalid, "bad code")
	bad = org.Organization{ParentID: f.a.ID, Code: "K", Name: "x", Kind: "galaxy"}
	wantErr(t, s.CreateOrg(ctx, sys, &bad), store.ErrInvalid, "bad kind")
	orphan := org.Organization{ParentID: 999999, Code: "ORPHAN", Name: "x", Kind: org.KindAgency}
	wantErr(t, s.CreateOrg(ctx, sys, &orphan), store.ErrNotFound, "unknown parent")

	// Update names and code.
	o.Name, o.NameEN, o.Code = "Đơn vị A2 mới", "Unit A2 new", "A2X"
	must(t, s.UpdateOrg(ctx, sys, &o), "update A2")
	got, err = s.GetOrg(ctx, sys, o.ID)
	must(t, err, "get A2")
	if got.Code != "A2X" || got.NameEN != "Unit A2 new" || got.Path != o.Path {
		t.Fatalf("after update: %+v", got)
	}
	if got.UpdatedAt.Before(got.CreatedAt) {
		t.Fatal("updated_at before created_at")
	}
	o.Code = "A1"
	wantErr(t, s.UpdateOrg(ctx, sys, &o), store.ErrConflict, "update to taken code")
	missing := org.Organization{ID: 999999, Code: "ZZ", Name: "x", Kind: org.KindUnit}
	wantErr(t, s.UpdateOrg(ctx, sys, &missing), store.ErrNotFound, "update unknown")

	// Listing and filters.
	list := func(fl store.OrgFilter) []org.Organization {
		t.Helper()
		return all(t, func(after string) (store.Page[org.Organization], error) {
			fl.After = after
			return s.ListOrgs(ctx, sys, fl)
		})
	}
	if n := len(list(store.OrgFilter{})); n != 7 {
		t.Fatalf("list all: %d orgs, want 7", n)
	}
	if got := list(store.OrgFilter{ParentID: f.a.ID}); len(got) != 2 {
		t.Fatalf("children of A: %d, want 2 (A1, A2X)", len(got))
	}
	if got := ids(list(store.OrgFilter{Root: f.a.ID}), orgID); len(got) != 4 || !got[f.a.ID] || !got[f.a11.ID] || got[f.b.ID] {
		t.Fatalf("subtree of A: %v", got)
	}
	if got := list(store.OrgFilter{Kind: org.KindMinistry}); len(got) != 2 {
		t.Fatalf("ministries: %d, want 2", len(got))
	}
	if got := list(store.OrgFilter{Query: "unit a2"}); len(got) != 1 || got[0].ID != o.ID {
		t.Fatalf("query by English name: %v", got)
	}
	if got := list(store.OrgFilter{Query: "a1"}); len(got) != 2 {
		t.Fatalf("query a1 (code, case-insensitive): %d, want 2 (A1, A11)", len(got))
	}
	if got := list(store.OrgFilter{Query: "%"}); len(got) != 0 {
		t.Fatalf("query %%: %d, want 0 (wildcards are literal)", len(got))
	}
	if got := list(store.OrgFilter{Query: "_"}); len(got) != 0 {
		t.Fatalf("query _: %d, want 0 (wildcards are literal)", len(got))
	}

	// Delete: refused while something depends on the organization.
	wantErr(t, s.DeleteOrg(ctx, sys, f.a1.ID), store.ErrConflict, "delete org with child")
	a := f.asset(t, sys, f.a11, "domain", "a11.example.vn")
	wantErr(t, s.DeleteOrg(ctx, sys, f.a11.ID), store.ErrConflict, "delete org with asset")
	must(t, s.DeleteAsset(ctx, sys, a.ID), "delete asset")
	u := auth.User{Name: "a11user", Role: auth.RoleViewer, OrgID: f.a11.ID, PasswordHash: "x"}
	must(t, s.CreateUser(ctx, sys, &u), "create user")
	wantErr(t, s.DeleteOrg(ctx, sys, f.a11.ID), store.ErrConflict, "delete org with user")

	c := org.Contact{OrgID: o.ID, Name: "Contact", Email: "c@example.vn"}
	must(t, s.CreateContact(ctx, sys, &c), "create contact")
	must(t, s.DeleteOrg(ctx, sys, o.ID), "delete A2X (contacts go with it)")
	_, err = s.GetOrg(ctx, sys, o.ID)
	wantErr(t, err, store.ErrNotFound, "get deleted")
	wantErr(t, s.DeleteOrg(ctx, sys, o.ID), store.ErrNotFound, "delete twice")
	// IDs are not reused: a new org gets a fresh ID.
	n := org.Organization{ParentID: f.a.ID, Code: "A3", Name: "A3", Kind: org.KindAgency}
	must(t, s.CreateOrg(ctx, sys, &n), "create A3")
	if n.ID <= o.ID {
		t.Fatalf("new org id %d reuses deleted id %d", n.ID, o.ID)
	}
}

func testOrgMove(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	ctx := f.ctx
	path := func(id int64) string {
		t.Helper()
		o, err := s.GetOrg(ctx, sys, id)
		must(t, err, "get")
		return o.Path
	}

	// Move A1 (with A11) under B.
	a1 := f.a1
	a1.ParentID = f.b.ID
	must(t, s.UpdateOrg(ctx, sys, &a1), "move A1 under B")
	wantA1 := org.ChildPath(f.b.Path, f.a1.ID)
	if a1.Path != wantA1 || path(f.a1.ID) != wantA1 {
		t.Fatalf("A1 path %q / %q, want %q", a1.Path, path(f.a1.ID), wantA1)
	}
	if got, want := path(f.a11.ID), org.ChildPath(wantA1, f.a11.ID); got != want {
		t.Fatalf("A11 path after move %q, want %q", got, want)
	}
	if path(f.b1.ID) != f.b1.Path || path(f.a.ID) != f.a.Path {
		t.Fatal("a move changed organizations outside the moved subtree")
	}
	sub := all(t, func(after string) (store.Page[org.Organization], error) {
		return s.ListOrgs(ctx, sys, store.OrgFilter{Root: f.b.ID, PageRequest: store.PageRequest{After: after}})
	})
	if got := ids(sub, orgID); len(got) != 4 || !got[f.a11.ID] {
		t.Fatalf("subtree of B after move: %v", got)
	}
	// The admin of B now manages A11; the admin of A no longer does.
	_, err := s.GetOrg(ctx, as(auth.RoleOrgAdmin, f.b), f.a11.ID)
	must(t, err, "B admin reads moved A11")
	_, err = s.GetOrg(ctx, as(auth.RoleOrgAdmin, f.a), f.a11.ID)
	wantErr(t, err, store.ErrNotFound, "A admin reads moved A11")

	// Cycles are refused.
	b := f.b
	b.ParentID = f.a11.ID
	wantErr(t, s.UpdateOrg(ctx, sys, &b), store.ErrInvalid, "move B under its descendant A11")
	b.ParentID = f.b.ID
	wantErr(t, s.UpdateOrg(ctx, sys, &b), store.ErrInvalid, "move B under itself")
	if path(f.b.ID) != f.b.Path {
		t.Fatal("refused move changed the path")
	}

	// A platform admin may make a subtree a root, and move it back.
	a1.ParentID = 0
	must(t, s.UpdateOrg(ctx, sys, &a1), "make A1 a root")
	if path(f.a11.ID) != org.ChildPath(org.ChildPath("", f.a1.ID), f.a11.ID) {
		t.Fatalf("A11 path after root move: %q", path(f.a11.ID))
	}
	a1.ParentID = f.a.ID
	must(t, s.UpdateOrg(ctx, sys, &a1), "move A1 back")
	if path(f.a11.ID) != f.a11.Path {
		t.Fatalf("A11 path after moving back: %q, want %q", path(f.a11.ID), f.a11.Path)
	}

	// An org admin moves within its subtree: A11 from A1 to a new A2.
	adminA := as(auth.RoleOrgAdmin, f.a)
	a2 := f.org(t, adminA, f.a.ID, "A2", org.KindAgency)
	a11 := f.a11
	a11.ParentID = a2.ID
	must(t, s.UpdateOrg(ctx, adminA, &a11), "org admin moves A11 within A")
	if path(f.a11.ID) != org.ChildPath(a2.Path, f.a11.ID) {
		t.Fatal("A11 not under A2")
	}
}

func testContacts(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	ctx := f.ctx
	member := as(auth.RoleOrgMember, f.a)
	c := org.Contact{OrgID: f.a1.ID, Name: " Nguyễn Văn A ", Email: "SOC@Example.VN", Phone: "+84 24 1234 5678", Role: "Security"}
	must(t, s.CreateContact(ctx, member, &c), "create contact")
	if c.ID == 0 || c.Email != "soc@example.vn" || c.Language != "vi" || c.CreatedAt.IsZero() {
		t.Fatalf("contact not stored/normalized: %+v", c)
	}
	c2 := org.Contact{OrgID: f.a1.ID, Name: "Tran B", Email: "b@example.vn", Language: "en"}
	must(t, s.CreateContact(ctx, member, &c2), "create contact 2")
	bad := org.Contact{OrgID: f.a1.ID, Name: "X", Email: "not-an-address"}
	wantErr(t, s.CreateContact(ctx, member, &bad), store.ErrInvalid, "bad email")
	bad = org.Contact{OrgID: 999999, Name: "X", Email: "x@example.vn"}
	wantErr(t, s.CreateContact(ctx, sys, &bad), store.ErrNotFound, "unknown org")

	got, err := s.ListContacts(ctx, as(auth.RoleViewer, f.a), f.a1.ID)
	must(t, err, "list contacts")
	if len(got) != 2 || got[0].ID != c.ID || got[0].Name != "Nguyễn Văn A" || got[1].Language != "en" {
		t.Fatalf("contacts: %+v", got)
	}
	none, err := s.ListContacts(ctx, sys, f.b.ID)
	must(t, err, "list empty")
	if none == nil || len(none) != 0 {
		t.Fatalf("contacts of B: %#v, want empty non-nil", none)
	}
	wantErr(t, s.DeleteContact(ctx, as(auth.RoleViewer, f.a), c.ID), store.ErrForbidden, "viewer deletes contact")
	must(t, s.DeleteContact(ctx, member, c.ID), "delete contact")
	wantErr(t, s.DeleteContact(ctx, member, c.ID), store.ErrNotFound, "delete twice")
	got, err = s.ListContacts(ctx, sys, f.a1.ID)
	must(t, err, "list after delete")
	if len(got) != 1 {
		t.Fatalf("after delete: %d contacts", len(got))
	}
}
