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

// entry is one rendered indicator, packed small: a list holds millions
// and sorting moves them.
type entry struct {
	value      string
	addr       u128  // address kinds: the network's first address
	lastSeen   int64 // unix seconds
	validUntil int64 // unix seconds; 0: none
	bits       uint8 // address kinds: prefix length
	v6         bool
	kind       uint8 // index in intel.Kinds
	category   uint8 // index in intel.Categories; noCategory when unknown
	confidence uint8
	tlp        uint8 // intel.TLP.Rank
}

const noCategory = 255

func (e *entry) prefix() netip.Prefix {
	return netip.PrefixFrom(fromU128(e.addr, !e.v6), int(e.bits))
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
	b := NewBuilder(g, len(indicators))
	var review []Review
	for i := range indicators {
		if r, held := b.Add(&indicators[i]); held {
			review = append(review, r)
		}
	}
	return b.List(), review
}

// Builder makes a List from indicators handed over one at a time, so the
// caller need not hold them all: it keeps only the packed entries (a
// tenth of an indicator's memory). Create it with NewBuilder; it is not
// safe for concurrent use, and List ends it.
type Builder struct {
	g      *Guard
	l      *List
	newest int64
}

// kindIndex numbers a kind for entries (its index in intel.Kinds).
func kindIndex(k intel.Kind) (uint8, bool) {
	i := slices.Index(intel.Kinds, k)
	return uint8(i), i >= 0
}

// NewBuilder returns a builder guarded by g (nil: no guard), with room
// for about n indicators.
func NewBuilder(g *Guard, n int) *Builder {
	return &Builder{g: g, l: &List{addrs: make([]entry, 0, n/2), others: make([]entry, 0, n/4)}}
}

// Add adds an indicator; one the guard refuses, or whose value cannot be
// rendered safely, is left out and its review returned with held true.
func (b *Builder) Add(in *intel.Indicator) (r Review, held bool) {
	e, addr, r, held := b.entryOf(in)
	if held {
		return r, true
	}
	b.newest = max(b.newest, e.lastSeen)
	if addr {
		b.l.addrs = append(b.l.addrs, e)
	} else {
		b.l.others = append(b.l.others, e)
	}
	return Review{}, false
}

// entryOf packs an indicator, or says why it stays out.
func (b *Builder) entryOf(in *intel.Indicator) (e entry, addr bool, r Review, held bool) {
	if r, ok := b.g.Check(in.Kind, in.Value); ok {
		r.IndicatorID = in.ID
		return e, false, r, true
	}
	k, ok := kindIndex(in.Kind)
	if !ok {
		return e, false, malformedReview(in), true
	}
	e = entry{value: in.Value, kind: k, category: noCategory,
		confidence: uint8(min(max(in.Confidence, 0), 100)), lastSeen: in.LastSeen.Unix()}
	if c := slices.Index(intel.Categories, in.Category); c >= 0 {
		e.category = uint8(c)
	}
	if !in.ValidUntil.IsZero() {
		e.validUntil = in.ValidUntil.Unix()
	}
	if t, ok := tlpOf[in.TLP]; ok {
		e.tlp = t
	} else {
		e.tlp = tlpOf[intel.TLPRed]
	}
	switch in.Kind {
	case intel.KindIPv4, intel.KindIPv6, intel.KindCIDR:
		p, ok := parsePrefix(in.Value)
		if !ok || in.Kind != intel.KindCIDR && (!p.IsSingleIP() || (in.Kind == intel.KindIPv4) != p.Addr().Is4()) {
			return e, false, malformedReview(in), true
		}
		e.addr, e.bits, e.v6 = toU128(p.Addr()), uint8(p.Bits()), !p.Addr().Is4()
		return e, true, Review{}, false
	}
	if !safeValue(in.Value) || in.Kind == intel.KindDomain && !validDomain(in.Value) {
		return e, false, malformedReview(in), true
	}
	return e, false, Review{}, false
}

// List sorts what was added into a list; the builder is done.
func (b *Builder) List() *List {
	l := b.l
	b.l = nil
	slices.SortFunc(l.addrs, cmpAddr)
	slices.SortFunc(l.others, cmpOther)
	// One entry per (kind, value): a duplicate would repeat a line.
	l.addrs = slices.CompactFunc(l.addrs, sameAddr)
	l.others = slices.CompactFunc(l.others, sameOther)
	l.Serial = uint32(max(b.newest, 0))
	return l
}

// The orders and identities of entries: addresses by family, address,
// prefix length; the others by kind and value.
func cmpAddr(a, b entry) int {
	if a.v6 != b.v6 {
		if b.v6 {
			return -1
		}
		return 1
	}
	if c := a.addr.cmp(b.addr); c != 0 {
		return c
	}
	return cmp.Compare(a.bits, b.bits)
}

func cmpOther(a, b entry) int {
	if a.kind != b.kind {
		return cmp.Compare(a.kind, b.kind)
	}
	return strings.Compare(a.value, b.value)
}

func sameAddr(a, b entry) bool  { return a.v6 == b.v6 && a.addr == b.addr && a.bits == b.bits }
func sameOther(a, b entry) bool { return a.kind == b.kind && a.value == b.value }

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

// filter is a consumer's filters for one format, compiled for speed.
type filter struct {
	kinds      [16]bool
	cats       [256]bool
	tlp        uint8
	confidence int
	now        int64
	minSeen    int64 // 0: no age limit
}

func (c *Consumer) filter(f Format, now int64) *filter {
	fl := &filter{tlp: c.maxTLP(), confidence: c.MinConfidence, now: now}
	fk := f.kinds()
	for i, k := range intel.Kinds {
		fl.kinds[i] = (len(c.Kinds) == 0 || slices.Contains(c.Kinds, k)) && (fk == nil || slices.Contains(fk, k))
	}
	for i := range fl.cats {
		fl.cats[i] = len(c.Categories) == 0 || i < len(intel.Categories) && slices.Contains(c.Categories, intel.Categories[i])
	}
	if c.MaxAge > 0 {
		fl.minSeen = now - int64(c.MaxAge/time.Second)
	}
	return fl
}

// accepts reports whether e passes the filter.
func (fl *filter) accepts(e *entry) bool {
	return e.tlp <= fl.tlp && int(e.confidence) >= fl.confidence &&
		(e.validUntil == 0 || fl.now < e.validUntil) && e.lastSeen >= fl.minSeen &&
		fl.kinds[e.kind&15] && fl.cats[e.category]
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
