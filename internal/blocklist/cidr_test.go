package blocklist

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		p, ok := parsePrefix(s)
		if !ok {
			panic(s)
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	return out
}

func join(ps []netip.Prefix) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.String())
	}
	return strings.Join(s, " ")
}

func TestMergePrefixes(t *testing.T) {
	cases := []struct {
		in   []string
		want string
	}{
		{[]string{"192.0.2.1"}, "192.0.2.1/32"},
		{[]string{"192.0.2.0/24", "192.0.2.7", "192.0.2.128/25"}, "192.0.2.0/24"},
		{[]string{"192.0.2.0/25", "192.0.2.128/25"}, "192.0.2.0/24"},
		{[]string{"192.0.2.0", "192.0.2.1", "192.0.2.2", "192.0.2.3"}, "192.0.2.0/30"},
		{[]string{"192.0.2.1", "192.0.2.2"}, "192.0.2.1/32 192.0.2.2/32"},
		{[]string{"198.51.100.0/24", "198.51.101.0/24", "198.51.102.0/24"}, "198.51.100.0/23 198.51.102.0/24"},
		{[]string{"203.0.113.0/24", "203.0.113.0/24"}, "203.0.113.0/24"},
		{[]string{"255.255.255.255", "255.255.255.254"}, "255.255.255.254/31"},
		{[]string{"2001:db8::/33", "2001:db8:8000::/33", "2001:db8::1"}, "2001:db8::/32"},
		{[]string{"2001:db8::1", "2001:db8::2"}, "2001:db8::1/128 2001:db8::2/128"},
		{[]string{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127"},
	}
	for _, c := range cases {
		if got := join(mergePrefixes(nil, prefixes(c.in...))); got != c.want {
			t.Errorf("merge %v = %s, want %s", c.in, got, c.want)
		}
	}
}

// Random sets of networks in a small space: the merged CIDRs cover
// exactly the same addresses, never overlap, and cannot be merged more.
func TestMergePrefixesAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := toU128(netip.MustParseAddr("198.18.0.0"))
	for round := range 300 {
		var in []netip.Prefix
		covered := map[uint64]bool{}
		for range 1 + rng.IntN(12) {
			bits := 22 + rng.IntN(11) // /22 … /32 inside a /20
			off := uint64(rng.IntN(1<<12)) &^ (1<<(32-bits) - 1)
			p := netip.PrefixFrom(fromU128(u128{lo: base.lo + off}, true), bits)
			in = append(in, p)
			for a := off; a <= off|(1<<(32-bits)-1); a++ {
				covered[a] = true
			}
		}
		in = prefixes(func() []string {
			var s []string
			for _, p := range in {
				s = append(s, p.String())
			}
			return s
		}()...)
		out := mergePrefixes(nil, in)
		got := map[uint64]bool{}
		for i, p := range out {
			if i > 0 && out[i-1].Overlaps(p) {
				t.Fatalf("round %d: %v and %v overlap", round, out[i-1], p)
			}
			if i > 0 {
				prev := lastOf(toU128(out[i-1].Addr()), 32-out[i-1].Bits())
				if toU128(p.Addr()).cmp(prev) <= 0 {
					t.Fatalf("round %d: not sorted: %v", round, out)
				}
			}
			s := toU128(p.Addr()).lo - base.lo
			for a := s; a <= s|(1<<(32-p.Bits())-1); a++ {
				got[a] = true
			}
		}
		if len(got) != len(covered) {
			t.Fatalf("round %d: %s covers %d addresses, input %s covers %d", round, join(out), len(got), join(in), len(covered))
		}
		for a := range covered {
			if !got[a] {
				t.Fatalf("round %d: address +%d lost", round, a)
			}
		}
		// Minimal: merging the output again changes nothing.
		if again := mergePrefixes(nil, out); !slices.Equal(again, out) {
			t.Fatalf("round %d: not stable: %s → %s", round, join(out), join(again))
		}
	}
}

func TestRPZIP(t *testing.T) {
	cases := map[string]string{
		"192.0.2.1":            "32.1.2.0.192.rpz-ip",
		"192.0.2.0/24":         "24.0.2.0.192.rpz-ip",
		"2001:db8::1":          "128.1.zz.db8.2001.rpz-ip",
		"2001:db8::/32":        "32.zz.db8.2001.rpz-ip",
		"2001:db8:0:1::/64":    "64.zz.1.0.db8.2001.rpz-ip",
		"2001:db8:1:2:3:4:5:6": "128.6.5.4.3.2.1.db8.2001.rpz-ip",
		"2001:0:0:1::1":        "128.1.zz.1.0.0.2001.rpz-ip",
	}
	for in, want := range cases {
		p, _ := parsePrefix(in)
		if got := rpzIP(p); got != want {
			t.Errorf("rpzIP(%s) = %s, want %s", in, got, want)
		}
	}
}

// rpzIP is appendRPZIP for a prefix.
func rpzIP(p netip.Prefix) string {
	return string(appendRPZIP(nil, cidr{toU128(p.Addr()), uint8(p.Bits())}, p.Addr().Is4()))
}
