package blocklist

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/intel"
)

// Rule names why the guard held an indicator back.
type Rule string

// The rules.
const (
	RuleRegistered Rule = "registered-asset" // it would block an asset of the constituency
	RulePublic     Rule = "public-suffix"    // a name anyone registers under ("gov.vn", "github.io")
	RuleWide       Rule = "wide-range"       // a network wider than the configured prefix
	RuleSpecial    Rule = "special-address"  // private, loopback, link-local, multicast, reserved
	RuleMalformed  Rule = "malformed"        // a value no format can hold safely
)

// Text is a message in both languages of the console.
type Text struct {
	EN string `json:"en"`
	VI string `json:"vi"`
}

// Review is an indicator held back from every blocklist, for an analyst
// to look at.
type Review struct {
	IndicatorID int64      `json:"indicator_id,omitempty"`
	Kind        intel.Kind `json:"kind"`
	Value       string     `json:"value"`
	Rule        Rule       `json:"rule"`
	Reason      Text       `json:"reason"`
}

// Hit is a registered asset an indicator would block.
type Hit struct {
	Org   string // the owner's name, "MOH"
	Asset string // the asset, "portal.moh.gov.vn"
}

// Registry answers whether enforcing an indicator would block an asset of
// the constituency. AssetIndex implements it over a list of assets.
type Registry interface {
	// Covers reports a registered asset that kind/value would block: for
	// an address or network, a registered address or network it
	// overlaps; for a domain, a registered name equal to it, below it,
	// or a registered domain it lies under; for a URL, its host as the
	// address or the domain; for an AS number, the same AS.
	Covers(kind intel.Kind, value string) (Hit, bool)
}

// Guard decides which indicators never reach a blocklist. The zero
// value (or nil) checks special addresses, public suffixes (of the list
// shipped with Rampart) and the default prefix limits; set Registry for
// the constituency's assets.
type Guard struct {
	Registry   Registry
	Suffixes   *asset.SuffixList // nil: the list shipped with Rampart
	MaxPrefix4 int               // widest IPv4 network blocked: /16 when 0
	MaxPrefix6 int               // widest IPv6 network blocked: /32 when 0
}

// Default prefix limits.
const (
	DefaultMaxPrefix4 = 16
	DefaultMaxPrefix6 = 32
)

// Check returns the review item when an indicator must not be enforced.
// A nil guard still refuses special addresses and malformed values.
func (g *Guard) Check(kind intel.Kind, value string) (Review, bool) {
	r := Review{Kind: kind, Value: value}
	hold := func(rule Rule, en, vi string) (Review, bool) {
		r.Rule, r.Reason = rule, Text{EN: en, VI: vi}
		return r, true
	}
	var reg Registry
	if g != nil {
		reg = g.Registry
	}
	switch kind {
	case intel.KindIPv4, intel.KindIPv6, intel.KindCIDR:
		p, ok := parsePrefix(value)
		if !ok {
			return hold(RuleMalformed, "not an address or network", "không phải địa chỉ hay dải mạng")
		}
		if name, ok := special(p); ok {
			return hold(RuleSpecial, "would block "+name.EN+" ("+value+"), not internet hosts",
				"sẽ chặn "+name.VI+" ("+value+"), không phải máy trên Internet")
		}
		limit, def := DefaultMaxPrefix4, DefaultMaxPrefix4
		if g != nil {
			limit = g.MaxPrefix4
		}
		if !p.Addr().Is4() {
			def = DefaultMaxPrefix6
			limit = def
			if g != nil {
				limit = g.MaxPrefix6
			}
		}
		if limit <= 0 {
			limit = def
		}
		if p.Bits() < limit {
			return hold(RuleWide, fmt.Sprintf("the range /%d is wider than the /%d allowed: it would block %s addresses", p.Bits(), limit, countText(p)),
				fmt.Sprintf("dải /%d rộng hơn mức /%d cho phép: sẽ chặn %s địa chỉ", p.Bits(), limit, countText(p)))
		}
	case intel.KindDomain:
		if g.suffixes().IsPublicSuffix(value) {
			return hold(RulePublic, "would block every name registered under the public suffix "+value,
				"sẽ chặn mọi tên miền đăng ký dưới hậu tố công cộng "+value)
		}
	case intel.KindURL:
		host := intel.URLHost(value)
		if host == "" {
			return hold(RuleMalformed, "a URL without a host", "URL không có tên máy chủ")
		}
		if a, err := netip.ParseAddr(host); err == nil {
			if name, ok := special(netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())); ok {
				return hold(RuleSpecial, "the URL's host is "+name.EN, "máy chủ của URL là "+name.VI)
			}
		}
	}
	if reg != nil {
		if h, ok := reg.Covers(kind, value); ok {
			return hold(RuleRegistered, "would block "+h.Asset+" of "+h.Org+" (a registered asset of the constituency)",
				"sẽ chặn "+h.Asset+" của "+h.Org+" (tài sản đã đăng ký của đơn vị thành viên)")
		}
	}
	return r, false
}

func (g *Guard) suffixes() *asset.SuffixList {
	if g != nil && g.Suffixes != nil {
		return g.Suffixes
	}
	return asset.PublicSuffixes()
}

func countText(p netip.Prefix) string {
	n := p.Addr().BitLen() - p.Bits()
	if n < 40 {
		s := fmt.Sprint(uint64(1) << n)
		// Thousands separated, for reading.
		for i := len(s) - 3; i > 0; i -= 3 {
			s = s[:i] + "," + s[i:]
		}
		return s
	}
	return fmt.Sprintf("2^%d", n)
}

// specialRanges are networks no national blocklist should hold: they are
// not internet hosts, and blocking them breaks members' own networks.
var specialRanges = []struct {
	p    string
	name Text
}{
	{"0.0.0.0/8", Text{"this-network addresses", "địa chỉ \"mạng này\""}},
	{"10.0.0.0/8", Text{"private addresses", "địa chỉ riêng"}},
	{"100.64.0.0/10", Text{"carrier-grade NAT addresses", "địa chỉ NAT của nhà mạng"}},
	{"127.0.0.0/8", Text{"loopback addresses", "địa chỉ loopback"}},
	{"169.254.0.0/16", Text{"link-local addresses", "địa chỉ link-local"}},
	{"172.16.0.0/12", Text{"private addresses", "địa chỉ riêng"}},
	{"192.168.0.0/16", Text{"private addresses", "địa chỉ riêng"}},
	{"224.0.0.0/4", Text{"multicast addresses", "địa chỉ multicast"}},
	{"240.0.0.0/4", Text{"reserved addresses", "địa chỉ dành riêng"}},
	{"::/127", Text{"the unspecified or loopback address", "địa chỉ không xác định hoặc loopback"}},
	{"::ffff:0:0/96", Text{"IPv4-mapped addresses", "địa chỉ IPv4 ánh xạ"}},
	{"fc00::/7", Text{"unique local (private) addresses", "địa chỉ riêng (unique local)"}},
	{"fe80::/10", Text{"link-local addresses", "địa chỉ link-local"}},
	{"ff00::/8", Text{"multicast addresses", "địa chỉ multicast"}},
}

// specialPrefixes are specialRanges parsed, on first use.
var specialPrefixes = sync.OnceValue(func() []netip.Prefix {
	out := make([]netip.Prefix, len(specialRanges))
	for i, s := range specialRanges {
		out[i] = netip.MustParsePrefix(s.p)
	}
	return out
})

func special(p netip.Prefix) (Text, bool) {
	for i, s := range specialPrefixes() {
		if s.Overlaps(p) {
			return specialRanges[i].name, true
		}
	}
	return Text{}, false
}

func malformedReview(in *intel.Indicator) Review {
	return Review{IndicatorID: in.ID, Kind: in.Kind, Value: in.Value, Rule: RuleMalformed,
		Reason: Text{EN: "the value cannot be written safely in a blocklist", VI: "giá trị không thể ghi an toàn vào danh sách chặn"}}
}

// RegisteredAsset is one asset of the constituency, for AssetIndex.
type RegisteredAsset struct {
	Kind  asset.Kind
	Value string // normalized, as the registry stores it
	Org   string // the owner's name, for the review reason
}

// AssetIndex is a Registry over a list of assets. It is immutable and
// safe for concurrent use.
type AssetIndex struct {
	ranges  [2][]span      // IPv4, IPv6: by start
	maxEnd  [2][]int       // index of the span with the greatest end among ranges[:i+1]
	names   map[string]Hit // hostnames, domains, mail domains, URL hosts: exact
	domains map[string]Hit // domain assets: they cover their subdomains
	parents map[string]Hit // every proper ancestor of a registered name
	asns    map[string]Hit
}

type span struct {
	start, end u128
	hit        Hit
}

var _ Registry = (*AssetIndex)(nil)

// NewAssetIndex indexes assets. Values it cannot read are skipped.
func NewAssetIndex(assets []RegisteredAsset) *AssetIndex {
	x := &AssetIndex{names: map[string]Hit{}, domains: map[string]Hit{}, parents: map[string]Hit{}, asns: map[string]Hit{}}
	addName := func(name string, h Hit, domain bool) {
		name = strings.TrimSuffix(strings.ToLower(name), ".")
		if name == "" {
			return
		}
		if _, ok := x.names[name]; !ok {
			x.names[name] = h
		}
		if domain {
			if _, ok := x.domains[name]; !ok {
				x.domains[name] = h
			}
		}
		for rest := name; ; {
			i := strings.IndexByte(rest, '.')
			if i < 0 {
				break
			}
			rest = rest[i+1:]
			if _, ok := x.parents[rest]; !ok {
				x.parents[rest] = h
			}
		}
	}
	addPrefix := func(p netip.Prefix, h Hit) {
		fam, width := 0, 32
		if !p.Addr().Is4() {
			fam, width = 1, 128
		}
		s := toU128(p.Addr())
		x.ranges[fam] = append(x.ranges[fam], span{s, lastOf(s, width-p.Bits()), h})
	}
	for _, a := range assets {
		h := Hit{Org: a.Org, Asset: a.Value}
		switch a.Kind {
		case asset.KindIPv4, asset.KindIPv6, asset.KindCIDR:
			if p, ok := parsePrefix(a.Value); ok {
				addPrefix(p, h)
			}
		case asset.KindDomain:
			addName(a.Value, h, true)
		case asset.KindHostname, asset.KindMailDomain:
			addName(a.Value, h, false)
		case asset.KindURL:
			host := intel.URLHost(a.Value)
			if ad, err := netip.ParseAddr(host); err == nil {
				addPrefix(netip.PrefixFrom(ad.Unmap(), ad.Unmap().BitLen()), h)
			} else {
				addName(host, h, false)
			}
		case asset.KindASN:
			x.asns[strings.ToUpper(a.Value)] = h
		}
	}
	for fam := range x.ranges {
		r := x.ranges[fam]
		slices.SortFunc(r, func(a, b span) int { return cmp.Or(a.start.cmp(b.start), a.end.cmp(b.end)) })
		x.maxEnd[fam] = make([]int, len(r))
		best := 0
		for i := range r {
			if r[i].end.cmp(r[best].end) > 0 {
				best = i
			}
			x.maxEnd[fam][i] = best
		}
	}
	return x
}

// Covers implements Registry.
func (x *AssetIndex) Covers(kind intel.Kind, value string) (Hit, bool) {
	switch kind {
	case intel.KindIPv4, intel.KindIPv6, intel.KindCIDR:
		if p, ok := parsePrefix(value); ok {
			return x.overlap(p)
		}
	case intel.KindDomain:
		return x.name(value, true)
	case intel.KindURL:
		host := intel.URLHost(value)
		if a, err := netip.ParseAddr(host); err == nil {
			return x.overlap(netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		}
		return x.name(host, false)
	case intel.KindASN:
		h, ok := x.asns[strings.ToUpper(value)]
		return h, ok
	}
	return Hit{}, false
}

// name: equal to a registered name, under a registered domain, or (when
// parents) an ancestor of a registered name.
func (x *AssetIndex) name(n string, parents bool) (Hit, bool) {
	n = strings.TrimSuffix(strings.ToLower(n), ".")
	if h, ok := x.names[n]; ok {
		return h, true
	}
	if parents {
		if h, ok := x.parents[n]; ok {
			return h, true
		}
	}
	for rest := n; ; {
		i := strings.IndexByte(rest, '.')
		if i < 0 {
			return Hit{}, false
		}
		rest = rest[i+1:]
		if h, ok := x.domains[rest]; ok {
			return h, true
		}
	}
}

// overlap finds a registered span that overlaps p: among the spans that
// start at or before p's end, the one reaching furthest.
func (x *AssetIndex) overlap(p netip.Prefix) (Hit, bool) {
	fam, width := 0, 32
	if !p.Addr().Is4() {
		fam, width = 1, 128
	}
	s := toU128(p.Addr())
	e := lastOf(s, width-p.Bits())
	r := x.ranges[fam]
	i, _ := slices.BinarySearchFunc(r, e, func(sp span, t u128) int {
		if sp.start.cmp(t) <= 0 {
			return -1
		}
		return 1
	})
	if i == 0 {
		return Hit{}, false
	}
	best := r[x.maxEnd[fam][i-1]]
	if best.end.cmp(s) >= 0 {
		return best.hit, true
	}
	return Hit{}, false
}

// validZone reports whether z can be an RPZ origin.
func validZone(z string) bool {
	z = strings.TrimSuffix(z, ".")
	if z == "" || len(z) > 200 {
		return false
	}
	for l := range strings.SplitSeq(z, ".") {
		if !validLabel(l) {
			return false
		}
	}
	return true
}

func validLabel(l string) bool {
	if l == "" || len(l) > 63 {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}
