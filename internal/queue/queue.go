// Package queue defines how Rampart moves jobs, results and events between
// processes. natsq implements it on NATS JetStream, embedded in the process
// or on an external cluster; both pass the same tests.
//
// Delivery is at least once: a handler that returns nil acknowledges its
// message; one that returns an error, panics or whose process dies has the
// message redelivered after the consumer's AckWait. Publishers give each
// message an ID so a republished message is stored once.
package queue

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors.
var (
	ErrClosed  = errors.New("queue: closed")
	ErrInvalid = errors.New("queue: invalid argument")
)

// The streams and their subjects. Subjects carry the region for jobs so a
// worker in one region takes only that region's work:
//
//	rampart.jobs.<region>.<type>    JOBS    work queue: each job to one worker
//	rampart.results.<type>          RESULTS work queue: results to the ingester
//	rampart.events.<type>           EVENTS  kept for a while, read by many
const (
	StreamJobs    = "RAMPART_JOBS"
	StreamResults = "RAMPART_RESULTS"
	StreamEvents  = "RAMPART_EVENTS"

	SubjectJobs    = "rampart.jobs"
	SubjectResults = "rampart.results"
	SubjectEvents  = "rampart.events"
)

// Message is one delivered message.
type Message struct {
	Subject  string
	ID       string // the publisher's message ID
	Data     []byte
	Header   map[string]string
	Attempt  int       // 1 on first delivery
	Received time.Time // when the consumer got it
}

// Handler processes one message. Returning nil acknowledges it; an error
// asks for redelivery after a backoff. Handlers must be idempotent.
type Handler func(ctx context.Context, m *Message) error

// ConsumerConfig names a durable consumer. Consumers with the same Durable
// name share the work; a restarted process with the same name resumes where
// the last one stopped.
type ConsumerConfig struct {
	Stream        string        // one of the Stream* constants
	Durable       string        // durable name, e.g. "worker-hanoi"
	FilterSubject string        // e.g. "rampart.jobs.hanoi.>"
	AckWait       time.Duration // redelivery after this long without ack; default 30s
	MaxDeliver    int           // give up after this many attempts; default 10 (-1 unlimited)
	Concurrency   int           // handlers running at once; default 1
}

// Queue publishes and consumes messages.
type Queue interface {
	// Publish stores a message durably before returning. msgID makes a
	// republish within the dedup window a no-op (empty: no dedup).
	Publish(ctx context.Context, subject string, data []byte, msgID string, header map[string]string) error
	// Consume runs h for messages matching cfg until ctx ends or the
	// returned Consumer is stopped.
	Consume(ctx context.Context, cfg ConsumerConfig, h Handler) (Consumer, error)
	// Pending reports how many messages of a stream await delivery or ack
	// under a filter subject ("" for all), for dashboards and tests.
	Pending(ctx context.Context, stream, filter string) (uint64, error)
	// Ping reports whether the queue answers (for /readyz).
	Ping(ctx context.Context) error
	// Close stops every consumer and releases the connection, and the
	// embedded server if this queue started one.
	Close() error
}

// Consumer is a running subscription.
type Consumer interface {
	// Stop ends delivery and waits for running handlers to return.
	Stop()
}
