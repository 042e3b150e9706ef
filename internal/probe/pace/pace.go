// Package pace holds what the scanners pace themselves with: a token
// bucket for probe rates and the round-trip estimator of RFC 6298 from
// which probe timeouts are derived. Both are used from one goroutine, or
// under their owner's lock, and take no lock themselves.
package pace

import (
	"math"
	"time"
)

// Bucket is a token bucket. A zero rate means unlimited.
type Bucket struct {
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
}

// NewBucket returns a full bucket of perSecond tokens a second holding at
// most burst (at least one).
func NewBucket(perSecond int, burst float64, now time.Time) Bucket {
	burst = math.Max(1, burst)
	return Bucket{rate: float64(perSecond), burst: burst, tokens: burst, last: now}
}

func (b *Bucket) refill(now time.Time) {
	if el := now.Sub(b.last); el > 0 {
		b.tokens = math.Min(b.burst, b.tokens+el.Seconds()*b.rate)
		b.last = now
	}
}

// Allow takes a token if one is there; otherwise it reports how long until
// one will be.
func (b *Bucket) Allow(now time.Time) (bool, time.Duration) {
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

// Reserve takes a token now or in the future and says how long to wait
// before using it; waiting callers queue behind each other.
func (b *Bucket) Reserve(now time.Time) time.Duration {
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

// Refund gives back a token taken for a probe that was not sent.
func (b *Bucket) Refund() { b.tokens++ }

// RTT is the smoothed round-trip time and its variance of RFC 6298
// section 2.
type RTT struct {
	srtt, rttvar time.Duration
	samples      int
}

// Sample adds one measured round trip.
func (e *RTT) Sample(r time.Duration) {
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

// Samples is how many round trips were measured.
func (e *RTT) Samples() int { return e.samples }

// Timeout is max(lo, SRTT+4·RTTVAR) capped at hi, or hi before any sample.
func (e *RTT) Timeout(lo, hi time.Duration) time.Duration {
	if e.samples == 0 {
		return hi
	}
	return min(hi, max(lo, e.srtt+4*e.rttvar))
}
