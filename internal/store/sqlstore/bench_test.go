package sqlstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// benchRows makes n import rows over a few kinds, spread over the codes.
func benchRows(n int, codes []string) []store.ImportRow {
	rows := make([]store.ImportRow, n)
	for i := range rows {
		a := asset.Asset{Tags: []string{"bench"}}
		switch i % 4 {
		case 0, 1:
			a.Kind, a.Value = asset.KindHostname, fmt.Sprintf("host%d.bench.example.vn", i)
		case 2:
			a.Kind, a.Value = asset.KindIPv4, fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
		case 3:
			a.Kind, a.Value, a.Criticality = asset.KindDomain, fmt.Sprintf("site%d.example.vn", i), asset.CriticalityImportant
		}
		rows[i] = store.ImportRow{Line: i + 2, OrgCode: codes[i%len(codes)], Asset: a}
	}
	return rows
}

// benchImport imports 100,000 rows into a fresh store per iteration as an
// org-admin of a ministry with ten agencies, then re-imports them (all
// unchanged) and reports both durations.
func benchImport(b *testing.B, open func(testing.TB) *Store) {
	ctx := context.Background()
	const n = 100_000
	var reimport time.Duration
	for b.Loop() {
		b.StopTimer()
		s := open(b)
		m := org.Organization{Code: "MIN", Name: "Ministry", Kind: org.KindMinistry}
		if err := s.CreateOrg(ctx, sysP, &m); err != nil {
			b.Fatal(err)
		}
		codes := []string{}
		for i := range 10 {
			o := org.Organization{ParentID: m.ID, Code: fmt.Sprintf("AG%d", i), Name: "Agency", Kind: org.KindAgency}
			if err := s.CreateOrg(ctx, sysP, &o); err != nil {
				b.Fatal(err)
			}
			codes = append(codes, o.Code)
		}
		admin := auth.Principal{Name: "bench", Role: auth.RoleOrgAdmin, OrgID: m.ID, OrgPath: m.Path}
		rows := benchRows(n, codes)
		b.StartTimer()
		sum, err := s.ImportAssets(ctx, admin, rows)
		if err != nil || sum.Created != n {
			b.Fatalf("import: %+v %v", sum, err)
		}
		b.StopTimer()
		t0 := time.Now()
		sum, err = s.ImportAssets(ctx, admin, benchRows(n, codes))
		if err != nil || sum.Unchanged != n {
			b.Fatalf("re-import: %+v %v", sum, err)
		}
		reimport += time.Since(t0)
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(reimport.Seconds()/float64(b.N), "s-reimport/op")
}

// BenchmarkImport100k: the issue asks for 100,000 rows on SQLite in well
// under 10 s.
func BenchmarkImport100k(b *testing.B) { benchImport(b, openSQLite) }

func BenchmarkImport100kPostgres(b *testing.B) {
	postgresDSN(b)
	benchImport(b, openPostgres)
}
