package http_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// jsSite serves a home page loading scripts and the scripts themselves,
// counting requests for paths under /js/.
func jsSite(page string, files map[string]string, hits *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, page)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/js/") {
			hits.Add(1)
		}
		body, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/javascript")
		fmt.Fprint(w, body)
	})
}

func TestJSLibrariesFire(t *testing.T) {
	var hits atomic.Int64
	page := `<html><head>
<script src="/js/jquery.min.js?ver=3.7.1"></script>
<script src="https://cdn.example/ajax/libs/twitter-bootstrap/3.3.7/js/bootstrap.min.js"></script>
<script src="/js/bootstrap.min.js?ver=1.0.3"></script>
<script src="/js/moment.min.js?ver=2.10.0"></script>
<script src="/js/app.js"></script>
</head><body>Cổng thông tin</body></html>`
	files := map[string]string{
		"/js/jquery.min.js":    "/*! jQuery v1.12.4 | (c) jQuery Foundation | jquery.org/license */\n!function(a,b){}",
		"/js/bootstrap.min.js": "/*!\n  * Bootstrap v5.3.2 (https://getbootstrap.com/)\n */",
		"/js/moment.min.js":    "!function(e,t){}", // minified without its banner: the ?ver= is only a hint
		"/js/app.js":           "console.log('jQuery v1.0.0 is old')",
	}
	addr := serve(t, jsSite(page, files, &hits), false)
	env := testEnv(loopback{"127.0.0.1:80": addr})
	got := runIDs(t, env, svc("127.0.0.1:80", "http", false, ""), "http.js-library-vulnerable")["http.js-library-vulnerable"]
	subjects := map[string]map[string]string{}
	for _, r := range got {
		subjects[r.Subject] = r.Evidence.Fields
	}
	if len(got) != 2 || subjects["jQuery 1.12.4"] == nil || subjects["Bootstrap 3.3.7"] == nil {
		t.Fatalf("fired on %v, want jQuery 1.12.4 (its banner, not its ?ver=) and Bootstrap 3.3.7 (CDN path)", subjects)
	}
	jq := subjects["jQuery 1.12.4"]
	if jq["version_from"] != "banner" || jq["fixed_in"] != "3.5.0" || jq["kev"] != "CVE-2020-11023" {
		t.Errorf("jQuery fields %v", jq)
	}
	for _, r := range got {
		if r.Subject == "jQuery 1.12.4" && (!r.KEV || r.Severity != "high" || len(r.CVE) != 4) {
			t.Errorf("jQuery result: kev %v severity %s cve %v", r.KEV, r.Severity, r.CVE)
		}
		if r.Subject == "Bootstrap 3.3.7" && (r.KEV || r.Severity != "medium" || r.Evidence.Fields["fixed_in"] != "3.4.1" || r.Evidence.Fields["version_from"] != "path") {
			t.Errorf("Bootstrap result: %+v", r)
		}
	}
	if n := hits.Load(); n != 3 {
		t.Errorf("fetched %d same-site scripts, want 3 (jquery, bootstrap, moment; app.js is no library)", n)
	}
}

func TestJSLibrariesHardened(t *testing.T) {
	var hits atomic.Int64
	page := `<html><head>
<script src="/js/jquery-3.7.1.min.js"></script>
<script src="https://cdn.example/npm/bootstrap@5.3.2/dist/js/bootstrap.bundle.min.js"></script>
</head><body><p>We upgraded from jquery-1.4.2.js and bootstrap 3.3.7 last year.</p></body></html>`
	files := map[string]string{"/js/jquery-3.7.1.min.js": "/*! jQuery v3.7.1 | (c) OpenJS Foundation */"}
	addr := serve(t, jsSite(page, files, &hits), false)
	env := testEnv(loopback{"127.0.0.1:80": addr})
	if got := runIDs(t, env, svc("127.0.0.1:80", "http", false, ""), "http.js-library-vulnerable"); len(got) != 0 {
		t.Fatalf("fired on a site with current libraries: %v", got)
	}
}
