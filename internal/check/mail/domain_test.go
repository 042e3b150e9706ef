package mail

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/dns/dnstest"
	"github.com/rampart-cert/rampart/internal/finding"
)

// Loopback addresses of the mail-domain fixtures.
const (
	dnsIP   = "127.0.25.53"
	httpsIP = "127.0.25.43"
)

const zsoa = "@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A " + dnsIP + "\nmta-sts A " + httpsIP + "\n"

// txtOf quotes s as TXT segments of at most 200 bytes.
func txtOf(s string) string {
	var segs []string
	for len(s) > 200 {
		segs = append(segs, `"`+s[:200]+`"`)
		s = s[200:]
	}
	return strings.Join(append(segs, `"`+s+`"`), " ")
}

func key(t *testing.T, bits int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("testdata/dkim-rsa%d.b64", bits))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// mailFixture is a DNS server with the test zones and an HTTPS server for
// mta-sts.<domain> policies, and an env that reaches both.
type mailFixture struct {
	env *check.Env
}

func startMailFixture(t *testing.T) *mailFixture {
	t.Helper()
	k512, k1024, k2048 := key(t, 512), key(t, 1024), key(t, 2048)
	zones := []dnstest.Zone{
		// Hardened: 2048-bit DKIM, enforced MTA-STS covering the MX, TLS-RPT.
		{Origin: "good.test.", Records: zsoa + `
@ MX 10 mail
@ MX 20 mx2
mail A 127.0.0.25
mx2 A 127.0.0.26
selector1._domainkey TXT ` + txtOf("v=DKIM1; k=rsa; p="+k2048) + `
old._domainkey TXT "v=DKIM1; p="
s1._domainkey TXT "v=DKIM1; p="
_mta-sts TXT "v=STSv1; id=20260101T000000"
_mta-sts TXT "some-other-record"
_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tls@good.test,https://report.good.test/tlsrpt"
`},
		// Weak: 512- and 1024-bit keys, policy in testing that misses an
		// MX, TLS-RPT with a plain http rua.
		{Origin: "weak.test.", Records: zsoa + `
@ MX 10 mail
@ MX 20 backup.elsewhere.test.
default._domainkey TXT ` + txtOf("v=DKIM1; k=rsa; p="+k512) + `
k1._domainkey TXT ` + txtOf("v=DKIM1; p="+k1024) + `
s1._domainkey TXT "v=DKIM1; p="
_mta-sts TXT "v=STSv1; id=1"
_smtp._tls TXT "v=TLSRPTv1; rua=http://report.weak.test/"
`},
		// A mail domain with nothing: only a revoked selector.
		{Origin: "bare.test.", Records: zsoa + "@ MX 10 mail\nmail A 127.0.0.25\ndefault._domainkey TXT \"v=DKIM1; p=\"\n"},
		// MTA-STS record problems and policy problems.
		{Origin: "badrec.test.", Records: zsoa + "@ MX 10 mail\n_mta-sts TXT \"v=STSv1; id=not-alnum!\"\n"},
		{Origin: "duprec.test.", Records: zsoa + "@ MX 10 mail\n_mta-sts TXT \"v=STSv1; id=1\"\n_mta-sts TXT \"v=STSv1; id=2\"\n"},
		{Origin: "nopolicy.test.", Records: zsoa + "@ MX 10 mail\n_mta-sts TXT \"v=STSv1; id=1\"\n"},
		{Origin: "badpolicy.test.", Records: zsoa + "@ MX 10 mail\n_mta-sts TXT \"v=STSv1; id=1\"\n"},
		{Origin: "redirect.test.", Records: zsoa + "@ MX 10 mail\n_mta-sts TXT \"v=STSv1; id=1\"\n"},
		{Origin: "wrongcert.test.", Records: zsoa + "@ MX 10 mail\n_mta-sts TXT \"v=STSv1; id=1\"\n"},
		// Not mail domains: no MX, null MX.
		{Origin: "nomx.test.", Records: zsoa + "www A 127.0.0.1\n"},
		{Origin: "nullmx.test.", Records: zsoa + "@ MX 0 .\n"},
	}
	srv, err := dnstest.Start(dnstest.Config{IP: dnsIP, Zones: zones})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })

	roots, cert := policyCA(t, "mta-sts.good.test", "mta-sts.weak.test", "mta-sts.badpolicy.test", "mta-sts.redirect.test")
	policies := map[string]string{
		"mta-sts.good.test":      "version: STSv1\r\nmode: enforce\r\nmx: mail.good.test\r\nmx: *.good.test\r\nmax_age: 604800\r\n",
		"mta-sts.weak.test":      "version: STSv1\nmode: testing\nmx: mail.weak.test\nmax_age: 86400\n",
		"mta-sts.badpolicy.test": "version: STSv1\nmode: enforce\nmax_age: 86400\n",
	}
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := strings.Cut(r.Host, ":")
		if r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(w, r)
			return
		}
		if host == "mta-sts.redirect.test" {
			http.Redirect(w, r, "https://mta-sts.good.test/.well-known/mta-sts.txt", http.StatusFound)
			return
		}
		p, ok := policies[host]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, p)
	}))
	ln, err := net.Listen("tcp", httpsIP+":0")
	if err != nil {
		t.Fatal(err)
	}
	hs.Listener = ln
	hs.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	hs.StartTLS()
	t.Cleanup(hs.Close)
	httpsAddr := ln.Addr().String()

	env := &check.Env{
		DNSServer: srv.Addr,
		Roots:     roots,
		Timeout:   2 * time.Second,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if host == httpsIP && port == "443" {
				addr = httpsAddr // every policy host is the one fixture
			} else if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				return nil, errors.New("test dialer: loopback only")
			}
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
	return &mailFixture{env: env}
}

// policyCA makes a CA, and a leaf for names signed by it.
func policyCA(t *testing.T, names ...string) (*x509.CertPool, tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fixture CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return pool, tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}
}

func runMail(t *testing.T, f *mailFixture, id, domain string) []check.Result {
	t.Helper()
	for _, c := range Checks() {
		if c.Meta().ID != id {
			continue
		}
		tg := check.Target{Kind: check.TargetDomain, Host: domain}
		if !c.Applies(tg) {
			t.Fatalf("%s does not apply to %s", id, domain)
		}
		res, err := c.Run(context.Background(), f.env, tg)
		if err != nil {
			t.Fatalf("%s on %s: %v", id, domain, err)
		}
		for _, r := range res {
			if r.Check != id || r.Title == "" || !r.Severity.Valid() {
				t.Errorf("%s on %s: malformed result %+v", id, domain, r)
			}
		}
		return res
	}
	t.Fatalf("no check %s", id)
	return nil
}

func subjects(rs []check.Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Subject+"="+string(r.Severity))
	}
	slices.Sort(out)
	return out
}

func TestMailDomainChecks(t *testing.T) {
	f := startMailFixture(t)
	cases := []struct {
		id, domain string
		want       []string // subject=severity, sorted; nil: must not fire
	}{
		{"mail.dkim-missing", "good.test", nil},
		{"mail.dkim-missing", "weak.test", nil},
		{"mail.dkim-missing", "bare.test", []string{"=info"}},
		{"mail.dkim-missing", "nomx.test", nil},
		{"mail.dkim-missing", "nullmx.test", nil},
		{"mail.dkim-weak-key", "good.test", nil},
		{"mail.dkim-weak-key", "weak.test", []string{"default=high", "k1=medium"}},
		{"mail.dkim-weak-key", "bare.test", nil},
		{"mail.mta-sts-missing", "good.test", nil},
		{"mail.mta-sts-missing", "weak.test", nil},
		{"mail.mta-sts-missing", "bare.test", []string{"=low"}},
		{"mail.mta-sts-missing", "nomx.test", nil},
		{"mail.mta-sts-invalid", "good.test", nil},
		{"mail.mta-sts-invalid", "bare.test", nil},
		{"mail.mta-sts-invalid", "weak.test", []string{"mode-testing=info", "mx-mismatch=medium"}},
		{"mail.mta-sts-invalid", "badrec.test", []string{"record=medium"}},
		{"mail.mta-sts-invalid", "duprec.test", []string{"record=medium"}},
		{"mail.mta-sts-invalid", "nopolicy.test", []string{"policy=medium"}},
		{"mail.mta-sts-invalid", "badpolicy.test", []string{"policy=medium"}},
		{"mail.mta-sts-invalid", "redirect.test", []string{"policy=medium"}},
		{"mail.mta-sts-invalid", "wrongcert.test", []string{"policy=medium"}},
		{"mail.tls-rpt-missing", "good.test", nil},
		{"mail.tls-rpt-missing", "weak.test", []string{"=info"}},
		{"mail.tls-rpt-missing", "bare.test", []string{"=info"}},
		{"mail.tls-rpt-missing", "nullmx.test", nil},
	}
	for _, c := range cases {
		t.Run(c.id+"/"+c.domain, func(t *testing.T) {
			got := runMail(t, f, c.id, c.domain)
			if s := subjects(got); !slices.Equal(s, c.want) {
				t.Fatalf("got %v, want %v; results %+v", s, c.want, got)
			}
			for _, r := range got {
				if r.Evidence.Request == "" || len(r.Evidence.Fields) == 0 {
					t.Errorf("thin evidence: %+v", r.Evidence)
				}
			}
		})
	}
}

func TestMailDomainEvidence(t *testing.T) {
	f := startMailFixture(t)
	weak := runMail(t, f, "mail.dkim-weak-key", "weak.test")
	for _, r := range weak {
		if r.Subject == "default" && (r.Evidence.Fields["bits"] != "512" || !strings.Contains(r.Evidence.Response, "DKIM1")) {
			t.Errorf("512-bit key evidence: %+v", r.Evidence)
		}
	}
	sts := runMail(t, f, "mail.mta-sts-invalid", "weak.test")
	for _, r := range sts {
		if r.Subject == "mx-mismatch" && r.Evidence.Fields["unmatched_mx"] != "backup.elsewhere.test" {
			t.Errorf("mx-mismatch evidence: %+v", r.Evidence.Fields)
		}
	}
	wc := runMail(t, f, "mail.mta-sts-invalid", "wrongcert.test")
	if len(wc) != 1 || !strings.Contains(wc[0].Evidence.Fields["error"], "certificate") {
		t.Errorf("wrong certificate: %+v", wc)
	}
}

// The policy host is an address reached through a name: the scope decides.
func TestMTASTSScope(t *testing.T) {
	f := startMailFixture(t)
	f.env.Extra = map[string]any{Family: Options{AllowAddr: func(a netip.Addr) bool { return a.String() != httpsIP }}}
	var c check.Check
	for _, x := range Checks() {
		if x.Meta().ID == "mail.mta-sts-invalid" {
			c = x
		}
	}
	_, err := c.Run(context.Background(), f.env, check.Target{Kind: check.TargetDomain, Host: "good.test"})
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("err %v, want ErrRefused", err)
	}
}

func TestMailDomainUnreachable(t *testing.T) {
	ln, err := net.ListenPacket("udp", "127.0.25.54:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.LocalAddr().String()
	ln.Close() // nobody answers there
	env := &check.Env{DNSServer: addr, Timeout: 200 * time.Millisecond}
	for _, c := range Checks()[1:] {
		_, err := c.Run(context.Background(), env, check.Target{Kind: check.TargetDomain, Host: "good.test"})
		if !errors.Is(err, check.ErrUnreachable) {
			t.Errorf("%s: err %v, want unreachable", c.Meta().ID, err)
		}
	}
}

func TestMailDomainRegister(t *testing.T) {
	r := check.NewRegistry()
	if err := Register(r); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"mail.dkim-missing", "mail.dkim-weak-key", "mail.mta-sts-missing", "mail.mta-sts-invalid", "mail.tls-rpt-missing"} {
		c, ok := r.Get(id)
		if !ok {
			t.Fatalf("%s not registered", id)
		}
		if c.Applies(check.Target{Kind: check.TargetService, Host: "x.test"}) {
			t.Errorf("%s applies to a service", id)
		}
	}
	if got := metaDKIMWeakKey.Severity; got != finding.High {
		t.Errorf("weak key default severity %s", got)
	}
}
