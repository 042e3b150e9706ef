// Package jsonw appends JSON values exactly as encoding/json writes them,
// without its reflection, for the hot paths that encode millions of
// values of a few known shapes (a report's early warnings, their events).
// A value it does not write itself in its common form goes through
// encoding/json, so the output is always json.Marshal's.
package jsonw

import (
	"encoding/json"
	"strconv"
)

// plain is the ASCII that encoding/json writes as itself inside a string
// and, outside strings, in compacted JSON: not a control character, quote
// or backslash, nor <, > and & (escaped for HTML).
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// AppendString appends s quoted as json.Marshal writes it; anything but
// plain ASCII goes through json.Marshal.
func AppendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !plain[s[i]] {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// AppendField appends `,"name":` (without the comma when first) and the
// quoted s.
func AppendField(b []byte, name, s string, first bool) []byte {
	if !first {
		b = append(b, ',')
	}
	b = AppendString(b, name)
	b = append(b, ':')
	return AppendString(b, s)
}

// AppendOpt appends prefix (such as `,"name":`) and the quoted s, unless
// s is empty (omitempty).
func AppendOpt(b []byte, prefix, s string) []byte {
	if s == "" {
		return b
	}
	return AppendString(append(b, prefix...), s)
}

// AppendInt appends `,"name":` and i.
func AppendInt(b []byte, name string, i int64) []byte {
	b = append(b, ',')
	b = AppendString(b, name)
	b = append(b, ':')
	return strconv.AppendInt(b, i, 10)
}

// AppendStrings appends `,"name":` and the list of ss.
func AppendStrings(b []byte, name string, ss []string) []byte {
	b = append(b, ',')
	b = AppendString(b, name)
	b = append(b, ":["...)
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, s)
	}
	return append(b, ']')
}
