// Command load measures the platform's HTTP answer times under concurrent
// clients, as section 6 of the December 2026 reliability review did: C
// clients loop for D seconds over four requests — the API's findings list
// (all, and high open ones), the console's dashboard and the console's
// findings list — and the command prints p50, p95, p99 and max per
// request, the throughput and the errors.
//
//	go run ./bench/load -driver sqlite -findings 100000
//	go run ./bench/load -driver postgres -findings 100000 -c 50 -d 60s
//	go run ./bench/load -driver postgres -reuse -c 1 -d 20s   # unloaded
//	go run ./bench/load -url http://127.0.0.1:8080 -user admin -password ...
//
// Without -url it seeds a store (the constituency of bench/console: 1,000
// organizations, 20,000 assets by default), serves the platform handler
// (API under /api/, console at /) in-process on 127.0.0.1:0 and logs in
// as a platform administrator through the login form and the API's login,
// like a browser and a script would. The first request of each kind is
// timed apart ("first"): the first dashboard of a day is where the trend
// snapshot used to be computed.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/rampart-cert/rampart/bench/internal/seed"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-cert/rampart/internal/api"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/check/all"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
	"github.com/rampart-cert/rampart/internal/web"
)

// requests are the four of the review, in the order clients take them.
var requests = []struct{ name, path string }{
	{"api findings", "/api/v1/findings?limit=50"},
	{"api findings high open", "/api/v1/findings?limit=50&severity=high&state=open"},
	{"console dashboard", "/"},
	{"console /findings", "/findings"},
}

const pgSchema = "rampart_load_bench"

func main() {
	driver := flag.String("driver", "sqlite", "sqlite or postgres (in-process server)")
	dsn := flag.String("dsn", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL server (schema "+pgSchema+" is dropped and made in it)")
	dbPath := flag.String("db", "", "SQLite file (default: a temporary one, removed at the end)")
	nFindings := flag.Int("findings", 100_000, "findings to seed")
	nOrgs := flag.Int("orgs", 1000, "organizations to seed")
	nAssets := flag.Int("assets", 20_000, "assets to seed")
	reuse := flag.Bool("reuse", false, "measure the data already there (-db or the PostgreSQL schema)")
	target := flag.String("url", "", "measure a running platform at this URL instead (loopback)")
	user := flag.String("user", "load-admin", "user to log in as")
	password := flag.String("password", "load password 1234", "its password")
	clients := flag.Int("c", 50, "concurrent clients")
	dur := flag.Duration("d", 60*time.Second, "how long the clients run")
	timeout := flag.Duration("timeout", 30*time.Second, "per-request timeout (a timeout is an error)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run (in-process server only)")
	flag.Parse()
	ctx := context.Background()

	base := *target
	if base == "" {
		var stop func()
		base, stop = serveInProcess(ctx, *driver, *dsn, *dbPath, *nOrgs, *nAssets, *nFindings, *reuse, *user, *password)
		defer stop()
	}
	tr := &http.Transport{MaxIdleConns: *clients * 2, MaxIdleConnsPerHost: *clients * 2, IdleConnTimeout: time.Minute}
	hc := &http.Client{Transport: tr, Timeout: *timeout}
	cookie, token, err := login(hc, base, *user, *password)
	check(err)

	fmt.Printf("load before: %s", loadavg())
	// One request of each kind first, timed apart.
	firsts := make([]time.Duration, len(requests))
	for i, rq := range requests {
		t0 := time.Now()
		if err := do(hc, base, rq.path, cookie, token); err != nil {
			log.Fatalf("%s: %v", rq.name, err)
		}
		firsts[i] = time.Since(t0)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		check(err)
		check(pprof.StartCPUProfile(f))
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}

	type sample struct {
		req int
		d   time.Duration
		err error
	}
	var (
		mu      sync.Mutex
		samples = make([][]time.Duration, len(requests))
		errs    = make([]int, len(requests))
		firstEr = make([]error, len(requests))
		wg      sync.WaitGroup
	)
	deadline := time.Now().Add(*dur)
	start := time.Now()
	for c := 0; c < *clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			var mine []sample
			for i := c; time.Now().Before(deadline); i++ {
				k := i % len(requests)
				t0 := time.Now()
				err := do(hc, base, requests[k].path, cookie, token)
				mine = append(mine, sample{k, time.Since(t0), err})
			}
			mu.Lock()
			defer mu.Unlock()
			for _, s := range mine {
				if s.err != nil {
					errs[s.req]++
					if firstEr[s.req] == nil {
						firstEr[s.req] = s.err
					}
					continue
				}
				samples[s.req] = append(samples[s.req], s.d)
			}
		}(c)
	}
	wg.Wait()
	elapsed := time.Since(start)
	fmt.Printf("load after:  %s", loadavg())

	fmt.Printf("\n%d clients, %s, %s\n", *clients, dur.String(), base)
	fmt.Printf("%-24s %9s %7s %9s %9s %9s %9s %9s %7s\n", "request", "first", "n", "p50", "p95", "p99", "max", "req/s", "errors")
	var all []time.Duration
	total, totalErr := 0, 0
	for i, rq := range requests {
		ts := samples[i]
		all = append(all, ts...)
		total += len(ts) + errs[i]
		totalErr += errs[i]
		printRow(rq.name, firsts[i], ts, errs[i], elapsed)
	}
	printRow("all", 0, all, totalErr, elapsed)
	for i, err := range firstEr {
		if err != nil {
			fmt.Printf("first error of %s: %v\n", requests[i].name, err)
		}
	}
	fmt.Printf("throughput %.1f req/s, errors %d / %d\n", float64(total)/elapsed.Seconds(), totalErr, total)
}

func printRow(name string, first time.Duration, ts []time.Duration, errs int, elapsed time.Duration) {
	sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
	pct := func(q float64) time.Duration {
		if len(ts) == 0 {
			return 0
		}
		return ts[min(len(ts)-1, int(q*float64(len(ts))))]
	}
	var mx time.Duration
	if len(ts) > 0 {
		mx = ts[len(ts)-1]
	}
	f := "-"
	if first > 0 {
		f = ms(first)
	}
	fmt.Printf("%-24s %9s %7d %9s %9s %9s %9s %9.1f %7d\n", name, f, len(ts), ms(pct(0.5)), ms(pct(0.95)), ms(pct(0.99)), ms(mx),
		float64(len(ts)+errs)/elapsed.Seconds(), errs)
}

// do sends one GET with the console cookie or the API token and reads the
// whole answer; anything but 200 is an error.
func do(hc *http.Client, base, path string, cookie *http.Cookie, token string) error {
	req, err := http.NewRequest("GET", base+path, nil)
	if err != nil {
		return err
	}
	if strings.HasPrefix(path, "/api/") {
		req.Header.Set("Authorization", "Bearer "+token)
	} else {
		req.AddCookie(cookie)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: status %d", path, resp.StatusCode)
	}
	return nil
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// login logs into the console through its form (the CSRF token is bound
// to the pre-session cookie) and into the API through /api/v1/auth/login.
func login(hc *http.Client, base, user, password string) (*http.Cookie, string, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Transport: hc.Transport, Jar: jar, Timeout: hc.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(base + "/login")
	if err != nil {
		return nil, "", err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfRe.FindSubmatch(body)
	if m == nil {
		return nil, "", errors.New("login form: no CSRF token")
	}
	resp, err = c.PostForm(base+"/login", url.Values{"name": {user}, "password": {password}, "csrf": {string(m[1])}})
	if err != nil {
		return nil, "", err
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "rampart_session" && ck.Value != "" {
			cookie = &http.Cookie{Name: ck.Name, Value: ck.Value}
		}
	}
	if cookie == nil {
		return nil, "", fmt.Errorf("console login: status %d, no session", resp.StatusCode)
	}
	b, _ := json.Marshal(map[string]string{"name": user, "password": password})
	resp, err = c.Post(base+"/api/v1/auth/login", "application/json", strings.NewReader(string(b)))
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Token == "" {
		return nil, "", fmt.Errorf("API login: status %d: %v", resp.StatusCode, err)
	}
	return cookie, out.Token, nil
}

// serveInProcess seeds (unless reuse) and serves the API and the console
// as rampart serve does, on a loopback port.
func serveInProcess(ctx context.Context, driver, dsn, dbPath string, nOrgs, nAssets, nFindings int, reuse bool, user, password string) (string, func()) {
	var (
		st      *sqlstore.Store
		err     error
		cleanup = func() {}
	)
	switch driver {
	case "postgres":
		if !reuse {
			conn, err := pgx.Connect(ctx, dsn)
			check(err)
			_, err = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgSchema+" CASCADE; CREATE SCHEMA "+pgSchema)
			check(err)
			conn.Close(ctx)
		}
		u, err := url.Parse(dsn)
		check(err)
		q := u.Query()
		q.Set("search_path", pgSchema)
		u.RawQuery = q.Encode()
		dsn = u.String()
		st, err = sqlstore.Open(ctx, "postgres", dsn, nil)
		check(err)
	case "sqlite":
		if dbPath == "" {
			if reuse {
				log.Fatal("-reuse needs -db with SQLite")
			}
			dir, err := os.MkdirTemp("", "load-bench")
			check(err)
			cleanup = func() { os.RemoveAll(dir) }
			dbPath = filepath.Join(dir, "load.db")
		} else if !reuse {
			for _, suffix := range []string{"", "-wal", "-shm"} {
				os.Remove(dbPath + suffix)
			}
		}
		st, err = sqlstore.Open(ctx, "sqlite", dbPath, nil)
		check(err)
	default:
		log.Fatalf("unknown driver %q", driver)
	}
	check(st.Migrate(ctx))
	now := time.Now().UTC()
	if !reuse {
		t0 := time.Now()
		s := seed.Seeder{Driver: driver, DSN: dsn, DB: st.DB(), Now: now, Orgs: nOrgs, Assets: nAssets, Findings: nFindings}
		check(s.Run(ctx))
		// Rows went in around the store: let it rebuild what it keeps
		// beside them.
		if r, ok := any(st).(interface{ RebuildAggregates(context.Context) error }); ok {
			check(r.RebuildAggregates(ctx))
		}
		fmt.Printf("seeded %d organizations, %d assets, %d findings (%s) in %s\n", nOrgs, nAssets, nFindings, driver, time.Since(t0).Round(time.Millisecond))
	}
	if _, err := st.UserForLogin(ctx, user); err != nil {
		hash, err := auth.HashPassword(password)
		check(err)
		u := auth.User{Name: user, Role: auth.RolePlatformAdmin, PasswordHash: hash}
		check(st.CreateUser(ctx, auth.SystemPrincipal, &u))
	}

	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg, _ := all.Registry("")
	kinds := reg.Catalog()
	srv := api.New(api.Deps{Store: st, Logger: logger, Version: "load", Catalog: kinds})
	console, err := web.New(web.Deps{Store: st, Dashboard: st, Catalog: kinds, Logger: logger, Version: "load"})
	check(err)
	mux := http.NewServeMux()
	apiH := srv.Handler()
	for _, p := range []string{"/api/", "/healthz", "/readyz", "/metrics"} {
		mux.Handle(p, apiH)
	}
	mux.Handle("/", console.Handler())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	return "http://" + ln.Addr().String(), func() {
		hs.Close()
		st.Close()
		cleanup()
	}
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?\n"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return string(b)
	}
	return "load average " + strings.Join(f[:3], " ") + "\n"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
