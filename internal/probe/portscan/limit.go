package portscan

import (
	"math"
	"time"
)

// bucket is a token bucket. It is used from the scanner's one goroutine and
// needs no lock. A zero rate means unlimited.
type bucket struct {
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(perSecond int, burst float64, now time.Time) bucket {
	burst = math.Max(1, burst)
	return bucket{rate: float64(perSecond), burst: burst, tokens: burst, last: now}
}

func (b *bucket) refill(now time.Time) {
	if el := now.Sub(b.last); el > 0 {
		b.tokens = math.Min(b.burst, b.tokens+el.Seconds()*b.rate)
		b.last = now
	}
}

// allow takes a token if one is there; otherwise it reports how long until
// one will be.
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

// reserve takes a token now or in the future and says how long to wait
// before using it; waiting callers queue behind each other.
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

// rttEstimator is the smoothed round-trip time and its variance of RFC 6298
// section 2, from which the probe timeout is derived.
type rttEstimator struct {
	srtt, rttvar time.Duration
	samples      int
}

func (e *rttEstimator) sample(r time.Duration) {
	if r <= 0 {
		r = time.Microsecond
	}
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

// timeout is max(lo, SRTT+4·RTTVAR) capped at hi, or hi before any sample.
func (e *rttEstimator) timeout(lo, hi time.Duration) time.Duration {
	if e.samples == 0 {
		return hi
	}
	return min(hi, max(lo, e.srtt+4*e.rttvar))
}
