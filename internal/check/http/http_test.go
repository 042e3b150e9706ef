package http_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/check"
	rhttp "github.com/rampart-cert/rampart/internal/check/http"
	"github.com/rampart-cert/rampart/internal/check/http/site"
)

// runAll runs every http check on target and returns check ID → subjects.
func runAll(t *testing.T, env *check.Env, target check.Target) (map[string][]string, []check.Result) {
	t.Helper()
	got := map[string][]string{}
	var all []check.Result
	for _, c := range rhttp.Checks(site.NewCache()) {
		if !c.Applies(target) {
			continue
		}
		res, err := c.Run(context.Background(), env, target)
		if err != nil {
			t.Fatalf("%s on %s: %v", c.Meta().ID, target, err)
		}
		for _, r := range res {
			// http.admin-console-exposed grades each console on its own.
			if r.Check != c.Meta().ID || !r.Severity.Valid() || (r.Severity != c.Meta().Severity && r.Check != "http.admin-console-exposed") {
				t.Errorf("%s: result carries check %q severity %q", c.Meta().ID, r.Check, r.Severity)
			}
			if r.Title == "" || r.Evidence.Request == "" || r.Evidence.Response == "" {
				t.Errorf("%s: result lacks title or evidence: %+v", c.Meta().ID, r)
			}
			if len(r.Evidence.Response) > check.MaxEvidence+len("…[truncated]") {
				t.Errorf("%s: evidence over cap", c.Meta().ID)
			}
			got[r.Check] = append(got[r.Check], r.Subject)
			all = append(all, r)
		}
	}
	for k := range got {
		slices.Sort(got[k])
	}
	return got, all
}

func TestWeakSiteFiresEveryCheck(t *testing.T) {
	weak := serve(t, weakHandler(""), false)
	weakTLS := serve(t, weakHandler(""), true)
	shortHSTS := serve(t, weakHandler("max-age=3600"), true)

	exposures := map[string][]string{
		"http.missing-security-headers": {"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options"},
		"http.version-disclosure":       {"Server", "X-Powered-By"},
		"http.exposed-git":              {"/.git/"},
		"http.exposed-env":              {"/.env"},
		"http.exposed-backup":           {"/backup.zip", "/db.sql"},
		"http.directory-listing":        {"/uploads/"},
		"http.exposed-admin-panel":      {"/manager/html", "/wp-admin/"},
		"http.admin-console-exposed":    {"tomcat-manager"},
	}
	with := func(extra map[string][]string) map[string][]string {
		out := map[string][]string{}
		for k, v := range exposures {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	tests := []struct {
		name   string
		routes loopback
		target check.Target
		want   map[string][]string
	}{
		{"plain service on port 80", loopback{"127.0.0.1:80": weak}, svc("127.0.0.1:80", "http", false, ""),
			with(map[string][]string{"http.no-https-redirect": {""}})},
		{"plain URL", loopback{"weak.gov.vn:80": weak}, check.Target{Kind: check.TargetURL, URL: "http://weak.gov.vn/"},
			with(map[string][]string{"http.no-https-redirect": {""}})},
		{"https service without HSTS", loopback{"127.0.0.1:443": weakTLS}, svc("127.0.0.1:443", "https", true, "portal.weak.gov.vn"),
			with(map[string][]string{"http.missing-hsts": {"Strict-Transport-Security"}})},
		{"TLS on a web port, unnamed service", loopback{"127.0.0.1:8443": shortHSTS}, svc("127.0.0.1:8443", "", true, ""),
			with(map[string][]string{"http.missing-hsts": {"Strict-Transport-Security"}})},
		{"https URL, port 80 serves content", loopback{"weak.gov.vn:443": weakTLS, "weak.gov.vn:80": weak},
			check.Target{Kind: check.TargetURL, URL: "https://weak.gov.vn/"},
			with(map[string][]string{"http.missing-hsts": {"Strict-Transport-Security"}, "http.no-https-redirect": {""}})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := runAll(t, testEnv(tt.routes), tt.target)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("fired:\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestHardenedSiteFiresNothing(t *testing.T) {
	redir := serve(t, redirectHandler(), false)
	hard := serve(t, hardenedHandler(), true)
	routes := loopback{"hard.gov.vn:80": redir, "hard.gov.vn:443": hard, "127.0.0.1:80": redir, "127.0.0.1:443": hard}
	for _, target := range []check.Target{
		svc("127.0.0.1:80", "http", false, "hard.gov.vn"),
		svc("127.0.0.1:443", "https", true, "hard.gov.vn"),
		svc("127.0.0.1:443", "https", true, ""),
		{Kind: check.TargetURL, URL: "https://hard.gov.vn/"},
		{Kind: check.TargetURL, URL: "http://hard.gov.vn/"},
	} {
		t.Run(target.String(), func(t *testing.T) {
			got, all := runAll(t, testEnv(routes), target)
			if len(got) != 0 {
				for _, r := range all {
					t.Logf("%s %s: %s\n%s", r.Check, r.Subject, r.Title, r.Evidence.Response)
				}
				t.Errorf("hardened site fired %v", got)
			}
		})
	}
}

func TestEvidenceRedactsEnvValues(t *testing.T) {
	weak := serve(t, weakHandler(""), false)
	_, all := runAll(t, testEnv(loopback{"127.0.0.1:80": weak}), svc("127.0.0.1:80", "http", false, ""))
	for _, r := range all {
		if r.Check != "http.exposed-env" {
			continue
		}
		if strings.Contains(r.Evidence.Response, "Sup3rS3cret") || strings.Contains(r.Evidence.Response, "c2VjcmV0") {
			t.Fatalf("evidence leaks a secret: %s", r.Evidence.Response)
		}
		if r.Evidence.Fields["secret_keys"] != "APP_KEY DB_PASSWORD MAIL_PASSWORD" {
			t.Errorf("secret keys = %q", r.Evidence.Fields["secret_keys"])
		}
		return
	}
	t.Fatal("no exposed-env result")
}

func TestUnreachableIsNotSilence(t *testing.T) {
	env := testEnv(loopback{})
	target := svc("127.0.0.1:80", "http", false, "")
	for _, c := range rhttp.Checks(site.NewCache()) {
		if !c.Applies(target) {
			continue
		}
		_, err := c.Run(context.Background(), env, target)
		if !errors.Is(err, check.ErrUnreachable) {
			t.Errorf("%s: err = %v, want ErrUnreachable", c.Meta().ID, err)
		}
	}
}

func TestRegisterAndApplies(t *testing.T) {
	r := check.NewRegistry()
	if err := rhttp.Register(r); err != nil {
		t.Fatal(err)
	}
	if n := len(r.Select([]string{"http"})); n != 16 {
		t.Fatalf("registered %d http checks, want 16", n)
	}
	for _, c := range r.All() {
		m := c.Meta()
		if m.Description.EN == "" || m.Description.VI == "" || len(m.References) == 0 {
			t.Errorf("%s: incomplete metadata", m.ID)
		}
		if c.Applies(svc("127.0.0.1:22", "ssh", false, "")) || c.Applies(check.Target{Kind: check.TargetDomain, Host: "x.gov.vn"}) {
			t.Errorf("%s applies to a non-web target", m.ID)
		}
	}
	hsts, _ := r.Get("http.missing-hsts")
	if hsts.Applies(svc("127.0.0.1:80", "http", false, "")) {
		t.Error("missing-hsts applies to plain http")
	}
	redir, _ := r.Get("http.no-https-redirect")
	if redir.Applies(svc("127.0.0.1:8080", "http", false, "")) {
		t.Error("no-https-redirect applies to port 8080")
	}
}

func TestSharedCacheReusesPage(t *testing.T) {
	count := 0
	h := weakHandler("")
	addr := serve(t, httpCounter(h, &count), false)
	env := testEnv(loopback{"127.0.0.1:80": addr})
	env.Extra[site.ExtraKey] = site.NewCache()
	target := svc("127.0.0.1:80", "http", false, "")
	for _, id := range []string{"http.missing-security-headers", "http.version-disclosure", "http.no-https-redirect"} {
		for _, c := range rhttp.Checks(site.NewCache()) {
			if c.Meta().ID == id {
				if _, err := c.Run(context.Background(), env, target); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if count != 1 {
		t.Errorf("GET / sent %d times, want 1", count)
	}
}
