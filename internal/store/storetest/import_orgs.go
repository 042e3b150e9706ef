package storetest

import (
	"errors"
	"testing"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

func testImportOrgs(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	rows := []store.OrgImportRow{
		{Line: 2, ParentCode: "A", Org: org.Organization{Code: "A2", Name: "Cục A2", Kind: org.KindAgency},
			Contacts: []org.Contact{{Name: "Nguyễn Văn An", Email: "an@a2.gov.vn", Language: "vi"}}},
		{Line: 3, ParentCode: "A2", Org: org.Organization{Code: "A21", Name: "Phòng A21", Kind: org.KindUnit}},
		{Line: 4, ParentCode: "A", Org: org.Organization{Code: "A1", Name: "Tổ chức A1 (mới)", NameEN: "Organization A1", Kind: org.KindAgency}},
	}
	admin := as(auth.RoleOrgAdmin, f.a)
	sum, err := s.ImportOrgs(f.ctx, admin, rows)
	must(t, err, "import orgs")
	if sum.Rows != 3 || sum.Created != 2 || sum.Updated != 1 || sum.Unchanged != 0 {
		t.Fatalf("summary = %+v", sum)
	}
	a21, err := s.GetOrgByCode(f.ctx, admin, "a21")
	must(t, err, "get A21")
	a2, _ := s.GetOrgByCode(f.ctx, admin, "A2")
	if a21.ParentID != a2.ID || !org.InSubtree(a21.Path, f.a.Path) {
		t.Fatalf("A21 = %+v, A2 = %+v", a21, a2)
	}
	cs, err := s.ListContacts(f.ctx, admin, a2.ID)
	must(t, err, "contacts")
	if len(cs) != 1 || cs[0].Email != "an@a2.gov.vn" {
		t.Fatalf("contacts = %+v", cs)
	}

	// Idempotent: the same rows again change nothing and audit nothing.
	before := all(t, func(after string) (store.Page[store.AuditEntry], error) {
		return s.ListAudit(f.ctx, sys, store.AuditFilter{PageRequest: store.PageRequest{After: after}})
	})
	sum, err = s.ImportOrgs(f.ctx, admin, rows)
	must(t, err, "re-import orgs")
	if sum.Unchanged != 3 || sum.Created+sum.Updated != 0 {
		t.Fatalf("re-import summary = %+v", sum)
	}
	after := all(t, func(after string) (store.Page[store.AuditEntry], error) {
		return s.ListAudit(f.ctx, sys, store.AuditFilter{PageRequest: store.PageRequest{After: after}})
	})
	if len(after) != len(before) {
		t.Fatalf("re-import wrote %d audit entries", len(after)-len(before))
	}

	// A bad row fails the whole import with its line; nothing is stored.
	bad := []store.OrgImportRow{
		{Line: 2, ParentCode: "A", Org: org.Organization{Code: "A3", Name: "A3", Kind: org.KindAgency}},
		{Line: 3, ParentCode: "A", Org: org.Organization{Code: "A4", Name: "A4", Kind: "club"}},
	}
	_, err = s.ImportOrgs(f.ctx, admin, bad)
	var ie *store.ImportError
	if !errors.As(err, &ie) || ie.Line != 3 {
		t.Fatalf("bad kind: err = %v", err)
	}
	if _, err := s.GetOrgByCode(f.ctx, sys, "A3"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("A3 stored by a failed import: %v", err)
	}

	// Tenancy: a parent, an existing code or a move outside the subtree
	// fails, and says nothing about the other subtree.
	for _, r := range []store.OrgImportRow{
		{Line: 7, ParentCode: "B", Org: org.Organization{Code: "X1", Name: "x", Kind: org.KindAgency}},
		{Line: 7, ParentCode: "A", Org: org.Organization{Code: "B1", Name: "x", Kind: org.KindAgency}},
		{Line: 7, ParentCode: "B", Org: org.Organization{Code: "A1", Name: "x", Kind: org.KindAgency}},
		{Line: 7, Org: org.Organization{Code: "ROOT2", Name: "x", Kind: org.KindNational}},
	} {
		_, err := s.ImportOrgs(f.ctx, admin, []store.OrgImportRow{r})
		if !errors.As(err, &ie) || ie.Line != 7 {
			t.Errorf("row %+v: err = %v, want an import error on line 7", r.Org, err)
		}
	}
	b1, _ := s.GetOrg(f.ctx, sys, f.b1.ID)
	if b1.Name != f.b1.Name || b1.ParentID != f.b.ID {
		t.Fatalf("B1 changed: %+v", b1)
	}
	viewer := as(auth.RoleViewer, f.a)
	if _, err := s.ImportOrgs(f.ctx, viewer, rows); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("viewer import: %v", err)
	}
	// Duplicate code in one file.
	dup := []store.OrgImportRow{
		{Line: 2, ParentCode: "A", Org: org.Organization{Code: "D1", Name: "d", Kind: org.KindAgency}},
		{Line: 5, ParentCode: "A", Org: org.Organization{Code: "d1", Name: "d", Kind: org.KindAgency}},
	}
	if _, err := s.ImportOrgs(f.ctx, admin, dup); !errors.As(err, &ie) || ie.Line != 5 {
		t.Fatalf("duplicate code: %v", err)
	}
}
