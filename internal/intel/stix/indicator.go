package stix

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rampart-cert/rampart/internal/intel"
)

// indicator is what the parser reads of a STIX indicator object.
type indicator struct {
	index       int
	id          string
	name        string
	description string
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
	markings    []string
	phases      []string
	references  string
	category    string // x_rampart_category, our own export's category
	bad         string // a property that makes the indicator unreadable
	raw         string
}

func (in *indicator) where() string {
	if in.id != "" {
		return in.id
	}
	return fmt.Sprintf("objects[%d]", in.index)
}

// decodeIndicator reads a checked indicator object.
func decodeIndicator(obj []byte, index int) indicator {
	in := indicator{index: index, raw: rawCut(obj)}
	badTime := func(k string, v []byte, dst *time.Time) {
		s, _ := str(v)
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			if in.bad == "" {
				in.bad = fmt.Sprintf("%s %q is not a timestamp", k, cut(s, 40))
			}
			return
		}
		*dst = t
	}
	m := newMembers(obj)
	for k, v, ok := m.next(); ok; k, v, ok = m.next() {
		switch k {
		case "id":
			in.id, _ = str(v)
		case "name":
			in.name, _ = str(v)
		case "description":
			in.description, _ = str(v)
		case "pattern":
			var ok bool
			if in.pattern, ok = str(v); !ok && in.bad == "" {
				in.bad = "pattern is not a string"
			}
		case "pattern_type":
			in.patternType, _ = str(v)
		case "created_by_ref":
			in.createdBy, _ = str(v)
		case "created":
			badTime(k, v, &in.created)
		case "modified":
			badTime(k, v, &in.modified)
		case "valid_from":
			badTime(k, v, &in.validFrom)
		case "valid_until":
			badTime(k, v, &in.validUntil)
		case "confidence":
			if n, ok := integer(v); ok {
				in.confidence, in.hasConf = n, true
			} else if string(v) != "null" && in.bad == "" {
				in.bad = fmt.Sprintf("confidence %s is not a whole number", cut(string(v), 20))
			}
		case "revoked":
			in.revoked = boolean(v)
		case "indicator_types":
			eachString(v, func(s string) { in.types = append(in.types, s) })
		case "labels":
			eachString(v, func(s string) { in.labels = append(in.labels, s) })
		case "object_marking_refs":
			eachString(v, func(s string) { in.markings = append(in.markings, s) })
		case "kill_chain_phases":
			eachObject(v, func(o []byte) { in.phases = append(in.phases, stringMember(o, "phase_name")) })
		case "external_references":
			var refs []string
			eachObject(v, func(o []byte) {
				var src, xid, url string
				rm := newMembers(o)
				for rk, rv, ok := rm.next(); ok; rk, rv, ok = rm.next() {
					switch rk {
					case "source_name":
						src, _ = str(rv)
					case "external_id":
						xid, _ = str(rv)
					case "url":
						url, _ = str(rv)
					}
				}
				refs = append(refs, strings.TrimSpace(strings.Join(slices.DeleteFunc([]string{src, xid, url}, func(s string) bool { return s == "" }), " ")))
			})
			in.references = cut(strings.Join(refs, "; "), 512)
		case "x_rampart_category":
			in.category, _ = str(v)
		}
	}
	return in
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
	obs, err := ParsePattern(in.pattern)
	if err != nil {
		var pe *PatternError
		if errors.As(err, &pe) {
			return nil, pe.Reason
		}
		return nil, err.Error()
	}

	labels, h := p.g.about(in.id)
	for _, l := range in.labels {
		labels = append(labels, tagLabel(l))
	}
	base := intel.Record{
		Feed:       p.feed,
		ExternalID: in.id,
		Confidence: intel.DefaultConfidence,
		TLP:        p.opt.DefaultTLP,
		ValidUntil: in.validUntil,
		Raw:        in.raw,
	}
	if in.hasConf {
		base.Confidence = int(in.confidence)
	}
	for _, ref := range in.markings {
		t, ok := wellKnownTLP(ref)
		if !ok {
			t, ok = p.g.markings[ref]
		}
		if !ok {
			continue // a statement or another scheme: not TLP
		}
		if base.TLP == p.opt.DefaultTLP {
			base.TLP = t
		} else {
			base.TLP = intel.Stricter(base.TLP, t)
		}
	}
	base.FirstSeen = firstOf(in.validFrom, in.created)
	base.LastSeen = latest(in.created, in.modified, in.validFrom)
	detail := map[string]string{}
	for k, v := range map[string]string{
		"name":        cut(in.name, 200),
		"description": cut(in.description, 512),
		"pattern":     cut(in.pattern, 1024),
		"references":  in.references,
	} {
		if v != "" {
			detail[k] = v
		}
	}
	if in.createdBy != "" {
		if n := p.g.identities[in.createdBy]; n != "" {
			detail["created_by"] = n
		} else {
			detail["created_by"] = in.createdBy
		}
	}

	recs := make([]intel.Record, 0, len(obs))
	for _, o := range obs {
		r := base
		r.Kind, r.Value = o.Kind, o.Value
		r.Category = p.category(in, h, o.Kind)
		r.Labels = slices.Clone(labels)
		r.Detail = maps.Clone(detail)
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

// tagLabel keeps a label that already has one of the model's prefixes
// and files any other under "tag:".
func tagLabel(l string) string {
	for _, p := range []string{"malware:", "actor:", "campaign:", "tool:", "tag:"} {
		if len(l) > len(p) && strings.EqualFold(l[:len(p)], p) {
			return l
		}
	}
	return "tag:" + l
}

// category decides what the indicator means, most specific first: our
// own export's category; "compromised" in indicator_types; phishing (the
// words, or an attack pattern of phishing it indicates); command and
// control (the words in the name, labels or types, a kill-chain phase, or
// C2 infrastructure it indicates); malware it indicates; an e-mail sender
// is phishing; anything else a blocklist entry.
func (p *parser) category(in *indicator, h hint, k intel.Kind) intel.Category {
	if c := intel.Category(strings.ToLower(in.category)); c != "" && slices.Contains(intel.Categories, c) {
		return c
	}
	for _, t := range in.types {
		if strings.EqualFold(t, "compromised") {
			return intel.CategoryCompromised
		}
	}
	texts := make([]string, 0, 1+len(in.types)+len(in.labels))
	texts = append(texts, in.name)
	texts = append(texts, in.types...)
	texts = append(texts, in.labels...)
	if h&hintPhishing != 0 || slices.ContainsFunc(texts, func(s string) bool { return strings.Contains(strings.ToLower(s), "phish") }) {
		return intel.CategoryPhishing
	}
	if h&hintC2 != 0 || slices.ContainsFunc(texts, isC2Text) || slices.ContainsFunc(in.phases, isC2Text) {
		return intel.CategoryC2
	}
	if h&hintMalware != 0 {
		return intel.CategoryMalware
	}
	if k == intel.KindEmail {
		return intel.CategoryPhishing
	}
	return intel.CategoryBlocklist
}

// isC2Text reports whether a text speaks of command and control: the
// words "C2", "C&C", "CnC" or "command and control".
func isC2Text(s string) bool {
	l := strings.ToLower(s)
	if strings.Contains(l, "command and control") || strings.Contains(l, "command-and-control") ||
		strings.Contains(l, "command & control") {
		return true
	}
	for _, w := range strings.FieldsFunc(l, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '&')
	}) {
		switch w {
		case "c2", "c&c", "cnc":
			return true
		}
	}
	return false
}
