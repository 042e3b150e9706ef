// Package scanjob is the wire between the control plane and the workers:
// the jobs the scheduler publishes, the results workers send back, and the
// payloads of the portscan job. Both sides import it; it knows nothing of
// how a job is run or stored.
//
// Subjects: a job of type T for region R is published on
// rampart.jobs.R.T; its result on rampart.results.T. Both carry the job ID
// as the message ID, so a republished job or result is stored once, and the
// ingester's upserts make a redelivered result change nothing.
//
// It must not import the data plane (internal/worker, internal/engine,
// internal/probe/..., internal/check/...) nor the store: the console and the
// API reach it through internal/scan and must not link the port scanner.
// The name is scanjob, not job, because job is the usual name of a local
// variable holding a store.ScanJob on both sides.
package scanjob

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/queue"
)

// ErrInvalidJob is returned for a job whose fields cannot become subject
// tokens.
var ErrInvalidJob = errors.New("scanjob: invalid job")

// The job types, and the result type a worker sends when it begins a job.
const (
	// JobPortscan scans an asset's ports, fingerprints what answers and
	// runs the checks.
	JobPortscan = "portscan"
	// JobPing returns its params: it proves the plumbing end to end.
	JobPing = "ping"
	// JobStarted is the result type a worker sends when it begins a job,
	// so the platform shows the job running (and where).
	JobStarted = "started"
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
	// Part and Parts number a result sent in several messages because it
	// would not fit in one (a network's portscan): part Part of Parts,
	// 1-based; both 0 for a result in one message. Every part carries the
	// job's Started, Finished and Error, and a self-contained share of
	// Data (see SplitPortscan).
	Part  int `json:"part,omitempty"`
	Parts int `json:"parts,omitempty"`

	// MsgID and Attempt describe the delivery to the ingester; they do
	// not travel.
	MsgID   string `json:"-"`
	Attempt int    `json:"-"`
}

// MaxResultMessage bounds one result message, well under NATS's default
// 1 MiB max_payload: a larger result travels in parts.
const MaxResultMessage = 256 << 10

// ResultMsgID is the message ID of a result, or of one part of it: a
// republished result (or part) is stored once.
func ResultMsgID(jobID string, part, parts int) string {
	if parts <= 1 {
		return "result-" + jobID
	}
	return fmt.Sprintf("result-%s-%dof%d", jobID, part, parts)
}

var tokenRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`) })

// ValidToken reports whether s may be a job type or a region: 1-32
// lower-case letters, digits, '-' or '_', so it is one subject token.
func ValidToken(s string) bool { return tokenRE().MatchString(s) }

// Validate checks the fields that become subject tokens.
func (j Job) Validate() error {
	switch {
	case j.ID == "" || len(j.ID) > 128:
		return fmt.Errorf("%w: id must be 1-128 bytes", ErrInvalidJob)
	case !ValidToken(j.Type):
		return fmt.Errorf("%w: type %q", ErrInvalidJob, j.Type)
	case !ValidToken(j.Region):
		return fmt.Errorf("%w: region %q", ErrInvalidJob, j.Region)
	}
	return nil
}

// JobSubject is where a job of this type for this region is published.
func JobSubject(region, typ string) string { return queue.SubjectJobs + "." + region + "." + typ }

// RegionSubjects is the filter that matches every job of a region.
func RegionSubjects(region string) string { return queue.SubjectJobs + "." + region + ".>" }

// ResultSubject is where results of this job type are published.
func ResultSubject(typ string) string { return queue.SubjectResults + "." + typ }

// Publish sends a job to its region's workers.
func Publish(ctx context.Context, q queue.Queue, j Job) error {
	subject, msgID, data, err := Encode(j)
	if err != nil {
		return err
	}
	return q.Publish(ctx, subject, data, msgID, nil)
}

// Encode is the message that hands j to its region's workers: its
// subject, message ID ("job-" and the job ID, so a job published twice is
// stored once) and body. The control plane writes it to the outbox in the
// job's own transaction; Publish sends it at once.
func Encode(j Job) (subject, msgID string, data []byte, err error) {
	if j.CreatedAt.IsZero() {
		j.CreatedAt = time.Now().UTC()
	}
	if err := j.Validate(); err != nil {
		return "", "", nil, err
	}
	data, err = json.Marshal(j)
	if err != nil {
		return "", "", nil, fmt.Errorf("scanjob: encode job %s: %w", j.ID, err)
	}
	return JobSubject(j.Region, j.Type), "job-" + j.ID, data, nil
}

// ResultRetryMax is the longest a result whose handler failed waits for
// its next attempt: after a database outage, ingestion resumes within
// this of the database coming back.
const ResultRetryMax = 3 * time.Second

// ConsumeResults runs h for every result of the given job type ("" for all)
// under a durable consumer, for the ingester. A malformed result is
// acknowledged and dropped: it can never be stored.
//
// A result is never given up on: a failed one is tried again after at
// most ResultRetryMax, for as long as it takes (a database outage of
// hours loses nothing, and ingestion resumes within seconds of its end).
func ConsumeResults(ctx context.Context, q queue.Queue, durable, typ string, h func(context.Context, Result) error) (queue.Consumer, error) {
	filter := queue.SubjectResults + ".>"
	if typ != "" {
		filter = ResultSubject(typ)
	}
	return q.Consume(ctx, queue.ConsumerConfig{Stream: queue.StreamResults, Durable: durable, FilterSubject: filter, Concurrency: 4,
		MaxDeliver: -1, RetryMax: ResultRetryMax},
		func(ctx context.Context, m *queue.Message) error {
			var r Result
			if err := json.Unmarshal(m.Data, &r); err != nil {
				return nil // malformed: nothing to store, do not loop
			}
			r.MsgID, r.Attempt = m.ID, m.Attempt
			return h(ctx, r)
		})
}
