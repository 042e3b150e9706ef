// Command console seeds a store with a national-scale constituency and
// measures the server time of every console page through the real
// handler (httptest, no network), printing p50, p95 and max per page.
//
//	go run ./bench/console -driver postgres -findings 1000000
//	go run ./bench/console -driver sqlite -findings 100000
//	go run ./bench/console -driver postgres -reuse -pages / -n 100 -fresh
//
// The dashboard keeps a scope's overview until a finding, an asset or an
// organization changes or a due date passes; -fresh makes every request
// find the findings changed, so it times the computation, not the kept
// answer. The "first" column is the first request after start (nothing
// kept yet).
//
// PostgreSQL data goes to a schema of its own (dropped and re-created);
// rows are loaded with COPY. Findings: a third active (open, acknowledged,
// reopened), the rest fixed, risk-accepted or false-positive, first seen
// over the past year, with policy due dates, about 2% KEV-listed.
package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/rampart-cert/rampart/bench/internal/seed"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/check/all"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
	"github.com/rampart-cert/rampart/internal/web"
)

func main() {
	driver := flag.String("driver", "postgres", "sqlite or postgres")
	dsn := flag.String("dsn", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL server (a schema rampart_console_bench is made in it)")
	nFindings := flag.Int("findings", 1_000_000, "findings to seed")
	nOrgs := flag.Int("orgs", 1000, "organizations")
	nAssets := flag.Int("assets", 50_000, "assets")
	reqs := flag.Int("n", 30, "requests per page")
	reuse := flag.Bool("reuse", false, "measure the existing data without seeding")
	dbPath := flag.String("db", "", "SQLite file to seed and keep (default: a temporary one, removed at the end)")
	only := flag.String("pages", "", "comma-separated pages to time (default: every page)")
	fresh := flag.Bool("fresh", false, "before each request, mark the findings tallies changed (as any finding write does), so every dashboard computes its counts afresh instead of using the kept overview")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the timed requests")
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
		path := *dbPath
		switch {
		case path == "" && *reuse:
			log.Fatal("-reuse needs -db with SQLite")
		case path == "":
			dir, err := os.MkdirTemp("", "console-bench")
			check(err)
			defer os.RemoveAll(dir)
			path = filepath.Join(dir, "bench.db")
		case !*reuse:
			for _, suffix := range []string{"", "-wal", "-shm"} {
				os.Remove(path + suffix)
			}
		}
		st, err = sqlstore.Open(ctx, "sqlite", path, nil)
		check(err)
	default:
		log.Fatalf("unknown driver %q", *driver)
	}
	defer st.Close()
	check(st.Migrate(ctx))
	now := time.Now().UTC()
	if !*reuse {
		start := time.Now()
		s := seed.Seeder{Driver: *driver, DSN: *dsn, DB: st.DB(), Now: now, Orgs: *nOrgs, Assets: *nAssets, Findings: *nFindings}
		check(s.Run(ctx))
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
	if *only != "" {
		pages = strings.Split(*only, ",")
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		check(err)
		check(pprof.StartCPUProfile(f))
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	fmt.Printf("\n%-22s %-42s %9s %9s %9s %9s %7s\n", "user", "page", "first", "p50", "p95", "max", "status")
	for _, u := range users {
		for _, p := range pages {
			var times []time.Duration
			var first time.Duration
			status := 0
			for i := 0; i <= *reqs; i++ {
				if *fresh {
					_, err := st.DB().ExecContext(ctx, "UPDATE counters SET value = value + 1 WHERE name = 'finding_tally'")
					check(err)
				}
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
