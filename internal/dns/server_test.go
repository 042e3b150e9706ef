package dns

import (
	"encoding/json"
	"net/http/httptest"
	"net/netip"
	"slices"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

func TestForwardCacheAndTTL(t *testing.T) {
	up := startUpstream(t, zone(map[string][]string{
		"www.ok.test.": {"x 300 IN A 192.0.2.10", "x 100 IN A 192.0.2.11"},
	}))
	s, clk := startServer(t, Config{Upstreams: []string{up.addr}}, nil)
	udp, tcp, _ := s.Addr()
	if !udp.IsValid() || udp.Port() != tcp.Port() {
		t.Fatalf("addresses %v %v", udp, tcp)
	}
	r := ask(t, "udp", udp, "WWW.ok.test.", mdns.TypeA, false)
	if r.Rcode != mdns.RcodeSuccess || len(r.Answer) != 2 || r.Question[0].Name != "WWW.ok.test." {
		t.Fatalf("reply %v", r)
	}
	clk.add(40 * time.Second)
	r = ask(t, "udp", udp, "www.ok.test.", mdns.TypeA, true)
	if up.queries.Load() != 1 {
		t.Fatalf("upstream asked %d times, want 1 (cached)", up.queries.Load())
	}
	var ttls []uint32
	for _, rr := range r.Answer {
		ttls = append(ttls, rr.Header().Ttl)
	}
	slices.Sort(ttls)
	if !slices.Equal(ttls, []uint32{60, 260}) {
		t.Fatalf("TTLs after 40 s = %v, want [60 260]", ttls)
	}
	if r.IsEdns0() == nil || r.Question[0].Name != "www.ok.test." {
		t.Fatalf("no OPT or wrong question: %v", r)
	}
	// The smallest TTL (100) decides when the answer leaves the cache.
	clk.add(61 * time.Second)
	ask(t, "tcp", tcp, "www.ok.test.", mdns.TypeA, false)
	if up.queries.Load() != 2 {
		t.Fatalf("upstream asked %d times, want 2 (expired)", up.queries.Load())
	}
}

func TestNegativeCaching(t *testing.T) {
	up := startUpstream(t, zone(map[string][]string{"a.test.": {"x 300 IN A 192.0.2.1"}}))
	s, clk := startServer(t, Config{Upstreams: []string{up.addr}}, nil)
	udp, _, _ := s.Addr()
	r := ask(t, "udp", udp, "nope.test.", mdns.TypeA, false)
	if r.Rcode != mdns.RcodeNameError || len(r.Ns) != 1 {
		t.Fatalf("reply %v", r)
	}
	// NODATA: the name exists, not the type.
	r = ask(t, "udp", udp, "a.test.", mdns.TypeAAAA, false)
	if r.Rcode != mdns.RcodeSuccess || len(r.Answer) != 0 || len(r.Ns) != 1 {
		t.Fatalf("reply %v", r)
	}
	clk.add(10 * time.Second)
	r = ask(t, "udp", udp, "nope.test.", mdns.TypeA, false)
	ask(t, "udp", udp, "a.test.", mdns.TypeAAAA, false)
	if up.queries.Load() != 2 {
		t.Fatalf("upstream asked %d times, want 2", up.queries.Load())
	}
	// SOA TTL 60, minimum 30 (RFC 2308: the smaller), less 10 s.
	if got := r.Ns[0].Header().Ttl; got != 20 {
		t.Fatalf("negative TTL %d, want 20", got)
	}
	clk.add(21 * time.Second)
	ask(t, "udp", udp, "nope.test.", mdns.TypeA, false)
	if up.queries.Load() != 3 {
		t.Fatalf("upstream asked %d times, want 3", up.queries.Load())
	}
}

func TestNegativeWithoutSOANotCached(t *testing.T) {
	up := startUpstream(t, func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := new(mdns.Msg)
		m.SetRcode(r, mdns.RcodeNameError)
		_ = w.WriteMsg(m)
	})
	s, _ := startServer(t, Config{Upstreams: []string{up.addr}}, nil)
	udp, _, _ := s.Addr()
	for i := 0; i < 2; i++ {
		if r := ask(t, "udp", udp, "x.test.", mdns.TypeA, false); r.Rcode != mdns.RcodeNameError {
			t.Fatalf("rcode %d", r.Rcode)
		}
	}
	if up.queries.Load() != 2 {
		t.Fatalf("upstream asked %d times, want 2", up.queries.Load())
	}
}

func TestServfailNextUpstreamAndShortCache(t *testing.T) {
	bad := startUpstream(t, func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := new(mdns.Msg)
		m.SetRcode(r, mdns.RcodeServerFailure)
		_ = w.WriteMsg(m)
	})
	good := startUpstream(t, zone(map[string][]string{"a.test.": {"x 300 IN A 192.0.2.1"}}))
	s, _ := startServer(t, Config{Upstreams: []string{bad.addr, good.addr}}, nil)
	udp, _, _ := s.Addr()
	if r := ask(t, "udp", udp, "a.test.", mdns.TypeA, false); len(r.Answer) != 1 {
		t.Fatalf("reply %v", r)
	}
	if bad.queries.Load() != 1 || good.queries.Load() != 1 {
		t.Fatalf("bad %d good %d", bad.queries.Load(), good.queries.Load())
	}
	h := s.Health()
	if h.Upstreams[0].OK || !h.Upstreams[1].OK || h.Status == "failing" {
		t.Fatalf("health %+v", h)
	}

	s2, clk := startServer(t, Config{Upstreams: []string{bad.addr}}, nil)
	udp2, _, _ := s2.Addr()
	if r := ask(t, "udp", udp2, "b.test.", mdns.TypeA, false); r.Rcode != mdns.RcodeServerFailure {
		t.Fatalf("rcode %d", r.Rcode)
	}
	ask(t, "udp", udp2, "b.test.", mdns.TypeA, false)
	if bad.queries.Load() != 2 {
		t.Fatalf("SERVFAIL not kept briefly: bad asked %d", bad.queries.Load())
	}
	clk.add(ServfailTTL + time.Second)
	ask(t, "udp", udp2, "b.test.", mdns.TypeA, false)
	if bad.queries.Load() != 3 {
		t.Fatalf("SERVFAIL kept too long: bad asked %d", bad.queries.Load())
	}
	if s2.Health().Status != "failing" {
		t.Fatalf("health %+v", s2.Health())
	}
	rec := httptest.NewRecorder()
	s2.HealthHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 503 {
		t.Fatalf("healthz %d", rec.Code)
	}
}

func blockPolicy(t *testing.T, version int64) *Policy {
	t.Helper()
	p, err := Compile(&PolicySpec{
		Version: version,
		Lists: []List{
			{Name: "malware", Action: ActionNXDomain, Names: []string{"evil.test"}},
			{Name: "adult", Action: ActionNoData, Names: []string{"nodata.test"}},
			{Name: "phish", Action: ActionRedirect, Names: []string{"phish.test", "v4only.test"}},
		},
		Allow:        []string{"fine.evil.test"},
		RedirectA:    netip.MustParseAddr("192.0.2.99"),
		RedirectAAAA: netip.MustParseAddr("2001:db8::99"),
		RedirectTTL:  120,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBlockActions(t *testing.T) {
	up := startUpstream(t, zone(map[string][]string{
		"fine.evil.test.": {"x 300 IN A 192.0.2.5"},
		"ok.test.":        {"x 300 IN A 192.0.2.6"},
	}))
	sink := &reportSink{}
	s, _ := startServer(t, Config{Upstreams: []string{up.addr}, Reporter: sink, QueryLogSample: 1}, blockPolicy(t, 3))
	udp, tcp, _ := s.Addr()

	r := ask(t, "udp", udp, "a.b.EVIL.test.", mdns.TypeA, true)
	if r.Rcode != mdns.RcodeNameError || len(r.Answer) != 0 || len(r.Ns) != 1 || !r.Authoritative {
		t.Fatalf("nxdomain reply %v", r)
	}
	soa := r.Ns[0].(*mdns.SOA)
	if soa.Hdr.Name != "EVIL.test." || soa.Minttl != 120 || soa.Hdr.Ttl != 120 || soa.Serial != 3 || soa.Mbox != "blocked.rampart.invalid." {
		t.Fatalf("SOA %v", soa)
	}
	r = ask(t, "tcp", tcp, "x.nodata.test.", mdns.TypeA, false)
	if r.Rcode != mdns.RcodeSuccess || len(r.Answer) != 0 || r.Ns[0].Header().Name != "nodata.test." {
		t.Fatalf("nodata reply %v", r)
	}
	r = ask(t, "udp", udp, "www.phish.test.", mdns.TypeA, false)
	if len(r.Answer) != 1 || r.Answer[0].(*mdns.A).A.String() != "192.0.2.99" || r.Answer[0].Header().Ttl != 120 {
		t.Fatalf("redirect A reply %v", r)
	}
	r = ask(t, "udp", udp, "phish.test.", mdns.TypeAAAA, false)
	if len(r.Answer) != 1 || r.Answer[0].(*mdns.AAAA).AAAA.String() != "2001:db8::99" {
		t.Fatalf("redirect AAAA reply %v", r)
	}
	r = ask(t, "udp", udp, "phish.test.", mdns.TypeMX, false)
	if r.Rcode != mdns.RcodeSuccess || len(r.Answer) != 0 || len(r.Ns) != 1 {
		t.Fatalf("redirect MX reply %v", r)
	}
	// Allowlisted below a blocked name: forwarded.
	r = ask(t, "udp", udp, "fine.evil.test.", mdns.TypeA, false)
	if r.Rcode != mdns.RcodeSuccess || len(r.Answer) != 1 {
		t.Fatalf("allowed reply %v", r)
	}
	ask(t, "udp", udp, "ok.test.", mdns.TypeA, false)
	if up.queries.Load() != 2 {
		t.Fatalf("upstream asked %d times, want 2 (blocked names never forwarded)", up.queries.Load())
	}
	got := sink.wait(t, 5)
	want := []string{"127.0.0.1 a.b.evil.test malware", "127.0.0.1 x.nodata.test adult",
		"127.0.0.1 www.phish.test phish", "127.0.0.1 phish.test phish", "127.0.0.1 phish.test phish"}
	if !slices.Equal(got, want) {
		t.Fatalf("reports %q, want %q", got, want)
	}
	log := s.RecentQueries()
	if len(log) != 7 || !log[0].Blocked || log[0].List != "malware" || log[0].Rcode != "NXDOMAIN" || log[5].Blocked {
		t.Fatalf("query log %+v", log)
	}
	if n := s.m.queries[typeIndex(mdns.TypeA)][mdns.RcodeNameError].Load(); n != 1 {
		t.Fatalf("A NXDOMAIN counted %v", n)
	}
}

func TestSetPolicyLiveSwap(t *testing.T) {
	up := startUpstream(t, zone(map[string][]string{"evil.test.": {"x 300 IN A 192.0.2.7"}}))
	s, _ := startServer(t, Config{Upstreams: []string{up.addr}}, blockPolicy(t, 1))
	udp, _, _ := s.Addr()
	if r := ask(t, "udp", udp, "evil.test.", mdns.TypeA, false); r.Rcode != mdns.RcodeNameError {
		t.Fatalf("not blocked: %v", r)
	}
	empty, _ := Compile(&PolicySpec{Version: 2})
	s.SetPolicy(empty)
	if r := ask(t, "udp", udp, "evil.test.", mdns.TypeA, false); r.Rcode != mdns.RcodeSuccess || len(r.Answer) != 1 {
		t.Fatalf("still blocked after swap: %v", r)
	}
	// Cached now; blocking again must win over the cache.
	s.SetPolicy(blockPolicy(t, 3))
	if r := ask(t, "udp", udp, "evil.test.", mdns.TypeA, false); r.Rcode != mdns.RcodeNameError {
		t.Fatalf("cached answer beat the policy: %v", r)
	}
	if h := s.Health(); h.PolicyVersion != 3 || h.PolicyNames != 4 {
		t.Fatalf("health %+v", h)
	}
}

func TestCNAMEToBlockedName(t *testing.T) {
	up := startUpstream(t, func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := new(mdns.Msg)
		m.SetReply(r)
		c, _ := mdns.NewRR(r.Question[0].Name + " 300 IN CNAME cdn.evil.test.")
		a, _ := mdns.NewRR("cdn.evil.test. 300 IN A 192.0.2.66")
		m.Answer = append(m.Answer, c, a)
		_ = w.WriteMsg(m)
	})
	sink := &reportSink{}
	s, _ := startServer(t, Config{Upstreams: []string{up.addr}, Reporter: sink}, blockPolicy(t, 1))
	udp, _, _ := s.Addr()
	for i := 0; i < 2; i++ { // forwarded, then cached
		if r := ask(t, "udp", udp, "innocent.test.", mdns.TypeA, false); r.Rcode != mdns.RcodeNameError || r.Ns[0].Header().Name != "innocent.test." {
			t.Fatalf("CNAME to a blocked name answered: %v", r)
		}
	}
	if got := sink.wait(t, 2); len(got) != 2 || got[0] != "127.0.0.1 cdn.evil.test malware" {
		t.Fatalf("reports %q", got)
	}
}

func TestTruncation(t *testing.T) {
	big := make([]string, 40)
	for i := range big {
		big[i] = "x 300 IN A 192.0.2." + itoa(i+10)
	}
	up := startUpstream(t, func(w mdns.ResponseWriter, r *mdns.Msg) {
		if w.LocalAddr().Network() == "udp" {
			m := new(mdns.Msg)
			m.SetReply(r)
			m.Truncated = true
			_ = w.WriteMsg(m)
			return
		}
		zone(map[string][]string{"big.test.": big})(w, r)
	})
	s, _ := startServer(t, Config{Upstreams: []string{up.addr}}, nil)
	udp, tcp, _ := s.Addr()
	// 40 A records do not fit 512 bytes: TC to a client without EDNS.
	r := ask(t, "udp", udp, "big.test.", mdns.TypeA, false)
	if !r.Truncated || len(r.Answer) != 0 {
		t.Fatalf("want TC, got %v", r)
	}
	r = ask(t, "udp", udp, "big.test.", mdns.TypeA, true)
	if r.Truncated || len(r.Answer) != 40 {
		t.Fatalf("EDNS reply: TC %v, %d answers", r.Truncated, len(r.Answer))
	}
	r = ask(t, "tcp", tcp, "big.test.", mdns.TypeA, false)
	if r.Truncated || len(r.Answer) != 40 {
		t.Fatalf("TCP reply: TC %v, %d answers", r.Truncated, len(r.Answer))
	}
	if up.queries.Load() != 2 { // UDP (truncated), then TCP; then cached
		t.Fatalf("upstream asked %d times", up.queries.Load())
	}
}

func TestHealthAndMetrics(t *testing.T) {
	up := startUpstream(t, zone(nil))
	s, _ := startServer(t, Config{Upstreams: []string{up.addr}}, blockPolicy(t, 9))
	udp, _, _ := s.Addr()
	ask(t, "udp", udp, "evil.test.", mdns.TypeA, false)
	ask(t, "udp", udp, "nope.test.", mdns.TypeA, false)
	s.SetFeedState(false, 10, time.Unix(1700000000, 0))
	rec := httptest.NewRecorder()
	s.HealthHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	var h Health
	if err := json.Unmarshal(rec.Body.Bytes(), &h); err != nil || rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if h.Status != "degraded" || h.PolicyVersion != 9 || h.PolicyNames != 4 || !h.Feed.Stale || h.Feed.Connected || h.Feed.Version != 10 {
		t.Fatalf("health %+v", h)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s.Metrics())
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				key += " " + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case m.Counter != nil:
				got[key] = m.Counter.GetValue()
			case m.Gauge != nil:
				got[key] = m.Gauge.GetValue()
			case m.Histogram != nil:
				got[key] = float64(m.Histogram.GetSampleCount())
			}
		}
	}
	for key, want := range map[string]float64{
		"rampart_dns_blocked_total list=malware":                    1,
		"rampart_dns_blocked_total list=phish":                      0,
		"rampart_dns_feed_connected":                                0,
		"rampart_dns_feed_stale":                                    1,
		"rampart_dns_policy_version":                                9,
		"rampart_dns_policy_names kind=blocked":                     4,
		"rampart_dns_queries_total rcode=NXDOMAIN type=A":           2,
		"rampart_dns_cache_misses_total":                            1,
		"rampart_dns_upstream_duration_seconds upstream=" + up.addr: 1,
	} {
		if got[key] != want {
			t.Errorf("%s = %v, want %v", key, got[key], want)
		}
	}
}

func TestForwardedAnswerNotAuthoritative(t *testing.T) {
	up := startUpstream(t, func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := new(mdns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		m.Answer = []mdns.RR{rr(r.Question[0].Name + " 300 IN A 192.0.2.1")}
		_ = w.WriteMsg(m)
	})
	s, _ := startServer(t, Config{Upstreams: []string{up.addr}}, nil)
	udp, _, _ := s.Addr()
	for i := 0; i < 2; i++ {
		r := ask(t, "udp", udp, "a.test.", mdns.TypeA, false)
		if r.Authoritative || !r.RecursionAvailable || !r.RecursionDesired || len(r.Answer) != 1 {
			t.Fatalf("flags or answer: %v", r)
		}
	}
}
