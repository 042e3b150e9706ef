package match

import (
	"maps"
	"slices"
)

// hostSlot is one address of a host table. state is stateNone for a slot
// never used, stateID for an address, stateRemoved for a deleted one (the
// probe sequence runs past it).
type hostSlot[K comparable] struct {
	key   K
	state uint8
	id    int64
}

// hostIndex is an open-addressing hash table (linear probing) of single
// addresses, IPv4 (K uint32) or IPv6 (K [2]uint64), behind a Bloom filter.
// A single address is the longest prefix there is, so a hit here is the
// longest-prefix match without walking the network trie; a miss costs one
// filter word in the CPU cache and, one time in twenty, one probe.
//
// Hashes are computed by the caller (hash4, hash6) with the matcher's
// random seed. An index is written only while the writer builds it.
type hostIndex[K comparable] struct {
	slots  []hostSlot[K]
	mask   uint64
	filter filter
	live   int // stateID slots
	used   int // non-empty slots (live and removed)
}

func newHostIndex[K comparable](n int) *hostIndex[K] {
	c := 16
	for c*3/4 < n {
		c *= 2
	}
	return &hostIndex[K]{slots: make([]hostSlot[K], c), mask: uint64(c - 1), filter: newFilter(n)}
}

// find returns the ID of k, whose hash is h.
func (x *hostIndex[K]) find(k K, h uint64) (int64, bool) {
	if !x.filter.has(h) {
		return 0, false
	}
	for i := h & x.mask; ; i = (i + 1) & x.mask {
		s := &x.slots[i]
		if s.state == stateNone {
			return 0, false
		}
		if s.key == k && s.state == stateID {
			return s.id, true
		}
	}
}

// set stores k with id, rebuilding the table when it is three quarters
// used or the filter is too full.
func (x *hostIndex[K]) set(k K, h uint64, id int64, hash func(K) uint64) {
	if (x.used+1)*4 > len(x.slots)*3 || !x.filter.fits(x.live+1) {
		x.rebuild(x.live+1, hash)
	}
	free := -1
	i := h & x.mask
	for ; x.slots[i].state != stateNone; i = (i + 1) & x.mask {
		s := &x.slots[i]
		if s.key == k && s.state == stateID {
			s.id = id
			return
		}
		if s.state == stateRemoved && free < 0 {
			free = int(i)
		}
	}
	if free >= 0 {
		i = uint64(free)
	} else {
		x.used++
	}
	x.slots[i] = hostSlot[K]{key: k, state: stateID, id: id}
	x.live++
	x.filter.add(h)
}

// remove marks k removed (its filter bits stay until the next rebuild;
// they cost a probe, never a wrong answer).
func (x *hostIndex[K]) remove(k K, h uint64) {
	for i := h & x.mask; x.slots[i].state != stateNone; i = (i + 1) & x.mask {
		if s := &x.slots[i]; s.key == k && s.state == stateID {
			s.state, s.id = stateRemoved, 0
			x.live--
			return
		}
	}
}

// rebuild re-inserts the live addresses into a table and filter sized for
// n of them, dropping removal marks.
func (x *hostIndex[K]) rebuild(n int, hash func(K) uint64) {
	old := x.slots
	*x = *newHostIndex[K](2 * max(n, x.live))
	for _, s := range old {
		if s.state != stateID {
			continue
		}
		h := hash(s.key)
		i := h & x.mask
		for x.slots[i].state != stateNone {
			i = (i + 1) & x.mask
		}
		x.slots[i] = s
		x.filter.add(h)
		x.live++
		x.used++
	}
}

// clone returns a private copy for the writer to change.
func (x *hostIndex[K]) clone() *hostIndex[K] {
	return &hostIndex[K]{slots: slices.Clone(x.slots), mask: x.mask, filter: x.filter.clone(), live: x.live, used: x.used}
}

// hostTable is a published host table: an immutable base and an immutable
// small delta map of changes since (added addresses and removal marks).
type hostTable[K comparable] struct {
	base  *hostIndex[K]
	delta map[K]pend
	count int
}

// lookup returns the address's ID; ok is false when it is absent or
// removed.
func (t *hostTable[K]) lookup(k K, h uint64) (int64, bool) {
	if len(t.delta) > 0 {
		if p, ok := t.delta[k]; ok {
			return p.id, p.state == stateID
		}
	}
	if t.base == nil {
		return 0, false
	}
	return t.base.find(k, h)
}

// hostWriter is the writer's side of a host table.
type hostWriter[K comparable] struct {
	hash func(K) uint64
}

type hostOp[K comparable] struct {
	key    K
	id     int64
	remove bool
}

// pend is a delta's word on a key: stateID with its ID, or stateRemoved.
type pend struct {
	state uint8
	id    int64
}

// apply returns the table after ops, leaving cur untouched. A batch that
// fits in the delta costs a copy of the delta map plus, per change, a
// probe of the base (to keep the count); one that does not folds the
// delta and the batch into a copy of the base (cost: its slots and
// filter).
func (w *hostWriter[K]) apply(cur hostTable[K], ops []hostOp[K], mergeAt int) hostTable[K] {
	n := 0
	if cur.base != nil {
		n = cur.base.live
	}
	if len(cur.delta)+len(ops) > mergeLimit(mergeAt, n) {
		var nb *hostIndex[K]
		if cur.base == nil {
			nb = newHostIndex[K](len(cur.delta) + len(ops))
		} else {
			nb = cur.base.clone()
		}
		for k, p := range cur.delta {
			if p.state == stateID {
				nb.set(k, w.hash(k), p.id, w.hash)
			} else {
				nb.remove(k, w.hash(k))
			}
		}
		for _, op := range ops {
			if op.remove {
				nb.remove(op.key, w.hash(op.key))
			} else {
				nb.set(op.key, w.hash(op.key), op.id, w.hash)
			}
		}
		if nb.used > 2*nb.live+1024 {
			nb.rebuild(nb.live, w.hash)
		}
		return hostTable[K]{base: nb, count: nb.live}
	}
	d := maps.Clone(cur.delta)
	if d == nil {
		d = make(map[K]pend, len(ops))
	}
	count := cur.count
	for _, op := range ops {
		p, inDelta := d[op.key]
		was := inDelta && p.state == stateID
		if !inDelta && cur.base != nil {
			_, was = cur.base.find(op.key, w.hash(op.key))
		}
		if was {
			count--
		}
		if op.remove {
			d[op.key] = pend{state: stateRemoved}
		} else {
			d[op.key] = pend{stateID, op.id}
			count++
		}
	}
	return hostTable[K]{base: cur.base, delta: d, count: count}
}
