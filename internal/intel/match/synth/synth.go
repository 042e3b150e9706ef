// Package synth makes random indicators and queries for the matcher's
// benchmarks (its Go benchmarks and bench/intel): addresses and networks
// spread over the IPv4 and IPv6 space, and domain names shaped like a
// blocklist's (a registered name under a common TLD, sometimes with one or
// two labels in front). The same seed gives the same data.
package synth

import (
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"

	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/intel/match"
)

var tlds = [...]string{"com", "net", "org", "info", "ru", "cn", "vn", "com.vn", "io", "xyz", "top", "online",
	"site", "de", "uk", "co.uk", "br", "in", "tk", "ml", "ga", "cf", "pw", "biz", "us", "me", "cc", "su", "club", "shop"}

// Gen draws indicators and queries from one seeded source.
type Gen struct{ r *rand.Rand }

// New returns a generator for seed.
func New(seed uint64) *Gen { return &Gen{rand.New(rand.NewPCG(seed, seed^0x5deece66d))} }

// Addrs returns n address indicators shaped like a mix of blocklists
// (botnet drones and C2 hosts, DROP-style network lists): 88% IPv4 hosts,
// 2% IPv4 networks (/16 to /29), 8% IPv6 hosts, 2% IPv6 networks (/32 to
// /64). IDs are 1..n.
func (g *Gen) Addrs(n int) []match.Change {
	out := make([]match.Change, n)
	for i := range out {
		c := match.Change{ID: int64(i + 1)}
		switch p := g.r.IntN(100); {
		case p < 88:
			c.Kind, c.Value = intel.KindIPv4, g.v4().String()
		case p < 90:
			c.Kind, c.Value = intel.KindCIDR, netip.PrefixFrom(g.v4(), 16+g.r.IntN(14)).Masked().String()
		case p < 98:
			c.Kind, c.Value = intel.KindIPv6, g.v6().String()
		default:
			c.Kind, c.Value = intel.KindCIDR, netip.PrefixFrom(g.v6(), 32+g.r.IntN(33)).Masked().String()
		}
		out[i] = c
	}
	return out
}

func (g *Gen) v4() netip.Addr {
	var b [4]byte
	v := g.r.Uint32()
	b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	return netip.AddrFrom4(b)
}

func (g *Gen) v6() netip.Addr {
	var b [16]byte
	hi, lo := g.r.Uint64(), g.r.Uint64()
	hi = hi&^(0xe<<60) | 0x2<<60 // global unicast, 2000::/3
	for i := range 8 {
		b[i], b[8+i] = byte(hi>>(56-8*i)), byte(lo>>(56-8*i))
	}
	return netip.AddrFrom16(b)
}

// AddrQueries returns n lookups: hitPercent of them inside the
// indicators given (hits), the rest random addresses, one in five IPv6
// (mostly misses, sometimes inside a network).
func (g *Gen) AddrQueries(ind []match.Change, n, hitPercent int) []netip.Addr {
	out := make([]netip.Addr, n)
	for i := range out {
		if g.r.IntN(100) < hitPercent && len(ind) > 0 {
			c := ind[g.r.IntN(len(ind))]
			if c.Kind == intel.KindCIDR {
				p := netip.MustParsePrefix(c.Value)
				out[i] = inside(p, g)
			} else {
				out[i] = netip.MustParseAddr(c.Value)
			}
			continue
		}
		if g.r.IntN(5) == 0 {
			out[i] = g.v6()
		} else {
			out[i] = g.v4()
		}
	}
	return out
}

// inside returns a random address of p.
func inside(p netip.Prefix, g *Gen) netip.Addr {
	b := p.Addr().AsSlice()
	for bit := p.Bits(); bit < len(b)*8; bit++ {
		if g.r.IntN(2) == 1 {
			b[bit/8] |= 0x80 >> (bit % 8)
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func (g *Gen) label(minLen, maxLen int) string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	n := minLen + g.r.IntN(maxLen-minLen+1)
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[g.r.IntN(26)]
		if i > 0 && g.r.IntN(8) == 0 {
			b[i] = letters[g.r.IntN(len(letters))]
		}
	}
	return string(b)
}

// Names returns n distinct domain indicators: 60% a registered name
// ("k3jdq.com"), 30% with one label in front, 10% with two. IDs are
// 1..n.
func (g *Gen) Names(n int) []match.Change {
	out := make([]match.Change, 0, n)
	seen := make(map[string]bool, n)
	for len(out) < n {
		name := g.label(5, 12) + "." + tlds[g.r.IntN(len(tlds))]
		switch p := g.r.IntN(10); {
		case p >= 9:
			name = g.label(2, 8) + "." + g.label(2, 8) + "." + name
		case p >= 6:
			name = g.label(2, 8) + "." + name
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, match.Change{Kind: intel.KindDomain, Value: name, ID: int64(len(out) + 1)})
	}
	return out
}

// NameQueries returns n lookups: hitPercent of them an indicator or a
// subdomain of one ("www.", "mail.", "login.secure.", "cdn3."), the rest
// random names under the same TLDs, half with "www." (misses).
func (g *Gen) NameQueries(ind []match.Change, n, hitPercent int) []string {
	prefixes := [...]string{"", "www.", "mail.", "login.secure.", "cdn"}
	out := make([]string, n)
	for i := range out {
		if g.r.IntN(100) < hitPercent && len(ind) > 0 {
			p := prefixes[g.r.IntN(len(prefixes))]
			if p == "cdn" {
				p += strconv.Itoa(g.r.IntN(10)) + "."
			}
			out[i] = p + ind[g.r.IntN(len(ind))].Value
			continue
		}
		name := g.label(5, 12) + "." + tlds[g.r.IntN(len(tlds))]
		if g.r.IntN(2) == 0 {
			name = "www." + name
		}
		out[i] = name
	}
	return packed(out)
}

// packed copies the strings into one block, in order: a caller matching a
// report reads names it has just parsed from one buffer, not from a
// million scattered allocations.
func packed(ss []string) []string {
	n := 0
	for _, s := range ss {
		n += len(s)
	}
	var b strings.Builder
	b.Grow(n)
	for _, s := range ss {
		b.WriteString(s)
	}
	all, out := b.String(), make([]string, len(ss))
	off := 0
	for i, s := range ss {
		out[i] = all[off : off+len(s)]
		off += len(s)
	}
	return out
}
