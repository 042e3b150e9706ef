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

// exactWriter is the writer's side of an exact set: the changes since the
// base, copied into a fresh delta map on every batch.
type exactWriter[K comparable] struct {
	pending map[K]pend
}

type exactOp[K comparable] struct {
	key    K
	id     int64
	remove bool
}

// apply returns the set after ops. A small batch costs a copy of the delta
// plus the batch; past mergeAt pending changes the delta is folded into a
// copy of the base map (cost: the base's size).
func (w *exactWriter[K]) apply(cur exact[K], ops []exactOp[K], mergeAt int) exact[K] {
	if w.pending == nil {
		w.pending = make(map[K]pend)
	}
	if len(w.pending)+len(ops) > mergeAt {
		nb := maps.Clone(cur.base)
		if nb == nil {
			nb = make(map[K]int64, len(ops))
		}
		for k, p := range w.pending {
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
		clear(w.pending)
		return exact[K]{base: nb, count: len(nb)}
	}
	for _, op := range ops {
		_, inBase := cur.base[op.key]
		switch {
		case !op.remove:
			w.pending[op.key] = pend{stateID, op.id}
		case inBase:
			w.pending[op.key] = pend{state: stateRemoved}
		default:
			delete(w.pending, op.key)
		}
	}
	n := len(cur.base)
	for k, p := range w.pending {
		_, inBase := cur.base[k]
		if p.state == stateRemoved {
			n--
		} else if !inBase {
			n++
		}
	}
	var d map[K]pend
	if len(w.pending) > 0 {
		d = maps.Clone(w.pending)
	}
	return exact[K]{base: cur.base, delta: d, count: n}
}
