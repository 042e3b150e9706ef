// Package scan defines the jobs that flow from the scheduler to workers and
// the results that flow back, and runs the worker side: a durable JetStream
// consumer per region that dispatches each job to the handler registered
// for its type.
//
// Subjects: a job of type T for region R is published on
// rampart.jobs.R.T; its result on rampart.results.T. Both carry the job ID
// as the message ID, so a republished job or result is stored once, and the
// ingester's upserts make a redelivered result change nothing.
package scan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/queue"
)

// Sentinel errors.
var (
	ErrInvalidJob  = errors.New("scan: invalid job")
	ErrUnknownType = errors.New("scan: no handler for job type")
)

// Job is one unit of work for a worker.
type Job struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`   // e.g. "ping", "portscan"
	Region    string          `json:"region"` // vantage point that must run it
	OrgID     int64           `json:"org_id,omitempty"`
	AssetID   int64           `json:"asset_id,omitempty"`
	Target    string          `json:"target,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
}

// Result is what a worker sends back for a job.
type Result struct {
	JobID    string          `json:"job_id"`
	Type     string          `json:"type"`
	Region   string          `json:"region"`
	Worker   string          `json:"worker"`
	Started  time.Time       `json:"started"`
	Finished time.Time       `json:"finished"`
	Error    string          `json:"error,omitempty"` // the job ran and failed for good
	Data     json.RawMessage `json:"data,omitempty"`
}

var tokenRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// Validate checks the fields that become subject tokens.
func (j Job) Validate() error {
	switch {
	case j.ID == "" || len(j.ID) > 128:
		return fmt.Errorf("%w: id must be 1-128 bytes", ErrInvalidJob)
	case !tokenRE.MatchString(j.Type):
		return fmt.Errorf("%w: type %q", ErrInvalidJob, j.Type)
	case !tokenRE.MatchString(j.Region):
		return fmt.Errorf("%w: region %q", ErrInvalidJob, j.Region)
	}
	return nil
}

// JobSubject is where a job of this type for this region is published.
func JobSubject(region, typ string) string { return queue.SubjectJobs + "." + region + "." + typ }

// ResultSubject is where results of this job type are published.
func ResultSubject(typ string) string { return queue.SubjectResults + "." + typ }

// Publish sends a job to its region's workers.
func Publish(ctx context.Context, q queue.Queue, j Job) error {
	if j.CreatedAt.IsZero() {
		j.CreatedAt = time.Now().UTC()
	}
	if err := j.Validate(); err != nil {
		return err
	}
	data, err := json.Marshal(j)
	if err != nil {
		return err
	}
	return q.Publish(ctx, JobSubject(j.Region, j.Type), data, "job-"+j.ID, nil)
}

// Handler runs one job and returns the result data. A returned error is
// retried by redelivery; wrap it with Permanent to report it as the job's
// final outcome instead.
type Handler func(ctx context.Context, j Job) (json.RawMessage, error)

type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent marks an error that retrying will not fix.
func Permanent(err error) error { return permanent{err} }

// Registry maps job types to handlers. Safe for concurrent use.
type Registry struct {
	mu sync.RWMutex
	h  map[string]Handler
}

// NewRegistry returns a registry with the built-in "ping" job, which
// returns its params: it proves the plumbing end to end.
func NewRegistry() *Registry {
	r := &Registry{h: map[string]Handler{}}
	r.Register("ping", func(ctx context.Context, j Job) (json.RawMessage, error) {
		if len(j.Params) == 0 {
			return json.RawMessage(`{}`), nil
		}
		return j.Params, nil
	})
	return r
}

// Register adds or replaces the handler of a job type.
func (r *Registry) Register(typ string, h Handler) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.h[typ] = h
}

// Types lists the registered job types.
func (r *Registry) Types() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.h))
	for t := range r.h {
		out = append(out, t)
	}
	return out
}

func (r *Registry) get(typ string) (Handler, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	h, ok := r.h[typ]
	return h, ok
}

// WorkerConfig configures a worker.
type WorkerConfig struct {
	Name        string // shown in results, e.g. the host name
	Region      string
	Concurrency int           // jobs at once; default 4
	AckWait     time.Duration // default 60s; long jobs are kept alive by progress acks
	Logger      *slog.Logger
}

// Worker takes the jobs of one region.
type Worker struct {
	q   queue.Queue
	reg *Registry
	cfg WorkerConfig
	c   queue.Consumer
}

// StartWorker registers the region's durable consumer ("worker-<region>",
// shared by every worker of the region) and starts taking jobs.
func StartWorker(ctx context.Context, q queue.Queue, reg *Registry, cfg WorkerConfig) (*Worker, error) {
	if !tokenRE.MatchString(cfg.Region) {
		return nil, fmt.Errorf("scan: region %q must be 1-32 lower-case letters, digits, '-' or '_'", cfg.Region)
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = 60 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	w := &Worker{q: q, reg: reg, cfg: cfg}
	c, err := q.Consume(ctx, queue.ConsumerConfig{
		Stream:        queue.StreamJobs,
		Durable:       "worker-" + cfg.Region,
		FilterSubject: queue.SubjectJobs + "." + cfg.Region + ".>",
		AckWait:       cfg.AckWait,
		MaxDeliver:    10,
		Concurrency:   cfg.Concurrency,
	}, w.handle)
	if err != nil {
		return nil, fmt.Errorf("scan: start worker: %w", err)
	}
	w.c = c
	return w, nil
}

// Stop stops taking jobs and waits for running ones.
func (w *Worker) Stop() { w.c.Stop() }

func (w *Worker) handle(ctx context.Context, m *queue.Message) error {
	var j Job
	if err := json.Unmarshal(m.Data, &j); err != nil || j.Validate() != nil {
		// A malformed job can never succeed: acknowledge it so it does
		// not loop, and say so loudly.
		w.cfg.Logger.Error("scan: dropping malformed job", "subject", m.Subject, "id", m.ID, "err", err)
		return nil
	}
	res := Result{JobID: j.ID, Type: j.Type, Region: w.cfg.Region, Worker: w.cfg.Name, Started: time.Now().UTC()}
	// Say the job is running, and where. Best effort: a lost notice only
	// means the job shows queued until it is done.
	started := res
	started.Type = JobStarted
	if b, err := json.Marshal(started); err == nil {
		_ = w.q.Publish(ctx, ResultSubject(JobStarted), b, fmt.Sprintf("started-%s-%d", j.ID, m.Attempt), nil)
	}
	h, ok := w.reg.get(j.Type)
	if !ok {
		res.Error = fmt.Sprintf("%v: %s", ErrUnknownType, j.Type)
	} else {
		data, err := h(ctx, j)
		var perm permanent
		switch {
		case errors.As(err, &perm):
			res.Error = err.Error()
		case err != nil:
			return fmt.Errorf("scan: job %s: %w", j.ID, err)
		default:
			res.Data = data
		}
	}
	res.Finished = time.Now().UTC()
	out, err := json.Marshal(res)
	if err != nil {
		return err
	}
	// The job is acknowledged only once its result is stored in the
	// results stream; if this publish fails the job comes back.
	return w.q.Publish(ctx, ResultSubject(j.Type), out, "result-"+j.ID, nil)
}

// ConsumeResults runs h for every result of the given job type ("" for all)
// under a durable consumer, for the ingester.
func ConsumeResults(ctx context.Context, q queue.Queue, durable, typ string, h func(context.Context, Result) error) (queue.Consumer, error) {
	filter := queue.SubjectResults + ".>"
	if typ != "" {
		filter = ResultSubject(typ)
	}
	return q.Consume(ctx, queue.ConsumerConfig{Stream: queue.StreamResults, Durable: durable, FilterSubject: filter, Concurrency: 4},
		func(ctx context.Context, m *queue.Message) error {
			var r Result
			if err := json.Unmarshal(m.Data, &r); err != nil {
				return nil // malformed: nothing to store, do not loop
			}
			return h(ctx, r)
		})
}
