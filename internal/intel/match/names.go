package match

import (
	"hash/maphash"
	"slices"
	"strings"
)

// Slot states: a node that ends an indicator's name carries stateID; in a
// delta a name removed from the base carries stateRemoved.
const (
	stateNone    uint8 = 0
	stateID      uint8 = 1
	stateRemoved uint8 = 2
)

// usedBit marks an occupied slot; hashes keep it set so 0 means empty.
const usedBit = 1 << 63

// maxLabel is the longest label stored (DNS allows 63 bytes; a slot keeps
// the length in a byte).
const maxLabel = 255

// inlineMax is the longest label kept in its slot; longer ones live in the
// index's arena (one more memory access when they are compared).
const inlineMax = 34

// nameSlot is one edge of the label trie: from node parent through a label
// of n bytes to node. The node's own state and indicator ID ride on the
// edge into it (every node but the root has exactly one). A slot is 64
// bytes, one cache line, so a probe that finds its edge reads one line.
type nameSlot struct {
	h      uint64 // hash of (parent, label) | usedBit; 0 for an empty slot
	id     int64
	parent uint32
	node   uint32
	off    uint32 // in the arena, for labels longer than inlineMax
	n      uint8
	state  uint8
	inl    [inlineMax]byte // the label, when it fits
}

// labelIs reports whether slot s's label is label (of length s.n).
func (x *nameIndex) labelIs(s *nameSlot, label string) bool {
	if s.n <= inlineMax {
		return string(s.inl[:s.n]) == label
	}
	return string(x.arena[s.off:s.off+uint32(s.n)]) == label
}

func (x *nameIndex) labelOf(s *nameSlot) string {
	if s.n <= inlineMax {
		return string(s.inl[:s.n])
	}
	return string(x.arena[s.off : s.off+uint32(s.n)])
}

// nameIndex is a trie of domain labels read from the right ("example",
// then "evil", then "a" for a.evil.example) whose edges live in one
// open-addressing hash table keyed by (parent node, label). A lookup costs
// one probe per label and stops at the first label no indicator continues
// with, so a name outside every indicator usually costs one or two probes.
// The table holds no pointers (the garbage collector never scans it) and
// hashes with a random seed, so names chosen by a feed cannot be crafted to
// collide.
//
// An index is mutable only while the writer builds it; once published in a
// snapshot it is never written again.
type nameIndex struct {
	seed   maphash.Seed
	slots  []nameSlot
	mask   uint64
	filter filter // of the edges' hashes
	arena  []byte // labels, back to back
	nodes  uint32 // nodes so far, the root (0) included
	used   int    // occupied slots (edges)
	named  int    // slots whose state is stateID
	marks  int    // slots whose state is stateRemoved
}

func newNameIndex(seed maphash.Seed, edges int) *nameIndex {
	c := 16
	for c*3/4 < edges {
		c *= 2
	}
	return &nameIndex{seed: seed, slots: make([]nameSlot, c), mask: uint64(c - 1), filter: newFilter(edges), nodes: 1}
}

// hash mixes the seeded hash of a label with its parent node.
func (x *nameIndex) hash(parent uint32, label string) uint64 {
	h := maphash.String(x.seed, label) ^ (uint64(parent) * 0x9e3779b97f4a7c15)
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return h | usedBit
}

// find returns the edge from parent through label, or nil.
func (x *nameIndex) find(parent uint32, label string) *nameSlot {
	if len(label) > maxLabel {
		return nil
	}
	h := x.hash(parent, label)
	if !x.filter.has(h) {
		return nil
	}
	for i := h & x.mask; ; i = (i + 1) & x.mask {
		s := &x.slots[i]
		if s.h == 0 {
			return nil
		}
		if s.h == h && s.parent == parent && int(s.n) == len(label) && x.labelIs(s, label) {
			return s
		}
	}
}

// get returns the state and ID of name itself (not of a parent domain).
func (x *nameIndex) get(name string) (uint8, int64) {
	if x == nil {
		return stateNone, 0
	}
	var node uint32
	var s *nameSlot
	for end := len(name); end > 0; {
		i := strings.LastIndexByte(name[:end], '.')
		if s = x.find(node, name[i+1:end]); s == nil {
			return stateNone, 0
		}
		node, end = s.node, i
	}
	if s == nil {
		return stateNone, 0
	}
	return s.state, s.id
}

// set gives name the state and ID, adding the edges it lacks. Names must
// have passed validName.
func (x *nameIndex) set(name string, state uint8, id int64) {
	var node uint32
	var s *nameSlot
	for end := len(name); end > 0; {
		i := strings.LastIndexByte(name[:end], '.')
		s = x.edge(node, name[i+1:end])
		node, end = s.node, i
	}
	x.count(s.state, -1)
	x.count(state, 1)
	s.state, s.id = state, id
}

// clearState removes name's own state, leaving its edges (they cost a
// little memory until the next compaction, never a wrong answer).
func (x *nameIndex) clearState(name string) {
	var node uint32
	var s *nameSlot
	for end := len(name); end > 0; {
		i := strings.LastIndexByte(name[:end], '.')
		if s = x.find(node, name[i+1:end]); s == nil {
			return
		}
		node, end = s.node, i
	}
	x.count(s.state, -1)
	s.state, s.id = stateNone, 0
}

func (x *nameIndex) count(state uint8, d int) {
	switch state {
	case stateID:
		x.named += d
	case stateRemoved:
		x.marks += d
	}
}

// edge returns the edge from parent through label, adding it if absent.
func (x *nameIndex) edge(parent uint32, label string) *nameSlot {
	if s := x.find(parent, label); s != nil {
		return s
	}
	if (x.used+1)*4 > len(x.slots)*3 {
		x.grow()
	}
	h := x.hash(parent, label)
	i := h & x.mask
	for x.slots[i].h != 0 {
		i = (i + 1) & x.mask
	}
	s := &x.slots[i]
	*s = nameSlot{h: h, parent: parent, node: x.nodes, n: uint8(len(label))}
	if len(label) <= inlineMax {
		copy(s.inl[:], label)
	} else {
		s.off = uint32(len(x.arena))
		x.arena = append(x.arena, label...)
	}
	x.filter.add(h)
	x.nodes++
	x.used++
	return s
}

// grow doubles the table, placing every edge by its stored hash.
func (x *nameIndex) grow() {
	old := x.slots
	x.slots = make([]nameSlot, 2*len(old))
	x.mask = uint64(len(x.slots) - 1)
	for _, s := range old {
		if s.h == 0 {
			continue
		}
		i := s.h & x.mask
		for x.slots[i].h != 0 {
			i = (i + 1) & x.mask
		}
		x.slots[i] = s
	}
	if !x.filter.fits(2 * x.used) {
		x.filter = newFilter(2 * x.used)
		for _, s := range x.slots {
			if s.h != 0 {
				x.filter.add(s.h)
			}
		}
	}
}

// clone returns a private copy for the writer to change. The arena is
// shared with its capacity clipped, so the copy's first append moves it.
func (x *nameIndex) clone(extraEdges int) *nameIndex {
	c := *x
	c.filter = x.filter.clone()
	if (x.used+extraEdges)*4 > len(x.slots)*3 {
		// Growing rehashes into a new table anyway: no need to copy first.
		c.slots = x.slots
		for (c.used+extraEdges)*4 > len(c.slots)*3 {
			c.grow()
		}
	} else {
		c.slots = slices.Clone(x.slots)
	}
	c.arena = slices.Clip(x.arena)
	return &c
}

// garbage reports whether removals left enough dead edges to compact.
func (x *nameIndex) garbage() bool {
	return x.used > 4096 && x.used > 3*(x.named+x.marks)
}

// compact rebuilds the index with only the edges that lead to a named or
// marked node.
func (x *nameIndex) compact() *nameIndex {
	slotOf := make([]uint32, x.nodes) // node -> slot of its incoming edge
	for i, s := range x.slots {
		if s.h != 0 {
			slotOf[s.node] = uint32(i)
		}
	}
	c := newNameIndex(x.seed, 2*(x.named+x.marks))
	var path []uint32
	for _, s := range x.slots {
		if s.h == 0 || s.state == stateNone {
			continue
		}
		path = path[:0]
		for cur := s; ; {
			path = append(path, slotOf[cur.node])
			if cur.parent == 0 {
				break
			}
			cur = x.slots[slotOf[cur.parent]]
		}
		var node uint32
		var e *nameSlot
		for k := len(path) - 1; k >= 0; k-- {
			p := &x.slots[path[k]]
			e = c.edge(node, x.labelOf(p))
			node = e.node
		}
		c.count(s.state, 1)
		e.state, e.id = s.state, s.id
	}
	return c
}

// names is the published name table: an immutable base and an immutable,
// small delta of changes since the base was built (names added and names
// removed from the base). Either may be nil.
type names struct {
	base  *nameIndex
	delta *nameIndex
	count int // names matched
}

// lookup returns the ID of the most specific domain indicator covering
// name: the name itself or a parent domain on a label boundary. It walks
// the labels from the right with string slicing and does not allocate.
func (t *names) lookup(name string) (int64, bool) {
	b, d := t.base, t.delta
	inB, inD := b != nil && b.used > 0, d != nil && d.used > 0
	var bn, dn uint32
	var id int64
	found := false
	end := len(name)
	if end > 0 && name[end-1] == '.' {
		end--
	}
	for end > 0 && (inB || inD) {
		i := strings.LastIndexByte(name[:end], '.')
		label := name[i+1 : end]
		var state uint8
		var sid int64
		if inB {
			if s := b.find(bn, label); s != nil {
				bn, state, sid = s.node, s.state, s.id
			} else {
				inB = false
			}
		}
		if inD {
			if s := d.find(dn, label); s != nil {
				dn = s.node
				if s.state != stateNone {
					state, sid = s.state, s.id
				}
			} else {
				inD = false
			}
		}
		if state == stateID {
			id, found = sid, true
		}
		end = i
	}
	return id, found
}

// nameWriter is the writer's side of the name table: the changes since
// the base, which become the delta.
type nameWriter struct {
	seed    maphash.Seed
	pending map[string]pend
}

type pend struct {
	state uint8
	id    int64
}

type nameOp struct {
	name   string
	id     int64
	remove bool
}

// apply returns the table after ops. Small batches rebuild only the delta
// (cost: the delta's size plus the batch); when the delta would pass
// mergeAt entries it is folded into a copy of the base (cost: a copy of
// the base's slots plus the changes), so the delta stays small and
// lookups stay near one probe per label.
func (w *nameWriter) apply(cur names, ops []nameOp, mergeAt int) names {
	if len(w.pending)+len(ops) > max(mergeAt, cur.base.size()/32) {
		var nb *nameIndex
		if cur.base == nil {
			nb = newNameIndex(w.seed, len(ops))
		} else {
			nb = cur.base.clone(len(w.pending) + len(ops))
		}
		for name, p := range w.pending {
			if p.state == stateID {
				nb.set(name, stateID, p.id)
			} else {
				nb.clearState(name)
			}
		}
		for _, op := range ops {
			if op.remove {
				nb.clearState(op.name)
			} else {
				nb.set(op.name, stateID, op.id)
			}
		}
		clear(w.pending)
		if nb.garbage() {
			nb = nb.compact()
		}
		return names{base: nb, count: nb.named}
	}
	for _, op := range ops {
		switch {
		case !op.remove:
			w.pending[op.name] = pend{stateID, op.id}
		case hasName(cur.base, op.name):
			w.pending[op.name] = pend{state: stateRemoved}
		default:
			delete(w.pending, op.name)
		}
	}
	n := cur.base.size()
	if len(w.pending) == 0 {
		return names{base: cur.base, count: n}
	}
	d := newNameIndex(w.seed, 2*len(w.pending))
	for name, p := range w.pending {
		d.set(name, p.state, p.id)
		// A removal mark always hides a base name; an added name counts
		// unless the base has it already.
		if p.state == stateRemoved {
			n--
		} else if !hasName(cur.base, name) {
			n++
		}
	}
	return names{base: cur.base, delta: d, count: n}
}

func hasName(x *nameIndex, name string) bool {
	st, _ := x.get(name)
	return st == stateID
}

func (x *nameIndex) size() int {
	if x == nil {
		return 0
	}
	return x.named
}
