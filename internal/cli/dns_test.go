package cli

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/config"
	"github.com/rampart-cert/rampart/internal/dns"
	"github.com/rampart-cert/rampart/internal/findings"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/queue/natsq"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

// fakeUpstream answers every A query with 192.0.2.1, on 127.0.0.1.
func fakeUpstream(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &mdns.Server{PacketConn: pc, Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := new(mdns.Msg)
		m.SetReply(r)
		if len(r.Question) == 1 && r.Question[0].Qtype == mdns.TypeA {
			m.Answer = append(m.Answer, &mdns.A{Hdr: mdns.RR_Header{Name: r.Question[0].Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 60},
				A: net.IPv4(192, 0, 2, 1)})
		}
		_ = w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

// ask sends one A query to the resolver from the source address from.
func ask(t *testing.T, resolver, from, name string) *mdns.Msg {
	t.Helper()
	c := &mdns.Client{Net: "udp", Timeout: 2 * time.Second,
		Dialer: &net.Dialer{LocalAddr: &net.UDPAddr{IP: net.ParseIP(from)}, Timeout: 2 * time.Second}}
	m := new(mdns.Msg)
	m.SetQuestion(mdns.Fqdn(name), mdns.TypeA)
	r, _, err := c.Exchange(m, resolver)
	if err != nil {
		t.Fatalf("ask %s from %s: %v", name, from, err)
	}
	return r
}

// verdict is how an answer reads: "nxdomain", "nodata", or the address.
func verdict(r *mdns.Msg) string {
	if r.Rcode == mdns.RcodeNameError {
		return "nxdomain"
	}
	for _, rr := range r.Answer {
		if a, ok := rr.(*mdns.A); ok {
			return a.A.String()
		}
	}
	return "nodata"
}

type dnsWorld struct {
	st      *sqlstore.Store
	q       *natsq.Queue
	natsDir string
	a, b    org.Organization
	pdns    *protectiveDNS
}

func newDNSWorld(t *testing.T) *dnsWorld {
	t.Helper()
	ctx := t.Context()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "r.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	w := &dnsWorld{st: st, natsDir: t.TempDir()}
	w.a = org.Organization{Code: "MOH", Name: "Bộ Y tế", Kind: org.KindMinistry}
	w.b = org.Organization{Code: "MOF", Name: "Bộ Tài chính", Kind: org.KindMinistry}
	for _, o := range []*org.Organization{&w.a, &w.b} {
		if err := st.CreateOrg(ctx, auth.SystemPrincipal, o); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []asset.Asset{
		{OrgID: w.a.ID, Kind: asset.KindCIDR, Value: "127.0.10.0/24"},
		{OrgID: w.a.ID, Kind: asset.KindHostname, Value: "portal.moh.example"},
		{OrgID: w.b.ID, Kind: asset.KindCIDR, Value: "127.0.20.0/24"},
	} {
		if err := st.CreateAsset(ctx, auth.SystemPrincipal, &a); err != nil {
			t.Fatal(err)
		}
	}
	// MOF's resolver-facing range, registered explicitly.
	if err := st.CreateDNSClientNetwork(ctx, auth.SystemPrincipal, &store.DNSClientNetwork{OrgID: w.b.ID, Prefix: "127.0.20.0/28"}); err != nil {
		t.Fatal(err)
	}
	w.addIndicators(t,
		intel.Record{Kind: intel.KindDomain, Value: "evil-c2.example", Feed: "feodo", Category: intel.CategoryC2, TLP: intel.TLPGreen},
		intel.Record{Kind: intel.KindDomain, Value: "phish.example", Feed: "openphish", Category: intel.CategoryPhishing, TLP: intel.TLPClear},
		intel.Record{Kind: intel.KindDomain, Value: "dropper.example", Feed: "urlhaus", Category: intel.CategoryMalware, TLP: intel.TLPClear},
		intel.Record{Kind: intel.KindDomain, Value: "bad.example", Feed: "feodo", Category: intel.CategoryC2, TLP: intel.TLPGreen},
		intel.Record{Kind: intel.KindDomain, Value: "portal.moh.example", Feed: "urlhaus", Category: intel.CategoryMalware, TLP: intel.TLPClear},
		intel.Record{Kind: intel.KindDomain, Value: "amber.example", Feed: "partner", Category: intel.CategoryC2, TLP: intel.TLPAmber},
	)
	q, err := natsq.Open(ctx, natsq.Options{DataDir: w.natsDir, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	w.q = q
	c := config.Default()
	c.DNS = &config.DNSConfig{
		Lists: []config.DNSList{
			{Name: "phishing", Action: "redirect", Categories: []string{"phishing"}},
			{Name: "urlhaus", Action: "nodata", Feeds: []string{"urlhaus"}},
		},
		DefaultAction: "nxdomain", WalledGardenA: "127.0.0.80", Contact: "soc@cert.example", Allow: []string{"ok.bad.example"},
	}
	svc := findings.New(findings.Deps{Store: st, Logger: log})
	p, err := startProtectiveDNS(ctx, st, svc, q, c, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	w.pdns = p
	return w
}

func (w *dnsWorld) addIndicators(t *testing.T, recs ...intel.Record) {
	t.Helper()
	for i := range recs {
		if err := recs[i].Normalize(time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.st.ApplyIndicators(t.Context(), auth.SystemPrincipal, recs); err != nil {
		t.Fatal(err)
	}
}

// resolverCreds issues a resolver's NATS key and waits until the server
// admits it.
func (w *dnsWorld) resolverCreds(t *testing.T, name string) string {
	t.Helper()
	seed, _, err := natsq.IssueEdge(w.natsDir, natsq.EdgeResolver, name, "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name+".nk")
	if err := os.WriteFile(path, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		nc, err := natsq.ConnectEdge(w.q.ClientURL(), path)
		if err == nil {
			nc.Close()
			return path
		}
		if time.Now().After(deadline) {
			t.Fatalf("the resolver's key is not admitted: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type dnsProcess struct {
	out    *syncBuffer
	udp    string
	http   string
	cancel context.CancelFunc
	done   chan error
}

func startDNS(t *testing.T, args ...string) *dnsProcess {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	p := &dnsProcess{out: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	env := &Env{Stdout: p.out, Stderr: io.Discard, Stdin: strings.NewReader(""), Getenv: func(string) string { return "" }}
	go func() {
		p.done <- runDNS(ctx, env, append([]string{"--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--log-level", "error"}, args...))
	}()
	t.Cleanup(func() { p.stop(t) })
	re := regexp.MustCompile(`udp (\S+) tcp`)
	hre := regexp.MustCompile(`on http://(\S+)`)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := re.FindStringSubmatch(p.out.String()); m != nil {
			p.udp = m[1]
			if h := hre.FindStringSubmatch(p.out.String()); h != nil {
				p.http = h[1]
			}
			return p
		}
		select {
		case err := <-p.done:
			t.Fatalf("rampart dns exited: %v: %s", err, p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("rampart dns did not start: %s", p.out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (p *dnsProcess) stop(t *testing.T) {
	if p.cancel == nil {
		return
	}
	p.cancel()
	p.cancel = nil
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("rampart dns: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("rampart dns did not stop")
	}
}

func (p *dnsProcess) health(t *testing.T) dns.Health {
	t.Helper()
	resp, err := http.Get("http://" + p.http + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h dns.Health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

func waitUntil(t *testing.T, within time.Duration, what string, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > within {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// blockedFindings are the protective DNS findings p sees, by "client name".
func blockedFindings(t *testing.T, st store.Store, p auth.Principal) map[string]int64 {
	t.Helper()
	pg, err := st.ListFindings(t.Context(), p, store.FindingFilter{Check: dns.FindingBlockedQuery, PageRequest: store.PageRequest{Limit: 100}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, f := range pg.Items {
		var ev struct {
			Count int64 `json:"count"`
		}
		_ = json.Unmarshal(f.Evidence, &ev)
		out[f.Target+" "+f.Subject] = ev.Count
	}
	return out
}

// TestProtectiveDNSEndToEnd runs the platform's side (snapshot publisher,
// report ingester, findings) on an embedded NATS and `rampart dns` with
// its own resolver key, as separate processes would.
func TestProtectiveDNSEndToEnd(t *testing.T) {
	w := newDNSWorld(t)
	upstream := fakeUpstream(t)
	creds := w.resolverCreds(t, "hn1")
	cache := t.TempDir()
	args := []string{"--upstream", upstream, "--nats", w.q.ClientURL(), "--nats-creds", creds, "--cache-dir", cache,
		"--data", t.TempDir(), "--report-every", "100ms"}
	r := startDNS(t, args...)
	const from = "127.0.10.5" // MOH
	waitUntil(t, 10*time.Second, "the policy from the hub", func() bool { return verdict(ask(t, r.udp, from, "evil-c2.example")) == "nxdomain" })

	// Each list answers its way; the allowlist, the guard (a registered
	// asset) and TLP:AMBER let names through.
	for name, want := range map[string]string{
		"evil-c2.example":     "nxdomain",
		"www.evil-c2.example": "nxdomain",
		"login.phish.example": "127.0.0.80",
		"dropper.example":     "nodata",
		"x.bad.example":       "nxdomain",
		"ok.bad.example":      "192.0.2.1",
		"portal.moh.example":  "192.0.2.1",
		"amber.example":       "192.0.2.1",
		"fine.example":        "192.0.2.1",
	} {
		if got := verdict(ask(t, r.udp, from, name)); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}

	// An indicator added to the hub blocks at once (well under a second;
	// the latency is logged, and measured by BenchmarkChangeToFollower).
	start := time.Now()
	w.addIndicators(t, intel.Record{Kind: intel.KindDomain, Value: "fresh-c2.example", Feed: "feodo", Category: intel.CategoryC2, TLP: intel.TLPGreen})
	waitUntil(t, 5*time.Second, "a new indicator blocks", func() bool { return verdict(ask(t, r.udp, from, "fresh-c2.example")) == "nxdomain" })
	t.Logf("indicator stored to resolver blocking: %s", time.Since(start))

	// The walled garden names the list, in both languages.
	req, _ := http.NewRequest("GET", "http://"+r.http+"/", nil)
	req.Host = "login.phish.example"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"login.phish.example", "phishing", "đã bị chặn", "has been blocked", "soc@cert.example"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("walled garden lacks %q", want)
		}
	}

	// A host asking many times is one finding with a count, for its own
	// organization only; an address of no organization makes none.
	for range 40 {
		ask(t, r.udp, from, "evil-c2.example")
	}
	ask(t, r.udp, "127.0.20.5", "evil-c2.example") // MOF's client network
	ask(t, r.udp, "127.0.99.9", "evil-c2.example") // nobody's
	memberA := auth.Principal{Name: "a@MOH", Role: auth.RoleOrgMember, OrgID: w.a.ID, OrgPath: w.a.Path}
	memberB := auth.Principal{Name: "b@MOF", Role: auth.RoleOrgMember, OrgID: w.b.ID, OrgPath: w.b.Path}
	waitUntil(t, 10*time.Second, "the findings", func() bool {
		a := blockedFindings(t, w.st, memberA)
		return a[from+" evil-c2.example"] >= 42 && len(blockedFindings(t, w.st, memberB)) == 1
	})
	a := blockedFindings(t, w.st, memberA)
	if a[from+" evil-c2.example"] < 42 { // the wait's queries, the first, the 40
		t.Errorf("MOH's count: %d", a[from+" evil-c2.example"])
	}
	for k := range a {
		if !strings.HasPrefix(k, from+" ") {
			t.Errorf("MOH sees %s", k)
		}
	}
	b := blockedFindings(t, w.st, memberB)
	if b["127.0.20.5 evil-c2.example"] != 1 || len(b) != 1 {
		t.Errorf("MOF sees %v", b)
	}
	all := blockedFindings(t, w.st, auth.SystemPrincipal)
	for k := range all {
		if strings.HasPrefix(k, "127.0.99.9") {
			t.Errorf("a finding for an address of no organization: %s", k)
		}
	}
	if w.pdns.Ingest.Unmapped() == 0 {
		t.Error("the query of an address of no organization was not counted as unmapped")
	}
	before := a[from+" evil-c2.example"]
	for range 10 {
		ask(t, r.udp, from, "evil-c2.example")
	}
	waitUntil(t, 10*time.Second, "the count grows", func() bool {
		return blockedFindings(t, w.st, memberA)[from+" evil-c2.example"] == before+10
	})
	// One finding per client and name: evil-c2, its www, the phishing
	// login, the dropper, x.bad and fresh-c2.
	if n := len(blockedFindings(t, w.st, memberA)); n != 6 {
		t.Errorf("MOH has %d blocked-query findings, want 6", n)
	}

	// NATS lost: the resolver keeps the list and says it is stale.
	if h := r.health(t); h.Feed.Stale || !h.Feed.Connected {
		t.Fatalf("health before the loss: %+v", h.Feed)
	}
	w.pdns.Stop()
	if err := w.q.Close(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "health says stale", func() bool { h := r.health(t); return h.Feed.Stale && !h.Feed.Connected })
	if got := verdict(ask(t, r.udp, from, "fresh-c2.example")); got != "nxdomain" {
		t.Errorf("without NATS: %s", got)
	}
	// Restarted without NATS, it blocks from its cache at once.
	r.stop(t)
	r2 := startDNS(t, args...)
	if got := verdict(ask(t, r2.udp, from, "fresh-c2.example")); got != "nxdomain" {
		t.Errorf("restarted without NATS: %s", got)
	}
	if h := r2.health(t); !h.Feed.Stale || h.PolicyNames == 0 {
		t.Errorf("restarted health: %+v", h)
	}
}
