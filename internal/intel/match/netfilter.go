package match

import (
	"net/netip"
	"slices"

	"github.com/gaissmai/bart"
)

// netFilter says which addresses may lie in some network of the trie, so
// that most addresses outside every network never walk it. IPv4 is an
// exact bitmap of the 65,536 /16s (8 KiB) with a bit set for every /16 a
// network overlaps; IPv6 is a bitmap of hashed /32s, a bit set for every
// /32 a network overlaps (a network shorter than /20 would set too many:
// it sets wide6 and every IPv6 address walks the trie). A set bit is a
// maybe; a clear bit is a sure no. Bits of removed networks stay set
// until a rebuild (a maybe too many, never a wrong answer).
type netFilter struct {
	v4    []uint64 // 1024 words, one bit per /16; nil without IPv4 networks
	v6    []uint64 // power of two words; nil without IPv6 networks
	wide6 bool
	seed  uint64
	live  int // networks added since the last rebuild, the trie's at that time included
	stale int // networks removed since the last rebuild
}

func (f *netFilter) mayContain(a netip.Addr) bool {
	if a.Is4() {
		if f.v4 == nil {
			return false
		}
		b := a.As4()
		i := uint32(b[0])<<8 | uint32(b[1])
		return f.v4[i>>6]&(1<<(i&63)) != 0
	}
	if f.wide6 {
		return true
	}
	if f.v6 == nil {
		return false
	}
	b := a.As16()
	return f.has6(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]))
}

func (f *netFilter) bit6(top uint32) (int, uint64) {
	h := mix(uint64(top) ^ f.seed)
	i := h & (uint64(len(f.v6))*64 - 1)
	return int(i >> 6), 1 << (i & 63)
}

func (f *netFilter) has6(top uint32) bool {
	w, b := f.bit6(top)
	return f.v6[w]&b != 0
}

// add sets the bits of network p (masked, shorter than its family's
// length).
func (f *netFilter) add(p netip.Prefix) {
	f.live++
	a := p.Addr()
	if a.Is4() {
		if f.v4 == nil {
			f.v4 = make([]uint64, 1024)
		}
		b := a.As4()
		first := uint32(b[0])<<8 | uint32(b[1])
		n := uint32(1)
		if p.Bits() < 16 {
			n = 1 << (16 - p.Bits())
		}
		for i := first; i < first+n; i++ {
			f.v4[i>>6] |= 1 << (i & 63)
		}
		return
	}
	if p.Bits() < 20 {
		f.wide6 = true
		return
	}
	if f.v6 == nil {
		f.v6 = make([]uint64, 64)
	}
	b := a.As16()
	first := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n := uint32(1)
	if p.Bits() < 32 {
		n = 1 << (32 - p.Bits())
	}
	for top := first; top-first < n; top++ {
		w, bit := f.bit6(top)
		f.v6[w] |= bit
	}
}

// full reports whether the IPv6 bitmap is past 8 bits per network.
func (f *netFilter) full() bool { return f.v6 != nil && len(f.v6)*64 < 8*f.live }

// clone returns a private copy for the writer to change.
func (f *netFilter) clone() netFilter {
	c := *f
	c.v4 = slices.Clone(f.v4)
	c.v6 = slices.Clone(f.v6)
	return c
}

// buildNetFilter makes the filter of every network in t, its IPv6 bitmap
// at 16 bits or more per network.
func buildNetFilter(t *bart.Table[int64], seed uint64) netFilter {
	f := netFilter{seed: seed}
	if n := t.Size6(); n > 0 {
		w := 64
		for w*64 < 16*n {
			w *= 2
		}
		f.v6 = make([]uint64, w)
	}
	for p := range t.All() {
		f.add(p)
	}
	return f
}

// applyNetFilter returns the filter after the network changes ops, which
// made t: additions set bits in a copy; when removals have left as many
// stale networks as live ones, or the IPv6 bitmap is too full, it is
// rebuilt from t.
func applyNetFilter(cur netFilter, t *bart.Table[int64], ops []addrOp, seed uint64) netFilter {
	f := cur.clone()
	f.seed = seed
	for _, op := range ops {
		if op.remove {
			f.stale++
		} else {
			f.add(op.pfx)
		}
	}
	if f.stale > 64 && f.stale > t.Size() || f.full() {
		return buildNetFilter(t, seed)
	}
	return f
}
