package udpscan

// The scan loop's small machinery: queues ordered by time, the token
// bucket that paces sending and the round-trip estimator that sets waits.

import (
	"math"
	"time"
)

type jobHeap []job

func (h jobHeap) Len() int           { return len(h) }
func (h jobHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h jobHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *jobHeap) Push(x any)        { *h = append(*h, x.(job)) }
func (h *jobHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

type deadline struct {
	at      time.Time
	p       *pending
	attempt int
}

type deadlineHeap []deadline

func (h deadlineHeap) Len() int           { return len(h) }
func (h deadlineHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h deadlineHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *deadlineHeap) Push(x any)        { *h = append(*h, x.(deadline)) }
func (h *deadlineHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// bucket is a token bucket used from the loop only; zero rate is
// unlimited.
type bucket struct {
	rate, burst, tokens float64
	last                time.Time
}

func newBucket(perSecond int, burst float64, now time.Time) bucket {
	return bucket{rate: float64(perSecond), burst: burst, tokens: burst, last: now}
}

func (b *bucket) refill(now time.Time) {
	if el := now.Sub(b.last); el > 0 {
		b.tokens = math.Min(b.burst, b.tokens+el.Seconds()*b.rate)
		b.last = now
	}
}

func (b *bucket) allow(now time.Time) (bool, time.Duration) {
	if b.rate <= 0 {
		return true, 0
	}
	b.refill(now)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}

func (b *bucket) reserve(now time.Time) time.Duration {
	if b.rate <= 0 {
		return 0
	}
	b.refill(now)
	b.tokens--
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.rate * float64(time.Second))
}

// rttEstimator is RFC 6298's smoothed round-trip time and variance.
type rttEstimator struct {
	srtt, rttvar time.Duration
	samples      int
}

func (e *rttEstimator) sample(r time.Duration) {
	r = max(r, time.Microsecond)
	if e.samples == 0 {
		e.srtt, e.rttvar = r, r/2
	} else {
		d := e.srtt - r
		if d < 0 {
			d = -d
		}
		e.rttvar = (3*e.rttvar + d) / 4
		e.srtt = (7*e.srtt + r) / 8
	}
	e.samples++
}

func (e *rttEstimator) timeout(lo, hi time.Duration) time.Duration {
	if e.samples == 0 {
		return hi
	}
	return min(hi, max(lo, e.srtt+4*e.rttvar))
}
