package monitor

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/rampart-cert/rampart/internal/asset"
)

// Minimum label lengths (in letters) for the noisier techniques: one
// letter off a three-letter name, or a short name under another suffix,
// is somebody else's name far more often than an imitation.
const (
	minEditLen = 5 // omission, repetition, insertion, transposition, substitution
	minTLDLen  = 4 // another suffix
	minLabel   = 3 // any technique
)

// Constituent is a registered domain that look-alikes imitate.
type Constituent struct {
	Domain  string // a registrable domain, A-label form
	OrgID   int64
	AssetID int64
}

// Lookalike is one name judged to imitate a constituent.
type Lookalike struct {
	Name        string      `json:"name"`        // the name seen
	Registrable string      `json:"registrable"` // its registrable domain: what someone registered
	Imitates    Constituent `json:"imitates"`
	Technique   Technique   `json:"technique"`
}

type conEntry struct {
	Constituent
	label  string // Unicode label
	suffix string
	skel   string
}

// Matcher recognizes look-alikes of a set of constituents. Build it with
// NewMatcher; it is read-only and safe for concurrent use.
type Matcher struct {
	entries    []conEntry
	bySkel     map[string][]int32 // skeleton of a label, and of the flattened name
	byDel      map[string][]int32 // each one-letter deletion of a skeleton (long labels)
	flat       map[string]bool    // skeletons that are flattened names (technique)
	byDomain   map[string][]int32 // the registrable domain itself
	registered map[string]bool    // names that are the constituency's: never a look-alike
	words      []string
}

// NewMatcher indexes constituents. registered are names the
// constituency owns (registered assets and their registrable domains):
// a name under one of them is never reported. words are the words
// phishers add (nil: the defaults).
func NewMatcher(cons []Constituent, registered map[string]bool, words []string) *Matcher {
	if words == nil {
		words = defaultWords
	}
	m := &Matcher{bySkel: map[string][]int32{}, byDel: map[string][]int32{}, flat: map[string]bool{},
		byDomain: map[string][]int32{}, registered: registered, words: words}
	seen := map[Constituent]bool{}
	for _, c := range cons {
		if seen[c] {
			continue
		}
		seen[c] = true
		label, suffix, ok := splitDomain(c.Domain)
		if !ok || utf8.RuneCountInString(label) < minLabel {
			continue
		}
		e := conEntry{Constituent: c, label: label, suffix: suffix, skel: skeleton(label)}
		i := int32(len(m.entries))
		m.entries = append(m.entries, e)
		m.bySkel[e.skel] = append(m.bySkel[e.skel], i)
		fl := skeleton(label + strings.ReplaceAll(suffix, ".", ""))
		m.bySkel[fl] = append(m.bySkel[fl], i)
		m.flat[fl] = true
		m.byDomain[c.Domain] = append(m.byDomain[c.Domain], i)
		if utf8.RuneCountInString(e.skel) >= minEditLen {
			for _, d := range deletions(e.skel) {
				m.byDel[d] = append(m.byDel[d], i)
			}
		}
	}
	return m
}

// Len is how many constituents are indexed.
func (m *Matcher) Len() int { return len(m.entries) }

// deletions returns s with each one of its letters left out, without
// repeats.
func deletions(s string) []string {
	rs := []rune(s)
	out := make([]string, 0, len(rs))
	for i := range rs {
		d := string(rs[:i]) + string(rs[i+1:])
		if len(out) == 0 || out[len(out)-1] != d {
			out = append(out, d)
		}
	}
	return out
}

// Check returns the constituents name imitates, one Lookalike each, or
// nil. name is a DNS name as a certificate or a zone gives it (a leading
// "*." and a trailing dot are ignored); a name the constituency owns, or
// under a name it owns, is never a look-alike.
func (m *Matcher) Check(name string) []Lookalike {
	name = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(name, "*."), "."))
	if name == "" || len(name) > 253 || len(m.entries) == 0 {
		return nil
	}
	reg := asset.PublicSuffixes().RegistrableDomain(name)
	if reg == "" || m.owned(name, reg) {
		return nil
	}
	found := map[int32]Technique{}
	// The whole constituent name inside another: moh.gov.vn.example.com.
	if rest := strings.TrimSuffix(name, "."+reg); rest != name {
		for _, idx := range m.inside(rest) {
			found[idx] = TechSubdomain
		}
	}
	label, _, ok := splitDomain(reg)
	if ok && utf8.RuneCountInString(label) >= minLabel {
		m.checkLabel(label, reg, found)
	}
	if len(found) == 0 {
		return nil
	}
	out := make([]Lookalike, 0, len(found))
	for idx, t := range found {
		out = append(out, Lookalike{Name: name, Registrable: reg, Imitates: m.entries[idx].Constituent, Technique: t})
	}
	slices.SortFunc(out, func(a, b Lookalike) int { return strings.Compare(a.Imitates.Domain, b.Imitates.Domain) })
	return out
}

// owned reports whether name or its registrable domain, or any name
// between them, is the constituency's.
func (m *Matcher) owned(name, reg string) bool {
	if m.registered[reg] {
		return true
	}
	for n := name; n != reg; {
		if m.registered[n] {
			return true
		}
		i := strings.IndexByte(n, '.')
		if i < 0 {
			break
		}
		n = n[i+1:]
	}
	return false
}

// inside finds constituents whose whole name is a run of labels in rest
// ("moh.gov.vn" in "login.moh.gov.vn").
func (m *Matcher) inside(rest string) []int32 {
	labels := strings.Split(rest, ".")
	if len(labels) > 16 {
		labels = labels[len(labels)-16:]
	}
	var out []int32
	for i := range labels {
		for j := i + 2; j <= len(labels); j++ {
			out = append(out, m.byDomain[strings.Join(labels[i:j], ".")]...)
		}
	}
	return out
}

// checkLabel adds to found the constituents that label (the first label
// of registrable domain reg) imitates, with the technique.
func (m *Matcher) checkLabel(label, reg string, found map[int32]Technique) {
	skel := skeleton(label)
	put := func(idx int32, t Technique) {
		if _, ok := found[idx]; !ok {
			found[idx] = t
		}
	}
	for _, idx := range m.bySkel[skel] {
		e := &m.entries[idx]
		if e.Domain == reg {
			continue
		}
		switch {
		case m.flat[skel] && skel != e.skel:
			put(idx, TechFlattened)
		case label == e.label:
			if utf8.RuneCountInString(e.label) >= minTLDLen {
				put(idx, TechTLD)
			}
		case strings.ReplaceAll(label, "-", "") == strings.ReplaceAll(e.label, "-", ""):
			put(idx, TechHyphenation)
		case fold(label) == fold(e.label) && !strings.ContainsFunc(label, isConfusableDigitOrScript):
			put(idx, TechDiacritic)
		default:
			put(idx, TechHomoglyph)
		}
	}
	// Words added before or after the label.
	for _, w := range m.words {
		for _, rest := range []string{strings.TrimSuffix(label, w), strings.TrimPrefix(label, w)} {
			rest = strings.Trim(rest, "-")
			if rest == label || utf8.RuneCountInString(rest) < minLabel {
				continue
			}
			for _, idx := range m.bySkel[skeleton(rest)] {
				if m.entries[idx].skel == skeleton(rest) {
					put(idx, TechAddedWord)
				}
			}
		}
	}
	if utf8.RuneCountInString(skel) < minEditLen-1 {
		return
	}
	// One letter off: the symmetric deletion neighbourhoods meet, then
	// the edit is confirmed and named.
	var cands []int32
	cands = append(cands, m.byDel[skel]...) // a letter left out
	for _, d := range deletions(skel) {
		cands = append(cands, m.bySkel[d]...) // a letter added
		cands = append(cands, m.byDel[d]...)  // a letter changed or two swapped
	}
	for _, idx := range cands {
		e := &m.entries[idx]
		if e.Domain == reg || utf8.RuneCountInString(e.skel) < minEditLen {
			continue
		}
		if t, ok := oneEdit(e.skel, skel); ok {
			put(idx, t)
		}
	}
}

// isConfusableDigitOrScript reports a rune that makes a label a
// homoglyph rather than an accent variant.
func isConfusableDigitOrScript(r rune) bool {
	_, cyr := cyrillic[r]
	return cyr || r >= '0' && r <= '9'
}

// oneEdit reports whether b is a one-letter edit of a, and which.
func oneEdit(a, b string) (Technique, bool) {
	ra, rb := []rune(a), []rune(b)
	switch len(rb) - len(ra) {
	case -1: // b lacks a letter of a
		i := commonPrefix(ra, rb)
		if slices.Equal(ra[i+1:], rb[i:]) {
			return TechOmission, true
		}
	case 1: // b has a letter more
		i := commonPrefix(ra, rb)
		if slices.Equal(ra[i:], rb[i+1:]) {
			if (i > 0 && rb[i] == rb[i-1]) || (i+1 < len(rb) && rb[i] == rb[i+1]) {
				return TechRepetition, true
			}
			return TechInsertion, true
		}
	case 0:
		i := commonPrefix(ra, rb)
		if i == len(ra) {
			return "", false
		}
		if slices.Equal(ra[i+1:], rb[i+1:]) {
			return TechSubstitution, true
		}
		if i+1 < len(ra) && ra[i] == rb[i+1] && ra[i+1] == rb[i] && slices.Equal(ra[i+2:], rb[i+2:]) {
			return TechTransposition, true
		}
	}
	return "", false
}

func commonPrefix(a, b []rune) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}
