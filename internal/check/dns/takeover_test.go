package dns

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/dns/dnstest"
	"github.com/rampart-cert/rampart/internal/finding"
)

const (
	takeoverDNS  = "127.0.54.1"
	takeoverHTTP = "127.0.54.2"
	// takeoverPage is the "nothing here" page of the test-only provider.
	takeoverPage = "Fakecloud: no such site is configured for this host"
)

// fakecloud is a provider known only to the tests: injected through
// Options, never shipped.
var fakecloud = TakeoverProvider{
	Provider: "Fakecloud", Suffixes: []string{"fakecloud.test"},
	Fingerprints: []string{takeoverPage},
}

var fakevanish = TakeoverProvider{Provider: "Fakevanish", Suffixes: []string{"vanish.test"}, NXDomain: true}

func startTakeover(t *testing.T) *check.Env {
	t.Helper()
	tsoa := "@ SOA ns1 h 1 3600 600 86400 300\n@ NS ns1\nns1 A " + takeoverDNS + "\n"
	srv, err := dnstest.Start(dnstest.Config{IP: takeoverDNS, Zones: []dnstest.Zone{
		{Origin: "org.test.", Records: tsoa + `
unclaimed CNAME org-site.fakecloud.test.
live      CNAME org-live.fakecloud.test.
via       CNAME hop.org.test.
hop       CNAME org-site.fakecloud.test.
gone      CNAME org-old.vanish.test.
kept      CNAME org-kept.vanish.test.
bucket    CNAME org-assets.s3.amazonaws.com.
bucketok  CNAME org-live.s3.amazonaws.com.
plain     CNAME www.org.test.
www       A 127.0.54.2
nohttp    CNAME org-closed.fakecloud.test.
`},
		{Origin: "fakecloud.test.", Records: tsoa + "org-site A " + takeoverHTTP + "\norg-live A " + takeoverHTTP + "\norg-closed A 127.0.54.3\n"},
		{Origin: "vanish.test.", Records: tsoa + "org-kept A " + takeoverHTTP + "\n"},
		{Origin: "s3.amazonaws.com.", Records: tsoa + "org-assets A " + takeoverHTTP + "\norg-live A " + takeoverHTTP + "\n"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch strings.Split(r.Host, ":")[0] {
		case "unclaimed.org.test", "via.org.test":
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, "<html><body><h1>404</h1><p>%s</p></body></html>", takeoverPage)
		case "bucket.org.test":
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><BucketName>bucket.org.test</BucketName></Error>`)
		default: // a real site that mentions the provider in passing
			fmt.Fprint(w, "<html><title>Org</title><body>Hosted on Fakecloud. Welcome.</body></html>")
		}
	}))
	ln, err := net.Listen("tcp", takeoverHTTP+":0")
	if err != nil {
		t.Fatal(err)
	}
	hs.Listener = ln
	hs.Start()
	t.Cleanup(hs.Close)
	return &check.Env{
		DNSServer: srv.Addr,
		Timeout:   time.Second,
		Dial:      loopbackDialer(map[string]string{takeoverHTTP + ":80": ln.Addr().String()}),
		Extra:     map[string]any{"dns": Options{TakeoverProviders: []TakeoverProvider{fakecloud, fakevanish}}},
	}
}

func TestSubdomainTakeover(t *testing.T) {
	env := startTakeover(t)
	c := mustCheck(t, "dns.subdomain-takeover")
	for _, tc := range []struct {
		host, target, signal string
	}{
		{"unclaimed.org.test", "org-site.fakecloud.test", "fingerprint"},
		{"via.org.test", "org-site.fakecloud.test", "fingerprint"},
		{"gone.org.test", "org-old.vanish.test", "nxdomain"},
		{"bucket.org.test", "org-assets.s3.amazonaws.com", "fingerprint"},
		// Hardened: the same providers with claimed resources.
		{"live.org.test", "", ""},
		{"kept.org.test", "", ""},
		{"bucketok.org.test", "", ""},
		{"plain.org.test", "", ""},
		{"www.org.test", "", ""},
		{"nohttp.org.test", "", ""},
		{"missing.org.test", "", ""},
	} {
		t.Run(tc.host, func(t *testing.T) {
			got, err := c.Run(context.Background(), env, domain(tc.host))
			if err != nil {
				t.Fatal(err)
			}
			if tc.target == "" {
				if len(got) != 0 {
					t.Fatalf("fired on a claimed resource: %+v", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d results, want 1: %+v", len(got), got)
			}
			r := got[0]
			if r.Severity != finding.Critical || r.Subject != tc.target || r.Evidence.Fields["signal"] != tc.signal ||
				!strings.Contains(r.Evidence.Request, "IN CNAME") {
				t.Errorf("result %+v", r)
			}
			if tc.signal == "fingerprint" && !strings.Contains(r.Evidence.Response, r.Evidence.Fields["fingerprint"]) {
				t.Errorf("evidence lacks the page: %q", r.Evidence.Response)
			}
		})
	}
}

// Without the injected providers the test suffixes mean nothing: the
// shipped table holds no test entry.
func TestSubdomainTakeoverShippedTable(t *testing.T) {
	env := startTakeover(t)
	env.Extra = nil
	c := mustCheck(t, "dns.subdomain-takeover")
	for _, h := range []string{"unclaimed.org.test", "gone.org.test"} {
		if got, err := c.Run(context.Background(), env, domain(h)); err != nil || len(got) != 0 {
			t.Errorf("%s: %+v %v", h, got, err)
		}
	}
	ps, err := shippedTakeover()
	if err != nil || len(ps) < 20 {
		t.Fatalf("shipped table: %d entries, %v", len(ps), err)
	}
	for _, p := range ps {
		if strings.HasSuffix(strings.Join(p.Suffixes, " "), ".test") {
			t.Errorf("test provider shipped: %+v", p)
		}
	}
	for target, want := range map[string]string{"org.github.io": "GitHub Pages", "x.s3-website-us-east-1.amazonaws.com": "Amazon S3",
		"x.s3.eu-west-1.amazonaws.com": "Amazon S3", "app.azurewebsites.net": "Azure", "github.io.evil.test": "", "notgithub.io": ""} {
		got := ""
		for i := range ps {
			if ps[i].matches(target) {
				got = ps[i].Provider
				break
			}
		}
		if got != want {
			t.Errorf("%s matched %q, want %q", target, got, want)
		}
	}
	if _, err := (TakeoverProvider{Provider: "x", Suffixes: []string{"a"}}).compile(); err == nil {
		t.Error("provider without a signal accepted")
	}
}

// The page of a provider's address outside the scope is not fetched.
func TestSubdomainTakeoverScope(t *testing.T) {
	env := startTakeover(t)
	env.Extra = map[string]any{"dns": Options{TakeoverProviders: []TakeoverProvider{fakecloud, fakevanish},
		AllowAddr: func(a netip.Addr) bool { return a.String() != takeoverHTTP }}}
	c := mustCheck(t, "dns.subdomain-takeover")
	if _, err := c.Run(context.Background(), env, domain("unclaimed.org.test")); !isUnreachable(err) {
		t.Fatalf("err %v, want unreachable", err)
	}
	// NXDOMAIN needs no connection.
	if got, err := c.Run(context.Background(), env, domain("gone.org.test")); err != nil || len(got) != 1 {
		t.Fatalf("nxdomain under scope: %+v %v", got, err)
	}
}

func TestSubdomainTakeoverUnreachable(t *testing.T) {
	env := &check.Env{DNSServer: "127.0.54.9:53", Timeout: 200 * time.Millisecond, Dial: loopbackDialer(nil)}
	if _, err := mustCheck(t, "dns.subdomain-takeover").Run(context.Background(), env, domain("x.org.test")); !isUnreachable(err) {
		t.Fatalf("err %v, want unreachable", err)
	}
}
