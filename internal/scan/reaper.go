package scan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/rampart-cert/rampart/internal/queue"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
	"github.com/rampart-cert/rampart/internal/store"
)

// The reaper's defaults.
const (
	// DefaultRequeueAfter is how long a job may stay queued with no
	// publish message in the outbox before the reaper looks at it. The
	// relay publishes within a second; the margin covers a slow relay
	// and clocks.
	DefaultRequeueAfter = 10 * time.Minute
	// DefaultFailAfter is the age at which a queued job that nothing
	// hands to a worker is failed with a reason instead: by then the
	// scheduler has planned a newer scan of its asset.
	DefaultFailAfter = 24 * time.Hour
	// DefaultReapEvery is how often the reaper runs after its first run
	// at start.
	DefaultReapEvery = 5 * time.Minute
	// DefaultReapBatch caps the jobs one run looks at.
	DefaultReapBatch = 1000
)

// ReaperConfig configures a reaper; zero values take the defaults above.
type ReaperConfig struct {
	RequeueAfter time.Duration // DefaultRequeueAfter
	FailAfter    time.Duration // DefaultFailAfter; negative: never fail, only requeue
	Every        time.Duration // DefaultReapEvery
	Batch        int           // DefaultReapBatch
	Logger       *slog.Logger
	Now          func() time.Time
	// Wake, when set, is called after a run requeued jobs, to wake the
	// outbox relay that publishes them (events.Relay.Notify).
	Wake func()
}

// Reaper repairs scan jobs stuck in queued (reliability review F3): jobs
// stored before jobs went through the outbox, and jobs whose publish
// message left the outbox and then the queue without the job running (a
// wiped or restored NATS store). At start and every Every it lists the
// jobs queued for longer than RequeueAfter with no publish message in the
// outbox, and for each one
//
//   - older than FailAfter: fails it, with the reason as its error, which
//     the scans page shows;
//   - otherwise, when the queue holds no message that may be it (nothing
//     on its jobs subject, rampart.jobs.<region>.<type>, and no result of
//     its type waiting for the ingester): writes its publish message to
//     the outbox again, with the job's own message ID, and wakes the
//     relay. The store checks in the same transaction that the job is
//     still queued and has no message there, so a job is never queued
//     twice by two reapers; a job that may still be in the queue is left
//     alone (the reaper would rather wait than run a scan twice).
//
// A queue that does not answer leaves every job as it is until the next
// run. Each requeue and failure is logged and counted (Stats, Collectors).
type Reaper struct {
	st  store.StaleJobs
	q   queue.Queue
	cfg ReaperConfig

	requeued, failed, runs, errs atomic.Int64
	waiting                      atomic.Int64 // stale jobs left in the queue at the last run
}

// ReaperStats are the reaper's counters since it was created.
type ReaperStats struct {
	Runs     int64 // runs done
	Errors   int64 // runs that failed (database or queue down)
	Requeued int64 // jobs whose publish message was written again
	Failed   int64 // jobs failed for being too old
	Waiting  int64 // at the last run: stale queued jobs that may still be in the queue
}

// ReapResult is what one run did.
type ReapResult struct {
	Requeued []string // job IDs requeued
	Failed   []string // job IDs failed
	Waiting  int      // stale jobs left alone because the queue may hold them
}

// NewReaper returns a reaper of the jobs in st; q is the queue the relay
// publishes on.
func NewReaper(st store.StaleJobs, q queue.Queue, cfg ReaperConfig) *Reaper {
	if cfg.RequeueAfter <= 0 {
		cfg.RequeueAfter = DefaultRequeueAfter
	}
	if cfg.FailAfter == 0 {
		cfg.FailAfter = DefaultFailAfter
	}
	if cfg.FailAfter > 0 && cfg.FailAfter < cfg.RequeueAfter {
		cfg.FailAfter = cfg.RequeueAfter
	}
	if cfg.Every <= 0 {
		cfg.Every = DefaultReapEvery
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultReapBatch
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Reaper{st: st, q: q, cfg: cfg}
}

// Stats returns the reaper's counters.
func (r *Reaper) Stats() ReaperStats {
	return ReaperStats{Runs: r.runs.Load(), Errors: r.errs.Load(), Requeued: r.requeued.Load(), Failed: r.failed.Load(), Waiting: r.waiting.Load()}
}

// Run reaps at once, then every Every, until ctx ends.
func (r *Reaper) Run(ctx context.Context) {
	r.cfg.Logger.Info("scan: reaper of stale queued jobs", "requeue_after", r.cfg.RequeueAfter.String(), "fail_after", r.cfg.FailAfter.String(), "every", r.cfg.Every.String())
	t := time.NewTicker(r.cfg.Every)
	defer t.Stop()
	for {
		if _, err := r.Once(ctx); err != nil && ctx.Err() == nil {
			r.cfg.Logger.Warn("scan: reaper run failed; next run will try again", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Once runs the reaper once. On an error it returns what it did so far.
func (r *Reaper) Once(ctx context.Context) (ReapResult, error) {
	var res ReapResult
	r.runs.Add(1)
	err := r.once(ctx, &res)
	if err != nil {
		r.errs.Add(1)
	}
	r.waiting.Store(int64(res.Waiting))
	if len(res.Requeued) > 0 && r.cfg.Wake != nil {
		r.cfg.Wake()
	}
	return res, err
}

func (r *Reaper) once(ctx context.Context, res *ReapResult) error {
	now := r.cfg.Now().UTC()
	jobs, err := r.st.StaleQueuedJobs(ctx, now.Add(-r.cfg.RequeueAfter), r.cfg.Batch)
	if err != nil {
		return fmt.Errorf("scan: reaper: %w", err)
	}
	held := map[string]bool{} // subject → the queue holds messages there
	var queueErr error
	for _, j := range jobs {
		age := now.Sub(j.CreatedAt)
		if r.cfg.FailAfter > 0 && age >= r.cfg.FailAfter {
			if err := r.fail(ctx, j, age, res, NeverTakenReason(r.cfg.FailAfter)); err != nil {
				return err
			}
			continue
		}
		if queueErr != nil {
			res.Waiting++
			continue
		}
		inQueue, err := r.maybeInQueue(ctx, j, held)
		if err != nil {
			// Without the queue nothing can be told; the next run will.
			queueErr = err
			res.Waiting++
			continue
		}
		if inQueue {
			res.Waiting++
			continue
		}
		done, err := r.st.RequeueScanJob(ctx, j.ID, Dispatch)
		if errors.Is(err, scanjob.ErrInvalidJob) {
			// Its region or type cannot be a subject (a job of an older
			// version): it can never be published.
			if err := r.fail(ctx, j, age, res, "cannot be handed to a worker: "+err.Error()); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("scan: reaper: requeue job %s: %w", j.ID, err)
		}
		if done {
			r.requeued.Add(1)
			res.Requeued = append(res.Requeued, j.ID)
			r.cfg.Logger.Warn("scan: stale queued job handed to the workers again", "job", j.ID, "region", j.Region, "type", j.Type,
				"queued_for", age.Round(time.Second).String())
		}
	}
	if queueErr != nil {
		return fmt.Errorf("scan: reaper: queue: %w", queueErr)
	}
	return nil
}

func (r *Reaper) fail(ctx context.Context, j store.ScanJob, age time.Duration, res *ReapResult, reason string) error {
	done, err := r.st.FailQueuedJob(ctx, j.ID, reason)
	if err != nil {
		return fmt.Errorf("scan: reaper: fail job %s: %w", j.ID, err)
	}
	if done {
		r.failed.Add(1)
		res.Failed = append(res.Failed, j.ID)
		r.cfg.Logger.Warn("scan: stale queued job failed", "job", j.ID, "region", j.Region, "type", j.Type,
			"queued_for", age.Round(time.Second).String(), "reason", reason)
	}
	return nil
}

// maybeInQueue reports whether the queue may still hold job j: a message
// on its jobs subject (waiting for, or held by, a worker) or a result of
// its type waiting for the ingester. A worker acknowledges a job only
// once its result is stored, and the ingester a result only once its job
// is finished; so when both subjects are empty, one after the other, the
// job is either finished by now (RequeueScanJob then leaves it) or in
// neither stream. held caches the answers of one run.
func (r *Reaper) maybeInQueue(ctx context.Context, j store.ScanJob, held map[string]bool) (bool, error) {
	for _, sub := range []struct{ stream, subject string }{
		{queue.StreamJobs, scanjob.JobSubject(j.Region, j.Type)},
		{queue.StreamResults, scanjob.ResultSubject(j.Type)},
	} {
		h, ok := held[sub.subject]
		if !ok {
			n, err := r.q.Pending(ctx, sub.stream, sub.subject)
			if err != nil {
				return false, err
			}
			h = n > 0
			held[sub.subject] = h
		}
		if h {
			return true, nil
		}
	}
	return false, nil
}

// NeverTakenReason is the error of a job the reaper failed because no
// worker took it within after, in Vietnamese and English (the scans page
// shows a job's error as stored).
func NeverTakenReason(after time.Duration) string {
	d := shortDuration(after)
	return fmt.Sprintf("Không worker nào nhận việc trong %s; hệ thống đã hủy / no worker took the job within %s; failed by the reaper", d, d)
}

// shortDuration writes whole hours as "24h" and other durations rounded to
// the second.
func shortDuration(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d >= time.Minute && d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.Round(time.Second).String()
}
