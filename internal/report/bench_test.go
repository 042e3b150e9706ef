package report

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

// seedNational loads a constituency of nOrgs organizations (one national
// root, 22 ministries and 63 provinces, agencies under them), two assets
// per agency and nFindings findings (four in five active, the rest fixed
// in the last 120 days) with bulk SQL, bypassing tenancy and audit.
func seedNational(b testing.TB, st *sqlstore.Store, nOrgs, nFindings int, now time.Time) {
	b.Helper()
	ctx := context.Background()
	tx, err := st.DB().BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	insOrg, err := tx.PrepareContext(ctx, "INSERT INTO orgs (id, parent_id, code, name, name_en, kind, path, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
	if err != nil {
		b.Fatal(err)
	}
	paths := map[int64]string{1: "/1/"}
	if _, err := insOrg.ExecContext(ctx, 1, nil, "VN", "Việt Nam", "Viet Nam", "national", "/1/", now, now); err != nil {
		b.Fatal(err)
	}
	const top = 85
	for i := int64(2); i <= int64(nOrgs); i++ {
		parent, kind, name := int64(1), "ministry", fmt.Sprintf("Bộ số %d", i)
		switch {
		case i > 23 && i <= 1+top:
			kind, name = "province", fmt.Sprintf("Tỉnh số %d", i)
		case i > 1+top:
			parent, kind, name = 2+(i%top), "agency", fmt.Sprintf("Cơ quan số %d", i)
		}
		paths[i] = fmt.Sprintf("%s%d/", paths[parent], i)
		if _, err := insOrg.ExecContext(ctx, i, parent, fmt.Sprintf("ORG%05d", i), name, fmt.Sprintf("Organization %d", i), kind, paths[i], now, now); err != nil {
			b.Fatal(err)
		}
	}
	insAsset, err := tx.PrepareContext(ctx, "INSERT INTO assets (id, org_id, kind, value, criticality, security_level, tags, notes, created_at, updated_at) VALUES (?, ?, 'hostname', ?, 'normal', ?, '[]', '', ?, ?)")
	if err != nil {
		b.Fatal(err)
	}
	var assetOrg []int64
	for o := int64(2 + top); o <= int64(nOrgs); o++ {
		for k := 0; k < 2; k++ {
			id := int64(len(assetOrg) + 1)
			if _, err := insAsset.ExecContext(ctx, id, o, fmt.Sprintf("h%d-%d.gov.vn", o, k), 1+int(id%5), now, now); err != nil {
				b.Fatal(err)
			}
			assetOrg = append(assetOrg, o)
		}
	}
	insF, err := tx.PrepareContext(ctx, `INSERT INTO findings (key, org_id, asset_id, check_id, family, severity, severity_rank, target, subject, title, evidence, cve, kev, state,
		first_seen, last_seen, due_from, due_at, fixed_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', ?, '{}', '[]', ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		b.Fatal(err)
	}
	checks := []string{"tls.weak-cipher", "tls.cert-expired", "http.missing-hsts", "http.exposed-git", "svc.rdp-exposed", "svc.redis-unauthenticated",
		"vuln.known-cve", "dns.dmarc-missing", "dns.spf-missing", "web.defacement", "http.missing-security-headers", "tls.legacy-protocol"}
	sevs := []finding.Severity{finding.Low, finding.Medium, finding.Medium, finding.High, finding.Low, finding.High, finding.Critical, finding.Info}
	for i := 0; i < nFindings; i++ {
		a := int64(i%len(assetOrg)) + 1
		o := assetOrg[a-1]
		chk := checks[(i/len(assetOrg))%len(checks)]
		sev := sevs[i%len(sevs)]
		kev := i%53 == 0
		first := now.Add(-time.Duration(1+i%200) * 24 * time.Hour)
		var due any
		if d := finding.DefaultPolicy.DueAt(sev, kev, first); !d.IsZero() {
			due = d
		}
		state, fixed := "open", any(nil)
		if i%5 == 4 {
			state = "fixed"
			f := first.Add(time.Duration(1+i%40) * 24 * time.Hour)
			if f.After(now) {
				f = now
			}
			fixed = f
		}
		fam := chk[:bytes.IndexByte([]byte(chk), '.')]
		target := fmt.Sprintf("h%d.gov.vn:%d", o, 443+i/len(assetOrg))
		if _, err := insF.ExecContext(ctx, finding.Key(a, chk, target, ""), o, a, chk, fam, string(sev), sev.Rank(), target, chk+" on "+target,
			kev, state, first, now, first, due, fixed, now); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkNationalReport10k builds the national report of 10,000
// organizations and 200,000 findings on SQLite, then renders it:
//
//	go test ./internal/report -run '^$' -bench NationalReport10k -benchtime 3x
func BenchmarkNationalReport10k(b *testing.B) {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	st := openStore(b)
	t0 := time.Now()
	seedNational(b, st, 10_000, 200_000, now)
	b.Logf("seeded 10,000 organizations, 20k assets, 200,000 findings in %v", time.Since(t0).Round(time.Millisecond))
	admin := auth.Principal{Name: "national-admin", Role: auth.RoleOrgAdmin, OrgID: 1}
	var r *Report
	b.Run("Build", func(b *testing.B) {
		for b.Loop() {
			var err error
			if r, err = Build(ctx, st, admin, 1, now); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(r.Orgs)), "orgs")
		b.ReportMetric(float64(len(r.Findings)), "active")
	})
	for _, format := range []string{"pdf", "xlsx", "html", "csv"} {
		b.Run(format, func(b *testing.B) {
			var n countWriter
			for b.Loop() {
				n = 0
				if err := Render(&n, r, format, "vi"); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "bytes")
		})
	}
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)
