package dns

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// SPF parsing errors.
var (
	// ErrNotSPF is a TXT string that is not an SPF version 1 record.
	ErrNotSPF = errors.New("dns: not an SPF record")
	// ErrSPFSyntax is an SPF record that receivers would reject with
	// permerror (RFC 7208 4.6).
	ErrSPFSyntax = errors.New("dns: SPF syntax error")
)

// SPF is a parsed SPF record (RFC 7208 section 4.6.1).
type SPF struct {
	Mechanisms []SPFMechanism
	// Redirect and Exp are the values of the two defined modifiers.
	Redirect string
	Exp      string
	// Unknown holds the other modifiers, which receivers ignore.
	Unknown []string
}

// SPFMechanism is one directive: qualifier, mechanism name and argument.
type SPFMechanism struct {
	Qualifier byte   // '+', '-', '~' or '?'
	Name      string // all, include, a, mx, ptr, ip4, ip6, exists (lower case)
	Domain    string // the domain-spec or address after ':', possibly with macros
	CIDR      string // what followed '/', unparsed beyond validation ("24", "24//64", "/64")
}

// String renders the mechanism as written in a record.
func (m SPFMechanism) String() string {
	s := string(m.Qualifier) + m.Name
	if m.Domain != "" {
		s += ":" + m.Domain
	}
	if m.CIDR != "" {
		s += "/" + m.CIDR
	}
	return s
}

// countsLookup reports whether the mechanism costs a DNS lookup
// (RFC 7208 4.6.4).
func (m SPFMechanism) countsLookup() bool {
	switch m.Name {
	case "include", "a", "mx", "ptr", "exists":
		return true
	}
	return false
}

// IsSPF reports whether a TXT string is an SPF version 1 record: it
// starts with "v=spf1" followed by a space or nothing (RFC 7208 4.5).
func IsSPF(txt string) bool {
	if len(txt) < 6 || !strings.EqualFold(txt[:6], "v=spf1") {
		return false
	}
	return len(txt) == 6 || txt[6] == ' '
}

// ParseSPF parses an SPF record. It is strict where receivers are: an
// unknown mechanism, a malformed address or prefix, or a duplicated
// redirect/exp modifier is ErrSPFSyntax.
func ParseSPF(txt string) (*SPF, error) {
	if !IsSPF(txt) {
		return nil, ErrNotSPF
	}
	rec := &SPF{}
	for _, term := range strings.Fields(txt[6:]) {
		if err := rec.addTerm(term); err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrSPFSyntax, term, err)
		}
	}
	return rec, nil
}

func (rec *SPF) addTerm(term string) error {
	// A modifier is name=value where name is a plain word; a mechanism's
	// argument may also contain '=' (in macros), so look at the name only.
	if i := strings.IndexByte(term, '='); i > 0 && isModifierName(term[:i]) {
		name, value := strings.ToLower(term[:i]), term[i+1:]
		switch name {
		case "redirect", "exp":
			if value == "" {
				return errors.New("empty domain")
			}
			if (name == "redirect" && rec.Redirect != "") || (name == "exp" && rec.Exp != "") {
				return errors.New("modifier given twice")
			}
			if name == "redirect" {
				rec.Redirect = value
			} else {
				rec.Exp = value
			}
		default:
			rec.Unknown = append(rec.Unknown, term)
		}
		return nil
	}
	m := SPFMechanism{Qualifier: '+'}
	switch term[0] {
	case '+', '-', '~', '?':
		m.Qualifier = term[0]
		term = term[1:]
	}
	name := term
	if i := strings.IndexAny(term, ":/"); i >= 0 {
		name = term[:i]
		rest := term[i:]
		if rest[0] == ':' {
			rest = rest[1:]
			// The CIDR suffix follows the domain; an IPv6 address holds
			// colons, so split at the first '/'.
			if j := strings.IndexByte(rest, '/'); j >= 0 {
				m.Domain, m.CIDR = rest[:j], rest[j+1:]
			} else {
				m.Domain = rest
			}
			if m.Domain == "" {
				return errors.New("empty argument")
			}
		} else {
			m.CIDR = rest[1:]
		}
	}
	m.Name = strings.ToLower(name)
	if err := m.validate(); err != nil {
		return err
	}
	rec.Mechanisms = append(rec.Mechanisms, m)
	return nil
}

func (m SPFMechanism) validate() error {
	switch m.Name {
	case "all":
		if m.Domain != "" || m.CIDR != "" {
			return errors.New("all takes no argument")
		}
	case "include", "exists":
		if m.Domain == "" || m.CIDR != "" {
			return errors.New(m.Name + " needs a domain and no prefix")
		}
	case "ptr":
		if m.CIDR != "" {
			return errors.New("ptr takes no prefix")
		}
	case "a", "mx":
		return validDualCIDR(m.CIDR)
	case "ip4", "ip6":
		addr, err := netip.ParseAddr(m.Domain)
		if err != nil || addr.Zone() != "" {
			return errors.New("bad address")
		}
		if (m.Name == "ip4") != addr.Is4() {
			return errors.New("address family does not match " + m.Name)
		}
		if m.CIDR != "" {
			if _, err := prefixLen(m.CIDR, addr.BitLen()); err != nil {
				return err
			}
		}
	default:
		return errors.New("unknown mechanism")
	}
	return nil
}

// validDualCIDR checks what follows the first '/' of a or mx: "24"
// (IPv4), "24//64" (both) or "/64" (IPv6 only).
func validDualCIDR(s string) error {
	if s == "" {
		return nil
	}
	v4, rest, dual := strings.Cut(s, "/")
	if v4 != "" {
		if _, err := prefixLen(v4, 32); err != nil {
			return err
		}
		if !dual {
			return nil
		}
		var ok bool
		if rest, ok = strings.CutPrefix(rest, "/"); !ok {
			return errors.New("bad dual prefix")
		}
	}
	if _, err := prefixLen(rest, 128); err != nil {
		return errors.New("bad ip6 prefix")
	}
	return nil
}

func prefixLen(s string, max int) (int, error) {
	if s == "" || len(s) > 3 || (len(s) > 1 && s[0] == '0') {
		return 0, errors.New("bad prefix length")
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > max {
		return 0, errors.New("bad prefix length")
	}
	return n, nil
}

func isModifierName(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !(c >= '0' && c <= '9') && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// All returns the record's "all" mechanism, if any. Terms after the first
// "all" are never evaluated, so the first one is what counts.
func (rec *SPF) All() (SPFMechanism, bool) {
	for _, m := range rec.Mechanisms {
		if m.Name == "all" {
			return m, true
		}
	}
	return SPFMechanism{}, false
}

// hasMacro reports whether a domain-spec uses macros (RFC 7208 7); such
// targets depend on the message and cannot be fetched ahead of time.
func hasMacro(s string) bool { return strings.Contains(s, "%") }
