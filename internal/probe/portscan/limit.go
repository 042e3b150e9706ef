package portscan

import (
	"time"

	"github.com/rampart-cert/rampart/internal/probe/pace"
)

// The scanner paces itself with a token bucket (used from its one
// goroutine, no lock) and derives probe timeouts from RFC 6298's estimator.
type (
	bucket       = pace.Bucket
	rttEstimator = pace.RTT
)

func newBucket(perSecond int, burst float64, now time.Time) bucket {
	return pace.NewBucket(perSecond, burst, now)
}
