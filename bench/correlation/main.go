// Command correlation measures how long a source seen attacking three
// organizations takes to reach a bouncer (issue 16: within 5 s).
//
//	go run ./bench/correlation [-rounds 30] [-poll 1s] [-sources 10000] [-driver sqlite|postgres]
//
// It runs the platform's parts for real, on loopback: a store (a SQLite
// file, or a fresh schema on PostgreSQL) with the constituency (orgs members and a registered
// network each), the correlator, and the CrowdSec Local API stream
// (decision.LAPI, the handler the API mounts at /v1/) on 127.0.0.1:0.
// A bouncer polls GET /v1/decisions/stream every -poll over HTTP with its
// own key, as crowdsec-firewall-bouncer does (update_frequency), after a
// startup=true pull. Background traffic: -sources other addresses each
// seen by one or two organizations (never a decision) keep the window
// full. Each round picks a new attacker, calls Observe for three
// organizations' sensors, and times until the bouncer's next pull
// contains it: the end-to-end latency, from the first detection to the
// bouncer holding the decision. It prints the percentiles and the parts:
// the three Observe calls, and a stream call.
package main

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/decision"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/sensor"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

func main() {
	rounds := flag.Int("rounds", 30, "attackers to time")
	poll := flag.Duration("poll", time.Second, "the bouncer's update frequency")
	members := flag.Int("orgs", 50, "member organizations")
	sources := flag.Int("sources", 10000, "background sources seen by one or two organizations")
	driver := flag.String("driver", "sqlite", "sqlite or postgres")
	dsn := flag.String("dsn", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL server (driver postgres); a fresh schema is made and dropped")
	flag.Parse()
	log.SetFlags(0)
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)

	storeDSN, cleanup := prepare(*driver, *dsn)
	defer cleanup()
	st, err := sqlstore.Open(ctx, *driver, storeDSN, quiet)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	sys := auth.SystemPrincipal
	nat := org.Organization{Code: "VN", Name: "Quốc gia", NameEN: "National", Kind: org.KindNational}
	if err := st.CreateOrg(ctx, sys, &nat); err != nil {
		log.Fatal(err)
	}
	codes := make([]string, *members)
	for i := range codes {
		o := org.Organization{ParentID: nat.ID, Code: fmt.Sprintf("M%03d", i), Name: "Member", NameEN: "Member", Kind: org.KindAgency}
		if err := st.CreateOrg(ctx, sys, &o); err != nil {
			log.Fatal(err)
		}
		a := asset.Asset{OrgID: o.ID, Kind: asset.KindCIDR, Value: fmt.Sprintf("10.%d.%d.0/24", i/256, i%256)}
		if err := st.CreateAsset(ctx, sys, &a); err != nil {
			log.Fatal(err)
		}
		codes[i] = o.Code
	}
	key, prefix, hash, _ := auth.NewToken()
	if err := st.CreateBouncer(ctx, sys, &store.Bouncer{Name: "bench-fw", KeyHash: hash, KeyPrefix: prefix}); err != nil {
		log.Fatal(err)
	}

	corr := decision.NewCorrelator(st, decision.Options{}, nil, quiet)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: &decision.LAPI{St: st, Logger: quiet}, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/v1/decisions/stream"

	det := func(code string, src netip.Addr) sensor.Detection {
		now := time.Now()
		return sensor.Detection{Kind: sensor.DetectPortScan, Org: code, Sensor: "gw-" + code, Source: src, Target: netip.MustParseAddr("10.0.0.1"),
			Count: 50, First: now.Add(-time.Minute), Last: now, Detail: "50 ports"}
	}
	// Background: sources seen by one or two members.
	t0 := time.Now()
	for i := range *sources {
		src := netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
		for j := range 1 + i%2 {
			if err := corr.Observe(ctx, det(codes[(i+j)%len(codes)], src)); err != nil {
				log.Fatal(err)
			}
		}
	}
	fmt.Printf("background: %d sources seen by 1-2 of %d members in %s (%.0f detections/s)\n", *sources, *members,
		time.Since(t0).Round(time.Millisecond), float64(*sources)*1.5/time.Since(t0).Seconds())

	// The bouncer.
	var (
		mu      sync.Mutex
		waiting = map[string]time.Time{} // value → first detection
		got     []time.Duration
		pulls   []time.Duration
		sizes   []int
	)
	client := &http.Client{Timeout: 10 * time.Second}
	pull := func(startup bool) {
		u := url
		if startup {
			u += "?startup=true"
		}
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("X-Api-Key", key)
		req.Header.Set("User-Agent", "bench-bouncer")
		start := time.Now()
		res, err := client.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<20))
		res.Body.Close()
		at := time.Now()
		var s struct {
			New []struct {
				Value string `json:"value"`
			} `json:"new"`
		}
		if err := json.Unmarshal(body, &s); err != nil {
			log.Fatalf("stream: %v: %s", err, body)
		}
		mu.Lock()
		defer mu.Unlock()
		pulls = append(pulls, at.Sub(start))
		sizes = append(sizes, len(body))
		for _, d := range s.New {
			if t, ok := waiting[d.Value]; ok {
				got = append(got, at.Sub(t))
				delete(waiting, d.Value)
			}
		}
	}
	pull(true)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(*poll)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				pull(false)
			}
		}
	}()

	var observe []time.Duration
	for r := range *rounds {
		// A random phase against the bouncer's polls.
		time.Sleep(*poll + time.Duration(rand.Int64N(int64(*poll))))
		src := netip.AddrFrom4([4]byte{203, 0, byte(113 + r/250), byte(1 + r%250)})
		perm := rand.Perm(len(codes))[:3]
		start := time.Now()
		mu.Lock()
		waiting[src.String()] = start
		mu.Unlock()
		for _, i := range perm {
			if err := corr.Observe(ctx, det(codes[i], src)); err != nil {
				log.Fatal(err)
			}
		}
		observe = append(observe, time.Since(start))
	}
	deadline := time.Now().Add(10 * *poll)
	for {
		mu.Lock()
		n := len(waiting)
		mu.Unlock()
		if n == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(waiting) > 0 {
		log.Fatalf("%d decisions never reached the bouncer", len(waiting))
	}
	fmt.Printf("decisions made: %d (background sources: none, as they should)\n", corr.Made())
	fmt.Printf("store: %s\n", *driver)
	fmt.Printf("end to end, first detection → in the bouncer's pull (poll every %s, %d rounds): %s\n", *poll, len(got), pct(got))
	fmt.Printf("  Observe ×3 (policy, registry, store write): %s\n", pct(observe))
	fmt.Printf("  one stream pull over HTTP: %s\n", pct(pulls))
	quietPulls := 0
	for _, n := range sizes {
		if n == len(`{"new":null,"deleted":null}`) {
			quietPulls++
		}
	}
	fmt.Printf("  pulls with nothing new: %d of %d, %d bytes each\n", quietPulls, len(sizes), len(`{"new":null,"deleted":null}`))
	if slices.Max(got) > 5*time.Second {
		fmt.Println("GOAL MISSED: a decision took more than 5 s")
		os.Exit(1)
	}
	fmt.Println("goal (≤ 5 s) met")
}

// pct formats p50, p95 and the maximum.
func pct(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	r := func(d time.Duration) string {
		if d < 10*time.Millisecond {
			return d.Round(10 * time.Microsecond).String()
		}
		return d.Round(time.Millisecond).String()
	}
	return fmt.Sprintf("p50 %s, p95 %s, max %s", r(at(0.5)), r(at(0.95)), r(s[len(s)-1]))
}

// prepare returns the store's DSN: a temporary SQLite file, or a fresh
// PostgreSQL schema; cleanup removes it.
func prepare(driver, dsn string) (string, func()) {
	switch driver {
	case "sqlite":
		dir, err := os.MkdirTemp("", "rampart-bench-correlation-")
		if err != nil {
			log.Fatal(err)
		}
		return filepath.Join(dir, "rampart.db"), func() { os.RemoveAll(dir) }
	case "postgres":
		var b [4]byte
		_, _ = crand.Read(b[:])
		schema := "rampart_bench_" + hex.EncodeToString(b[:])
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
		return u.String(), func() {
			if _, err := conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
				log.Print(err)
			}
			conn.Close(context.Background())
		}
	}
	log.Fatalf("unknown driver %q", driver)
	return "", nil
}
