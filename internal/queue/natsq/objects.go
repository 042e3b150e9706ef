package natsq

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rampart-cert/rampart/internal/queue"
)

var _ queue.ObjectStore = (*Queue)(nil)

// objectChunk is the size of one stored chunk of an object.
const objectChunk = 256 << 10

// objectStore opens bucket, creating it on first use with the queue's
// replicas and file storage.
func (q *Queue) objectStore(ctx context.Context, bucket string, create bool) (jetstream.ObjectStore, error) {
	if q.isClosed() {
		return nil, queue.ErrClosed
	}
	if !queue.ValidBucket(bucket) {
		return nil, fmt.Errorf("bad bucket name %q: %w", bucket, queue.ErrInvalid)
	}
	for attempt := 1; ; attempt++ {
		os, err := q.js.ObjectStore(ctx, bucket)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			if !create {
				return nil, err
			}
			os, err = q.js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{
				Bucket: bucket, Description: "Rampart large inputs", Storage: jetstream.FileStorage, Replicas: q.replicas,
			})
		}
		if err == nil {
			return os, nil
		}
		// Losing a creation race to another process: look again.
		if !retryableSetup(err) && !errors.Is(err, jetstream.ErrBucketExists) && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-time.After(time.Duration(min(attempt, 10)) * 100 * time.Millisecond):
		}
	}
}

func checkObjectName(name string) error {
	if name == "" || len(name) > 1024 {
		return fmt.Errorf("bad object name (1 to 1024 bytes): %w", queue.ErrInvalid)
	}
	return nil
}

func objectInfo(i *jetstream.ObjectInfo) queue.ObjectInfo {
	return queue.ObjectInfo{Bucket: i.Bucket, Name: i.Name, Size: i.Size, Meta: i.Metadata, Modified: i.ModTime}
}

// PutObject streams r into an object of bucket.
func (q *Queue) PutObject(ctx context.Context, bucket, name string, meta map[string]string, r io.Reader) (queue.ObjectInfo, error) {
	if err := checkObjectName(name); err != nil {
		return queue.ObjectInfo{}, fmt.Errorf("natsq: put object %s: %w", bucket, err)
	}
	os, err := q.objectStore(ctx, bucket, true)
	if err != nil {
		return queue.ObjectInfo{}, fmt.Errorf("natsq: put object %s/%s: %w", bucket, name, err)
	}
	info, err := os.Put(ctx, jetstream.ObjectMeta{Name: name, Metadata: meta, Opts: &jetstream.ObjectMetaOptions{ChunkSize: objectChunk}}, r)
	if err != nil {
		return queue.ObjectInfo{}, fmt.Errorf("natsq: put object %s/%s: %w", bucket, name, err)
	}
	return objectInfo(info), nil
}

// GetObject opens an object for reading.
func (q *Queue) GetObject(ctx context.Context, bucket, name string) (io.ReadCloser, queue.ObjectInfo, error) {
	if err := checkObjectName(name); err != nil {
		return nil, queue.ObjectInfo{}, fmt.Errorf("natsq: get object %s: %w", bucket, err)
	}
	os, err := q.objectStore(ctx, bucket, false)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, queue.ObjectInfo{}, fmt.Errorf("natsq: get object %s/%s: %w", bucket, name, queue.ErrNoObject)
	}
	if err != nil {
		return nil, queue.ObjectInfo{}, fmt.Errorf("natsq: get object %s/%s: %w", bucket, name, err)
	}
	res, err := os.Get(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, queue.ObjectInfo{}, fmt.Errorf("natsq: get object %s/%s: %w", bucket, name, queue.ErrNoObject)
	}
	if err != nil {
		return nil, queue.ObjectInfo{}, fmt.Errorf("natsq: get object %s/%s: %w", bucket, name, err)
	}
	info, err := res.Info()
	if err != nil {
		res.Close()
		return nil, queue.ObjectInfo{}, fmt.Errorf("natsq: get object %s/%s: %w", bucket, name, err)
	}
	return res, objectInfo(info), nil
}

// DeleteObject removes an object.
func (q *Queue) DeleteObject(ctx context.Context, bucket, name string) error {
	if err := checkObjectName(name); err != nil {
		return fmt.Errorf("natsq: delete object %s: %w", bucket, err)
	}
	os, err := q.objectStore(ctx, bucket, false)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("natsq: delete object %s/%s: %w", bucket, name, err)
	}
	if err := os.Delete(ctx, name); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("natsq: delete object %s/%s: %w", bucket, name, err)
	}
	return nil
}

// ListObjects lists a bucket's objects, oldest first.
func (q *Queue) ListObjects(ctx context.Context, bucket string) ([]queue.ObjectInfo, error) {
	os, err := q.objectStore(ctx, bucket, false)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("natsq: list objects %s: %w", bucket, err)
	}
	list, err := os.List(ctx)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("natsq: list objects %s: %w", bucket, err)
	}
	out := make([]queue.ObjectInfo, 0, len(list))
	for _, i := range list {
		out = append(out, objectInfo(i))
	}
	slices.SortStableFunc(out, func(a, b queue.ObjectInfo) int { return a.Modified.Compare(b.Modified) })
	return out, nil
}
