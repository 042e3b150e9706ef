package storetest

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/store"
)

// dashboardStore is a store with the Findings and Dashboard parts.
type dashboardStore interface {
	findingStore
	store.Dashboard
}

// testDashboard covers store.Dashboard: the overview agrees with Debt for
// every principal, counts severities, KEV, overdue and top checks, keeps
// to the subtree asked for and to tenancy, and the trend follows first-seen
// and fixed times day by day.
func testDashboard(t *testing.T, s store.Store) {
	ds, ok := any(s).(dashboardStore)
	if !ok {
		t.Skipf("%T does not implement store.Dashboard", s)
	}
	fx := newFixture(t, s)
	f := &findingFixture{fixture: fx, s: ds}
	day := 24 * time.Hour
	now := time.Date(2026, 6, 15, 5, 0, 0, 0, time.UTC) // 12:00 in Hanoi
	a1 := fx.asset(t, sys, fx.a1, asset.KindHostname, "dash.a1.example")
	b1 := fx.asset(t, sys, fx.b1, asset.KindHostname, "dash.b1.example")
	fx.asset(t, sys, fx.a11, asset.KindHostname, "dash.a11.example")
	kev := seen(a1, "vuln.cve", "dash.a1.example:443", "CVE-1", finding.Critical)
	kev.KEV = true
	f.record(t, "d1", now.Add(-60*day), []store.Coverage{cover(a1, "dash.a1.example:443", "tls.cert-expired", "vuln.cve")},
		seen(a1, "tls.cert-expired", "dash.a1.example:443", "", finding.High), kev)
	f.record(t, "d2", now.Add(-5*day), []store.Coverage{cover(b1, "dash.b1.example:80", "http.missing-hsts", "tls.cert-expired")},
		seen(b1, "http.missing-hsts", "dash.b1.example:80", "", finding.Medium), seen(b1, "tls.cert-expired", "dash.b1.example:80", "", finding.High))
	// b1's certificate finding is fixed three days ago.
	f.record(t, "d3", now.Add(-3*day), []store.Coverage{cover(b1, "dash.b1.example:80", "tls.cert-expired")})

	for _, p := range []auth.Principal{sys, as(auth.RoleAnalyst, fx.nat), as(auth.RoleOrgAdmin, fx.a), as(auth.RoleViewer, fx.b1)} {
		ov, err := ds.Overview(f.ctx, p, 0, now)
		must(t, err, "overview")
		debt, err := ds.Debt(f.ctx, p, now)
		must(t, err, "debt")
		if len(ov.Orgs) != len(debt) {
			t.Fatalf("%s: overview has %d organizations, debt %d", p.Name, len(ov.Orgs), len(debt))
		}
		for i, d := range debt {
			o := ov.Orgs[i]
			if o.OrgID != d.OrgID || o.Active != d.Active || o.Overdue != d.Overdue || o.KEV != d.KEV || math.Abs(o.Weighted-d.Weighted) > 1e-6 {
				t.Fatalf("%s: org %d: overview %+v, debt %+v", p.Name, d.OrgID, o.OrgDebt, d)
			}
			for _, sev := range finding.Severities {
				if o.BySeverity[sev] != d.BySeverity[sev] {
					t.Fatalf("%s: org %d %s: %d vs %d", p.Name, d.OrgID, sev, o.BySeverity[sev], d.BySeverity[sev])
				}
			}
		}
	}
	ov, err := ds.Overview(f.ctx, sys, 0, now)
	must(t, err, "overview")
	// Active: a1's two (60 days old: high due in 30, critical KEV due in 14,
	// both overdue) and b1's medium (due in 90).
	if ov.Active != 3 || ov.Overdue != 2 || ov.KEV != 1 || ov.BySeverity[finding.Critical] != 1 || ov.BySeverity[finding.High] != 1 ||
		ov.BySeverity[finding.Medium] != 1 || ov.BySeverity[finding.Low] != 0 {
		t.Fatalf("overview counts: %+v", ov)
	}
	if len(ov.TopChecks) != 3 || ov.TopChecks[0].Check != "http.missing-hsts" || ov.TopChecks[0].Active != 1 {
		t.Fatalf("top checks (ties by ID): %+v", ov.TopChecks)
	}
	for _, o := range ov.Orgs {
		want := map[int64]int{fx.nat.ID: 3, fx.a.ID: 2, fx.a1.ID: 2, fx.a11.ID: 1, fx.b.ID: 1, fx.b1.ID: 1}[o.OrgID]
		if o.Assets != want {
			t.Fatalf("org %s: %d assets, want %d", o.Code, o.Assets, want)
		}
		if o.OrgID == fx.a1.ID && (o.ParentID != fx.a.ID || o.Kind == "" || o.Path != fx.a1.Path) {
			t.Fatalf("org A1 rollup: %+v", o)
		}
	}
	// A subtree.
	sub, err := ds.Overview(f.ctx, sys, fx.b.ID, now)
	must(t, err, "overview of B")
	if sub.Active != 1 || len(sub.Orgs) != 2 || sub.Overdue != 0 {
		t.Fatalf("overview of B: %+v", sub)
	}
	// Tenancy: B1's viewer sees B1 only, and A is not found.
	v := as(auth.RoleViewer, fx.b1)
	own, err := ds.Overview(f.ctx, v, 0, now)
	must(t, err, "viewer overview")
	if own.Active != 1 || len(own.Orgs) != 1 || own.Orgs[0].OrgID != fx.b1.ID || own.TopChecks[0].Check != "http.missing-hsts" {
		t.Fatalf("viewer overview: %+v", own)
	}
	if _, err := ds.Overview(f.ctx, v, fx.a.ID, now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("viewer overview of A: %v, want not found", err)
	}
	if _, err := ds.Trend(f.ctx, v, fx.a.ID, 10, now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("viewer trend of A: %v, want not found", err)
	}

	// Trend: day by day in Hanoi time.
	pts, err := ds.Trend(f.ctx, sys, 0, 90, now)
	must(t, err, "trend")
	if len(pts) != 90 {
		t.Fatalf("trend: %d points", len(pts))
	}
	at := func(daysAgo int) int { return pts[len(pts)-1-daysAgo].Active }
	if at(61) != 0 || at(60) != 2 || at(6) != 2 || at(5) != 4 || at(4) != 4 || at(3) != 3 || at(0) != 3 {
		t.Fatalf("trend: 61d %d, 60d %d, 6d %d, 5d %d, 4d %d, 3d %d, today %d", at(61), at(60), at(6), at(5), at(4), at(3), at(0))
	}
	hcm := time.FixedZone("ICT", 7*3600)
	if last := pts[len(pts)-1].Day.In(hcm); last.Hour() != 0 || last.Day() != 15 {
		t.Fatalf("last day %v, want midnight of 15 June in Hanoi", last)
	}
	// Kept days do not change (history is history), and the viewer's
	// trend is its own subtree's.
	again, err := ds.Trend(f.ctx, sys, 0, 90, now)
	must(t, err, "trend again")
	for i := range pts {
		if !pts[i].Day.Equal(again[i].Day) || pts[i].Active != again[i].Active {
			t.Fatalf("trend changed at %d: %+v vs %+v", i, pts[i], again[i])
		}
	}
	vt, err := ds.Trend(f.ctx, v, 0, 10, now)
	must(t, err, "viewer trend")
	if vt[len(vt)-1].Active != 1 || vt[len(vt)-5].Active != 2 {
		t.Fatalf("viewer trend: %+v", vt)
	}
	if _, err := ds.Trend(f.ctx, sys, 0, 0, now); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("trend of 0 days: %v", err)
	}
}
