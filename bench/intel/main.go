// Command intel measures the indicator matcher (internal/intel/match)
// against the speed goals of issue 12: with 1,000,000 indicators loaded,
// at least 10,000,000 address lookups/s and 5,000,000 domain lookups/s on
// one core, with 0 allocations per lookup, and a 1,000,000-indicator
// load well under 10 s.
//
//	go run ./bench/intel
//	go run ./bench/intel -n 1000000 -lookups 50000000 -seed 2
//
// It builds n random address indicators (IPv4 and IPv6 hosts and
// networks, internal/intel/match/synth) and n random domain indicators
// (so each table holds n, 2n in all), loads each as one batch, then runs
// lookups on one goroutine with GOMAXPROCS 1 over 2^20 prepared queries
// of which none, half or all fall inside an indicator. It prints lookups
// per second of wall time and per second of the measuring thread's CPU
// time (the machine may be shared: the CPU-time figure leaves out time the
// thread was not running), the allocations per lookup, and the ratio to
// the goal (1 or more: met).
//
// No peer tool is run side by side: none is installed on this machine.
package main

import (
	"flag"
	"fmt"
	"log"
	"runtime"
	"time"

	"github.com/rampart-cert/rampart/internal/intel/match"
	"github.com/rampart-cert/rampart/internal/intel/match/synth"
)

func main() {
	n := flag.Int("n", 1_000_000, "indicators per table (addresses, domains)")
	lookups := flag.Int("lookups", 20_000_000, "lookups per measurement")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	log.SetFlags(0)
	runtime.GOMAXPROCS(1)

	g := synth.New(*seed)
	addrs, names := g.Addrs(*n), g.Names(*n)
	m := match.New()
	loadA := load(m, addrs)
	loadN := load(m, names)
	c := m.Snapshot().Counts()
	fmt.Printf("loaded %d addresses and networks in %v, %d domains in %v (GOMAXPROCS 1)\n\n",
		c.Addrs, loadA.Round(time.Millisecond), c.Names, loadN.Round(time.Millisecond))

	s := m.Snapshot()
	fmt.Printf("%-16s %5s %15s %15s %10s %7s %13s\n", "", "hits", "lookups/s wall", "lookups/s cpu", "goal", "ratio", "allocs/lookup")
	allocs := 0.0
	for _, hit := range []int{0, 50, 100} {
		qs := g.AddrQueries(addrs, 1<<20, hit)
		r := measure(*lookups, func(i int) bool { _, ok := s.LookupAddr(qs[i&(1<<20-1)]); return ok })
		row("address lookups", r, 10_000_000)
		allocs += r.allocs
	}
	for _, hit := range []int{0, 50, 100} {
		qs := g.NameQueries(names, 1<<20, hit)
		r := measure(*lookups, func(i int) bool { _, ok := s.LookupName(qs[i&(1<<20-1)]); return ok })
		row("domain lookups", r, 5_000_000)
		allocs += r.allocs
	}
	worst := max(loadA, loadN)
	fmt.Printf("%-16s %5s %15s %15s %10s %7.2f\n", "load 1M", "", fmt.Sprintf("%.2f s", worst.Seconds()), "", "10 s", 10/worst.Seconds())
	fmt.Println("\nhits: share of the queries inside an indicator (measured). ratio: lookups per CPU second of the")
	fmt.Println("measuring thread (per wall second where CPU time is not available) over the goal; 1 or more is met.")
	if allocs > 0 {
		log.Fatal("lookups allocated")
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
	fmt.Printf("%-16s %4.0f%% %15.0f %15s %10.0f %7.2f %13.3f\n", what, 100*r.hits, r.wall, cpu, goal, best/goal, r.allocs)
}
