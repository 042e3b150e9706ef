package blocklist

import (
	"math/bits"
	"net/netip"
	"strconv"
)

// u128 is an address as a number: IPv4 in lo, IPv6 in hi:lo.
type u128 struct{ hi, lo uint64 }

func toU128(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{lo: uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])}
	}
	b := a.As16()
	var x u128
	for i := range 8 {
		x.hi = x.hi<<8 | uint64(b[i])
		x.lo = x.lo<<8 | uint64(b[8+i])
	}
	return x
}

func fromU128(x u128, v4 bool) netip.Addr {
	if v4 {
		return netip.AddrFrom4([4]byte{byte(x.lo >> 24), byte(x.lo >> 16), byte(x.lo >> 8), byte(x.lo)})
	}
	var b [16]byte
	for i := range 8 {
		b[7-i] = byte(x.hi >> (8 * i))
		b[15-i] = byte(x.lo >> (8 * i))
	}
	return netip.AddrFrom16(b)
}

func (a u128) cmp(b u128) int {
	switch {
	case a.hi < b.hi || a.hi == b.hi && a.lo < b.lo:
		return -1
	case a == b:
		return 0
	}
	return 1
}

// add1 returns a+1 and whether it wrapped.
func (a u128) add1() (u128, bool) {
	lo, c := bits.Add64(a.lo, 1, 0)
	hi, c2 := bits.Add64(a.hi, 0, c)
	return u128{hi, lo}, c2 != 0
}

// lastOf is the last address of a block of 2^k addresses starting at a.
func lastOf(a u128, k int) u128 {
	if k >= 128 {
		return u128{^uint64(0), ^uint64(0)}
	}
	var m u128 // 2^k - 1
	if k >= 64 {
		m = u128{hi: 1<<(k-64) - 1, lo: ^uint64(0)}
	} else {
		m = u128{lo: 1<<k - 1}
	}
	return u128{a.hi | m.hi, a.lo | m.lo}
}

// trailingZeros of a, 128 for zero.
func (a u128) trailingZeros() int {
	if a.lo != 0 {
		return bits.TrailingZeros64(a.lo)
	}
	if a.hi != 0 {
		return 64 + bits.TrailingZeros64(a.hi)
	}
	return 128
}

// cidr is a network as a number and a length.
type cidr struct {
	addr u128
	bits uint8
}

// merger turns a stream of networks of one family, sorted by address
// then prefix length, into the fewest CIDRs that cover exactly their
// union: sorted, neither overlapping nor mergeable.
type merger struct {
	width      int // 32 or 128
	open       bool
	start, end u128
	out        []cidr
}

func (m *merger) add(addr u128, bits int) {
	e := lastOf(addr, m.width-bits)
	if m.open {
		next, wrapped := m.end.add1()
		if wrapped || addr.cmp(next) <= 0 {
			// Overlapping or adjacent: extend.
			if e.cmp(m.end) > 0 {
				m.end = e
			}
			return
		}
		m.flush()
	}
	m.start, m.end, m.open = addr, e, true
}

func (m *merger) flush() {
	if m.open {
		m.out = rangeToCIDRs(m.out, m.start, m.end, m.width)
		m.open = false
	}
}

// mergePrefixes is the merger over netip prefixes (of one family, sorted).
func mergePrefixes(dst []netip.Prefix, ps []netip.Prefix) []netip.Prefix {
	if len(ps) == 0 {
		return dst
	}
	v4 := ps[0].Addr().Is4()
	m := merger{width: 128}
	if v4 {
		m.width = 32
	}
	for _, p := range ps {
		m.add(toU128(p.Addr()), p.Bits())
	}
	m.flush()
	for _, c := range m.out {
		dst = append(dst, netip.PrefixFrom(fromU128(c.addr, v4), int(c.bits)))
	}
	return dst
}

// rangeToCIDRs appends the CIDRs covering [start, end].
func rangeToCIDRs(dst []cidr, start, end u128, width int) []cidr {
	for {
		k := min(start.trailingZeros(), width)
		for k > 0 && lastOf(start, k).cmp(end) > 0 {
			k--
		}
		dst = append(dst, cidr{start, uint8(width - k)})
		last := lastOf(start, k)
		if last.cmp(end) >= 0 {
			return dst
		}
		start, _ = last.add1()
	}
}

// appendCIDR writes c: an address alone for a host, else address/bits.
func appendCIDR(b []byte, c cidr, v4 bool) []byte {
	if v4 {
		for i := 3; i >= 0; i-- {
			b = strconv.AppendUint(b, c.addr.lo>>(8*i)&0xff, 10)
			if i > 0 {
				b = append(b, '.')
			}
		}
		if c.bits < 32 {
			b = append(b, '/')
			b = strconv.AppendUint(b, uint64(c.bits), 10)
		}
		return b
	}
	b = fromU128(c.addr, false).AppendTo(b)
	if c.bits < 128 {
		b = append(b, '/')
		b = strconv.AppendUint(b, uint64(c.bits), 10)
	}
	return b
}
