// Package asset holds the internet resources an organization owns (domains,
// hostnames, addresses, networks, ASNs, URLs, mail domains), how their values
// are normalized, and the scope guard that answers "who owns this target?".
//
// It is a domain package: it imports the standard library and
// golang.org/x/net/idna only.
package asset

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Kind is the type of an asset.
type Kind string

// The asset kinds.
const (
	KindDomain     Kind = "domain"      // a DNS zone; covers the name and every subdomain
	KindHostname   Kind = "hostname"    // one exact DNS name
	KindIPv4       Kind = "ipv4"        // one IPv4 address
	KindIPv6       Kind = "ipv6"        // one IPv6 address
	KindCIDR       Kind = "cidr"        // an IPv4 or IPv6 network in canonical form
	KindASN        Kind = "asn"         // an autonomous system, "AS64500"
	KindURL        Kind = "url"         // a web application; covers URLs under it
	KindMailDomain Kind = "mail_domain" // a domain that receives mail
)

// Kinds lists every valid kind.
var Kinds = []Kind{KindDomain, KindHostname, KindIPv4, KindIPv6, KindCIDR, KindASN, KindURL, KindMailDomain}

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool {
	for _, v := range Kinds {
		if k == v {
			return true
		}
	}
	return false
}

// Criticality is how much the owner's mission depends on the asset.
type Criticality string

// The criticality levels, lowest first.
const (
	CriticalityNormal    Criticality = "normal"
	CriticalityImportant Criticality = "important"
	CriticalityCritical  Criticality = "critical"
	CriticalityNational  Criticality = "national"
)

// Criticalities lists every valid criticality, lowest first.
var Criticalities = []Criticality{CriticalityNormal, CriticalityImportant, CriticalityCritical, CriticalityNational}

// Valid reports whether c is one of Criticalities.
func (c Criticality) Valid() bool {
	for _, v := range Criticalities {
		if c == v {
			return true
		}
	}
	return false
}

// Sentinel errors.
var (
	ErrInvalid    = errors.New("asset: invalid asset")
	ErrNotFound   = errors.New("asset: not found")
	ErrOutOfScope = errors.New("asset: target is out of scope")
)

// Asset is one resource owned by one organization.
type Asset struct {
	ID            int64       `json:"id"`
	OrgID         int64       `json:"org_id"`
	Kind          Kind        `json:"kind"`
	Value         string      `json:"value"` // normalized, see Normalize
	Criticality   Criticality `json:"criticality"`
	SecurityLevel int         `json:"security_level"` // the information system's level, 1-5
	Tags          []string    `json:"tags"`
	Notes         string      `json:"notes,omitempty"`
	CreatedAt     time.Time   `json:"created_at"`
	UpdatedAt     time.Time   `json:"updated_at"`

	// Ownership (see claim.go): set by the store, never by Prepare.
	State       State      `json:"state"`                  // claimed, verified or rejected
	VerifyToken string     `json:"verify_token,omitempty"` // what the claimant publishes to prove it
	VerifiedAt  *time.Time `json:"verified_at,omitempty"`  // when it was verified or rejected
	VerifiedBy  string     `json:"verified_by,omitempty"`  // dns, http, approval:<name>, national:<name>; the rejecter's name

	// Regions, when set, are the vantage points that scan this asset,
	// instead of its organization's (org.Route). Set by the store's
	// SetAssetRegions only, from above the owning organization.
	Regions []string `json:"regions,omitempty"`
}

// Verified reports whether a is in scope: proven or approved. Only verified
// assets are scanned.
func (a Asset) Verified() bool { return a.State == StateVerified }

// Prepare normalizes a's value, tags and defaults, then validates it.
// On error a is left partly normalized and must not be stored.
func (a *Asset) Prepare() error {
	a.Kind = Kind(strings.ToLower(strings.TrimSpace(string(a.Kind))))
	if !a.Kind.Valid() {
		return fmt.Errorf("%w: kind %q is not one of %s", ErrInvalid, a.Kind, kindList())
	}
	v, err := Normalize(a.Kind, a.Value)
	if err != nil {
		return err
	}
	a.Value = v
	a.Criticality = Criticality(strings.ToLower(strings.TrimSpace(string(a.Criticality))))
	if a.Criticality == "" {
		a.Criticality = CriticalityNormal
	}
	if !a.Criticality.Valid() {
		return fmt.Errorf("%w: criticality %q is not one of normal, important, critical, national", ErrInvalid, a.Criticality)
	}
	if a.SecurityLevel == 0 {
		a.SecurityLevel = 1
	}
	if a.SecurityLevel < 1 || a.SecurityLevel > 5 {
		return fmt.Errorf("%w: security_level %d must be between 1 and 5", ErrInvalid, a.SecurityLevel)
	}
	a.Tags = NormalizeTags(a.Tags)
	for _, t := range a.Tags {
		if len(t) > 64 {
			return fmt.Errorf("%w: tag %q longer than 64 bytes", ErrInvalid, t)
		}
	}
	if len(a.Tags) > maxTags {
		return fmt.Errorf("%w: more than %d tags", ErrInvalid, maxTags)
	}
	for _, t := range a.Tags {
		if !utf8.ValidString(t) || strings.IndexFunc(t, badText) >= 0 {
			return fmt.Errorf("%w: tag %q contains control characters", ErrInvalid, t)
		}
	}
	a.Notes = strings.TrimSpace(a.Notes)
	if !utf8.ValidString(a.Notes) || strings.IndexFunc(a.Notes, func(r rune) bool { return r != '\n' && r != '\t' && badText(r) }) >= 0 {
		return fmt.Errorf("%w: notes contain control characters (only line breaks and tabs are kept)", ErrInvalid)
	}
	if len(a.Notes) > 4000 {
		return fmt.Errorf("%w: notes longer than 4000 bytes", ErrInvalid)
	}
	if a.OrgID <= 0 {
		return fmt.Errorf("%w: org_id is required", ErrInvalid)
	}
	return nil
}

// maxTags caps the tags of one asset.
const maxTags = 50

// badText reports characters that have no place in registry text: control
// characters (terminal escapes in exported files) and bidirectional
// overrides and isolates (text that reads other than it is).
func badText(r rune) bool {
	return unicode.IsControl(r) || (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069')
}

// NormalizeTags trims, lower-cases, drops empties and duplicates, and sorts.
func NormalizeTags(in []string) []string {
	seen := make(map[string]bool, len(in))
	out := make([]string, 0, len(in))
	for _, t := range in {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" || seen[t] {
			continue
		}
		seen[t] = true
		out = append(out, t)
	}
	sortStrings(out)
	return out
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func kindList() string {
	s := make([]string, len(Kinds))
	for i, k := range Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}
