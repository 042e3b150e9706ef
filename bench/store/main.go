// Command store measures the asset listing of the SQL store at scale: it
// seeds orgs × assets-per-org assets, then times ListAssets calls as an
// org-admin of random organizations and prints percentiles.
//
//	go run ./bench/store -driver sqlite -assets 1000000
//	go run ./bench/store -driver postgres -assets 1000000 [-dsn postgres://...]
//
// Organizations are created through the store (audited, as in production).
// Assets are bulk-loaded straight into the store's schema — multi-row
// INSERTs on SQLite, COPY on PostgreSQL — bypassing validation, the audit
// log and AssetsVersion: that is seeding, not what is measured.
//
// SQLite runs in a temporary file, PostgreSQL in a fresh schema that is
// dropped at the end (unless -keep).
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

func main() {
	driver := flag.String("driver", "sqlite", "sqlite or postgres")
	dsn := flag.String("dsn", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL server (driver postgres)")
	total := flag.Int("assets", 1_000_000, "assets in total")
	orgs := flag.Int("orgs", 1000, "leaf organizations; assets are spread evenly")
	queries := flag.Int("queries", 2000, "ListAssets calls to time")
	keep := flag.Bool("keep", false, "keep the database or schema")
	flag.Parse()
	log.SetFlags(0)
	ctx := context.Background()

	storeDSN, cleanup := prepare(*driver, *dsn, *keep)
	defer cleanup()
	s, err := sqlstore.Open(ctx, *driver, storeDSN, slog.New(slog.DiscardHandler))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		log.Fatal(err)
	}

	t0 := time.Now()
	leaves, ministries := seedOrgs(ctx, s, *orgs)
	log.Printf("seeded %d organizations in %v", len(leaves)+len(ministries)+1, time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()
	perOrg := *total / len(leaves)
	if err := seedAssets(ctx, s, *driver, storeDSN, leaves, perOrg); err != nil {
		log.Fatal(err)
	}
	if _, err := s.DB().ExecContext(ctx, "ANALYZE"); err != nil {
		log.Fatal(err)
	}
	log.Printf("seeded %d assets (%d per organization) in %v", perOrg*len(leaves), perOrg, time.Since(t0).Round(time.Millisecond))

	rng := mrand.New(mrand.NewPCG(1, 2))
	series := map[string][]time.Duration{}
	order := []string{"first page", "filtered", "second page", "subtree (ministry admin)"}
	var all []time.Duration
	// Warm up the caches and connections, as a running server would be.
	for range 50 {
		o := leaves[rng.IntN(len(leaves))]
		if _, err := s.ListAssets(ctx, admin(o), store.AssetFilter{OrgID: o.ID, PageRequest: store.PageRequest{Limit: 100}}); err != nil {
			log.Fatal(err)
		}
	}
	for i := range *queries {
		o := leaves[rng.IntN(len(leaves))]
		p := admin(o)
		f := store.AssetFilter{OrgID: o.ID, PageRequest: store.PageRequest{Limit: 100}}
		name := order[0]
		switch r := i % 20; {
		case r < 2: // a filter that scans the organization's assets
			name = order[1]
			f.Query = fmt.Sprintf("h%d", rng.IntN(10))
			if r == 1 {
				f.Query, f.Kind = "", "ipv4"
			}
		case r < 4: // the page after the first
			name = order[2]
			first, err := s.ListAssets(ctx, p, f)
			if err != nil || first.Next == "" {
				log.Fatalf("first page: %v (next %q)", err, first.Next)
			}
			f.After = first.Next
		case r == 4: // a ministry administrator listing its whole subtree
			name = order[3]
			m := ministries[rng.IntN(len(ministries))]
			p, f = admin(m), store.AssetFilter{PageRequest: store.PageRequest{Limit: 100}}
		}
		start := time.Now()
		page, err := s.ListAssets(ctx, p, f)
		d := time.Since(start)
		if err != nil {
			log.Fatal(err)
		}
		if len(page.Items) == 0 {
			log.Fatalf("%s for %s: empty page", name, o.Code)
		}
		series[name] = append(series[name], d)
		all = append(all, d)
	}
	fmt.Printf("driver=%s assets=%d orgs=%d queries=%d (limit 100, org-admin principal)\n", *driver, perOrg*len(leaves), len(leaves), *queries)
	fmt.Printf("%-26s %6s %9s %9s %9s %9s\n", "series", "n", "p50", "p95", "p99", "max")
	for _, name := range order {
		report(name, series[name])
	}
	report("all", all)
}

func admin(o org.Organization) auth.Principal {
	return auth.Principal{Name: "bench@" + o.Code, Role: auth.RoleOrgAdmin, OrgID: o.ID, OrgPath: o.Path}
}

func report(name string, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	q := func(p float64) string {
		i := int(math.Ceil(p*float64(len(ds)))) - 1
		return fmt.Sprintf("%.2fms", float64(ds[max(i, 0)])/1e6)
	}
	fmt.Printf("%-26s %6d %9s %9s %9s %9s\n", name, len(ds), q(0.50), q(0.95), q(0.99), q(1))
}

// prepare returns the store DSN: a temporary SQLite file, or a fresh
// PostgreSQL schema.
func prepare(driver, dsn string, keep bool) (string, func()) {
	switch driver {
	case "sqlite":
		dir, err := os.MkdirTemp("", "rampart-bench-")
		if err != nil {
			log.Fatal(err)
		}
		path := filepath.Join(dir, "bench.db")
		log.Printf("sqlite file %s", path)
		return path, func() {
			if !keep {
				os.RemoveAll(dir)
			}
		}
	case "postgres":
		b := make([]byte, 4)
		rand.Read(b)
		schema := "rampart_bench_" + hex.EncodeToString(b)
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			log.Fatalf("postgres: %v", err)
		}
		if _, err := conn.Exec(context.Background(), "CREATE SCHEMA "+schema); err != nil {
			log.Fatal(err)
		}
		u, err := url.Parse(dsn)
		if err != nil {
			log.Fatal(err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		log.Printf("postgres schema %s", schema)
		return u.String(), func() {
			if !keep {
				if _, err := conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
					log.Print(err)
				}
			}
			conn.Close(context.Background())
		}
	}
	log.Fatalf("unknown driver %q", driver)
	return "", nil
}

// seedOrgs builds national → ministries → leaves, about 50 leaves per
// ministry, through the store.
func seedOrgs(ctx context.Context, s *sqlstore.Store, leaves int) ([]org.Organization, []org.Organization) {
	sys := auth.SystemPrincipal
	mk := func(parent int64, code string, kind org.Kind) org.Organization {
		o := org.Organization{ParentID: parent, Code: code, Name: code, NameEN: code, Kind: kind}
		if err := s.CreateOrg(ctx, sys, &o); err != nil {
			log.Fatal(err)
		}
		return o
	}
	nat := mk(0, "VN", org.KindNational)
	nm := max(1, (leaves+49)/50)
	var ms, ls []org.Organization
	for i := range nm {
		ms = append(ms, mk(nat.ID, fmt.Sprintf("M%02d", i), org.KindMinistry))
	}
	for i := range leaves {
		ls = append(ls, mk(ms[i%nm].ID, fmt.Sprintf("AG%04d", i), org.KindAgency))
	}
	return ls, ms
}

// assetRow is one seeded asset: hostnames, addresses and domains.
func assetRow(orgIdx, i int) (kind, value, crit string) {
	switch i % 4 {
	case 0, 1:
		return "hostname", fmt.Sprintf("h%d.o%d.example.vn", i, orgIdx), "normal"
	case 2:
		return "ipv4", fmt.Sprintf("10.%d.%d.%d", orgIdx%256, i/256%256, i%256), "normal"
	}
	return "domain", fmt.Sprintf("d%d-o%d.vn", i, orgIdx), "important"
}

func seedAssets(ctx context.Context, s *sqlstore.Store, driver, dsn string, leaves []org.Organization, perOrg int) error {
	now := time.Now().UTC().Truncate(time.Microsecond)
	if driver == "postgres" {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		// Interleave organizations as real registrations would, so one
		// organization's assets are spread over the table.
		src := func(yield func([]any) bool) {
			for i := range perOrg {
				for j, o := range leaves {
					k, v, c := assetRow(j, i)
					if !yield([]any{o.ID, k, v, c, int32(1), `["seed"]`, "", now, now}) {
						return
					}
				}
			}
		}
		var rows [][]any
		for r := range src {
			rows = append(rows, r)
		}
		_, err = conn.CopyFrom(ctx, pgx.Identifier{"assets"},
			[]string{"org_id", "kind", "value", "criticality", "security_level", "tags", "notes", "created_at", "updated_at"},
			pgx.CopyFromRows(rows))
		return err
	}
	tx, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	const batch = 500
	stmt, err := tx.PrepareContext(ctx, "INSERT INTO assets (org_id, kind, value, criticality, security_level, tags, notes, created_at, updated_at) VALUES "+
		strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, 1, '[\"seed\"]', '', ?, ?), ", batch), ", "))
	if err != nil {
		return err
	}
	args := make([]any, 0, batch*6)
	flush := func(st *sql.Stmt) error {
		_, err := st.ExecContext(ctx, args...)
		args = args[:0]
		return err
	}
	for i := range perOrg {
		for j, o := range leaves {
			k, v, c := assetRow(j, i)
			args = append(args, o.ID, k, v, c, now, now)
			if len(args) == batch*6 {
				if err := flush(stmt); err != nil {
					return err
				}
			}
		}
	}
	if n := len(args) / 6; n > 0 {
		st, err := tx.PrepareContext(ctx, "INSERT INTO assets (org_id, kind, value, criticality, security_level, tags, notes, created_at, updated_at) VALUES "+
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, 1, '[\"seed\"]', '', ?, ?), ", n), ", "))
		if err != nil {
			return err
		}
		if err := flush(st); err != nil {
			return err
		}
	}
	return tx.Commit()
}
