package match_test

import (
	"net/netip"
	"testing"

	"github.com/rampart-cert/rampart/internal/intel/match"
	"github.com/rampart-cert/rampart/internal/intel/match/synth"
)

// The speed goals of issue 12, on one core with 1,000,000 indicators
// loaded and 0 allocations per lookup: 10,000,000 address lookups/s and
// 5,000,000 domain lookups/s. Run with -cpu 1 -benchmem; the lookups/s
// metric is what the goal is read against (bench/intel prints the ratio).

const million = 1_000_000

func loaded(b *testing.B, changes []match.Change) *match.Matcher {
	b.Helper()
	m := match.New()
	if err := m.Apply(changes); err != nil {
		b.Fatal(err)
	}
	return m
}

func BenchmarkLookupAddr1M(b *testing.B) {
	g := synth.New(1)
	ind := g.Addrs(million)
	m := loaded(b, ind)
	qs := g.AddrQueries(ind, 1<<20)
	s := m.Snapshot()
	hits := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, ok := s.LookupAddr(qs[i&(len(qs)-1)]); ok {
			hits++
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
	if hits == 0 {
		b.Fatal("no lookup hit")
	}
}

func BenchmarkLookupName1M(b *testing.B) {
	g := synth.New(2)
	ind := g.Names(million)
	m := loaded(b, ind)
	qs := g.NameQueries(ind, 1<<20)
	s := m.Snapshot()
	hits := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, ok := s.LookupName(qs[i&(len(qs)-1)]); ok {
			hits++
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
	if hits == 0 {
		b.Fatal("no lookup hit")
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

var sink netip.Addr
