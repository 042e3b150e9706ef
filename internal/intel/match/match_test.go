package match

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/intel"
)

// matchers returns matchers that take each update path: the defaults
// (small batches go to the deltas), and thresholds so low that nearly
// every batch is merged into the bases and path-copied in bart.
func matchers() map[string]*Matcher {
	return map[string]*Matcher{"default": New(), "merge-every-batch": newMatcher(1, 1), "merge-sometimes": newMatcher(3, 2)}
}

func mustApply(t *testing.T, m *Matcher, cs ...Change) {
	t.Helper()
	if err := m.Apply(cs); err != nil {
		t.Fatal(err)
	}
}

func add(k intel.Kind, v string, id int64) Change { return Change{Kind: k, Value: v, ID: id} }
func del(k intel.Kind, v string) Change           { return Change{Kind: k, Value: v, Remove: true} }

func TestLongestPrefix(t *testing.T) {
	for name, m := range matchers() {
		t.Run(name, func(t *testing.T) {
			// One at a time, so the small-batch paths are taken too.
			for _, c := range []Change{
				add(intel.KindCIDR, "10.0.0.0/8", 1),
				add(intel.KindCIDR, "10.1.0.0/16", 2),
				add(intel.KindCIDR, "10.1.2.0/24", 3),
				add(intel.KindIPv4, "10.1.2.3", 4),
				add(intel.KindCIDR, "2001:db8::/32", 5),
				add(intel.KindCIDR, "2001:db8:1::/48", 6),
				add(intel.KindIPv6, "2001:db8:1::1", 7),
				add(intel.KindCIDR, "10.9.9.9/32", 8),   // a /32 network is a host
				add(intel.KindCIDR, "192.0.2.77/26", 9), // host bits are masked
			} {
				mustApply(t, m, c)
			}
			for _, c := range []struct {
				addr string
				id   int64 // 0: no match
			}{
				{"10.200.0.1", 1}, {"10.1.200.1", 2}, {"10.1.2.4", 3}, {"10.1.2.3", 4}, {"10.1.2.255", 3},
				{"11.0.0.0", 0}, {"9.255.255.255", 0}, {"10.9.9.9", 8}, {"10.9.9.8", 1},
				{"192.0.2.64", 9}, {"192.0.2.127", 9}, {"192.0.2.128", 0}, {"192.0.2.63", 0},
				{"2001:db8:2::1", 5}, {"2001:db8:1:ffff::1", 6}, {"2001:db8:1::1", 7}, {"2001:db8:1::2", 6},
				{"2001:db9::1", 0}, {"::1", 0}, {"0.0.0.0", 0},
			} {
				id, ok := m.LookupAddr(netip.MustParseAddr(c.addr))
				if ok != (c.id != 0) || id != c.id {
					t.Errorf("LookupAddr(%s) = %d, %v; want %d", c.addr, id, ok, c.id)
				}
			}
			if _, ok := m.LookupAddr(netip.Addr{}); ok {
				t.Error("the zero Addr matched")
			}
			if got := m.Snapshot().Counts().Addrs; got != 9 {
				t.Errorf("Counts().Addrs = %d, want 9", got)
			}
		})
	}
}

func TestIPv4MappedAndZones(t *testing.T) {
	for name, m := range matchers() {
		t.Run(name, func(t *testing.T) {
			mustApply(t, m,
				add(intel.KindIPv4, "198.51.100.7", 1),
				add(intel.KindCIDR, "::ffff:192.0.2.0/120", 2), // the IPv4 network 192.0.2.0/24
				add(intel.KindIPv6, "fe80::1", 3),
				add(intel.KindCIDR, "::ffff:203.0.113.9/128", 4), // the IPv4 host
			)
			for _, c := range []struct {
				addr string
				id   int64
			}{
				{"::ffff:198.51.100.7", 1}, {"198.51.100.7", 1}, {"::ffff:198.51.100.8", 0},
				{"192.0.2.200", 2}, {"::ffff:192.0.2.200", 2}, {"::ffff:192.0.3.1", 0},
				{"fe80::1%eth0", 3}, {"fe80::1", 3}, {"fe80::2%eth0", 0},
				{"203.0.113.9", 4}, {"::ffff:203.0.113.9", 4},
				{"::c633:6407", 0}, // IPv4-compatible, not mapped: a different address
			} {
				id, ok := m.LookupAddr(netip.MustParseAddr(c.addr))
				if ok != (c.id != 0) || id != c.id {
					t.Errorf("LookupAddr(%s) = %d, %v; want %d", c.addr, id, ok, c.id)
				}
			}
			// A mapped address is an IPv4 address: the IPv6 kind refuses it,
			// as intel.NormalizeValue does.
			if err := m.Add(intel.KindIPv6, "::ffff:198.51.100.9", 5); !errors.Is(err, intel.ErrInvalid) {
				t.Errorf("mapped address as ipv6: %v", err)
			}
			if err := m.Add(intel.KindIPv4, "::ffff:198.51.100.9", 5); err != nil {
				t.Error(err)
			} else if id, _ := m.LookupAddr(netip.MustParseAddr("198.51.100.9")); id != 5 {
				t.Errorf("mapped ipv4 added: lookup %d", id)
			}
		})
	}
}

func TestLabelBoundaries(t *testing.T) {
	long := strings.Repeat("l", 63) // past the inline label size: kept in the arena
	for name, m := range matchers() {
		t.Run(name, func(t *testing.T) {
			for _, c := range []Change{
				add(intel.KindDomain, "evil.example", 1),
				add(intel.KindDomain, "a.evil.example", 2),
				add(intel.KindDomain, "xn--byte-5y5a.vn", 3),
				add(intel.KindDomain, long+".example", 4),
				add(intel.KindDomain, "co.uk", 5),
				add(intel.KindDomain, "bad.site.co.uk", 6),
			} {
				mustApply(t, m, c)
			}
			for _, c := range []struct {
				name string
				id   int64
			}{
				{"evil.example", 1}, {"evil.example.", 1}, {"www.evil.example", 1}, {"a.b.evil.example", 1},
				{"a.evil.example", 2}, {"x.a.evil.example", 2}, {"b.a.evil.example", 2},
				{"xevil.example", 0}, {"vil.example", 0}, {"evil.examplex", 0}, {"evil.exampl", 0},
				{"example", 0}, {"", 0}, {".", 0}, {"evil.example..", 0}, {"evil..example", 0},
				{"aevil.example", 0}, {"a.evil.example.com", 0}, {"evil.example.com", 0},
				{"EVIL.EXAMPLE", 0}, // callers lower-case first
				{"mail.xn--byte-5y5a.vn", 3}, {"byte.vn", 0},
				{long + ".example", 4}, {"x." + long + ".example", 4}, {long[1:] + ".example", 0},
				{"site.co.uk", 5}, {"bad.site.co.uk", 6}, {"www.bad.site.co.uk", 6}, {"good.site.co.uk", 5},
				{"uk", 0},
			} {
				id, ok := m.LookupName(c.name)
				if ok != (c.id != 0) || id != c.id {
					t.Errorf("LookupName(%q) = %d, %v; want %d", c.name, id, ok, c.id)
				}
			}
		})
	}
}

func TestRemoval(t *testing.T) {
	for name, m := range matchers() {
		t.Run(name, func(t *testing.T) {
			mustApply(t, m,
				add(intel.KindCIDR, "10.0.0.0/8", 1),
				add(intel.KindIPv4, "10.1.2.3", 2),
				add(intel.KindDomain, "evil.example", 3),
				add(intel.KindDomain, "a.evil.example", 4),
				add(intel.KindIPv6, "2001:db8::5", 5),
				add(intel.KindURL, "http://evil.example/x.exe", 6),
			)
			checkAddr := func(addr string, want int64) {
				t.Helper()
				id, ok := m.LookupAddr(netip.MustParseAddr(addr))
				if ok != (want != 0) || id != want {
					t.Errorf("LookupAddr(%s) = %d, %v; want %d", addr, id, ok, want)
				}
			}
			checkName := func(n string, want int64) {
				t.Helper()
				id, ok := m.LookupName(n)
				if ok != (want != 0) || id != want {
					t.Errorf("LookupName(%s) = %d, %v; want %d", n, id, ok, want)
				}
			}
			// Removing the host leaves the network's match.
			mustApply(t, m, del(intel.KindIPv4, "10.1.2.3"))
			checkAddr("10.1.2.3", 1)
			// Removing the parent domain leaves the subdomain indicator.
			mustApply(t, m, del(intel.KindDomain, "evil.example"))
			checkName("www.evil.example", 0)
			checkName("evil.example", 0)
			checkName("b.a.evil.example", 4)
			// Removing what is not there is no error and changes nothing.
			mustApply(t, m, del(intel.KindDomain, "never.example"), del(intel.KindCIDR, "172.16.0.0/12"),
				del(intel.KindURL, "http://never.example/"))
			checkName("b.a.evil.example", 4)
			// Remove then add in one batch: the later change wins.
			mustApply(t, m, del(intel.KindIPv6, "2001:db8::5"), add(intel.KindIPv6, "2001:db8::5", 50))
			checkAddr("2001:db8::5", 50)
			mustApply(t, m, add(intel.KindDomain, "a.evil.example", 40), del(intel.KindDomain, "a.evil.example"))
			checkName("a.evil.example", 0)
			mustApply(t, m, del(intel.KindCIDR, "10.0.0.0/8"), del(intel.KindURL, "http://evil.example/x.exe"))
			checkAddr("10.1.2.3", 0)
			if _, ok := m.LookupURL("http://evil.example/x.exe"); ok {
				t.Error("removed URL still matches")
			}
			// Re-adding after removal.
			mustApply(t, m, add(intel.KindDomain, "evil.example", 30), add(intel.KindIPv4, "10.1.2.3", 20))
			checkName("www.evil.example", 30)
			checkAddr("10.1.2.3", 20)
			if got := m.Snapshot().Counts(); got != (Counts{Addrs: 2, Names: 1}) {
				t.Errorf("Counts() = %+v", got)
			}
		})
	}
}

func TestExactSets(t *testing.T) {
	md5 := "d41d8cd98f00b204e9800998ecf8427e"
	sha1 := "da39a3ee5e6b4b0d3255bfef95601890afd80709"
	sha256 := "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	for name, m := range matchers() {
		t.Run(name, func(t *testing.T) {
			mustApply(t, m,
				add(intel.KindURL, "http://x4z9arb.cn/4712/?a=1", 1),
				add(intel.KindEmail, "donald.duck@disney.com", 2),
				add(intel.KindMD5, md5, 3),
				add(intel.KindSHA1, sha1, 4),
				add(intel.KindSHA256, sha256, 5),
				add(intel.KindASN, "AS64500", 6),
			)
			s := m.Snapshot()
			for _, c := range []struct {
				what string
				got  func() (int64, bool)
				id   int64
			}{
				{"url", func() (int64, bool) { return s.LookupURL("http://x4z9arb.cn/4712/?a=1") }, 1},
				{"url other query", func() (int64, bool) { return s.LookupURL("http://x4z9arb.cn/4712/?a=2") }, 0},
				{"url prefix", func() (int64, bool) { return s.LookupURL("http://x4z9arb.cn/4712/") }, 0},
				{"email", func() (int64, bool) { return s.LookupEmail("donald.duck@disney.com") }, 2},
				{"email other", func() (int64, bool) { return s.LookupEmail("daisy.duck@disney.com") }, 0},
				{"md5", func() (int64, bool) { return s.LookupHash(md5) }, 3},
				{"sha1", func() (int64, bool) { return s.LookupHash(sha1) }, 4},
				{"sha256", func() (int64, bool) { return s.LookupHash(sha256) }, 5},
				{"hash upper", func() (int64, bool) { return s.LookupHash(strings.ToUpper(md5)) }, 0},
				{"asn", func() (int64, bool) { return s.LookupASN(64500) }, 6},
				{"asn other", func() (int64, bool) { return s.LookupASN(64501) }, 0},
			} {
				id, ok := c.got()
				if ok != (c.id != 0) || id != c.id {
					t.Errorf("%s: %d, %v; want %d", c.what, id, ok, c.id)
				}
			}
			if got := s.Counts(); got != (Counts{URLs: 1, Emails: 1, Hashes: 3, ASNs: 1}) || got.Total() != 6 {
				t.Errorf("Counts() = %+v", got)
			}
			mustApply(t, m, del(intel.KindSHA1, sha1), del(intel.KindASN, "AS64500"), add(intel.KindEmail, "donald.duck@disney.com", 20))
			if _, ok := m.LookupHash(sha1); ok {
				t.Error("removed hash matches")
			}
			if _, ok := m.LookupASN(64500); ok {
				t.Error("removed ASN matches")
			}
			if id, _ := m.LookupEmail("donald.duck@disney.com"); id != 20 {
				t.Errorf("replaced e-mail: %d", id)
			}
			// The snapshot taken before the batch still sees the old state.
			if id, ok := s.LookupHash(sha1); !ok || id != 4 {
				t.Errorf("old snapshot changed: %d, %v", id, ok)
			}
		})
	}
}

func TestApplyRefusesBadBatchWhole(t *testing.T) {
	m := New()
	mustApply(t, m, add(intel.KindDomain, "evil.example", 1))
	bad := []Change{
		{Kind: intel.KindIPv4, Value: "300.1.1.1"},
		{Kind: intel.KindIPv4, Value: "2001:db8::1"},
		{Kind: intel.KindIPv6, Value: "fe80::1%eth0"},
		{Kind: intel.KindCIDR, Value: "10.0.0.0/33"},
		{Kind: intel.KindDomain, Value: "Evil.Example"},
		{Kind: intel.KindDomain, Value: "*.evil.example"},
		{Kind: intel.KindDomain, Value: "a..example"},
		{Kind: intel.KindDomain, Value: "evil.example."},
		{Kind: intel.KindDomain, Value: strings.Repeat("a", 64) + ".example"},
		{Kind: intel.KindDomain, Value: "bộyte.vn"},
		{Kind: intel.KindDomain, Value: ""},
		{Kind: intel.KindURL, Value: "evil.example/x"},
		{Kind: intel.KindEmail, Value: "nobody"},
		{Kind: intel.KindEmail, Value: "Donald@disney.com"},
		{Kind: intel.KindMD5, Value: "D41D8CD98F00B204E9800998ECF8427E"},
		{Kind: intel.KindSHA1, Value: "d41d8cd98f00b204e9800998ecf8427e"},
		{Kind: intel.KindASN, Value: "64500"},
		{Kind: intel.KindASN, Value: "AS0"},
		{Kind: intel.Kind("bogus"), Value: "x"},
	}
	for _, b := range bad {
		err := m.Apply([]Change{add(intel.KindDomain, "good.example", 2), b})
		if !errors.Is(err, intel.ErrInvalid) || !strings.HasPrefix(err.Error(), "match: change 2 of 2") {
			t.Errorf("%s %q: err %v", b.Kind, b.Value, err)
		}
	}
	if _, ok := m.LookupName("good.example"); ok {
		t.Error("a refused batch was partly applied")
	}
	if id, ok := m.LookupName("evil.example"); !ok || id != 1 {
		t.Error("a refused batch lost what was stored")
	}
}

func TestZeroSnapshot(t *testing.T) {
	var s Snapshot
	if _, ok := s.LookupAddr(netip.MustParseAddr("10.0.0.1")); ok {
		t.Error("address matched")
	}
	if _, ok := s.LookupAddr(netip.MustParseAddr("2001:db8::1")); ok {
		t.Error("IPv6 address matched")
	}
	if _, ok := s.LookupName("evil.example"); ok {
		t.Error("name matched")
	}
	if _, ok := s.LookupURL("http://evil.example/"); ok {
		t.Error("URL matched")
	}
	if c := s.Counts(); c.Total() != 0 {
		t.Errorf("Counts() = %+v", c)
	}
}
