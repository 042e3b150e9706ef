package match_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/intel/match"
	"github.com/rampart-cert/rampart/internal/intel/match/synth"
)

// The speed goals of issue 12, on one core with 1,000,000 indicators
// loaded and 0 allocations per lookup: 10,000,000 address lookups/s and
// 5,000,000 domain lookups/s. Run with
//
//	go test -run X -bench . -cpu 1 -benchmem ./internal/intel/match/
//
// Each lookup benchmark loads 1,000,000 indicators of its kind and cycles
// through 2^20 queries (so the tables are read all over, not from a warm
// corner) at three hit rates: none, half, all. bench/intel prints the
// same figures against the goals.

const million = 1_000_000

func loaded(b *testing.B, changes []match.Change) *match.Snapshot {
	b.Helper()
	m := match.New()
	if err := m.Apply(changes); err != nil {
		b.Fatal(err)
	}
	return m.Snapshot()
}

func BenchmarkLookupAddr1M(b *testing.B) {
	g := synth.New(1)
	ind := g.Addrs(million)
	s := loaded(b, ind)
	for _, hit := range []int{0, 50, 100} {
		qs := g.AddrQueries(ind, 1<<20, hit)
		b.Run(fmt.Sprintf("hits=%d%%", hit), func(b *testing.B) {
			found := 0
			b.ReportAllocs()
			cpu := startCPU()
			for i := 0; b.Loop(); i++ {
				if _, ok := s.LookupAddr(qs[i&(len(qs)-1)]); ok {
					found++
				}
			}
			cpu.report(b)
			if hit == 100 && found < b.N {
				b.Fatalf("%d of %d lookups found nothing", b.N-found, b.N)
			}
		})
	}
}

func BenchmarkLookupName1M(b *testing.B) {
	g := synth.New(2)
	ind := g.Names(million)
	s := loaded(b, ind)
	for _, hit := range []int{0, 50, 100} {
		qs := g.NameQueries(ind, 1<<20, hit)
		b.Run(fmt.Sprintf("hits=%d%%", hit), func(b *testing.B) {
			found := 0
			b.ReportAllocs()
			cpu := startCPU()
			for i := 0; b.Loop(); i++ {
				if _, ok := s.LookupName(qs[i&(len(qs)-1)]); ok {
					found++
				}
			}
			cpu.report(b)
			if hit == 100 && found < b.N {
				b.Fatalf("%d of %d lookups found nothing", b.N-found, b.N)
			}
		})
	}
}

// cpuClock measures the benchmark goroutine's OS thread.
type cpuClock struct {
	start time.Duration
	ok    bool
}

func startCPU() cpuClock {
	runtime.LockOSThread()
	t, ok := threadCPU()
	return cpuClock{t, ok}
}

// report adds lookups/s (per wall second) and, where the thread's CPU
// time is known, lookups/cpu-s.
func (c cpuClock) report(b *testing.B) {
	end, ok := threadCPU()
	runtime.UnlockOSThread()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
	if c.ok && ok && end > c.start {
		b.ReportMetric(float64(b.N)/(end-c.start).Seconds(), "lookups/cpu-s")
	}
}

// BenchmarkLoad1M is one batch of 1,000,000 indicators (half addresses,
// half domains) into an empty matcher.
func BenchmarkLoad1M(b *testing.B) {
	g := synth.New(3)
	changes := append(g.Addrs(million/2), g.Names(million/2)...)
	b.ReportAllocs()
	for b.Loop() {
		m := match.New()
		if err := m.Apply(changes); err != nil {
			b.Fatal(err)
		}
		if c := m.Snapshot().Counts(); c.Total() < million*99/100 {
			b.Fatalf("loaded %+v", c)
		}
	}
}

// BenchmarkApplySmallBatch is the cost of a batch of 1 or of 100 changes
// (adds and removes of addresses and names) with 1,000,000 indicators
// loaded, merges of the deltas into the bases included.
func BenchmarkApplySmallBatch(b *testing.B) {
	g := synth.New(4)
	m := match.New()
	if err := m.Apply(append(g.Addrs(million/2), g.Names(million/2)...)); err != nil {
		b.Fatal(err)
	}
	fresh := append(g.Addrs(50_000), g.Names(50_000)...)
	next := 0
	for _, size := range []int{1, 100} {
		b.Run(fmt.Sprintf("changes=%d", size), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				batch := make([]match.Change, 0, size)
				for range size {
					c := fresh[next%len(fresh)]
					c.Remove = (next/len(fresh))%2 == 1 // every other pass removes
					batch = append(batch, c)
					next++
				}
				if err := m.Apply(batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
