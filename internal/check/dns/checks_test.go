package dns

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/finding"
)

func TestRegister(t *testing.T) {
	r := check.NewRegistry()
	if err := Register(r); err != nil {
		t.Fatal(err)
	}
	want := []string{"dns.dangling-cname", "dns.dmarc-missing", "dns.dmarc-policy-none", "dns.dnssec-missing",
		"dns.open-resolver", "dns.spf-missing", "dns.spf-permissive", "dns.subdomain-takeover", "dns.zone-transfer"}
	var got []string
	for _, c := range r.All() {
		m := c.Meta()
		got = append(got, m.ID)
		if m.Family != "dns" || m.Description.EN == "" || m.Description.VI == "" || len(m.References) == 0 {
			t.Errorf("%s: incomplete metadata", m.ID)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("checks = %v, want %v", got, want)
	}
	if err := Register(r); err == nil {
		t.Fatal("registering twice must fail")
	}
}

// TestChecks runs every domain check on every fixture zone. Each case
// lists the subjects expected; nil means silent.
func TestChecks(t *testing.T) {
	f := newFixture(t)
	type tc struct {
		check, host string
		want        []string
		sev         finding.Severity // of the first result, when set
		title       string           // substring of the first title
	}
	cases := []tc{
		// Hardened: nothing fires, on the apex or on its aliases.
		{check: "dns.spf-missing", host: "hardened.test"},
		{check: "dns.spf-permissive", host: "hardened.test"},
		{check: "dns.dmarc-missing", host: "hardened.test"},
		{check: "dns.dmarc-policy-none", host: "hardened.test"},
		{check: "dns.zone-transfer", host: "hardened.test"},
		{check: "dns.dnssec-missing", host: "hardened.test"},
		{check: "dns.dnssec-missing", host: "www.hardened.test"},
		{check: "dns.dangling-cname", host: "hardened.test"},
		{check: "dns.dangling-cname", host: "www.hardened.test"},
		{check: "dns.dangling-cname", host: "app.hardened.test"},
		{check: "dns.dangling-cname", host: "cdn.hardened.test"},
		{check: "dns.dangling-cname", host: "v6only.hardened.test"},
		{check: "dns.dangling-cname", host: "nothing.hardened.test"},

		// SPF.
		{check: "dns.spf-missing", host: "nospf.test", want: []string{""}, sev: finding.Medium, title: "No SPF record"},
		{check: "dns.spf-missing", host: "dup.test", want: []string{""}, title: "2 SPF records"},
		{check: "dns.spf-missing", host: "invalid.test", want: []string{""}, title: "invalid"},
		{check: "dns.spf-missing", host: "gone.nospf.test"}, // NXDOMAIN: nothing to forge
		{check: "dns.spf-missing", host: "big.test"},
		{check: "dns.spf-permissive", host: "weak.test", want: []string{"all"}, sev: finding.High, title: "+all"},
		{check: "dns.spf-permissive", host: "neutral.test", want: []string{"all"}, title: "?all"},
		{check: "dns.spf-permissive", host: "noall.test", want: []string{"all"}, title: "no all mechanism"},
		{check: "dns.spf-permissive", host: "redirect.test"},
		{check: "dns.spf-permissive", host: "redirect-weak.test", want: []string{"all"}, title: "?all"},
		{check: "dns.spf-permissive", host: "redirect-broken.test", want: []string{"all"}, title: "broken"},
		{check: "dns.spf-permissive", host: "lookups.test", want: []string{"too-many-lookups"}, sev: finding.Medium, title: "12 DNS lookups"},
		{check: "dns.spf-permissive", host: "loop.test", want: []string{"too-many-lookups"}},
		{check: "dns.spf-permissive", host: "nospf.test"},
		{check: "dns.spf-permissive", host: "big.test"},

		// DMARC.
		{check: "dns.dmarc-missing", host: "nospf.test", want: []string{""}, sev: finding.Medium, title: "No DMARC record"},
		{check: "dns.dmarc-missing", host: "dup.test", want: []string{""}, title: "2 DMARC records"},
		{check: "dns.dmarc-missing", host: "invalid.test", want: []string{""}, title: "invalid"},
		{check: "dns.dmarc-missing", host: "gone.nospf.test"},
		{check: "dns.dmarc-missing", host: "weak.test"},
		{check: "dns.dmarc-missing", host: "mail.hardened.test"}, // inherits the organizational record
		{check: "dns.dmarc-missing", host: "www.nospf.test", want: []string{""}, title: "nor at _dmarc.nospf.test"},
		{check: "dns.dmarc-policy-none", host: "mail.hardened.test"},
		{check: "dns.dmarc-policy-none", host: "mail.spnone.test", want: []string{"p"}, title: "inherited from spnone.test"},
		{check: "dns.dmarc-policy-none", host: "www.weak.test", want: []string{"p"}}, // inherits p=none; sp unset means sp = p
		{check: "dns.dmarc-policy-none", host: "weak.test", want: []string{"p"}, sev: finding.Low, title: "p=none"},
		{check: "dns.dmarc-policy-none", host: "spnone.test", want: []string{"sp"}, title: "sp=none"},
		{check: "dns.dmarc-policy-none", host: "redirect.test"},
		{check: "dns.dmarc-policy-none", host: "nospf.test"},

		// Zone transfer, DNSSEC, dangling CNAMEs.
		{check: "dns.zone-transfer", host: "weak.test", want: []string{authIP}, sev: finding.High, title: "AXFR"},
		{check: "dns.zone-transfer", host: "www.weak.test"}, // not a zone apex
		{check: "dns.dnssec-missing", host: "weak.test", want: []string{"weak.test"}, sev: finding.Low},
		{check: "dns.dnssec-missing", host: "www.weak.test", want: []string{"weak.test"}},
		{check: "dns.dangling-cname", host: "shop.weak.test", want: []string{"weak-shop.azurewebsites.net"}, sev: finding.High, title: "Azure App Service"},
		{check: "dns.dangling-cname", host: "blog.weak.test", want: []string{"gone.weak.test"}, title: "NXDOMAIN"},
		// An in-zone hop, then a name outside the server's data that does not exist.
		{check: "dns.dangling-cname", host: "via.hop.test", want: []string{"hop-gone.azurewebsites.net"}, sev: finding.High, title: "Azure App Service"},
		{check: "dns.dangling-cname", host: "www.weak.test"},
	}
	for _, c := range cases {
		t.Run(c.check+"/"+c.host, func(t *testing.T) {
			ck := mustCheck(t, c.check)
			tg := domain(c.host)
			if !ck.Applies(tg) {
				t.Fatal("does not apply to a domain target")
			}
			got, err := ck.Run(context.Background(), f.env, tg)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if c.want == nil {
				if len(got) != 0 {
					t.Fatalf("fired on a clean fixture: %+v", got)
				}
				return
			}
			if !slices.Equal(subjects(got), c.want) {
				t.Fatalf("subjects = %q, want %q (%+v)", subjects(got), c.want, got)
			}
			r := got[0]
			if r.Check != c.check || r.Title == "" || r.Evidence.Request == "" {
				t.Errorf("incomplete result: %+v", r)
			}
			if c.sev != "" && r.Severity != c.sev {
				t.Errorf("severity = %s, want %s", r.Severity, c.sev)
			}
			if c.title != "" && !strings.Contains(r.Title, c.title) {
				t.Errorf("title %q lacks %q", r.Title, c.title)
			}
			if len(r.Evidence.Response) > check.MaxEvidence+len("…[truncated]") {
				t.Errorf("evidence not capped: %d bytes", len(r.Evidence.Response))
			}
		})
	}
}

func TestZoneTransferEvidence(t *testing.T) {
	f := newFixture(t)
	got, err := mustCheck(t, "dns.zone-transfer").Run(context.Background(), f.env, domain("weak.test"))
	if err != nil || len(got) != 1 {
		t.Fatalf("got %+v, %v", got, err)
	}
	ev := got[0].Evidence
	if !strings.HasPrefix(ev.Response, "weak.test.\t") || !strings.Contains(ev.Response, "SOA") ||
		!strings.Contains(ev.Response, "weak-shop.azurewebsites.net.") {
		t.Errorf("evidence lacks the first records:\n%s", ev.Response)
	}
	if ev.Fields["nameserver"] != "ns1.weak.test" || ev.Fields["address"] != authIP+":53" {
		t.Errorf("fields = %v", ev.Fields)
	}
}

func TestZoneTransferScope(t *testing.T) {
	f := newFixture(t)
	env := *f.env
	env.Extra = map[string]any{"dns": Options{AllowAddr: func(netip.Addr) bool { return false }}}
	_, err := mustCheck(t, "dns.zone-transfer").Run(context.Background(), &env, domain("weak.test"))
	if !isUnreachable(err) || !strings.Contains(err.Error(), "in scope") {
		t.Fatalf("err = %v, want an out-of-scope unreachable error", err)
	}
}

// TestUnreachable: SERVFAIL, a dead resolver and dead name servers are
// errors wrapping check.ErrUnreachable, never silence.
func TestUnreachable(t *testing.T) {
	f := newFixture(t)
	dead := deadAddr(t)
	deadEnv := *f.env
	deadEnv.DNSServer = dead
	noServer := *f.env
	noServer.DNSServer = ""
	for _, c := range Checks() {
		id := c.Meta().ID
		if id == "dns.open-resolver" {
			continue
		}
		t.Run(id, func(t *testing.T) {
			if _, err := c.Run(context.Background(), f.env, domain("broken.test")); !isUnreachable(err) {
				t.Errorf("SERVFAIL: err = %v", err)
			}
			if _, err := c.Run(context.Background(), &deadEnv, domain("weak.test")); !isUnreachable(err) {
				t.Errorf("dead resolver: err = %v", err)
			}
			if _, err := c.Run(context.Background(), &noServer, domain("weak.test")); !isUnreachable(err) {
				t.Errorf("no resolver: err = %v", err)
			}
		})
	}
	if _, err := mustCheck(t, "dns.zone-transfer").Run(context.Background(), f.env, domain("lame.test")); !isUnreachable(err) {
		t.Errorf("dead name server: err = %v", err)
	}
	if _, err := mustCheck(t, "dns.spf-missing").Run(context.Background(), f.env, domain("bad..name")); err == nil || isUnreachable(err) {
		t.Errorf("bad name: err = %v", err)
	}
}

// deadAddr returns a loopback address where nothing listens.
func deadAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestTCPFallback(t *testing.T) {
	f := newFixture(t)
	before := f.auth.TCPQueries.Load()
	txts, _, _, err := newClient(f.env).txtLookup(context.Background(), "big.test.")
	if err != nil {
		t.Fatal(err)
	}
	if len(txts) != 11 {
		t.Fatalf("got %d TXT records, want 11", len(txts))
	}
	if f.auth.TCPQueries.Load() == before {
		t.Fatal("truncated reply did not make the client retry over TCP")
	}
}

func TestOpenResolver(t *testing.T) {
	f := newFixture(t)
	ck := mustCheck(t, "dns.open-resolver")
	svc := func(addr, service string) check.Target {
		return check.Target{Kind: check.TargetService, Addr: netip.MustParseAddrPort(addr), Service: service}
	}
	for _, tg := range []check.Target{svc(f.open.Addr, "dns"), svc("127.0.0.1:53", ""), svc("127.0.0.1:53", "domain")} {
		if !ck.Applies(tg) {
			t.Errorf("does not apply to %+v", tg)
		}
	}
	for _, tg := range []check.Target{svc("127.0.0.1:25", "smtp"), svc("127.0.0.1:5353", ""), domain("weak.test")} {
		if ck.Applies(tg) {
			t.Errorf("applies to %+v", tg)
		}
	}
	withProbe := func(names ...string) *check.Env {
		env := *f.env
		env.Extra = map[string]any{"dns": &Options{ProbeNames: names}}
		return &env
	}
	cases := []struct {
		name string
		env  *check.Env
		addr string
		fire bool
	}{
		{"open, default probe", f.env, f.open.Addr, true},
		{"open, CNAME probe", withProbe("probe.rampart.test"), f.open.Addr, true},
		{"open, unknown name", withProbe("nowhere.rampart.test"), f.open.Addr, false},
		{"hardened refuses", f.env, f.auth.Addr, false},
		{"authoritative answer is not recursion", withProbe("ns1.hardened.test"), f.auth.Addr, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ck.Run(context.Background(), c.env, svc(c.addr, "dns"))
			if err != nil {
				t.Fatal(err)
			}
			if (len(got) == 1) != c.fire || len(got) > 1 {
				t.Fatalf("got %+v, fire=%v", got, c.fire)
			}
			if c.fire && (got[0].Severity != finding.High || !strings.Contains(got[0].Evidence.Response, "ra")) {
				t.Errorf("result %+v", got[0])
			}
		})
	}
	if _, err := ck.Run(context.Background(), f.env, svc(deadAddr(t), "dns")); !isUnreachable(err) {
		t.Errorf("dead server: err = %v", err)
	}
}

// TestResolverFallback: without env.DNSServer the TXT checks use
// env.Resolver, here a pure-Go resolver wired to the fixture.
func TestResolverFallback(t *testing.T) {
	f := newFixture(t)
	env := *f.env
	env.DNSServer = ""
	env.Resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return f.env.Dial(ctx, network, f.auth.Addr)
	}}
	for _, c := range []struct {
		check, host string
		fire        bool
	}{
		{"dns.spf-missing", "nospf.test", true},
		{"dns.spf-missing", "hardened.test", false},
		{"dns.spf-permissive", "hardened.test", false},
		{"dns.spf-permissive", "weak.test", true},
		{"dns.dmarc-missing", "nospf.test", true},
		{"dns.dmarc-missing", "hardened.test", false},
		{"dns.dmarc-policy-none", "weak.test", true},
	} {
		got, err := mustCheck(t, c.check).Run(context.Background(), &env, domain(c.host))
		if err != nil {
			t.Fatalf("%s %s: %v", c.check, c.host, err)
		}
		if (len(got) > 0) != c.fire {
			t.Errorf("%s %s: got %+v, fire=%v", c.check, c.host, got, c.fire)
		}
	}
}

func TestTakeoverProvider(t *testing.T) {
	for in, want := range map[string]string{
		"x.azurewebsites.net.":  "Azure App Service",
		"b.s3.amazonaws.com.":   "Amazon S3",
		"me.github.io.":         "GitHub Pages",
		"app.herokuapp.com.":    "Heroku",
		"svc.cloudapp.net.":     "Azure Cloud Services",
		"notazurewebsites.net.": "",
		"example.gov.vn.":       "",
	} {
		if got := takeoverProvider(in); got != want {
			t.Errorf("takeoverProvider(%q) = %q, want %q", in, got, want)
		}
	}
}
