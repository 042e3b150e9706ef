package vulndb

import (
	"fmt"
	"net/url"
	"strings"
)

// CPE is a parsed CPE 2.3 name. Each attribute holds its logical value,
// lower-cased, with three exceptions that keep the formatted-string form:
// "*" alone is ANY, "-" alone is NA (not applicable), and inside a value an
// unescaped '*' or '?' is a wildcard while a literal one stays escaped
// (`\*`, `\?`, `\\`, and `\-` for a literal lone hyphen). Every other
// escape of the formatted string (`\(`, `\:`, `\.`) is removed.
type CPE struct {
	Part      string // a (application), o (operating system), h (hardware)
	Vendor    string
	Product   string
	Version   string
	Update    string
	Edition   string
	Language  string
	SWEdition string
	TargetSW  string
	TargetHW  string
	Other     string
}

// The logical values ANY and NA.
const (
	Any = "*"
	NA  = "-"
)

// ParseCPE parses a CPE 2.3 formatted string ("cpe:2.3:a:nginx:nginx:1.20.0:*:*:*:*:*:*:*").
// Missing trailing attributes are ANY. It also accepts a CPE 2.2 URI
// ("cpe:/a:nginx:nginx:1.20.0") as fingerprinting tools print them.
func ParseCPE(s string) (CPE, error) {
	if strings.HasPrefix(s, "cpe:/") {
		return parseCPE22(s)
	}
	rest, ok := strings.CutPrefix(s, "cpe:2.3:")
	if !ok {
		return CPE{}, fmt.Errorf("%w: %q does not start with cpe:2.3: or cpe:/", ErrBadCPE, clip(s))
	}
	var attrs [11]string
	n := 0
	start := 0
	for i := 0; i <= len(rest); i++ {
		if i < len(rest) && rest[i] == '\\' {
			i++ // skip the escaped character
			if i >= len(rest) {
				return CPE{}, fmt.Errorf("%w: %q ends in a lone backslash", ErrBadCPE, clip(s))
			}
			continue
		}
		if i == len(rest) || rest[i] == ':' {
			if n == len(attrs) {
				return CPE{}, fmt.Errorf("%w: %q has more than 11 attributes", ErrBadCPE, clip(s))
			}
			v, err := logical(rest[start:i])
			if err != nil {
				return CPE{}, fmt.Errorf("%w: %q: %v", ErrBadCPE, clip(s), err)
			}
			attrs[n] = v
			n++
			start = i + 1
		}
	}
	for ; n < len(attrs); n++ {
		attrs[n] = Any
	}
	c := fromAttrs(attrs)
	return c, c.validate(s)
}

func fromAttrs(a [11]string) CPE {
	return CPE{a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10]}
}

func (c CPE) attrs() [11]string {
	return [11]string{c.Part, c.Vendor, c.Product, c.Version, c.Update, c.Edition, c.Language, c.SWEdition, c.TargetSW, c.TargetHW, c.Other}
}

func (c CPE) validate(s string) error {
	switch c.Part {
	case "a", "o", "h", Any:
	default:
		return fmt.Errorf("%w: %q: part %q is not a, o, h or *", ErrBadCPE, clip(s), c.Part)
	}
	return nil
}

// logical turns one formatted-string attribute into its logical value (see
// CPE). It allocates only when the value has upper case or escapes.
func logical(v string) (string, error) {
	switch v {
	case "", Any:
		return Any, nil
	case NA:
		return NA, nil
	}
	if !strings.ContainsRune(v, '\\') {
		return asciiLower(v), nil
	}
	var b strings.Builder
	b.Grow(len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c != '\\' {
			b.WriteByte(toLower(c))
			continue
		}
		i++
		if i >= len(v) {
			return "", fmt.Errorf("value %q ends in a lone backslash", v)
		}
		switch e := v[i]; e {
		case '*', '?', '\\':
			b.WriteByte('\\')
			b.WriteByte(e)
		default:
			b.WriteByte(toLower(e))
		}
	}
	out := b.String()
	if out == NA {
		out = `\-`
	}
	return out, nil
}

// parseCPE22 reads a CPE 2.2 URI; empty components are ANY.
func parseCPE22(s string) (CPE, error) {
	parts := strings.Split(strings.TrimPrefix(s, "cpe:/"), ":")
	if len(parts) > 7 {
		return CPE{}, fmt.Errorf("%w: %q has more than 7 components", ErrBadCPE, clip(s))
	}
	var attrs [11]string
	for i := range attrs {
		attrs[i] = Any
	}
	for i, p := range parts {
		v, err := url.PathUnescape(p)
		if err != nil {
			return CPE{}, fmt.Errorf("%w: %q: %v", ErrBadCPE, clip(s), err)
		}
		switch v {
		case "":
			v = Any
		case NA:
		default:
			v = asciiLower(v)
			v = strings.NewReplacer(`\`, `\\`, "*", `\*`, "?", `\?`).Replace(v)
		}
		attrs[i] = v
	}
	c := fromAttrs(attrs)
	return c, c.validate(s)
}

// String formats c as a CPE 2.3 formatted string.
func (c CPE) String() string {
	var b strings.Builder
	b.WriteString("cpe:2.3")
	for _, v := range c.attrs() {
		b.WriteByte(':')
		if v == Any || v == NA || v == "" {
			if v == "" {
				v = Any
			}
			b.WriteString(v)
			continue
		}
		for i := 0; i < len(v); i++ {
			ch := v[i]
			switch {
			case ch == '\\' && i+1 < len(v):
				b.WriteByte('\\')
				b.WriteByte(v[i+1])
				i++
			case ch == '*' || ch == '?' || isDigit(ch) || isLetter(ch) || ch == '_' || ch == '.' || ch == '-' || ch >= 0x80:
				b.WriteByte(ch)
			default:
				b.WriteByte('\\')
				b.WriteByte(ch)
			}
		}
	}
	return b.String()
}

// asciiLower lower-cases ASCII letters only (strings.ToLower would turn
// invalid UTF-8 into U+FFFD) and does not allocate for lower-case input.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for k := i; k < len(b); k++ {
				b[k] = toLower(b[k])
			}
			return string(b)
		}
	}
	return s
}

// unquote removes the escapes a logical value keeps (for versions).
func unquote(v string) string {
	if !strings.ContainsRune(v, '\\') {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// hasWildcard reports whether a logical value has an unescaped * or ?.
func hasWildcard(v string) bool {
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case '*', '?':
			return true
		}
	}
	return false
}

// specific reports whether v is a value rather than ANY or NA.
func specific(v string) bool { return v != Any && v != NA && v != "" }

// attrMatch matches one criteria attribute against the target's. A target
// attribute that is ANY (unknown to the fingerprint) satisfies any
// criteria: we rarely learn the edition, language or target platform of
// what we scan, and refusing on them would hide real exposure.
func attrMatch(crit, target string) bool {
	switch {
	case crit == Any || crit == "" || target == Any || target == "":
		return true
	case crit == NA || target == NA:
		return crit == target
	case hasWildcard(crit):
		return globMatch(crit, target)
	}
	return crit == target
}

// globMatch matches a logical value with wildcards ('*' any run, '?' one
// character) against a value; escaped characters match themselves.
func globMatch(pat, s string) bool {
	// Iterative matcher with one backtrack point for the last '*'.
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		if p < len(pat) {
			switch c := pat[p]; {
			case c == '*':
				star, mark = p, i
				p++
				continue
			case c == '?':
				p++
				i++
				continue
			case c == '\\' && p+1 < len(pat):
				if s[i] == '\\' && i+1 < len(s) && s[i+1] == pat[p+1] {
					p += 2
					i += 2
					continue
				}
				if pat[p+1] == s[i] {
					p += 2
					i++
					continue
				}
			case c == s[i]:
				p++
				i++
				continue
			}
		}
		if star < 0 {
			return false
		}
		p = star + 1
		mark++
		i = mark
	}
	for p < len(pat) && pat[p] == '*' {
		p++
	}
	return p == len(pat)
}

func clip(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}
