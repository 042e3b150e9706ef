package match

import (
	"slices"
	"strings"
)

// Slot states: a slot holding an indicator's name carries stateID; in a
// delta, a name removed from the base carries stateRemoved. In a base, a
// removed name's slot becomes stateRemoved too, so probe sequences run
// past it until the next rebuild drops it.
const (
	stateNone    uint8 = 0
	stateID      uint8 = 1
	stateRemoved uint8 = 2
)

// usedBit marks an occupied slot; stored hashes keep it set so 0 means
// empty.
const usedBit = 1 << 63

// inlineMax is the longest name kept in its slot; a longer one lives in
// the index's arena, one more memory access when it is compared.
const inlineMax = 42

// nameSlot holds one name: the whole name, not a label, so one probe that
// finds it answers whether that suffix of the looked-up name is an
// indicator. A slot is 64 bytes, one cache line.
type nameSlot struct {
	h     uint64 // suffixHash of the name | usedBit; 0 for an empty slot
	id    int64
	off   uint32 // in the arena, for names longer than inlineMax
	n     uint8
	state uint8
	inl   [inlineMax]byte
}

// nameIndex is a suffix hash table for domain names: each name is keyed by
// a hash computed over its labels from the right (suffixHash), so a lookup
// walking a name's labels from the right has, after each label, the key
// of that suffix at no extra cost, and probes for each suffix on a label
// boundary. The probes do not depend on each other, so the CPU overlaps
// their memory accesses, and a Bloom filter small enough to stay in cache
// skips most suffixes that are not indicators: a name under no indicator
// costs one filter word per label and, rarely, a probe; a name under one
// costs about one probe, whatever its depth.
//
// The table uses linear probing over a power-of-two number of 64-byte
// slots. Hashes are keyed per matcher (see step), so names chosen by a
// feed cannot be crafted to collide. An index is written only while the
// writer builds it; once published it is never written again.
type nameIndex struct {
	seed   hashKey
	slots  []nameSlot
	mask   uint64
	filter filter
	arena  []byte // names longer than inlineMax, back to back
	used   int    // non-empty slots
	live   int    // stateID slots
	marks  int    // stateRemoved slots
	delta  bool   // a delta's removal marks hide base names: rebuilds keep them
}

func newNameIndex(seed hashKey, n int) *nameIndex {
	c := 16
	for c*3/4 < n {
		c *= 2
	}
	return &nameIndex{seed: seed, slots: make([]nameSlot, c), mask: uint64(c - 1), filter: newFilter(n)}
}

// suffixHash is the key of a name: step over its labels from the right.
func suffixHash(seed hashKey, name string) uint64 {
	var h uint64
	for end := len(name); end > 0; {
		i := strings.LastIndexByte(name[:end], '.')
		h = step(seed, h, name[i+1:end])
		end = i
	}
	return h | usedBit
}

// find returns the slot of name, whose suffixHash is h, or nil.
func (x *nameIndex) find(h uint64, name string) *nameSlot {
	if !x.filter.has(h) {
		return nil
	}
	for i := h & x.mask; ; i = (i + 1) & x.mask {
		s := &x.slots[i]
		if s.h == 0 {
			return nil
		}
		if s.h == h && int(s.n) == len(name) && x.nameIs(s, name) {
			return s
		}
	}
}

func (x *nameIndex) nameIs(s *nameSlot, name string) bool {
	if s.n <= inlineMax {
		return string(s.inl[:s.n]) == name
	}
	return string(x.arena[s.off:s.off+uint32(s.n)]) == name
}

// get returns the state and ID of name itself.
func (x *nameIndex) get(name string) (uint8, int64) {
	if x == nil {
		return stateNone, 0
	}
	if s := x.find(suffixHash(x.seed, name), name); s != nil {
		return s.state, s.id
	}
	return stateNone, 0
}

// set gives name the state and ID, adding its slot if absent. Names must
// have passed checkName.
func (x *nameIndex) set(name string, state uint8, id int64) {
	h := suffixHash(x.seed, name)
	if s := x.find(h, name); s != nil {
		x.count(s.state, -1)
		x.count(state, 1)
		s.state, s.id = state, id
		return
	}
	if (x.used+1)*4 > len(x.slots)*3 || !x.filter.fits(x.used+1) {
		x.rebuild(2 * (x.live + x.marks + 1))
	}
	i := h & x.mask
	for x.slots[i].h != 0 {
		i = (i + 1) & x.mask
	}
	s := &x.slots[i]
	*s = nameSlot{h: h, id: id, n: uint8(len(name)), state: state}
	if len(name) <= inlineMax {
		copy(s.inl[:], name)
	} else {
		s.off = uint32(len(x.arena))
		x.arena = append(x.arena, name...)
	}
	x.filter.add(h)
	x.used++
	x.count(state, 1)
}

// remove marks name's slot removed; the next rebuild drops it.
func (x *nameIndex) remove(name string) {
	if s := x.find(suffixHash(x.seed, name), name); s != nil && s.state == stateID {
		s.state, s.id = stateRemoved, 0
		x.live--
		x.marks++
	}
}

func (x *nameIndex) count(state uint8, d int) {
	switch state {
	case stateID:
		x.live += d
	case stateRemoved:
		x.marks += d
	}
}

// rebuild re-inserts the live names (and a delta's removal marks) into a
// table and filter sized for n, dropping a base's removed slots and the
// arena bytes only they used. Slots move by their stored hash: nothing is
// rehashed.
func (x *nameIndex) rebuild(n int) {
	old, oldArena, isDelta := x.slots, x.arena, x.delta
	*x = *newNameIndex(x.seed, max(n, x.live+x.marks))
	x.delta = isDelta
	for i := range old {
		s := &old[i]
		if s.state != stateID && !(isDelta && s.state == stateRemoved) {
			continue
		}
		j := s.h & x.mask
		for x.slots[j].h != 0 {
			j = (j + 1) & x.mask
		}
		x.slots[j] = *s
		if s.n > inlineMax {
			x.slots[j].off = uint32(len(x.arena))
			x.arena = append(x.arena, oldArena[s.off:s.off+uint32(s.n)]...)
		}
		x.filter.add(s.h)
		x.used++
		x.count(s.state, 1)
	}
}

// clone returns a private copy for the writer to change. The arena is
// shared with its capacity clipped, so the copy's first append moves it.
func (x *nameIndex) clone() *nameIndex {
	c := *x
	c.slots = slices.Clone(x.slots)
	c.filter = x.filter.clone()
	c.arena = slices.Clip(x.arena)
	return &c
}

func (x *nameIndex) size() int {
	if x == nil {
		return 0
	}
	return x.live
}

// names is the published name table: an immutable base and an immutable,
// small delta of changes since the base was built (names added and names
// removed from the base). Either may be nil. Both use the same seed, so a
// lookup hashes each suffix once for both.
type names struct {
	seed  hashKey
	base  *nameIndex
	delta *nameIndex
	count int // names matched
}

// lookup returns the ID of the most specific domain indicator covering
// name: the name itself or a parent domain on a label boundary. It walks
// the labels from the right with string slicing, extending the suffix key
// by each label, and probes each suffix, keeping the last (longest) match.
// It does not allocate. The loop is written out by hand (label search,
// hashing of short labels and the base probe inline) because a lookup
// that hits waits for one access to main memory, and the fewer
// instructions it runs, the more of the next lookups' accesses the CPU
// can start while it waits.
func (t *names) lookup(name string) (int64, bool) {
	base, delta := t.base, t.delta
	if base == nil {
		if delta == nil {
			return 0, false
		}
		base, delta = delta, nil // a delta without a base holds no removal marks
	}
	if n := len(name); n > 0 && name[n-1] == '.' {
		name = name[:n-1]
	}
	k := t.seed
	var h uint64
	var id int64
	found := false
	for end := len(name); end > 0; {
		i := lastDot(name[:end])
		label := name[i+1 : end]
		n := len(label)
		switch {
		case n == 0:
			return id, found // no indicator has an empty label, so no longer suffix matches
		case n > 8:
			h = stepLong(k, h, label)
		default: // step, written out: keep the two alike
			var w uint64
			if n >= 4 {
				w = uint64(le32(label)) | uint64(le32(label[n-4:]))<<32
			} else {
				w = uint64(label[0]) | uint64(label[n/2])<<8 | uint64(label[n-1])<<16
			}
			h = mum(w^k.k0, h^k.k1^uint64(n)<<56)
		}
		key, suffix := h|usedBit, name[i+1:]
		end = i
		if delta != nil {
			if s := delta.find(key, suffix); s != nil {
				if s.state == stateID {
					id, found = s.id, true
				}
				continue // the delta's word (added or removed) overrides the base's
			}
		}
		if !base.filter.has(key) {
			continue
		}
		for j := key & base.mask; ; j = (j + 1) & base.mask {
			s := &base.slots[j]
			if s.h == key && int(s.n) == len(suffix) && base.nameIs(s, suffix) {
				if s.state == stateID {
					id, found = s.id, true
				}
				break
			}
			if s.h == 0 {
				break
			}
		}
	}
	return id, found
}

// nameWriter is the writer's side of the name table.
type nameWriter struct {
	seed hashKey
}

type nameOp struct {
	name   string
	id     int64
	remove bool
}

// mergeLimit is how many changes a delta holds before it is folded into
// its base: at least mergeAt, and 1/64 of the base so that a large table
// is copied at most once per n/64 changes.
func mergeLimit(mergeAt, n int) int { return max(mergeAt, n/64) }

// apply returns the table after ops, leaving cur untouched. A batch that
// fits in the delta costs a copy of the delta plus, per change, a probe
// of the delta and the base (to keep the count); one that does not folds
// the delta and the batch into a copy of the base (cost: a copy of its
// slots and filter), so the delta stays small.
func (w *nameWriter) apply(cur names, ops []nameOp, mergeAt int) names {
	inDelta := 0
	if cur.delta != nil {
		inDelta = cur.delta.used
	}
	if inDelta+len(ops) > mergeLimit(mergeAt, cur.base.size()) {
		var nb *nameIndex
		if cur.base == nil {
			nb = newNameIndex(w.seed, inDelta+len(ops))
		} else {
			nb = cur.base.clone()
		}
		if cur.delta != nil {
			for i := range cur.delta.slots {
				s := &cur.delta.slots[i]
				switch s.state {
				case stateID:
					nb.set(cur.delta.nameOf(s), stateID, s.id)
				case stateRemoved:
					nb.remove(cur.delta.nameOf(s))
				}
			}
		}
		for _, op := range ops {
			if op.remove {
				nb.remove(op.name)
			} else {
				nb.set(op.name, stateID, op.id)
			}
		}
		if nb.used > 4096 && nb.used > 2*nb.live {
			nb.rebuild(nb.live)
		}
		return names{seed: w.seed, base: nb, count: nb.live}
	}
	var d *nameIndex
	if cur.delta == nil {
		d = newNameIndex(w.seed, 2*len(ops))
		d.delta = true
	} else {
		d = cur.delta.clone()
	}
	count := cur.count
	for _, op := range ops {
		// The name's state before the change: the delta's word, else the
		// base's. A removal is always marked (harmless for a name the base
		// lacks: the merge's removal finds nothing).
		was, _ := d.get(op.name)
		if was == stateNone && hasName(cur.base, op.name) {
			was = stateID
		}
		if was == stateID {
			count--
		}
		if op.remove {
			d.set(op.name, stateRemoved, 0)
		} else {
			d.set(op.name, stateID, op.id)
			count++
		}
	}
	return names{seed: w.seed, base: cur.base, delta: d, count: count}
}

// nameOf returns the name in slot s.
func (x *nameIndex) nameOf(s *nameSlot) string {
	if s.n <= inlineMax {
		return string(s.inl[:s.n])
	}
	return string(x.arena[s.off : s.off+uint32(s.n)])
}

func hasName(x *nameIndex, name string) bool {
	st, _ := x.get(name)
	return st == stateID
}
