package asset

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func buildIndex(t testing.TB, entries []Entry) *Index {
	t.Helper()
	b := NewBuilder()
	for _, e := range entries {
		if err := b.Add(e); err != nil {
			t.Fatalf("Add(%+v): %v", e, err)
		}
	}
	return b.Build()
}

var scopeEntries = []Entry{
	{1, 10, KindDomain, "gov.vn"},
	{2, 20, KindDomain, "example.gov.vn"},
	{3, 30, KindHostname, "portal.example.gov.vn"},
	{4, 40, KindMailDomain, "mail.example.gov.vn"},
	{5, 20, KindHostname, "_dmarc.example.gov.vn"},
	{6, 50, KindDomain, "xn--b-cng-an-63a1467e.gov.vn"},
	{7, 60, KindHostname, "example.gov.vn"}, // exact beats the domain of the same name
	{10, 100, KindCIDR, "10.0.0.0/8"},
	{11, 110, KindCIDR, "10.1.0.0/16"},
	{12, 120, KindCIDR, "10.1.2.0/24"},
	{13, 130, KindIPv4, "10.1.2.3"},
	{14, 140, KindCIDR, "10.1.2.3/32"}, // same prefix as 13: 13 wins
	{15, 150, KindCIDR, "192.0.2.128/25"},
	{16, 160, KindCIDR, "255.255.255.0/24"},
	{17, 170, KindCIDR, "0.0.0.0/8"},
	{20, 200, KindCIDR, "2001:db8::/32"},
	{21, 210, KindCIDR, "2001:db8:1::/48"},
	{22, 220, KindIPv6, "2001:db8:1::1"},
	{23, 230, KindCIDR, "ffff::/16"},
	{30, 300, KindURL, "https://a.vn/app"},
	{31, 310, KindURL, "https://a.vn/app/admin/"},
	{32, 320, KindURL, "http://a.vn/"},
	{33, 330, KindHostname, "a.vn"},
	{34, 340, KindURL, "https://10.9.9.9:8443/x"},
	{40, 400, KindASN, "AS64500"},
	{41, 410, KindASN, "AS64500"},
}

func TestLookup(t *testing.T) {
	ix := buildIndex(t, scopeEntries)
	if ix.Len() != len(scopeEntries) {
		t.Fatalf("Len = %d", ix.Len())
	}
	tests := []struct {
		target     string
		asset      int64
		norm       string
		targetKind string
	}{
		// names: exact, longest suffix, label boundary, IDN
		{"portal.example.gov.vn", 3, "portal.example.gov.vn", TargetName},
		{"PORTAL.Example.gov.vn.", 3, "portal.example.gov.vn", TargetName},
		{"x.portal.example.gov.vn", 2, "x.portal.example.gov.vn", TargetName},
		{"example.gov.vn", 7, "example.gov.vn", TargetName},
		{"www.example.gov.vn", 2, "www.example.gov.vn", TargetName},
		{"mail.example.gov.vn", 4, "mail.example.gov.vn", TargetName},
		{"x.mail.example.gov.vn", 2, "x.mail.example.gov.vn", TargetName},
		{"_dmarc.example.gov.vn", 5, "_dmarc.example.gov.vn", TargetName},
		{"gov.vn", 1, "gov.vn", TargetName},
		{"a.b.c.gov.vn", 1, "a.b.c.gov.vn", TargetName},
		{"www.Bộ-Công-An.gov.vn", 6, "www.xn--b-cng-an-63a1467e.gov.vn", TargetName},
		{"a.vn", 33, "a.vn", TargetName},
		// addresses: longest prefix
		{"10.200.0.1", 10, "10.200.0.1", TargetIP},
		{"10.1.200.1", 11, "10.1.200.1", TargetIP},
		{"10.1.2.4", 12, "10.1.2.4", TargetIP},
		{"10.1.2.3", 13, "10.1.2.3", TargetIP},
		{"10.1.2.255", 12, "10.1.2.255", TargetIP},
		{"10.1.3.0", 11, "10.1.3.0", TargetIP},
		{"10.255.255.255", 10, "10.255.255.255", TargetIP},
		{"::ffff:10.1.2.3", 13, "10.1.2.3", TargetIP},
		{"192.0.2.128", 15, "192.0.2.128", TargetIP},
		{"192.0.2.255", 15, "192.0.2.255", TargetIP},
		{"255.255.255.255", 16, "255.255.255.255", TargetIP},
		{"0.0.0.0", 17, "0.0.0.0", TargetIP},
		{"2001:db8::5", 20, "2001:db8::5", TargetIP},
		{"2001:DB8:1::1", 22, "2001:db8:1::1", TargetIP},
		{"[2001:db8:1::2]", 21, "2001:db8:1::2", TargetIP},
		{"2001:db8:1::1%eth0", 22, "2001:db8:1::1", TargetIP},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 23, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", TargetIP},
		// networks: covered whole by one asset
		{"10.1.2.0/24", 12, "10.1.2.0/24", TargetCIDR},
		{"10.1.2.0/25", 12, "10.1.2.0/25", TargetCIDR},
		{"10.1.0.0/23", 11, "10.1.0.0/23", TargetCIDR},
		{"10.1.2.3/32", 13, "10.1.2.3/32", TargetCIDR},
		{"10.1.0.0/15", 10, "10.0.0.0/15", TargetCIDR},
		{"2001:db8:1:2::/64", 21, "2001:db8:1:2::/64", TargetCIDR},
		{"2001:db8::/32", 20, "2001:db8::/32", TargetCIDR},
		// URLs: longest path prefix, then the host
		{"https://a.vn/app", 30, "https://a.vn/app", TargetURL},
		{"https://a.vn/app/", 30, "https://a.vn/app/", TargetURL},
		{"https://a.vn/app/x?q=1", 30, "https://a.vn/app/x", TargetURL},
		{"https://A.vn:443/app/admin/users", 31, "https://a.vn/app/admin/users", TargetURL},
		{"https://a.vn/app/admin", 30, "https://a.vn/app/admin", TargetURL},
		{"https://a.vn/apple", 33, "https://a.vn/apple", TargetURL},
		{"https://a.vn/app/../admin", 33, "https://a.vn/admin", TargetURL},
		{"http://a.vn/anything", 32, "http://a.vn/anything", TargetURL},
		{"https://www.example.gov.vn/", 2, "https://www.example.gov.vn/", TargetURL},
		{"https://10.1.2.3/", 13, "https://10.1.2.3/", TargetURL},
		{"https://[2001:db8:1::1]:8443/", 22, "https://[2001:db8:1::1]:8443/", TargetURL},
		{"https://10.9.9.9:8443/x/y", 34, "https://10.9.9.9:8443/x/y", TargetURL},
		{"https://10.9.9.9/x/y", 10, "https://10.9.9.9/x/y", TargetURL},
		// ASN: lower asset ID wins
		{"AS64500", 40, "AS64500", TargetASN},
		{"as64500", 40, "AS64500", TargetASN},
	}
	for _, tt := range tests {
		m, err := ix.Lookup(tt.target)
		if err != nil {
			t.Errorf("Lookup(%q): %v", tt.target, err)
			continue
		}
		if m.AssetID != tt.asset || m.Target != tt.norm || m.TargetKind != tt.targetKind {
			t.Errorf("Lookup(%q) = asset %d target %q (%s), want asset %d target %q (%s)",
				tt.target, m.AssetID, m.Target, m.TargetKind, tt.asset, tt.norm, tt.targetKind)
		}
		var want Entry
		for _, e := range scopeEntries {
			if e.AssetID == tt.asset {
				want = e
			}
		}
		if m.OrgID != want.OrgID || m.Kind != want.Kind || m.Value != want.Value {
			t.Errorf("Lookup(%q) = %+v, want owner %+v", tt.target, m, want)
		}
	}
}

func TestLookupRefused(t *testing.T) {
	ix := buildIndex(t, scopeEntries)
	outOfScope := []string{
		"xgov.vn", "example.vn", "vn", "localhost", "b.vn",
		"11.0.0.1", "9.255.255.255", "192.0.2.127", "1.1.1.1", "2001:db9::1", "::1",
		"10.0.0.0/7", "192.0.2.0/24", "2001:db8::/31",
		"https://b.vn/app", "ftp.example.vn.evil.com",
		"AS64501",
	}
	for _, target := range outOfScope {
		m, err := ix.Lookup(target)
		if !errors.Is(err, ErrOutOfScope) {
			t.Errorf("Lookup(%q) = %+v, %v; want ErrOutOfScope", target, m, err)
			continue
		}
		if !strings.Contains(err.Error(), target) || !strings.HasPrefix(err.Error(), "asset: ") {
			t.Errorf("Lookup(%q) error %q does not name the target", target, err)
		}
	}
	invalid := []string{
		"", "  ", "010.1.2.3", "1.2.3", "256.1.1.1", "10.0.0.1/33", "10.0.0.0/0",
		"*.gov.vn", "a..gov.vn", "ftp://a.vn/", "https://u:p@a.vn/", "AS0", "AS23456",
		"AS99999999999", "[::1", "gg::1", "a b.vn", strings.Repeat("a", 3000),
	}
	for _, target := range invalid {
		m, err := ix.Lookup(target)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("Lookup(%q) = %+v, %v; want ErrInvalid", target, m, err)
		}
	}
	var nilIndex *Index
	if _, err := nilIndex.Lookup("10.0.0.1"); !errors.Is(err, ErrOutOfScope) {
		t.Errorf("nil index: %v", err)
	}
	if _, err := NewBuilder().Build().Lookup("2001:db8::1"); !errors.Is(err, ErrOutOfScope) {
		t.Errorf("empty index: %v", err)
	}
}

func TestLookupFastPaths(t *testing.T) {
	ix := buildIndex(t, scopeEntries)
	m, ok := ix.LookupAddr(netip.MustParseAddr("10.1.2.200"))
	if !ok || m.AssetID != 12 || m.TargetKind != TargetIP {
		t.Errorf("LookupAddr = %+v, %v", m, ok)
	}
	if _, ok := ix.LookupAddr(netip.Addr{}); ok {
		t.Error("LookupAddr(zero) is in scope")
	}
	if _, ok := ix.LookupAddr(netip.MustParseAddr("11.0.0.1")); ok {
		t.Error("LookupAddr(11.0.0.1) is in scope")
	}
	m, ok = ix.LookupName("Www.Example.gov.vn.")
	if !ok || m.AssetID != 2 || m.Target != "www.example.gov.vn" {
		t.Errorf("LookupName = %+v, %v", m, ok)
	}
	if _, ok := ix.LookupName("10.1.2.3"); ok {
		t.Error("LookupName of an address is in scope")
	}
	addr := netip.MustParseAddr("10.1.2.3")
	if n := testing.AllocsPerRun(100, func() { ix.LookupAddr(addr) }); n != 0 {
		t.Errorf("LookupAddr allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { ix.LookupName("a.b.example.gov.vn") }); n != 0 {
		t.Errorf("LookupName allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { ix.Lookup("10.1.2.3") }); n != 0 {
		t.Errorf("Lookup of an address allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { ix.Lookup("a.b.example.gov.vn") }); n != 0 {
		t.Errorf("Lookup of a name allocates %v times", n)
	}
}

func TestBuilderAdd(t *testing.T) {
	b := NewBuilder()
	bad := []Entry{
		{0, 1, KindDomain, "a.vn"},
		{1, 0, KindDomain, "a.vn"},
		{1, 1, Kind("zone"), "a.vn"},
		{1, 1, KindDomain, "A.vn"},
		{1, 1, KindCIDR, "10.0.0.1/8"},
		{1, 1, KindIPv6, "2001:DB8::1"},
		{1, 1, KindURL, "https://a.vn"},
		{1, 1, KindASN, "64500"},
		{1, 1, KindDomain, "*.a.vn"},
	}
	for _, e := range bad {
		if err := b.Add(e); !errors.Is(err, ErrInvalid) {
			t.Errorf("Add(%+v) = %v, want ErrInvalid", e, err)
		}
	}
	if ix := b.Build(); ix.Len() != 0 {
		t.Errorf("refused entries were kept: %d", ix.Len())
	}
	// The builder stays usable, and an index does not see later adds.
	if err := b.Add(Entry{1, 1, KindCIDR, "10.0.0.0/8"}); err != nil {
		t.Fatal(err)
	}
	first := b.Build()
	if err := b.Add(Entry{2, 2, KindIPv4, "10.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if m, err := first.Lookup("10.0.0.1"); err != nil || m.AssetID != 1 {
		t.Errorf("first index: %+v, %v", m, err)
	}
	if m, err := b.Build().Lookup("10.0.0.1"); err != nil || m.AssetID != 2 {
		t.Errorf("second index: %+v, %v", m, err)
	}
}

// TestLookupOrderIndependent checks that the owner of a value registered
// twice does not depend on the order of Add.
func TestLookupOrderIndependent(t *testing.T) {
	entries := []Entry{
		{9, 1, KindCIDR, "10.0.0.0/8"},
		{3, 2, KindCIDR, "10.0.0.0/8"},
		{7, 3, KindDomain, "a.vn"},
		{5, 4, KindDomain, "a.vn"},
		{8, 5, KindHostname, "h.a.vn"},
		{6, 6, KindMailDomain, "h.a.vn"},
	}
	for _, order := range [][]int{{0, 1, 2, 3, 4, 5}, {5, 4, 3, 2, 1, 0}} {
		var es []Entry
		for _, i := range order {
			es = append(es, entries[i])
		}
		ix := buildIndex(t, es)
		for target, want := range map[string]int64{"10.2.3.4": 3, "x.a.vn": 5, "h.a.vn": 6} {
			if m, err := ix.Lookup(target); err != nil || m.AssetID != want {
				t.Errorf("order %v: Lookup(%q) = %d, %v; want %d", order, target, m.AssetID, err, want)
			}
		}
	}
}

// TestLookupAgainstLinearScan compares the address table with a plain scan
// over many nested random prefixes.
func TestLookupAgainstLinearScan(t *testing.T) {
	rng := newRand(7)
	var entries []Entry
	var prefixes []netip.Prefix
	id := int64(1)
	for i := 0; i < 3000; i++ {
		var p netip.Prefix
		if rng.next()%4 == 0 {
			var b [16]byte
			b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
			b[4] = byte(rng.next() % 4)
			b[5] = byte(rng.next())
			b[15] = byte(rng.next())
			p = netip.PrefixFrom(netip.AddrFrom16(b), 32+int(rng.next()%97)).Masked()
		} else {
			a := netip.AddrFrom4([4]byte{10, byte(rng.next() % 4), byte(rng.next()), byte(rng.next())})
			p = netip.PrefixFrom(a, 8+int(rng.next()%25)).Masked()
		}
		kind, value := KindCIDR, p.String()
		if p.IsSingleIP() && rng.next()%2 == 0 {
			kind, value = KindIPv4, p.Addr().String()
			if p.Addr().Is6() {
				kind = KindIPv6
			}
		}
		entries = append(entries, Entry{id, int64(rng.next()%50 + 1), kind, value})
		prefixes = append(prefixes, p)
		id++
	}
	ix := buildIndex(t, entries)
	want := func(a netip.Addr) int64 {
		best, bestBits := int64(0), -1
		for i, p := range prefixes {
			if p.Contains(a) && (p.Bits() > bestBits || p.Bits() == bestBits && entries[i].AssetID < best) {
				best, bestBits = entries[i].AssetID, p.Bits()
			}
		}
		return best
	}
	for i := 0; i < 20000; i++ {
		var a netip.Addr
		if i%4 == 0 {
			var b [16]byte
			b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
			b[4] = byte(rng.next() % 5)
			b[5] = byte(rng.next())
			b[15] = byte(rng.next())
			a = netip.AddrFrom16(b)
		} else {
			a = netip.AddrFrom4([4]byte{10, byte(rng.next() % 5), byte(rng.next()), byte(rng.next())})
		}
		m, ok := ix.LookupAddr(a)
		if w := want(a); w != m.AssetID || ok != (w != 0) {
			t.Fatalf("LookupAddr(%s) = %d, %v; want %d", a, m.AssetID, ok, w)
		}
	}
}

func TestOverlaps(t *testing.T) {
	ix := buildIndex(t, []Entry{
		{1, 1, KindCIDR, "10.0.0.0/8"},
		{2, 1, KindCIDR, "10.1.0.0/16"}, // same org: not an overlap
		{3, 2, KindCIDR, "10.1.2.0/24"},
		{4, 3, KindIPv4, "10.1.2.3"},
		{5, 2, KindCIDR, "10.1.2.3/32"},
		{6, 4, KindCIDR, "2001:db8::/32"},
		{7, 5, KindIPv6, "2001:db8::1"},
		{8, 6, KindDomain, "gov.vn"},
		{9, 7, KindDomain, "example.gov.vn"},
		{10, 7, KindHostname, "www.example.gov.vn"}, // inside its own org's domain
		{11, 8, KindMailDomain, "example.gov.vn"},
		{12, 9, KindURL, "https://www.example.gov.vn/app"},
		{13, 10, KindURL, "https://www.example.gov.vn/app/x"},
		{14, 11, KindURL, "https://10.1.2.3/"},
		{15, 12, KindASN, "AS64500"},
		{16, 13, KindASN, "AS64500"},
		{17, 14, KindDomain, "xgov.vn"}, // not under gov.vn
		{18, 15, KindDomain, "example.gov.vn"},
	})
	type pair struct{ outer, inner int64 }
	want := []pair{
		{1, 3}, {1, 4}, {1, 5}, {1, 14},
		{2, 3}, {2, 4}, {2, 5}, {2, 14},
		{3, 4}, {3, 14},
		{4, 5}, {4, 14},
		{5, 14},
		{6, 7},
		{8, 9}, {8, 10}, {8, 11}, {8, 12}, {8, 13}, {8, 18},
		{9, 11}, {9, 12}, {9, 13}, {9, 18},
		{10, 12}, {10, 13},
		{12, 13},
		{15, 16},
		{18, 10}, {18, 11}, {18, 12}, {18, 13},
	}
	got := ix.Overlaps()
	var gotPairs []pair
	for _, o := range got {
		gotPairs = append(gotPairs, pair{o.Outer.AssetID, o.Inner.AssetID})
		if o.Outer.OrgID == o.Inner.OrgID {
			t.Errorf("same-org overlap %+v", o)
		}
	}
	// The expectations above are sorted by outer then inner, except for
	// the 18 row which belongs at the end.
	if len(gotPairs) != len(want) {
		t.Fatalf("Overlaps = %v\nwant %v", gotPairs, want)
	}
	for i := range want {
		if gotPairs[i] != want[i] {
			t.Fatalf("Overlaps = %v\nwant %v", gotPairs, want)
		}
	}
}

func FuzzLookup(f *testing.F) {
	ix := buildIndex(f, scopeEntries)
	for _, s := range []string{
		"10.1.2.3", "010.1.2.3", "::ffff:10.1.2.3", "[2001:db8::1]", "fe80::1%eth0", "10.0.0.0/8",
		"2001:db8::/129", "portal.example.gov.vn.", "Bộ-Công-An.gov.vn", "https://a.vn/app/../x",
		"http://[::1]:80/", "AS64500", "as0", "*.gov.vn", "https://a.vn:99999/", "a。vn", "https://u@a.vn",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		if u, ok := fastURL(target); ok {
			if slow, err := normalizeURL(target); err != nil || slow != u {
				t.Fatalf("fastURL(%q) = %q, normalizeURL = %q, %v", target, u, slow, err)
			}
		}
		m, err := ix.Lookup(target)
		switch {
		case err == nil:
			if m.AssetID == 0 || m.Target == "" {
				t.Fatalf("Lookup(%q) = %+v", target, m)
			}
			// The normalized target must lead to the same owner.
			m2, err := ix.Lookup(m.Target)
			if err != nil || m2.AssetID != m.AssetID {
				t.Fatalf("Lookup(%q) = %d via %q, then %d, %v", target, m.AssetID, m.Target, m2.AssetID, err)
			}
		case errors.Is(err, ErrOutOfScope), errors.Is(err, ErrInvalid):
		default:
			t.Fatalf("Lookup(%q): unexpected error %v", target, err)
		}
	})
}

// rand is a small deterministic generator (xorshift64*) for test data.
type rand struct{ s uint64 }

func newRand(seed uint64) *rand { return &rand{s: seed*0x9E3779B97F4A7C15 + 1} }

func (r *rand) next() uint64 {
	r.s ^= r.s >> 12
	r.s ^= r.s << 25
	r.s ^= r.s >> 27
	return r.s * 0x2545F4914F6CDD1D
}

// TestLookupConcurrent runs lookups from many goroutines; run with -race.
func TestLookupConcurrent(t *testing.T) {
	ix := buildIndex(t, scopeEntries)
	targets := []string{"10.1.2.3", "www.example.gov.vn", "https://a.vn/app/x", "2001:db8::1", "AS64500", "1.1.1.1"}
	done := make(chan struct{})
	for g := 0; g < 8; g++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := 0; i < 2000; i++ {
				ix.Lookup(targets[i%len(targets)])
				ix.LookupAddr(netip.AddrFrom4([4]byte{10, 1, 2, byte(i)}))
				ix.LookupName("portal.example.gov.vn")
			}
		}()
	}
	for g := 0; g < 8; g++ {
		<-done
	}
}
