package target

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// mapResolver answers from a table; it does no I/O.
type mapResolver map[string][]string

func (m mapResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	v, ok := m[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, s := range v {
		out = append(out, netip.MustParseAddr(s))
	}
	return out, nil
}

func collect(t *testing.T, specs []string, r Resolver) ([]Target, uint64) {
	t.Helper()
	seq, n, err := Expand(context.Background(), specs, r)
	if err != nil {
		t.Fatalf("Expand(%q): %v", specs, err)
	}
	var out []Target
	for tg := range seq {
		out = append(out, tg)
	}
	if uint64(len(out)) != n {
		t.Fatalf("Expand(%q): count %d, iterator yielded %d", specs, n, len(out))
	}
	return out, n
}

func addrs(ts []Target) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Addr.String())
	}
	return out
}

func TestExpand(t *testing.T) {
	r := mapResolver{
		"www.example.gov.vn":  {"127.0.0.5", "::1"},
		"mail.example.gov.vn": {"127.0.9.9"},
	}
	tests := []struct {
		specs []string
		want  string
	}{
		{[]string{"127.0.0.1"}, "127.0.0.1"},
		{[]string{"127.0.0.0/30"}, "127.0.0.0 127.0.0.1 127.0.0.2 127.0.0.3"},
		{[]string{"127.0.0.1-3"}, "127.0.0.1 127.0.0.2 127.0.0.3"},
		{[]string{"127.0.0.254-127.0.1.1"}, "127.0.0.254 127.0.0.255 127.0.1.0 127.0.1.1"},
		{[]string{"::1"}, "::1"},
		{[]string{"2001:db8::/127"}, "2001:db8:: 2001:db8::1"},
		{[]string{"2001:db8::fffe-2001:db8::1:1"}, "2001:db8::fffe 2001:db8::ffff 2001:db8::1:0 2001:db8::1:1"},
		{[]string{"::ffff:127.0.0.1"}, "127.0.0.1"},
		// overlaps: each address once, in specification order
		{[]string{"127.0.0.3", "127.0.0.0/30", "127.0.0.2-5"}, "127.0.0.3 127.0.0.0 127.0.0.1 127.0.0.2 127.0.0.4 127.0.0.5"},
		{[]string{"127.0.0.0/29", "127.0.0.2-3", "127.0.0.9"}, "127.0.0.0 127.0.0.1 127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5 127.0.0.6 127.0.0.7 127.0.0.9"},
		{[]string{"127.0.0.4-6", "127.0.0.1-9"}, "127.0.0.4 127.0.0.5 127.0.0.6 127.0.0.1 127.0.0.2 127.0.0.3 127.0.0.7 127.0.0.8 127.0.0.9"},
		{[]string{"www.example.gov.vn"}, "127.0.0.5 ::1"},
		{[]string{"127.0.0.4-6", "www.example.gov.vn", "127.0.0.5"}, "127.0.0.4 127.0.0.5 127.0.0.6 ::1"},
		{[]string{"255.255.255.254/31"}, "255.255.255.254 255.255.255.255"},
		{[]string{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
	}
	for _, tt := range tests {
		got, _ := collect(t, tt.specs, r)
		if g := strings.Join(addrs(got), " "); g != tt.want {
			t.Errorf("Expand(%q)\n got %s\nwant %s", tt.specs, g, tt.want)
		}
	}
}

func TestExpandNamesAndHints(t *testing.T) {
	r := mapResolver{"www.example.gov.vn": {"127.0.0.5"}, "portal.example.gov.vn": {"127.0.0.6"}}
	got, _ := collect(t, []string{"127.0.0.0/29", "WWW.Example.gov.vn.", "https://portal.example.gov.vn:8443/app", "http://127.0.0.7/"}, r)
	by := map[string]Target{}
	for _, tg := range got {
		by[tg.Addr.String()] = tg
	}
	if tg := by["127.0.0.5"]; tg.Name != "www.example.gov.vn" || tg.Spec != "WWW.Example.gov.vn." {
		t.Errorf("127.0.0.5 = %+v, want the name it resolved from", tg)
	}
	if tg := by["127.0.0.6"]; tg.Name != "portal.example.gov.vn" || tg.Scheme != "https" || tg.Port != 8443 {
		t.Errorf("127.0.0.6 = %+v, want the URL's name and hints", tg)
	}
	if tg := by["127.0.0.7"]; tg.Name != "" || tg.Scheme != "http" || tg.Port != 80 {
		t.Errorf("127.0.0.7 = %+v, want the literal URL's hints", tg)
	}
	if tg := by["127.0.0.1"]; tg.Name != "" || tg.Spec != "127.0.0.0/29" {
		t.Errorf("127.0.0.1 = %+v", tg)
	}
	if len(got) != 8 {
		t.Errorf("%d targets, want 8", len(got))
	}
}

func TestExpandErrors(t *testing.T) {
	r := mapResolver{"empty.example": {}}
	tests := []struct {
		specs   []string
		target  error
		mention string
	}{
		{nil, ErrNoTarget, "no targets"},
		{[]string{"127.0.0.1", "300.1.1.1"}, ErrSpec, `"300.1.1.1"`},
		{[]string{"10.0.0.0/7"}, ErrTooMany, `"10.0.0.0/7"`},
		{[]string{"0.0.0.0/0"}, ErrTooMany, "4294967296"},
		{[]string{"2001:db8::/64"}, ErrTooMany, "2^64"},
		{[]string{"::/0"}, ErrTooMany, "2^128"},
		{[]string{"10.0.0.0/8", "11.0.0.0/31"}, ErrTooMany, "more than 16777216"},
		{[]string{"nowhere.example"}, ErrResolve, `"nowhere.example"`},
		{[]string{"empty.example"}, ErrResolve, "no addresses"},
	}
	for _, tt := range tests {
		_, _, err := Expand(context.Background(), tt.specs, r)
		if !errors.Is(err, tt.target) || !strings.Contains(err.Error(), tt.mention) {
			t.Errorf("Expand(%q) error = %v, want %v mentioning %q", tt.specs, err, tt.target, tt.mention)
		}
	}
	if _, _, err := Expand(context.Background(), []string{"www.example"}, nil); !errors.Is(err, ErrResolve) {
		t.Errorf("name without resolver: %v", err)
	}
	// a /8 is allowed by default; larger limits are configurable
	if _, n, err := Expand(context.Background(), []string{"10.0.0.0/8"}, nil); err != nil || n != 1<<24 {
		t.Errorf("/8: n=%d err=%v", n, err)
	}
	if _, n, err := (Expander{MaxHosts: 1 << 25}).Expand(context.Background(), []string{"10.0.0.0/7"}); err != nil || n != 1<<25 {
		t.Errorf("/7 with raised limit: n=%d err=%v", n, err)
	}
	if _, _, err := (Expander{MaxHosts: 10}).Expand(context.Background(), []string{"127.0.0.0/28"}); !errors.Is(err, ErrTooMany) {
		t.Errorf("MaxHosts 10: %v", err)
	}
}

func TestExpandUnresolvedCallback(t *testing.T) {
	var skipped []string
	e := Expander{Resolver: mapResolver{}, Unresolved: func(spec string, err error) { skipped = append(skipped, spec) }}
	seq, n, err := e.Expand(context.Background(), []string{"127.0.0.1", "gone.example"})
	if err != nil || n != 1 || !slices.Equal(skipped, []string{"gone.example"}) {
		t.Fatalf("n=%d err=%v skipped=%v", n, err, skipped)
	}
	for tg := range seq {
		if tg.Addr != netip.MustParseAddr("127.0.0.1") {
			t.Errorf("unexpected %v", tg)
		}
	}
}

func TestExpandLargeIsLazy(t *testing.T) {
	seq, n, err := (Expander{MaxHosts: 1<<24 + 256}).Expand(context.Background(), []string{"10.0.0.0/8", "10.1.2.3", "11.0.0.0-11.0.0.255"})
	if err != nil || n != 1<<24+256 {
		t.Fatalf("n=%d err=%v", n, err)
	}
	i := 0
	for tg := range seq {
		if i == 70000 {
			if tg.Addr != netip.MustParseAddr("10.1.17.112") {
				t.Errorf("70000th = %v", tg.Addr)
			}
			break
		}
		i++
	}
	allocs := testing.AllocsPerRun(3, func() {
		j := 0
		for range seq {
			if j++; j == 100000 {
				break
			}
		}
	})
	if allocs > 10 {
		t.Errorf("iterating allocates %.0f times per 100k addresses", allocs)
	}
}

func TestExpandDisjointRandom(t *testing.T) {
	// Compare the sweep against a brute-force set on many random layouts.
	rnd := uint64(12345)
	next := func(n uint64) uint64 { rnd = rnd*6364136223846793005 + 1442695040888963407; return (rnd >> 33) % n }
	for round := range 300 {
		var specs []string
		var want []string
		seen := map[string]bool{}
		for range 1 + next(6) {
			lo := next(60)
			hi := lo + next(20)
			specs = append(specs, fmt.Sprintf("127.0.0.%d-%d", lo, hi))
			for a := lo; a <= hi; a++ {
				s := fmt.Sprintf("127.0.0.%d", a)
				if !seen[s] {
					seen[s] = true
					want = append(want, s)
				}
			}
		}
		// brute force in spec order, address order within a spec
		got, _ := collect(t, specs, nil)
		g := addrs(got)
		ws := slices.Clone(want)
		if !slices.Equal(g, ws) {
			// within one spec the sweep yields address order, which the
			// brute force also does; any difference is a bug
			t.Fatalf("round %d %q:\n got %v\nwant %v", round, specs, g, ws)
		}
	}
}

func TestParseSpec(t *testing.T) {
	tests := []struct {
		in     string
		kind   Kind
		first  string
		last   string
		host   string
		scheme string
		port   uint16
	}{
		{"192.0.2.1", KindAddr, "192.0.2.1", "192.0.2.1", "", "", 0},
		{" 2001:DB8::1 ", KindAddr, "2001:db8::1", "2001:db8::1", "", "", 0},
		{"192.0.2.77/24", KindPrefix, "192.0.2.0", "192.0.2.255", "", "", 0},
		{"192.0.2.1/32", KindPrefix, "192.0.2.1", "192.0.2.1", "", "", 0},
		{"2001:db8::/120", KindPrefix, "2001:db8::", "2001:db8::ff", "", "", 0},
		{"2001:db8::/63", KindPrefix, "2001:db8::", "2001:db8:0:1:ffff:ffff:ffff:ffff", "", "", 0},
		{"::ffff:192.0.2.0/120", KindPrefix, "192.0.2.0", "192.0.2.255", "", "", 0},
		{"10.0.0.1-50", KindRange, "10.0.0.1", "10.0.0.50", "", "", 0},
		{"10.0.0.1-10.0.1.20", KindRange, "10.0.0.1", "10.0.1.20", "", "", 0},
		{"10.0.0.7-7", KindRange, "10.0.0.7", "10.0.0.7", "", "", 0},
		{"portal.example.gov.vn", KindName, "", "", "portal.example.gov.vn", "", 0},
		{"my-host.example", KindName, "", "", "my-host.example", "", 0},
		{"bộ.gov.vn", KindName, "", "", "xn--b-8xm.gov.vn", "", 0},
		{"https://Portal.Example.gov.vn/login", KindURL, "", "", "portal.example.gov.vn", "https", 443},
		{"http://[2001:db8::1]:8080/", KindURL, "2001:db8::1", "2001:db8::1", "", "http", 8080},
		{"ssh://192.0.2.9", KindURL, "192.0.2.9", "192.0.2.9", "", "ssh", 22},
		{"gopher://192.0.2.9", KindURL, "192.0.2.9", "192.0.2.9", "", "gopher", 0},
	}
	for _, tt := range tests {
		sp, err := ParseSpec(tt.in)
		if err != nil {
			t.Errorf("ParseSpec(%q): %v", tt.in, err)
			continue
		}
		str := func(a netip.Addr) string {
			if a.IsValid() {
				return a.String()
			}
			return ""
		}
		if sp.Kind != tt.kind || str(sp.First) != tt.first || str(sp.Last) != tt.last || sp.Host != tt.host || sp.Scheme != tt.scheme || sp.Port != tt.port {
			t.Errorf("ParseSpec(%q) = %v %s-%s host %q %s:%d", tt.in, sp.Kind, str(sp.First), str(sp.Last), sp.Host, sp.Scheme, sp.Port)
		}
	}
}

func TestParseSpecErrors(t *testing.T) {
	tests := []struct{ in, mention string }{
		{"", "empty"},
		{"10.0.0.1-300", "octet"},
		{"10.0.0.9-3", "backwards"},
		{"10.0.0.1-10.0.0.0", "backwards"},
		{"10.0.0.1-::1", "families"},
		{"2001:db8::1-ff", "full end address"},
		{"10.0.0.1-", "octet"},
		{"10.0.0.0/33", "CIDR"},
		{"10.0.0/24", "CIDR"},
		{"example.com:443", "cannot contain ':'"},
		{"exa mple.com", "host name"},
		{"-bad.example", "host name"},
		{"fe80::1%eth0", "zones"},
		{"https://", "no host"},
		{"https://example.com:0/", "port"},
		{"https://example.com:99999/", "URL"},
		{"://x", "URL"},
		{"1.2.3.4.5", "host name"},
		{strings.Repeat("a", 3000), "longer than"},
	}
	for _, tt := range tests {
		_, err := ParseSpec(tt.in)
		if !errors.Is(err, ErrSpec) || !strings.Contains(err.Error(), tt.mention) {
			t.Errorf("ParseSpec(%q) error = %v, want ErrSpec mentioning %q", tt.in, err, tt.mention)
		}
	}
}

func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"192.0.2.1", "10.0.0.0/8", "10.0.0.1-50", "10.0.0.1-10.0.1.20", "2001:db8::/112",
		"www.example.gov.vn", "https://example.gov.vn:8443/x", "http://[::1]/", "::ffff:1.2.3.4/100", "a-b-c", "1-2", "-", "::-::1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := ParseSpec(s)
		if err != nil {
			if !errors.Is(err, ErrSpec) {
				t.Fatalf("error does not wrap ErrSpec: %v", err)
			}
			return
		}
		if sp.First.IsValid() != sp.Last.IsValid() {
			t.Fatalf("%q: one bound set", s)
		}
		if sp.First.IsValid() {
			if sp.First.Is4() != sp.Last.Is4() || sp.Last.Less(sp.First) || sp.First.Is4In6() {
				t.Fatalf("%q: bad bounds %v-%v", s, sp.First, sp.Last)
			}
			if sp.Size() == 0 {
				t.Fatalf("%q: zero size", s)
			}
		} else if sp.Host == "" {
			t.Fatalf("%q: neither addresses nor host", s)
		}
		// a specification that fits the limits expands to exactly Size
		// addresses, the first and last being the bounds
		if sp.First.IsValid() && sp.Size() <= 4096 {
			seq, n, err := Expand(context.Background(), []string{s}, nil)
			if err != nil || n != sp.Size() {
				t.Fatalf("%q: Expand n=%d err=%v, size %d", s, n, err, sp.Size())
			}
			var first, last netip.Addr
			for tg := range seq {
				if !first.IsValid() {
					first = tg.Addr
				}
				last = tg.Addr
			}
			if first != sp.First || last != sp.Last {
				t.Fatalf("%q: expanded %v-%v, want %v-%v", s, first, last, sp.First, sp.Last)
			}
		}
	})
}

// TestNewResolver runs a DNS server on loopback and checks that the
// resolver sends its queries there.
func TestNewResolver(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go serveDNS(pc, map[string][4]byte{"scan-me.rampart.test.": {127, 0, 3, 4}})

	r := NewResolver(pc.LocalAddr().String())
	seq, n, err := Expand(context.Background(), []string{"scan-me.rampart.test", "127.0.3.4"}, r)
	if err != nil || n != 1 {
		t.Fatalf("n=%d err=%v", n, err)
	}
	for tg := range seq {
		if tg.Addr != netip.MustParseAddr("127.0.3.4") || tg.Name != "scan-me.rampart.test" {
			t.Errorf("got %+v", tg)
		}
	}
	if _, _, err := Expand(context.Background(), []string{"missing.rampart.test"}, r); !errors.Is(err, ErrResolve) {
		t.Errorf("missing name: %v", err)
	}
}

// serveDNS answers A queries from a table and NXDOMAIN otherwise (empty for AAAA of known names).
func serveDNS(pc net.PacketConn, table map[string][4]byte) {
	buf := make([]byte, 1500)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		var p dnsmessage.Parser
		h, err := p.Start(buf[:n])
		if err != nil {
			continue
		}
		q, err := p.Question()
		if err != nil {
			continue
		}
		ip, known := table[q.Name.String()]
		rc := dnsmessage.RCodeSuccess
		if !known {
			rc = dnsmessage.RCodeNameError
		}
		b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RCode: rc})
		b.EnableCompression()
		_ = b.StartQuestions()
		_ = b.Question(q)
		_ = b.StartAnswers()
		if known && q.Type == dnsmessage.TypeA {
			_ = b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.AResource{A: ip})
		}
		msg, err := b.Finish()
		if err == nil {
			_, _ = pc.WriteTo(msg, from)
		}
	}
}
