package rpz_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/rampart-cert/rampart/internal/blocklist"
	"github.com/rampart-cert/rampart/internal/dns/rpz"
	"github.com/rampart-cert/rampart/internal/intel"
)

// source is a Source whose list the test sets.
type source struct {
	mu sync.Mutex
	l  *blocklist.List
}

func (s *source) List(context.Context) (*blocklist.List, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.l, nil
}

// set builds the list of the indicators (no guard).
func (s *source) set(t testing.TB, in []intel.Indicator) {
	t.Helper()
	l, review := blocklist.Build(in, nil)
	if len(review) > 0 {
		t.Fatalf("indicators held back: %+v", review)
	}
	s.mu.Lock()
	s.l = l
	s.mu.Unlock()
}

// ind is an indicator seen an hour ago.
func ind(kind intel.Kind, value string, confidence int) intel.Indicator {
	seen := time.Now().Add(-time.Hour)
	return intel.Indicator{Kind: kind, Value: value, TLP: intel.TLPClear, Confidence: confidence,
		Category: intel.CategoryMalware, FirstSeen: seen, LastSeen: seen}
}

// domains are domain indicators of confidence 80.
func domains(names ...string) []intel.Indicator {
	var out []intel.Indicator
	for _, n := range names {
		out = append(out, ind(intel.KindDomain, n, 80))
	}
	return out
}

var (
	keyA = &rpz.Key{Name: "hanoi.rampart.", Secret: "c2VjcmV0LWtleS1vZi1oYW5vaS0wMTIzNDU2Nzg5YWI="}
	keyB = &rpz.Key{Name: "hue.rampart.", Secret: "c2VjcmV0LWtleS1vZi1odWUtLTAxMjM0NTY3ODlhYmM="}
)

// tsigMap is the client's secrets for k.
func tsigMap(k *rpz.Key) map[string]string { return map[string]string{k.Name: k.Secret} }

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// listenPair listens on TCP and UDP on one port of addr ("127.0.0.1").
func listenPair(t testing.TB, host string) (net.Listener, net.PacketConn) {
	t.Helper()
	for range 20 {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			t.Fatal(err)
		}
		pc, err := net.ListenPacket("udp", ln.Addr().String())
		if err == nil {
			return ln, pc
		}
		ln.Close()
	}
	t.Fatal("no port free for both TCP and UDP")
	return nil, nil
}

// start runs a server for the specs over src and returns it with its
// address; the first Update has run.
func start(t testing.TB, src rpz.Source, specs []rpz.ZoneSpec, opt func(*rpz.Options)) (*rpz.Server, string) {
	t.Helper()
	o := rpz.Options{Source: src, Zones: func(context.Context) ([]rpz.ZoneSpec, error) { return specs, nil }, Logger: quiet()}
	if opt != nil {
		opt(&o)
	}
	s, err := rpz.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Update(ctx, true); err != nil {
		t.Fatal(err)
	}
	ln, pc := listenPair(t, "127.0.0.1")
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln, pc) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return s, ln.Addr().String()
}

// xfr transfers zone (AXFR, or IXFR from serial when ixfr) from addr,
// signed with k when k is not nil, and returns the records as text.
func xfr(addr, zone string, k *rpz.Key, ixfr bool, serial uint32) ([]dns.RR, error) {
	m := new(dns.Msg)
	if ixfr {
		m.SetIxfr(zone, serial, "localhost.", "hostmaster.localhost.")
	} else {
		m.SetAxfr(zone)
	}
	tr := &dns.Transfer{}
	if k != nil {
		m.SetTsig(k.Name, dns.HmacSHA256, 300, time.Now().Unix())
		tr.TsigSecret = tsigMap(k)
	}
	ch, err := tr.In(m, addr)
	if err != nil {
		return nil, err
	}
	var rrs []dns.RR
	for env := range ch {
		if env.Error != nil {
			return rrs, env.Error
		}
		rrs = append(rrs, env.RR...)
	}
	return rrs, nil
}

// texts are the records' owner and type, "evil.example.rpz.test. CNAME .";
// SOA as "SOA <serial>".
func texts(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		switch r := rr.(type) {
		case *dns.SOA:
			out = append(out, fmt.Sprintf("SOA %d", r.Serial))
		case *dns.CNAME:
			out = append(out, r.Hdr.Name+" CNAME "+r.Target)
		case *dns.NS:
			out = append(out, "NS "+r.Ns)
		default:
			out = append(out, rr.String())
		}
	}
	return out
}

// sorted is a sorted copy.
func sorted(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}

// zoneOf is the triggers of domains and ip owners under zone, as
// texts() writes them, sorted.
func zoneOf(zone string, doms []string, ips ...string) []string {
	var out []string
	for _, d := range doms {
		out = append(out, d+"."+zone+" CNAME .", "*."+d+"."+zone+" CNAME .")
	}
	for _, ip := range ips {
		out = append(out, ip+"."+zone+" CNAME .")
	}
	sort.Strings(out)
	return out
}

// triggers drops the SOA and NS lines of an AXFR's texts and sorts.
func triggers(lines []string) []string {
	var out []string
	for _, l := range lines {
		if !strings.HasPrefix(l, "SOA ") && !strings.HasPrefix(l, "NS ") {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

func prefixes(s ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range s {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}
