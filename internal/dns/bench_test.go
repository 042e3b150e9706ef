package dns

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

func benchNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("h%07dx.evil%d.com", i, i%1000)
	}
	return out
}

// BenchmarkCompile1M compiles a policy of 1,000,000 names.
func BenchmarkCompile1M(b *testing.B) {
	names := benchNames(1_000_000)
	b.ReportAllocs()
	for b.Loop() {
		p, err := Compile(&PolicySpec{Lists: []List{{Name: "l", Names: names}}})
		if err != nil || p.Names() != len(names) {
			b.Fatal(err)
		}
		b.ReportMetric(float64(p.SizeBytes())/float64(len(names)), "bytes/name")
	}
}

// BenchmarkLookup looks names up in a 1M-name policy, half listed.
func BenchmarkLookup(b *testing.B) {
	names := benchNames(1_000_000)
	p, _ := Compile(&PolicySpec{Lists: []List{{Name: "l", Names: names}}})
	qs := make([]string, 1<<16)
	for i := range qs {
		if i%2 == 0 {
			qs[i] = "www." + names[(i*7919)%len(names)] + "."
		} else {
			qs[i] = fmt.Sprintf("host%d.allowed.example.vn.", i)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		lookup(p, qs[i&(len(qs)-1)])
		i++
	}
}

// BenchmarkAnswerLocal is the UDP hot path without sockets: half the
// queries blocked in a 1M-name policy, half answered from the cache.
func BenchmarkAnswerLocal(b *testing.B) {
	names := benchNames(1_000_000)
	p, _ := Compile(&PolicySpec{Lists: []List{{Name: "l", Names: names}}})
	s, err := NewServer(Config{Listen: "127.0.0.1:0", Upstreams: []string{"127.0.0.1:1"}, Reporter: nopReporter{}})
	if err != nil {
		b.Fatal(err)
	}
	s.SetPolicy(p)
	go func() {
		for range s.reports {
		}
	}()
	pkts := make([][]byte, 1<<12)
	for i := range pkts {
		m := new(mdns.Msg)
		if i%2 == 0 {
			m.SetQuestion(names[(i*7919)%len(names)]+".", mdns.TypeA)
		} else {
			name := fmt.Sprintf("host%d.allowed.example.vn.", i)
			m.SetQuestion(name, mdns.TypeA)
			up := new(mdns.Msg)
			up.SetReply(m)
			up.Answer = []mdns.RR{rr(name + " 3600 IN A 10.0.0.1")}
			wire, _ := up.Pack()
			var q query
			qb, _ := m.Pack()
			_ = q.parse(qb)
			e, err := s.entryFrom(wire, &q, string(q.key), time.Now())
			if err != nil {
				b.Fatal(err)
			}
			s.cache.put(e)
		}
		pkts[i], _ = m.Pack()
	}
	w := &worker{}
	client := netip.MustParseAddr("127.0.0.1")
	b.ReportAllocs()
	i := 0
	now := time.Now()
	for b.Loop() {
		reply, fwd := s.answerLocal(w, pkts[i&(len(pkts)-1)], client, overUDP, now)
		if fwd || reply == nil {
			b.Fatal("not answered locally")
		}
		i++
	}
}

type nopReporter struct{}

func (nopReporter) Blocked(netip.Addr, string, string, time.Time) {}
