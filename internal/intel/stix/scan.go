package stix

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The bundle is read by a small streaming JSON reader of our own rather
// than encoding/json's Decoder: splitting a bundle into objects with
// Decoder.Decode(&json.RawMessage) runs at about 130 MB/s here (≈ 300,000
// objects a second), and a bundle is read twice (see doc.go), which would
// miss the import goal. stream finds each value's extent and checks its
// syntax in one pass over the bytes (strict RFC 8259 syntax, as
// encoding/json accepts it; FuzzScanValue holds the two to the same
// answers); members and str then read the checked bytes.

// errShort says the buffered bytes end inside the value.
var errShort = errors.New("short")

// maxDepth bounds nesting: STIX objects are a few levels deep.
const maxDepth = 64

// syntaxError is a JSON syntax error at an offset of the scanned bytes.
type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string { return e.msg }

func synErr(off int, format string, args ...any) error {
	return &syntaxError{off: off, msg: fmt.Sprintf(format, args...)}
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// scanValue checks the JSON value starting at b[i] (no leading space) and
// returns the index just after it, errShort when b ends inside it, or a
// *syntaxError.
func scanValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return i, errShort
	}
	switch c := b[i]; {
	case c == '{':
		return scanObject(b, i, depth+1)
	case c == '[':
		return scanArray(b, i, depth+1)
	case c == '"':
		return scanString(b, i)
	case c == '-' || (c >= '0' && c <= '9'):
		return scanNumber(b, i)
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	default:
		return i, synErr(i, "unexpected character %q", c)
	}
}

func scanObject(b []byte, i, depth int) (int, error) {
	if depth > maxDepth {
		return i, synErr(i, "JSON nested deeper than %d levels", maxDepth)
	}
	i = skipSpace(b, i+1)
	if i >= len(b) {
		return i, errShort
	}
	if b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) {
			return i, errShort
		}
		if b[i] != '"' {
			return i, synErr(i, "object key is not a string")
		}
		var err error
		if i, err = scanString(b, i); err != nil {
			return i, err
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return i, errShort
		}
		if b[i] != ':' {
			return i, synErr(i, "missing ':' after object key")
		}
		i = skipSpace(b, i+1)
		if i, err = scanValue(b, i, depth); err != nil {
			return i, err
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return i, errShort
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return i + 1, nil
		default:
			return i, synErr(i, "missing ',' or '}' in object")
		}
	}
}

// member is one member of a scanned top-level object.
type member struct {
	key []byte // with its quotes
	val []byte
}

// name returns the member's key without quotes, decoding escapes (rare)
// only when there are some.
func (m *member) name() []byte {
	inner := m.key[1 : len(m.key)-1]
	for _, c := range inner {
		if c == '\\' {
			s, _ := str(m.key)
			return []byte(s)
		}
	}
	return inner
}

// scanMembers is scanObject for the object at b[i], the top level of a
// STIX object, appending its members to ms.
func scanMembers(b []byte, i int, ms []member) (int, []member, error) {
	if i >= len(b) {
		return i, ms, errShort
	}
	if b[i] != '{' {
		n, err := scanValue(b, i, 0)
		return n, ms, err
	}
	i = skipSpace(b, i+1)
	if i >= len(b) {
		return i, ms, errShort
	}
	if b[i] == '}' {
		return i + 1, ms, nil
	}
	for {
		if i >= len(b) {
			return i, ms, errShort
		}
		if b[i] != '"' {
			return i, ms, synErr(i, "object key is not a string")
		}
		ks := i
		var err error
		if i, err = scanString(b, i); err != nil {
			return i, ms, err
		}
		ke := i
		i = skipSpace(b, i)
		if i >= len(b) {
			return i, ms, errShort
		}
		if b[i] != ':' {
			return i, ms, synErr(i, "missing ':' after object key")
		}
		i = skipSpace(b, i+1)
		vs := i
		if i, err = scanValue(b, i, 1); err != nil {
			return i, ms, err
		}
		ms = append(ms, member{key: b[ks:ke], val: b[vs:i]})
		i = skipSpace(b, i)
		if i >= len(b) {
			return i, ms, errShort
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return i + 1, ms, nil
		default:
			return i, ms, synErr(i, "missing ',' or '}' in object")
		}
	}
}

func scanArray(b []byte, i, depth int) (int, error) {
	if depth > maxDepth {
		return i, synErr(i, "JSON nested deeper than %d levels", maxDepth)
	}
	i = skipSpace(b, i+1)
	if i >= len(b) {
		return i, errShort
	}
	if b[i] == ']' {
		return i + 1, nil
	}
	for {
		var err error
		if i, err = scanValue(b, i, depth); err != nil {
			return i, err
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return i, errShort
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case ']':
			return i + 1, nil
		default:
			return i, synErr(i, "missing ',' or ']' in array")
		}
	}
}

// scanString checks the string starting at the quote b[i].
func scanString(b []byte, i int) (int, error) {
	i++
	for i < len(b) {
		i = plainRun(b, i)
		if i >= len(b) {
			break
		}
		c := b[i]
		switch {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			if i+1 >= len(b) {
				return i, errShort
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					for j := i + 2; j < len(b); j++ {
						if !isHex(b[j]) {
							return j, synErr(j, "bad \\u escape in string")
						}
					}
					return i, errShort
				}
				for j := i + 2; j < i+6; j++ {
					if !isHex(b[j]) {
						return j, synErr(j, "bad \\u escape in string")
					}
				}
				i += 6
			default:
				return i, synErr(i, "bad escape \\%c in string", b[i+1])
			}
		case c < 0x20:
			return i, synErr(i, "control character in string")
		default:
			i++
		}
	}
	return i, errShort
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// scanNumber checks -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?. A
// number is never the last thing of a bundle, so reaching the end of b is
// errShort.
func scanNumber(b []byte, i int) (int, error) {
	if b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return i, errShort
	}
	switch {
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return i, synErr(i, "bad number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) {
			return i, errShort
		}
		if !isDigit(b[i]) {
			return i, synErr(i, "bad number")
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) {
			return i, errShort
		}
		if !isDigit(b[i]) {
			return i, synErr(i, "bad number")
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i >= len(b) {
		return i, errShort
	}
	return i, nil
}

func scanLiteral(b []byte, i int, lit string) (int, error) {
	for j := 0; j < len(lit); j++ {
		if i+j >= len(b) {
			return i + j, errShort
		}
		if b[i+j] != lit[j] {
			return i + j, synErr(i+j, "unexpected character %q", b[i+j])
		}
	}
	return i + len(lit), nil
}

// stream reads one JSON text from r, holding at most one value (plus one
// read buffer) in memory.
type stream struct {
	r   io.Reader
	buf []byte
	pos int   // next unread byte
	end int   // end of the buffered bytes
	off int64 // input offset of buf[0]
	err error // sticky read error; io.EOF at the end
	max int   // the largest value accepted, in bytes
}

func newStream(r io.Reader, max int) *stream {
	return &stream{r: r, buf: make([]byte, 64<<10), max: max}
}

// offset is the input offset of the next unread byte.
func (s *stream) offset() int64 { return s.off + int64(s.pos) }

// fill moves the unread bytes to the front and reads until at least want
// bytes are buffered or the input ends. It reports whether it added any.
func (s *stream) fill(want int) bool {
	if s.pos > 0 {
		n := copy(s.buf, s.buf[s.pos:s.end])
		s.off += int64(s.pos)
		s.end, s.pos = n, 0
	}
	if want > len(s.buf) {
		nb := make([]byte, max(want, 2*len(s.buf)))
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	added := false
	for s.end < want && s.err == nil {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		added = added || n > 0
		if err != nil {
			s.err = err
		}
	}
	return added
}

func (s *stream) readErr() error {
	if s.err == io.EOF || s.err == nil {
		return fmt.Errorf("stix: %w at byte %d", io.ErrUnexpectedEOF, s.offset())
	}
	return fmt.Errorf("stix: read: %w", s.err)
}

// peek skips white space and returns the next byte without consuming it.
func (s *stream) peek() (byte, error) {
	for {
		for s.pos < s.end {
			if c := s.buf[s.pos]; !isSpace(c) {
				return c, nil
			}
			s.pos++
		}
		if !s.fill(1) {
			return 0, s.readErr()
		}
	}
}

// atEOF skips white space and reports whether the input ends there.
func (s *stream) atEOF() (bool, error) {
	for {
		for s.pos < s.end {
			if !isSpace(s.buf[s.pos]) {
				return false, nil
			}
			s.pos++
		}
		if !s.fill(1) {
			if s.err == io.EOF {
				return true, nil
			}
			return false, s.readErr()
		}
	}
}

// expect consumes the byte c after white space.
func (s *stream) expect(c byte, what string) error {
	got, err := s.peek()
	if err != nil {
		return err
	}
	if got != c {
		return fmt.Errorf("stix: expected %s at byte %d, found %q", what, s.offset(), got)
	}
	s.pos++
	return nil
}

// value reads the next JSON value after white space and returns its bytes,
// valid until the next call.
func (s *stream) value() ([]byte, error) {
	v, _, err := s.valueMembers(nil)
	return v, err
}

// valueMembers is value that, for an object, also returns its members
// (appended to ms[:0]), so that they need not be found again.
func (s *stream) valueMembers(ms []member) ([]byte, []member, error) {
	if _, err := s.peek(); err != nil {
		return nil, ms, err
	}
	for {
		n, got, err := scanMembers(s.buf[s.pos:s.end], 0, ms[:0])
		if err == nil {
			if n > s.max {
				return nil, got, fmt.Errorf("stix: value at byte %d is larger than %d bytes", s.offset(), s.max)
			}
			v := s.buf[s.pos : s.pos+n]
			s.pos += n
			return v, got, nil
		}
		ms = got
		if err != errShort {
			var se *syntaxError
			if errors.As(err, &se) {
				return nil, ms, fmt.Errorf("stix: malformed JSON at byte %d: %s", s.offset()+int64(se.off), se.msg)
			}
			return nil, ms, err
		}
		have := s.end - s.pos
		if have > s.max {
			return nil, ms, fmt.Errorf("stix: value at byte %d is larger than %d bytes", s.offset(), s.max)
		}
		// Ask for twice what is buffered, so a large value is rescanned
		// a logarithmic number of times.
		if !s.fill(min(2*have+4096, s.max+1)) {
			return nil, ms, s.readErr()
		}
	}
}

// SWAR masks: 8 bytes tested at once for a quote, a backslash or a
// control character (the classic "has a byte less than n" test, exact
// for whether such a byte exists).
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

func hasLess(w uint64, n byte) uint64 { return (w - ones*uint64(n)) & ^w & highs }
func hasByte(w uint64, c byte) uint64 { return hasLess(w^(ones*uint64(c)), 1) }

// plainRun returns the index of the first quote, backslash or control
// character at or after b[i], or len(b).
func plainRun(b []byte, i int) int {
	for i+8 <= len(b) {
		w := binary.LittleEndian.Uint64(b[i:])
		if hasLess(w, 0x20)|hasByte(w, '"')|hasByte(w, '\\') != 0 {
			break
		}
		i += 8
	}
	for i < len(b) && b[i] >= 0x20 && b[i] != '"' && b[i] != '\\' {
		i++
	}
	return i
}
