package match

import "maps"

// exact is a published exact-match set: an immutable base map and an
// immutable small delta of changes since the base (added keys and removal
// marks for keys of the base). Either may be nil.
type exact[K comparable] struct {
	base  map[K]int64
	delta map[K]pend
	count int
}

func (t *exact[K]) lookup(k K) (int64, bool) {
	if len(t.delta) > 0 {
		if p, ok := t.delta[k]; ok {
			return p.id, p.state == stateID
		}
	}
	id, ok := t.base[k]
	return id, ok
}

type exactOp[K comparable] struct {
	key    K
	id     int64
	remove bool
}

// applyExact returns the set after ops, leaving cur untouched. A batch
// that fits in the delta costs a copy of the delta map plus the batch; one
// that does not folds the delta and the batch into a clone of the base
// map (cost: the base's size).
func applyExact[K comparable](cur exact[K], ops []exactOp[K], mergeAt int) exact[K] {
	if len(cur.delta)+len(ops) > mergeLimit(mergeAt, len(cur.base)) {
		nb := maps.Clone(cur.base)
		if nb == nil {
			nb = make(map[K]int64, len(cur.delta)+len(ops))
		}
		for k, p := range cur.delta {
			if p.state == stateID {
				nb[k] = p.id
			} else {
				delete(nb, k)
			}
		}
		for _, op := range ops {
			if op.remove {
				delete(nb, op.key)
			} else {
				nb[op.key] = op.id
			}
		}
		return exact[K]{base: nb, count: len(nb)}
	}
	d := maps.Clone(cur.delta)
	if d == nil {
		d = make(map[K]pend, len(ops))
	}
	count := cur.count
	for _, op := range ops {
		p, inDelta := d[op.key]
		was := inDelta && p.state == stateID
		if !inDelta {
			_, was = cur.base[op.key]
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
	return exact[K]{base: cur.base, delta: d, count: count}
}
