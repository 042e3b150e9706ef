package stix

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/intel/misp"
)

// indicator is what the parser reads of a STIX indicator object.
type indicator struct {
	index       int
	id          string
	name        string
	pattern     string
	patternType string
	createdBy   string
	created     time.Time
	modified    time.Time
	validFrom   time.Time
	validUntil  time.Time
	confidence  int64
	hasConf     bool
	revoked     bool
	types       []string
	labels      []string
	knownTLP    intel.TLP // the strictest of the published TLP markings
	markings    []string  // other marking references
	c2Phase     bool      // a kill-chain phase of command and control
	references  string
	category    string // x_rampart_category, our own export's category
	// recipients: x_rampart_recipients, whom a TLP:RED indicator is for
	// ({"orgs": [platform organization IDs], "users": [user IDs]}).
	recipients intel.Recipients
	bad        string // a property that makes the indicator unreadable
	raw        string
}

func (in *indicator) where() string {
	if in.id != "" {
		return in.id
	}
	return fmt.Sprintf("objects[%d]", in.index)
}

// decodeIndicator reads a checked indicator object. It allocates only
// for what it keeps: the vocabulary values, well-known markings and
// timestamps are read in place.
func decodeIndicator(obj []byte, ms []member, index int, g *graph) indicator {
	in := indicator{index: index, raw: rawCut(obj)}
	for i := range ms {
		v := ms[i].val
		switch string(ms[i].name()) {
		case "id":
			in.id, _ = str(v)
		case "name":
			in.name, _ = str(v)
		case "pattern":
			var ok bool
			if in.pattern, ok = str(v); !ok && in.bad == "" {
				in.bad = "pattern is not a string"
			}
		case "pattern_type":
			if b, ok := plain(v); !ok || !strings.EqualFold(string(b), "stix") {
				in.patternType, _ = str(v)
			}
		case "created_by_ref":
			if b, ok := plain(v); ok && g.identities[string(b)] != "" {
				in.createdBy = g.identities[string(b)]
			} else {
				in.createdBy, _ = str(v)
			}
		case "created":
			in.readTime("created", v, &in.created)
		case "modified":
			in.readTime("modified", v, &in.modified)
		case "valid_from":
			in.readTime("valid_from", v, &in.validFrom)
		case "valid_until":
			in.readTime("valid_until", v, &in.validUntil)
		case "confidence":
			if n, ok := integer(v); ok {
				in.confidence, in.hasConf = n, true
			} else if string(v) != "null" && in.bad == "" {
				in.bad = fmt.Sprintf("confidence %s is not a whole number", cut(string(v), 20))
			}
		case "revoked":
			in.revoked = boolean(v)
		case "indicator_types":
			for e := newElems(v); ; {
				ev, ok := e.next()
				if !ok {
					break
				}
				in.types = append(in.types, vocabulary(ev))
			}
		case "labels":
			for e := newElems(v); ; {
				ev, ok := e.next()
				if !ok {
					break
				}
				if s, ok := str(ev); ok {
					in.labels = append(in.labels, s)
				}
			}
		case "object_marking_refs":
			for e := newElems(v); ; {
				ev, ok := e.next()
				if !ok {
					break
				}
				if b, ok := plain(ev); ok {
					if t, ok := wellKnownTLP(b); ok {
						in.knownTLP = strictest(in.knownTLP, t)
						continue
					}
				}
				if s, ok := str(ev); ok {
					in.markings = append(in.markings, s)
				}
			}
		case "kill_chain_phases":
			for e := newElems(v); ; {
				ev, ok := e.next()
				if !ok {
					break
				}
				if len(ev) > 0 && ev[0] == '{' {
					pm := newMembers(ev)
					for pk, pv, ok := pm.next(); ok; pk, pv, ok = pm.next() {
						if b, isPlain := plain(pv); string(pk) == "phase_name" && isPlain && isC2Text(b) {
							in.c2Phase = true
						}
					}
				}
			}
		case "external_references":
			in.references = readReferences(v)
		case "x_rampart_category":
			in.category, _ = str(v)
		case "x_rampart_recipients":
			dec := json.NewDecoder(bytes.NewReader(v))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&in.recipients); err != nil && in.bad == "" {
				in.bad = `x_rampart_recipients is not {"orgs": [IDs], "users": [IDs]}`
			}
		}
	}
	return in
}

// readTime reads a timestamp; a bad one makes the indicator unreadable.
func (in *indicator) readTime(name string, v []byte, dst *time.Time) {
	if t, ok := fastTime(v); ok {
		*dst = t
		return
	}
	s, _ := str(v)
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		if in.bad == "" {
			in.bad = fmt.Sprintf("%s %q is not a timestamp", name, cut(s, 40))
		}
		return
	}
	*dst = t
}

// fastTime reads the usual STIX timestamp, "YYYY-MM-DDTHH:MM:SS[.s…]Z"
// with its quotes, without allocating; anything else is left to
// time.Parse.
func fastTime(v []byte) (time.Time, bool) {
	if len(v) < 22 || v[0] != '"' || v[len(v)-1] != '"' || v[len(v)-2] != 'Z' {
		return time.Time{}, false
	}
	b := v[1 : len(v)-2]
	if b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	num := func(s []byte) (int, bool) {
		n := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(b[0:4])
	mo, ok2 := num(b[5:7])
	d, ok3 := num(b[8:10])
	h, ok4 := num(b[11:13])
	mi, ok5 := num(b[14:16])
	sec, ok6 := num(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	ns := 0
	if frac := b[19:]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, false
		}
		n, ok := num(frac[1:])
		if !ok {
			return time.Time{}, false
		}
		for i := len(frac) - 1; i < 9; i++ {
			n *= 10
		}
		ns = n
	}
	if d > daysIn(mo, y) { // 31 February
		return time.Time{}, false
	}
	return time.Date(y, time.Month(mo), d, h, mi, sec, ns, time.UTC), true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// vocabulary returns an indicator type, without allocating for the
// STIX 2.1 vocabulary.
func vocabulary(v []byte) string {
	if b, ok := plain(v); ok {
		for _, w := range []string{"malicious-activity", "anomalous-activity", "compromised", "attribution", "benign", "anonymization", "unknown"} {
			if string(b) == w {
				return w
			}
		}
	}
	s, _ := str(v)
	return s
}

// readReferences formats external_references as "source id url; …".
func readReferences(v []byte) string {
	var refs []string
	for e := newElems(v); ; {
		o, ok := e.next()
		if !ok {
			break
		}
		if len(o) == 0 || o[0] != '{' {
			continue
		}
		var parts []string
		rm := newMembers(o)
		for rk, rv, ok := rm.next(); ok; rk, rv, ok = rm.next() {
			switch string(rk) {
			case "source_name", "external_id", "url":
				if s, ok := str(rv); ok && s != "" {
					parts = append(parts, s)
				}
			}
		}
		refs = append(refs, strings.Join(parts, " "))
	}
	return cut(strings.Join(refs, "; "), 512)
}

// rawCut is the object's text cut to intel.MaxRaw on a character boundary.
func rawCut(obj []byte) string {
	if len(obj) <= intel.MaxRaw {
		return string(obj)
	}
	n := intel.MaxRaw
	for n > 0 && !utf8.RuneStart(obj[n]) {
		n--
	}
	return string(obj[:n])
}

// cut shortens s to at most n bytes on a character boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// records turns an indicator into its records, or returns why it cannot.
// The records are valid until the next call.
func (p *parser) records(in *indicator) ([]intel.Record, string) {
	switch {
	case in.revoked:
		return nil, "indicator is revoked"
	case in.bad != "":
		return nil, in.bad
	case in.patternType != "" && !strings.EqualFold(in.patternType, "stix"):
		return nil, fmt.Sprintf("pattern_type %q is not supported: only STIX patterns are", cut(in.patternType, 40))
	case in.pattern == "":
		return nil, "indicator has no pattern"
	case in.hasConf && (in.confidence < 0 || in.confidence > 100):
		return nil, fmt.Sprintf("confidence %d is outside 0-100", in.confidence)
	}
	obs, err := p.patterns.parse(in.pattern)
	if err != nil {
		var pe *PatternError
		if errors.As(err, &pe) {
			return nil, pe.Reason
		}
		return nil, err.Error()
	}

	labels, h := p.g.about(in.id)
	var labelTLP intel.TLP
	for _, l := range in.labels {
		lab, t, lh := p.readLabel(l)
		if lab != "" {
			labels = append(labels, lab)
		}
		if t != "" {
			labelTLP = strictest(labelTLP, t)
		}
		h |= lh
	}
	base := intel.Record{
		Feed:       p.feed,
		ExternalID: in.id,
		Confidence: intel.DefaultConfidence,
		TLP:        p.opt.DefaultTLP,
		ValidUntil: in.validUntil,
		Raw:        in.raw,
		Recipients: in.recipients,
	}
	if in.hasConf {
		base.Confidence = int(in.confidence)
	}
	marked := in.knownTLP
	for _, ref := range in.markings {
		t, ok := wellKnownTLP(ref)
		if !ok {
			t, ok = p.g.markings[ref]
		}
		if ok { // else a statement or another scheme: not TLP
			marked = strictest(marked, t)
		}
	}
	// A marking wins over a "tlp:" label (as MISP exports write them).
	if marked == "" {
		marked = labelTLP
	}
	if marked != "" {
		base.TLP = marked
	}
	base.FirstSeen = firstOf(in.validFrom, in.created)
	base.LastSeen = latest(in.created, in.modified, in.validFrom)
	detail := make(map[string]string, 6)
	setDetail := func(k, v string) {
		if v != "" {
			detail[k] = v
		}
	}
	// The description and the pattern are in Raw.
	setDetail("name", cut(in.name, 200))
	setDetail("references", in.references)
	if in.createdBy != "" {
		if n := p.g.identities[in.createdBy]; n != "" {
			detail["created_by"] = n
		} else {
			detail["created_by"] = in.createdBy
		}
	}
	if len(detail) == 0 {
		detail = nil
	}
	base.Labels, base.Detail = labels, detail
	category := p.category(in, h)

	recs := p.recs[:0]
	defer func() { p.recs = recs[:0] }()
	for i, o := range obs {
		r := base
		r.Kind, r.Value = o.Kind, o.Value
		r.Category = category
		if category == intel.CategoryBlocklist && o.Kind == intel.KindEmail {
			r.Category = intel.CategoryPhishing // a sender's address
		}
		if i > 0 { // records share nothing mutable
			r.Labels = slices.Clone(labels)
			r.Detail = maps.Clone(detail)
		}
		if err := r.Normalize(p.opt.Now); err != nil {
			return nil, fmt.Sprintf("%s value %q: %v", o.Kind, cut(o.Value, 100), errors.Unwrap(err))
		}
		if slices.ContainsFunc(recs, func(x intel.Record) bool { return x.Kind == r.Kind && x.Value == r.Value }) {
			continue
		}
		recs = append(recs, r)
	}
	return recs, ""
}

func firstOf(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

func latest(ts ...time.Time) time.Time {
	var l time.Time
	for _, t := range ts {
		if t.After(l) {
			l = t
		}
	}
	return l
}

// maxLabelCache bounds the labels the parser remembers.
const maxLabelCache = 4096

// readLabel is the package's readLabel, remembered: a bundle repeats a
// few labels (a family, a threat type) over many indicators, whose
// records then share the strings.
func (p *parser) readLabel(l string) (string, intel.TLP, hint) {
	if r, ok := p.labels[l]; ok {
		return r.label, r.tlp, r.hint
	}
	lab, t, h := readLabel(l)
	if p.labels == nil {
		p.labels = map[string]readLabelResult{}
	}
	if len(p.labels) < maxLabelCache {
		p.labels[l] = readLabelResult{lab, t, h}
	}
	return lab, t, h
}

type readLabelResult struct {
	label string
	tlp   intel.TLP
	hint  hint
}

// readLabel reads one of the indicator's labels. A label that already
// has one of the model's prefixes ("malware:", "actor:", "campaign:",
// "tool:", "tag:") is kept; any other is read as a MISP tag (MISP writes
// its tags as STIX labels): galaxies become "actor:", "malware:" or
// "tool:" labels, "tlp:" labels a marking, MISP's own export metadata
// (misp:name=…) nothing, and the rest "tag:<label>".
func readLabel(l string) (label string, t intel.TLP, h hint) {
	for _, p := range []string{"malware:", "actor:", "campaign:", "tool:", "tag:"} {
		if len(l) > len(p) && strings.EqualFold(l[:len(p)], p) {
			return l, "", 0
		}
	}
	m := misp.ReadTag(l)
	switch m.Category {
	case intel.CategoryMalware:
		h = hintMalware
	case intel.CategoryC2:
		h = hintC2
	case intel.CategoryPhishing:
		h = hintPhishing
	}
	return m.Label, m.TLP, h
}

func strictest(a, b intel.TLP) intel.TLP {
	if a == "" {
		return b
	}
	return intel.Stricter(a, b)
}

// category decides what the indicator means, most specific first: our
// own export's category; "compromised" in indicator_types; phishing (the
// word in the name, types or labels, or an attack pattern of phishing it
// indicates); command and control (the words in the name, labels or
// types, a kill-chain phase, or C2 infrastructure it indicates); malware
// it indicates; else a blocklist entry (records turns an e-mail address
// of a blocklist entry into phishing: a sender).
func (p *parser) category(in *indicator, h hint) intel.Category {
	if in.category != "" {
		if c := intel.Category(strings.ToLower(in.category)); slices.Contains(intel.Categories, c) {
			return c
		}
	}
	for _, t := range in.types {
		if strings.EqualFold(t, "compromised") {
			return intel.CategoryCompromised
		}
	}
	phish := func(s string) bool { return containsFold(s, "phish") }
	if h&hintPhishing != 0 || phish(in.name) || slices.ContainsFunc(in.types, phish) || slices.ContainsFunc(in.labels, phish) {
		return intel.CategoryPhishing
	}
	if h&hintC2 != 0 || isC2Text(in.name) || slices.ContainsFunc(in.types, isC2Text[string]) ||
		slices.ContainsFunc(in.labels, isC2Text[string]) || in.c2Phase {
		return intel.CategoryC2
	}
	if h&hintMalware != 0 {
		return intel.CategoryMalware
	}
	return intel.CategoryBlocklist
}

// containsFold reports whether s contains sub (lower-case ASCII) in any
// letter case.
func containsFold[T string | []byte](s T, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		j := 0
		for j < len(sub) && lowerASCII(s[i+j]) == sub[j] {
			j++
		}
		if j == len(sub) {
			return true
		}
	}
	return false
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// isC2Text reports whether a text speaks of command and control: the
// words "C2", "C&C", "CnC" or "command and control" (or
// command-and-control), in any letter case.
func isC2Text[T string | []byte](s T) bool {
	if containsFold(s, "command and control") || containsFold(s, "command-and-control") ||
		containsFold(s, "command & control") {
		return true
	}
	word := func(c byte) bool {
		c = lowerASCII(c)
		return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '&'
	}
	for i := 0; i < len(s); {
		if !word(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && word(s[j]) {
			j++
		}
		if w := s[i:j]; len(w) <= 3 && (strings.EqualFold(string(w), "c2") || strings.EqualFold(string(w), "c&c") || strings.EqualFold(string(w), "cnc")) {
			return true
		}
		i = j
	}
	return false
}
