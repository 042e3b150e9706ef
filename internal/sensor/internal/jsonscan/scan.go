// Package jsonscan is a small JSON object scanner for the sensor inputs
// (Suricata EVE, Zeek JSON): it walks the members of one object, hands
// each key and the raw bytes of its value to a callback, and skips what
// the caller does not want without decoding it. Strings are unescaped
// only when asked, into a buffer the Scanner reuses, so a line whose
// fields need no unescaping is scanned without allocating.
//
// It is not a general JSON decoder: it checks the structure it walks
// (quotes, escapes, brackets, commas and colons) and numbers' characters,
// and leaves deeper validation (a number's grammar, UTF-8) to the caller's
// field parsers. It imports only the standard library.
package jsonscan

import (
	"bytes"
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrSyntax is returned for input that is not a JSON object.
var ErrSyntax = errors.New("jsonscan: syntax error")

// Kind is the type of a value.
type Kind uint8

// The value kinds.
const (
	Invalid Kind = iota
	String
	Number
	Object
	Array
	True
	False
	Null
)

// Value is one member's value: Raw is the value's bytes, without the
// quotes for a string (still escaped when Escaped is true).
type Value struct {
	Kind    Kind
	Raw     []byte
	Escaped bool
}

// Scanner walks objects. Its zero value is ready; it is not safe for
// concurrent use. Keys and unescaped text it returns are valid until its
// next call.
type Scanner struct {
	key  []byte
	text []byte
}

// Object calls fn for every member of the object that b holds (whitespace
// around it is allowed, anything else after it is an error). fn may call
// Object on a value's Raw to descend; an error from fn stops the walk and
// is returned.
func (s *Scanner) Object(b []byte, fn func(key []byte, v Value) error) error {
	i := skipWS(b, 0)
	end, err := s.members(b, i, fn)
	if err != nil {
		return err
	}
	if skipWS(b, end) != len(b) {
		return ErrSyntax
	}
	return nil
}

// members walks the object starting at b[i] == '{' and returns the index
// after its closing brace.
func (s *Scanner) members(b []byte, i int, fn func(key []byte, v Value) error) (int, error) {
	if i >= len(b) || b[i] != '{' {
		return 0, ErrSyntax
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, ErrSyntax
		}
		kEnd, kEsc, err := stringEnd(b, i+1)
		if err != nil {
			return 0, err
		}
		key := b[i+1 : kEnd]
		if kEsc {
			if s.key, err = unescape(s.key[:0], key); err != nil {
				return 0, err
			}
			key = s.key
		}
		i = skipWS(b, kEnd+1)
		if i >= len(b) || b[i] != ':' {
			return 0, ErrSyntax
		}
		i = skipWS(b, i+1)
		v, next, err := value(b, i)
		if err != nil {
			return 0, err
		}
		if err := fn(key, v); err != nil {
			return 0, err
		}
		i = skipWS(b, next)
		if i >= len(b) {
			return 0, ErrSyntax
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return i + 1, nil
		default:
			return 0, ErrSyntax
		}
	}
}

// Array calls fn for every element of the array that b holds.
func (s *Scanner) Array(b []byte, fn func(v Value) error) error {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '[' {
		return ErrSyntax
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		if skipWS(b, i+1) != len(b) {
			return ErrSyntax
		}
		return nil
	}
	for {
		v, next, err := value(b, i)
		if err != nil {
			return err
		}
		if err := fn(v); err != nil {
			return err
		}
		i = skipWS(b, next)
		if i >= len(b) {
			return ErrSyntax
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case ']':
			if skipWS(b, i+1) != len(b) {
				return ErrSyntax
			}
			return nil
		default:
			return ErrSyntax
		}
	}
}

// Text returns a string value's content, unescaped (into the scanner's
// buffer when it had escapes), or Raw for other kinds.
func (s *Scanner) Text(v Value) ([]byte, error) {
	if v.Kind != String || !v.Escaped {
		return v.Raw, nil
	}
	var err error
	s.text, err = unescape(s.text[:0], v.Raw)
	return s.text, err
}

// value returns the value starting at b[i] and the index after it.
func value(b []byte, i int) (Value, int, error) {
	if i >= len(b) {
		return Value{}, 0, ErrSyntax
	}
	switch c := b[i]; {
	case c == '"':
		end, esc, err := stringEnd(b, i+1)
		if err != nil {
			return Value{}, 0, err
		}
		return Value{Kind: String, Raw: b[i+1 : end], Escaped: esc}, end + 1, nil
	case c == '{' || c == '[':
		end, err := skipNested(b, i)
		if err != nil {
			return Value{}, 0, err
		}
		k := Object
		if c == '[' {
			k = Array
		}
		return Value{Kind: k, Raw: b[i:end]}, end, nil
	case c == '-' || (c >= '0' && c <= '9'):
		j := i + 1
		for j < len(b) && isNumByte(b[j]) {
			j++
		}
		return Value{Kind: Number, Raw: b[i:j]}, j, nil
	case bytes.HasPrefix(b[i:], litTrue):
		return Value{Kind: True, Raw: b[i : i+4]}, i + 4, nil
	case bytes.HasPrefix(b[i:], litFalse):
		return Value{Kind: False, Raw: b[i : i+5]}, i + 5, nil
	case bytes.HasPrefix(b[i:], litNull):
		return Value{Kind: Null, Raw: b[i : i+4]}, i + 4, nil
	}
	return Value{}, 0, ErrSyntax
}

var (
	litTrue  = []byte("true")
	litFalse = []byte("false")
	litNull  = []byte("null")
)

func isNumByte(c byte) bool {
	return (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index of the closing quote of the string whose
// content starts at b[i], and whether the content has escapes.
func stringEnd(b []byte, i int) (int, bool, error) {
	// Most keys and values are short: a plain loop over their first bytes
	// beats the call into IndexByte; long strings go on with IndexByte.
	esc := false
	for end := min(len(b), i+24); i < end; {
		switch b[i] {
		case '"':
			return i, esc, nil
		case '\\':
			esc = true
			i += 2
			continue
		}
		i++
	}
	if i > len(b) {
		return 0, false, ErrSyntax
	}
	for {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return 0, false, ErrSyntax
		}
		seg := b[i : i+j]
		if k := bytes.IndexByte(seg, '\\'); k < 0 {
			return i + j, esc, nil
		}
		esc = true
		// Walk the segment's escapes: the quote found ends the string
		// unless an escape consumes it.
		k := i
		for k < i+j {
			if b[k] == '\\' {
				k += 2
				continue
			}
			k++
		}
		if k == i+j {
			return i + j, esc, nil
		}
		// k == i+j+1: the quote was escaped; go on after it.
		i = k
	}
}

// skipNested returns the index after the object or array starting at b[i],
// checking that brackets pair up (a small stack for the first 64 levels,
// depth only beyond).
func skipNested(b []byte, i int) (int, error) {
	var stack [64]byte
	depth := 0
	for i < len(b) {
		switch c := b[i]; c {
		case '"':
			end, _, err := stringEnd(b, i+1)
			if err != nil {
				return 0, err
			}
			i = end + 1
			continue
		case '{', '[':
			if depth < len(stack) {
				stack[depth] = c
			}
			depth++
		case '}', ']':
			depth--
			if depth < 0 {
				return 0, ErrSyntax
			}
			if depth < len(stack) && stack[depth] != c-2 { // '{'+2 == '}', '['+2 == ']'
				return 0, ErrSyntax
			}
			if depth == 0 {
				return i + 1, nil
			}
		}
		i++
	}
	return 0, ErrSyntax
}

// unescape appends the unescaped content of a JSON string to dst.
func unescape(dst, s []byte) ([]byte, error) {
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			j := bytes.IndexByte(s[i:], '\\')
			if j < 0 {
				return append(dst, s[i:]...), nil
			}
			dst = append(dst, s[i:i+j]...)
			i += j
			continue
		}
		if i+1 >= len(s) {
			return dst, ErrSyntax
		}
		switch s[i+1] {
		case '"', '\\', '/':
			dst = append(dst, s[i+1])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(s, i+2)
			if !ok {
				return dst, ErrSyntax
			}
			i += 6
			if utf16.IsSurrogate(r) {
				if r2, ok := hex4(s, i+2); ok && i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						dst = utf8.AppendRune(dst, d)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default:
			return dst, ErrSyntax
		}
		i += 2
	}
	return dst, nil
}

func hex4(s []byte, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range s[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// Uint parses a non-negative integer number value (no sign, fraction or
// exponent), saturating at the maximum uint64.
func Uint(raw []byte) (uint64, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	var n uint64
	for _, c := range raw {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (1<<64-1-d)/10 {
			return 1<<64 - 1, true
		}
		n = n*10 + d
	}
	return n, true
}
