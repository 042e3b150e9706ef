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
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

func TestGuardFollowsTheStore(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "r.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	sys := auth.SystemPrincipal
	vn := org.Organization{Code: "VN", Name: "VN", Kind: org.KindNational}
	must(t, st.CreateOrg(ctx, sys, &vn))
	a := org.Organization{Code: "A", Name: "A", Kind: org.KindMinistry, ParentID: vn.ID}
	must(t, st.CreateOrg(ctx, sys, &a))
	b := org.Organization{Code: "B", Name: "B", Kind: org.KindMinistry, ParentID: vn.ID}
	must(t, st.CreateOrg(ctx, sys, &b))

	g := New(st, 20*time.Millisecond, log)
	if _, err := g.Lookup("a.gov.vn"); !errors.Is(err, ErrNotReady) {
		t.Fatalf("before refresh: %v", err)
	}
	must(t, g.Refresh(ctx))
	if _, err := g.Lookup("a.gov.vn"); !errors.Is(err, asset.ErrOutOfScope) {
		t.Fatalf("empty registry: %v", err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go g.Run(runCtx)

	aa := asset.Asset{OrgID: a.ID, Kind: asset.KindDomain, Value: "a.gov.vn"}
	must(t, st.CreateAsset(ctx, sys, &aa))
	bb := asset.Asset{OrgID: b.ID, Kind: asset.KindCIDR, Value: "192.0.2.0/24"}
	must(t, st.CreateAsset(ctx, sys, &bb))
	g.Invalidate()
	deadline := time.Now().Add(5 * time.Second)
	for {
		m, err := g.Lookup("www.a.gov.vn")
		if err == nil && m.AssetID == aa.ID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("guard did not pick up the new asset: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Tenancy: A's principal does not see B's address; a worker does.
	pa := auth.Principal{Role: auth.RoleOrgAdmin, OrgID: a.ID, OrgPath: a.Path}
	if _, err := g.LookupFor(pa, "192.0.2.9"); !errors.Is(err, asset.ErrOutOfScope) {
		t.Fatalf("A sees B's address: %v", err)
	}
	if m, err := g.LookupFor(pa, "x.a.gov.vn"); err != nil || m.OrgID != a.ID {
		t.Fatalf("A's own name: %+v %v", m, err)
	}
	pw := auth.Principal{Role: auth.RoleWorker, OrgID: vn.ID, OrgPath: vn.Path}
	if m, err := g.LookupFor(pw, "192.0.2.9"); err != nil || m.OrgID != b.ID {
		t.Fatalf("worker: %+v %v", m, err)
	}
	n, _, _ := g.Stats()
	if n != 2 {
		t.Fatalf("entries = %d", n)
	}
	// A deletion leaves scope within a refresh.
	must(t, st.DeleteAsset(ctx, sys, bb.ID))
	g.Invalidate()
	deadline = time.Now().Add(5 * time.Second)
	for {
		if _, err := g.Lookup("192.0.2.9"); errors.Is(err, asset.ErrOutOfScope) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("deleted asset still in scope")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
