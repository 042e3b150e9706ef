package asset

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// The scope guard: an Index answers "which asset, and so which
// organization, owns this address, name, URL or ASN?" for every probe.
//
// Coverage rules, most specific owner first:
//
//   - An address belongs to the longest registered prefix that contains it;
//     an ipv4 or ipv6 asset is a /32 or /128, so it beats any cidr.
//   - A network target ("10.0.0.0/24") is in scope only when one asset's
//     prefix contains all of it; the longest such prefix wins.
//   - A name belongs to a hostname or mail_domain asset with exactly that
//     name, else to the domain asset with the longest suffix on a label
//     boundary: domain "gov.vn" covers "gov.vn" and "a.b.gov.vn", never
//     "xgov.vn". Hostnames and mail domains cover only their exact name.
//   - A URL belongs to the url asset with the longest prefix on a path
//     boundary under the same scheme and host ("https://a.vn/app" covers
//     "https://a.vn/app" and "https://a.vn/app/x", not "https://a.vn/apple");
//     without one, the URL's host is looked up as a name or address.
//     A url asset covers only URLs: it does not put its host name in scope.
//   - An asn asset covers only the target "AS64500" itself. Which prefixes
//     an AS originates is routing data this index does not hold yet, so an
//     ASN asset puts no address in scope.
//
// When several assets have the same value (two organizations registered the
// same network, or an ipv4 and a /32 cidr), the lowest asset ID owns it, so
// the answer never depends on load order; Overlaps reports such conflicts.

// Target kinds reported in Match.TargetKind.
const (
	TargetIP   = "ip"
	TargetCIDR = "cidr"
	TargetName = "name"
	TargetURL  = "url"
	TargetASN  = "asn"
)

// Entry is what the index needs to know about one asset. Value must already
// be normalized (see Normalize).
type Entry struct {
	AssetID int64
	OrgID   int64
	Kind    Kind
	Value   string
}

// Match says which asset covers a target.
type Match struct {
	AssetID    int64
	OrgID      int64
	Kind       Kind   // the covering asset's kind
	Value      string // the covering asset's value
	Target     string // the normalized target; empty from LookupAddr
	TargetKind string // TargetIP, TargetCIDR, TargetName, TargetURL or TargetASN
}

// Builder collects entries for an Index. It is not safe for concurrent use.
type Builder struct {
	entries []Entry
}

// NewBuilder returns an empty builder.
func NewBuilder() *Builder { return &Builder{} }

// Add adds one asset. It refuses an entry whose IDs are not positive, whose
// kind is unknown, or whose value is not already in normal form; a refused
// entry covers nothing. Each asset should be added once.
func (b *Builder) Add(e Entry) error {
	if e.AssetID <= 0 || e.OrgID <= 0 {
		return fmt.Errorf("%w: asset %d: asset and organization IDs must be positive", ErrInvalid, e.AssetID)
	}
	if !e.Kind.Valid() {
		return fmt.Errorf("%w: asset %d: kind %q is not one of %s", ErrInvalid, e.AssetID, e.Kind, kindList())
	}
	v, err := normalize(e.Kind, e.Value)
	if err != nil {
		return fmt.Errorf("%w: asset %d: %s %s: %v", ErrInvalid, e.AssetID, e.Kind, quoteShort(e.Value), err)
	}
	if v != e.Value {
		return fmt.Errorf("%w: asset %d: %s %s is not normalized; want %q", ErrInvalid, e.AssetID, e.Kind, quoteShort(e.Value), v)
	}
	b.entries = append(b.entries, e)
	return nil
}

// Build returns an immutable index of the entries added so far. The builder
// stays usable; later Adds do not change the returned index.
func (b *Builder) Build() *Index {
	ix := &Index{
		entries: slices.Clone(b.entries),
		names:   make(map[string]int32),
		urls:    make(map[string]int32),
		asns:    make(map[uint32]int32),
	}
	// Entries in asset ID order: every group of equal values then lists
	// its entries lowest ID first, and its first entry is the owner.
	slices.SortStableFunc(ix.entries, func(a, b Entry) int { return cmp.Compare(a.AssetID, b.AssetID) })
	n := len(ix.entries)
	ix.next = make([]int32, n)
	ix.entNode = make([]int32, n)
	tail := make([]int32, n) // tail[head] is the last entry of head's chain
	var v4, v6 []prefixItem
	for i := range ix.entries {
		ix.next[i] = -1
		ix.entNode[i] = -1
		e := &ix.entries[i]
		switch e.Kind {
		case KindIPv4, KindIPv6, KindCIDR:
			p, ok := entryPrefix(*e)
			if !ok {
				continue // Add validated it; unreachable
			}
			it := prefixItem{start: addrU128(p.Addr()), bits: uint8(p.Bits()), ent: int32(i)}
			if p.Addr().Is4() {
				v4 = append(v4, it)
			} else {
				v6 = append(v6, it)
			}
		case KindDomain, KindHostname, KindMailDomain:
			si, ok := ix.names[e.Value]
			if !ok {
				si = int32(len(ix.slots))
				ix.slots = append(ix.slots, nameSlot{exact: -1, domain: -1})
				ix.names[e.Value] = si
			}
			s := &ix.slots[si]
			if e.Kind == KindDomain {
				s.domain = ix.chain(tail, s.domain, int32(i))
			} else {
				s.exact = ix.chain(tail, s.exact, int32(i))
			}
		case KindURL:
			h, ok := ix.urls[e.Value]
			if !ok {
				h = -1
			}
			ix.urls[e.Value] = ix.chain(tail, h, int32(i))
		case KindASN:
			a, err := parseASN(e.Value, false)
			if err != nil {
				continue
			}
			h, ok := ix.asns[a]
			if !ok {
				h = -1
			}
			ix.asns[a] = ix.chain(tail, h, int32(i))
		}
	}
	ix.v4 = buildTable(v4, 32, ix.entNode)
	ix.v6 = buildTable(v6, 128, ix.entNode)
	ix.v4.buildTop()
	return ix
}

// chain appends entry i to the chain starting at head and returns the head.
func (ix *Index) chain(tail []int32, head, i int32) int32 {
	if head < 0 {
		tail[i] = i
		return i
	}
	ix.next[tail[head]] = i
	tail[head] = i
	return head
}

// entryPrefix returns the prefix of an address or network entry.
func entryPrefix(e Entry) (netip.Prefix, bool) {
	if e.Kind == KindCIDR {
		p, err := netip.ParsePrefix(e.Value)
		return p, err == nil
	}
	a, err := netip.ParseAddr(e.Value)
	if err != nil {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}

// Index is an immutable scope index. Lookups are safe for concurrent use
// without locks and do not allocate on their fast paths.
type Index struct {
	entries []Entry // sorted by asset ID
	next    []int32 // next entry with the same value and kind class, or -1
	entNode []int32 // the address-table node of an address entry, or -1

	v4, v6 ipTable

	names map[string]int32 // name → slots index
	slots []nameSlot
	urls  map[string]int32 // url value → first entry
	asns  map[uint32]int32 // AS number → first entry
}

// nameSlot holds the first entries of the exact-name (hostname,
// mail_domain) and domain chains of one name.
type nameSlot struct {
	exact, domain int32
}

// Len returns the number of entries in the index.
func (ix *Index) Len() int {
	if ix == nil {
		return 0
	}
	return len(ix.entries)
}

func (ix *Index) match(ent int32, target, kind string) Match {
	e := &ix.entries[ent]
	return Match{AssetID: e.AssetID, OrgID: e.OrgID, Kind: e.Kind, Value: e.Value, Target: target, TargetKind: kind}
}

// targetError is a refused lookup: an unparsable or out-of-scope target.
type targetError struct {
	target string
	reason string
	err    error // ErrInvalid or ErrOutOfScope
}

func (e *targetError) Error() string {
	return "asset: target " + quoteShort(e.target) + " " + e.reason
}

func (e *targetError) Unwrap() error { return e.err }

func invalidTarget(target string, err error) error {
	return &targetError{target: target, reason: "is not valid: " + err.Error(), err: ErrInvalid}
}

func outOfScope(target string) error {
	return &targetError{target: target, reason: "is out of scope", err: ErrOutOfScope}
}

// Lookup finds the asset that covers target: an IPv4 or IPv6 address
// (optionally in brackets), a network ("10.0.0.0/24"), a host name (IDN
// allowed), an http or https URL, or an ASN written "AS64500" (so a
// one-label host named like an ASN cannot be looked up by name). It
// returns an error wrapping ErrOutOfScope when nothing covers target and
// one wrapping ErrInvalid when target cannot be parsed.
func (ix *Index) Lookup(target string) (Match, error) {
	t := strings.TrimSpace(target)
	if t == "" {
		return Match{}, invalidTarget(target, errors.New("empty target"))
	}
	if len(t) > maxURLLen {
		return Match{}, invalidTarget(target, fmt.Errorf("longer than %d bytes", maxURLLen))
	}
	if ix == nil {
		ix = &Index{} // nothing is in scope
	}
	switch {
	case strings.Contains(t, "://"):
		u, ok := fastURL(t)
		if !ok {
			var err error
			if u, err = normalizeURL(t); err != nil {
				return Match{}, invalidTarget(target, err)
			}
		}
		if ent, ok := ix.lookupURL(u); ok {
			return ix.match(ent, u, TargetURL), nil
		}
		return Match{}, outOfScope(target)
	case strings.IndexByte(t, '/') >= 0:
		p, err := parseCIDR(t)
		if err != nil {
			return Match{}, invalidTarget(target, err)
		}
		if ent, ok := ix.lookupPrefix(p); ok {
			return ix.match(ent, p.String(), TargetCIDR), nil
		}
		return Match{}, outOfScope(target)
	case len(t) > 2 && t[0]|0x20 == 'a' && t[1]|0x20 == 's' && allDigits(t[2:]):
		n, err := parseASN(t, false)
		if err != nil {
			return Match{}, invalidTarget(target, err)
		}
		if ent, ok := ix.asns[n]; ok {
			return ix.match(ent, formatASN(n), TargetASN), nil
		}
		return Match{}, outOfScope(target)
	}
	if a, canonical, ok, err := parseTargetAddr(t); ok {
		if err != nil {
			return Match{}, invalidTarget(target, err)
		}
		if ent, ok := ix.lookupAddr(a); ok {
			if !canonical {
				t = a.String()
			}
			return ix.match(ent, t, TargetIP), nil
		}
		return Match{}, outOfScope(target)
	}
	name, err := normalizeName(KindHostname, t)
	if err != nil {
		return Match{}, invalidTarget(target, err)
	}
	if ent, ok := ix.lookupName(name); ok {
		return ix.match(ent, name, TargetName), nil
	}
	return Match{}, outOfScope(target)
}

// parseTargetAddr parses t when it is written as an address. ok reports
// whether t is meant as one (digits and dots, a colon, or brackets); err
// says why it does not parse. canonical reports whether t is already the
// canonical text of the returned address. IPv4-mapped IPv6 addresses are
// unmapped and zones dropped: the probe reaches the same host.
func parseTargetAddr(t string) (a netip.Addr, canonical, ok bool, err error) {
	if looksIPv4(t) {
		a, err = parseIPv4(t)
		return a, true, true, err
	}
	orig := t
	if len(t) > 2 && t[0] == '[' && t[len(t)-1] == ']' {
		t = t[1 : len(t)-1]
	} else if strings.IndexByte(t, ':') < 0 {
		return netip.Addr{}, false, false, nil
	}
	a, err = netip.ParseAddr(t)
	if err != nil {
		return netip.Addr{}, false, true, errors.New("not a valid IP address")
	}
	a = a.Unmap().WithZone("")
	var buf [64]byte
	canonical = string(a.AppendTo(buf[:0])) == orig
	return a, canonical, true, nil
}

// LookupAddr finds the asset covering one address: the longest registered
// prefix containing it. IPv4-mapped IPv6 addresses are unmapped and zones
// ignored. It does not allocate; Match.Target is left empty because the
// caller holds the address.
func (ix *Index) LookupAddr(a netip.Addr) (Match, bool) {
	if ix == nil || !a.IsValid() {
		return Match{}, false
	}
	ent, ok := ix.lookupAddr(a.Unmap().WithZone(""))
	if !ok {
		return Match{}, false
	}
	return ix.match(ent, "", TargetIP), true
}

// LookupName finds the asset covering a host name: an exact hostname or
// mail_domain, else the domain with the longest suffix on a label boundary.
// An address written as text is not a name (use LookupAddr). It does not
// allocate when name is already normalized (lower-case ASCII, no trailing
// dot).
func (ix *Index) LookupName(name string) (Match, bool) {
	if ix == nil {
		return Match{}, false
	}
	n, err := normalizeName(KindHostname, strings.TrimSpace(name))
	if err != nil {
		return Match{}, false
	}
	ent, ok := ix.lookupName(n)
	if !ok {
		return Match{}, false
	}
	return ix.match(ent, n, TargetName), true
}

func (ix *Index) lookupAddr(a netip.Addr) (int32, bool) {
	var node int32
	if a.Is4() {
		b := a.As4()
		node = ix.v4.find4(binary.BigEndian.Uint32(b[:]))
		if node < 0 {
			return -1, false
		}
		return ix.v4.owner(node), true
	}
	node = ix.v6.find(addrU128(a))
	if node < 0 {
		return -1, false
	}
	return ix.v6.owner(node), true
}

// lookupPrefix finds the most specific asset containing all of p.
func (ix *Index) lookupPrefix(p netip.Prefix) (int32, bool) {
	t := &ix.v6
	var node int32
	if p.Addr().Is4() {
		t = &ix.v4
		b := p.Addr().As4()
		node = t.find4(binary.BigEndian.Uint32(b[:]))
	} else {
		node = t.find(addrU128(p.Addr()))
	}
	// Every prefix containing p contains its first address, so it is on
	// the parent chain of that address's most specific node.
	for ; node >= 0; node = t.parent[node] {
		if int(t.bits[node]) <= p.Bits() {
			return t.owner(node), true
		}
	}
	return -1, false
}

// lookupName walks the labels of a normalized name from longest to
// shortest.
func (ix *Index) lookupName(name string) (int32, bool) {
	if si, ok := ix.names[name]; ok {
		s := ix.slots[si]
		if s.exact >= 0 {
			return s.exact, true
		}
		if s.domain >= 0 {
			return s.domain, true
		}
	}
	for i := 0; i < len(name); i++ {
		if name[i] != '.' {
			continue
		}
		rest := name[i+1:]
		if strings.IndexByte(rest, '.') < 0 {
			break // a domain asset has at least two labels
		}
		if si, ok := ix.names[rest]; ok && ix.slots[si].domain >= 0 {
			return ix.slots[si].domain, true
		}
	}
	return -1, false
}

// lookupURL matches url assets by longest path prefix, then falls back to
// the host. u is a normalized URL.
func (ix *Index) lookupURL(u string) (int32, bool) {
	root := urlPathStart(u)
	if len(ix.urls) > 0 {
		if ent, ok := ix.urls[u]; ok {
			return ent, true
		}
		for i := len(u) - 1; i >= root; i-- {
			if u[i] != '/' {
				continue
			}
			if i+1 < len(u) {
				if ent, ok := ix.urls[u[:i+1]]; ok {
					return ent, true
				}
			}
			if i > root {
				if ent, ok := ix.urls[u[:i]]; ok {
					return ent, true
				}
			}
		}
	}
	host := urlHost(u, root)
	if a, ok := hostAddr(host); ok {
		return ix.lookupAddr(a)
	}
	return ix.lookupName(host)
}

// fastURL returns the normalized form of the common URL target that needs
// no rewriting except dropping its query and fragment: a lower-case http
// or https scheme, a canonical host name without port, and a non-empty path
// of plain characters without dot segments. The result is a substring of t,
// so the lookup does not allocate. Anything else goes to normalizeURL.
func fastURL(t string) (string, bool) {
	var rest string
	switch {
	case strings.HasPrefix(t, "https://"):
		rest = t[len("https://"):]
	case strings.HasPrefix(t, "http://"):
		rest = t[len("http://"):]
	default:
		return "", false
	}
	slash := strings.IndexByte(rest, '/')
	if slash <= 0 {
		return "", false
	}
	host := rest[:slash]
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return "", false
		}
	}
	if looksIPv4(host) {
		if _, err := parseIPv4(host); err != nil {
			return "", false
		}
	} else if h, err := normalizeName(KindHostname, host); err != nil || h != host {
		return "", false
	}
	end := len(t)
	segStart := len(t) - len(rest) + slash + 1
	for i := segStart; i < len(t); i++ {
		c := t[i]
		if c == '?' || c == '#' {
			end = i
			break
		}
		if c == '/' {
			if isDotSegment(t[segStart:i]) {
				return "", false
			}
			segStart = i + 1
			continue
		}
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return "", false
		}
	}
	if isDotSegment(t[segStart:end]) {
		return "", false
	}
	return t[:end], true
}

func isDotSegment(s string) bool { return s == "." || s == ".." }

// urlPathStart returns the index of the path's leading slash in a
// normalized URL.
func urlPathStart(u string) int {
	i := strings.Index(u, "://") + 3
	return i + strings.IndexByte(u[i:], '/')
}

// urlHost returns the host of a normalized URL, without port or brackets.
func urlHost(u string, root int) string {
	h := u[strings.Index(u, "://")+3 : root]
	if strings.HasPrefix(h, "[") {
		return h[1:strings.IndexByte(h, ']')]
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		h = h[:i]
	}
	return h
}

// hostAddr parses a normalized URL host that is an IP literal.
func hostAddr(h string) (netip.Addr, bool) {
	if !looksIPv4(h) && strings.IndexByte(h, ':') < 0 {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(h)
	return a, err == nil
}

// u128 is an address as a 128-bit number; IPv4 uses the low 32 bits.
type u128 struct{ hi, lo uint64 }

func (a u128) cmp(b u128) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

func (a u128) less(b u128) bool { return a.hi < b.hi || a.hi == b.hi && a.lo < b.lo }

// inc returns a+1 and whether it wrapped around.
func (a u128) inc() (u128, bool) {
	a.lo++
	if a.lo == 0 {
		a.hi++
		return a, a.hi == 0
	}
	return a, false
}

func addrU128(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{lo: uint64(binary.BigEndian.Uint32(b[:]))}
	}
	b := a.As16()
	return u128{hi: binary.BigEndian.Uint64(b[:8]), lo: binary.BigEndian.Uint64(b[8:])}
}

// lastAddr returns the last address of the prefix start/bits in an address
// family of width bits.
func lastAddr(start u128, bits, width int) u128 {
	host := width - bits
	switch {
	case host >= 128:
		return u128{^uint64(0), ^uint64(0)}
	case host >= 64:
		return u128{start.hi | (uint64(1)<<(host-64) - 1), ^uint64(0)}
	default:
		return u128{start.hi, start.lo | (uint64(1)<<host - 1)}
	}
}

// prefixItem is one address entry during Build.
type prefixItem struct {
	start u128
	bits  uint8
	ent   int32
}

// ipTable flattens the nested prefixes of one address family into sorted,
// disjoint ranges, each owned by the most specific prefix covering it (or
// by none). A lookup is a binary search over range starts; for IPv4 a
// table indexed by the top 16 address bits first narrows the search to the
// few ranges inside that /16. This answers longest-prefix match with a
// handful of cache lines, needs no pointers, and keeps the whole structure
// in a few flat slices (cheap to build, to hold, and to throw away on
// rebuild), which suits an index that is rebuilt rather than updated.
//
// Unique prefixes are the nodes; parent links record their nesting, used
// for network targets and for Overlaps.
type ipTable struct {
	// Nodes: entries of node n are ents[off[n]:off[n+1]], lowest asset
	// ID first.
	ents   []int32
	off    []int32
	parent []int32
	bits   []uint8
	start  []u128

	// Ranges: range r starts at starts[r] (starts4 for IPv4) and belongs
	// to node owners[r], or to nothing when -1.
	starts4 []uint32
	starts  []u128
	owners  []int32
	top     []int32 // IPv4: top[h] is the first range starting at or after h<<16
	width   int
}

func (t *ipTable) owner(node int32) int32 { return t.ents[t.off[node]] }

func buildTable(items []prefixItem, width int, entNode []int32) ipTable {
	slices.SortFunc(items, func(a, b prefixItem) int {
		if c := a.start.cmp(b.start); c != 0 {
			return c
		}
		if c := cmp.Compare(a.bits, b.bits); c != 0 {
			return c
		}
		return cmp.Compare(a.ent, b.ent)
	})
	t := ipTable{width: width, ents: make([]int32, len(items))}
	for i, it := range items {
		t.ents[i] = it.ent
		if i == 0 || it.start != items[i-1].start || it.bits != items[i-1].bits {
			t.off = append(t.off, int32(i))
			t.bits = append(t.bits, it.bits)
			t.start = append(t.start, it.start)
		}
		entNode[it.ent] = int32(len(t.off) - 1)
	}
	nodes := len(t.off)
	t.off = append(t.off, int32(len(items)))
	t.parent = make([]int32, nodes)

	max := lastAddr(u128{}, 0, width)
	var cur u128
	done := false
	emit := func(owner int32) {
		if width == 32 {
			t.starts4 = append(t.starts4, uint32(cur.lo))
		} else {
			t.starts = append(t.starts, cur)
		}
		t.owners = append(t.owners, owner)
	}
	// advance emits [cur, last] for owner and moves cur past last.
	advance := func(last u128, owner int32) {
		if done || last.less(cur) {
			return
		}
		emit(owner)
		var wrapped bool
		cur, wrapped = last.inc()
		done = wrapped || max.less(cur)
	}
	stack := make([]int32, 0, 8)
	top := func() int32 {
		if len(stack) == 0 {
			return -1
		}
		return stack[len(stack)-1]
	}
	for n := int32(0); n < int32(nodes); n++ {
		s := t.start[n]
		for len(stack) > 0 {
			p := top()
			last := lastAddr(t.start[p], int(t.bits[p]), width)
			if !last.less(s) {
				break
			}
			stack = stack[:len(stack)-1]
			advance(last, p)
		}
		if !done && cur.less(s) {
			emit(top())
			cur = s
		}
		t.parent[n] = top()
		stack = append(stack, n)
	}
	for len(stack) > 0 {
		p := top()
		stack = stack[:len(stack)-1]
		advance(lastAddr(t.start[p], int(t.bits[p]), width), p)
	}
	if !done {
		emit(-1)
	}
	return t
}

// buildTop fills the /16 jump table of an IPv4 table.
func (t *ipTable) buildTop() {
	t.top = make([]int32, 1<<16+1)
	r := 0
	for h := 0; h <= 1<<16; h++ {
		for r < len(t.starts4) && uint64(t.starts4[r]) < uint64(h)<<16 {
			r++
		}
		t.top[h] = int32(r)
	}
}

// find4 returns the node owning IPv4 address a, or -1.
func (t *ipTable) find4(a uint32) int32 {
	if len(t.top) == 0 {
		return -1 // the zero Index
	}
	h := a >> 16
	lo, hi := int(t.top[h]), int(t.top[h+1])
	// The answer is the last range in [lo-1, hi) starting at or before a;
	// range lo-1 started before this /16 and runs into it.
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if t.starts4[m] <= a {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return t.owners[lo-1]
}

// find returns the node owning IPv6 address a, or -1.
func (t *ipTable) find(a u128) int32 {
	lo, hi := 0, len(t.starts)
	if hi == 0 {
		return -1 // the zero Index
	}
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if !a.less(t.starts[m]) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return t.owners[lo-1]
}
