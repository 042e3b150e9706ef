package match

import (
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rampart-cert/rampart/internal/intel"
)

// TestConcurrentReadersDuringUpdates runs readers against a matcher while
// a writer adds and removes indicators in batches that take every update
// path (deltas, merges into the bases, bart path copies and deep copies).
// Readers check what must hold in every snapshot: stable indicators always
// match with their IDs, values never added never match, and a value that
// comes and goes matches only with its own ID. Run it with -race.
func TestConcurrentReadersDuringUpdates(t *testing.T) {
	const stable, churn, rounds = 300, 200, 60
	stableAddr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}) }
	churnAddr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}) }
	stableName := func(i int) string { return fmt.Sprintf("s%d.example", i) }
	churnName := func(i int) string { return fmt.Sprintf("c%d.example", i) }

	for name, m := range map[string]*Matcher{"default": New(), "small-thresholds": newMatcher(64, 8)} {
		t.Run(name, func(t *testing.T) {
			var base []Change
			for i := range stable {
				base = append(base,
					add(intel.KindIPv4, stableAddr(i).String(), int64(i+1)),
					add(intel.KindDomain, stableName(i), int64(i+1)),
					add(intel.KindCIDR, fmt.Sprintf("2001:db8:%x::/48", i), int64(i+1)))
			}
			mustApply(t, m, base...)

			var stop atomic.Bool
			var failures atomic.Int64
			var lookups atomic.Int64
			var wg sync.WaitGroup
			for r := range 3 {
				wg.Go(func() {
					fail := func(format string, args ...any) {
						if failures.Add(1) <= 10 {
							t.Errorf("reader %d: "+format, append([]any{r}, args...)...)
						}
					}
					for n := 0; !stop.Load() || n == 0; n++ {
						s := m.Snapshot()
						i := (n*7 + r) % stable
						if id, ok := s.LookupAddr(stableAddr(i)); !ok || id != int64(i+1) {
							fail("stable address %d: %d, %v", i, id, ok)
						}
						if id, ok := s.LookupName("www." + stableName(i)); !ok || id != int64(i+1) {
							fail("stable name %d: %d, %v", i, id, ok)
						}
						if id, ok := s.LookupAddr(netip.MustParseAddr(fmt.Sprintf("2001:db8:%x::1", i))); !ok || id != int64(i+1) {
							fail("stable network %d: %d, %v", i, id, ok)
						}
						j := n % churn
						if id, ok := s.LookupAddr(churnAddr(j)); ok && id != int64(1000+j) {
							fail("churn address %d: id %d", j, id)
						}
						if id, ok := s.LookupName(churnName(j)); ok && id != int64(1000+j) {
							fail("churn name %d: id %d", j, id)
						}
						if _, ok := s.LookupName(fmt.Sprintf("never%d.example", j)); ok {
							fail("a name never added matched")
						}
						if _, ok := s.LookupAddr(netip.AddrFrom4([4]byte{192, 0, 2, byte(j)})); ok {
							fail("an address never added matched")
						}
						lookups.Add(1)
					}
				})
			}

			present := make(map[int]bool) // churn index -> added, after all rounds
			for round := range rounds {
				var batch []Change
				size := 1 + round%5*(churn/4) // 1, 51, 101, 151, 201 changes
				for k := range size {
					j := (round*31 + k) % churn
					if (round+k)%2 == 0 {
						batch = append(batch, add(intel.KindIPv4, churnAddr(j).String(), int64(1000+j)),
							add(intel.KindDomain, churnName(j), int64(1000+j)))
						present[j] = true
					} else {
						batch = append(batch, del(intel.KindIPv4, churnAddr(j).String()), del(intel.KindDomain, churnName(j)))
						present[j] = false
					}
				}
				mustApply(t, m, batch...)
			}
			stop.Store(true)
			wg.Wait()
			if lookups.Load() == 0 {
				t.Fatal("readers ran no lookups")
			}
			added := 0
			for j := range churn {
				_, okA := m.LookupAddr(churnAddr(j))
				_, okN := m.LookupName(churnName(j))
				if okA != present[j] || okN != present[j] {
					t.Errorf("churn %d after the last round: address %v, name %v, want %v", j, okA, okN, present[j])
				}
				if present[j] {
					added++
				}
			}
			if c := m.Snapshot().Counts(); c.Addrs != 2*stable+added || c.Names != stable+added {
				t.Errorf("counts after churn: %+v, want %d addresses and %d names", c, 2*stable+added, stable+added)
			}
		})
	}
}
