package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// The shape of a benchmark asset's findings: targets × checks × subjects.
const (
	benchTargets  = 50
	benchChecks   = 10
	benchSubjects = 10
	benchPerAsset = benchTargets * benchChecks * benchSubjects // 5,000
)

var benchSeverities = []finding.Severity{finding.Critical, finding.High, finding.Medium, finding.Low, finding.Info}

func benchCheck(c int) string { return fmt.Sprintf("bench.check-%02d", c) }

func benchTarget(a asset.Asset, t int) string { return fmt.Sprintf("%s:%d", a.Value, 1000+t) }

// benchSeen is the i-th finding of asset a, with evidence version v.
func benchSeen(a asset.Asset, i, v int) store.Finding {
	t, c, s := i/(benchChecks*benchSubjects), i/benchSubjects%benchChecks, i%benchSubjects
	target, check, subject := benchTarget(a, t), benchCheck(c), fmt.Sprintf("subject-%d", s)
	return store.Finding{
		Key: finding.Key(a.ID, check, target, subject), OrgID: a.OrgID, AssetID: a.ID,
		Check: check, Family: "bench", Severity: benchSeverities[i%len(benchSeverities)],
		Target: target, Subject: subject, Title: "Benchmark finding " + check,
		Evidence: json.RawMessage(fmt.Sprintf(`{"banner":"Server: bench/%d","seen":%d}`, i, v)),
		CVE:      []string{}, KEV: i%97 == 0,
	}
}

func benchCoverage(a asset.Asset) []store.Coverage {
	checks := make([]string, benchChecks)
	for c := range checks {
		checks[c] = benchCheck(c)
	}
	out := make([]store.Coverage, benchTargets)
	for t := range out {
		out[t] = store.Coverage{AssetID: a.ID, OrgID: a.OrgID, Target: benchTarget(a, t), Checks: checks}
	}
	return out
}

// benchFindingStore makes a ministry with ten agencies and nAssets assets,
// each holding benchPerAsset open findings, recorded one job per asset.
func benchFindingStore(b testing.TB, s *Store, nAssets int, at time.Time) ([]asset.Asset, []org.Organization, time.Duration) {
	b.Helper()
	ctx := context.Background()
	m := org.Organization{Code: "MIN", Name: "Ministry", Kind: org.KindMinistry}
	if err := s.CreateOrg(ctx, sysP, &m); err != nil {
		b.Fatal(err)
	}
	orgs := []org.Organization{m}
	for i := range 10 {
		o := org.Organization{ParentID: m.ID, Code: fmt.Sprintf("AG%d", i), Name: "Agency", Kind: org.KindAgency}
		if err := s.CreateOrg(ctx, sysP, &o); err != nil {
			b.Fatal(err)
		}
		orgs = append(orgs, o)
	}
	assets := make([]asset.Asset, nAssets)
	for i := range assets {
		assets[i] = asset.Asset{OrgID: orgs[1+i%10].ID, Kind: asset.KindHostname, Value: fmt.Sprintf("host%d.bench.example.vn", i)}
		if err := s.CreateAsset(ctx, sysP, &assets[i]); err != nil {
			b.Fatal(err)
		}
	}
	t0 := time.Now()
	for _, a := range assets {
		seen := make([]store.Finding, benchPerAsset)
		for i := range seen {
			seen[i] = benchSeen(a, i, 0)
		}
		ch, err := s.RecordFindings(ctx, store.FindingBatch{JobID: fmt.Sprintf("seed-%d", a.ID), At: at, Policy: finding.DefaultPolicy,
			Covered: benchCoverage(a), Seen: seen})
		if err != nil || len(ch) != benchPerAsset {
			b.Fatalf("seed: %d changes, %v", len(ch), err)
		}
	}
	return assets, orgs, time.Since(t0)
}

// benchRecordFindings records a 5,000-finding job into a store holding
// nAssets × 5,000 findings. Each job re-sees the asset's findings but
// for a rotating window of 100 (fixed), brings back the previous window
// (reopened) and carries new evidence for a tenth of them: the steady
// state of a daily rescan.
func benchRecordFindings(b *testing.B, open func(testing.TB) *Store, nAssets int) {
	ctx := context.Background()
	s := open(b)
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	assets, _, seed := benchFindingStore(b, s, nAssets, at)
	if _, err := s.DB().ExecContext(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	a := assets[0]
	cov := benchCoverage(a)
	const window = 100
	iter := 0
	changed := 0
	for b.Loop() {
		iter++
		skip := (iter * window) % benchPerAsset
		seen := make([]store.Finding, 0, benchPerAsset)
		for i := range benchPerAsset {
			if i >= skip && i < skip+window {
				continue
			}
			v := 0
			if (i+iter)%10 == 0 {
				v = iter
			}
			seen = append(seen, benchSeen(a, i, v))
		}
		ch, err := s.RecordFindings(ctx, store.FindingBatch{JobID: fmt.Sprintf("job-%d", iter), At: at.Add(time.Duration(iter) * time.Hour),
			Policy: finding.DefaultPolicy, Covered: cov, Seen: seen})
		if err != nil {
			b.Fatal(err)
		}
		changed += len(ch)
	}
	b.ReportMetric(float64(benchPerAsset)*float64(b.N)/b.Elapsed().Seconds(), "findings/s")
	b.ReportMetric(float64(changed)/float64(b.N), "changes/op")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/batch")
	b.ReportMetric(seed.Seconds(), "s-seed")
}

// 20 assets × 5,000 = 100,000 stored findings.
func BenchmarkRecordFindings(b *testing.B) { benchRecordFindings(b, openSQLite, 20) }
func BenchmarkRecordFindingsPostgres(b *testing.B) {
	postgresDSN(b)
	benchRecordFindings(b, openPostgres, 20)
}

// 200 assets × 5,000 = 1,000,000 stored findings: the goal is a
// 5,000-finding batch in at most 250 ms on either database.
func BenchmarkRecordFindings1M(b *testing.B) { benchRecordFindings(b, openSQLite, 200) }
func BenchmarkRecordFindings1MPostgres(b *testing.B) {
	postgresDSN(b)
	benchRecordFindings(b, openPostgres, 200)
}

// benchListFindings lists the first page of one agency's active findings
// (with and without a severity floor), and a page deep in the listing,
// in a store of n findings spread over ten agencies.
func benchListFindings(b *testing.B, open func(testing.TB) *Store, nAssets int) {
	ctx := context.Background()
	s := open(b)
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	_, orgs, seed := benchFindingStore(b, s, nAssets, at)
	if _, err := s.DB().ExecContext(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	viewer := auth.Principal{Name: "viewer", Role: auth.RoleViewer, OrgID: orgs[3].ID}
	filters := []store.FindingFilter{
		{Active: true},
		{Active: true, MinSeverity: finding.High},
		{Overdue: true, Now: at.Add(40 * 24 * time.Hour)},
		{Check: "bench.check-07", KEV: new(bool)},
	}
	var debt time.Duration
	for b.Loop() {
		for _, fl := range filters {
			fl.Limit = store.DefaultLimit
			p, err := s.ListFindings(ctx, viewer, fl)
			if err != nil || len(p.Items) != store.DefaultLimit {
				b.Fatalf("list %+v: %d items, %v", fl, len(p.Items), err)
			}
			p, err = s.ListFindings(ctx, viewer, store.FindingFilter{PageRequest: store.PageRequest{After: p.Next}, Active: true})
			if err != nil || len(p.Items) == 0 {
				b.Fatalf("next page: %v", err)
			}
		}
		t0 := time.Now()
		if _, err := s.Debt(ctx, sysP, at.Add(40*24*time.Hour)); err != nil {
			b.Fatal(err)
		}
		debt += time.Since(t0)
	}
	b.ReportMetric(float64(b.N*len(filters)*2)/(b.Elapsed()-debt).Seconds(), "pages/s")
	b.ReportMetric(debt.Seconds()*1000/float64(b.N), "ms-debt/op")
	b.ReportMetric(seed.Seconds(), "s-seed")
}

// 200 assets × 5,000 = 1,000,000 findings.
func BenchmarkListFindings1M(b *testing.B) { benchListFindings(b, openSQLite, 200) }
func BenchmarkListFindings1MPostgres(b *testing.B) {
	postgresDSN(b)
	benchListFindings(b, openPostgres, 200)
}
