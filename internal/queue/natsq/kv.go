package natsq

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rampart-cert/rampart/internal/queue"
)

var (
	_ queue.KVStore = (*Queue)(nil)
	_ queue.KV      = (*kv)(nil)
)

// KeyValue opens the JetStream key-value bucket named bucket, creating it
// on first use with the queue's replicas, file storage, history 1 (only
// the latest value of a key is kept) and values capped at
// queue.KVMaxValue. An existing bucket is used as it is. Several
// processes may open the same bucket at once.
func (q *Queue) KeyValue(ctx context.Context, bucket string) (queue.KV, error) {
	if q.isClosed() {
		return nil, fmt.Errorf("natsq: kv %s: %w", bucket, queue.ErrClosed)
	}
	if !queue.ValidBucket(bucket) {
		return nil, fmt.Errorf("natsq: kv %q: bad bucket name: %w", bucket, queue.ErrInvalid)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, startupWait)
		defer cancel()
	}
	cfg := jetstream.KeyValueConfig{
		Bucket:       bucket,
		Description:  "Rampart shared state",
		History:      1,
		MaxValueSize: queue.KVMaxValue,
		Storage:      jetstream.FileStorage,
		Replicas:     q.replicas,
	}
	for attempt := 1; ; attempt++ {
		b, err := q.js.KeyValue(ctx, bucket)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			b, err = q.js.CreateKeyValue(ctx, cfg)
		}
		if err == nil {
			return &kv{q: q, b: b, name: bucket}, nil
		}
		// Losing a creation race to another process is "already in
		// use": the next lookup finds its bucket.
		if !retryableSetup(err) && !errors.Is(err, jetstream.ErrBucketExists) {
			return nil, fmt.Errorf("natsq: kv %s: %w", bucket, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("natsq: kv %s: %w (last error: %v)", bucket, ctx.Err(), err)
		case <-time.After(time.Duration(min(attempt, 10)) * 100 * time.Millisecond):
		}
	}
}

// DeleteKeyValue removes a bucket and everything in it, for tests and
// for retiring state. Removing an absent bucket is not an error.
func (q *Queue) DeleteKeyValue(ctx context.Context, bucket string) error {
	if q.isClosed() {
		return fmt.Errorf("natsq: delete kv %s: %w", bucket, queue.ErrClosed)
	}
	if !queue.ValidBucket(bucket) {
		return fmt.Errorf("natsq: delete kv %q: bad bucket name: %w", bucket, queue.ErrInvalid)
	}
	if err := q.js.DeleteKeyValue(ctx, bucket); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
		return fmt.Errorf("natsq: delete kv %s: %w", bucket, err)
	}
	return nil
}

// kv is one bucket. Calls without a deadline are bounded by the
// JetStream client's default request timeout.
type kv struct {
	q    *Queue
	b    jetstream.KeyValue
	name string
}

func (k *kv) check(op, key string) error {
	if k.q.isClosed() {
		return fmt.Errorf("natsq: kv %s %s: %w", op, k.name, queue.ErrClosed)
	}
	if !queue.ValidKey(key) {
		return fmt.Errorf("natsq: kv %s %s: bad key %q: %w", op, k.name, key, queue.ErrInvalid)
	}
	return nil
}

// wrap names the operation and turns a closed connection into ErrClosed.
func (k *kv) wrap(op, key string, err error) error {
	if errors.Is(err, nats.ErrConnectionClosed) && k.q.isClosed() {
		err = queue.ErrClosed
	}
	return fmt.Errorf("natsq: kv %s %s/%s: %w", op, k.name, key, err)
}

// Get returns the latest value of key.
func (k *kv) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := k.check("get", key); err != nil {
		return nil, false, err
	}
	e, err := k.b.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, k.wrap("get", key, err)
	}
	return e.Value(), true, nil
}

// Put stores val under key.
func (k *kv) Put(ctx context.Context, key string, val []byte) error {
	if err := k.check("put", key); err != nil {
		return err
	}
	if len(val) > queue.KVMaxValue {
		return fmt.Errorf("natsq: kv put %s/%s: value of %d bytes over %d: %w", k.name, key, len(val), queue.KVMaxValue, queue.ErrInvalid)
	}
	if _, err := k.b.Put(ctx, key, val); err != nil {
		return k.wrap("put", key, err)
	}
	return nil
}

// Delete removes key.
func (k *kv) Delete(ctx context.Context, key string) error {
	if err := k.check("delete", key); err != nil {
		return err
	}
	if err := k.b.Delete(ctx, key); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return k.wrap("delete", key, err)
	}
	return nil
}

var _ queue.KVLister = (*kv)(nil)

// Entries lists every key's latest value through a watcher's initial
// values (one ordered consumer, no per-key request), in key order.
func (k *kv) Entries(ctx context.Context) ([]queue.KVEntry, error) {
	if k.q.isClosed() {
		return nil, fmt.Errorf("natsq: kv entries %s: %w", k.name, queue.ErrClosed)
	}
	w, err := k.b.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, k.wrap("entries", ">", err)
	}
	defer w.Stop()
	var out []queue.KVEntry
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("natsq: kv entries %s: %w", k.name, ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("natsq: kv entries %s: watcher stopped", k.name)
			}
			if e == nil { // every initial value delivered
				slices.SortFunc(out, func(a, b queue.KVEntry) int { return strings.Compare(a.Key, b.Key) })
				return out, nil
			}
			out = append(out, queue.KVEntry{Key: e.Key(), Value: e.Value(), Stored: e.Created().UTC()})
		}
	}
}
