package dns

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// FuzzAnswerLocal feeds arbitrary packets to the query path (parser,
// policy, cache, local answers). Every reply must unpack, carry the
// query's ID and fit the transport.
func FuzzAnswerLocal(f *testing.F) {
	for _, q := range []struct {
		name string
		t    uint16
		edns bool
	}{{"evil.test.", mdns.TypeA, false}, {"A.B.Phish.Test.", mdns.TypeAAAA, true}, {"www.ok.test.", mdns.TypeA, true},
		{"nodata.test.", mdns.TypeMX, false}, {"x\\.y.evil.test.", mdns.TypeTXT, true}, {".", mdns.TypeNS, false}} {
		m := new(mdns.Msg)
		m.SetQuestion(q.name, q.t)
		if q.edns {
			m.SetEdns0(4096, true)
		}
		b, _ := m.Pack()
		f.Add(b)
	}
	f.Add([]byte{0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12})
	p, err := Compile(&PolicySpec{
		Lists: []List{{Name: "m", Action: ActionNXDomain, Names: []string{"evil.test"}},
			{Name: "n", Action: ActionNoData, Names: []string{"nodata.test"}},
			{Name: "p", Action: ActionRedirect, Names: []string{"phish.test"}}},
		RedirectA: netip.MustParseAddr("192.0.2.1"),
	})
	if err != nil {
		f.Fatal(err)
	}
	s, err := NewServer(Config{Listen: "127.0.0.1:0", Upstreams: []string{"127.0.0.1:1"}})
	if err != nil {
		f.Fatal(err)
	}
	s.SetPolicy(p)
	// A cached answer for www.ok.test A (DO set and not).
	for _, do := range []bool{false, true} {
		up := new(mdns.Msg)
		up.SetQuestion("www.ok.test.", mdns.TypeA)
		up.Response = true
		up.Answer = []mdns.RR{rr("www.ok.test. 300 IN A 192.0.2.9")}
		wire, _ := up.Pack()
		var q query
		qm := new(mdns.Msg)
		qm.SetQuestion("www.ok.test.", mdns.TypeA)
		qm.SetEdns0(4096, do)
		qb, _ := qm.Pack()
		if err := q.parse(qb); err != nil {
			f.Fatal(err)
		}
		e, err := s.entryFrom(wire, &q, string(q.key), time.Now())
		if err != nil {
			f.Fatal(err)
		}
		s.cache.put(e)
	}
	f.Fuzz(func(t *testing.T, pkt []byte) {
		for _, tr := range []transport{overUDP, overTCP} {
			w := &worker{}
			reply, forward := s.answerLocal(w, pkt, netip.MustParseAddr("127.0.0.1"), tr, time.Now())
			if forward || reply == nil {
				continue
			}
			if tr == overUDP && len(reply) > 4096 {
				t.Fatalf("UDP reply of %d bytes", len(reply))
			}
			var m mdns.Msg
			if err := m.Unpack(reply); err != nil {
				t.Fatalf("reply %x to %x does not unpack: %v", reply, pkt, err)
			}
			if m.Id != binary.BigEndian.Uint16(pkt) || !m.Response {
				t.Fatalf("reply %v to %x", &m, pkt)
			}
		}
	})
}

// FuzzUpstreamReply feeds arbitrary upstream replies to the checks and the
// cache entry builder; whatever is accepted must be answerable and unpack.
func FuzzUpstreamReply(f *testing.F) {
	qm := new(mdns.Msg)
	qm.SetQuestion("www.ok.test.", mdns.TypeA)
	qb, _ := qm.Pack()
	for _, answers := range [][]mdns.RR{
		{rr("www.ok.test. 300 IN A 192.0.2.9")},
		{rr("www.ok.test. 300 IN CNAME cdn.test."), rr("cdn.test. 60 IN A 192.0.2.1"), rr("bank.test. 60 IN A 6.6.6.6")},
		nil,
	} {
		up := new(mdns.Msg)
		up.SetReply(qm)
		up.Answer = answers
		if answers == nil {
			up.Rcode = mdns.RcodeNameError
			up.Ns = []mdns.RR{rr("test. 60 IN SOA ns.test. h.test. 1 2 3 4 30")}
		}
		b, _ := up.Pack()
		f.Add(b)
	}
	s, err := NewServer(Config{Listen: "127.0.0.1:0", Upstreams: []string{"127.0.0.1:1"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, reply []byte) {
		var q query
		if err := q.parse(qb); err != nil {
			t.Fatal(err)
		}
		if len(reply) >= 2 {
			copy(reply, qb[:2]) // the ID is checked first; let the rest through
		}
		if !matches(reply, qb, &q) {
			return
		}
		e, err := s.entryFrom(reply, &q, string(q.key), time.Now())
		if err != nil {
			return
		}
		w := &worker{}
		out := s.cachedReply(w.out, qb, &q, e, time.Now().Add(time.Minute), overUDP)
		var m mdns.Msg
		if err := m.Unpack(out); err != nil {
			t.Fatalf("cached reply %x from %x does not unpack: %v", out, reply, err)
		}
		if m.Id != qm.Id || len(m.Question) != 1 || m.Question[0].Name != "www.ok.test." {
			t.Fatalf("reply %v", &m)
		}
	})
}
