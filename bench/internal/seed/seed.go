// Package seed loads a synthetic constituency into a Rampart database in
// bulk, for the benchmarks under bench/ (console pages, API load).
package seed

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-cert/rampart/internal/finding"
)

// The seeded constituency is the one of bench/console (the reliability
// review seeded its 100,000 findings with it): 1 national organization,
// 20 ministries, 63 provinces, 10 sectors and agencies under them; a third
// of the findings active, first seen over the past year, about 2 %
// KEV-listed. Rows go in bulk, bypassing the store; the store's
// aggregates are rebuilt afterwards.

var checks = []string{"tls.cert-expired", "tls.cert-expiring", "tls.cert-self-signed", "tls.legacy-protocol", "tls.weak-cipher",
	"http.missing-hsts", "http.missing-security-headers", "http.exposed-git", "http.exposed-env", "http.directory-listing",
	"http.version-disclosure", "svc.redis-noauth", "svc.telnet", "svc.ftp-anonymous", "svc.rdp-exposed", "vuln.cve",
	"dns.zone-transfer", "mail.spf-permissive", "mail.no-dmarc", "web.defaced"}

// Seeder loads Orgs organizations, Assets assets and Findings findings
// into DB (a migrated Rampart database of Driver, "sqlite" or "postgres";
// DSN is the PostgreSQL server's), dated around Now.
type Seeder struct {
	Driver, DSN            string
	DB                     *sql.DB
	Now                    time.Time
	Orgs, Assets, Findings int
	orgPath                []string // by id
	assetOrg               []int64  // by id
}

func (s *Seeder) orgRows() [][]any {
	rows := make([][]any, 0, s.Orgs)
	s.orgPath = make([]string, s.Orgs+1)
	for id := 1; id <= s.Orgs; id++ {
		var parent any
		kind, path := "national", "/1/"
		switch {
		case id == 1:
		case id <= 21:
			kind, parent = "ministry", int64(1)
		case id <= 84:
			kind, parent = "province", int64(1)
		case id <= 94:
			kind, parent = "sector", int64(1)
		default:
			kind, parent = "agency", int64(2+(id-95)%93)
		}
		if parent != nil {
			path = s.orgPath[parent.(int64)] + strconv.Itoa(id) + "/"
		}
		s.orgPath[id] = path
		rows = append(rows, []any{int64(id), parent, fmt.Sprintf("ORG%04d", id), fmt.Sprintf("Tổ chức %d", id), fmt.Sprintf("Organization %d", id), kind, path, s.Now, s.Now})
	}
	return rows
}

func (s *Seeder) assetRows() [][]any {
	rows := make([][]any, 0, s.Assets)
	s.assetOrg = make([]int64, s.Assets+1)
	for id := 1; id <= s.Assets; id++ {
		org := int64(1 + (id*7919)%s.Orgs)
		s.assetOrg[id] = org
		rows = append(rows, []any{int64(id), org, "hostname", fmt.Sprintf("h%d.org%d.example.vn", id, org), "normal", int64(2), "[]", "", s.Now, s.Now})
	}
	return rows
}

func (s *Seeder) findingRow(id int, r *rand.Rand) []any {
	asset := int64(1 + r.IntN(s.Assets))
	chk := checks[r.IntN(len(checks))]
	sev := finding.Severities[min(4, r.IntN(6))]
	kev := r.IntN(50) == 0
	first := s.Now.Add(-time.Duration(r.Int64N(int64(365 * 24 * time.Hour))))
	last := first
	var state string
	var fixed, until any
	switch x := r.IntN(100); {
	case x < 24:
		state = "open"
	case x < 31:
		state = "acknowledged"
	case x < 34:
		state = "reopened"
	case x < 90:
		state = "fixed"
		f := first.Add(time.Duration(1+r.IntN(60)) * 24 * time.Hour)
		if f.After(s.Now) {
			f = s.Now
		}
		fixed, last = f, f
	case x < 95:
		state = "risk-accepted"
		until = s.Now.Add(90 * 24 * time.Hour)
	default:
		state = "false-positive"
		until = s.Now.Add(90 * 24 * time.Hour)
	}
	var due any
	if d := finding.DefaultPolicy.DueAt(sev, kev, first); !d.IsZero() {
		due = d
	}
	target := fmt.Sprintf("h%d.example.vn:%d", asset, 443)
	return []any{fmt.Sprintf("k%d", id), s.assetOrg[asset], asset, chk, family(chk), string(sev), int64(sev.Rank()), target, "",
		chk + " on " + target, `{"fields":{"seed":"1"}}`, "[]", kev, state, first, last, first, due, fixed, until, "", "", "", s.Now}
}

var findingCols = []string{"key", "org_id", "asset_id", "check_id", "family", "severity", "severity_rank", "target", "subject", "title",
	"evidence", "cve", "kev", "state", "first_seen", "last_seen", "due_from", "due_at", "fixed_at", "until_at", "reason", "approver", "last_job_id", "updated_at"}

var orgCols = []string{"id", "parent_id", "code", "name", "name_en", "kind", "path", "created_at", "updated_at"}
var assetCols = []string{"id", "org_id", "kind", "value", "criticality", "security_level", "tags", "notes", "created_at", "updated_at"}

// Run loads everything, rebuilds the store's aggregates and analyzes the
// tables.
func (s *Seeder) Run(ctx context.Context) error {
	orgs, assets := s.orgRows(), s.assetRows()
	r := rand.New(rand.NewPCG(1, 2))
	if s.Driver == "postgres" {
		conn, err := pgx.Connect(ctx, s.DSN)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{"orgs"}, orgCols, pgx.CopyFromRows(orgs)); err != nil {
			return err
		}
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{"assets"}, assetCols, pgx.CopyFromRows(assets)); err != nil {
			return err
		}
		i := 0
		src := pgx.CopyFromFunc(func() ([]any, error) {
			if i >= s.Findings {
				return nil, nil
			}
			i++
			return s.findingRow(i, r), nil
		})
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{"findings"}, findingCols, src); err != nil {
			return err
		}
		for _, q := range []string{"SELECT setval(pg_get_serial_sequence('orgs', 'id'), (SELECT MAX(id) FROM orgs))",
			"SELECT setval(pg_get_serial_sequence('assets', 'id'), (SELECT MAX(id) FROM assets))",
			"VACUUM ANALYZE orgs", "VACUUM ANALYZE assets", "VACUUM ANALYZE findings"} {
			if _, err := conn.Exec(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		return nil
	}
	insert := func(table string, cols []string, n int, row func(i int) []any) error {
		tx, err := s.DB.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		st, err := tx.PrepareContext(ctx, "INSERT INTO "+table+" ("+strings.Join(cols, ", ")+") VALUES (?"+strings.Repeat(", ?", len(cols)-1)+")")
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			if _, err := st.ExecContext(ctx, row(i)...); err != nil {
				return err
			}
		}
		st.Close()
		return tx.Commit()
	}
	if err := insert("orgs", orgCols, len(orgs), func(i int) []any { return orgs[i] }); err != nil {
		return err
	}
	if err := insert("assets", assetCols, len(assets), func(i int) []any { return assets[i] }); err != nil {
		return err
	}
	if err := insert("findings", findingCols, s.Findings, func(i int) []any { return s.findingRow(i+1, r) }); err != nil {
		return err
	}
	_, err := s.DB.ExecContext(ctx, "ANALYZE")
	return err
}

func family(check string) string {
	if i := strings.IndexByte(check, '.'); i >= 0 {
		return check[:i]
	}
	return check
}
