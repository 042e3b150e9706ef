package blocklist

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/intel"
)

// Format is a rendering of a list.
type Format string

// The formats.
const (
	FormatPlain    Format = "plain"    // one value per line
	FormatCSV      Format = "csv"      // value,kind,category,confidence,tlp,last_seen
	FormatNFT      Format = "nft"      // an `nft -f` file: inet table, an ipv4 and an ipv6 interval set
	FormatIPSet    Format = "ipset"    // an `ipset restore` file: hash:net sets swapped in whole
	FormatMikrotik Format = "mikrotik" // a RouterOS script: address lists, stale entries removed
	FormatRPZ      Format = "rpz"      // a DNS response policy zone
)

// Formats lists every format.
var Formats = []Format{FormatPlain, FormatCSV, FormatNFT, FormatIPSet, FormatMikrotik, FormatRPZ}

// ErrFormat is returned for a format that does not exist.
var ErrFormat = errors.New("blocklist: unknown format")

// ParseFormat reads a format name.
func ParseFormat(s string) (Format, error) {
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(Formats, f) {
		return f, nil
	}
	return "", fmt.Errorf("%w %q (one of plain, csv, nft, ipset, mikrotik, rpz)", ErrFormat, s)
}

// kinds a format can hold; nil: every kind.
func (f Format) kinds() []intel.Kind {
	switch f {
	case FormatNFT, FormatIPSet, FormatMikrotik:
		return []intel.Kind{intel.KindIPv4, intel.KindIPv6, intel.KindCIDR}
	case FormatRPZ:
		return []intel.Kind{intel.KindDomain, intel.KindIPv4, intel.KindIPv6, intel.KindCIDR}
	}
	return nil
}

// Consumer is one subscriber of blocklists: who it is and what it wants.
// The zero value of each filter lets everything through, except MaxTLP:
// empty means CLEAR only.
type Consumer struct {
	Name          string           // shown in the file's header comment
	Kinds         []intel.Kind     // empty: every kind the format holds
	Categories    []intel.Category // empty: every category
	MinConfidence int              // 0-100
	MaxTLP        intel.TLP        // the most restricted marking wanted; empty: CLEAR; RED is never rendered
	MaxAge        time.Duration    // last seen within; 0: any age
	Formats       []Format         // formats it may pull; empty: all
	// SetName names the nftables table, the ipset sets (SetName4/6) and
	// the Mikrotik address list; "rampart" when empty. Letters, digits,
	// "_" and "-", at most 24.
	SetName string
	// Zone is the RPZ zone's origin, "rpz.rampart." when empty.
	Zone string
}

// Allows reports whether c may pull format f.
func (c *Consumer) Allows(f Format) bool { return len(c.Formats) == 0 || slices.Contains(c.Formats, f) }

// Check reports a consumer whose names cannot be rendered safely.
func (c *Consumer) Check() error {
	if c.SetName != "" && !validSetName(c.SetName) {
		return fmt.Errorf("blocklist: set name %q: use 1-24 letters, digits, _ or -, starting with a letter", c.SetName)
	}
	if c.Zone != "" && !validZone(c.Zone) {
		return fmt.Errorf("blocklist: zone %q is not a domain name", c.Zone)
	}
	if c.MinConfidence < 0 || c.MinConfidence > 100 {
		return fmt.Errorf("blocklist: minimum confidence %d is outside 0-100", c.MinConfidence)
	}
	if c.MaxTLP != "" {
		if _, err := intel.ParseTLP(string(c.MaxTLP)); err != nil {
			return fmt.Errorf("blocklist: %w", err)
		}
	}
	for _, f := range c.Formats {
		if !slices.Contains(Formats, f) {
			return fmt.Errorf("%w %q", ErrFormat, f)
		}
	}
	return nil
}

func validSetName(s string) bool {
	if len(s) == 0 || len(s) > 24 || !isLetter(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isLetter(c) && !('0' <= c && c <= '9') && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func (c *Consumer) setName() string {
	if c.SetName == "" {
		return "rampart"
	}
	return c.SetName
}

func (c *Consumer) zone() string {
	z := c.Zone
	if z == "" {
		z = "rpz.rampart."
	}
	if !strings.HasSuffix(z, ".") {
		z += "."
	}
	return strings.ToLower(z)
}

// entry is one rendered indicator, packed small: a list holds millions.
type entry struct {
	value      string
	prefix     netip.Prefix // address kinds
	lastSeen   int64        // unix seconds
	validUntil int64        // unix seconds; 0: none
	kind       intel.Kind
	category   intel.Category
	confidence uint8
	tlp        uint8 // intel.TLP.Rank
}

// List is an immutable, guarded and sorted snapshot of indicators, ready
// to render for any consumer. It is safe for concurrent use.
type List struct {
	addrs  []entry // ipv4, ipv6, cidr: by address, then prefix length
	others []entry // by kind, then value
	// Serial is the RPZ SOA serial and the Mikrotik generation's base:
	// by default the newest last-seen time (Unix seconds) of the list.
	// Set it to a counter the hub raises on every change (including
	// expiry) for secondaries that transfer the zone.
	Serial uint32
}

// Len returns the number of indicators the list holds.
func (l *List) Len() int { return len(l.addrs) + len(l.others) }

var tlpOf = map[intel.TLP]uint8{intel.TLPClear: 0, intel.TLPGreen: 1, intel.TLPAmber: 2, intel.TLPAmberStrict: 3, intel.TLPRed: 4}

// Build makes a list of indicators. Those the guard refuses (g may be
// nil: no guard) are left out and returned for review, in input order,
// as are values that cannot be rendered safely.
func Build(indicators []intel.Indicator, g *Guard) (*List, []Review) {
	l := &List{}
	var review []Review
	var newest int64
	for i := range indicators {
		in := &indicators[i]
		if r, ok := g.Check(in.Kind, in.Value); ok {
			r.IndicatorID = in.ID
			review = append(review, r)
			continue
		}
		e := entry{value: in.Value, kind: in.Kind, category: in.Category,
			confidence: uint8(min(max(in.Confidence, 0), 100)), lastSeen: in.LastSeen.Unix()}
		if !in.ValidUntil.IsZero() {
			e.validUntil = in.ValidUntil.Unix()
		}
		if t, ok := tlpOf[in.TLP]; ok {
			e.tlp = t
		} else {
			e.tlp = tlpOf[intel.TLPRed]
		}
		newest = max(newest, e.lastSeen)
		switch in.Kind {
		case intel.KindIPv4, intel.KindIPv6, intel.KindCIDR:
			p, ok := parsePrefix(in.Value)
			if !ok || in.Kind != intel.KindCIDR && (!p.IsSingleIP() || (in.Kind == intel.KindIPv4) != p.Addr().Is4()) {
				review = append(review, malformedReview(in))
				continue
			}
			e.prefix = p
			l.addrs = append(l.addrs, e)
		default:
			if !safeValue(in.Value) || in.Kind == intel.KindDomain && !validDomain(in.Value) {
				review = append(review, malformedReview(in))
				continue
			}
			l.others = append(l.others, e)
		}
	}
	slices.SortFunc(l.addrs, func(a, b entry) int {
		if c := a.prefix.Addr().Compare(b.prefix.Addr()); c != 0 {
			return c
		}
		return cmp.Compare(a.prefix.Bits(), b.prefix.Bits())
	})
	kindRank := func(k intel.Kind) int { return slices.Index(intel.Kinds, k) }
	slices.SortFunc(l.others, func(a, b entry) int {
		if a.kind != b.kind {
			return cmp.Compare(kindRank(a.kind), kindRank(b.kind))
		}
		return strings.Compare(a.value, b.value)
	})
	// One entry per (kind, value): a duplicate would repeat a line.
	l.addrs = slices.CompactFunc(l.addrs, func(a, b entry) bool { return a.prefix == b.prefix })
	l.others = slices.CompactFunc(l.others, func(a, b entry) bool { return a.kind == b.kind && a.value == b.value })
	l.Serial = uint32(max(newest, 0))
	return l, review
}

// parsePrefix reads an address or a network, canonical.
func parsePrefix(s string) (netip.Prefix, bool) {
	if strings.IndexByte(s, '/') >= 0 {
		p, err := netip.ParsePrefix(s)
		if err != nil || p.Bits() == 0 {
			return netip.Prefix{}, false
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

// safeValue: printable ASCII without spaces, quotes, commas or
// separators, so a value is one token in every format. Normalized
// indicator values already are; a value that is not is a bug or an
// attack, and goes to review.
func safeValue(s string) bool {
	if s == "" || len(s) > 4096 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == '\\' || c == ';' || c == ',' {
			return false
		}
	}
	return true
}

// accepts reports whether e passes c's filters at now.
func (c *Consumer) accepts(e *entry, f Format, now int64) bool {
	if e.tlp > c.maxTLP() {
		return false
	}
	if int(e.confidence) < c.MinConfidence {
		return false
	}
	if e.validUntil != 0 && now >= e.validUntil {
		return false
	}
	if c.MaxAge > 0 && e.lastSeen < now-int64(c.MaxAge/time.Second) {
		return false
	}
	if len(c.Kinds) > 0 && !slices.Contains(c.Kinds, e.kind) {
		return false
	}
	if ks := f.kinds(); ks != nil && !slices.Contains(ks, e.kind) {
		return false
	}
	return len(c.Categories) == 0 || slices.Contains(c.Categories, e.category)
}

// maxTLP is the consumer's ceiling as a rank, never RED.
func (c *Consumer) maxTLP() uint8 {
	t, ok := tlpOf[c.MaxTLP]
	if !ok {
		if p, err := intel.ParseTLP(string(c.MaxTLP)); err == nil {
			t = tlpOf[p]
		}
	}
	return min(t, tlpOf[intel.TLPAmberStrict])
}

// validDomain: labels a zone file can hold, and not an RPZ trigger name
// (a last label "rpz-ip", "rpz-nsdname" ... would turn a domain into a
// trigger of another kind).
func validDomain(s string) bool {
	if len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if !validLabel(l) {
			return false
		}
	}
	return !strings.HasPrefix(labels[len(labels)-1], "rpz-")
}
