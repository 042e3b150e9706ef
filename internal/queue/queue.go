// Package queue defines how Rampart moves jobs, results and events between
// processes. natsq implements it on NATS JetStream, embedded in the process
// or on an external cluster; both pass the same tests.
//
// Delivery is at least once: a handler that returns nil acknowledges its
// message; one that returns an error, panics or whose process dies has the
// message redelivered after the consumer's AckWait. Publishers give each
// message an ID so a republished message is stored once.
//
// Queues that implement KVStore also keep small key-value buckets on the
// same server, for state every worker must share.
package queue

import (
	"context"
	"errors"
	"strings"
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
//	rampart.sensor.<org>.<name>.<what>  SENSORS work queue: sensors' reports to the ingester
const (
	StreamJobs    = "RAMPART_JOBS"
	StreamResults = "RAMPART_RESULTS"
	StreamEvents  = "RAMPART_EVENTS"
	StreamSensors = "RAMPART_SENSORS"

	SubjectJobs    = "rampart.jobs"
	SubjectResults = "rampart.results"
	SubjectEvents  = "rampart.events"
	SubjectSensors = "rampart.sensor"
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
	// RetryMax caps the wait before a message whose handler failed is
	// tried again; 0 is the queue's default (minutes). Consumers that
	// must catch up promptly after an outage (the results ingester) set
	// a few seconds.
	RetryMax time.Duration
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

// Outgoing is one message to publish, for BatchPublisher.
type Outgoing struct {
	Subject string
	Data    []byte
	MsgID   string // as Publish's msgID: empty means no dedup
	Header  map[string]string
}

// BatchPublisher is a Queue that can publish many messages at once, for
// throughput (the event relay). It is optional: callers fall back to
// Publish one message at a time.
type BatchPublisher interface {
	// PublishBatch stores every message, in order, before returning nil.
	// On error any prefix of msgs may have been stored; publishing the
	// same messages again is safe when they carry message IDs.
	PublishBatch(ctx context.Context, msgs []Outgoing) error
}

// BatchHandler processes messages delivered together. Returning nil
// acknowledges every one; an error asks for redelivery of every one after
// a backoff. Handlers must be idempotent.
type BatchHandler func(ctx context.Context, ms []*Message) error

// BatchConsumer is a Queue that can hand a handler many messages at once,
// for consumers that write them in one transaction. It is optional:
// callers fall back to Consume.
type BatchConsumer interface {
	// ConsumeBatch is Consume with up to max messages per call of h;
	// cfg.Concurrency is ignored (one batch at a time).
	ConsumeBatch(ctx context.Context, cfg ConsumerConfig, max int, h BatchHandler) (Consumer, error)
}

// Consumer is a running subscription.
type Consumer interface {
	// Stop ends delivery and waits for running handlers to return.
	Stop()
}

// KVMaxValue caps one value in a key-value bucket. It stays well under
// the server's message payload limit (1 MiB by default).
const KVMaxValue = 256 << 10

// KVStore is implemented by queues whose server also keeps small
// key-value buckets, so state that every worker must see (a page's
// defacement baseline) lives on the platform rather than in one worker's
// memory. It is separate from Queue so that queues and fakes without
// buckets still satisfy Queue; callers test for it.
type KVStore interface {
	// KeyValue opens the bucket named bucket ([A-Za-z0-9_-]+), creating it
	// on first use. Opening is idempotent and safe from several processes
	// at once. The returned KV stays valid until the queue is closed.
	KeyValue(ctx context.Context, bucket string) (KV, error)
}

// KV is one bucket of values by key, shared by every process connected to
// the same server. It keeps the latest value of each key only. It is safe
// for concurrent use.
//
// Keys are 1 to 256 characters of [A-Za-z0-9-_=/.], not starting or
// ending with a dot nor holding two dots in a row; callers with arbitrary
// keys hash them. A bad key or a value over KVMaxValue is ErrInvalid; a
// closed queue is ErrClosed.
type KV interface {
	// Get returns the value of key. found is false, with a nil error,
	// for a key never put or deleted.
	Get(ctx context.Context, key string) (val []byte, found bool, err error)
	// Put stores val under key, replacing what was there, and returns
	// once the server has stored it.
	Put(ctx context.Context, key string, val []byte) error
	// Delete removes key; deleting an absent key is not an error.
	Delete(ctx context.Context, key string) error
}

// KVEntry is one key's latest value, with when the server stored it.
type KVEntry struct {
	Key    string
	Value  []byte
	Stored time.Time // the server's clock
}

// KVLister is a KV that can also list everything it holds, for small
// buckets read whole (the workers' heartbeats). It is optional: callers
// test for it.
type KVLister interface {
	// Entries returns the latest value of every key, in key order; an
	// empty bucket is an empty list.
	Entries(ctx context.Context) ([]KVEntry, error)
}

// ValidKey reports whether key is allowed in a KV bucket (see KV).
func ValidKey(key string) bool {
	if key == "" || len(key) > 256 || key[0] == '.' || key[len(key)-1] == '.' || strings.Contains(key, "..") {
		return false
	}
	for _, c := range []byte(key) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '_', c == '=', c == '/', c == '.':
		default:
			return false
		}
	}
	return true
}

// ValidBucket reports whether bucket is an allowed bucket name
// ([A-Za-z0-9_-]+, at most 64 characters).
func ValidBucket(bucket string) bool {
	if bucket == "" || len(bucket) > 64 {
		return false
	}
	for _, c := range []byte(bucket) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}
