package discovery

import (
	"errors"
	"net/netip"
	"strings"
)

// Errors of the package.
var (
	ErrInvalid = errors.New("discovery: invalid request")
	ErrSource  = errors.New("discovery: source failed")
)

// Source names where a candidate came from.
type Source string

// The sources.
const (
	SourceCT       Source = "ct"       // Certificate Transparency logs, or CT files
	SourceAXFR     Source = "axfr"     // a zone transfer the zone's servers allowed
	SourceWordlist Source = "wordlist" // a common label that resolved
	SourceNSEC     Source = "nsec"     // a walk of the zone's NSEC chain
	SourceRDNS     Source = "rdns"     // the PTR record of a registered address
	SourceCerts    Source = "certs"    // a certificate a scan (or this run) saw
	SourceLinks    Source = "links"    // a link on an owned website
	SourceRouting  Source = "routing"  // a prefix an owned AS announces
)

// Sources lists every source, in the order a run uses them.
var Sources = []Source{SourceCT, SourceAXFR, SourceWordlist, SourceNSEC, SourceRDNS, SourceCerts, SourceLinks, SourceRouting}

// Valid reports whether s is one of Sources.
func (s Source) Valid() bool {
	for _, v := range Sources {
		if s == v {
			return true
		}
	}
	return false
}

// ParseSources reads a comma-separated list of sources ("ct,axfr"); "all"
// or "" means every source.
func ParseSources(s string) ([]Source, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "all" {
		return append([]Source(nil), Sources...), nil
	}
	var out []Source
	for _, part := range strings.Split(s, ",") {
		src := Source(strings.ToLower(strings.TrimSpace(part)))
		if !src.Valid() {
			return nil, errors.Join(ErrInvalid, errors.New("discovery: unknown source "+part+" (want ct, axfr, wordlist, nsec, rdns, certs, links, routing)"))
		}
		if !hasSource(out, src) {
			out = append(out, src)
		}
	}
	return out, nil
}

func hasSource(list []Source, s Source) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Candidate is one thing discovery found that may belong to the
// constituency: a host name, or an address or network.
type Candidate struct {
	// Name is a host name (lower-case ASCII, no trailing dot); empty for
	// an address or network candidate.
	Name string `json:"name,omitempty"`
	// Prefix is an address ("192.0.2.7") or network ("192.0.2.0/24");
	// empty for a name.
	Prefix string `json:"prefix,omitempty"`
	Source Source `json:"source"`
	// Addresses are what the name resolves to (or the address a PTR
	// record was found at), when known.
	Addresses []string `json:"addresses,omitempty"`
	// CNAMEs is the name's CNAME chain, when known.
	CNAMEs []string `json:"cnames,omitempty"`
	// Evidence says how it was found, for people ("CT log X, entry 123").
	Evidence string `json:"evidence,omitempty"`
	// Under is the registered domain, network or AS that led to it.
	Under string `json:"under,omitempty"`
}

// Value is the candidate's name, or its address or network.
func (c Candidate) Value() string {
	if c.Name != "" {
		return c.Name
	}
	return c.Prefix
}

// key identifies a candidate within one run.
func (c Candidate) key() string { return string(c.Source) + "\x00" + c.Value() }

func addrStrings(as []netip.Addr) []string {
	if len(as) == 0 {
		return nil
	}
	out := make([]string, 0, len(as))
	for _, a := range as {
		s := a.String()
		dup := false
		for _, o := range out {
			dup = dup || o == s
		}
		if !dup {
			out = append(out, s)
		}
	}
	return out
}
