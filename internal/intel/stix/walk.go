package stix

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// The helpers below read JSON that scanValue has already checked, so they
// only find boundaries; they never see malformed input.

// skipChecked returns the index after the checked value at b[i].
func skipChecked(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipCheckedString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipCheckedString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default:
		for i < len(b) {
			switch b[i] {
			case ',', '}', ']', ' ', '\n', '\r', '\t':
				return i
			}
			i++
		}
		return i
	}
}

func skipCheckedString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		i = plainRun(b, i)
		if i >= len(b) {
			break
		}
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// members is an iterator over the members of a checked JSON object.
type members struct {
	b []byte
	i int
}

func newMembers(obj []byte) members {
	return members{b: obj, i: 1}
}

// next returns the next member's key (without quotes; an escaped key is
// decoded) and raw value. The key is valid until the next call; compare
// it with switch string(key), which does not allocate.
func (m *members) next() (key []byte, val []byte, ok bool) {
	b := m.b
	i := skipSpace(b, m.i)
	if i >= len(b) || b[i] == '}' {
		return nil, nil, false
	}
	if b[i] == ',' {
		i = skipSpace(b, i+1)
	}
	ke := skipCheckedString(b, i)
	key = b[i+1 : ke-1]
	for _, c := range key {
		if c == '\\' {
			s, _ := str(b[i:ke])
			key = []byte(s)
			break
		}
	}
	i = skipSpace(b, ke)
	i = skipSpace(b, i+1) // ':'
	ve := skipChecked(b, i)
	m.i = ve
	return key, b[i:ve], true
}

// str decodes a checked JSON string value. ok is false when v is not a
// string. Invalid UTF-8 becomes U+FFFD, as encoding/json does.
func str(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	inner := v[1 : len(v)-1]
	plain := true
	for _, c := range inner {
		if c == '\\' || c >= utf8.RuneSelf {
			plain = false
			break
		}
	}
	if plain {
		return string(inner), true
	}
	var sb strings.Builder
	sb.Grow(len(inner))
	for i := 0; i < len(inner); {
		c := inner[i]
		if c != '\\' {
			if c < utf8.RuneSelf {
				sb.WriteByte(c)
				i++
				continue
			}
			r, n := utf8.DecodeRune(inner[i:])
			sb.WriteRune(r) // RuneError for a bad byte
			i += n
			continue
		}
		e := inner[i+1]
		i += 2
		switch e {
		case 'b':
			sb.WriteByte('\b')
		case 'f':
			sb.WriteByte('\f')
		case 'n':
			sb.WriteByte('\n')
		case 'r':
			sb.WriteByte('\r')
		case 't':
			sb.WriteByte('\t')
		case 'u':
			r := hex4(inner[i:])
			i += 4
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if i+6 <= len(inner) && inner[i] == '\\' && inner[i+1] == 'u' {
					r2 = hex4(inner[i+2:])
				}
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					r = d
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			sb.WriteRune(r)
		default: // '"', '\\', '/'
			sb.WriteByte(e)
		}
	}
	return sb.String(), true
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		default:
			r |= rune(c - 'A' + 10)
		}
	}
	return r
}

// strings calls fn for each string of a checked JSON array; other element
// types are passed over.
func eachString(v []byte, fn func(string)) {
	if len(v) == 0 || v[0] != '[' {
		return
	}
	i := skipSpace(v, 1)
	for i < len(v) && v[i] != ']' {
		e := skipChecked(v, i)
		if s, ok := str(v[i:e]); ok {
			fn(s)
		}
		i = skipSpace(v, e)
		if i < len(v) && v[i] == ',' {
			i = skipSpace(v, i+1)
		}
	}
}

// eachObject calls fn for each object of a checked JSON array.
func eachObject(v []byte, fn func([]byte)) {
	if len(v) == 0 || v[0] != '[' {
		return
	}
	i := skipSpace(v, 1)
	for i < len(v) && v[i] != ']' {
		e := skipChecked(v, i)
		if v[i] == '{' {
			fn(v[i:e])
		}
		i = skipSpace(v, e)
		if i < len(v) && v[i] == ',' {
			i = skipSpace(v, i+1)
		}
	}
}

// integer reads a checked JSON number that is a whole number.
func integer(v []byte) (int64, bool) {
	if len(v) == 0 || (v[0] != '-' && !isDigit(v[0])) {
		return 0, false
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(v), 64)
		if ferr != nil || f != float64(int64(f)) {
			return 0, false
		}
		return int64(f), true
	}
	return n, true
}

// boolean reads a checked JSON true.
func boolean(v []byte) bool { return len(v) == 4 && string(v) == "true" }

// plain returns the bytes of a checked JSON string that has no escapes,
// without its quotes.
func plain(v []byte) ([]byte, bool) {
	if len(v) < 2 || v[0] != '"' {
		return nil, false
	}
	inner := v[1 : len(v)-1]
	for _, c := range inner {
		if c == '\\' {
			return nil, false
		}
	}
	return inner, true
}

// elems is an iterator over the elements of a checked JSON array.
type elems struct {
	b []byte
	i int
}

func newElems(v []byte) elems {
	if len(v) == 0 || v[0] != '[' {
		return elems{}
	}
	return elems{b: v, i: 1}
}

func (e *elems) next() ([]byte, bool) {
	b := e.b
	i := skipSpace(b, e.i)
	if i >= len(b) || b[i] == ']' {
		return nil, false
	}
	if b[i] == ',' {
		i = skipSpace(b, i+1)
	}
	end := skipChecked(b, i)
	e.i = end
	return b[i:end], true
}
