package udpscan

// The scan loop's small machinery: queues ordered by time, the pacing
// types of internal/probe/pace.

import (
	"time"

	"github.com/rampart-cert/rampart/internal/probe/pace"
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

// The loop paces itself with token buckets and sets waits from RFC 6298's
// estimator.
type (
	bucket       = pace.Bucket
	rttEstimator = pace.RTT
)

func newBucket(perSecond int, burst float64, now time.Time) bucket {
	return pace.NewBucket(perSecond, burst, now)
}
