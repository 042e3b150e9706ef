package monitor

import (
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/rampart-cert/rampart/internal/finding"
)

// fakeResolver is a DNS server on loopback whose answers a test changes:
// records by "name TYPE" in presentation format, and names that fail.
type fakeResolver struct {
	mu      sync.Mutex
	records map[string][]string // "boyte.gov.vn. NS" → RR texts
	fail    map[string]bool     // "name TYPE" answered SERVFAIL
	gone    map[string]bool     // names answered NXDOMAIN
	asked   int
	addr    string
}

func startResolver(t *testing.T, ip string) *fakeResolver {
	t.Helper()
	f := &fakeResolver{records: map[string][]string{}, fail: map[string]bool{}, gone: map[string]bool{}}
	pc, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
	must(t, err)
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(f.serve)}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
	f.addr = pc.LocalAddr().String()
	return f
}

func (f *fakeResolver) set(name, typ string, rrs ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.records[dns.Fqdn(name)+" "+typ] = rrs
}

func (f *fakeResolver) serve(w dns.ResponseWriter, r *dns.Msg) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked++
	m := new(dns.Msg)
	m.SetReply(r)
	m.RecursionAvailable = true
	q := r.Question[0]
	key := strings.ToLower(q.Name) + " " + dns.TypeToString[q.Qtype]
	switch {
	case f.fail[key]:
		m.Rcode = dns.RcodeServerFailure
	case f.gone[strings.ToLower(q.Name)]:
		m.Rcode = dns.RcodeNameError
	default:
		for _, s := range f.records[key] {
			rr, err := dns.NewRR(q.Name + " 300 IN " + dns.TypeToString[q.Qtype] + " " + s)
			if err == nil {
				m.Answer = append(m.Answer, rr)
			}
		}
	}
	_ = w.WriteMsg(m)
}

func TestDNSChanges(t *testing.T) {
	w := newWorld(t)
	res := startResolver(t, "127.0.0.53")
	// The baseline: BYT's zone at the national registry's DNS, DVC's mail
	// at home.
	res.set("boyte.gov.vn", "NS", "dns1.vnnic.vn.", "dns2.vnnic.vn.")
	res.set("boyte.gov.vn", "MX", "10 mail.boyte.gov.vn.")
	res.set("boyte.gov.vn", "A", "203.0.113.10")
	res.set("boyte.gov.vn", "CAA", `0 issue "letsencrypt.org"`)
	res.set("dichvucong.gov.vn", "NS", "ns1.dichvucong.gov.vn.", "ns2.dichvucong.gov.vn.")
	res.set("dichvucong.gov.vn", "MX", "10 mx1.dichvucong.gov.vn.", "20 mx2.dichvucong.gov.vn.")
	res.set("dichvucong.gov.vn", "A", "203.0.113.20", "203.0.113.21")
	// The claim is never asked about.
	res.set("claimed.gov.vn", "NS", "ns.evil.example.")
	m := w.monitor(t, Config{DNS: DNSConfig{Resolver: res.addr, Rate: 1000}})
	ctx := context.Background()

	must(t, m.DNSRound(ctx))
	if fs := w.findings(t, "monitor."); len(fs) != 0 {
		t.Fatalf("the first round is the baseline, found %+v", fs)
	}
	st, err := loadState[dnsState](ctx, m, "dns")
	must(t, err)
	if len(st) != 10 {
		t.Fatalf("%d record sets snapshotted, want 5 types × 2 domains: %v", len(st), st)
	}

	// The hijack: BYT's zone delegated to a new provider; DVC's mail
	// moved to a foreign host; DVC's web addresses only rotate (one
	// stays), BYT's move; BYT's CAA loosened; a SERVFAIL on DVC's NS
	// changes nothing.
	w.advance(15 * time.Minute)
	res.set("boyte.gov.vn", "NS", "ns1.evil-dns.com.", "ns2.evil-dns.com.")
	res.set("dichvucong.gov.vn", "MX", "10 mail.attacker.net.")
	res.set("dichvucong.gov.vn", "A", "203.0.113.21", "203.0.113.22")
	res.set("boyte.gov.vn", "A", "198.51.100.9")
	res.set("boyte.gov.vn", "CAA")
	res.mu.Lock()
	res.fail["dichvucong.gov.vn. NS"] = true
	res.mu.Unlock()
	must(t, m.DNSRound(ctx))

	del := w.findings(t, "monitor.delegation-changed")
	if len(del) != 1 || del[0].OrgID != w.byt.ID || del[0].AssetID != w.assets["boyte.gov.vn"].ID || del[0].Severity != finding.High ||
		del[0].Target != "boyte.gov.vn" || del[0].Subject != "NS" {
		t.Fatalf("delegation findings: %+v", del)
	}
	ev := decode[DNSEvidence](t, del[0].Evidence)
	if !slices.Equal(ev.Before, []string{"dns1.vnnic.vn", "dns2.vnnic.vn"}) || !slices.Equal(ev.After, []string{"ns1.evil-dns.com", "ns2.evil-dns.com"}) ||
		!slices.Equal(ev.NewProviders, []string{"evil-dns.com"}) || ev.Resolver != res.addr {
		t.Fatalf("delegation evidence: %+v", ev)
	}
	mx := w.findings(t, "monitor.mx-changed")
	if len(mx) != 1 || mx[0].OrgID != w.dvc.ID || mx[0].AssetID != w.assets["dichvucong.gov.vn"].ID || mx[0].Severity != finding.High {
		t.Fatalf("mx findings: %+v", mx)
	}
	if ev := decode[DNSEvidence](t, mx[0].Evidence); !slices.Equal(ev.Foreign, []string{"mail.attacker.net"}) ||
		!slices.Equal(ev.Before, []string{"10 mx1.dichvucong.gov.vn", "20 mx2.dichvucong.gov.vn"}) {
		t.Fatalf("mx evidence: %+v", ev)
	}
	other := w.findings(t, "monitor.dns-changed")
	got := map[string]finding.Severity{}
	for _, f := range other {
		got[f.Target+" "+f.Subject] = f.Severity
		if f.OrgID != w.byt.ID {
			t.Errorf("dns change for the wrong organization: %+v", f)
		}
	}
	if len(got) != 2 || got["boyte.gov.vn A"] != finding.Info || got["boyte.gov.vn CAA"] != finding.Low {
		t.Fatalf("other changes: %v (a rotating pool and a SERVFAIL are no change)", got)
	}

	// The delegation is put back: it is no longer reported (its finding
	// expires); the foreign MX stays reported round after round.
	w.advance(15 * time.Minute)
	res.set("boyte.gov.vn", "NS", "dns2.vnnic.vn.", "dns1.vnnic.vn.")
	must(t, m.DNSRound(ctx))
	del2 := w.findings(t, "monitor.delegation-changed")
	mx2 := w.findings(t, "monitor.mx-changed")
	if !del2[0].LastSeen.Equal(del[0].LastSeen) {
		t.Errorf("a reverted delegation was reported again: %v → %v", del[0].LastSeen, del2[0].LastSeen)
	}
	if !mx2[0].LastSeen.After(mx[0].LastSeen) {
		t.Errorf("the foreign MX was not reported again: %v → %v", mx[0].LastSeen, mx2[0].LastSeen)
	}

	// After AdoptAfter the new MX is the normal: not reported any more,
	// and a later change is judged against it.
	w.advance(8 * 24 * time.Hour)
	must(t, m.DNSRound(ctx))
	mx3 := w.findings(t, "monitor.mx-changed")
	if !mx3[0].LastSeen.Equal(mx2[0].LastSeen) {
		t.Errorf("an adopted MX is still reported")
	}
	st, _ = loadState[dnsState](ctx, m, "dns")
	if b := st[key(w.assets["dichvucong.gov.vn"].ID, "MX")].Baseline; !slices.Equal(b, []string{"10 mail.attacker.net"}) {
		t.Errorf("baseline after adoption: %v", b)
	}

	// A name that stops existing is a removed delegation.
	res.mu.Lock()
	res.gone["boyte.gov.vn."] = true
	res.mu.Unlock()
	w.advance(15 * time.Minute)
	must(t, m.DNSRound(ctx))
	var removed bool
	for _, f := range w.findings(t, "monitor.delegation-changed") {
		ev := decode[DNSEvidence](t, f.Evidence)
		removed = removed || slices.Equal(ev.After, []string{nxdomain}) && f.LastSeen.Equal(w.now)
	}
	if !removed {
		t.Error("NXDOMAIN for a registered domain was not reported as a removed delegation")
	}
}

func key(assetID int64, typ string) string {
	return strconv.FormatInt(assetID, 10) + "/" + typ
}
