package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

func importRows(n int, code string) []store.ImportRow {
	rows := make([]store.ImportRow, n)
	for i := range rows {
		rows[i] = store.ImportRow{Line: i + 2, OrgCode: code, Asset: asset.Asset{
			Kind: asset.KindHostname, Value: fmt.Sprintf("Host%03d.Example.VN", i), Tags: []string{"imported"},
		}}
	}
	return rows
}

func testImport(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	ctx := f.ctx
	admin := as(auth.RoleOrgAdmin, f.a)
	version := func() int64 {
		t.Helper()
		v, err := s.AssetsVersion(ctx)
		must(t, err, "version")
		return v
	}
	rows := importRows(40, "a") // codes are case-insensitive
	for i := 30; i < 40; i++ {
		rows[i].OrgCode = "A11"
	}
	rows = append(rows, store.ImportRow{Line: 42, Asset: asset.Asset{OrgID: f.a1.ID, Kind: asset.KindCIDR, Value: "10.1.2.3/24", Criticality: "critical"}})

	v0, n0 := version(), countAudit(t, s)
	sum, err := s.ImportAssets(ctx, admin, rows)
	must(t, err, "first import")
	if sum != (store.ImportSummary{Rows: 41, Created: 41}) {
		t.Fatalf("first import: %+v", sum)
	}
	if version() == v0 {
		t.Fatal("AssetsVersion unchanged by import")
	}
	if got := countAudit(t, s) - n0; got != 41 {
		t.Fatalf("first import wrote %d audit entries, want 41", got)
	}
	inA := all(t, func(after string) (store.Page[asset.Asset], error) {
		return s.ListAssets(ctx, admin, store.AssetFilter{OrgID: f.a.ID, PageRequest: store.PageRequest{After: after}})
	})
	if len(inA) != 30 || inA[0].Value != "host000.example.vn" || inA[0].Tags[0] != "imported" {
		t.Fatalf("assets of A after import: %d, first %+v", len(inA), inA[0])
	}
	cidr, err := s.ListAssets(ctx, admin, store.AssetFilter{OrgID: f.a1.ID, Kind: asset.KindCIDR})
	must(t, err, "cidr")
	if len(cidr.Items) != 1 || cidr.Items[0].Value != "10.1.2.0/24" || cidr.Items[0].Criticality != asset.CriticalityCritical {
		t.Fatalf("cidr row: %+v", cidr.Items)
	}
	es := auditOf(t, s, "asset", inA[0].ID)
	wantAudit(t, es, admin.Name, "asset.create")

	// The same rows again: all unchanged, nothing written.
	v1, n1 := version(), countAudit(t, s)
	sum, err = s.ImportAssets(ctx, admin, rows)
	must(t, err, "second import")
	if sum != (store.ImportSummary{Rows: 41, Unchanged: 41}) {
		t.Fatalf("second import: %+v", sum)
	}
	if version() != v1 {
		t.Fatal("AssetsVersion changed by a no-op import")
	}
	if got := countAudit(t, s); got != n1 {
		t.Fatalf("no-op import wrote %d audit entries", got-n1)
	}
	again, err := s.GetAsset(ctx, sys, inA[0].ID)
	must(t, err, "get")
	if !again.UpdatedAt.Equal(inA[0].UpdatedAt) {
		t.Fatal("no-op import touched updated_at")
	}

	// Five changed, three new, the rest unchanged.
	for i := range 5 {
		rows[i].Asset.Criticality = asset.CriticalityImportant
	}
	rows = append(rows, importRows(43, "A")[40:]...)
	for i := 41; i < 44; i++ {
		rows[i].Line = i + 10
	}
	sum, err = s.ImportAssets(ctx, admin, rows)
	must(t, err, "third import")
	if sum != (store.ImportSummary{Rows: 44, Created: 3, Updated: 5, Unchanged: 36}) {
		t.Fatalf("third import: %+v", sum)
	}
	es = auditOf(t, s, "asset", inA[0].ID)
	wantAudit(t, es, admin.Name, "asset.create", "asset.update")
	if field(t, es[1].Before, "criticality") != "normal" || field(t, es[1].After, "criticality") != "important" {
		t.Fatalf("import update entry: %+v", es[1])
	}
	got, err := s.GetAsset(ctx, sys, inA[0].ID)
	must(t, err, "get")
	if got.Criticality != asset.CriticalityImportant || !got.CreatedAt.Equal(inA[0].CreatedAt) {
		t.Fatalf("after update import: %+v", got)
	}
	sum, err = s.ImportAssets(ctx, admin, nil)
	must(t, err, "empty import")
	if sum != (store.ImportSummary{}) {
		t.Fatalf("empty import: %+v", sum)
	}
}

func testImportErrors(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	ctx := f.ctx
	admin := as(auth.RoleOrgAdmin, f.a)
	f.asset(t, sys, f.a, asset.KindDomain, "keep.example.vn")
	v0, n0 := func() int64 { v, _ := s.AssetsVersion(ctx); return v }(), countAudit(t, s)

	nothingStored := func(what string) {
		t.Helper()
		p, err := s.ListAssets(ctx, sys, store.AssetFilter{})
		must(t, err, "list")
		if len(p.Items) != 1 {
			t.Fatalf("%s: %d assets stored, want only the one before", what, len(p.Items))
		}
		if v, _ := s.AssetsVersion(ctx); v != v0 {
			t.Fatalf("%s: AssetsVersion changed", what)
		}
		if n := countAudit(t, s); n != n0 {
			t.Fatalf("%s: %d audit entries written", what, n-n0)
		}
	}
	wantLine := func(err error, line int, reason string) *store.ImportError {
		t.Helper()
		var ie *store.ImportError
		if !errors.As(err, &ie) {
			t.Fatalf("error %v is not an *ImportError", err)
		}
		if ie.Line != line || !strings.Contains(ie.Reason, reason) {
			t.Fatalf("import error line %d %q, want line %d containing %q", ie.Line, ie.Reason, line, reason)
		}
		return ie
	}

	// A bad value at line 7.
	rows := importRows(20, "A")
	rows[5].Asset.Kind, rows[5].Asset.Value = asset.KindIPv4, "10.0.0.999"
	_, err := s.ImportAssets(ctx, admin, rows)
	ie := wantLine(err, 7, "")
	if !errors.Is(err, store.ErrInvalid) || !errors.Is(ie, asset.ErrInvalid) {
		t.Fatalf("bad value error %v does not wrap ErrInvalid", err)
	}
	nothingStored("bad value")

	// A bad kind and a bad security level.
	rows = importRows(5, "A")
	rows[3].Asset.Kind = "printer"
	_, err = s.ImportAssets(ctx, admin, rows)
	wantLine(err, 5, "printer")
	rows = importRows(5, "A")
	rows[1].Asset.SecurityLevel = 9
	_, err = s.ImportAssets(ctx, admin, rows)
	wantLine(err, 3, "security_level")
	nothingStored("bad fields")

	// An organization outside the subtree, or unknown, by code or ID.
	rows = importRows(10, "A1")
	rows[8].OrgCode = "B"
	_, err = s.ImportAssets(ctx, admin, rows)
	wantLine(err, 10, "organization B not found")
	rows[8].OrgCode = "NOSUCH"
	_, err = s.ImportAssets(ctx, admin, rows)
	wantLine(err, 10, "organization NOSUCH not found")
	rows[8].OrgCode, rows[8].Asset.OrgID = "", f.b1.ID
	_, err = s.ImportAssets(ctx, admin, rows)
	wantLine(err, 10, "not found")
	rows[8].Asset.OrgID = 0
	_, err = s.ImportAssets(ctx, admin, rows)
	wantLine(err, 10, "organization")
	nothingStored("foreign org")

	// The same asset twice in one import is refused at the second line.
	rows = importRows(6, "A")
	rows[4].Asset.Value = "HOST001.example.vn."
	_, err = s.ImportAssets(ctx, admin, rows)
	wantLine(err, 6, "line 3")
	nothingStored("duplicate")

	// The first bad line wins.
	rows = importRows(6, "A")
	rows[4].OrgCode = "B"
	rows[2].Asset.Value = "-bad-.vn"
	_, err = s.ImportAssets(ctx, admin, rows)
	wantLine(err, 4, "")
	nothingStored("two bad rows")
}
