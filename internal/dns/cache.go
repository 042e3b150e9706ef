package dns

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// cacheEntry is one cached reply in wire form: ID 0, no OPT record, the
// question as first asked (a hit writes the asker's question over it). It
// is immutable once stored; ttlAt are the offsets of the TTL fields, whose
// stored values are the TTLs at storedAt.
type cacheEntry struct {
	key      string
	msg      []byte
	ttlAt    []uint16
	storedAt int64 // unix nanoseconds
	expires  int64
	slot     int      // index in the shard's ring
	chain    []string // CNAME targets of the answer, checked against the policy on every answer
	ref      atomic.Bool
}

// cache is a sharded map of replies, each shard bounded and evicting with
// the CLOCK algorithm (an entry read since the hand last passed gets a
// second chance), so hits take only a read lock and no list moves.
type cache struct {
	seed   maphash.Seed
	shards []cacheShard
	mask   uint64
	n      atomic.Int64
}

type cacheShard struct {
	mu   sync.RWMutex
	m    map[string]*cacheEntry
	ring []*cacheEntry
	hand int
	max  int
	_    [40]byte // keep shards' locks on separate cache lines
}

const cacheShards = 64

func newCache(size int) *cache {
	if size <= 0 {
		return nil
	}
	n := cacheShards
	for n > 1 && size/n < 16 {
		n /= 2
	}
	c := &cache{seed: maphash.MakeSeed(), shards: make([]cacheShard, n), mask: uint64(n - 1)}
	per := max(size/n, 1) // the bound holds: never more than size in all
	for i := range c.shards {
		c.shards[i].m = make(map[string]*cacheEntry)
		c.shards[i].max = per
	}
	return c
}

func (c *cache) shard(key []byte) *cacheShard {
	return &c.shards[maphash.Bytes(c.seed, key)&c.mask]
}

// get returns the live entry of key, nil when there is none or it expired.
func (c *cache) get(key []byte, now int64) *cacheEntry {
	sh := c.shard(key)
	sh.mu.RLock()
	e := sh.m[string(key)]
	sh.mu.RUnlock()
	if e == nil || now >= e.expires {
		return nil
	}
	if !e.ref.Load() {
		e.ref.Store(true)
	}
	return e
}

// put stores e under e.key, replacing what was there.
func (c *cache) put(e *cacheEntry) {
	sh := c.shard([]byte(e.key))
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if old := sh.m[e.key]; old != nil {
		e.slot = old.slot
		sh.ring[e.slot] = e
		sh.m[e.key] = e
		return
	}
	if len(sh.ring) < sh.max {
		e.slot = len(sh.ring)
		sh.ring = append(sh.ring, e)
		sh.m[e.key] = e
		c.n.Add(1)
		return
	}
	for {
		v := sh.ring[sh.hand]
		if v.ref.Load() && v.expires > e.storedAt {
			v.ref.Store(false)
			sh.hand = (sh.hand + 1) % len(sh.ring)
			continue
		}
		delete(sh.m, v.key)
		e.slot = sh.hand
		sh.ring[sh.hand] = e
		sh.m[e.key] = e
		sh.hand = (sh.hand + 1) % len(sh.ring)
		return
	}
}

func (c *cache) len() int {
	if c == nil {
		return 0
	}
	return int(c.n.Load())
}
