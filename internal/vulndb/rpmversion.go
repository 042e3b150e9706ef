package vulndb

import (
	"fmt"
	"strconv"
	"strings"
)

// RPM package versions: [epoch:]version-release, as Red Hat's errata and
// OVAL data give them ("0:8.7p1-38.el9_4.1", "32:9.11.36-11.el8_9.1").
//
// RPM orders versions with its own algorithm (rpmvercmp), which differs
// from Debian's:
//
//   - The epoch is compared as a number first (missing means 0), then the
//     version, then the release, each with rpmvercmp.
//   - rpmvercmp walks both strings segment by segment. Characters that are
//     neither ASCII letters nor digits, other than '~' and '^', only
//     separate segments (so "1.0" and "1_0" are equal).
//   - '~' sorts before anything, the end of the string included:
//     1.0~rc1 < 1.0.
//   - '^' sorts after the end of the string but before anything else:
//     1.0 < 1.0^git1 < 1.0.1.
//   - A segment is a run of digits or a run of letters. Two digit runs
//     compare as numbers (leading zeros ignored); two letter runs compare
//     as byte strings; a digit run is newer than a letter run.
//   - When one string runs out first, the one with segments left is newer.

// RPMVersion is a parsed RPM epoch:version-release.
type RPMVersion struct {
	Epoch   int
	Version string
	Release string // "" when the string had none
	// EpochSet is true when the string carried an epoch.
	EpochSet bool
}

// maxRPMVersion bounds an RPM version string.
const maxRPMVersion = 256

// ParseRPMVersion parses "[epoch:]version[-release]". The release is what
// follows the last '-'; the version must be non-empty; only printable
// ASCII without spaces is accepted.
func ParseRPMVersion(s string) (RPMVersion, error) {
	var v RPMVersion
	if s == "" || len(s) > maxRPMVersion {
		return v, fmt.Errorf("vulndb: rpm version %q: empty or over %d bytes", clip(s), maxRPMVersion)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' {
			return v, fmt.Errorf("vulndb: rpm version %q: byte %#x", clip(s), c)
		}
	}
	rest := s
	if i := strings.IndexByte(rest, ':'); i >= 0 {
		e, err := strconv.Atoi(rest[:i])
		if err != nil || e < 0 || i > 10 {
			return v, fmt.Errorf("vulndb: rpm version %q: the epoch is not a number", clip(s))
		}
		v.Epoch, v.EpochSet = e, true
		rest = rest[i+1:]
	}
	if i := strings.LastIndexByte(rest, '-'); i >= 0 {
		v.Version, v.Release = rest[:i], rest[i+1:]
		if v.Release == "" {
			return v, fmt.Errorf("vulndb: rpm version %q: empty release", clip(s))
		}
	} else {
		v.Version = rest
	}
	if v.Version == "" || strings.ContainsAny(v.Version, ":") || strings.ContainsAny(v.Release, ":") {
		return v, fmt.Errorf("vulndb: rpm version %q: no version", clip(s))
	}
	return v, nil
}

// String writes the version back: "epoch:version-release", the epoch only
// when the input had one.
func (v RPMVersion) String() string {
	s := v.Version
	if v.Release != "" {
		s += "-" + v.Release
	}
	if v.EpochSet {
		s = strconv.Itoa(v.Epoch) + ":" + s
	}
	return s
}

// Compare orders v and o as RPM does: -1, 0 or 1.
func (v RPMVersion) Compare(o RPMVersion) int {
	switch {
	case v.Epoch < o.Epoch:
		return -1
	case v.Epoch > o.Epoch:
		return 1
	}
	if c := RPMVerCmp(v.Version, o.Version); c != 0 {
		return c
	}
	return RPMVerCmp(v.Release, o.Release)
}

// CompareRPMVersions parses and compares two RPM versions.
func CompareRPMVersions(a, b string) (int, error) {
	va, err := ParseRPMVersion(a)
	if err != nil {
		return 0, err
	}
	vb, err := ParseRPMVersion(b)
	if err != nil {
		return 0, err
	}
	return va.Compare(vb), nil
}

func rpmAlnum(c byte) bool { return rpmDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func rpmDigit(c byte) bool { return c >= '0' && c <= '9' }

// RPMVerCmp compares two version (or release) strings with RPM's
// segment algorithm described above: -1, 0 or 1.
func RPMVerCmp(a, b string) int {
	if a == b {
		return 0
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for i < len(a) && !rpmAlnum(a[i]) && a[i] != '~' && a[i] != '^' {
			i++
		}
		for j < len(b) && !rpmAlnum(b[j]) && b[j] != '~' && b[j] != '^' {
			j++
		}
		// '~': older than anything, the end included.
		ta, tb := i < len(a) && a[i] == '~', j < len(b) && b[j] == '~'
		if ta || tb {
			if !ta {
				return 1
			}
			if !tb {
				return -1
			}
			i, j = i+1, j+1
			continue
		}
		// '^': newer than the end, older than any segment.
		ca, cb := i < len(a) && a[i] == '^', j < len(b) && b[j] == '^'
		if ca || cb {
			switch {
			case i == len(a):
				return -1
			case j == len(b):
				return 1
			case !ca:
				return 1
			case !cb:
				return -1
			}
			i, j = i+1, j+1
			continue
		}
		if i == len(a) || j == len(b) {
			break
		}
		si, sj := i, j
		numeric := rpmDigit(a[i])
		if numeric {
			for i < len(a) && rpmDigit(a[i]) {
				i++
			}
			for j < len(b) && rpmDigit(b[j]) {
				j++
			}
		} else {
			for i < len(a) && rpmAlpha(a[i]) {
				i++
			}
			for j < len(b) && rpmAlpha(b[j]) {
				j++
			}
		}
		segA, segB := a[si:i], b[sj:j]
		if segB == "" {
			// Segments of different kinds: the digits are newer.
			if numeric {
				return 1
			}
			return -1
		}
		if numeric {
			segA, segB = strings.TrimLeft(segA, "0"), strings.TrimLeft(segB, "0")
			if len(segA) != len(segB) {
				if len(segA) < len(segB) {
					return -1
				}
				return 1
			}
		}
		if c := strings.Compare(segA, segB); c != 0 {
			return c
		}
	}
	switch {
	case i >= len(a) && j >= len(b):
		return 0
	case i >= len(a):
		return -1
	}
	return 1
}

func rpmAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
