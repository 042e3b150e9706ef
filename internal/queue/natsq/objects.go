package natsq

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rampart-cert/rampart/internal/queue"
)

var _ queue.ObjectStore = (*Queue)(nil)

// An object is kept in JetStream's object store as parts of at most
// objectPart bytes ("<name>#part-000001" …) and, written last, a
// manifest under its own name whose metadata hold the writer's and the
// number of parts. A part goes out and comes back whole, so memory is
// bounded by a part or two whatever the object's size: the object
// store's own Put would have up to thousands of chunks in flight, and its
// Get stalls (and times out) when the reader is slower than the server.
const (
	objectPart  = 8 << 20
	objectChunk = 256 << 10
	partMark    = "#part-"
	metaParts   = "rampart-parts"
)

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
	if name == "" || len(name) > 1000 || strings.Contains(name, "#") {
		return fmt.Errorf("bad object name (1 to 1000 bytes, no '#'): %w", queue.ErrInvalid)
	}
	return nil
}

func partName(name string, i int) string { return name + partMark + fmt.Sprintf("%06d", i) }

// PutObject streams r into bucket under name, a part at a time.
func (q *Queue) PutObject(ctx context.Context, bucket, name string, meta map[string]string, r io.Reader) (queue.ObjectInfo, error) {
	fail := func(err error) (queue.ObjectInfo, error) {
		return queue.ObjectInfo{}, fmt.Errorf("natsq: put object %s/%s: %w", bucket, name, err)
	}
	if err := checkObjectName(name); err != nil {
		return fail(err)
	}
	if _, ok := meta[metaParts]; ok {
		return fail(fmt.Errorf("metadata key %s is the queue's: %w", metaParts, queue.ErrInvalid))
	}
	os, err := q.objectStore(ctx, bucket, true)
	if err != nil {
		return fail(err)
	}
	// A put under the same name replaces the old object.
	if err := q.deleteObject(ctx, os, name); err != nil {
		return fail(err)
	}
	buf := make([]byte, objectPart)
	var size uint64
	parts := 0
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			parts++
			_, err := os.Put(ctx, jetstream.ObjectMeta{Name: partName(name, parts), Opts: &jetstream.ObjectMetaOptions{ChunkSize: objectChunk}},
				bytes.NewReader(buf[:n]))
			if err != nil {
				q.cleanParts(ctx, os, name, parts)
				return fail(err)
			}
			size += uint64(n)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			q.cleanParts(ctx, os, name, parts)
			return fail(rerr)
		}
	}
	m := make(map[string]string, len(meta)+1)
	for k, v := range meta {
		m[k] = v
	}
	m[metaParts] = strconv.Itoa(parts)
	info, err := os.Put(ctx, jetstream.ObjectMeta{Name: name, Metadata: m}, bytes.NewReader(nil))
	if err != nil {
		q.cleanParts(ctx, os, name, parts)
		return fail(err)
	}
	out := objectInfo(info)
	out.Size = size
	return out, nil
}

// cleanParts removes the parts of a put that failed, with a context of
// its own: ctx may be what ended it.
func (q *Queue) cleanParts(ctx context.Context, os jetstream.ObjectStore, name string, parts int) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), requestTimeout)
	defer cancel()
	for i := 1; i <= parts; i++ {
		_ = os.Delete(ctx, partName(name, i))
	}
}

func objectInfo(i *jetstream.ObjectInfo) queue.ObjectInfo {
	meta := make(map[string]string, len(i.Metadata))
	for k, v := range i.Metadata {
		if k != metaParts {
			meta[k] = v
		}
	}
	return queue.ObjectInfo{Bucket: i.Bucket, Name: i.Name, Size: i.Size, Meta: meta, Modified: i.ModTime}
}

// GetObject opens an object for reading, a part at a time.
func (q *Queue) GetObject(ctx context.Context, bucket, name string) (io.ReadCloser, queue.ObjectInfo, error) {
	fail := func(err error) (io.ReadCloser, queue.ObjectInfo, error) {
		return nil, queue.ObjectInfo{}, fmt.Errorf("natsq: get object %s/%s: %w", bucket, name, err)
	}
	if err := checkObjectName(name); err != nil {
		return fail(err)
	}
	os, err := q.objectStore(ctx, bucket, false)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return fail(queue.ErrNoObject)
	}
	if err != nil {
		return fail(err)
	}
	info, err := os.GetInfo(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return fail(queue.ErrNoObject)
	}
	if err != nil {
		return fail(err)
	}
	parts, err := strconv.Atoi(info.Metadata[metaParts])
	if err != nil || parts < 0 {
		return fail(fmt.Errorf("not an object this queue wrote (no part count)"))
	}
	out := objectInfo(info)
	out.Size = 0
	for i := 1; i <= parts; i++ {
		pi, err := os.GetInfo(ctx, partName(name, i))
		if err != nil {
			return fail(fmt.Errorf("part %d: %w", i, err))
		}
		out.Size += pi.Size
	}
	return &partReader{ctx: ctx, os: os, name: name, parts: parts}, out, nil
}

// partReader reads an object's parts in turn, each fetched whole.
type partReader struct {
	ctx   context.Context
	os    jetstream.ObjectStore
	name  string
	parts int
	next  int // the part to fetch next, from 1
	buf   []byte
	err   error
}

func (p *partReader) Read(b []byte) (int, error) {
	for len(p.buf) == 0 {
		if p.err != nil {
			return 0, p.err
		}
		if p.next >= p.parts {
			p.err = io.EOF
			return 0, io.EOF
		}
		p.next++
		data, err := p.os.GetBytes(p.ctx, partName(p.name, p.next))
		if err != nil {
			p.err = fmt.Errorf("natsq: read object %s part %d: %w", p.name, p.next, err)
			return 0, p.err
		}
		p.buf = data
	}
	n := copy(b, p.buf)
	p.buf = p.buf[n:]
	return n, nil
}

func (p *partReader) Close() error {
	p.buf, p.err = nil, errors.New("natsq: object reader closed")
	return nil
}

// DeleteObject removes an object and its parts.
func (q *Queue) DeleteObject(ctx context.Context, bucket, name string) error {
	if err := checkObjectName(name); err != nil {
		return fmt.Errorf("natsq: delete object %s: %w", bucket, err)
	}
	os, err := q.objectStore(ctx, bucket, false)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil
	}
	if err == nil {
		err = q.deleteObject(ctx, os, name)
	}
	if err != nil {
		return fmt.Errorf("natsq: delete object %s/%s: %w", bucket, name, err)
	}
	return nil
}

// deleteObject removes the manifest first (the object is gone at once),
// then every part: those it names, and any a failed put left.
func (q *Queue) deleteObject(ctx context.Context, os jetstream.ObjectStore, name string) error {
	if err := os.Delete(ctx, name); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		return err
	}
	for i := 1; ; i++ {
		err := os.Delete(ctx, partName(name, i))
		if errors.Is(err, jetstream.ErrObjectNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
	}
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
	sizes := map[string]uint64{}
	var out []queue.ObjectInfo
	for _, i := range list {
		if base, _, ok := strings.Cut(i.Name, partMark); ok {
			sizes[base] += i.Size
			continue
		}
		if _, ok := i.Metadata[metaParts]; ok {
			out = append(out, objectInfo(i))
		}
	}
	for k := range out {
		out[k].Size = sizes[out[k].Name]
	}
	slices.SortStableFunc(out, func(a, b queue.ObjectInfo) int { return a.Modified.Compare(b.Modified) })
	return out, nil
}
