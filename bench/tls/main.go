// Command tls benchmarks the TLS check family against sslscan: it starts
// 40+ TLS servers with a mix of configurations on 127.78.x.y, runs the
// whole family over them in-process (as the engine would, many targets at
// once), runs sslscan over the same servers 8 at a time (xargs -P 8), checks
// that both give the same protocol verdicts per host, and prints hosts per
// second for each and the ratio.
//
//	go run ./bench/tls [-servers 48] [-workers 32] [-sslscan-parallel 8]
//
// Loopback only: every server and every probe stays on 127.78.0.0/16.
package main

import (
	"context"
	gotls "crypto/tls"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
	tlscheck "github.com/rampart-cert/rampart/internal/check/tls"
	"github.com/rampart-cert/rampart/internal/check/tls/tlstest"
	"github.com/rampart-cert/rampart/internal/probe/tlsprobe"
)

// holdFor is the -hold flag.
var holdFor time.Duration

type profile struct {
	name     string
	min, max uint16
	suites   []uint16
	cert     string
}

func main() {
	nServers := flag.Int("servers", 48, "number of TLS servers to start (40 or more)")
	workers := flag.Int("workers", 32, "targets assessed at once in-process")
	parallel := flag.Int("sslscan-parallel", 8, "sslscan processes at once (xargs -P)")
	rounds := flag.Int("rounds", 3, "in-process rounds (fresh scan each); the median is reported")
	sslscanBin := flag.String("sslscan", "sslscan", "sslscan program")
	hold := flag.Duration("hold", 0, "after starting the servers, print them and keep serving this long (to try other tools by hand), then exit")
	flag.Parse()
	holdFor = *hold
	if err := run(*nServers, *workers, *parallel, *rounds, *sslscanBin); err != nil {
		fmt.Fprintln(os.Stderr, "bench/tls:", err)
		os.Exit(1)
	}
}

func run(nServers, workers, parallel, rounds int, sslscanBin string) error {
	bin, err := exec.LookPath(sslscanBin)
	if err != nil {
		return fmt.Errorf("sslscan not found (apt-get install -y sslscan): %w", err)
	}
	certs, roots, err := makeCerts()
	if err != nil {
		return err
	}
	legacyWeak := append([]uint16{gotls.TLS_RSA_WITH_RC4_128_SHA, gotls.TLS_ECDHE_RSA_WITH_RC4_128_SHA,
		gotls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, gotls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA}, tlstest.LegacySuites...)
	profiles := []profile{
		{"tls12-strong", gotls.VersionTLS12, gotls.VersionTLS12, tlstest.StrongSuites, "valid-ecdsa"},
		{"tls12-13", gotls.VersionTLS12, gotls.VersionTLS13, tlstest.StrongSuites, "valid-rsa"},
		{"tls13-only", gotls.VersionTLS13, gotls.VersionTLS13, nil, "valid-ecdsa"},
		{"tls10-12-legacy", gotls.VersionTLS10, gotls.VersionTLS12, tlstest.LegacySuites, "valid-rsa"},
		{"tls11-13", gotls.VersionTLS11, gotls.VersionTLS13, tlstest.LegacySuites, "expiring"},
		{"tls10-13-rc4-3des", gotls.VersionTLS10, gotls.VersionTLS13, legacyWeak, "valid-rsa"},
		{"tls12-3des", gotls.VersionTLS12, gotls.VersionTLS12, append([]uint16{gotls.TLS_RSA_WITH_3DES_EDE_CBC_SHA}, tlstest.StrongSuites...), "self-signed"},
		{"tls10-only", gotls.VersionTLS10, gotls.VersionTLS10, tlstest.LegacySuites, "expired"},
		{"tls12-13-rsa1024", gotls.VersionTLS12, gotls.VersionTLS13, tlstest.StrongSuites, "rsa-1024"},
		{"tls12-13-wrong-host", gotls.VersionTLS12, gotls.VersionTLS13, tlstest.StrongSuites, "wrong-host"},
		{"tls11-12", gotls.VersionTLS11, gotls.VersionTLS12, tlstest.LegacySuites, "untrusted"},
		{"tls12-13-sha1", gotls.VersionTLS12, gotls.VersionTLS13, tlstest.StrongSuites, "sha1"},
	}

	type server struct {
		addr    string
		profile string
		srv     *tlstest.Server
	}
	var servers []server
	defer func() {
		for _, s := range servers {
			s.srv.Close()
		}
	}()
	for i := range nServers {
		p := profiles[i%len(profiles)]
		cfg := &gotls.Config{Certificates: []gotls.Certificate{certs[p.cert]}, MinVersion: p.min, MaxVersion: p.max, CipherSuites: p.suites}
		addr := fmt.Sprintf("127.78.%d.%d:8443", i/250, i%250+1)
		s, err := tlstest.Serve(addr, cfg)
		if err != nil {
			return fmt.Errorf("listen %s: %w", addr, err)
		}
		servers = append(servers, server{addr, p.name, s})
	}
	fmt.Printf("%d TLS servers on 127.78.x.y:8443, %d profiles; %d in-process workers; sslscan %d in parallel\n",
		len(servers), len(profiles), workers, parallel)

	if holdFor > 0 {
		for _, s := range servers {
			fmt.Println(s.addr, s.profile)
		}
		time.Sleep(holdFor)
		return nil
	}

	addrs := make([]addrProfile, len(servers))
	for i, s := range servers {
		addrs[i] = addrProfile{s.addr, s.profile}
	}
	targets := make([]check.Target, len(servers))
	for i, s := range servers {
		targets[i] = check.Target{Kind: check.TargetService, Addr: netip.MustParseAddrPort(s.addr), TLS: true, Host: "bench.rampart.test"}
	}

	// Alternate the two in each round, so that load from elsewhere on the
	// machine hits both alike; report medians.
	var ourTimes, theirTimes []time.Duration
	var ours, theirs map[string]map[tlsprobe.Version]bool
	var findings, conns int
	perHost := map[string]time.Duration{}
	for range rounds {
		// Ours: the full family, each target's eight checks run
		// concurrently, `workers` targets at once; a fresh Env (a new
		// scan) per round.
		d, verdicts, nf, nc, err := assessAll(targets, roots, workers)
		if err != nil {
			return err
		}
		ourTimes = append(ourTimes, d)
		ours, findings, conns = verdicts, nf, nc

		d, verdicts, err = sslscanAll(bin, addrs, parallel, perHost)
		if err != nil {
			return err
		}
		theirTimes = append(theirTimes, d)
		theirs = verdicts
	}
	ourTime, theirTime := median(ourTimes), median(theirTimes)

	// Verdicts.
	var mismatches []string
	for _, s := range servers {
		for _, v := range tlsprobe.Versions {
			o, t := ours[s.addr][v], theirs[s.addr][v]
			if o != t {
				mismatches = append(mismatches, fmt.Sprintf("%s (%s) %s: ours %v, sslscan %v", s.addr, s.profile, v, o, t))
			}
		}
	}

	n := float64(len(servers))
	ourRate, theirRate := n/ourTime.Seconds(), n/theirTime.Seconds()
	fmt.Printf("\n%-34s %10s %10s\n", "", "seconds", "hosts/s")
	fmt.Printf("%-34s %10.3f %10.1f   (median of %d: %s)\n", "rampart tls family (in-process)", ourTime.Seconds(), ourRate, rounds, durations(ourTimes))
	fmt.Printf("%-34s %10.3f %10.1f   (median of %d: %s)\n", fmt.Sprintf("sslscan -P %d", parallel), theirTime.Seconds(), theirRate, rounds, durations(theirTimes))
	fmt.Printf("ratio: %.1fx (goal >= 3x)\n", ourRate/theirRate)
	fmt.Printf("rampart: %d findings, %d connections (%.1f per host)\n", findings, conns, float64(conns)/n)
	fmt.Printf("protocol verdicts: %d hosts x %d versions compared, %d mismatches\n", len(servers), len(tlsprobe.Versions), len(mismatches))
	for _, m := range mismatches {
		fmt.Println("  MISMATCH", m)
	}
	if os.Getenv("BENCH_VERBOSE") != "" {
		for a, d := range perHost {
			fmt.Printf("  sslscan time %-22s %.3fs over %d rounds\n", a, d.Seconds(), rounds)
		}
	}
	printProfiles(servers[:min(len(profiles), len(servers))], func(i int) (string, map[tlsprobe.Version]bool) {
		return servers[i].profile, ours[servers[i].addr]
	})
	if len(mismatches) > 0 {
		return fmt.Errorf("%d protocol verdicts differ from sslscan", len(mismatches))
	}
	if ourRate/theirRate < 3 {
		fmt.Println("WARNING: below the 3x goal")
	}
	return nil
}

type addrProfile struct{ addr, profile string }

// sslscanAll runs sslscan over addrs, parallel at a time, as xargs -P
// would, and returns the wall time and the verdicts per address.
func sslscanAll(bin string, addrs []addrProfile, parallel int, perHost map[string]time.Duration) (time.Duration, map[string]map[tlsprobe.Version]bool, error) {
	start := time.Now()
	theirs := make(map[string]map[tlsprobe.Version]bool, len(addrs))
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for _, s := range addrs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			t0 := time.Now()
			v, err := tlscheck.SSLScan(ctx, bin, s.addr)
			mu.Lock()
			defer mu.Unlock()
			perHost[s.profile] += time.Since(t0)
			if err != nil && firstErr == nil {
				firstErr = err
			}
			theirs[s.addr] = v
		})
	}
	wg.Wait()
	return time.Since(start), theirs, firstErr
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// assessAll runs the family over targets and returns the wall time, the
// protocol verdicts per address, the number of findings and connections.
func assessAll(targets []check.Target, roots *x509CertPool, workers int) (time.Duration, map[string]map[tlsprobe.Version]bool, int, int, error) {
	a := tlscheck.NewAssessor(0, 0)
	checks := tlscheck.Checks(a)
	env := &check.Env{Roots: roots, Timeout: 5 * time.Second}
	verdicts := make(map[string]map[tlsprobe.Version]bool, len(targets))
	var mu sync.Mutex
	var firstErr error
	findings, conns := 0, 0
	jobs := make(chan check.Target)
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for t := range jobs {
				var inner sync.WaitGroup
				var n int
				var imu sync.Mutex
				for _, c := range checks {
					inner.Go(func() {
						res, err := c.Run(context.Background(), env, t)
						imu.Lock()
						defer imu.Unlock()
						if err != nil && firstErr == nil {
							firstErr = err
						}
						n += len(res)
					})
				}
				inner.Wait()
				rep, err := a.Assess(context.Background(), env, t) // cached: no new connection
				mu.Lock()
				findings += n
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
				} else {
					conns += rep.Connections()
					m := map[tlsprobe.Version]bool{}
					for _, v := range tlsprobe.Versions {
						m[v] = rep.Protocols.Accepted(v)
					}
					verdicts[t.Addr.String()] = m
				}
				mu.Unlock()
			}
		})
	}
	for _, t := range targets {
		jobs <- t
	}
	close(jobs)
	wg.Wait()
	return time.Since(start), verdicts, findings, conns, firstErr
}

func durations(ds []time.Duration) string {
	var s []string
	for _, d := range ds {
		s = append(s, fmt.Sprintf("%.3fs", d.Seconds()))
	}
	return strings.Join(s, " ")
}

func printProfiles[T any](servers []T, get func(int) (string, map[tlsprobe.Version]bool)) {
	fmt.Println("\nverdicts per profile (ours = sslscan's):")
	var lines []string
	for i := range servers {
		name, m := get(i)
		var on []string
		for _, v := range tlsprobe.Versions {
			if m[v] {
				on = append(on, v.String())
			}
		}
		lines = append(lines, fmt.Sprintf("  %-22s %s", name, strings.Join(on, " ")))
	}
	sort.Strings(lines)
	fmt.Println(strings.Join(lines, "\n"))
}
