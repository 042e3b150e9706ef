package web

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/check/all"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// nationalDashboard answers the dashboard's questions with a national
// constituency of n organizations (the shape of bench/console's), without
// a database: what BenchmarkDashboardPage measures is the handler's own
// work, ranking and rendering.
type nationalDashboard struct {
	ov    store.Overview
	trend []store.TrendPoint
}

func newNationalDashboard(n int, now time.Time) *nationalDashboard {
	d := &nationalDashboard{ov: store.Overview{At: now, BySeverity: map[finding.Severity]int{}}}
	checks := []string{"tls.cert-expired", "http.missing-hsts", "vuln.cve", "svc.telnet", "mail.no-dmarc"}
	for i, c := range checks {
		d.ov.TopChecks = append(d.ov.TopChecks, store.CheckCount{Check: c, Active: 1000 - 100*i, Overdue: 500 - 50*i})
	}
	for id := 1; id <= n; id++ {
		kind, parent, path := org.KindNational, int64(0), "/1/"
		switch {
		case id == 1:
		case id <= 21:
			kind, parent = org.KindMinistry, 1
		case id <= 84:
			kind, parent = org.KindProvince, 1
		case id <= 94:
			kind, parent = org.KindSector, 1
		default:
			kind, parent = org.KindAgency, int64(2+(id-95)%93)
		}
		if parent != 0 {
			path = d.ov.Orgs[parent-1].Path + fmt.Sprint(id) + "/"
		}
		o := store.OrgRollup{OrgDebt: store.OrgDebt{OrgID: int64(id), Active: 30 + id%50, Overdue: id % 23, KEV: id % 3, Weighted: float64(id%97) * 3.5,
			BySeverity: map[finding.Severity]int{}}, ParentID: parent, Code: fmt.Sprintf("ORG%04d", id),
			Name: fmt.Sprintf("Tổ chức %d", id), NameEN: fmt.Sprintf("Organization %d", id), Kind: kind, Path: path, Assets: 20 + id%40, Units: 1}
		for j, sev := range finding.Severities {
			o.BySeverity[sev] = (id + j) % 11
		}
		d.ov.Orgs = append(d.ov.Orgs, o)
	}
	for i := 0; i < trendDays; i++ {
		d.trend = append(d.trend, store.TrendPoint{Day: now.AddDate(0, 0, i-trendDays+1), Active: 30000 + 10*i})
	}
	return d
}

func (d *nationalDashboard) Overview(context.Context, auth.Principal, int64, time.Time) (store.Overview, error) {
	return d.ov, nil
}

func (d *nationalDashboard) Trend(context.Context, auth.Principal, int64, int, time.Time) ([]store.TrendPoint, error) {
	return d.trend, nil
}

func (d *nationalDashboard) SnapshotTrend(context.Context, int, time.Time) error { return nil }

// BenchmarkDashboardPage is the console's dashboard for a platform admin
// over 1,000 organizations, store answers given.
func BenchmarkDashboardPage(b *testing.B) {
	cat, err := loadCatalogs()
	if err != nil {
		b.Fatal(err)
	}
	pg, err := loadPages()
	if err != nil {
		b.Fatal(err)
	}
	reg, _ := all.Registry("")
	s := &Server{Deps: Deps{Dashboard: newNationalDashboard(1000, testNow), Catalog: reg.Catalog(), Version: "bench"},
		pages: pg, cat: cat, csrfKey: make([]byte, 32)}
	c := &reqCtx{lang: cat.get("vi"), sess: &session{p: auth.Principal{Name: "admin", Role: auth.RolePlatformAdmin}}, now: testNow}
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		if err := s.dashboard(rec, httptest.NewRequest("GET", "/", nil), c); err != nil {
			b.Fatal(err)
		}
	}
}
