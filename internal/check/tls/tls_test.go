package tls_test

import (
	"context"
	gotls "crypto/tls"
	"errors"
	"maps"
	"net"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rampart-cert/rampart/internal/check"
	tlscheck "github.com/rampart-cert/rampart/internal/check/tls"
	"github.com/rampart-cert/rampart/internal/check/tls/tlstest"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/probe/tlsprobe"
	"github.com/rampart-cert/rampart/internal/probe/tlsprobe/tlsprobetest"
)

const host = "svc.rampart.test"

type pki struct {
	ca, rsaCA, stranger *tlstest.CA
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	ca, err := tlstest.NewCA("Rampart Test Root")
	if err != nil {
		t.Fatal(err)
	}
	rsaCA, err := tlstest.NewRSACA("Rampart Test RSA Root")
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := tlstest.NewCA("Unknown Root")
	if err != nil {
		t.Fatal(err)
	}
	return &pki{ca: ca, rsaCA: rsaCA, stranger: stranger}
}

func (p *pki) env() *check.Env {
	roots := p.ca.Pool()
	roots.AddCert(p.rsaCA.Cert)
	return &check.Env{Roots: roots, Timeout: 2 * time.Second}
}

func issue(t *testing.T, ca *tlstest.CA, l tlstest.Leaf) gotls.Certificate {
	t.Helper()
	if l.Hosts == nil {
		l.Hosts = []string{host}
	}
	c, err := ca.Issue(l)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func serve(t *testing.T, cfg *gotls.Config) *tlstest.Server {
	t.Helper()
	s, err := tlstest.Serve("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func hardened(cert gotls.Certificate) *gotls.Config {
	return &gotls.Config{Certificates: []gotls.Certificate{cert}, MinVersion: gotls.VersionTLS12, CipherSuites: tlstest.StrongSuites}
}

func target(t *testing.T, addr string) check.Target {
	t.Helper()
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return check.Target{Kind: check.TargetService, Addr: ap, Host: host, TLS: true, Service: "https"}
}

// runAll runs every check of the family concurrently, as the engine does,
// and returns "check subject severity" lines, sorted.
func runAll(t *testing.T, env *check.Env, tg check.Target) []string {
	t.Helper()
	reg := check.NewRegistry()
	if err := tlscheck.Register(reg); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []string
	var wg sync.WaitGroup
	for _, c := range reg.Select([]string{"tls"}) {
		if !c.Applies(tg) {
			t.Fatalf("%s does not apply to %v", c.Meta().ID, tg)
		}
		wg.Go(func() {
			res, err := c.Run(context.Background(), env, tg)
			if err != nil {
				t.Errorf("%s: %v", c.Meta().ID, err)
				return
			}
			for _, r := range res {
				if r.Check != c.Meta().ID || !r.Severity.Valid() || r.Title == "" {
					t.Errorf("%s: malformed result %+v", c.Meta().ID, r)
				}
				if len(r.Evidence.Fields) == 0 {
					t.Errorf("%s: result without evidence fields", c.Meta().ID)
				}
				mu.Lock()
				got = append(got, strings.Join(strings.Fields(r.Check+" "+r.Subject+" "+string(r.Severity)), " "))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	sort.Strings(got)
	return got
}

func TestFixtures(t *testing.T) {
	p := newPKI(t)
	now := time.Now()
	valid := issue(t, p.ca, tlstest.Leaf{})
	rsaLeaf := issue(t, p.ca, tlstest.Leaf{RSABits: 2048})
	withSuites := func(cert gotls.Certificate, min uint16, suites []uint16) *gotls.Config {
		return &gotls.Config{Certificates: []gotls.Certificate{cert}, MinVersion: min, MaxVersion: gotls.VersionTLS12, CipherSuites: suites}
	}
	tests := []struct {
		name string
		cfg  *gotls.Config
		want []string
	}{
		{"hardened", hardened(valid), nil},
		{"hardened-tls13-only", &gotls.Config{Certificates: []gotls.Certificate{valid}, MinVersion: gotls.VersionTLS13}, nil},
		{"expired", hardened(issue(t, p.ca, tlstest.Leaf{NotBefore: now.Add(-90 * 24 * time.Hour), NotAfter: now.Add(-2 * 24 * time.Hour)})),
			[]string{"tls.cert-expired high"}},
		{"not-yet-valid", hardened(issue(t, p.ca, tlstest.Leaf{NotBefore: now.Add(48 * time.Hour), NotAfter: now.Add(90 * 24 * time.Hour)})),
			[]string{"tls.cert-expired high"}},
		{"expiring", hardened(issue(t, p.ca, tlstest.Leaf{NotAfter: now.Add(10 * 24 * time.Hour)})),
			[]string{"tls.cert-expiring medium"}},
		{"self-signed", hardened(issue(t, nil, tlstest.Leaf{})),
			[]string{"tls.cert-self-signed medium"}},
		{"unknown-ca", hardened(issue(t, p.stranger, tlstest.Leaf{})),
			[]string{"tls.cert-untrusted medium"}},
		{"wrong-host", hardened(issue(t, p.ca, tlstest.Leaf{Hosts: []string{"other.rampart.test"}})),
			[]string{"tls.hostname-mismatch " + host + " medium"}},
		{"rsa-1024", hardened(issue(t, p.ca, tlstest.Leaf{RSABits: 1024})),
			[]string{"tls.weak-key leaf:key medium"}},
		// Go's verifier (like browsers) rejects SHA-1 signatures, so the
		// chain is untrusted too; the evidence says why.
		{"sha1-leaf", hardened(issue(t, p.rsaCA, tlstest.Leaf{RSABits: 2048, SHA1: true})),
			[]string{"tls.cert-untrusted medium", "tls.weak-key leaf:signature medium"}},
		{"tls10-11-12", withSuites(valid, gotls.VersionTLS10, tlstest.LegacySuites),
			[]string{"tls.legacy-protocol TLSv1.0 medium", "tls.legacy-protocol TLSv1.1 medium"}},
		{"tls11-12", withSuites(valid, gotls.VersionTLS11, tlstest.LegacySuites),
			[]string{"tls.legacy-protocol TLSv1.1 medium"}},
		{"rc4-3des", withSuites(rsaLeaf, gotls.VersionTLS12, append([]uint16{
			gotls.TLS_RSA_WITH_RC4_128_SHA, gotls.TLS_ECDHE_RSA_WITH_RC4_128_SHA,
			gotls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, gotls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA}, tlstest.StrongSuites...)),
			[]string{
				"tls.weak-cipher TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA high",
				"tls.weak-cipher TLS_ECDHE_RSA_WITH_RC4_128_SHA high",
				"tls.weak-cipher TLS_RSA_WITH_3DES_EDE_CBC_SHA high",
				"tls.weak-cipher TLS_RSA_WITH_RC4_128_SHA high",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, tt.cfg)
			got := runAll(t, p.env(), target(t, srv.Addr()))
			if !slices.Equal(got, tt.want) {
				t.Fatalf("results:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

// The fake server speaks what crypto/tls will not: SSLv3, NULL, EXPORT and
// anonymous suites.
func TestFakeLegacyServers(t *testing.T) {
	p := newPKI(t)
	valid := issue(t, p.ca, tlstest.Leaf{RSABits: 2048})
	tests := []struct {
		name string
		cfg  tlsprobetest.Config
		want []string
	}{
		{"sslv3-null-export-anon", tlsprobetest.Config{
			Versions: []tlsprobe.Version{tlsprobe.SSL30},
			Suites:   []uint16{0x0002, 0x0003, 0x0034, 0x002F}, // RSA_NULL_SHA, RSA_EXPORT_RC4_40_MD5, DH_anon_AES_128, RSA_AES_128
			Chain:    valid.Certificate,
		}, []string{
			"tls.legacy-protocol SSLv3 high",
			"tls.weak-cipher TLS_DH_anon_WITH_AES_128_CBC_SHA high",
			"tls.weak-cipher TLS_RSA_EXPORT_WITH_RC4_40_MD5 high",
			"tls.weak-cipher TLS_RSA_WITH_NULL_SHA high",
		}},
		{"tls10-anon-only", tlsprobetest.Config{
			Versions: []tlsprobe.Version{tlsprobe.TLS10},
			Suites:   []uint16{0xC018}, // ECDH_anon_AES_128: no certificate at all
		}, []string{
			"tls.legacy-protocol TLSv1.0 medium",
			"tls.weak-cipher TLS_ECDH_anon_WITH_AES_128_CBC_SHA high",
		}},
		{"tls12-export-self-signed", tlsprobetest.Config{
			Versions: []tlsprobe.Version{tlsprobe.TLS12},
			Suites:   []uint16{0x0014, 0x009C}, // DHE_RSA_EXPORT_DES40, RSA_AES_128_GCM
			Chain:    issue(t, nil, tlstest.Leaf{RSABits: 2048}).Certificate,
		}, []string{
			"tls.cert-self-signed medium",
			"tls.weak-cipher TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA high",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := tlsprobetest.Start("127.0.0.1:0", tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			got := runAll(t, p.env(), target(t, srv.Addr()))
			if !slices.Equal(got, tt.want) {
				t.Fatalf("results:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	tg := target(t, addr)
	reg := check.NewRegistry()
	if err := tlscheck.Register(reg); err != nil {
		t.Fatal(err)
	}
	for _, c := range reg.All() {
		res, err := c.Run(context.Background(), &check.Env{Timeout: time.Second}, tg)
		if !errors.Is(err, check.ErrUnreachable) || res != nil {
			t.Errorf("%s: %v, %v; want ErrUnreachable", c.Meta().ID, res, err)
		}
	}
}

// The whole family costs a hardened TLS 1.2+1.3 server a handful of
// connections, whatever the number of checks.
func TestConnectionBudget(t *testing.T) {
	p := newPKI(t)
	srv := serve(t, &gotls.Config{Certificates: []gotls.Certificate{issue(t, p.ca, tlstest.Leaf{})}, MinVersion: gotls.VersionTLS12})
	env := p.env()
	tg := target(t, srv.Addr())
	if got := runAll(t, env, tg); len(got) != 0 {
		t.Fatalf("hardened server: %v", got)
	}
	// 1 crypto/tls handshake (TLS 1.3), probes for TLS 1.2, 1.1, 1.0 and
	// SSLv3, one weak-suite probe for TLS 1.2.
	if n := srv.Accepts(); n != 6 {
		t.Errorf("%d connections, want 6", n)
	}

	a := tlscheck.NewAssessor(0, 0)
	rep, err := a.Assess(context.Background(), env, tg)
	if err != nil {
		t.Fatal(err)
	}
	want := map[tlsprobe.Version]bool{tlsprobe.TLS12: true, tlsprobe.TLS13: true}
	for _, v := range tlsprobe.Versions {
		if rep.Protocols.Accepted(v) != want[v] {
			t.Errorf("%s accepted = %v", v, !want[v])
		}
	}
	before := srv.Accepts()
	if _, err := a.Assess(context.Background(), env, tg); err != nil {
		t.Fatal(err)
	}
	if srv.Accepts() != before {
		t.Errorf("a second assessment in the same scan reconnected")
	}
	if _, err := a.Assess(context.Background(), p.env(), tg); err != nil {
		t.Fatal(err)
	}
	if srv.Accepts() == before {
		t.Errorf("a new scan (new Env) reused the old one's results")
	}
}

func TestEnvNowDrivesExpiry(t *testing.T) {
	p := newPKI(t)
	notAfter := time.Now().Add(60 * 24 * time.Hour)
	srv := serve(t, hardened(issue(t, p.ca, tlstest.Leaf{NotAfter: notAfter})))
	tg := target(t, srv.Addr())
	for _, tt := range []struct {
		at   time.Time
		want []string
	}{
		{time.Now(), nil},
		{notAfter.Add(-20 * 24 * time.Hour), []string{"tls.cert-expiring medium"}},
		{notAfter.Add(-22 * 24 * time.Hour), nil},
		{notAfter.Add(time.Hour), []string{"tls.cert-expired high"}},
	} {
		env := p.env()
		env.Now = func() time.Time { return tt.at }
		if got := runAll(t, env, tg); !slices.Equal(got, tt.want) {
			t.Errorf("at %s: %v, want %v", tt.at.Format(time.DateOnly), got, tt.want)
		}
	}
}

func TestSystemRootsWhenNoRoots(t *testing.T) {
	p := newPKI(t)
	srv := serve(t, hardened(issue(t, p.ca, tlstest.Leaf{})))
	got := runAll(t, &check.Env{Timeout: 2 * time.Second}, target(t, srv.Addr()))
	if !slices.Equal(got, []string{"tls.cert-untrusted medium"}) {
		t.Fatalf("test CA against the system pool: %v", got)
	}
}

func TestApplies(t *testing.T) {
	ap := func(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
	tests := []struct {
		t    check.Target
		want bool
	}{
		{check.Target{Kind: check.TargetService, Addr: ap("127.0.0.1:4433"), TLS: true}, true},
		{check.Target{Kind: check.TargetService, Addr: ap("127.0.0.1:443")}, true},
		{check.Target{Kind: check.TargetService, Addr: ap("127.0.0.1:993")}, true},
		{check.Target{Kind: check.TargetService, Addr: ap("127.0.0.1:8080"), Service: "https"}, true},
		{check.Target{Kind: check.TargetService, Addr: ap("127.0.0.1:636"), Service: "ldaps"}, true},
		{check.Target{Kind: check.TargetService, Addr: ap("127.0.0.1:443"), Service: "http"}, false},
		{check.Target{Kind: check.TargetService, Addr: ap("127.0.0.1:22"), Service: "ssh"}, false},
		{check.Target{Kind: check.TargetService, Addr: ap("127.0.0.1:8080")}, false},
		{check.Target{Kind: check.TargetURL, URL: "https://x.test/"}, false},
		{check.Target{Kind: check.TargetDomain, Host: "x.test"}, false},
	}
	for _, tt := range tests {
		if got := tlscheck.Applies(tt.t); got != tt.want {
			t.Errorf("Applies(%+v) = %v", tt.t, got)
		}
	}
}

func TestMeta(t *testing.T) {
	reg := check.NewRegistry()
	if err := tlscheck.Register(reg); err != nil {
		t.Fatal(err)
	}
	want := map[string]finding.Severity{
		"tls.cert-expired": finding.High, "tls.cert-expiring": finding.Medium,
		"tls.cert-self-signed": finding.Medium, "tls.cert-untrusted": finding.Medium,
		"tls.hostname-mismatch": finding.Medium, "tls.legacy-protocol": finding.High,
		"tls.weak-cipher": finding.High, "tls.weak-key": finding.Medium,
	}
	all := reg.All()
	if len(all) != len(want) {
		t.Fatalf("%d checks, want %d", len(all), len(want))
	}
	for _, c := range all {
		m := c.Meta()
		if sev, ok := want[m.ID]; !ok || sev != m.Severity || m.Family != "tls" {
			t.Errorf("%s: severity %s family %s", m.ID, m.Severity, m.Family)
		}
		for _, tx := range []check.Text{m.Title, m.Description, m.Remediation} {
			if tx.EN == "" || tx.VI == "" || tx.EN == tx.VI {
				t.Errorf("%s: text missing or untranslated: %+v", m.ID, tx)
			}
			if utf8.RuneCountInString(tx.VI) == len(tx.VI) {
				t.Errorf("%s: Vietnamese text without diacritics: %q", m.ID, tx.VI)
			}
		}
		if len(m.References) == 0 || !strings.HasPrefix(m.References[0], "CWE-") {
			t.Errorf("%s: references %v", m.ID, m.References)
		}
	}
}

// A port that accepts connections but does not speak TLS (silent, or an
// HTTP server) yields no findings and no error, and costs two connections,
// not a timeout per protocol version.
func TestNotTLS(t *testing.T) {
	for name, answer := range map[string]func(net.Conn){
		"silent": func(c net.Conn) { _, _ = c.Read(make([]byte, 4096)); time.Sleep(time.Second) },
		"http": func(c net.Conn) {
			_, _ = c.Read(make([]byte, 4096))
			c.Write([]byte("HTTP/1.0 400 Bad Request\r\n\r\n"))
		},
	} {
		t.Run(name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			var mu sync.Mutex
			accepts := 0
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					mu.Lock()
					accepts++
					mu.Unlock()
					go func() { defer c.Close(); answer(c) }()
				}
			}()
			env := &check.Env{Timeout: 300 * time.Millisecond}
			start := time.Now()
			if got := runAll(t, env, target(t, ln.Addr().String())); len(got) != 0 {
				t.Fatalf("results on a non-TLS port: %v", got)
			}
			mu.Lock()
			defer mu.Unlock()
			if accepts != 2 || time.Since(start) > 2*time.Second {
				t.Errorf("%d connections in %s, want 2 and about two timeouts", accepts, time.Since(start))
			}
		})
	}
}

// A caller that gives up does not leave its cancellation behind as the
// answer for the other checks of the scan.
func TestCancelledCallerDoesNotPoison(t *testing.T) {
	p := newPKI(t)
	srv := serve(t, hardened(issue(t, p.ca, tlstest.Leaf{})))
	a := tlscheck.NewAssessor(0, 0)
	env := p.env()
	tg := target(t, srv.Addr())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := a.Assess(ctx, env, tg); !errors.Is(err, context.Canceled) || errors.Is(err, check.ErrUnreachable) {
		t.Fatalf("cancelled: %v, want context.Canceled and not unreachable", err)
	}
	rep, err := a.Assess(context.Background(), env, tg)
	if err != nil || !rep.Protocols.Accepted(tlsprobe.TLS12) {
		t.Fatalf("after a cancelled caller: %v", err)
	}
}

func TestCacheBounded(t *testing.T) {
	p := newPKI(t)
	srv := serve(t, hardened(issue(t, p.ca, tlstest.Leaf{})))
	a := tlscheck.NewAssessor(2, time.Hour)
	tg := target(t, srv.Addr())
	envs := []*check.Env{p.env(), p.env(), p.env()}
	for _, env := range envs {
		if _, err := a.Assess(context.Background(), env, tg); err != nil {
			t.Fatal(err)
		}
	}
	before := srv.Accepts()
	// Two parts per scan, two entries at most: the first scan was evicted.
	if _, err := a.Assess(context.Background(), envs[0], tg); err != nil {
		t.Fatal(err)
	}
	if srv.Accepts() == before {
		t.Error("an evicted result was still served")
	}
}

func TestParseSSLScanXML(t *testing.T) {
	b, err := os.ReadFile("testdata/sslscan-tls10-12.xml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := tlscheck.ParseSSLScanXML(b)
	if err != nil {
		t.Fatal(err)
	}
	want := map[tlsprobe.Version]bool{tlsprobe.SSL30: false, tlsprobe.TLS10: true, tlsprobe.TLS11: true, tlsprobe.TLS12: true, tlsprobe.TLS13: false}
	if !maps.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if _, err := tlscheck.ParseSSLScanXML([]byte("<document/>")); err == nil {
		t.Error("no ssltest element accepted")
	}
}
