package dns

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// rawUpstream answers each UDP query with the packets replies returns.
func rawUpstream(t *testing.T, replies func(q *mdns.Msg) []*mdns.Msg) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := new(mdns.Msg)
			if q.Unpack(buf[:n]) != nil {
				continue
			}
			for _, m := range replies(q) {
				b, err := m.Pack()
				if err != nil {
					panic(err)
				}
				_, _ = pc.WriteTo(b, from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

func rr(s string) mdns.RR {
	r, err := mdns.NewRR(s)
	if err != nil {
		panic(err)
	}
	return r
}

func TestHostileUpstream(t *testing.T) {
	addr := rawUpstream(t, func(q *mdns.Msg) []*mdns.Msg {
		name := q.Question[0].Name
		wrongID := new(mdns.Msg)
		wrongID.SetReply(q)
		wrongID.Id = q.Id + 1
		wrongID.Answer = []mdns.RR{rr(name + " 300 IN A 6.6.6.1")}
		wrongQ := new(mdns.Msg)
		wrongQ.SetReply(q)
		wrongQ.Question[0].Name = "other.test."
		wrongQ.Answer = []mdns.RR{rr("other.test. 300 IN A 6.6.6.2")}
		good := new(mdns.Msg)
		good.SetReply(q)
		good.Answer = []mdns.RR{rr(name + " 300 IN A 192.0.2.1"), rr("bank.test. 300 IN A 6.6.6.3")}
		good.Ns = []mdns.RR{rr("bank.test. 300 IN NS ns.evil.test."), rr("test. 300 IN NS ns.test.")}
		good.Extra = []mdns.RR{rr("ns.test. 300 IN A 6.6.6.4")}
		if name == "bank.test." {
			good.Answer = []mdns.RR{rr("bank.test. 300 IN A 192.0.2.2")}
			good.Ns, good.Extra = nil, nil
		}
		return []*mdns.Msg{wrongID, wrongQ, good}
	})
	s, _ := startServer(t, Config{Upstreams: []string{addr}}, nil)
	udp, _, _ := s.Addr()
	r := ask(t, "udp", udp, "www.test.", mdns.TypeA, false)
	if len(r.Answer) != 1 || r.Answer[0].(*mdns.A).A.String() != "192.0.2.1" {
		t.Fatalf("answer %v", r.Answer)
	}
	if len(r.Ns) != 1 || r.Ns[0].Header().Name != "test." || len(r.Extra) != 0 {
		t.Fatalf("authority %v additional %v", r.Ns, r.Extra)
	}
	// The poisoned bank.test record was not cached: asked upstream.
	r = ask(t, "udp", udp, "bank.test.", mdns.TypeA, false)
	if len(r.Answer) != 1 || r.Answer[0].(*mdns.A).A.String() != "192.0.2.2" {
		t.Fatalf("bank.test %v", r.Answer)
	}
}

func TestOversizedAndSilentUpstream(t *testing.T) {
	huge := rawUpstream(t, func(q *mdns.Msg) []*mdns.Msg {
		m := new(mdns.Msg)
		m.SetReply(q)
		for i := 0; i < 300; i++ { // ~5 KB, over the 4096-byte read cap
			m.Answer = append(m.Answer, rr(q.Question[0].Name+" 300 IN A 192.0.2.1"))
		}
		return []*mdns.Msg{m}
	})
	silent := rawUpstream(t, func(q *mdns.Msg) []*mdns.Msg { return nil })
	s, _ := startServer(t, Config{Upstreams: []string{huge, silent}, UpstreamTimeout: 200 * time.Millisecond}, nil)
	udp, _, _ := s.Addr()
	start := time.Now()
	r := ask(t, "udp", udp, "x.test.", mdns.TypeA, false)
	if r.Rcode != mdns.RcodeServerFailure {
		t.Fatalf("rcode %s", mdns.RcodeToString[r.Rcode])
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("took %v: the per-upstream deadline did not hold", d)
	}
}

func TestMalformedQueries(t *testing.T) {
	up := startUpstream(t, zone(nil))
	s, _ := startServer(t, Config{Upstreams: []string{up.addr}}, blockPolicy(t, 1))
	udp, _, _ := s.Addr()
	c, err := net.Dial("udp", udp.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct {
		pkt   []byte
		rcode int // -1: no answer
	}{
		{[]byte{1, 2, 3}, -1},
		{[]byte{0, 1, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0}, -1},                  // a response
		{[]byte{0, 1, 0x28, 0, 0, 1, 0, 0, 0, 0, 0, 0}, rcodeNotImp},         // UPDATE
		{[]byte{0, 1, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0}, rcodeFormErr},           // two questions
		{[]byte{0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12}, rcodeFormErr}, // pointer loop
		{[]byte{0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 4, 'e', 'v'}, rcodeFormErr},
		{[]byte{0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 3}, rcodeRefused}, // class CH
	} {
		if _, err := c.Write(tc.pkt); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		buf := make([]byte, 512)
		n, err := c.Read(buf)
		if tc.rcode < 0 {
			if err == nil {
				t.Errorf("%x: answered %x", tc.pkt, buf[:n])
			}
			continue
		}
		if err != nil || n < 12 || int(buf[3]&0xf) != tc.rcode || buf[0] != 0 || buf[1] != 1 {
			t.Errorf("%x: got %x %v, want rcode %d", tc.pkt, buf[:max(n, 0)], err, tc.rcode)
		}
	}
	// EDNS version 1: BADVERS.
	m := new(mdns.Msg)
	m.SetQuestion("evil.test.", mdns.TypeA)
	m.SetEdns0(1232, false)
	m.IsEdns0().SetVersion(1)
	r, _, err := (&mdns.Client{}).Exchange(m, udp.String())
	if err != nil || r.Rcode != mdns.RcodeBadVers {
		t.Fatalf("BADVERS: %v %v", r, err)
	}
}

func TestDNSOverTLS(t *testing.T) {
	up := startUpstream(t, zone(map[string][]string{"ok.test.": {"x 300 IN A 192.0.2.8"}}))
	cert, pool := selfSigned(t)
	s, _ := startServer(t, Config{
		Listen: "127.0.0.1:0", TLSListen: "127.0.0.1:0", Upstreams: []string{up.addr},
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
	}, blockPolicy(t, 1))
	_, _, dot := s.Addr()
	if !dot.IsValid() {
		t.Fatal("no DoT address")
	}
	c := &mdns.Client{Net: "tcp-tls", Timeout: 3 * time.Second,
		TLSConfig: &tls.Config{RootCAs: pool, ServerName: "dns.rampart.test"}}
	conn, err := c.Dial(dot.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, tc := range []struct {
		name  string
		rcode int
	}{{"ok.test.", mdns.RcodeSuccess}, {"evil.test.", mdns.RcodeNameError}, {"ok.test.", mdns.RcodeSuccess}} {
		m := new(mdns.Msg)
		m.SetQuestion(tc.name, mdns.TypeA)
		r, _, err := c.ExchangeWithConn(m, conn) // several queries on one connection
		if err != nil || r.Rcode != tc.rcode {
			t.Fatalf("%s: %v %v", tc.name, r, err)
		}
	}
	if _, err := NewServer(Config{TLSListen: "127.0.0.1:0", Upstreams: []string{up.addr}}); err == nil {
		t.Fatal("TLSListen without a certificate accepted")
	}
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "dns.rampart.test"},
		DNSNames: []string{"dns.rampart.test"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func TestBadVersCounted(t *testing.T) {
	up := startUpstream(t, zone(nil))
	s, _ := startServer(t, Config{Upstreams: []string{up.addr}}, nil)
	udp, _, _ := s.Addr()
	m := new(mdns.Msg)
	m.SetQuestion("x.test.", mdns.TypeA)
	m.SetEdns0(1232, false)
	m.IsEdns0().SetVersion(2)
	if r, _, err := (&mdns.Client{}).Exchange(m, udp.String()); err != nil || r.Rcode != mdns.RcodeBadVers {
		t.Fatalf("%v %v", r, err)
	}
	if n := s.m.queries[typeIndex(mdns.TypeA)][rcodeBadVers].Load(); n != 1 || rcodeName(rcodeBadVers) != "BADVERS" {
		t.Fatalf("BADVERS counted %d", n)
	}
}
