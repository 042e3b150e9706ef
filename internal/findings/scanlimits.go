package findings

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/scan"
	"github.com/rampart-cert/rampart/internal/store"
)

// Limits on people's scan requests (security review F11).
var (
	// ErrBlackout: the organization's blackout window forbids starting a
	// scan now; manual and verification scans respect it as scheduled
	// ones do.
	ErrBlackout = errors.New("findings: the organization's scan blackout window is in force")
	// ErrQuota: the organization asked for more manual scans this hour
	// than its quota.
	ErrQuota = errors.New("findings: manual scan quota of the organization used up for this hour")
)

// DefaultManualJobsPerHour is each organization's hourly quota of manual
// and verification scan jobs: enough to rescan a large ministry at once,
// not enough to keep the scanners busy for everybody else.
const DefaultManualJobsPerHour = 2000

// quotas is a token bucket of manual jobs per organization, refilled
// continuously. It lives in the process: several serving processes each
// allow the quota.
type quotas struct {
	mu      sync.Mutex
	perHour float64
	buckets map[int64]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// take removes n tokens from org's bucket at now, or none and false.
func (q *quotas) take(org int64, n int, now time.Time) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	b, ok := q.buckets[org]
	if !ok {
		b = &bucket{tokens: q.perHour, at: now}
		q.buckets[org] = b
	}
	b.tokens = min(q.perHour, b.tokens+now.Sub(b.at).Hours()*q.perHour)
	b.at = now
	if float64(n) > b.tokens {
		return false
	}
	b.tokens -= float64(n)
	return true
}

// inBlackout refuses a job of an organization whose blackout window is in
// force now.
func (s *Service) inBlackout(pol store.ScanPolicy) error {
	if scan.InBlackout(pol.Blackouts, s.d.Now()) {
		return fmt.Errorf("%w: no scan of this organization starts before the window ends", ErrBlackout)
	}
	return nil
}

// activeJobs returns the queued or running job of each asset among ids, so
// a second request returns the job already waiting instead of scanning the
// asset twice.
func (s *Service) activeJobs(ctx context.Context, f store.JobFilter, ids map[int64]bool) (map[int64]store.ScanJob, error) {
	lister, ok := s.d.Store.(interface {
		ListScanJobs(ctx context.Context, p auth.Principal, f store.JobFilter) (store.Page[store.ScanJob], error)
	})
	out := map[int64]store.ScanJob{}
	if !ok {
		return out, nil
	}
	for _, st := range []store.JobState{store.JobQueued, store.JobRunning} {
		f := f
		f.State, f.PageRequest = st, store.PageRequest{Limit: store.MaxLimit}
		for {
			page, err := lister.ListScanJobs(ctx, auth.SystemPrincipal, f)
			if err != nil {
				return nil, err
			}
			for _, j := range page.Items {
				if ids[j.AssetID] {
					out[j.AssetID] = j
				}
			}
			if page.Next == "" {
				break
			}
			f.After = page.Next
		}
	}
	return out, nil
}
