// Package worker is the data plane of scanning: it takes the jobs of one
// region from a durable JetStream consumer (shared by every worker of the
// region), dispatches each to the handler registered for its type, and
// publishes the result. PortscanWorker is the handler that scans ports,
// fingerprints services and runs the checks.
//
// A worker needs no database: every probe is checked against the asset
// that travels with the job. It must not import internal/store or a
// database driver; the wire types it shares with the control plane live in
// internal/scan/scanjob.
package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rampart-cert/rampart/internal/queue"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
)

// ErrUnknownType is reported as the result of a job whose type no handler
// takes.
var ErrUnknownType = errors.New("worker: no handler for job type")

// Handler runs one job and returns the result data. A returned error is
// retried by redelivery; wrap it with Permanent to report it as the job's
// final outcome instead.
type Handler func(ctx context.Context, j scanjob.Job) (json.RawMessage, error)

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
	r.Register(scanjob.JobPing, func(ctx context.Context, j scanjob.Job) (json.RawMessage, error) {
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

// Config configures a worker.
type Config struct {
	// Name tells workers apart in jobs, heartbeats and the console
	// (`rampart worker --name`); default the host name.
	Name        string
	Region      string
	Version     string        // shown with its heartbeat
	Concurrency int           // jobs at once; default 4
	AckWait     time.Duration // default 60s; long jobs are kept alive by progress acks
	Logger      *slog.Logger
}

// Worker takes the jobs of one region.
type Worker struct {
	q   queue.Queue
	reg *Registry
	cfg Config
	c   queue.Consumer

	started time.Time
	running atomic.Int64
	done    atomic.Int64
	stopHB  context.CancelFunc
	hbDone  chan struct{}
}

// Start registers the region's durable consumer ("worker-<region>",
// shared by every worker of the region) and starts taking jobs.
func Start(ctx context.Context, q queue.Queue, reg *Registry, cfg Config) (*Worker, error) {
	if !scanjob.ValidToken(cfg.Region) {
		return nil, fmt.Errorf("worker: region %q must be 1-32 lower-case letters, digits, '-' or '_'", cfg.Region)
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
	if cfg.Name == "" {
		cfg.Name, _ = os.Hostname()
	}
	w := &Worker{q: q, reg: reg, cfg: cfg, started: time.Now().UTC(), hbDone: make(chan struct{})}
	c, err := q.Consume(ctx, queue.ConsumerConfig{
		Stream:        queue.StreamJobs,
		Durable:       "worker-" + cfg.Region,
		FilterSubject: scanjob.RegionSubjects(cfg.Region),
		AckWait:       cfg.AckWait,
		MaxDeliver:    10,
		Concurrency:   cfg.Concurrency,
	}, w.counted)
	if err != nil {
		return nil, fmt.Errorf("worker: start: %w", err)
	}
	w.c = c
	hbCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w.stopHB = cancel
	go w.heartbeat(hbCtx, ctx.Done())
	return w, nil
}

// Stop stops taking jobs, waits for running ones and takes the worker off
// the platform's list of live workers.
func (w *Worker) Stop() {
	w.c.Stop()
	w.stopHB()
	<-w.hbDone
}

// counted is handle, counted for the heartbeat.
func (w *Worker) counted(ctx context.Context, m *queue.Message) error {
	w.running.Add(1)
	defer w.running.Add(-1)
	err := w.handle(ctx, m)
	if err == nil {
		w.done.Add(1)
	}
	return err
}

func (w *Worker) handle(ctx context.Context, m *queue.Message) error {
	var j scanjob.Job
	if err := json.Unmarshal(m.Data, &j); err != nil || j.Validate() != nil {
		// A malformed job can never succeed: acknowledge it so it does
		// not loop, and say so loudly.
		w.cfg.Logger.Error("worker: dropping malformed job", "subject", m.Subject, "id", m.ID, "err", err)
		return nil
	}
	res := scanjob.Result{JobID: j.ID, Type: j.Type, Region: w.cfg.Region, Worker: w.cfg.Name, Started: time.Now().UTC()}
	// Say the job is running, and where. Best effort: a lost notice only
	// means the job shows queued until it is done.
	started := res
	started.Type = scanjob.JobStarted
	if b, err := json.Marshal(started); err == nil {
		_ = w.q.Publish(ctx, scanjob.ResultSubject(scanjob.JobStarted), b, fmt.Sprintf("started-%s-%d", j.ID, m.Attempt), nil)
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
			return fmt.Errorf("worker: job %s: %w", j.ID, err)
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
	return w.publishResult(ctx, j, res, out)
}
