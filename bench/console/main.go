// Command console seeds a store with a national-scale constituency and
// measures the server time of every console page through the real
// handler (httptest, no network), printing p50, p95 and max per page.
//
//	go run ./bench/console -driver postgres -findings 1000000
//	go run ./bench/console -driver sqlite -findings 100000
//
// PostgreSQL data goes to a schema of its own (dropped and re-created);
// rows are loaded with COPY. Findings: a third active (open, acknowledged,
// reopened), the rest fixed, risk-accepted or false-positive, first seen
// over the past year, with policy due dates, about 2% KEV-listed.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/check/all"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
	"github.com/rampart-cert/rampart/internal/web"
)

var checks = []string{"tls.cert-expired", "tls.cert-expiring", "tls.cert-self-signed", "tls.legacy-protocol", "tls.weak-cipher",
	"http.missing-hsts", "http.missing-security-headers", "http.exposed-git", "http.exposed-env", "http.directory-listing",
	"http.version-disclosure", "svc.redis-noauth", "svc.telnet", "svc.ftp-anonymous", "svc.rdp-exposed", "vuln.cve",
	"dns.zone-transfer", "mail.spf-permissive", "mail.no-dmarc", "web.defaced"}

func main() {
	driver := flag.String("driver", "postgres", "sqlite or postgres")
	dsn := flag.String("dsn", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL server (a schema rampart_console_bench is made in it)")
	nFindings := flag.Int("findings", 1_000_000, "findings to seed")
	nOrgs := flag.Int("orgs", 1000, "organizations")
	nAssets := flag.Int("assets", 50_000, "assets")
	reqs := flag.Int("n", 30, "requests per page")
	reuse := flag.Bool("reuse", false, "measure the existing data without seeding")
	flag.Parse()
	ctx := context.Background()

	var (
		st  *sqlstore.Store
		err error
	)
	switch *driver {
	case "postgres":
		const schema = "rampart_console_bench"
		if !*reuse {
			conn, err := pgx.Connect(ctx, *dsn)
			check(err)
			_, err = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE; CREATE SCHEMA "+schema)
			check(err)
			conn.Close(ctx)
		}
		u, err := url.Parse(*dsn)
		check(err)
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		*dsn = u.String()
		st, err = sqlstore.Open(ctx, "postgres", *dsn, nil)
		check(err)
	case "sqlite":
		dir, err := os.MkdirTemp("", "console-bench")
		check(err)
		defer os.RemoveAll(dir)
		st, err = sqlstore.Open(ctx, "sqlite", filepath.Join(dir, "bench.db"), nil)
		check(err)
	default:
		log.Fatalf("unknown driver %q", *driver)
	}
	defer st.Close()
	check(st.Migrate(ctx))
	now := time.Now().UTC()
	if !*reuse {
		start := time.Now()
		s := seeder{driver: *driver, dsn: *dsn, db: st.DB(), now: now, orgs: *nOrgs, assets: *nAssets, findings: *nFindings}
		check(s.run(ctx))
		check(st.RebuildAggregates(ctx)) // rows went in around the store
		fmt.Printf("seeded %d organizations, %d assets, %d findings in %s\n", *nOrgs, *nAssets, *nFindings, time.Since(start).Round(time.Millisecond))
	}

	reg, _ := all.Registry("")
	srv, err := web.New(web.Deps{Store: st, Dashboard: st, Catalog: reg.Catalog(), Version: "bench"})
	check(err)
	h := srv.Handler()

	// Sessions for a platform admin and a ministry's org-admin.
	hash, err := auth.HashPasswordWith("bench password 1234", auth.Argon2Params{Time: 1, Memory: 8 * 1024, Threads: 1, SaltLen: 16, KeyLen: 32})
	check(err)
	session := func(name string, role auth.Role, orgID int64) string {
		u, err := st.UserForLogin(ctx, name)
		if err != nil {
			u = auth.User{Name: name, Role: role, OrgID: orgID, PasswordHash: hash}
			check(st.CreateUser(ctx, auth.SystemPrincipal, &u))
		}
		secret, prefix, th, err := auth.NewToken()
		check(err)
		exp := now.Add(time.Hour)
		t := auth.Token{Name: "web-session", Role: u.Role, OrgID: u.OrgID, UserID: u.ID, Hash: th, Prefix: prefix, ExpiresAt: &exp, CreatedBy: name}
		check(st.CreateToken(ctx, auth.SystemPrincipal, &t))
		return secret
	}
	var findingID, assetID int64
	check(st.DB().QueryRowContext(ctx, "SELECT MAX(id) FROM findings").Scan(&findingID))
	check(st.DB().QueryRowContext(ctx, "SELECT MAX(id) FROM assets").Scan(&assetID))
	users := []struct {
		name, secret string
	}{
		{"admin (national)", session("bench-admin", auth.RolePlatformAdmin, 0)},
		{"ministry org-admin", session("bench-ministry", auth.RoleOrgAdmin, 2)},
	}
	pages := []string{"/", "/orgs/2", "/findings?state=active", "/findings?severity=critical&overdue=1", "/findings?kev=yes&state=active",
		"/findings/" + strconv.FormatInt(findingID, 10), "/assets", "/assets/" + strconv.FormatInt(assetID, 10), "/scans", "/admin/users", "/admin/audit"}
	fmt.Printf("\n%-22s %-42s %9s %9s %9s %9s %7s\n", "user", "page", "first", "p50", "p95", "max", "status")
	for _, u := range users {
		for _, p := range pages {
			var times []time.Duration
			var first time.Duration
			status := 0
			for i := 0; i <= *reqs; i++ {
				req := httptest.NewRequest("GET", p, nil)
				req.AddCookie(&http.Cookie{Name: "rampart_session", Value: u.secret})
				rec := httptest.NewRecorder()
				t0 := time.Now()
				h.ServeHTTP(rec, req)
				d := time.Since(t0)
				status = rec.Code
				if i == 0 {
					first = d // the first request of the day also computes the trend snapshot
					continue
				}
				times = append(times, d)
			}
			sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
			pct := func(q float64) time.Duration { return times[min(len(times)-1, int(q*float64(len(times))))] }
			fmt.Printf("%-22s %-42s %9s %9s %9s %9s %7d\n", u.name, p, ms(first), ms(pct(0.5)), ms(pct(0.95)), ms(times[len(times)-1]), status)
		}
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// seeder loads rows in bulk, bypassing the store (no audit entries).
type seeder struct {
	driver, dsn            string
	db                     *sql.DB
	now                    time.Time
	orgs, assets, findings int
	orgPath                []string // by id
	assetOrg               []int64  // by id
}

// The tree: 1 national; 20 ministries (2-21), 63 provinces (22-84), 10
// sectors (85-94); the rest agencies under them in turn.
func (s *seeder) orgRows() [][]any {
	rows := make([][]any, 0, s.orgs)
	s.orgPath = make([]string, s.orgs+1)
	for id := 1; id <= s.orgs; id++ {
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
		rows = append(rows, []any{int64(id), parent, fmt.Sprintf("ORG%04d", id), fmt.Sprintf("Tổ chức %d", id), fmt.Sprintf("Organization %d", id), kind, path, s.now, s.now})
	}
	return rows
}

func (s *seeder) assetRows() [][]any {
	rows := make([][]any, 0, s.assets)
	s.assetOrg = make([]int64, s.assets+1)
	for id := 1; id <= s.assets; id++ {
		org := int64(1 + (id*7919)%s.orgs)
		s.assetOrg[id] = org
		rows = append(rows, []any{int64(id), org, "hostname", fmt.Sprintf("h%d.org%d.example.vn", id, org), "normal", int64(2), "[]", "", s.now, s.now})
	}
	return rows
}

func (s *seeder) findingRow(id int, r *rand.Rand) []any {
	asset := int64(1 + r.IntN(s.assets))
	chk := checks[r.IntN(len(checks))]
	sev := finding.Severities[min(4, r.IntN(6))]
	kev := r.IntN(50) == 0
	first := s.now.Add(-time.Duration(r.Int64N(int64(365 * 24 * time.Hour))))
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
		if f.After(s.now) {
			f = s.now
		}
		fixed, last = f, f
	case x < 95:
		state = "risk-accepted"
		until = s.now.Add(90 * 24 * time.Hour)
	default:
		state = "false-positive"
		until = s.now.Add(90 * 24 * time.Hour)
	}
	var due any
	if d := finding.DefaultPolicy.DueAt(sev, kev, first); !d.IsZero() {
		due = d
	}
	target := fmt.Sprintf("h%d.example.vn:%d", asset, 443)
	return []any{fmt.Sprintf("k%d", id), s.assetOrg[asset], asset, chk, family(chk), string(sev), int64(sev.Rank()), target, "",
		chk + " on " + target, `{"fields":{"seed":"1"}}`, "[]", kev, state, first, last, first, due, fixed, until, "", "", "", s.now}
}

var findingCols = []string{"key", "org_id", "asset_id", "check_id", "family", "severity", "severity_rank", "target", "subject", "title",
	"evidence", "cve", "kev", "state", "first_seen", "last_seen", "due_from", "due_at", "fixed_at", "until_at", "reason", "approver", "last_job_id", "updated_at"}

var orgCols = []string{"id", "parent_id", "code", "name", "name_en", "kind", "path", "created_at", "updated_at"}
var assetCols = []string{"id", "org_id", "kind", "value", "criticality", "security_level", "tags", "notes", "created_at", "updated_at"}

func (s *seeder) run(ctx context.Context) error {
	orgs, assets := s.orgRows(), s.assetRows()
	r := rand.New(rand.NewPCG(1, 2))
	if s.driver == "postgres" {
		conn, err := pgx.Connect(ctx, s.dsn)
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
			if i >= s.findings {
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
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		q := "INSERT INTO " + table + " (" + join(cols) + ") VALUES (" + marks(len(cols)) + ")"
		st, err := tx.PrepareContext(ctx, q)
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
	if err := insert("findings", findingCols, s.findings, func(i int) []any { return s.findingRow(i+1, r) }); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, "ANALYZE")
	return err
}

func join(cols []string) string {
	out := ""
	for i, c := range cols {
		if i > 0 {
			out += ", "
		}
		out += c
	}
	return out
}

func marks(n int) string {
	out := ""
	for i := 0; i < n; i++ {
		if i > 0 {
			out += ", "
		}
		out += "?"
	}
	return out
}

func family(check string) string {
	for i := range check {
		if check[i] == '.' {
			return check[:i]
		}
	}
	return check
}
