// Command intel measures the indicator matcher (internal/intel/match)
// against the speed goals of issue 12: with 1,000,000 indicators loaded,
// at least 10,000,000 address lookups/s and 5,000,000 domain lookups/s on
// one core, with 0 allocations per lookup, and a 1,000,000-indicator
// load well under 10 s.
//
//	go run ./bench/intel
//	go run ./bench/intel -n 1000000 -lookups 30000000 -hits 50
//
// It builds n random address indicators (IPv4 and IPv6 hosts and
// networks) and n random domain indicators (so each table holds n, 2n in
// all), loads each as one batch, then runs the lookups on one goroutine
// with GOMAXPROCS 1 over 2^20 prepared queries, of which -hits percent
// fall inside an indicator. It prints lookups per second of wall time and
// per second of the measuring thread's CPU time (the machine may be shared;
// the CPU-time figure leaves out time the thread was not running), the
// allocations per lookup, and the ratio to the goal (1 or more: met).
//
// No peer tool is run side by side: none is installed on this machine.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"time"

	"github.com/rampart-cert/rampart/internal/intel/match"
	"github.com/rampart-cert/rampart/internal/intel/match/synth"
)

func main() {
	n := flag.Int("n", 1_000_000, "indicators per table (addresses, domains)")
	lookups := flag.Int("lookups", 30_000_000, "lookups per measurement")
	hits := flag.Int("hits", 50, "percent of queries inside an indicator")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	log.SetFlags(0)
	runtime.GOMAXPROCS(1)

	g := synth.New(*seed)
	addrs, names := g.Addrs(*n), g.Names(*n)
	addrQ, nameQ := g.AddrQueries(addrs, 1<<20, *hits), g.NameQueries(names, 1<<20, *hits)

	m := match.New()
	loadA := load(m, addrs)
	loadN := load(m, names)
	c := m.Snapshot().Counts()
	fmt.Printf("loaded %d addresses and networks in %v, %d domains in %v (one core)\n", c.Addrs, loadA.Round(time.Millisecond), c.Names, loadN.Round(time.Millisecond))

	s := m.Snapshot()
	addr := measure(*lookups, func(i int) bool { _, ok := s.LookupAddr(addrQ[i&(1<<20-1)]); return ok })
	name := measure(*lookups, func(i int) bool { _, ok := s.LookupName(nameQ[i&(1<<20-1)]); return ok })

	fmt.Printf("\n%-22s %14s %14s %10s %8s %8s %6s\n", "", "lookups/s wall", "lookups/s cpu", "goal", "ratio", "allocs", "hits")
	row("address lookups", addr, 10_000_000)
	row("domain lookups", name, 5_000_000)
	fmt.Printf("%-22s %14s %14s %10s %8.2f\n", "load 1M (per table)", fmt.Sprintf("%.2fs", max(loadA, loadN).Seconds()), "", "10s", 10/max(loadA, loadN).Seconds())
	fmt.Println("\nratio: lookups per CPU second of the one measuring thread over the goal (per wall second when the CPU time is not available); 1 or more is met")
	if addr.allocs > 0 || name.allocs > 0 {
		os.Exit(1)
	}
}

func load(m *match.Matcher, cs []match.Change) time.Duration {
	runtime.GC()
	t := time.Now()
	if err := m.Apply(cs); err != nil {
		log.Fatal(err)
	}
	return time.Since(t)
}

type result struct {
	wall, cpu float64 // lookups per second
	allocs    float64 // per lookup
	hits      float64 // fraction found
}

// measure runs f for 0..n-1 after a warm-up pass, on a locked OS thread
// so the thread's CPU time is the lookups' own.
func measure(n int, f func(int) bool) result {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for i := range 1 << 20 {
		f(i)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	found := 0
	c0, cpuOK := threadCPU()
	t := time.Now()
	for i := range n {
		if f(i) {
			found++
		}
	}
	wall := time.Since(t)
	c1, _ := threadCPU()
	runtime.ReadMemStats(&after)
	r := result{
		wall:   float64(n) / wall.Seconds(),
		allocs: float64(after.Mallocs-before.Mallocs) / float64(n),
		hits:   float64(found) / float64(n),
	}
	if cpuOK && c1 > c0 {
		r.cpu = float64(n) / (c1 - c0).Seconds()
	}
	return r
}

func row(what string, r result, goal float64) {
	best := r.cpu
	cpu := fmt.Sprintf("%.0f", r.cpu)
	if r.cpu == 0 {
		best, cpu = r.wall, "n/a"
	}
	fmt.Printf("%-22s %14.0f %14s %10.0f %8.2f %8.3f %5.0f%%\n", what, r.wall, cpu, goal, best/goal, r.allocs, 100*r.hits)
}
