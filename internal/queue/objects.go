package queue

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNoObject means an object store holds no object of that name.
var ErrNoObject = errors.New("queue: no such object")

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Bucket   string
	Name     string
	Size     uint64
	Meta     map[string]string // what the writer attached (small strings)
	Modified time.Time         // the server's clock
}

// ObjectStore is implemented by queues whose server also keeps large
// objects, stored in chunks, so an input of any size (a gigabyte report
// handed to the platform) passes through the queue with bounded memory
// and survives a restart until its reader deletes it. It is optional:
// callers test for it.
//
// Bucket names are as ValidBucket says; object names are 1 to 1000 bytes
// without '#'.
type ObjectStore interface {
	// PutObject streams r into bucket (created on first use) under
	// name, replacing an object of the same name, and returns once the
	// server has stored all of it. A failed put leaves no object.
	PutObject(ctx context.Context, bucket, name string, meta map[string]string, r io.Reader) (ObjectInfo, error)
	// GetObject opens an object for reading, chunk by chunk; the caller
	// closes it. A missing object is ErrNoObject. Reading fails if the
	// object's digest does not match what was stored.
	GetObject(ctx context.Context, bucket, name string) (io.ReadCloser, ObjectInfo, error)
	// DeleteObject removes an object; removing a missing one is not an
	// error.
	DeleteObject(ctx context.Context, bucket, name string) error
	// ListObjects returns the objects of a bucket, oldest first; a
	// missing bucket is an empty list.
	ListObjects(ctx context.Context, bucket string) ([]ObjectInfo, error)
}
