package match

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/intel"
)

// refNames is the naive reference for the name table: a map, and a lookup
// that tries the whole name, then each suffix after a dot.
type refNames map[string]int64

func (r refNames) lookup(name string) (int64, bool) {
	name = strings.TrimSuffix(name, ".")
	for s := name; ; {
		if id, ok := r[s]; ok {
			return id, true
		}
		i := strings.IndexByte(s, '.')
		if i < 0 {
			return 0, false
		}
		s = s[i+1:]
	}
}

// nameVocab makes names with shared suffixes, near misses on label
// boundaries ("xevil" beside "evil") and a label long enough to live in
// the arena.
var nameVocab = [8]string{"evil", "example", "a", "xevil", "e", "co", strings.Repeat("q", 40), "x-1"}

func vocabName(b1, b2 byte) string {
	depth := 1 + int(b1>>2)%3
	bits := uint(b2) | uint(b1>>5)<<8
	labels := make([]string, depth)
	for i := range labels {
		labels[i] = nameVocab[bits&7]
		bits >>= 3
	}
	return strings.Join(labels, ".")
}

// FuzzNames drives the name table with batches of adds and removes built
// from the fuzz bytes (plus the fuzz string itself, when it is a valid
// name) and compares every lookup with the naive reference, on thresholds
// that send batches through both the delta and the merge paths.
func FuzzNames(f *testing.F) {
	f.Add([]byte{0, 0x10, 0x01, 0x04, 0x12, 0x03, 0x00, 0x09, 0x41}, "a.b.evil.example")
	f.Add([]byte{3, 0x02, 0x55, 0x06, 0x00, 0x01, 0x55, 0x03, 0x00, 0x02, 0x00}, "hugesoft.org")
	f.Add([]byte{1, 0x22, 0xff, 0x23, 0xff, 0x21, 0x0f}, "www.xn--byte-5y5a.vn.")
	f.Add([]byte{7}, "xevil.example")
	f.Add([]byte{}, "")
	f.Fuzz(checkNameOps)
}

// checkNameOps is FuzzNames's property.
func checkNameOps(t *testing.T, ops []byte, query string) {
	mergeAt := 1
	if len(ops) > 0 {
		mergeAt, ops = 1+int(ops[0]%8), ops[1:]
	}
	m := newMatcher(mergeAt, mergeAt)
	ref := refNames{}
	var batch []Change
	next := make(refNames)
	var used []string
	probes := func() []string {
		out := []string{query, "x" + query, "www." + query, query + "."}
		for _, n := range used {
			out = append(out, n, "z."+n, "x"+n, n[1:])
		}
		return out
	}
	flush := func() {
		if err := m.Apply(batch); err != nil {
			t.Fatal(err)
		}
		batch = batch[:0]
		ref = make(refNames, len(next))
		for k, v := range next {
			ref[k] = v
		}
		for _, p := range probes() {
			got, gok := m.LookupName(p)
			want, wok := ref.lookup(p)
			if got != want || gok != wok {
				t.Fatalf("LookupName(%q) = %d, %v; reference %d, %v (names %v)", p, got, gok, want, wok, ref)
			}
		}
		if c := m.Snapshot().Counts().Names; c != len(ref) {
			t.Fatalf("Counts().Names = %d, reference %d", c, len(ref))
		}
	}
	id := int64(0)
	for i := 0; i+1 < len(ops); i += 2 {
		b1, b2 := ops[i], ops[i+1]
		switch b1 & 3 {
		case 0:
			n := vocabName(b1, b2)
			id++
			batch = append(batch, add(intel.KindDomain, n, id))
			next[n] = id
			used = append(used, n)
		case 1:
			n := vocabName(b1, b2)
			batch = append(batch, del(intel.KindDomain, n))
			delete(next, n)
		case 2:
			id++
			err := m.Apply([]Change{add(intel.KindDomain, query, id)})
			if checkName(query) != "" {
				if err == nil {
					t.Fatalf("invalid name %q accepted", query)
				}
				continue
			}
			if err != nil {
				t.Fatalf("valid name %q refused: %v", query, err)
			}
			// Applied at once, ahead of the pending batch: the
			// reference follows the same order.
			ref[query] = id
			if _, pending := pendingFor(batch, query); !pending {
				next[query] = id
			}
			used = append(used, query)
		case 3:
			flush()
		}
	}
	flush()
}

// pendingFor reports whether the batch has a change for name (which then
// decides its state after the batch).
func pendingFor(batch []Change, name string) (Change, bool) {
	for i := len(batch) - 1; i >= 0; i-- {
		if batch[i].Value == name {
			return batch[i], true
		}
	}
	return Change{}, false
}

// refAddrs is the naive reference for the address table: a map of
// prefixes, and a lookup that scans them all for the longest match.
type refAddrs map[netip.Prefix]int64

func (r refAddrs) lookup(a netip.Addr) (int64, bool) {
	a = a.Unmap()
	best, id := -1, int64(0)
	for p, v := range r {
		if p.Contains(a) && p.Bits() > best {
			best, id = p.Bits(), v
		}
	}
	return id, best >= 0
}

// TestAddrsAgainstReference applies random batches of overlapping
// addresses and networks in two small spaces and compares lookups of
// every address of those spaces with the naive reference.
func TestAddrsAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	v4 := func() netip.Addr { return netip.AddrFrom4([4]byte{10, 20, byte(r.IntN(2)), byte(r.IntN(256))}) }
	v6 := func() netip.Addr { return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(r.IntN(256))}) }
	for _, th := range [][2]int{{4096, 4096}, {1, 1}, {16, 4}} {
		m := newMatcher(th[0], th[1])
		ref := refAddrs{}
		for round := range 120 {
			var batch []Change
			for range 1 + r.IntN(20) {
				a := v4()
				if r.IntN(3) == 0 {
					a = v6()
				}
				bits := a.BitLen()
				if r.IntN(2) == 0 {
					bits -= r.IntN(12)
				}
				p := netip.PrefixFrom(a, bits).Masked()
				kind := intel.KindCIDR
				if p.IsSingleIP() && r.IntN(2) == 0 {
					kind = intel.KindIPv4
					if a.Is6() {
						kind = intel.KindIPv6
					}
				}
				value := p.String()
				if kind != intel.KindCIDR {
					value = p.Addr().String()
				}
				if r.IntN(3) == 0 {
					batch = append(batch, del(kind, value))
					delete(ref, p)
				} else {
					id := int64(round*100 + len(batch) + 1)
					batch = append(batch, add(kind, value, id))
					ref[p] = id
				}
			}
			if err := m.Apply(batch); err != nil {
				t.Fatal(err)
			}
			for i := range 512 {
				var a netip.Addr
				if i < 256 {
					a = netip.AddrFrom4([4]byte{10, 20, byte(i & 1), byte(i >> 1)})
					if i%7 == 0 {
						a = netip.AddrFrom16(a.As16()) // mapped
					}
				} else {
					a = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i)})
				}
				got, gok := m.LookupAddr(a)
				want, wok := ref.lookup(a)
				if got != want || gok != wok {
					t.Fatalf("thresholds %v round %d: LookupAddr(%s) = %d, %v; reference %d, %v", th, round, a, got, gok, want, wok)
				}
			}
			if c := m.Snapshot().Counts().Addrs; c != len(ref) {
				t.Fatalf("thresholds %v round %d: Counts().Addrs = %d, reference %d", th, round, c, len(ref))
			}
		}
	}
}

// TestNamesAgainstReference is the fuzz target's property on a longer
// random run than the seed corpus gives.
func TestNamesAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	for _, mergeAt := range []int{4096, 1, 7} {
		m := newMatcher(mergeAt, mergeAt)
		ref := refNames{}
		var used []string
		for round := range 150 {
			var batch []Change
			for range 1 + r.IntN(12) {
				n := vocabName(byte(r.IntN(256)), byte(r.IntN(256)))
				if r.IntN(3) == 0 {
					batch = append(batch, del(intel.KindDomain, n))
					delete(ref, n)
				} else {
					id := int64(round*100 + len(batch) + 1)
					batch = append(batch, add(intel.KindDomain, n, id))
					ref[n] = id
					used = append(used, n)
				}
			}
			if err := m.Apply(batch); err != nil {
				t.Fatal(err)
			}
			for _, n := range used {
				for _, p := range []string{n, "www." + n, "x" + n, n[1:], n + "."} {
					got, gok := m.LookupName(p)
					want, wok := ref.lookup(p)
					if got != want || gok != wok {
						t.Fatalf("mergeAt %d round %d: LookupName(%q) = %d, %v; reference %d, %v", mergeAt, round, p, got, gok, want, wok)
					}
				}
			}
			if c := m.Snapshot().Counts().Names; c != len(ref) {
				t.Fatalf("mergeAt %d round %d: Counts().Names = %d, reference %d", mergeAt, round, c, len(ref))
			}
		}
	}
}

// TestNetFilterPaths takes the network filter through each of its cases
// (networks wider than a /16 and than an IPv6 /32, one wider than /20
// that turns the IPv6 bitmap off, a bitmap grown past its size, enough
// removals to rebuild) and checks lookups against the reference after
// each batch: a filter that said "no" for an address inside a network
// would show here as a missed match.
func TestNetFilterPaths(t *testing.T) {
	for _, th := range [][2]int{{4096, 4096}, {1, 1}} {
		m := newMatcher(th[0], th[1])
		ref := refAddrs{}
		probes := []string{"10.0.0.1", "10.255.255.255", "11.0.0.0", "9.255.255.255", "172.16.5.4", "172.31.255.1",
			"172.32.0.0", "2001:db8::1", "2001:dbb:ffff::1", "2001:dbc::1", "2400::1", "240f:ffff::1", "2410::1",
			"2a00:1:2::1", "2a00:1:3::1", "2a00:2:2::5", "::1", "192.0.2.1"}
		check := func(step string) {
			t.Helper()
			for _, p := range probes {
				a := netip.MustParseAddr(p)
				got, gok := m.LookupAddr(a)
				want, wok := ref.lookup(a)
				if got != want || gok != wok {
					t.Fatalf("thresholds %v, %s: LookupAddr(%s) = %d, %v; reference %d, %v", th, step, p, got, gok, want, wok)
				}
			}
		}
		apply := func(step string, cs ...Change) {
			t.Helper()
			mustApply(t, m, cs...)
			for _, c := range cs {
				p := netip.MustParsePrefix(c.Value)
				if c.Remove {
					delete(ref, p)
				} else {
					ref[p] = c.ID
				}
			}
			check(step)
		}
		check("empty")
		apply("wide IPv4 and IPv6 networks",
			add(intel.KindCIDR, "10.0.0.0/8", 1), add(intel.KindCIDR, "172.16.0.0/12", 2),
			add(intel.KindCIDR, "2001:db8::/30", 3))
		apply("an IPv6 network wider than /20", add(intel.KindCIDR, "2400::/12", 4))
		if !m.Snapshot().addrs.netf.wide6 {
			t.Fatal("a /12 did not turn the IPv6 bitmap off")
		}
		apply("its removal", del(intel.KindCIDR, "2400::/12"))
		var many, gone []Change
		for i := range 700 {
			v := fmt.Sprintf("2a00:%x:%x::/48", i/16+1, i%16+2)
			many = append(many, add(intel.KindCIDR, v, int64(100+i)))
			if i%4 != 0 {
				gone = append(gone, del(intel.KindCIDR, v))
			}
		}
		apply("past the IPv6 bitmap's size", many...)
		if f := m.Snapshot().addrs.netf; f.wide6 || len(f.v6)*64 < 16*700 {
			t.Fatalf("the filter was not rebuilt when full: wide6 %v, %d words", f.wide6, len(f.v6))
		}
		apply("removals past the live networks", gone...)
		if f := m.Snapshot().addrs.netf; f.stale != 0 {
			t.Fatalf("the filter was not rebuilt after removals: %d stale", f.stale)
		}
		apply("removal of the wide IPv4 network", del(intel.KindCIDR, "10.0.0.0/8"))
		for i := range 700 {
			probes = append(probes, fmt.Sprintf("2a00:%x:%x::9", i/16+1, i%16+2))
		}
		check("every /48")
	}
}
