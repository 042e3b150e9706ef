package asset

import (
	"bufio"
	_ "embed" // the Public Suffix List ships inside the binary
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"golang.org/x/net/idna"
)

// The Public Suffix List (https://publicsuffix.org/) says under which names
// anyone may register a name: "vn", "gov.vn", "com.vn", "co.uk",
// "github.io". A suffix belongs to a registry, never to one organization, so
// nobody claims it as an asset (a domain asset covers every subdomain).
//
// The list ships offline in data/public_suffix_list.dat (MPL-2.0, see
// data/README.md) and is parsed on first use, not at start-up.

//go:embed data/public_suffix_list.dat
var pslData string

// Limits of the list parser: the real list is about 10,000 rules in
// 330 KB; anything far bigger is not a suffix list.
const (
	maxPSLRules    = 100_000
	maxPSLLineLen  = 1024
	maxPSLFileSize = 16 << 20
)

// ErrPSL wraps every error of ParseSuffixList.
var ErrPSL = errors.New("asset: public suffix list")

// SuffixList is a parsed Public Suffix List. It is immutable and safe for
// concurrent use.
type SuffixList struct {
	rules map[string]ruleKind // rule without "*." or "!", in A-labels
}

type ruleKind uint8

const (
	ruleNormal    ruleKind = 1 << iota // "gov.vn"
	ruleWildcard                       // "*.ck": every child of ck is a suffix
	ruleException                      // "!www.ck": www.ck is not a suffix
)

// ParseSuffixList reads a list in the publicsuffix.org format: one rule per
// line, "//" comments, "*." wildcards, "!" exceptions, Unicode or punycode
// labels. Both the ICANN and the PRIVATE sections count. A line it cannot
// use is an error with its number; the input is hostile until proven
// otherwise (size, line length and rule count are capped).
func ParseSuffixList(r io.Reader) (*SuffixList, error) {
	l := &SuffixList{rules: make(map[string]ruleKind, 10000)}
	sc := bufio.NewScanner(io.LimitReader(r, maxPSLFileSize+1))
	sc.Buffer(make([]byte, 0, 4096), maxPSLLineLen)
	read, n := 0, 0
	for sc.Scan() {
		n++
		line := sc.Text()
		read += len(line) + 1
		if read > maxPSLFileSize {
			return nil, fmt.Errorf("%w: larger than %d bytes", ErrPSL, maxPSLFileSize)
		}
		// A rule ends at the first white space; the rest is ignored.
		if i := strings.IndexAny(line, " \t\r"); i >= 0 {
			line = line[:i]
		}
		if line == "" || strings.HasPrefix(line, "//") {
			continue
		}
		kind := ruleNormal
		switch {
		case strings.HasPrefix(line, "!"):
			kind, line = ruleException, line[1:]
		case strings.HasPrefix(line, "*."):
			kind, line = ruleWildcard, line[2:]
		}
		name, err := suffixName(line)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrPSL, n, err)
		}
		if kind == ruleException && !strings.Contains(name, ".") {
			return nil, fmt.Errorf("%w: line %d: an exception needs two labels", ErrPSL, n)
		}
		if _, ok := l.rules[name]; !ok && len(l.rules) >= maxPSLRules {
			return nil, fmt.Errorf("%w: more than %d rules", ErrPSL, maxPSLRules)
		}
		l.rules[name] |= kind
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: line %d: %v", ErrPSL, n+1, err)
	}
	if len(l.rules) == 0 {
		return nil, fmt.Errorf("%w: no rules", ErrPSL)
	}
	return l, nil
}

// suffixName converts one rule (without "*." or "!") to lower-case
// A-labels and checks it.
func suffixName(s string) (string, error) {
	if s == "" || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") || strings.Contains(s, "..") {
		return "", fmt.Errorf("rule %s: empty label", quoteShort(s))
	}
	if strings.ContainsAny(s, "*!") {
		return "", fmt.Errorf("rule %s: a wildcard or exception only at the start", quoteShort(s))
	}
	labels := strings.Split(s, ".")
	for i, lb := range labels {
		if !isASCII(lb) {
			a, err := idna.Lookup.ToASCII(lb)
			if err != nil {
				return "", fmt.Errorf("rule %s: label %s: %v", quoteShort(s), quoteShort(lb), err)
			}
			lb = a
		}
		lb = strings.ToLower(lb)
		if len(lb) > maxLabelLen {
			return "", fmt.Errorf("rule %s: label longer than %d bytes", quoteShort(s), maxLabelLen)
		}
		for j := 0; j < len(lb); j++ {
			c := lb[j]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("rule %s: character %q", quoteShort(s), c)
			}
		}
		labels[i] = lb
	}
	name := strings.Join(labels, ".")
	if len(name) > maxNameLen {
		return "", fmt.Errorf("rule %s: longer than %d bytes", quoteShort(s), maxNameLen)
	}
	return name, nil
}

// PublicSuffix returns the public suffix of name, a normalized DNS name
// (lower-case A-labels, no trailing dot): the longest suffix a rule makes
// public, or the last label when no rule matches (the implicit "*" rule).
func (l *SuffixList) PublicSuffix(name string) string {
	// Walk suffixes from the longest: "a.b.gov.vn", "b.gov.vn", "gov.vn", "vn".
	suffix := name
	for {
		k := l.rules[suffix]
		if k&ruleException != 0 {
			// "!www.ck": the suffix is the exception minus its first label.
			if i := strings.IndexByte(suffix, '.'); i >= 0 {
				return suffix[i+1:]
			}
		}
		if k&ruleNormal != 0 {
			return suffix
		}
		i := strings.IndexByte(suffix, '.')
		if i < 0 {
			return suffix // a bare TLD is always a suffix
		}
		parent := suffix[i+1:]
		if l.rules[parent]&ruleWildcard != 0 {
			// "*.ck" makes every child of ck a suffix ("!www.ck" was
			// handled above).
			return suffix
		}
		suffix = parent
	}
}

// IsPublicSuffix reports whether name itself is a public suffix: "vn",
// "gov.vn", "co.uk", "anything.ck" but not "www.ck".
func (l *SuffixList) IsPublicSuffix(name string) bool {
	return l.PublicSuffix(name) == name
}

// RegistrableDomain returns name's public suffix plus one label
// ("portal.moh.gov.vn" → "moh.gov.vn"), or "" when name is itself a suffix.
func (l *SuffixList) RegistrableDomain(name string) string {
	ps := l.PublicSuffix(name)
	if ps == name {
		return ""
	}
	rest := strings.TrimSuffix(name, "."+ps)
	if i := strings.LastIndexByte(rest, '.'); i >= 0 {
		rest = rest[i+1:]
	}
	return rest + "." + ps
}

// PublicSuffixes returns the list shipped with Rampart, parsed on first
// use. The embedded file is tested, so an error here is a broken build.
var PublicSuffixes = sync.OnceValue(func() *SuffixList {
	l, err := ParseSuffixList(strings.NewReader(pslData))
	if err != nil {
		panic("asset: the embedded public suffix list does not parse: " + err.Error())
	}
	return l
})
