package target

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/rampart-cert/rampart/internal/asset"
)

// maxSpecLen bounds one target specification before it is parsed.
const maxSpecLen = 2048

// Kind says what a target specification names.
type Kind uint8

// The kinds of specification ParseSpec recognizes.
const (
	KindAddr   Kind = iota + 1 // one address: "192.0.2.1", "2001:db8::1"
	KindPrefix                 // a network: "192.0.2.0/24"
	KindRange                  // an inclusive range: "192.0.2.1-50", "192.0.2.1-192.0.3.20"
	KindName                   // a host name, resolved when expanded
	KindURL                    // a URL: its host is scanned, scheme and port kept as hints
)

func (k Kind) String() string {
	switch k {
	case KindAddr:
		return "address"
	case KindPrefix:
		return "network"
	case KindRange:
		return "range"
	case KindName:
		return "name"
	case KindURL:
		return "url"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Spec is one parsed target specification.
type Spec struct {
	Raw  string // as given, trimmed
	Kind Kind
	// First and Last bound the addresses an address, network, range or
	// IP-literal URL covers (both inclusive, same family, IPv4 unmapped).
	// They are invalid for names and for URLs whose host is a name.
	First, Last netip.Addr
	// Host is the normalized host name of a name or URL specification.
	Host string
	// Scheme and Port are the hints a URL carries: the scheme in lower case
	// and its explicit port, or the scheme's default port (0 if unknown).
	Scheme string
	Port   uint16
}

// Size is the number of addresses the specification covers, saturating at
// math.MaxUint64; names report 0 because they are not resolved yet.
func (s Spec) Size() uint64 {
	if !s.First.IsValid() {
		return 0
	}
	return span(s.First, s.Last)
}

// defaultPorts are the port hints for URL schemes without an explicit port.
var defaultPorts = sync.OnceValue(func() map[string]uint16 {
	return map[string]uint16{
		"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21, "ftps": 990,
		"ssh": 22, "sftp": 22, "telnet": 23, "smtp": 25, "smtps": 465,
		"submission": 587, "dns": 53, "pop3": 110, "pop3s": 995, "imap": 143,
		"imaps": 993, "ldap": 389, "ldaps": 636, "rdp": 3389, "vnc": 5900,
		"mysql": 3306, "postgres": 5432, "postgresql": 5432, "mongodb": 27017,
		"redis": 6379, "rediss": 6379, "mqtt": 1883, "mqtts": 8883, "sip": 5060,
		"sips": 5061, "rtsp": 554, "smb": 445,
	}
})

// ParseSpec parses one target specification without resolving anything:
// an IPv4 or IPv6 address, a network in CIDR notation, a range ("10.0.0.1-50"
// with the last octet, or "10.0.0.1-10.0.1.20" and "2001:db8::1-2001:db8::ff"
// with full addresses), a URL ("https://portal.example.gov.vn:8443/app"), or
// a host name. Every error wraps ErrSpec and quotes the specification.
func ParseSpec(raw string) (Spec, error) {
	s, err := parseSpec(raw)
	if err != nil {
		return Spec{}, fmt.Errorf("%w %q: %v", ErrSpec, short(strings.TrimSpace(raw)), err)
	}
	return s, nil
}

func parseSpec(raw string) (Spec, error) {
	if len(raw) > maxSpecLen {
		return Spec{}, fmt.Errorf("longer than %d bytes", maxSpecLen)
	}
	v := strings.TrimSpace(raw)
	sp := Spec{Raw: v}
	switch {
	case v == "":
		return sp, errors.New("empty target")
	case strings.Contains(v, "://"):
		return parseURL(sp)
	case strings.Contains(v, "/"):
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return sp, errors.New("not a network in CIDR notation, like 192.0.2.0/24 or 2001:db8::/120")
		}
		p = p.Masked()
		if a := p.Addr(); a.Is4In6() {
			if p.Bits() < 96 {
				return sp, errors.New("an IPv4-mapped network must be at least a /96")
			}
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		sp.Kind, sp.First, sp.Last = KindPrefix, p.Addr(), lastOf(p)
		return sp, nil
	}
	if lo, hi, ok := strings.Cut(v, "-"); ok {
		if first, err := netip.ParseAddr(lo); err == nil {
			return parseRange(sp, first, hi)
		}
	}
	if a, err := netip.ParseAddr(v); err == nil {
		if a.Zone() != "" {
			return sp, errors.New("IPv6 zones are not supported; give the global address")
		}
		a = a.Unmap()
		sp.Kind, sp.First, sp.Last = KindAddr, a, a
		return sp, nil
	}
	if strings.ContainsAny(v, ":[]") {
		return sp, errors.New("not an IP address, and a host name cannot contain ':' (give a port with --ports, or use a URL)")
	}
	name, err := normalizeName(v)
	if err != nil {
		return sp, err
	}
	sp.Kind, sp.Host = KindName, name
	return sp, nil
}

func parseRange(sp Spec, first netip.Addr, rest string) (Spec, error) {
	if first.Zone() != "" {
		return sp, errors.New("a range cannot carry an IPv6 zone")
	}
	first = first.Unmap()
	var last netip.Addr
	if strings.ContainsAny(rest, ".:") {
		a, err := netip.ParseAddr(rest)
		if err != nil || a.Zone() != "" {
			return sp, fmt.Errorf("range end %q is not an IP address", short(rest))
		}
		last = a.Unmap()
		if last.Is4() != first.Is4() {
			return sp, errors.New("range ends are of different address families")
		}
	} else {
		if !first.Is4() {
			return sp, errors.New("an IPv6 range needs a full end address, like 2001:db8::1-2001:db8::ff")
		}
		if rest == "" || len(rest) > 3 || strings.Trim(rest, "0123456789") != "" {
			return sp, fmt.Errorf("range end %q is not an octet 0-255", short(rest))
		}
		n, _ := strconv.Atoi(rest)
		if n > 255 {
			return sp, fmt.Errorf("range end %d is not an octet 0-255", n)
		}
		b := first.As4()
		b[3] = byte(n)
		last = netip.AddrFrom4(b)
	}
	if last.Less(first) {
		return sp, errors.New("range runs backwards")
	}
	sp.Kind, sp.First, sp.Last = KindRange, first, last
	return sp, nil
}

func parseURL(sp Spec) (Spec, error) {
	u, err := url.Parse(sp.Raw)
	if err != nil {
		return sp, errors.New("not a valid URL")
	}
	sp.Kind = KindURL
	sp.Scheme = strings.ToLower(u.Scheme)
	if sp.Scheme == "" {
		return sp, errors.New("URL has no scheme")
	}
	host := u.Hostname()
	if host == "" {
		return sp, errors.New("URL has no host")
	}
	if p := u.Port(); p != "" {
		n, err := parsePort(p)
		if err != nil {
			return sp, fmt.Errorf("URL port: %v", err)
		}
		sp.Port = n
	} else {
		sp.Port = defaultPorts()[sp.Scheme]
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return sp, errors.New("IPv6 zones are not supported; give the global address")
		}
		a = a.Unmap()
		sp.First, sp.Last = a, a
		return sp, nil
	}
	if strings.ContainsAny(host, ":%[]") {
		return sp, errors.New("URL host is not a valid address or name")
	}
	name, err := normalizeName(host)
	if err != nil {
		return sp, err
	}
	sp.Host = name
	return sp, nil
}

// normalizeName puts a host name in the same canonical form the asset
// registry and the scope guard use, so a target compares equal to its asset.
func normalizeName(v string) (string, error) {
	n, err := asset.Normalize(asset.KindHostname, v)
	if err != nil {
		// asset's message already names the value; keep only the reason.
		msg := err.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
		return "", errors.New("not an address, network, range, URL or valid host name: " + msg)
	}
	return n, nil
}

// Address arithmetic on a 128-bit integer; IPv4 addresses use the low 32
// bits. Families are never mixed in one comparison.

type u128 struct{ hi, lo uint64 }

func toU128(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{lo: uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])}
	}
	b := a.As16()
	var u u128
	for i := range 8 {
		u.hi = u.hi<<8 | uint64(b[i])
		u.lo = u.lo<<8 | uint64(b[8+i])
	}
	return u
}

func (u u128) addr(v4 bool) netip.Addr {
	if v4 {
		return netip.AddrFrom4([4]byte{byte(u.lo >> 24), byte(u.lo >> 16), byte(u.lo >> 8), byte(u.lo)})
	}
	var b [16]byte
	for i := range 8 {
		b[7-i] = byte(u.hi >> (8 * i))
		b[15-i] = byte(u.lo >> (8 * i))
	}
	return netip.AddrFrom16(b)
}

func (u u128) cmp(v u128) int {
	switch {
	case u.hi < v.hi:
		return -1
	case u.hi > v.hi:
		return 1
	case u.lo < v.lo:
		return -1
	case u.lo > v.lo:
		return 1
	}
	return 0
}

func (u u128) inc() u128 {
	lo, c := bits.Add64(u.lo, 1, 0)
	return u128{u.hi + c, lo}
}

func (u u128) dec() u128 {
	lo, b := bits.Sub64(u.lo, 1, 0)
	return u128{u.hi - b, lo}
}

// span is last-first+1 saturated to math.MaxUint64.
func span(first, last netip.Addr) uint64 {
	a, b := toU128(first), toU128(last)
	lo, borrow := bits.Sub64(b.lo, a.lo, 0)
	hi, _ := bits.Sub64(b.hi, a.hi, borrow)
	if hi != 0 || lo == math.MaxUint64 {
		return math.MaxUint64
	}
	return lo + 1
}

// lastOf is the highest address of a masked prefix.
func lastOf(p netip.Prefix) netip.Addr {
	u := toU128(p.Addr())
	host := p.Addr().BitLen() - p.Bits()
	switch {
	case host >= 128:
		u = u128{math.MaxUint64, math.MaxUint64}
	case host >= 64:
		u.lo = math.MaxUint64
		u.hi |= 1<<(host-64) - 1
	default:
		u.lo |= 1<<host - 1
	}
	return u.addr(p.Addr().Is4())
}
