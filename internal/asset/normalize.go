package asset

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Limits on values. Anything longer is refused before parsing: values come
// from forms, imports and hostile feeds.
const (
	maxNameLen  = 253  // a DNS name without its trailing dot
	maxLabelLen = 63   // one DNS label
	maxURLLen   = 2048 // a URL asset or target
	maxValueLen = 4096 // anything else, checked first
)

// Normalize returns the canonical form of value for an asset of the given
// kind, or an error wrapping ErrInvalid that says why the value is refused.
//
// The canonical forms are:
//
//   - domain, hostname, mail_domain: lower-case ASCII, one trailing dot
//     dropped, internationalized labels converted to punycode (xn--…) with
//     the IDNA lookup profile. Labels are 1-63 bytes of letters, digits and
//     hyphens (hostnames may also use underscores, as in _dmarc), never
//     starting or ending with a hyphen; the whole name is at most 253 bytes;
//     domains and mail domains have at least two labels. IP literals and
//     wildcards are refused: a domain asset already covers its subdomains.
//   - ipv4: a dotted quad without leading zeros ("010.1.1.1" is ambiguous).
//   - ipv6: the compressed lower-case form ("2001:db8::1"); zones and
//     IPv4-mapped addresses are refused.
//   - cidr: the network with host bits cleared ("10.0.0.5/24" becomes
//     "10.0.0.0/24"); a bare address and /0 are refused.
//   - asn: "AS" and the number, 1-4294967295 except 23456 (AS_TRANS).
//   - url: http or https, host normalized like a hostname (or an IP literal),
//     default port dropped, dot segments resolved, path kept ("/" when
//     empty), query, fragment and userinfo refused or dropped as documented
//     on normalizeURL.
//
// Normalize is idempotent: normalizing a normalized value returns it
// unchanged.
func Normalize(kind Kind, value string) (string, error) {
	v, err := normalize(kind, value)
	if err != nil {
		return "", fmt.Errorf("%w: %s %s: %v", ErrInvalid, kind, quoteShort(value), err)
	}
	return v, nil
}

func normalize(kind Kind, value string) (string, error) {
	if len(value) > maxValueLen {
		return "", fmt.Errorf("longer than %d bytes", maxValueLen)
	}
	v := strings.TrimSpace(value)
	if v == "" {
		return "", errors.New("value is empty")
	}
	switch kind {
	case KindDomain, KindHostname, KindMailDomain:
		return normalizeName(kind, v)
	case KindIPv4:
		return normalizeIPv4(v)
	case KindIPv6:
		return normalizeIPv6(v)
	case KindCIDR:
		return normalizeCIDR(v)
	case KindASN:
		n, err := parseASN(v, true)
		if err != nil {
			return "", err
		}
		return formatASN(n), nil
	case KindURL:
		return normalizeURL(v)
	}
	return "", fmt.Errorf("unknown kind; use one of %s", kindList())
}

// quoteShort quotes a value for an error message, cut to a readable length.
func quoteShort(s string) string {
	const max = 80
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "…"
	}
	return strconv.Quote(s)
}

// dotLike are the full stops that IDNA maps to "." (UTS #46 section 2.3).
func dotLike(r rune) rune {
	switch r {
	case '\u3002', '\uff0e', '\uff61':
		return '.'
	}
	return r
}

// normalizeName normalizes a DNS name for kind (domain, hostname or
// mail_domain). s is already trimmed. When s is already canonical, s itself
// is returned, so lookups of canonical names do not allocate.
func normalizeName(kind Kind, s string) (string, error) {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if !ascii {
		s = strings.Map(dotLike, s)
	}
	if strings.HasSuffix(s, ".") {
		s = s[:len(s)-1]
	}
	if s == "" {
		return "", errors.New("name is empty")
	}
	if strings.ContainsRune(s, '*') {
		return "", errors.New("wildcards are not allowed; a domain asset already covers its subdomains")
	}
	if strings.ContainsRune(s, ':') || strings.HasPrefix(s, "[") {
		if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil && a.Is6() {
			return "", errors.New("an IPv6 address is not a name; use kind ipv6")
		}
	}
	if ascii {
		return checkASCIIName(kind, s)
	}
	// Convert label by label: the IDNA lookup profile refuses the
	// underscore that hostnames such as _dmarc need, and ASCII labels need
	// no mapping anyway.
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i, label := range strings.Split(s, ".") {
		if i > 0 {
			b.WriteByte('.')
		}
		if isASCII(label) {
			b.WriteString(label)
			continue
		}
		a, err := idna.Lookup.ToASCII(label)
		if err != nil {
			return "", fmt.Errorf("label %s is not a valid internationalized name: %v", quoteShort(label), err)
		}
		b.WriteString(a)
	}
	return checkASCIIName(kind, b.String())
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// checkASCIIName lower-cases and validates an ASCII name without its
// trailing dot. It returns s itself when s is already lower case.
func checkASCIIName(kind Kind, s string) (string, error) {
	if len(s) > maxNameLen {
		return "", fmt.Errorf("name is longer than %d bytes", maxNameLen)
	}
	upper := false
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			upper = true
			break
		}
	}
	if upper {
		s = strings.ToLower(s)
	}
	labels := 0
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			continue
		}
		if err := checkLabel(kind, s[start:i]); err != nil {
			return "", err
		}
		labels++
		last := s[start:i]
		start = i + 1
		if i == len(s) && allDigits(last) {
			return "", errors.New("the last label is all digits: an IP address or a number is not a name")
		}
	}
	if labels < 2 && kind != KindHostname {
		return "", fmt.Errorf("a %s needs at least two labels, like example.gov.vn", kind)
	}
	return s, nil
}

// checkLabel validates one lower-case ASCII label.
func checkLabel(kind Kind, l string) error {
	if l == "" {
		return errors.New("empty label (two dots in a row, or a leading dot)")
	}
	if len(l) > maxLabelLen {
		return fmt.Errorf("label %s is longer than %d bytes", quoteShort(l), maxLabelLen)
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-':
		case c == '_' && kind == KindHostname:
		case c == '_':
			return fmt.Errorf("label %q has an underscore, allowed only in hostnames", l)
		default:
			return fmt.Errorf("label %s has character %q; use letters, digits and hyphens", quoteShort(l), c)
		}
	}
	if l[0] == '-' || l[len(l)-1] == '-' {
		return fmt.Errorf("label %q starts or ends with a hyphen", l)
	}
	if len(l) >= 4 && l[:4] == "xn--" {
		// A punycode label must decode to a valid internationalized
		// label, and must already be in its canonical form.
		a, err := idna.Lookup.ToASCII(l)
		if err != nil || a != l {
			return fmt.Errorf("label %q is not valid punycode", l)
		}
	}
	return nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseIPv4 parses a strict dotted quad: four decimal fields 0-255 without
// leading zeros. netip refuses leading zeros too; this says why in words.
func parseIPv4(s string) (netip.Addr, error) {
	var b [4]byte
	field := 0
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			if s[i] < '0' || s[i] > '9' {
				return netip.Addr{}, fmt.Errorf("character %q is not allowed in an IPv4 address", s[i])
			}
			continue
		}
		if field == 4 {
			return netip.Addr{}, errors.New("an IPv4 address has exactly four fields, like 192.0.2.1")
		}
		f := s[start:i]
		switch {
		case f == "":
			return netip.Addr{}, errors.New("an IPv4 address has exactly four fields, like 192.0.2.1")
		case len(f) > 1 && f[0] == '0':
			return netip.Addr{}, fmt.Errorf("field %q has a leading zero, which some tools read as octal", f)
		case len(f) > 3:
			return netip.Addr{}, fmt.Errorf("field %q is larger than 255", f)
		}
		n := 0
		for j := 0; j < len(f); j++ {
			n = n*10 + int(f[j]-'0')
		}
		if n > 255 {
			return netip.Addr{}, fmt.Errorf("field %q is larger than 255", f)
		}
		b[field] = byte(n)
		field++
		start = i + 1
	}
	if field != 4 {
		return netip.Addr{}, errors.New("an IPv4 address has exactly four fields, like 192.0.2.1")
	}
	return netip.AddrFrom4(b), nil
}

func normalizeIPv4(s string) (string, error) {
	if strings.ContainsRune(s, ':') {
		return "", errors.New("this looks like an IPv6 address; use kind ipv6")
	}
	if strings.ContainsRune(s, '/') {
		return "", errors.New("a network with a prefix length is kind cidr")
	}
	if _, err := parseIPv4(s); err != nil {
		return "", err
	}
	return s, nil // a strict dotted quad is already canonical
}

// parseIPv6 parses an IPv6 address, refusing zones and IPv4 forms.
func parseIPv6(s string) (netip.Addr, error) {
	if strings.ContainsRune(s, '%') {
		return netip.Addr{}, errors.New("zone IDs (like %eth0) are not allowed")
	}
	if !strings.ContainsRune(s, ':') {
		if _, err := parseIPv4(s); err == nil {
			return netip.Addr{}, errors.New("this is an IPv4 address; use kind ipv4")
		}
		return netip.Addr{}, errors.New("not an IPv6 address")
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, errors.New("not a valid IPv6 address")
	}
	if a.Is4In6() {
		return netip.Addr{}, fmt.Errorf("an IPv4-mapped IPv6 address; use kind ipv4 with %s", a.Unmap())
	}
	return a, nil
}

func normalizeIPv6(s string) (string, error) {
	if strings.ContainsRune(s, '/') {
		return "", errors.New("a network with a prefix length is kind cidr")
	}
	a, err := parseIPv6(s)
	if err != nil {
		return "", err
	}
	return a.String(), nil
}

// parseCIDR parses a network, returning it masked.
func parseCIDR(s string) (netip.Prefix, error) {
	i := strings.IndexByte(s, '/')
	if i < 0 {
		return netip.Prefix{}, errors.New("missing the prefix length (like 10.0.0.0/24); one address is kind ipv4 or ipv6")
	}
	addrPart, bitsPart := s[:i], s[i+1:]
	var a netip.Addr
	var err error
	if strings.ContainsRune(addrPart, ':') {
		a, err = parseIPv6(addrPart)
	} else {
		a, err = parseIPv4(addrPart)
	}
	if err != nil {
		return netip.Prefix{}, err
	}
	if !allDigits(bitsPart) || len(bitsPart) > 3 || (len(bitsPart) > 1 && bitsPart[0] == '0') {
		return netip.Prefix{}, fmt.Errorf("prefix length %q must be a number without leading zeros", bitsPart)
	}
	bits, _ := strconv.Atoi(bitsPart)
	if bits > a.BitLen() {
		return netip.Prefix{}, fmt.Errorf("prefix length /%d is longer than %d bits", bits, a.BitLen())
	}
	if bits == 0 {
		return netip.Prefix{}, errors.New("/0 would cover the whole address family")
	}
	return netip.PrefixFrom(a, bits).Masked(), nil
}

func normalizeCIDR(s string) (string, error) {
	p, err := parseCIDR(s)
	if err != nil {
		return "", err
	}
	return p.String(), nil
}

// parseASN parses "AS64500", "as64500" and, when bare is true, "64500".
func parseASN(s string, bare bool) (uint32, error) {
	digits := s
	if len(s) >= 2 && (s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's') {
		digits = s[2:]
	} else if !bare {
		return 0, errors.New("an ASN target is written AS64500")
	}
	if !allDigits(digits) {
		return 0, errors.New("an ASN is AS and a number, like AS64500")
	}
	digits = strings.TrimLeft(digits, "0")
	if len(digits) > 10 {
		return 0, errors.New("an ASN is at most 4294967295")
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if digits == "" {
		n, err = 0, nil
	}
	if err != nil || n > 4294967295 {
		return 0, errors.New("an ASN is at most 4294967295")
	}
	switch n {
	case 0:
		return 0, errors.New("AS0 is reserved and never routed")
	case 23456:
		return 0, errors.New("AS23456 is AS_TRANS, a placeholder for 4-byte ASNs, not a real network")
	}
	return uint32(n), nil
}

func formatASN(n uint32) string {
	return "AS" + strconv.FormatUint(uint64(n), 10)
}

// normalizeURL normalizes an http or https URL: scheme lower-cased, host
// normalized as a hostname or IP literal, default port dropped, dot segments
// resolved (so "/app/../admin" cannot pose as a URL under "/app"), empty
// path written "/", query and fragment dropped. Userinfo is refused: a
// password has no place in the registry.
func normalizeURL(s string) (string, error) {
	if len(s) > maxURLLen {
		return "", fmt.Errorf("a URL is at most %d bytes", maxURLLen)
	}
	if !strings.Contains(s, "://") {
		return "", errors.New("a URL starts with http:// or https://")
	}
	if v, err, ok := normalizePlainURL(s); ok {
		return v, err
	}
	return normalizeParsedURL(s)
}

// normalizePlainURL is normalizeURL without url.Parse for the URLs feeds
// carry by the million: a lower-case http or https scheme, a host of
// letters, digits, dots and hyphens (no port, no user), and a path of
// characters that need no escaping, without dot segments, query or
// fragment. It gives what normalizeParsedURL gives (FuzzPlainURL holds
// the two to the same answers); ok is false for any other URL. A URL
// already in canonical form is returned as it is.
func normalizePlainURL(s string) (_ string, _ error, ok bool) {
	var scheme string
	switch {
	case strings.HasPrefix(s, "http://"):
		scheme = s[:4]
	case strings.HasPrefix(s, "https://"):
		scheme = s[:5]
	default:
		return "", nil, false
	}
	rest := s[len(scheme)+3:]
	end := strings.IndexByte(rest, '/')
	if end < 0 {
		end = len(rest)
	}
	authority, path := rest[:end], rest[end:]
	if authority == "" {
		return "", nil, false
	}
	for i := 0; i < len(authority); i++ {
		if c := authority[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			return "", nil, false
		}
	}
	for i := 0; i < len(path); i++ {
		if !plainPathByte(path[i]) {
			return "", nil, false
		}
	}
	if hasDotSegment(path) {
		return "", nil, false
	}
	host, err := normalizeURLHost(authority)
	if err != nil {
		return "", err, true
	}
	if path == "" {
		path = "/"
	} else if host == authority {
		return s, nil, true
	}
	return scheme + "://" + host + path, nil, true
}

// plainPathByte reports whether url.Parse keeps c in a path and
// url.URL.EscapedPath writes it back as it is: letters, digits and
// -._~$&+,/:;=@.
func plainPathByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '_', '~', '$', '&', '+', ',', '/', ':', ';', '=', '@':
		return true
	}
	return false
}

// hasDotSegment reports whether a path has a "." or ".." segment (which
// removeDotSegments resolves).
func hasDotSegment(p string) bool {
	for i := 0; i < len(p); {
		j := strings.IndexByte(p[i:], '/')
		if j < 0 {
			j = len(p)
		} else {
			j += i
		}
		if seg := p[i:j]; seg == "." || seg == ".." {
			return true
		}
		i = j + 1
	}
	return false
}

// normalizeParsedURL is normalizeURL through url.Parse.
func normalizeParsedURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("not a valid URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("scheme %q is not allowed; use http or https", u.Scheme)
	}
	if u.Opaque != "" || u.Host == "" {
		return "", errors.New("a URL needs a host, like https://portal.example.gov.vn/")
	}
	if u.User != nil {
		return "", errors.New("user names and passwords (user@) are not allowed in a URL")
	}
	host, err := normalizeURLHost(u.Host)
	if err != nil {
		return "", err
	}
	if port := u.Port(); port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("port %q must be between 1 and 65535", port)
		}
		if !(u.Scheme == "http" && n == 80) && !(u.Scheme == "https" && n == 443) {
			host += ":" + strconv.Itoa(n)
		}
	}
	p := removeDotSegments(u.Path)
	if p == "" {
		p = "/"
	}
	ep := (&url.URL{Path: p}).EscapedPath()
	return u.Scheme + "://" + host + ep, nil
}

// normalizeURLHost normalizes the host part of a URL (port removed).
func normalizeURLHost(hostport string) (string, error) {
	host := hostport
	if strings.HasPrefix(host, "[") {
		end := strings.LastIndexByte(host, ']')
		if end < 0 {
			return "", errors.New("unclosed [ in the URL host")
		}
		a, err := parseIPv6(host[1:end])
		if err != nil {
			return "", fmt.Errorf("host: %v", err)
		}
		return "[" + a.String() + "]", nil
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	if strings.ContainsRune(host, '%') {
		return "", errors.New("percent-encoding is not allowed in the URL host")
	}
	if looksIPv4(host) {
		if _, err := parseIPv4(host); err != nil {
			return "", fmt.Errorf("host: %v", err)
		}
		return host, nil
	}
	h, err := normalizeName(KindHostname, host)
	if err != nil {
		return "", fmt.Errorf("host: %v", err)
	}
	return h, nil
}

// looksIPv4 reports whether s has only digits and dots, so it is meant as
// an IPv4 address rather than a name.
func looksIPv4(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '.' {
			return false
		}
	}
	return true
}

// removeDotSegments resolves "." and ".." segments of an absolute path
// (RFC 3986 section 5.2.4). ".." at the root stays at the root.
func removeDotSegments(p string) string {
	if p == "" {
		return ""
	}
	if !strings.Contains(p, ".") {
		return p
	}
	segs := strings.Split(p, "/")
	out := make([]string, 0, len(segs))
	trailing := false
	for i, s := range segs {
		if i == 0 {
			continue // the empty segment before the leading slash
		}
		trailing = false
		switch s {
		case ".":
			trailing = true
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			trailing = true
		default:
			out = append(out, s)
		}
	}
	r := "/" + strings.Join(out, "/")
	if trailing && !strings.HasSuffix(r, "/") {
		r += "/"
	}
	return r
}
