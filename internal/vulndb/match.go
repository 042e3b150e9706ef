package vulndb

import "strings"

// Matching one concrete CPE (what a fingerprint saw) against NVD criteria.
//
// Attributes other than version and update match as attrMatch says:
// criteria ANY matches anything, NA only NA, a wildcard value by pattern,
// any other value by equality; a target attribute the fingerprint left ANY
// is taken as matching (see attrMatch).
//
// Version and update are matched together, because NVD writes OpenSSH
// 7.4p1 as version "7.4", update "p1" while fingerprints say "7.4p1":
//
//   - The target's full version is its version with its update appended
//     when the update is a value ("7.4" + "p1" = "7.4p1").
//   - Criteria with version ANY and a range: the full version must lie in
//     the range (CompareVersion). When the criteria names an update as
//     well (openssh:*:p2 up to 7.2), the target must carry that update,
//     either as its update attribute or as the end of its version, and the
//     range is checked on the version without it.
//   - Criteria with version ANY and no range match every version,
//     including an unknown one.
//   - Criteria with a concrete version: the target's version must be known
//     and equal to it (CompareVersion == 0, so 1.20 == 1.20.0). With update
//     ANY any update of that version matches: 7.4, 7.4:p1 and 7.4p1 all
//     match openssh:7.4:*, since a trailing letters-then-digits suffix
//     (p1, rc2, sp1) is read as the update; a bare letter (OpenSSL 1.0.1f)
//     stays part of the version, as NVD writes it. With update NA the full version must equal the
//     version; with an update value the full version must equal version +
//     update (openssh:8.5:p1 matches "8.5p1").
//   - An unknown target version (ANY) matches no concrete version and no
//     range: we report only what we can show.
//
// A range on a criteria whose version is not ANY is ignored, as NVD does.

// matchCPE reports whether the compiled criteria m matches target t.
func (m *CPEMatch) matchCPE(t *CPE) bool {
	c := &m.crit
	if !attrMatch(c.Part, t.Part) || !attrMatch(c.Vendor, t.Vendor) || !attrMatch(c.Product, t.Product) {
		return false
	}
	if !attrMatch(c.Edition, t.Edition) || !attrMatch(c.Language, t.Language) ||
		!attrMatch(c.SWEdition, t.SWEdition) || !attrMatch(c.TargetSW, t.TargetSW) ||
		!attrMatch(c.TargetHW, t.TargetHW) || !attrMatch(c.Other, t.Other) {
		return false
	}
	return m.matchVersion(t)
}

func (m *CPEMatch) matchVersion(t *CPE) bool {
	c := &m.crit
	tv, tu := unquote(t.Version), t.Update
	full := tv
	if specific(tu) && specific(tv) {
		full = joinUpdate(tv, unquote(tu))
	}
	cv, cu := c.Version, c.Update
	switch {
	case cv == Any || cv == "":
		if !m.hasRange() {
			if specific(cu) && !hasWildcard(cu) {
				_, ok := stripUpdate(tv, tu, unquote(cu))
				return ok || !specific(tv)
			}
			return attrMatch(cu, tu)
		}
		if !specific(tv) {
			return false
		}
		base := full
		switch {
		case specific(cu) && !hasWildcard(cu):
			b, ok := stripUpdate(tv, tu, unquote(cu))
			if !ok {
				return false
			}
			base = b
		case cu == NA:
			if specific(tu) {
				return false
			}
		}
		return m.inRange(base)
	case cv == NA:
		return tv == NA
	case hasWildcard(cv):
		return specific(tv) && globMatch(cv, t.Version) && attrMatch(cu, tu)
	}
	if !specific(tv) {
		return false
	}
	cvv := unquote(cv)
	switch {
	case cu == Any || cu == "":
		if CompareVersion(tv, cvv) == 0 || CompareVersion(full, cvv) == 0 {
			return true
		}
		// "7.4p1" is version 7.4, update p1 in NVD's words.
		base, ok := splitUpdate(tv)
		return ok && !specific(tu) && CompareVersion(base, cvv) == 0
	case cu == NA:
		return CompareVersion(full, cvv) == 0
	case hasWildcard(cu):
		return CompareVersion(tv, cvv) == 0 && attrMatch(cu, tu)
	}
	cuu := unquote(cu)
	if specific(tu) && CompareVersion(tv, cvv) == 0 && strings.EqualFold(unquote(tu), cuu) {
		return true
	}
	return equalFull(full, cvv, cuu)
}

// equalFull reports whether the full version equals version+update; the
// update must be the very end of the full version so that 7.4p1 does not
// equal 7.4 + "p" + "1" by accident of tokenising.
func equalFull(full, v, u string) bool {
	if len(full) < len(u) || !strings.EqualFold(full[len(full)-len(u):], u) {
		return false
	}
	base := strings.TrimRight(full[:len(full)-len(u)], "-_.+~ ")
	return base != "" && CompareVersion(base, v) == 0
}

// stripUpdate returns the target version without the update u, when the
// target carries u as its update attribute or at the end of its version.
func stripUpdate(tv, tu, u string) (string, bool) {
	if specific(tu) {
		return tv, strings.EqualFold(unquote(tu), u)
	}
	if !specific(tv) || len(tv) <= len(u) || !strings.EqualFold(tv[len(tv)-len(u):], u) {
		return "", false
	}
	base := strings.TrimRight(tv[:len(tv)-len(u)], "-_.+~ ")
	if base == "" || !isDigit(base[len(base)-1]) {
		return "", false
	}
	return base, true
}

// splitUpdate splits an update-like suffix (letters then digits: p1,
// rc2, sp1, beta3) off a version: "7.4p1" → "7.4". A bare letter (OpenSSL
// "1.0.1f") is part of the version, as NVD writes it.
func splitUpdate(v string) (string, bool) {
	i := len(v)
	for i > 0 && isDigit(v[i-1]) {
		i--
	}
	if i == len(v) {
		return "", false
	}
	j := i
	for j > 0 && isLetter(v[j-1]) {
		j--
	}
	if j == i {
		return "", false
	}
	base := strings.TrimRight(v[:j], "-_.+~ ")
	if base == "" || !isDigit(base[len(base)-1]) {
		return "", false
	}
	return base, true
}

// joinUpdate appends an update to a version: directly when it is a short
// letter suffix after a digit (7.4 + p1 = 7.4p1), with a hyphen otherwise.
func joinUpdate(v, u string) string {
	if v != "" && isDigit(v[len(v)-1]) && u != "" && isLetter(u[0]) && len(u) <= 4 {
		return v + u
	}
	return v + "-" + u
}

func (m *CPEMatch) inRange(v string) bool {
	if s := m.VersionStartIncluding; s != "" && CompareVersion(v, s) < 0 {
		return false
	}
	if s := m.VersionStartExcluding; s != "" && CompareVersion(v, s) <= 0 {
		return false
	}
	if e := m.VersionEndIncluding; e != "" && CompareVersion(v, e) > 0 {
		return false
	}
	if e := m.VersionEndExcluding; e != "" && CompareVersion(v, e) >= 0 {
		return false
	}
	return true
}

// Evaluating configuration trees against one target.
//
// We see one product at a time (the service answering on a port), never
// the whole machine, so every node evaluates to one of three values:
//
//   - true: the target matches it;
//   - false: it names something vulnerable the target is not;
//   - unknown: it names only platforms (vulnerable=false), which the
//     target is not; we cannot see the operating system or hardware under
//     an application, so such a node is satisfied-when-unknown.
//
// A cpeMatch evaluates to true when it matches the target, otherwise to
// false when vulnerable and unknown when a platform. OR is true if any
// operand is true, else unknown if any is unknown, else false. AND is false
// if any operand is false, else true if all are true, else unknown.
// Negate swaps true and false and leaves unknown alone. A configuration
// reports the target vulnerable when it evaluates to true or unknown and a
// vulnerable=true cpeMatch matched the target along the way (under no
// negation). So "httpd 2.4.49 AND running on some OS" fires on httpd
// 2.4.49 alone, "firmware X AND hardware Y" fires on firmware X, and
// "product P AND NOT version Q" honours the negation.
type tri uint8

const (
	triFalse tri = iota
	triUnknown
	triTrue
)

// eval returns the node's value and the vulnerable criteria that matched
// (nil when none did or the node is negated).
func (n *Node) eval(t *CPE) (tri, *CPEMatch) {
	and := strings.EqualFold(n.Operator, "AND")
	var res tri
	if and {
		res = triTrue
	} else {
		res = triFalse
	}
	var hit *CPEMatch
	combine := func(v tri, h *CPEMatch) bool {
		if and {
			if v < res {
				res = v
			}
			if v != triFalse && hit == nil {
				hit = h
			}
			return res == triFalse // short-circuit
		}
		if v > res {
			res = v
		}
		if v != triFalse && hit == nil {
			hit = h
		}
		return false
	}
	for i := range n.Children {
		v, h := n.Children[i].eval(t)
		if combine(v, h) {
			break
		}
	}
	if !(and && res == triFalse) {
		for i := range n.Match {
			m := &n.Match[i]
			var v tri
			var h *CPEMatch
			switch {
			case m.matchCPE(t):
				v = triTrue
				if m.Vulnerable {
					h = m
				}
			case m.Vulnerable:
				v = triFalse
			default:
				v = triUnknown
			}
			if combine(v, h) {
				break
			}
		}
	}
	if and && res == triFalse {
		hit = nil
	}
	if n.Negate {
		switch res {
		case triTrue:
			res = triFalse
		case triFalse:
			res = triTrue
		}
		hit = nil
	}
	return res, hit
}

// match returns the first vulnerable criteria through which t matches c.
func (c *CVE) match(t *CPE) *CPEMatch {
	for i := range c.Configurations {
		if v, h := c.Configurations[i].eval(t); v != triFalse && h != nil {
			return h
		}
	}
	return nil
}
