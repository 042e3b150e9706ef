package intel

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
)

// ErrInvalid is wrapped by every error about a value or record refused.
var ErrInvalid = errors.New("invalid indicator")

// Kind is what an indicator's value is.
type Kind string

const (
	KindIPv4   Kind = "ipv4"
	KindIPv6   Kind = "ipv6"
	KindCIDR   Kind = "cidr"
	KindDomain Kind = "domain" // a name and, for matching, all its subdomains
	KindURL    Kind = "url"
	KindEmail  Kind = "email"
	KindMD5    Kind = "md5"
	KindSHA1   Kind = "sha1"
	KindSHA256 Kind = "sha256"
	KindASN    Kind = "asn"
)

// Kinds lists every kind.
var Kinds = []Kind{KindIPv4, KindIPv6, KindCIDR, KindDomain, KindURL, KindEmail, KindMD5, KindSHA1, KindSHA256, KindASN}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return slices.Contains(Kinds, k) }

// IsHash reports whether k is a file hash.
func (k Kind) IsHash() bool { return k == KindMD5 || k == KindSHA1 || k == KindSHA256 }

// TLP is a Traffic Light Protocol 2.0 marking.
type TLP string

const (
	TLPClear       TLP = "CLEAR"
	TLPGreen       TLP = "GREEN"
	TLPAmber       TLP = "AMBER"
	TLPAmberStrict TLP = "AMBER+STRICT"
	TLPRed         TLP = "RED"
)

// TLPs lists the markings from least to most restricted.
var TLPs = []TLP{TLPClear, TLPGreen, TLPAmber, TLPAmberStrict, TLPRed}

// ParseTLP reads a marking as feeds write it: "tlp:amber+strict",
// "TLP:WHITE" (TLP 1.0's name for CLEAR), "green". Empty is an error.
func ParseTLP(s string) (TLP, error) {
	v := strings.ToUpper(strings.TrimSpace(s))
	v = strings.TrimPrefix(v, "TLP:")
	v = strings.TrimPrefix(v, "TLP ")
	v = strings.TrimSpace(v)
	switch v {
	case "WHITE":
		return TLPClear, nil
	case "AMBER STRICT":
		return TLPAmberStrict, nil
	}
	t := TLP(v)
	if slices.Contains(TLPs, t) {
		return t, nil
	}
	return "", fmt.Errorf("%w: TLP %q is not one of CLEAR, GREEN, AMBER, AMBER+STRICT, RED", ErrInvalid, s)
}

// Rank orders markings: CLEAR 0 … RED 4; an unknown marking ranks as RED.
func (t TLP) Rank() int {
	if i := slices.Index(TLPs, t); i >= 0 {
		return i
	}
	return len(TLPs) - 1
}

// Stricter returns the more restricted of two markings.
func Stricter(a, b TLP) TLP {
	if a.Rank() >= b.Rank() {
		return a
	}
	return b
}

// Category says what an indicator means, and so which early-warning kind a
// hit on a constituent asset becomes.
type Category string

const (
	CategoryCompromised Category = "compromised" // sinkhole hit, botnet drone, C2 contact from the address
	CategoryC2          Category = "c2"          // the value is a command-and-control server
	CategoryMalware     Category = "malware"     // serves or is malware (URL, hash, host)
	CategoryPhishing    Category = "phishing"    // phishing page or sender
	CategoryScanner     Category = "scanner"     // scans or attacks others
	CategorySpam        Category = "spam"        // sends spam
	CategoryExposed     Category = "exposed"     // a third party saw a vulnerable or open service
	CategoryBlocklist   Category = "blocklist"   // listed on a blocklist without more detail
	CategoryLeak        Category = "leak"        // accounts in a credential leak
)

// Categories lists every category.
var Categories = []Category{CategoryCompromised, CategoryC2, CategoryMalware, CategoryPhishing, CategoryScanner, CategorySpam, CategoryExposed, CategoryBlocklist, CategoryLeak}

// Record is one source's statement about one value: a STIX indicator, a
// MISP attribute, a CSV row, a Shadowserver report row, a partner's push.
// Parsers fill Kind and Value (raw or normalized) and what the format
// carries; Normalize completes and checks it.
type Record struct {
	Kind       Kind      `json:"kind"`
	Value      string    `json:"value"`
	Feed       string    `json:"feed"`                  // the source's name, "urlhaus", "misp:circl"
	ExternalID string    `json:"external_id,omitempty"` // the source's ID (STIX id, MISP attribute uuid)
	Category   Category  `json:"category,omitempty"`
	Confidence int       `json:"confidence"` // 0-100
	TLP        TLP       `json:"tlp"`
	FirstSeen  time.Time `json:"first_seen,omitzero"`
	LastSeen   time.Time `json:"last_seen,omitzero"`
	ValidUntil time.Time `json:"valid_until,omitzero"`
	// Labels are "malware:poison ivy", "actor:apt1", "campaign:x",
	// "tag:botnet": lower case, a prefix and a name.
	Labels []string `json:"labels,omitempty"`
	// Detail is what a report row says beyond the value: the port and
	// protocol of an exposed service, the infection name of a drone, the
	// accounts of a leak (never their passwords). Keys are lower case.
	Detail map[string]string `json:"detail,omitempty"`
	// Raw is the source row or object, cut to MaxRaw bytes, for evidence.
	Raw string `json:"raw,omitempty"`
	// Recipients are whom a TLP:RED record is for; Normalize drops them
	// from a record of any other marking.
	Recipients Recipients `json:"recipients,omitzero"`
}

// MaxRaw bounds Record.Raw.
const MaxRaw = 4096

// DefaultConfidence is used when a source says nothing.
const DefaultConfidence = 50

// Normalize checks r and puts its value in canonical form. Defaults: TLP
// AMBER when unmarked (the safe choice for data of unknown origin),
// confidence DefaultConfidence when zero is not stated, category blocklist,
// first and last seen now.
func (r *Record) Normalize(now time.Time) error {
	if !r.Kind.Valid() {
		return fmt.Errorf("%w: kind %q is not one of %s", ErrInvalid, r.Kind, kindList())
	}
	v, err := NormalizeValue(r.Kind, r.Value)
	if err != nil {
		return err
	}
	r.Value = v
	if r.Kind == KindCIDR {
		// A /32 or /128 is an address.
		if p := netip.MustParsePrefix(v); p.IsSingleIP() {
			if p.Addr().Is4() {
				r.Kind = KindIPv4
			} else {
				r.Kind = KindIPv6
			}
			r.Value = p.Addr().String()
		}
	}
	if r.Feed == "" {
		return fmt.Errorf("%w: record without a feed name", ErrInvalid)
	}
	if r.Confidence < 0 || r.Confidence > 100 {
		return fmt.Errorf("%w: confidence %d is outside 0-100", ErrInvalid, r.Confidence)
	}
	switch {
	case r.TLP == "":
		r.TLP = TLPAmber
	case slices.Contains(TLPs, r.TLP): // a marking already
	default:
		t, err := ParseTLP(string(r.TLP))
		if err != nil {
			return err
		}
		r.TLP = t
	}
	if r.Category == "" {
		r.Category = CategoryBlocklist
	} else if !slices.Contains(Categories, r.Category) {
		return fmt.Errorf("%w: category %q is not one of %v", ErrInvalid, r.Category, Categories)
	}
	if r.LastSeen.IsZero() {
		r.LastSeen = now
	}
	if r.FirstSeen.IsZero() || r.FirstSeen.After(r.LastSeen) {
		r.FirstSeen = r.LastSeen
	}
	for i, l := range r.Labels {
		r.Labels[i] = strings.ToLower(strings.TrimSpace(l))
	}
	r.Labels = slices.DeleteFunc(r.Labels, func(s string) bool { return s == "" })
	slices.Sort(r.Labels)
	r.Labels = slices.Compact(r.Labels)
	if len(r.Raw) > MaxRaw {
		r.Raw = r.Raw[:MaxRaw]
	}
	if r.TLP != TLPRed {
		r.Recipients = Recipients{}
	} else if err := r.Recipients.normalize(); err != nil {
		return err
	}
	return nil
}

func kindList() string {
	s := make([]string, len(Kinds))
	for i, k := range Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// NormalizeValue returns the canonical form of an indicator value: names
// lower-case punycode without a trailing dot (a leading "*." is dropped: a
// domain indicator already covers its subdomains), addresses and networks
// canonical, URLs as the asset normalizer keeps them (query kept), e-mail
// addresses with a lower-case domain, hashes lower-case hex of the right
// length, ASNs "AS" and the number.
func NormalizeValue(k Kind, value string) (string, error) {
	v := strings.TrimSpace(value)
	if v == "" {
		return "", fmt.Errorf("%w: %s value is empty", ErrInvalid, k)
	}
	if len(v) > 4096 {
		return "", fmt.Errorf("%w: %s value is longer than 4096 bytes", ErrInvalid, k)
	}
	wrap := func(err error) error { return fmt.Errorf("%w: %v", ErrInvalid, err) }
	switch k {
	case KindIPv4, KindIPv6:
		a, err := netip.ParseAddr(v)
		if err != nil || a.Zone() != "" {
			return "", fmt.Errorf("%w: %q is not an IP address", ErrInvalid, value)
		}
		if k == KindIPv4 && a.Is4() {
			// netip reads only a strict dotted quad as IPv4, which is
			// how it writes it back.
			return v, nil
		}
		a = a.Unmap()
		if (k == KindIPv4) != a.Is4() {
			return "", fmt.Errorf("%w: %q is not an %s address", ErrInvalid, value, k)
		}
		return a.String(), nil
	case KindCIDR:
		p, err := netip.ParsePrefix(v)
		if err != nil {
			if a, aerr := netip.ParseAddr(v); aerr == nil {
				p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
			} else {
				return "", fmt.Errorf("%w: %q is not a network", ErrInvalid, value)
			}
		}
		if p.Bits() == 0 {
			return "", fmt.Errorf("%w: %q covers every address", ErrInvalid, value)
		}
		return p.Masked().String(), nil
	case KindDomain:
		v = strings.TrimPrefix(v, "*.")
		n, err := asset.Normalize(asset.KindHostname, v)
		if err != nil {
			return "", wrap(err)
		}
		return n, nil
	case KindURL:
		return normalizeURL(v)
	case KindEmail:
		at := strings.LastIndexByte(v, '@')
		if at <= 0 || at == len(v)-1 || strings.ContainsAny(v[:at], " \t<>") {
			return "", fmt.Errorf("%w: %q is not an e-mail address", ErrInvalid, value)
		}
		d, err := asset.Normalize(asset.KindHostname, v[at+1:])
		if err != nil {
			return "", wrap(err)
		}
		return strings.ToLower(v[:at]) + "@" + d, nil
	case KindMD5, KindSHA1, KindSHA256:
		want := map[Kind]int{KindMD5: 32, KindSHA1: 40, KindSHA256: 64}[k]
		v = strings.ToLower(v)
		if len(v) != want || strings.Trim(v, "0123456789abcdef") != "" {
			return "", fmt.Errorf("%w: %q is not a %s hash (%d hex digits)", ErrInvalid, value, k, want)
		}
		return v, nil
	case KindASN:
		s := strings.TrimPrefix(strings.ToUpper(v), "AS")
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil || n == 0 {
			return "", fmt.Errorf("%w: %q is not an AS number", ErrInvalid, value)
		}
		return "AS" + strconv.FormatUint(n, 10), nil
	}
	return "", fmt.Errorf("%w: kind %q is not one of %s", ErrInvalid, k, kindList())
}

// normalizeURL keeps the query (malware URLs differ by it) and normalizes
// the rest like a URL asset.
func normalizeURL(v string) (string, error) {
	if !strings.Contains(v, "://") {
		v = "http://" + v
	}
	base, query, _ := strings.Cut(v, "?")
	base, _, _ = strings.Cut(base, "#")
	query, _, _ = strings.Cut(query, "#")
	n, err := asset.Normalize(asset.KindURL, base)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if query != "" {
		n += "?" + query
	}
	return n, nil
}

// URLHost returns the host of a normalized URL indicator, without port.
func URLHost(u string) string {
	_, rest, ok := strings.Cut(u, "://")
	if !ok {
		return ""
	}
	end := strings.IndexAny(rest, "/?")
	if end >= 0 {
		rest = rest[:end]
	}
	if strings.HasPrefix(rest, "[") {
		if i := strings.IndexByte(rest, ']'); i > 0 {
			return rest[1:i]
		}
	}
	if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// Indicator is every source's knowledge of one value, merged.
type Indicator struct {
	ID         int64     `json:"id"`
	Kind       Kind      `json:"kind"`
	Value      string    `json:"value"`
	Category   Category  `json:"category"`
	Confidence int       `json:"confidence"` // the highest of its sources
	TLP        TLP       `json:"tlp"`        // the strictest any source asked for
	FirstSeen  time.Time `json:"first_seen"`
	LastSeen   time.Time `json:"last_seen"`
	ValidUntil time.Time `json:"valid_until,omitzero"`
	Labels     []string  `json:"labels,omitempty"`
	Sources    []Source  `json:"sources,omitempty"`
	Sightings  int       `json:"sightings"`
	// Recipients of a TLP:RED indicator: everyone any of its RED sources
	// named (each was told the value by one of them).
	Recipients Recipients `json:"recipients,omitzero"`
}

// Source is one feed's part of an indicator.
type Source struct {
	Feed       string    `json:"feed"`
	ExternalID string    `json:"external_id,omitempty"`
	Confidence int       `json:"confidence"`
	TLP        TLP       `json:"tlp"`
	FirstSeen  time.Time `json:"first_seen"`
	LastSeen   time.Time `json:"last_seen"`
	ValidUntil time.Time `json:"valid_until,omitzero"`
}

// Active reports whether the indicator is still valid at now: a stated
// valid-until in the future, or none stated.
func (in *Indicator) Active(now time.Time) bool {
	return in.ValidUntil.IsZero() || now.Before(in.ValidUntil)
}

// Merge folds a normalized record into the indicator (which may be empty,
// for the first record of a value). Confidence is the highest; the marking
// is the strictest any source asked for (sharing must honour every
// source's restriction); first seen the earliest, last seen and valid-until
// the latest; labels the union; recipients the union of those the RED
// records named; a more specific category replaces CategoryBlocklist.
func (in *Indicator) Merge(r Record) {
	if in.Kind == "" {
		in.Kind, in.Value = r.Kind, r.Value
		in.Category, in.TLP, in.Confidence = r.Category, r.TLP, r.Confidence
		in.FirstSeen, in.LastSeen, in.ValidUntil = r.FirstSeen, r.LastSeen, r.ValidUntil
	} else {
		in.Confidence = max(in.Confidence, r.Confidence)
		in.TLP = Stricter(in.TLP, r.TLP)
		if r.FirstSeen.Before(in.FirstSeen) {
			in.FirstSeen = r.FirstSeen
		}
		if r.LastSeen.After(in.LastSeen) {
			in.LastSeen = r.LastSeen
		}
		if !in.ValidUntil.IsZero() && (r.ValidUntil.IsZero() || r.ValidUntil.After(in.ValidUntil)) {
			in.ValidUntil = r.ValidUntil
		}
		if in.Category == CategoryBlocklist && r.Category != "" {
			in.Category = r.Category
		}
	}
	if r.TLP == TLPRed {
		in.Recipients.union(r.Recipients)
	}
	if len(in.Labels) == 0 && len(r.Labels) > 0 {
		// An indicator's first labels: one slice, not one per label.
		l := slices.Clone(r.Labels)
		slices.Sort(l)
		in.Labels = slices.Compact(l)
	}
	for _, l := range r.Labels {
		if !slices.Contains(in.Labels, l) {
			in.Labels = append(in.Labels, l)
		}
	}
	slices.Sort(in.Labels)
	src := Source{Feed: r.Feed, ExternalID: r.ExternalID, Confidence: r.Confidence, TLP: r.TLP,
		FirstSeen: r.FirstSeen, LastSeen: r.LastSeen, ValidUntil: r.ValidUntil}
	for i := range in.Sources {
		if in.Sources[i].Feed == r.Feed {
			s := &in.Sources[i]
			s.Confidence, s.TLP, s.ValidUntil = r.Confidence, r.TLP, r.ValidUntil
			if r.LastSeen.After(s.LastSeen) {
				s.LastSeen = r.LastSeen
			}
			if r.ExternalID != "" {
				s.ExternalID = r.ExternalID
			}
			return
		}
	}
	in.Sources = append(in.Sources, src)
}

// Emit is how parsers hand records over: one call per record, in file
// order. An error from emit stops the parse and is returned as is.
type Emit func(Record) error

// Rejection is an object a parser could not read (an unsupported STIX
// pattern, a malformed row). Parsers report rejections and go on; they
// never emit part of a rejected object.
type Rejection struct {
	Where  string `json:"where"`  // "line 12", "indicator--uuid"
	Reason string `json:"reason"` // why, in words
}

// MaxRejections bounds the rejections a parse keeps; the count goes on.
const MaxRejections = 1000

// Rejections collects rejections, keeping the first MaxRejections.
type Rejections struct {
	Count int
	List  []Rejection
}

// Add records one rejection.
func (r *Rejections) Add(where, reason string) {
	r.Count++
	if len(r.List) < MaxRejections {
		r.List = append(r.List, Rejection{Where: where, Reason: reason})
	}
}

// Early-warning finding kinds: a hit of an indicator or report row on a
// constituent asset becomes a finding of one of these kinds.
const (
	FindingCompromisedHost   = "intel.compromised-host"   // sinkhole, botnet drone, C2 contact
	FindingMaliciousContent  = "intel.malicious-content"  // phishing or malware URL on an owned site
	FindingExposedService    = "intel.exposed-service"    // a third party's scan saw an open or vulnerable service
	FindingBlocklisted       = "intel.blocklisted"        // an owned address or name on a blocklist
	FindingLeakedCredentials = "intel.leaked-credentials" // accounts of an owned mail domain in a leak
)

// FindingKind returns the early-warning kind for a hit of a record of
// category c on a constituent asset.
func FindingKind(c Category) string {
	switch c {
	case CategoryCompromised, CategoryC2:
		return FindingCompromisedHost
	case CategoryMalware, CategoryPhishing:
		return FindingMaliciousContent
	case CategoryExposed:
		return FindingExposedService
	case CategoryLeak:
		return FindingLeakedCredentials
	}
	return FindingBlocklisted
}
