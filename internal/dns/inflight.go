package dns

import "sync"

// inflight joins concurrent cache misses for the same question into one
// upstream query.
type inflight struct {
	mu sync.Mutex
	m  map[string]*call
}

type call struct {
	done chan struct{}
	e    *cacheEntry
}

// join returns the call for key and whether the caller leads it (and
// must finish it with done).
func (f *inflight) join(key string) (*call, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.m[key]; c != nil {
		return c, false
	}
	if f.m == nil {
		f.m = map[string]*call{}
	}
	c := &call{done: make(chan struct{})}
	f.m[key] = c
	return c, true
}

func (f *inflight) done(key string, c *call, e *cacheEntry) {
	c.e = e
	f.mu.Lock()
	delete(f.m, key)
	f.mu.Unlock()
	close(c.done)
}
