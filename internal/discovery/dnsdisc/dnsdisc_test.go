package dnsdisc_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/rampart-cert/rampart/internal/discovery/dnsdisc"
)

// server is an authoritative test server over a few zones, on loopback.
type server struct {
	rrs   map[string][]mdns.RR // owner (lower-case, fqdn) → records
	axfr  map[string]bool      // zones that allow AXFR
	zones []string
	mu    sync.Mutex
	asked int
}

const zoneText = `
$ORIGIN example.test.
@          3600 IN SOA ns1.example.test. hostmaster.example.test. 1 7200 3600 1209600 300
@          IN NS ns1.example.test.
ns1        IN A 127.0.0.1
www        IN A 127.0.10.1
mail       IN A 127.0.10.2
dichvucong IN CNAME www
hidden-only-in-zone IN A 127.0.10.3
_dmarc     IN TXT "v=DMARC1; p=none"
*.cdn      IN A 127.0.10.4

$ORIGIN wild.test.
@          3600 IN SOA ns1.example.test. hostmaster.example.test. 1 7200 3600 1209600 300
*          IN A 127.0.10.9
mail       IN A 127.0.10.10
portal     IN CNAME other.example.test.

$ORIGIN signed.test.
@          3600 IN SOA ns1.example.test. hostmaster.example.test. 1 7200 3600 1209600 300
@          IN NSEC alpha.signed.test. SOA NS NSEC
alpha      IN A 127.0.10.20
alpha      IN NSEC beta.signed.test. A NSEC
beta       IN A 127.0.10.21
beta       IN NSEC quantri.signed.test. A NSEC
quantri    IN A 127.0.10.22
quantri    IN NSEC signed.test. A NSEC

$ORIGIN 10.0.127.in-addr.arpa.
@          3600 IN SOA ns1.example.test. hostmaster.example.test. 1 7200 3600 1209600 300
1          IN PTR www.example.test.
2          IN PTR mail.example.test.
20         IN PTR alpha.signed.test.
`

// listenUDPTCP opens a UDP and a TCP listener on the same loopback port.
// The TCP port of a free UDP port may be taken by another test's
// connection, so it tries a few ports.
func listenUDPTCP(t testing.TB) (net.PacketConn, net.Listener) {
	t.Helper()
	var last error
	for range 20 {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp4", pc.LocalAddr().String())
		if err == nil {
			return pc, ln
		}
		pc.Close()
		last = err
	}
	t.Fatalf("no loopback port free for both UDP and TCP: %v", last)
	return nil, nil
}

func newServer(t testing.TB) (*server, string) {
	t.Helper()
	s := &server{rrs: map[string][]mdns.RR{}, axfr: map[string]bool{"example.test.": true}}
	zp := mdns.NewZoneParser(strings.NewReader(zoneText), "", "")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		n := strings.ToLower(rr.Header().Name)
		s.rrs[n] = append(s.rrs[n], rr)
		if rr.Header().Rrtype == mdns.TypeSOA {
			s.zones = append(s.zones, n)
		}
	}
	if err := zp.Err(); err != nil {
		t.Fatal(err)
	}
	pc, ln := listenUDPTCP(t)
	for _, srv := range []*mdns.Server{{PacketConn: pc, Handler: s}, {Listener: ln, Handler: s}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go srv.ActivateAndServe()
		<-started
		t.Cleanup(func() { srv.Shutdown() })
	}
	return s, pc.LocalAddr().String()
}

func (s *server) zoneOf(n string) string {
	best := ""
	for _, z := range s.zones {
		if mdns.IsSubDomain(z, n) && len(z) > len(best) {
			best = z
		}
	}
	return best
}

func (s *server) ServeDNS(w mdns.ResponseWriter, r *mdns.Msg) {
	s.mu.Lock()
	s.asked++
	s.mu.Unlock()
	m := new(mdns.Msg)
	m.SetReply(r)
	q := r.Question[0]
	name := strings.ToLower(q.Name)
	z := s.zoneOf(name)
	if z == "" {
		m.Rcode = mdns.RcodeRefused
		w.WriteMsg(m)
		return
	}
	if q.Qtype == mdns.TypeAXFR {
		if !s.axfr[z] || name != z {
			m.Rcode = mdns.RcodeRefused
			w.WriteMsg(m)
			return
		}
		soa := s.rrs[z][0]
		m.Answer = append(m.Answer, soa)
		for n, rrs := range s.rrs {
			if s.zoneOf(n) == z {
				for _, rr := range rrs {
					if rr != soa {
						m.Answer = append(m.Answer, rr)
					}
				}
			}
		}
		m.Answer = append(m.Answer, soa)
		w.WriteMsg(m)
		return
	}
	m.Authoritative = true
	rrs, ok := s.rrs[name]
	if !ok {
		// A wildcard at the closest encloser.
		if i := strings.IndexByte(name, '.'); i > 0 {
			if w, ok2 := s.rrs["*."+name[i+1:]]; ok2 {
				for _, rr := range w {
					c := mdns.Copy(rr)
					c.Header().Name = q.Name
					rrs = append(rrs, c)
				}
				ok = true
			}
		}
	}
	if !ok {
		m.Rcode = mdns.RcodeNameError
		w.WriteMsg(m)
		return
	}
	for _, rr := range rrs {
		if rr.Header().Rrtype == q.Qtype || rr.Header().Rrtype == mdns.TypeCNAME {
			m.Answer = append(m.Answer, rr)
		}
	}
	w.WriteMsg(m)
}

func names(fs []dnsdisc.Found) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Name)
	}
	sort.Strings(out)
	return out
}

type collector struct {
	mu sync.Mutex
	fs []dnsdisc.Found
}

func (c *collector) add(f dnsdisc.Found) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fs = append(c.fs, f)
}

func TestBruteWithWildcard(t *testing.T) {
	_, addr := newServer(t)
	r := &dnsdisc.Resolver{Server: addr, Timeout: time.Second}
	words := []string{"www", "mail", "vpn", "dichvucong", "portal", "quantri"}
	var c collector
	n, err := dnsdisc.Brute(context.Background(), r, "example.test", words, dnsdisc.BruteOptions{}, c.add)
	if err != nil || n != len(words) {
		t.Fatalf("asked %d: %v", n, err)
	}
	if got, want := names(c.fs), []string{"dichvucong.example.test", "mail.example.test", "www.example.test"}; !slices.Equal(got, want) {
		t.Fatalf("found %v, want %v", got, want)
	}
	for _, f := range c.fs {
		if f.Name == "dichvucong.example.test" && (len(f.CNAMEs) != 1 || f.CNAMEs[0] != "www.example.test") {
			t.Errorf("CNAME chain %v", f.CNAMEs)
		}
		if f.Name == "mail.example.test" && (len(f.Addrs) != 1 || f.Addrs[0] != netip.MustParseAddr("127.0.10.2")) {
			t.Errorf("mail addresses %v", f.Addrs)
		}
	}

	// In the wildcard zone every name resolves: only names with records
	// of their own are reported.
	c = collector{}
	if _, err := dnsdisc.Brute(context.Background(), r, "wild.test", words, dnsdisc.BruteOptions{}, c.add); err != nil {
		t.Fatal(err)
	}
	if got, want := names(c.fs), []string{"mail.wild.test", "portal.wild.test"}; !slices.Equal(got, want) {
		t.Fatalf("wildcard zone: found %v, want %v", got, want)
	}

	// A server that refuses the zone fails the run.
	if _, err := dnsdisc.Brute(context.Background(), r, "other.invalid", words, dnsdisc.BruteOptions{}, c.add); !errors.Is(err, dnsdisc.ErrRefused) {
		t.Fatalf("refused zone: %v", err)
	}
}

func TestRateLimit(t *testing.T) {
	s, addr := newServer(t)
	r := &dnsdisc.Resolver{Server: addr, Limiter: dnsdisc.NewLimiter(50, 1)}
	words := make([]string, 10)
	for i := range words {
		words[i] = fmt.Sprintf("nx%d", i)
	}
	begin := time.Now()
	if _, err := dnsdisc.Brute(context.Background(), r, "example.test", words, dnsdisc.BruteOptions{Concurrency: 8, WildcardProbes: 2}, func(dnsdisc.Found) {}); err != nil {
		t.Fatal(err)
	}
	// 12 queries (2 wildcard probes, 10 names, NXDOMAIN needs no AAAA)
	// at 50/s with a burst of 1 take at least 11/50 s.
	if el := time.Since(begin); el < 200*time.Millisecond {
		t.Fatalf("12 queries at 50/s took %v", el)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.asked != 12 {
		t.Fatalf("%d queries, want 12", s.asked)
	}
}

func TestTransfer(t *testing.T) {
	_, addr := newServer(t)
	var c collector
	n, err := dnsdisc.Transfer(context.Background(), addr, "example.test", time.Second, nil, c.add)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"dichvucong.example.test", "hidden-only-in-zone.example.test", "mail.example.test", "ns1.example.test", "www.example.test"}
	if got := names(c.fs); !slices.Equal(got, want) || n != len(want) {
		t.Fatalf("AXFR: %d %v, want %v", n, got, want)
	}
	if _, err := dnsdisc.Transfer(context.Background(), addr, "wild.test", time.Second, nil, c.add); !errors.Is(err, dnsdisc.ErrRefused) {
		t.Fatalf("refused AXFR: %v", err)
	}
	r := &dnsdisc.Resolver{Server: addr}
	ns, err := dnsdisc.NameServers(context.Background(), r, "example.test")
	if err != nil || len(ns) != 1 || ns[0] != "127.0.0.1:53" {
		t.Fatalf("name servers %v %v", ns, err)
	}
}

func TestWalkNSEC(t *testing.T) {
	_, addr := newServer(t)
	r := &dnsdisc.Resolver{Server: addr}
	var c collector
	n, err := dnsdisc.WalkNSEC(context.Background(), r, "signed.test", c.add)
	if err != nil || n != 3 {
		t.Fatalf("walk: %d %v", n, err)
	}
	if got, want := names(c.fs), []string{"alpha.signed.test", "beta.signed.test", "quantri.signed.test"}; !slices.Equal(got, want) {
		t.Fatalf("walk found %v", got)
	}
	if _, err := dnsdisc.WalkNSEC(context.Background(), r, "example.test", c.add); !errors.Is(err, dnsdisc.ErrNoWalk) {
		t.Fatalf("unsigned zone: %v", err)
	}
}

func TestReverse(t *testing.T) {
	_, addr := newServer(t)
	r := &dnsdisc.Resolver{Server: addr}
	var c collector
	n, err := dnsdisc.Reverse(context.Background(), r, netip.MustParsePrefix("127.0.10.0/27"), dnsdisc.ReverseOptions{}, c.add)
	if err != nil || n != 32 {
		t.Fatalf("reverse: %d %v", n, err)
	}
	if got, want := names(c.fs), []string{"alpha.signed.test", "mail.example.test", "www.example.test"}; !slices.Equal(got, want) {
		t.Fatalf("PTR names %v", got)
	}
	if _, err := dnsdisc.Reverse(context.Background(), r, netip.MustParsePrefix("10.0.0.0/8"), dnsdisc.ReverseOptions{MaxHosts: 256}, c.add); err == nil {
		t.Fatal("a /8 was swept")
	}
}

func TestWordlist(t *testing.T) {
	ws := dnsdisc.DefaultWords()
	if len(ws) < 300 {
		t.Fatalf("%d words", len(ws))
	}
	for _, w := range []string{"congdichvucong", "dichvucong", "egov", "mail", "vpn", "quantri", "portal", "hcc", "motcua", "vanban", "email", "webmail", "api", "dev", "test", "staging"} {
		if !slices.Contains(ws, w) {
			t.Errorf("wordlist lacks %q", w)
		}
	}
	if got := dnsdisc.ParseWords("a\n# c\nB # x\nbad label\n\na\n"); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("ParseWords: %v", got)
	}
}

// BenchmarkWordlist resolves 10,000 names (one in ten exists) through a
// loopback DNS server with a limit of 100,000 queries a second; the
// issue's goal is 10,000 names in at most 10 s.
func BenchmarkWordlist(b *testing.B) {
	s, addr := newServer(b)
	for i := range 1000 {
		n := fmt.Sprintf("w%d.example.test.", i*10)
		rr, _ := mdns.NewRR(n + " 300 IN A 127.0.11.1")
		s.rrs[n] = []mdns.RR{rr}
	}
	words := make([]string, 10_000)
	for i := range words {
		words[i] = fmt.Sprintf("w%d", i)
	}
	b.ResetTimer()
	for b.Loop() {
		r := &dnsdisc.Resolver{Server: addr, Limiter: dnsdisc.NewLimiter(100_000, 100)}
		var found int
		var mu sync.Mutex
		n, err := dnsdisc.Brute(context.Background(), r, "example.test", words, dnsdisc.BruteOptions{Concurrency: 64}, func(dnsdisc.Found) {
			mu.Lock()
			found++
			mu.Unlock()
		})
		if err != nil || n != len(words) || found != 1000 {
			b.Fatalf("asked %d, found %d: %v", n, found, err)
		}
	}
	b.ReportMetric(float64(len(words)*b.N)/b.Elapsed().Seconds(), "names/s")
}
