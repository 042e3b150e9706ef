package agent

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// The disk buffer keeps the reports a sensor has made and the platform
// has not yet acknowledged, in order, in segment files of a directory:
//
//	seg-00000000000000000001.log  seg-…0002.log  …  cursor
//
// A record is a 12-byte header (body length, CRC-32 of the body, the
// detections it holds) and its body (subject suffix, report ID, report).
// Records are appended to the newest segment; a segment that reaches
// segMax bytes is closed and a new one begun. The sender reads from the
// oldest segment; a record the platform acknowledged moves the cursor
// (saved in "cursor", so a restart does not send it again), and a
// segment read through is deleted. When the segments together pass the
// cap, the oldest are deleted whole and every record in them not yet
// sent is counted as dropped: reports, detections and bytes.
//
// A torn or corrupt record (a crash mid-write) ends its segment: what
// follows it there is counted as dropped.

const (
	recHeader = 12
	// maxRecord bounds one record's body: a report and a little.
	maxRecord = 1 << 20
	segPrefix = "seg-"
	segSuffix = ".log"
)

// ErrRecordTooLarge means a record does not fit the buffer.
var ErrRecordTooLarge = errors.New("agent: record too large for the buffer")

// record is one buffered report.
type record struct {
	Subject    string // "detections"
	ID         string // the report's ID, its message ID on NATS
	Data       []byte // the report's JSON
	Detections int
}

// pos is where a record is: its segment and offset.
type pos struct {
	seg uint64
	off int64
}

// BufferStats are a buffer's counters.
type BufferStats struct {
	Bytes             int64  // on disk now, not yet sent
	Records           int64  // records on disk not yet sent
	DroppedReports    uint64 // records dropped past the cap since the buffer opened
	DroppedDetections uint64
	DroppedBytes      uint64
}

// buffer is the disk buffer. It is safe for concurrent use: the agent
// appends, the sender reads and acknowledges.
type buffer struct {
	dir    string
	cap    int64
	segMax int64

	mu     sync.Mutex
	segs   []uint64 // sequence numbers, oldest first
	sizes  map[uint64]int64
	w      *os.File // the newest segment, open for appending
	read   pos      // the next record to send
	stats  BufferStats
	notify chan struct{} // signalled on append
}

// openBuffer opens (or creates) the buffer in dir, capped at capBytes
// (at least 4 KiB).
func openBuffer(dir string, capBytes int64) (*buffer, error) {
	if capBytes < 4<<10 {
		capBytes = 4 << 10
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("agent: buffer: %w", err)
	}
	b := &buffer{dir: dir, cap: capBytes, segMax: max(min(capBytes/8, 16<<20), 1<<10), sizes: map[uint64]int64{}, notify: make(chan struct{}, 1)}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("agent: buffer: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, segPrefix) || !strings.HasSuffix(name, segSuffix) {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, segPrefix), segSuffix), 10, 64)
		if err != nil {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			return nil, fmt.Errorf("agent: buffer: %w", err)
		}
		b.segs = append(b.segs, n)
		b.sizes[n] = fi.Size()
	}
	slices.Sort(b.segs)
	if len(b.segs) > 0 {
		b.read = pos{seg: b.segs[0]}
		if c, ok := b.loadCursor(); ok && c.seg == b.segs[0] && c.off <= b.sizes[c.seg] {
			b.read = c
		}
	}
	b.recount()
	return b, nil
}

func (b *buffer) segPath(n uint64) string {
	return filepath.Join(b.dir, fmt.Sprintf("%s%020d%s", segPrefix, n, segSuffix))
}

func (b *buffer) loadCursor() (pos, bool) {
	data, err := os.ReadFile(filepath.Join(b.dir, "cursor"))
	if err != nil || len(data) != 16 {
		return pos{}, false
	}
	return pos{seg: binary.BigEndian.Uint64(data), off: int64(binary.BigEndian.Uint64(data[8:]))}, true
}

func (b *buffer) saveCursor() {
	var data [16]byte
	binary.BigEndian.PutUint64(data[:], b.read.seg)
	binary.BigEndian.PutUint64(data[8:], uint64(b.read.off))
	// Losing the cursor in a crash only sends a few reports again, which
	// the platform recognizes by their IDs.
	_ = os.WriteFile(filepath.Join(b.dir, "cursor"), data[:], 0o600)
}

// recount sets Bytes and Records from the files (after opening).
func (b *buffer) recount() {
	b.stats.Bytes, b.stats.Records = 0, 0
	for _, n := range b.segs {
		from := int64(0)
		if n == b.read.seg {
			from = b.read.off
		}
		recs, bytes, _ := scanSegment(b.segPath(n), from)
		b.stats.Records += int64(len(recs))
		b.stats.Bytes += bytes
	}
}

// encode is r as a record.
func encode(r record) ([]byte, error) {
	if len(r.Subject) > 255 || len(r.ID) > 255 {
		return nil, fmt.Errorf("agent: buffer: subject or ID too long")
	}
	body := make([]byte, 0, 2+len(r.Subject)+len(r.ID)+len(r.Data))
	body = append(body, byte(len(r.Subject)))
	body = append(body, r.Subject...)
	body = append(body, byte(len(r.ID)))
	body = append(body, r.ID...)
	body = append(body, r.Data...)
	if len(body) > maxRecord {
		return nil, ErrRecordTooLarge
	}
	out := make([]byte, recHeader, recHeader+len(body))
	binary.BigEndian.PutUint32(out, uint32(len(body)))
	binary.BigEndian.PutUint32(out[4:], crc32.ChecksumIEEE(body))
	binary.BigEndian.PutUint32(out[8:], uint32(r.Detections))
	return append(out, body...), nil
}

// decodeRecord reads one record from the start of data; n is its size,
// ok false for a torn or corrupt one.
func decodeRecord(data []byte) (r record, n int, ok bool) {
	if len(data) < recHeader {
		return record{}, 0, false
	}
	size := int(binary.BigEndian.Uint32(data))
	if size > maxRecord || len(data) < recHeader+size {
		return record{}, 0, false
	}
	body := data[recHeader : recHeader+size]
	if crc32.ChecksumIEEE(body) != binary.BigEndian.Uint32(data[4:]) {
		return record{}, 0, false
	}
	r.Detections = int(binary.BigEndian.Uint32(data[8:]))
	if len(body) < 1 || len(body) < 1+int(body[0])+1 {
		return record{}, 0, false
	}
	r.Subject, body = string(body[1:1+int(body[0])]), body[1+int(body[0]):]
	if len(body) < 1+int(body[0]) {
		return record{}, 0, false
	}
	r.ID, body = string(body[1:1+int(body[0])]), body[1+int(body[0]):]
	r.Data = slices.Clone(body)
	return r, recHeader + size, true
}

// scanSegment reads the records of a segment from offset from, with
// their offsets; bytes is the size they take. A torn record ends it.
func scanSegment(path string, from int64) (recs []recordAt, bytes int64, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	off := from
	for off < int64(len(data)) {
		r, n, ok := decodeRecord(data[off:])
		if !ok {
			break
		}
		recs = append(recs, recordAt{r: r, at: pos{off: off}, next: off + int64(n)})
		off += int64(n)
		bytes += int64(n)
	}
	return recs, bytes, nil
}

type recordAt struct {
	r    record
	at   pos
	next int64
}

// append adds r at the end, dropping the oldest segments past the cap.
func (b *buffer) append(r record) error {
	data, err := encode(r)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.w == nil || b.sizes[b.segs[len(b.segs)-1]] > 0 && b.sizes[b.segs[len(b.segs)-1]]+int64(len(data)) > b.segMax {
		if err := b.rotate(); err != nil {
			return err
		}
	}
	last := b.segs[len(b.segs)-1]
	if _, err := b.w.Write(data); err != nil {
		return fmt.Errorf("agent: buffer: %w", err)
	}
	b.sizes[last] += int64(len(data))
	b.stats.Bytes += int64(len(data))
	b.stats.Records++
	b.enforceCap()
	select {
	case b.notify <- struct{}{}:
	default:
	}
	return nil
}

// rotate closes the newest segment and starts another.
func (b *buffer) rotate() error {
	if b.w != nil {
		_ = b.w.Close()
		b.w = nil
	}
	next := uint64(1)
	if len(b.segs) > 0 {
		next = b.segs[len(b.segs)-1] + 1
	}
	f, err := os.OpenFile(b.segPath(next), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("agent: buffer: %w", err)
	}
	b.w = f
	b.segs = append(b.segs, next)
	b.sizes[next] = 0
	if len(b.segs) == 1 {
		b.read = pos{seg: next}
	}
	return nil
}

// enforceCap deletes the oldest segments while the buffer holds more
// than its cap, counting what they held unsent as dropped. The segment
// being written is kept: the buffer holds at most the cap, or one
// record when a single one is larger (the agent keeps reports well
// under the cap).
func (b *buffer) enforceCap() {
	for len(b.segs) > 1 && b.total() > b.cap {
		old := b.segs[0]
		from := int64(0)
		if b.read.seg == old {
			from = b.read.off
		}
		recs, bytes, _ := scanSegment(b.segPath(old), from)
		for _, r := range recs {
			b.stats.DroppedReports++
			b.stats.DroppedDetections += uint64(r.r.Detections)
		}
		b.stats.DroppedBytes += uint64(bytes)
		b.stats.Bytes -= bytes
		b.stats.Records -= int64(len(recs))
		_ = os.Remove(b.segPath(old))
		delete(b.sizes, old)
		b.segs = b.segs[1:]
		b.read = pos{seg: b.segs[0]}
		b.saveCursor()
	}
}

func (b *buffer) total() int64 {
	var n int64
	for _, s := range b.sizes {
		n += s
	}
	return n
}

// next returns the oldest record not yet acknowledged and where the one
// after it starts; ok is false when there is none.
func (b *buffer) next() (r record, at pos, ok bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.segs) > 0 {
		seg := b.read.seg
		f, err := os.Open(b.segPath(seg))
		if err != nil {
			return record{}, pos{}, false, fmt.Errorf("agent: buffer: %w", err)
		}
		r, n, ok, torn := readAt(f, b.read.off)
		f.Close()
		if ok {
			return r, pos{seg: seg, off: b.read.off + int64(n)}, true, nil
		}
		if seg == b.segs[len(b.segs)-1] && !torn {
			return record{}, pos{}, false, nil // read up to the writer
		}
		// A finished segment read through (or torn: what follows the
		// tear is lost) goes.
		if torn {
			// How many reports the tear cost is unknown: count one.
			b.stats.DroppedBytes += uint64(max(b.sizes[seg]-b.read.off, 0))
			b.stats.DroppedReports++
		}
		if seg == b.segs[len(b.segs)-1] {
			// The writer's own segment was torn: start a new one.
			if err := b.rotate(); err != nil {
				return record{}, pos{}, false, err
			}
		}
		_ = os.Remove(b.segPath(seg))
		delete(b.sizes, seg)
		b.segs = b.segs[1:]
		if len(b.segs) > 0 {
			b.read = pos{seg: b.segs[0]}
		}
		b.saveCursor()
		if torn {
			b.recount()
		}
	}
	return record{}, pos{}, false, nil
}

// readAt reads the record at off; torn is true when there are bytes at
// off that are not a whole valid record.
func readAt(f *os.File, off int64) (r record, n int, ok, torn bool) {
	var hdr [recHeader]byte
	k, err := f.ReadAt(hdr[:], off)
	if k == 0 && errors.Is(err, io.EOF) {
		return record{}, 0, false, false
	}
	if k < recHeader {
		return record{}, 0, false, true
	}
	size := int(binary.BigEndian.Uint32(hdr[:]))
	if size > maxRecord {
		return record{}, 0, false, true
	}
	buf := make([]byte, recHeader+size)
	if k, _ := f.ReadAt(buf, off); k < len(buf) {
		return record{}, 0, false, true
	}
	r, n, ok = decodeRecord(buf)
	return r, n, ok, !ok
}

// ack marks the record before at as sent.
func (b *buffer) ack(at pos) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if at.seg != b.read.seg || at.off <= b.read.off {
		return // dropped past the cap meanwhile
	}
	b.stats.Bytes -= at.off - b.read.off
	b.stats.Records--
	b.read = at
	b.saveCursor()
}

// Stats returns the buffer's counters.
func (b *buffer) Stats() BufferStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats
}

// close closes the segment being written.
func (b *buffer) close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.w != nil {
		err := b.w.Close()
		b.w = nil
		return err
	}
	return nil
}
