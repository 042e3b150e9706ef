package blocklist

import (
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/intel"
)

func testRegistry() *AssetIndex {
	return NewAssetIndex([]RegisteredAsset{
		{asset.KindDomain, "moh.gov.vn", "MOH"},
		{asset.KindHostname, "portal.mof.gov.vn", "MOF"},
		{asset.KindMailDomain, "mail.mic.gov.vn", "MIC"},
		{asset.KindURL, "https://services.example.vn/app", "MOJ"},
		{asset.KindURL, "http://203.0.113.80/login", "MOJ"},
		{asset.KindIPv4, "198.51.100.10", "MOH"},
		{asset.KindCIDR, "203.0.113.16/28", "MOF"},
		{asset.KindCIDR, "2001:db8:100::/48", "MOH"},
		{asset.KindIPv6, "2001:db8:200::5", "MOF"},
		{asset.KindASN, "AS64500", "VNNIC"},
	})
}

// testSuffixes is the list shipped with Rampart.
func testSuffixes(*testing.T) *asset.SuffixList { return asset.PublicSuffixes() }

func TestGuard(t *testing.T) {
	g := &Guard{Registry: testRegistry(), Suffixes: testSuffixes(t), MaxPrefix4: 20, MaxPrefix6: 40}
	cases := []struct {
		kind  intel.Kind
		value string
		rule  Rule   // "" : not held
		owner string // in the reason
	}{
		// Addresses and networks.
		{intel.KindIPv4, "198.51.100.10", RuleRegistered, "MOH"},
		{intel.KindIPv4, "198.51.100.11", "", ""},
		{intel.KindIPv4, "203.0.113.31", RuleRegistered, "MOF"},
		{intel.KindIPv4, "203.0.113.32", "", ""},
		{intel.KindCIDR, "198.51.100.0/24", RuleRegistered, "MOH"}, // a range over a registered address
		{intel.KindCIDR, "203.0.113.24/29", RuleRegistered, "MOF"}, // inside a registered range
		{intel.KindCIDR, "203.0.113.0/27", RuleRegistered, "MOF"},  // around one
		{intel.KindCIDR, "203.0.113.64/27", RuleRegistered, "MOJ"}, // the URL asset's address
		{intel.KindCIDR, "203.0.113.96/27", "", ""},
		{intel.KindCIDR, "192.0.2.0/24", "", ""},
		{intel.KindIPv6, "2001:db8:100:ffff::1", RuleRegistered, "MOH"},
		{intel.KindCIDR, "2001:db8:200::/64", RuleRegistered, "MOF"},
		{intel.KindIPv6, "2001:db8:300::1", "", ""},
		// Widths.
		{intel.KindCIDR, "100.0.0.0/19", RuleWide, ""},
		{intel.KindCIDR, "100.0.0.0/20", "", ""},
		{intel.KindCIDR, "2001:db8:4000::/39", RuleWide, ""},
		{intel.KindCIDR, "2001:db8:4000::/40", "", ""},
		// Special addresses.
		{intel.KindIPv4, "10.0.0.0", RuleSpecial, "private"},
		{intel.KindCIDR, "192.168.1.0/24", RuleSpecial, "private"},
		{intel.KindIPv4, "127.0.0.1", RuleSpecial, "loopback"},
		{intel.KindIPv4, "100.64.1.1", RuleSpecial, "NAT"},
		{intel.KindIPv4, "224.0.0.251", RuleSpecial, "multicast"},
		{intel.KindIPv6, "fe80::1", RuleSpecial, "link-local"},
		{intel.KindIPv6, "fd00::1", RuleSpecial, "private"},
		{intel.KindURL, "http://192.168.0.1/admin", RuleSpecial, "private"},
		// Names.
		{intel.KindDomain, "moh.gov.vn", RuleRegistered, "MOH"},        // equal
		{intel.KindDomain, "phish.moh.gov.vn", RuleRegistered, "MOH"},  // under a registered domain
		{intel.KindDomain, "mof.gov.vn", RuleRegistered, "MOF"},        // parent of a registered hostname
		{intel.KindDomain, "portal.mof.gov.vn", RuleRegistered, "MOF"}, // the hostname
		{intel.KindDomain, "x.portal.mof.gov.vn", "", ""},              // below a hostname: not the host
		{intel.KindDomain, "mic.gov.vn", RuleRegistered, "MIC"},        // parent of a mail domain
		{intel.KindDomain, "example.vn", RuleRegistered, "MOJ"},        // parent of a URL's host
		{intel.KindDomain, "evil.example", "", ""},
		{intel.KindDomain, "gov.vn", RulePublic, "gov.vn"},
		{intel.KindDomain, "github.io", RulePublic, "github.io"},
		{intel.KindDomain, "evil.github.io", "", ""},
		{intel.KindDomain, "com", RulePublic, "com"},
		// URLs.
		{intel.KindURL, "https://services.example.vn/phish", RuleRegistered, "MOJ"},
		{intel.KindURL, "http://www.moh.gov.vn/x.exe", RuleRegistered, "MOH"},
		{intel.KindURL, "http://203.0.113.80:8080/x", RuleRegistered, "MOJ"},
		{intel.KindURL, "http://mof.gov.vn/", "", ""}, // a URL blocks its host, not the children
		{intel.KindURL, "http://evil.example/x", "", ""},
		// AS numbers, and what no registry covers.
		{intel.KindASN, "AS64500", RuleRegistered, "VNNIC"},
		{intel.KindASN, "AS64501", "", ""},
		{intel.KindSHA256, strings.Repeat("a", 64), "", ""},
		{intel.KindEmail, "ceo@moh.gov.vn", "", ""},
	}
	for _, c := range cases {
		r, held := g.Check(c.kind, c.value)
		if held != (c.rule != "") || r.Rule != c.rule {
			t.Errorf("%s %s: held %v rule %q (%s), want %q", c.kind, c.value, held, r.Rule, r.Reason.EN, c.rule)
			continue
		}
		if !held {
			continue
		}
		if r.Reason.EN == "" || r.Reason.VI == "" || r.Reason.EN == r.Reason.VI {
			t.Errorf("%s %s: reason not in both languages: %+v", c.kind, c.value, r.Reason)
		}
		if !strings.Contains(r.Reason.EN, c.owner) {
			t.Errorf("%s %s: reason %q does not name %q", c.kind, c.value, r.Reason.EN, c.owner)
		}
		if c.rule == RuleRegistered && (!strings.Contains(r.Reason.VI, c.owner) || !strings.HasPrefix(r.Reason.EN, "would block ")) {
			t.Errorf("%s %s: reason %+v", c.kind, c.value, r.Reason)
		}
	}
}

func TestGuardDefaults(t *testing.T) {
	var g *Guard // no registry: special addresses, public suffixes, default widths
	for _, c := range []struct {
		kind  intel.Kind
		value string
		held  bool
	}{
		{intel.KindCIDR, "100.0.0.0/15", true},
		{intel.KindCIDR, "100.0.0.0/16", false},
		{intel.KindCIDR, "2001:db8::/31", true},
		{intel.KindCIDR, "2001:db8::/32", false},
		{intel.KindIPv4, "10.1.2.3", true},
		{intel.KindDomain, "gov.vn", true},
		{intel.KindDomain, "moh.gov.vn", false},
	} {
		if _, held := g.Check(c.kind, c.value); held != c.held {
			t.Errorf("nil guard: %s %s held %v, want %v", c.kind, c.value, held, c.held)
		}
	}
	r, _ := (&Guard{}).Check(intel.KindCIDR, "20.0.0.0/8")
	if !strings.Contains(r.Reason.EN, "16,777,216") {
		t.Errorf("wide reason %q does not count the addresses", r.Reason.EN)
	}
}

func TestBuildSendsHeldToReview(t *testing.T) {
	ins := []intel.Indicator{
		{ID: 1, Kind: intel.KindDomain, Value: "moh.gov.vn", TLP: intel.TLPClear},
		{ID: 2, Kind: intel.KindDomain, Value: "evil.example", TLP: intel.TLPClear},
		{ID: 3, Kind: intel.KindIPv4, Value: "not an address", TLP: intel.TLPClear},
		{ID: 4, Kind: intel.KindURL, Value: "http://evil.example/a b", TLP: intel.TLPClear},
		{ID: 5, Kind: intel.KindDomain, Value: "x.rpz-ip", TLP: intel.TLPClear},
		{ID: 6, Kind: intel.KindIPv4, Value: "192.0.2.0/24", TLP: intel.TLPClear}, // a network under the kind ipv4
	}
	l, review := Build(ins, &Guard{Registry: testRegistry()})
	if l.Len() != 1 {
		t.Errorf("list holds %d, want 1 (evil.example)", l.Len())
	}
	var ids []int64
	for _, r := range review {
		ids = append(ids, r.IndicatorID)
	}
	if len(review) != 5 || review[0].Rule != RuleRegistered || review[1].Rule != RuleMalformed || ids[4] != 6 {
		t.Errorf("review %+v", review)
	}
}

// A guard takes the suffix list it is given (ParseSuffixList's).
func TestGuardOwnSuffixList(t *testing.T) {
	l, err := asset.ParseSuffixList(strings.NewReader("// test\nvn\nedu.vn\n*.hanoi.vn\n"))
	if err != nil {
		t.Fatal(err)
	}
	g := &Guard{Suffixes: l}
	for name, held := range map[string]bool{"edu.vn": true, "x.hanoi.vn": true, "github.io": false, "hust.edu.vn": false} {
		if _, got := g.Check(intel.KindDomain, name); got != held {
			t.Errorf("%s: held %v, want %v", name, got, held)
		}
	}
}
