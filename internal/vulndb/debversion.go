package vulndb

import (
	"errors"
	"fmt"
	"strings"
)

// Debian package versions ("1:9.2p1-2+deb12u3") are ordered by dpkg's
// rules, which this file implements in our own code (deb-version(7)):
//
//   - A version is [epoch:]upstream[-revision]. The epoch is a number
//     (absent means 0); the revision is what follows the last hyphen
//     (absent means empty, which sorts like "0"); the upstream version is
//     the rest and may itself hold hyphens when a revision follows.
//   - Epochs compare as numbers first; then the upstream versions, then
//     the revisions, each with the same string ordering.
//   - That ordering alternates runs: the longest run of non-digits from
//     both strings is compared character by character, where letters sort
//     before every other character and '~' sorts before everything, even
//     the end of the string ("1.0~rc1" < "1.0" < "1.0a" < "1.0+dfsg");
//     then the longest run of digits from both compares as a number (an
//     empty run is 0). The first difference decides.
//
// Ubuntu uses the same rules. Versions are parsed strictly enough to
// refuse what no archive would accept (an empty upstream version, a
// non-numeric epoch, spaces), since an advisory's version and a banner
// are outside input.

// ErrBadDebVersion: a string is not a Debian package version.
var ErrBadDebVersion = errors.New("vulndb: bad debian version")

// DebVersion is a parsed Debian package version.
type DebVersion struct {
	Epoch    uint64
	Upstream string
	Revision string
}

// maxDebVersion bounds a version string: real ones are a few dozen bytes.
const maxDebVersion = 256

// ParseDebVersion parses "[epoch:]upstream[-revision]".
func ParseDebVersion(s string) (DebVersion, error) {
	var v DebVersion
	if s == "" || len(s) > maxDebVersion {
		return v, fmt.Errorf("%w: %q", ErrBadDebVersion, clip(s))
	}
	rest := s
	if i := strings.IndexByte(rest, ':'); i >= 0 {
		e := rest[:i]
		if e == "" || len(e) > 9 {
			return v, fmt.Errorf("%w: %q: epoch", ErrBadDebVersion, clip(s))
		}
		for k := 0; k < len(e); k++ {
			if !isDigit(e[k]) {
				return v, fmt.Errorf("%w: %q: epoch is not a number", ErrBadDebVersion, clip(s))
			}
			v.Epoch = v.Epoch*10 + uint64(e[k]-'0')
		}
		rest = rest[i+1:]
	}
	if i := strings.LastIndexByte(rest, '-'); i >= 0 {
		v.Upstream, v.Revision = rest[:i], rest[i+1:]
		if v.Revision == "" {
			return v, fmt.Errorf("%w: %q: empty revision", ErrBadDebVersion, clip(s))
		}
	} else {
		v.Upstream = rest
	}
	if v.Upstream == "" {
		return v, fmt.Errorf("%w: %q: empty upstream version", ErrBadDebVersion, clip(s))
	}
	for k := 0; k < len(v.Upstream); k++ {
		if !debUpstreamChar(v.Upstream[k]) {
			return v, fmt.Errorf("%w: %q: character %q in the upstream version", ErrBadDebVersion, clip(s), v.Upstream[k])
		}
	}
	for k := 0; k < len(v.Revision); k++ {
		if !debRevisionChar(v.Revision[k]) {
			return v, fmt.Errorf("%w: %q: character %q in the revision", ErrBadDebVersion, clip(s), v.Revision[k])
		}
	}
	return v, nil
}

func debUpstreamChar(c byte) bool {
	return isDigit(c) || isLetter(c) || c == '.' || c == '+' || c == '-' || c == '~' || c == ':'
}

func debRevisionChar(c byte) bool {
	return isDigit(c) || isLetter(c) || c == '.' || c == '+' || c == '~'
}

// String writes the version back ("1:9.2p1-2+deb12u3"); a zero epoch is
// left out.
func (v DebVersion) String() string {
	var b strings.Builder
	if v.Epoch > 0 {
		fmt.Fprintf(&b, "%d:", v.Epoch)
	}
	b.WriteString(v.Upstream)
	if v.Revision != "" {
		b.WriteByte('-')
		b.WriteString(v.Revision)
	}
	return b.String()
}

// Compare orders v and w as dpkg does: -1, 0 or +1.
func (v DebVersion) Compare(w DebVersion) int {
	switch {
	case v.Epoch < w.Epoch:
		return -1
	case v.Epoch > w.Epoch:
		return 1
	}
	if c := debCompareString(v.Upstream, w.Upstream); c != 0 {
		return c
	}
	return debCompareString(v.Revision, w.Revision)
}

// CompareDebVersions parses and compares two Debian versions.
func CompareDebVersions(a, b string) (int, error) {
	va, err := ParseDebVersion(a)
	if err != nil {
		return 0, err
	}
	vb, err := ParseDebVersion(b)
	if err != nil {
		return 0, err
	}
	return va.Compare(vb), nil
}

// debOrder is the weight of one character in a non-digit run: '~' below
// the end of the string (0), letters by their code, anything else above
// every letter.
func debOrder(s string, i int) int {
	if i >= len(s) {
		return 0
	}
	c := s[i]
	switch {
	case isDigit(c):
		return 0
	case isLetter(c):
		return int(c)
	case c == '~':
		return -1
	}
	return int(c) + 256
}

// debCompareString is dpkg's comparison of an upstream version or a
// revision.
func debCompareString(a, b string) int {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		// The non-digit run.
		for i < len(a) && !isDigit(a[i]) || j < len(b) && !isDigit(b[j]) {
			ca, cb := debOrder(a, i), debOrder(b, j)
			if ca != cb {
				return sign(ca - cb)
			}
			i++
			j++
		}
		// The digit run, as a number: skip leading zeros, then the longer
		// run is the bigger number, else the first differing digit.
		for i < len(a) && a[i] == '0' {
			i++
		}
		for j < len(b) && b[j] == '0' {
			j++
		}
		first := 0
		for i < len(a) && isDigit(a[i]) && j < len(b) && isDigit(b[j]) {
			if first == 0 {
				first = int(a[i]) - int(b[j])
			}
			i++
			j++
		}
		if i < len(a) && isDigit(a[i]) {
			return 1
		}
		if j < len(b) && isDigit(b[j]) {
			return -1
		}
		if first != 0 {
			return sign(first)
		}
	}
	return 0
}
