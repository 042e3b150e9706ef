package dns

import (
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"
)

// QueryLogEntry is one sampled query.
type QueryLogEntry struct {
	At       time.Time     `json:"at"`
	Client   netip.Addr    `json:"client"`
	Name     string        `json:"name"`
	Type     string        `json:"type"`
	Rcode    string        `json:"rcode"`
	Blocked  bool          `json:"blocked,omitempty"`
	List     string        `json:"list,omitempty"`
	Cached   bool          `json:"cached,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// queryLog keeps the last N sampled queries in a ring.
type queryLog struct {
	rate float64
	mu   sync.Mutex
	ring []QueryLogEntry
	next int
	full bool
}

func newQueryLog(rate float64, size int) *queryLog {
	return &queryLog{rate: rate, ring: make([]QueryLogEntry, size)}
}

// sample decides whether this query is logged: cheap enough to call for
// every query.
func (q *queryLog) sample() bool {
	return q.rate > 0 && (q.rate >= 1 || rand.Float64() < q.rate)
}

func (q *queryLog) add(e QueryLogEntry) {
	q.mu.Lock()
	q.ring[q.next] = e
	q.next++
	if q.next == len(q.ring) {
		q.next, q.full = 0, true
	}
	q.mu.Unlock()
}

// entries returns the kept queries, oldest first.
func (q *queryLog) entries() []QueryLogEntry {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.full {
		return append([]QueryLogEntry(nil), q.ring[:q.next]...)
	}
	out := make([]QueryLogEntry, 0, len(q.ring))
	out = append(out, q.ring[q.next:]...)
	return append(out, q.ring[:q.next]...)
}

// RecentQueries returns the sampled queries kept in the ring, oldest
// first (at most Config.QueryLogSize; none when QueryLogSample is 0). The
// entries carry client addresses: whoever shows them to a member filters
// them to that member's networks.
func (s *Server) RecentQueries() []QueryLogEntry {
	if s.qlog == nil {
		return nil
	}
	return s.qlog.entries()
}
