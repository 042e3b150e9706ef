package dns

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// DMARC parsing errors.
var (
	// ErrNotDMARC is a TXT string that is not a DMARC record.
	ErrNotDMARC = errors.New("dns: not a DMARC record")
	// ErrDMARCSyntax is a DMARC record receivers would discard.
	ErrDMARCSyntax = errors.New("dns: DMARC syntax error")
)

// DMARC is a parsed DMARC record (RFC 7489 6.3).
type DMARC struct {
	// Policy is p: none, quarantine or reject. A missing or invalid p with
	// a valid rua is taken as none (RFC 7489 6.6.3).
	Policy string
	// SubdomainPolicy is sp, or Policy when sp is absent or invalid.
	SubdomainPolicy string
	// Percent is pct (0-100), 100 when absent.
	Percent int
	RUA     []string
	// Tags holds every tag as written, names lower-cased.
	Tags map[string]string
}

// IsDMARC reports whether a TXT string starts with the version tag
// "v=DMARC1" (spaces around '=' allowed).
func IsDMARC(txt string) bool {
	first, _, _ := strings.Cut(txt, ";")
	name, value, ok := strings.Cut(first, "=")
	return ok && strings.EqualFold(strings.TrimSpace(name), "v") &&
		strings.EqualFold(strings.TrimSpace(value), "DMARC1")
}

// ParseDMARC parses a DMARC record: tag=value pairs separated by ';', v
// first. Duplicate tags, a tag without '=' or a record with neither a
// usable p nor rua are ErrDMARCSyntax.
func ParseDMARC(txt string) (*DMARC, error) {
	if !IsDMARC(txt) {
		return nil, ErrNotDMARC
	}
	d := &DMARC{Tags: map[string]string{}, Percent: 100}
	for _, part := range strings.Split(txt, ";") {
		part = strings.Trim(part, " \t\r\n")
		if part == "" {
			continue
		}
		name, value, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("%w: %q has no '='", ErrDMARCSyntax, part)
		}
		name = strings.ToLower(strings.Trim(name, " \t"))
		value = strings.Trim(value, " \t")
		if name == "" {
			return nil, fmt.Errorf("%w: empty tag name", ErrDMARCSyntax)
		}
		if _, dup := d.Tags[name]; dup {
			return nil, fmt.Errorf("%w: tag %q given twice", ErrDMARCSyntax, name)
		}
		d.Tags[name] = value
	}
	for _, u := range strings.Split(d.Tags["rua"], ",") {
		if u = strings.TrimSpace(u); u != "" {
			d.RUA = append(d.RUA, u)
		}
	}
	if p, ok := dmarcPolicy(d.Tags["p"]); ok {
		d.Policy = p
	} else if len(d.RUA) > 0 {
		d.Policy = "none"
	} else {
		return nil, fmt.Errorf("%w: p is missing or invalid (%q)", ErrDMARCSyntax, d.Tags["p"])
	}
	d.SubdomainPolicy = d.Policy
	if sp, ok := dmarcPolicy(d.Tags["sp"]); ok {
		d.SubdomainPolicy = sp
	}
	if v, ok := d.Tags["pct"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 100 {
			return nil, fmt.Errorf("%w: pct %q", ErrDMARCSyntax, v)
		}
		d.Percent = n
	}
	return d, nil
}

func dmarcPolicy(v string) (string, bool) {
	switch p := strings.ToLower(v); p {
	case "none", "quarantine", "reject":
		return p, true
	}
	return "", false
}
