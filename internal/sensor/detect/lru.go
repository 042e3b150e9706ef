package detect

// lru is a map with a fixed capacity that forgets the entry touched
// longest ago to make room, so a flood of spoofed sources cannot grow the
// detector's memory. Nodes are reused: a full table allocates nothing for
// a new key.
type lru[K comparable, V any] struct {
	m          map[K]*node[K, V]
	head, tail *node[K, V] // head: touched most recently
	max        int
	evicted    uint64
	// onEvict, if set, sees an entry before it is forgotten to make room.
	onEvict func(k K, v *V)
}

type node[K comparable, V any] struct {
	key        K
	val        V
	prev, next *node[K, V]
}

func newLRU[K comparable, V any](max int) *lru[K, V] {
	return &lru[K, V]{m: make(map[K]*node[K, V]), max: max}
}

// touch returns the entry for k, creating a zero one (evicting the oldest
// when full) if there is none, and marks it most recently used.
func (l *lru[K, V]) touch(k K) (*V, bool) {
	if n, ok := l.m[k]; ok {
		l.front(n)
		return &n.val, false
	}
	var n *node[K, V]
	if len(l.m) >= l.max && l.tail != nil {
		n = l.tail
		if l.onEvict != nil {
			l.onEvict(n.key, &n.val)
		}
		l.unlink(n)
		delete(l.m, n.key)
		l.evicted++
		var zero V
		n.val = zero
	} else {
		n = new(node[K, V])
	}
	n.key = k
	l.m[k] = n
	l.pushFront(n)
	return &n.val, true
}

// each calls fn for every entry, oldest first; fn returning true deletes
// the entry.
func (l *lru[K, V]) each(fn func(k K, v *V) bool) {
	for n := l.tail; n != nil; {
		prev := n.prev
		if fn(n.key, &n.val) {
			l.unlink(n)
			delete(l.m, n.key)
		}
		n = prev
	}
}

func (l *lru[K, V]) len() int { return len(l.m) }

func (l *lru[K, V]) front(n *node[K, V]) {
	if l.head == n {
		return
	}
	l.unlink(n)
	l.pushFront(n)
}

func (l *lru[K, V]) pushFront(n *node[K, V]) {
	n.prev, n.next = nil, l.head
	if l.head != nil {
		l.head.prev = n
	}
	l.head = n
	if l.tail == nil {
		l.tail = n
	}
}

func (l *lru[K, V]) unlink(n *node[K, V]) {
	if n.prev != nil {
		n.prev.next = n.next
	} else {
		l.head = n.next
	}
	if n.next != nil {
		n.next.prev = n.prev
	} else {
		l.tail = n.prev
	}
	n.prev, n.next = nil, nil
}
