package vuln

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
)

// cmsSite serves the pages of a site by path; others are 404.
func cmsSite(t *testing.T, pages map[string]string) *check.Env {
	t.Helper()
	return cmsEnv(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if strings.HasSuffix(r.URL.Path, "/") {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
		}
		w.Write([]byte(body))
	}))
}

// cmsEnv is an env whose every dial reaches h, with the test NVD data.
func cmsEnv(t *testing.T, h http.Handler) *check.Env {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	var d net.Dialer
	return &check.Env{
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		UserAgent: "Rampart-test", Timeout: 3 * time.Second, MaxRead: 1 << 20, Now: time.Now,
		Extra: map[string]any{ExtraKey: testDB(t)},
	}
}

func webTarget() check.Target {
	return check.Target{Kind: check.TargetService, Addr: netip.MustParseAddrPort("127.0.0.1:80"), Service: "http"}
}

func runCMS(t *testing.T, env *check.Env) map[string]check.Result {
	t.Helper()
	c := NewCMSKnownCVE()
	if !c.Applies(webTarget()) {
		t.Fatal("does not apply to a web service")
	}
	rs, err := c.Run(context.Background(), env, webTarget())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]check.Result{}
	for _, r := range rs {
		if r.Check != "vuln.cms-known-cve" {
			t.Errorf("result of %s", r.Check)
		}
		out[r.Subject] = r
	}
	return out
}

func TestCMSDrupalCore(t *testing.T) {
	home := `<html><head><meta name="Generator" content="Drupal 7 (http://drupal.org)" /></head><body><img src="/sites/default/files/logo.png"></body></html>`
	got := runCMS(t, cmsSite(t, map[string]string{"/": home, "/CHANGELOG.txt": "\nDrupal 7.57, 2018-02-21\n-----------------------\n- Fixed security issues.\n"}))
	r, ok := got["CVE-2018-7600"]
	if !ok || len(got) != 1 {
		t.Fatalf("Drupal 7.57: %v, want CVE-2018-7600", got)
	}
	if !r.KEV || r.Severity != "critical" || r.Evidence.Fields["version"] != "7.57" || r.Evidence.Fields["version_from"] != "/CHANGELOG.txt" {
		t.Errorf("Drupalgeddon2 result: kev %v severity %s fields %v", r.KEV, r.Severity, r.Evidence.Fields)
	}
	// Patched core, and a site that only serves a stray CHANGELOG.txt.
	if got := runCMS(t, cmsSite(t, map[string]string{"/": home, "/CHANGELOG.txt": "Drupal 7.98, 2023-06-07\n"})); len(got) != 0 {
		t.Errorf("Drupal 7.98: %v", got)
	}
	if got := runCMS(t, cmsSite(t, map[string]string{"/": "<html><body>Shop</body></html>", "/CHANGELOG.txt": "Drupal 7.57, 2018-02-21\n"})); len(got) != 0 {
		t.Errorf("not a Drupal site: %v", got)
	}
}

func TestCMSWordPressPlugin(t *testing.T) {
	home := `<html><head><meta name="generator" content="WordPress 6.4.2" />
<link rel="stylesheet" href="/wp-content/plugins/contact-form-7/includes/css/styles.css?ver=5.3.1">
<script src="/wp-content/plugins/akismet/_inc/akismet.js?ver=5.3"></script></head><body></body></html>`
	pages := map[string]string{"/": home,
		"/wp-content/plugins/contact-form-7/readme.txt": "=== Contact Form 7 ===\nContributors: takayukister\nStable tag: 5.3.1\nLicense: GPLv2\n",
		"/wp-content/plugins/akismet/readme.txt":        "=== Akismet ===\nStable tag: 5.3\n"}
	got := runCMS(t, cmsSite(t, pages))
	r, ok := got["CVE-2020-35489"]
	if !ok || len(got) != 1 {
		t.Fatalf("Contact Form 7 5.3.1: %v, want CVE-2020-35489", got)
	}
	if r.Evidence.Fields["version"] != "5.3.1" || r.Evidence.Fields["version_from"] != "/wp-content/plugins/contact-form-7/readme.txt" || !strings.Contains(r.Title, "contact-form-7") {
		t.Errorf("plugin result: %s %v", r.Title, r.Evidence.Fields)
	}
	pages["/wp-content/plugins/contact-form-7/readme.txt"] = "=== Contact Form 7 ===\nStable tag: 5.9.8\n"
	if got := runCMS(t, cmsSite(t, pages)); len(got) != 0 {
		t.Errorf("Contact Form 7 5.9.8: %v", got)
	}
}

func TestCMSNeedsTheDatabase(t *testing.T) {
	env := cmsSite(t, map[string]string{"/": "x"})
	env.Extra = map[string]any{}
	if _, err := NewCMSKnownCVE().Run(context.Background(), env, webTarget()); err != ErrNoDB {
		t.Fatalf("err = %v, want ErrNoDB", err)
	}
}
