package blocklist

import (
	"github.com/rampart-cert/rampart/internal/intel"
)

// Change is one indicator that changed since a list was built: put in
// the list as it is now, or dropped from it (expired, marked RED, held
// back for review).
type Change struct {
	Indicator intel.Indicator
	Drop      bool
}

// Update returns a new list: l with each changed indicator's entry
// replaced by its new one, or removed. Those the guard refuses (g may be
// nil) are removed and returned for review, as Build does. l is not
// changed (lists are immutable). It costs a merge of l with the changes,
// not a build of every indicator: what a list served between full builds
// pays for a feed's small run.
func (l *List) Update(changes []Change, g *Guard) (*List, []Review) {
	b := NewBuilder(g, len(changes))
	var review []Review
	type otherKey struct {
		kind  uint8
		value string
	}
	type addrKey struct {
		addr u128
		bits uint8
		v6   bool
	}
	gone := map[otherKey]bool{}
	goneAddr := map[addrKey]bool{}
	for i := range changes {
		in := &changes[i].Indicator
		switch in.Kind {
		case intel.KindIPv4, intel.KindIPv6, intel.KindCIDR:
			if p, ok := parsePrefix(in.Value); ok {
				goneAddr[addrKey{toU128(p.Addr()), uint8(p.Bits()), !p.Addr().Is4()}] = true
			}
		default:
			if k, ok := kindIndex(in.Kind); ok {
				gone[otherKey{k, in.Value}] = true
			}
		}
		if changes[i].Drop {
			continue
		}
		if r, held := b.Add(in); held {
			review = append(review, r)
		}
	}
	fresh := b.List()
	out := &List{Serial: max(l.Serial, fresh.Serial)}
	out.addrs = merge(l.addrs, fresh.addrs, func(e *entry) bool { return goneAddr[addrKey{e.addr, e.bits, e.v6}] }, cmpAddr)
	out.others = merge(l.others, fresh.others, func(e *entry) bool { return gone[otherKey{e.kind, e.value}] }, cmpOther)
	return out, review
}

// merge merges sorted old (without the entries gone says are replaced or
// removed) and sorted fresh into a new slice.
func merge(old, fresh []entry, gone func(*entry) bool, cmp func(a, b entry) int) []entry {
	out := make([]entry, 0, len(old)+len(fresh))
	i, j := 0, 0
	for i < len(old) || j < len(fresh) {
		if i < len(old) && gone(&old[i]) {
			i++
			continue
		}
		switch {
		case j == len(fresh) || i < len(old) && cmp(old[i], fresh[j]) < 0:
			out = append(out, old[i])
			i++
		default:
			out = append(out, fresh[j])
			j++
		}
	}
	return out
}
