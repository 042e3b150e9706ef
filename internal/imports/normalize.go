package imports

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rampart-cert/rampart/internal/finding"
)

// finish caps every string of r and drops control characters, so that
// nothing a tool wrote can grow a Result or reach a terminal raw.
func finish(r *Result) {
	r.ToolName = oneLine(r.ToolName, MaxShortBytes)
	r.RuleID = oneLine(r.RuleID, MaxShortBytes)
	r.Title = oneLine(r.Title, MaxTitleBytes)
	r.Description = text(r.Description, MaxDescriptionBytes)
	r.URL = redactURL(oneLine(r.URL, MaxURLBytes))
	r.Service = oneLine(r.Service, MaxShortBytes)
	r.Product = oneLine(r.Product, MaxShortBytes)
	r.Version = oneLine(r.Version, MaxShortBytes)
	r.CPE = oneLine(r.CPE, MaxShortBytes)
	if !r.Severity.Valid() {
		r.Severity = finding.Info
	}
	var cut []string
	r.CVE = nilIfEmpty(r.CVE)
	if len(r.CVE) > MaxListItems {
		cut = append(cut, fmt.Sprintf("cve %d of %d", MaxListItems, len(r.CVE)))
		r.CVE = r.CVE[:MaxListItems]
	}
	refs := r.References[:0:0]
	for _, ref := range r.References {
		if ref = oneLine(ref, MaxURLBytes); ref != "" && !contains(refs, ref) {
			refs = append(refs, ref)
		}
	}
	if len(refs) > MaxListItems {
		cut = append(cut, fmt.Sprintf("references %d of %d", MaxListItems, len(refs)))
		refs = refs[:MaxListItems]
	}
	r.References = nilIfEmpty(refs)
	if len(r.Evidence) > 0 || len(cut) > 0 {
		ev := make(map[string]string, min(len(r.Evidence), MaxEvidenceKeys)+1)
		keys := make([]string, 0, len(r.Evidence))
		for k, v := range r.Evidence {
			if strings.TrimSpace(v) != "" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		if len(keys) > MaxEvidenceKeys {
			cut = append(cut, fmt.Sprintf("evidence %d of %d keys", MaxEvidenceKeys, len(keys)))
			keys = keys[:MaxEvidenceKeys]
		}
		for _, k := range keys {
			ev[oneLine(k, 64)] = redactURL(text(r.Evidence[k], MaxEvidenceBytes))
		}
		if len(cut) > 0 {
			ev["truncated"] = strings.Join(cut, "; ")
		}
		r.Evidence = ev
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// oneLine returns s on one line: control characters become spaces, runs
// of space shrink to one, and the result is at most max bytes. A string
// that is already clean comes back as is, without a copy, so strings
// shared by many results (SARIF rule text) stay shared.
func oneLine(s string, max int) string {
	if len(s) <= max && cleanOneLine(s) {
		return s
	}
	s = clip(s, 4*max) // bound the work before cleaning; cleaning only shrinks
	s = strings.Map(func(r rune) rune {
		if isBadRune(r) || r == '\n' || r == '\t' {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	return clip(strings.Join(strings.Fields(s), " "), max)
}

// text keeps newlines and tabs but drops other control characters (an
// escape sequence in a tool's output must not reach a terminal).
func text(s string, max int) string {
	if len(s) <= max && cleanText(s) {
		return s
	}
	s = clip(s, 4*max)
	s = strings.Map(func(r rune) rune {
		if isBadRune(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	return clip(strings.TrimSpace(s), max)
}

// isBadRune: control characters other than newline and tab, and the
// Unicode line separators.
func isBadRune(r rune) bool {
	return (unicode.IsControl(r) && r != '\n' && r != '\t') || r == '\u2028' || r == '\u2029'
}

// asciiClean: when s is ASCII (the common case, no rune decoding
// needed), clean tells whether it is printable, with newline and tab
// when allowNewline.
func asciiClean(s string, allowNewline bool) (clean, ascii bool) {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b >= 0x80 {
			return false, false
		}
		if b < 0x20 || b == 0x7f {
			if allowNewline && (b == '\n' || b == '\t') {
				continue
			}
			return false, true
		}
	}
	return true, true
}

func cleanOneLine(s string) bool {
	if s != strings.TrimSpace(s) {
		return false
	}
	if clean, ascii := asciiClean(s, false); ascii {
		return clean && !strings.Contains(s, "  ")
	}
	if !utf8.ValidString(s) {
		return false
	}
	prevSpace := false
	for _, r := range s {
		if isBadRune(r) || r == '\n' || r == '\t' || (r == ' ' && prevSpace) || unicode.IsSpace(r) && r != ' ' {
			return false
		}
		prevSpace = r == ' '
	}
	return true
}

func cleanText(s string) bool {
	if clean, ascii := asciiClean(s, true); ascii {
		return clean && s == strings.TrimSpace(s)
	}
	if s != strings.TrimSpace(s) || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if isBadRune(r) {
			return false
		}
	}
	return true
}

// clip cuts s to at most max bytes at a rune boundary, ending in "…".
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const ell = "…"
	n := max - len(ell)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + ell
}

// firstLine is the first non-blank line of s.
func firstLine(s string) string {
	for line := range strings.Lines(s) {
		if t := strings.TrimSpace(line); t != "" {
			return t
		}
	}
	return ""
}

// normHost checks that s is an IP address or a DNS name and returns it
// in canonical form, with the address when s is one.
func normHost(s string) (host, ip string, err error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	}
	if s == "" {
		return "", "", errors.New("empty host")
	}
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return "", "", fmt.Errorf("host %q: an address with a zone is not a reachable target", clip(s, 80))
		}
		a = a.Unmap()
		return a.String(), a.String(), nil
	}
	name := strings.TrimSuffix(strings.ToLower(s), ".")
	if len(name) == 0 || len(name) > 253 {
		return "", "", fmt.Errorf("host %q is not an IP address or a DNS name", clip(s, 80))
	}
	for _, label := range strings.Split(name, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", "", fmt.Errorf("host %q is not an IP address or a DNS name", clip(s, 80))
		}
		for i := 0; i < len(label); i++ {
			b := label[i]
			if !(b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '-' || b == '_') {
				return "", "", fmt.Errorf("host %q is not an IP address or an ASCII (punycode) DNS name", clip(s, 80))
			}
		}
	}
	return name, "", nil
}

// webTarget is where a URL points.
type webTarget struct {
	url  string // with user:password removed
	host string
	ip   string
	port int
}

// parseWebURL reads an absolute http(s) URL. ok is false when s is not
// one (a relative path, a file: URI); err is set when s claims to be one
// but is broken.
func parseWebURL(s string) (t webTarget, ok bool, err error) {
	s = strings.TrimSpace(s)
	scheme, _, found := strings.Cut(s, "://")
	if !found {
		return t, false, nil
	}
	scheme = strings.ToLower(scheme)
	if scheme != "http" && scheme != "https" {
		return t, false, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return t, true, fmt.Errorf("url %q: %v", clip(s, 200), cleanURLErr(err))
	}
	if u.Host == "" {
		return t, true, fmt.Errorf("url %q has no host", clip(s, 200))
	}
	t.host, t.ip, err = normHost(u.Hostname())
	if err != nil {
		return t, true, fmt.Errorf("url %q: %v", clip(s, 200), err)
	}
	switch p := u.Port(); {
	case p != "":
		if t.port, err = parsePort(p); err != nil {
			return t, true, fmt.Errorf("url %q: %v", clip(s, 200), err)
		}
	case scheme == "https":
		t.port = 443
	default:
		t.port = 80
	}
	u.User = nil
	t.url = u.String()
	return t, true, nil
}

// redactURL removes the user:password part of every absolute URL in s
// (a matched-at value, a request line, script output).
func redactURL(s string) string {
	if !strings.Contains(s, "@") || !strings.Contains(s, "://") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "://")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i+3])
		s = s[i+3:]
		end := strings.IndexAny(s, "/?# \t\r\n\"'<>")
		if end < 0 {
			end = len(s)
		}
		if at := strings.LastIndexByte(s[:end], '@'); at >= 0 {
			s = s[at+1:]
		}
	}
}

// cleanURLErr drops the URL that net/url repeats in its errors.
func cleanURLErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("port %q is not a number from 1 to 65535", clip(s, 40))
	}
	return p, nil
}

// splitHostPort reads "host", "host:port", "[v6]:port" or a bare IPv6
// address; port is 0 when there is none.
func splitHostPort(s string) (host string, port int, err error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", 0, fmt.Errorf("host %q: missing ]", clip(s, 80))
		}
		host, rest := s[1:end], s[end+1:]
		if rest == "" {
			return host, 0, nil
		}
		if rest[0] != ':' {
			return "", 0, fmt.Errorf("host %q is not host:port", clip(s, 80))
		}
		port, err = parsePort(rest[1:])
		return host, port, err
	case strings.Count(s, ":") == 1:
		host, p, _ := strings.Cut(s, ":")
		port, err = parsePort(p)
		return host, port, err
	}
	return s, 0, nil
}

// addCVEs appends the CVE IDs in each of texts to list, upper-case and
// once each.
func addCVEs(list []string, texts ...string) []string {
	for _, t := range texts {
		for len(t) > 0 && len(list) <= 4*MaxListItems { // finish cuts to MaxListItems and notes the cut
			id, rest := nextCVE(t)
			if id != "" && !contains(list, id) {
				list = append(list, id)
			}
			t = rest
		}
	}
	return list
}

// nextCVE finds the first CVE ID in s ("CVE-2021-41773", any case, not
// inside a longer word) and returns it upper-case with the text after
// it; id is "" when there is none.
func nextCVE(s string) (id, rest string) {
	for {
		i := indexFold(s, "cve-")
		if i < 0 {
			return "", ""
		}
		if i > 0 && isWordByte(s[i-1]) {
			s = s[i+4:]
			continue
		}
		j := i + 4
		year := digits(s[j:])
		if year == 4 && j+4 < len(s) && s[j+4] == '-' {
			n := digits(s[j+5:])
			end := j + 5 + n
			if n >= 4 && n <= 7 && (end == len(s) || !isWordByte(s[end])) {
				return strings.ToUpper(s[i:end]), s[end:]
			}
		}
		s = s[j:]
	}
}

// isCVE reports whether s is exactly one CVE ID.
func isCVE(s string) bool {
	id, rest := nextCVE(s)
	return id != "" && len(id) == len(s) && rest == ""
}

func indexFold(s, lowerSub string) int {
	for i := 0; i+len(lowerSub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(lowerSub)], lowerSub) {
			return i
		}
	}
	return -1
}

func digits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

func isWordByte(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// severityFromScore maps a CVSS-like 0–10 score. ok is false when the
// score is missing or not a number in range.
func severityFromScore(s string) (sev finding.Severity, ok bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > 10 {
		return "", false
	}
	switch {
	case f >= 9:
		return finding.Critical, true
	case f >= 7:
		return finding.High, true
	case f >= 4:
		return finding.Medium, true
	case f > 0:
		return finding.Low, true
	}
	return finding.Info, true
}

// toolTime is a time read from a file as Result.Time wants it: in UTC,
// truncated to the microsecond, and zero when it is absurd (before 2000,
// or more than a day after now: a broken clock or a hand-edited file).
func toolTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	t = t.UTC().Truncate(time.Microsecond)
	if t.Year() < 2000 || t.After(time.Now().Add(24*time.Hour)) {
		return time.Time{}
	}
	return t
}

// rfc3339Time reads an RFC 3339 time with or without fractional seconds
// and with any offset (nuclei's timestamp, SARIF's endTimeUtc); zero when
// s is empty, unreadable or absurd.
func rfc3339Time(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}
	}
	return toolTime(t)
}

// unixTime reads whole Unix seconds (nmap's starttime, endtime, start);
// zero when s is empty, unreadable or absurd.
func unixTime(s string) time.Time {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	return toolTime(time.Unix(n, 0))
}
