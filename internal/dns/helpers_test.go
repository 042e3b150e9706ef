package dns

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// fakeUpstream is a miekg/dns server on 127.0.0.1 (UDP and TCP, one port)
// answering with handler and counting the queries it got.
type fakeUpstream struct {
	addr    string
	queries atomic.Int64
	udp     *mdns.Server
	tcp     *mdns.Server
}

func startUpstream(t *testing.T, handler func(w mdns.ResponseWriter, r *mdns.Msg)) *fakeUpstream {
	t.Helper()
	u := &fakeUpstream{}
	h := mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		u.queries.Add(1)
		handler(w, r)
	})
	for try := 0; ; try++ {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err != nil {
			pc.Close()
			if try < 10 {
				continue
			}
			t.Fatal(err)
		}
		u.addr = pc.LocalAddr().String()
		u.udp = &mdns.Server{PacketConn: pc, Handler: h}
		u.tcp = &mdns.Server{Listener: ln, Handler: h}
		break
	}
	var wg sync.WaitGroup
	wg.Add(2)
	u.udp.NotifyStartedFunc = wg.Done
	u.tcp.NotifyStartedFunc = wg.Done
	go func() { _ = u.udp.ActivateAndServe() }()
	go func() { _ = u.tcp.ActivateAndServe() }()
	wg.Wait()
	t.Cleanup(func() {
		_ = u.udp.Shutdown()
		_ = u.tcp.Shutdown()
	})
	return u
}

// zone answers from a fixed table: name → records; a name with no entry is
// NXDOMAIN with a SOA (TTL 60, minimum 30).
func zone(records map[string][]string) func(w mdns.ResponseWriter, r *mdns.Msg) {
	return func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := new(mdns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		rrs, ok := records[mdns.CanonicalName(q.Name)]
		if !ok {
			m.Rcode = mdns.RcodeNameError
		}
		for _, s := range rrs {
			rr, err := mdns.NewRR(s)
			if err != nil {
				panic(err)
			}
			if rr.Header().Rrtype == q.Qtype || rr.Header().Rrtype == mdns.TypeCNAME {
				rr.Header().Name = q.Name
				m.Answer = append(m.Answer, rr)
			}
		}
		if len(m.Answer) == 0 {
			soa, _ := mdns.NewRR("test. 60 IN SOA ns.test. host.test. 1 3600 600 86400 30")
			m.Ns = append(m.Ns, soa)
		}
		_ = w.WriteMsg(m)
	}
}

// fakeClock is a settable clock for TTL tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// startServer starts a Server on 127.0.0.1:0 forwarding to upstreams.
func startServer(t *testing.T, cfg Config, p *Policy) (*Server, *fakeClock) {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.UpstreamTimeout == 0 {
		cfg.UpstreamTimeout = 2 * time.Second // generous: the test machine may be loaded
	}
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	clk := &fakeClock{t: time.Now()}
	s.clock = clk.now
	if p != nil {
		s.SetPolicy(p)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, clk
}

// ask sends one query over net ("udp", "tcp") and returns the reply.
func ask(t *testing.T, net string, addr netip.AddrPort, name string, qtype uint16, edns bool) *mdns.Msg {
	t.Helper()
	m := new(mdns.Msg)
	m.SetQuestion(name, qtype)
	if edns {
		m.SetEdns0(1232, false)
	}
	c := &mdns.Client{Net: net, Timeout: 3 * time.Second, UDPSize: 65535}
	r, _, err := c.Exchange(m, addr.String())
	if err != nil {
		t.Fatalf("%s %s %s: %v", net, name, mdns.TypeToString[qtype], err)
	}
	return r
}

type reportSink struct {
	mu  sync.Mutex
	got []string
}

func (r *reportSink) Blocked(client netip.Addr, qname, list string, at time.Time) {
	r.mu.Lock()
	r.got = append(r.got, client.String()+" "+qname+" "+list)
	r.mu.Unlock()
}

func (r *reportSink) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		r.mu.Lock()
		got := append([]string(nil), r.got...)
		r.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}
