package vulndb

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
)

// Size caps on what the parsers read. The full NVD data set as one API 2.0
// collection is a few GiB; one record is at most a few MiB (the largest
// configurations list a few thousand cpeMatch entries).
const (
	MaxFileBytes   = 8 << 30  // decompressed bytes read from one file
	MaxRecordBytes = 32 << 20 // bytes of one JSON record or CSV line
	maxKEVEntries  = 1 << 20
	maxSingleKeys  = 256 // top-level keys of a single-record file
)

// RecordError says why one record was rejected and where it was.
type RecordError struct {
	File   string
	Record int   // 1-based position of the record in its list; 0 if unknown
	Offset int64 // byte offset after the record in the decompressed input (JSON)
	Line   int   // line number (CSV)
	ID     string
	Err    error
}

func (e *RecordError) Error() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "vulndb: %s", e.File)
	switch {
	case e.Line > 0:
		fmt.Fprintf(&b, ":%d", e.Line)
	case e.Record > 0:
		fmt.Fprintf(&b, ": record %d (byte %d)", e.Record, e.Offset)
	}
	if e.ID != "" {
		fmt.Fprintf(&b, " %s", e.ID)
	}
	fmt.Fprintf(&b, ": rejected: %v", e.Err)
	return b.String()
}

// Unwrap lets errors.Is find ErrBadRecord and the cause.
func (e *RecordError) Unwrap() []error { return []error{ErrBadRecord, e.Err} }

// reject hands a bad record to bad, or returns it as the error when bad
// is nil (the strict mode).
func reject(bad func(*RecordError), e *RecordError) error {
	if bad == nil {
		return e
	}
	bad(e)
	return nil
}

// Kind names an input format.
type Kind string

// The input formats.
const (
	KindNVD  Kind = "nvd"
	KindKEV  Kind = "kev"
	KindEPSS Kind = "epss"
)

// decompress returns r, transparently gunzipped or bunzipped when it
// starts with the gzip or bzip2 magic (Red Hat publishes its OVAL files
// bzip2'd), behind a size cap and a buffer.
func decompress(r io.Reader, name string) (*bufio.Reader, *capReader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("vulndb: %s: gzip: %w", name, err)
		}
		zr.Multistream(true)
		br = bufio.NewReaderSize(zr, 64<<10)
	} else if magic, err := br.Peek(4); err == nil && string(magic[:3]) == "BZh" && magic[3] >= '1' && magic[3] <= '9' {
		br = bufio.NewReaderSize(bzip2.NewReader(br), 64<<10)
	}
	cr := &capReader{r: br, name: name, max: MaxFileBytes, maxRecord: MaxRecordBytes}
	return bufio.NewReaderSize(cr, 64<<10), cr, nil
}

// Detect names the format of the (decompressed) start of a file: EPSS CSV
// starts with '#model_version' or a 'cve,' header; a Debian advisory list
// with "[01 Jul 2024] DSA-" (or DLA-); KEV JSON carries "catalogVersion" or
// "cveID"; OSV carries "schema_version" or "affected" with "ecosystem";
// the Debian tracker's JSON has "releases" objects with a "status"; any
// other JSON object or array is taken as NVD; XML whose root is OVAL's
// oval_definitions and that names Red Hat is Red Hat's OVAL. It returns
// "" when it cannot tell.
func Detect(head []byte) Kind {
	head = bytes.TrimLeft(head, " \t\r\n\ufeff")
	if len(head) == 0 {
		return ""
	}
	if dsaHeadRE().Match(firstLine(head)) {
		return KindDebianList
	}
	switch head[0] {
	case '<':
		if bytes.Contains(head, []byte("<oval_definitions")) &&
			(bytes.Contains(head, []byte("com.redhat")) || bytes.Contains(head, []byte("Red Hat"))) {
			return KindRedHatOVAL
		}
		return ""
	case '#':
		return KindEPSS
	case '{', '[':
		switch {
		case bytes.Contains(head, []byte(`"catalogVersion"`)) || bytes.Contains(head, []byte(`"cveID"`)):
			return KindKEV
		case bytes.Contains(head, []byte(`"schema_version"`)) ||
			bytes.Contains(head, []byte(`"affected"`)) && bytes.Contains(head, []byte(`"ecosystem"`)):
			return KindOSV
		case bytes.Contains(head, []byte(`"releases"`)) && bytes.Contains(head, []byte(`"status"`)) &&
			!bytes.Contains(head, []byte(`"vulnerabilities"`)) && !bytes.Contains(head, []byte(`"cve"`)):
			return KindDebianTracker
		}
		return KindNVD
	}
	if len(head) >= 4 && bytes.EqualFold(head[:4], []byte("cve,")) {
		return KindEPSS
	}
	return ""
}

// syntaxErr wraps a streaming decoder's error as ErrFormat, naming the
// file and the byte the decoder stopped at; a size cap's error passes
// through.
func syntaxErr(name string, offset func() int64) func(error) error {
	return func(err error) error {
		if errors.Is(err, ErrTooLarge) {
			return err
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("%w: %s: byte %d: %v", ErrFormat, name, offset(), err)
	}
}

// firstLine returns b up to its first newline.
func firstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i]
	}
	return b
}

// capReader stops a read once the file or one record is over its cap.
// mark() starts a new record.
type capReader struct {
	r         io.Reader
	name      string
	n, mark   int64
	max       int64
	maxRecord int64
}

var errCap = errors.New("cap")

func (c *capReader) Read(p []byte) (int, error) {
	if c.n >= c.max {
		return 0, fmt.Errorf("%w: %s: over %d bytes", ErrTooLarge, c.name, c.max)
	}
	// Decoders read ahead, so allow one buffer of slack past a record.
	budget := c.maxRecord + 256<<10 - (c.n - c.mark)
	if budget <= 0 {
		return 0, fmt.Errorf("%w: %s: one record is over %d bytes (from byte %d)", ErrTooLarge, c.name, c.maxRecord, c.mark)
	}
	budget = min(budget, c.max-c.n)
	if int64(len(p)) > budget {
		p = p[:budget]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *capReader) startRecord() { c.mark = c.n }
