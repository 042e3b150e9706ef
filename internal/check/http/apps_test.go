package http_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/check"
	rhttp "github.com/rampart-cert/rampart/internal/check/http"
	"github.com/rampart-cert/rampart/internal/check/http/site"
	"github.com/rampart-cert/rampart/internal/finding"
)

// Page samples shaped like the real ones (Apache 2.4 mod_status and
// mod_info, PHP 8.2 phpinfo()), written for these tests.

const serverStatusPage = `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">
<html><head>
<title>Apache Status</title>
</head><body>
<h1>Apache Server Status for 127.0.0.1 (via 127.0.0.1)</h1>

<dl><dt>Server Version: Apache/2.4.62 (Debian)</dt>
<dt>Server MPM: event</dt>
<dt>Server Built: 2024-10-04T15:21:08
</dt></dl><hr /><dl>
<dt>Current Time: Monday, 07-Dec-2026 18:40:00 UTC</dt>
<dt>Restart Time: Monday, 07-Dec-2026 18:00:00 UTC</dt>
<dt>Parent Server Config. Generation: 1</dt>
<dt>Server uptime:  40 minutes</dt>
<dt>Total accesses: 12 - Total Traffic: 40 kB</dt>
</dl>
<table border="0"><tr><th>Srv</th><th>PID</th><th>Acc</th><th>M</th><th>CPU
</th><th>SS</th><th>Req</th><th>Dur</th><th>Conn</th><th>Child</th><th>Slot</th><th>Client</th><th>Protocol</th><th>VHost</th><th>Request</th></tr>
<tr><td><b>0-0</b></td><td>4242</td><td>0/1/1</td><td><b>W</b></td><td>0.00</td><td>0</td><td>0</td><td>0</td><td>0.0</td><td>0.00</td><td>0.00</td><td>203.0.113.9</td><td>http/1.1</td><td>portal.gov.vn:80</td><td nowrap>GET /login?token=abc HTTP/1.1</td></tr>
</table></body></html>`

const serverInfoPage = `<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN">
<html><head><title>Server Information</title></head><body><h1 style="text-align: center">Apache Server Information</h1>
<hr /><h2><a name="server">Server Settings</a></h2><dl><dt><strong>Server Version:</strong> <font size="+1"><tt>Apache/2.4.62 (Debian)</tt></font></dt>
<dt><strong>Server Built:</strong> <font size="+1"><tt>2024-10-04T15:21:08</tt></font></dt></dl><hr />
<dl><dt><a name="mod_info.c"><strong>Module Name:</strong> <font size="+1"><tt><a href="?mod_info.c">mod_info.c</a></tt></font></a></dt></dl>
<dl><dt><a name="core.c"><strong>Module Name:</strong> <font size="+1"><tt><a href="?core.c">core.c</a></tt></font></a></dt></dl>
</body></html>`

const phpinfoPage = `<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml"><head>
<style type="text/css">body {background-color: #fff;}</style>
<title>PHP 8.2.26 - phpinfo()</title><meta name="ROBOTS" content="NOINDEX,NOFOLLOW,NOARCHIVE" /></head>
<body><div class="center">
<table>
<tr class="h"><td>
<a href="http://www.php.net/"><img border="0" src="data:image/png;base64,AAAA" alt="PHP logo" /></a><h1 class="p">PHP Version 8.2.26</h1>
</td></tr>
</table>
<table>
<tr><td class="e">System </td><td class="v">Linux portal 6.1.0-28-amd64 #1 SMP Debian x86_64 </td></tr>
<tr><td class="e">Server API </td><td class="v">Apache 2.0 Handler </td></tr>
<tr><td class="e">Loaded Configuration File </td><td class="v">/etc/php/8.2/apache2/php.ini </td></tr>
</table>
<table>
<tr><td class="e">$_SERVER['DOCUMENT_ROOT']</td><td class="v">/var/www/html</td></tr>
</table>
</div></body></html>`

// appsWeakHandler serves every weakness of the new checks.
func appsWeakHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "TRACE" { // Apache "TraceEnable On": the request comes back
			w.Header().Set("Content-Type", "message/http")
			fmt.Fprintf(w, "TRACE %s HTTP/1.1\r\n", r.URL.RequestURI())
			fmt.Fprintf(w, "Host: %s\r\n", r.Host)
			for k, vs := range r.Header {
				for _, v := range vs {
					fmt.Fprintf(w, "%s: %s\r\n", k, v)
				}
			}
			return
		}
		if o := r.Header.Get("Origin"); o != "" { // a reflecting CORS middleware
			w.Header().Set("Access-Control-Allow-Origin", o)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
		}
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<html><head><title>Portal</title></head><body>Hello</body></html>`)
	})
	page := func(p, body string) {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=UTF-8")
			fmt.Fprint(w, body)
		})
	}
	page("/server-status", serverStatusPage)
	page("/server-info", serverInfoPage)
	page("/info.php", phpinfoPage)
	return mux
}

// appsHardHandler answers like a hardened server: TRACE refused (405),
// a fixed CORS allow-list, the status pages and test scripts 403/404.
func appsHardHandler(traceStatus int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "TRACE" {
			http.Error(w, "Method Not Allowed", traceStatus)
			return
		}
		if r.Header.Get("Origin") == "https://portal.gov.vn" {
			w.Header().Set("Access-Control-Allow-Origin", "https://portal.gov.vn")
			w.Header().Set("Access-Control-Allow-Credentials", "true")
		} else {
			w.Header().Set("Access-Control-Allow-Origin", "https://portal.gov.vn")
		}
		w.Header().Add("Vary", "Origin")
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<html><head><title>Portal</title></head><body>Server Version: see about page. Apache Server Status for nothing.</body></html>`)
		case "/server-status", "/server-info":
			http.Error(w, "Forbidden", http.StatusForbidden)
		case "/test.php": // a real test page that is not phpinfo()
			fmt.Fprint(w, `<html><head><title>Test</title></head><body>PHP Version check OK</body></html>`)
		default:
			http.NotFound(w, r)
		}
	})
}

// runIDs runs the named checks on target and returns ID → results.
func runIDs(t *testing.T, env *check.Env, target check.Target, ids ...string) map[string][]check.Result {
	t.Helper()
	got := map[string][]check.Result{}
	for _, c := range rhttp.Checks(site.NewCache()) {
		if !contains(ids, c.Meta().ID) {
			continue
		}
		res, err := c.Run(context.Background(), env, target)
		if err != nil {
			t.Fatalf("%s: %v", c.Meta().ID, err)
		}
		for _, r := range res {
			if r.Title == "" || r.Evidence.Request == "" || r.Evidence.Response == "" || !r.Severity.Valid() {
				t.Errorf("%s: result lacks title, severity or evidence: %+v", r.Check, r)
			}
			got[r.Check] = append(got[r.Check], r)
		}
	}
	return got
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

var appIDs = []string{"http.apache-server-status", "http.apache-server-info", "http.phpinfo-exposed", "http.trace-enabled", "http.cors-reflects-origin"}

func TestAppChecksFireOnWeakServer(t *testing.T) {
	addr := serve(t, appsWeakHandler(), false)
	env := testEnv(loopback{"127.0.0.1:80": addr})
	got := runIDs(t, env, svc("127.0.0.1:80", "http", false, ""), appIDs...)
	subjects := map[string][]string{}
	for id, rs := range got {
		for _, r := range rs {
			subjects[id] = append(subjects[id], r.Subject)
		}
	}
	want := map[string][]string{
		"http.apache-server-status": {"/server-status"},
		"http.apache-server-info":   {"/server-info"},
		"http.phpinfo-exposed":      {"/info.php"},
		"http.trace-enabled":        {"TRACE"},
		"http.cors-reflects-origin": {"Access-Control-Allow-Origin"},
	}
	if !reflect.DeepEqual(subjects, want) {
		t.Fatalf("fired %v, want %v", subjects, want)
	}
	st := got["http.apache-server-status"][0]
	if st.Evidence.Fields["server_version"] != "Apache/2.4.62 (Debian)" || st.Evidence.Fields["extended_status"] != "true" {
		t.Errorf("server-status fields %v", st.Evidence.Fields)
	}
	if strings.Contains(st.Evidence.Response, "203.0.113.9") || strings.Contains(st.Evidence.Response, "token=abc") {
		t.Errorf("server-status evidence keeps clients' addresses or URLs:\n%s", st.Evidence.Response)
	}
	if v := got["http.apache-server-info"][0].Evidence.Fields; v["server_version"] != "Apache/2.4.62 (Debian)" || v["modules"] != "2" {
		t.Errorf("server-info fields %v", v)
	}
	pi := got["http.phpinfo-exposed"][0].Evidence.Fields
	if pi["version"] != "8.2.26" || pi["server_api"] != "Apache 2.0 Handler" || pi["document_root"] != "/var/www/html" {
		t.Errorf("phpinfo fields %v", pi)
	}
	tr := got["http.trace-enabled"][0]
	if !strings.Contains(tr.Evidence.Request, "TRACE ") || !strings.Contains(tr.Evidence.Request, "X-Rampart-Trace: ") {
		t.Errorf("trace request evidence %q", tr.Evidence.Request)
	}
	cors := got["http.cors-reflects-origin"][0]
	if !strings.Contains(cors.Evidence.Request, "Origin: https://evil.example") ||
		!strings.Contains(cors.Evidence.Response, "Access-Control-Allow-Origin: https://evil.example") ||
		!strings.Contains(cors.Evidence.Response, "Access-Control-Allow-Credentials: true") {
		t.Errorf("cors evidence:\n%s\n%s", cors.Evidence.Request, cors.Evidence.Response)
	}
}

func TestAppChecksQuietOnHardenedServers(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    http.Handler
	}{
		{"TRACE 405, allow-list CORS", appsHardHandler(http.StatusMethodNotAllowed)},
		{"TRACE 501", appsHardHandler(http.StatusNotImplemented)},
		{"soft-404 portal", hardenedHandler()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := serve(t, tc.h, false)
			env := testEnv(loopback{"127.0.0.1:80": addr})
			if got := runIDs(t, env, svc("127.0.0.1:80", "http", false, ""), append(appIDs, "http.admin-console-exposed")...); len(got) != 0 {
				t.Errorf("hardened server fired %v", got)
			}
		})
	}
}

// TRACE answered 200 without the echo (a framework that routes TRACE to
// the page) is not TRACE enabled.
func TestTraceWithoutEchoDoesNotFire(t *testing.T) {
	addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<html><body>home</body></html>")
	}), false)
	env := testEnv(loopback{"127.0.0.1:80": addr})
	if got := runIDs(t, env, svc("127.0.0.1:80", "http", false, ""), "http.trace-enabled"); len(got) != 0 {
		t.Errorf("fired %v", got)
	}
}

// consoleHandler serves the named consoles; open says whether they let
// anonymous users in.
func consoleHandler(open bool) http.Handler {
	mux := http.NewServeMux()
	js := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	deny := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"message":"Unauthorized"}`)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, "<html><title>Tools</title></html>")
	})
	// Jenkins
	mux.HandleFunc("/api/json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Jenkins", "2.426.3")
		if !open {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `<html><head><meta http-equiv='refresh' content='1;url=/login?from=%2Fapi%2Fjson'/></head><body>Authentication required</body></html>`)
			return
		}
		js(w, map[string]any{"_class": "hudson.model.Hudson", "jobs": []any{map[string]string{"name": "deploy-portal"}}})
	})
	mux.HandleFunc("/script", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Jenkins", "2.426.3")
		if !open {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		fmt.Fprint(w, `<html><head><title>Script Console [Jenkins]</title></head><body><h1>Script Console</h1><form><textarea name="script"></textarea></form></body></html>`)
	})
	// GitLab
	mux.HandleFunc("/api/v4/projects", func(w http.ResponseWriter, r *http.Request) {
		if !open {
			js(w, []any{})
			return
		}
		js(w, []map[string]any{{"id": 3, "path_with_namespace": "it/portal", "web_url": "https://git.gov.vn/it/portal"}})
	})
	// Kibana
	mux.HandleFunc("/api/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Kbn-Name", "kibana")
		if !open {
			deny(w)
			return
		}
		js(w, map[string]any{"name": "kibana", "uuid": "5b2de169-2785-441b-ae8c-186a1936b17d", "version": map[string]any{"number": "8.11.3", "build_hash": "x"}})
	})
	// Grafana: health is public, search only when anonymous access is on.
	mux.HandleFunc("/api/health", func(w http.ResponseWriter, r *http.Request) {
		js(w, map[string]string{"commit": "abc", "database": "ok", "version": "10.2.3"})
	})
	mux.HandleFunc("/api/search", func(w http.ResponseWriter, r *http.Request) {
		if !open {
			deny(w)
			return
		}
		js(w, []map[string]any{{"uid": "a", "title": "Servers"}})
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<html><title>Grafana</title><form><input type="password"></form></html>`)
	})
	// Prometheus
	mux.HandleFunc("/api/v1/status/buildinfo", func(w http.ResponseWriter, r *http.Request) {
		if !open {
			deny(w)
			return
		}
		js(w, map[string]any{"status": "success", "data": map[string]string{"version": "2.45.3"}})
	})
	mux.HandleFunc("/api/v1/status/config", func(w http.ResponseWriter, r *http.Request) {
		if !open {
			deny(w)
			return
		}
		js(w, map[string]any{"status": "success", "data": map[string]string{"yaml": "global:\n  scrape_interval: 15s\nscrape_configs:\n- job_name: node\n- job_name: db\n"}})
	})
	// Tomcat manager
	mux.HandleFunc("/manager/html", func(w http.ResponseWriter, r *http.Request) {
		if !open {
			w.Header().Set("WWW-Authenticate", `Basic realm="Tomcat Manager Application"`)
			http.Error(w, "401 Unauthorized", http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, `<html><head><title>/manager</title></head><body><table><tr><td class="page-title">Tomcat Web Application Manager</td></tr></table></body></html>`)
	})
	return mux
}

// portainerHandler is a Portainer whose administrator exists or not.
func portainerHandler(initialised bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, "<html><title>Portainer</title></html>")
	})
	mux.HandleFunc("/api/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"Version":"2.19.4","InstanceID":"7c1a3f0e-41d4-4c8a-9f1e-3e2b1c0d9a8b"}`)
	})
	mux.HandleFunc("/api/users/admin/check", func(w http.ResponseWriter, r *http.Request) {
		if initialised {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"message":"No administrator account found inside the database","details":"Object not found inside the database"}`)
	})
	return mux
}

func consoleGrades(t *testing.T, h http.Handler) map[string]string {
	t.Helper()
	addr := serve(t, h, false)
	env := testEnv(loopback{"127.0.0.1:8080": addr})
	got := map[string]string{}
	for _, r := range runIDs(t, env, svc("127.0.0.1:8080", "http", false, ""), "http.admin-console-exposed")["http.admin-console-exposed"] {
		got[r.Subject] = string(r.Severity) + " " + r.Evidence.Fields["access"] + " " + r.Evidence.Fields["version"]
	}
	return got
}

func TestAdminConsoles(t *testing.T) {
	open := consoleGrades(t, consoleHandler(true))
	want := map[string]string{
		"jenkins":        string(finding.Critical) + " anonymous-admin 2.426.3",
		"gitlab":         string(finding.Info) + " public-projects ",
		"kibana":         string(finding.High) + " anonymous-read 8.11.3",
		"grafana":        string(finding.Medium) + " anonymous-read 10.2.3",
		"prometheus":     string(finding.Medium) + " anonymous-read 2.45.3",
		"tomcat-manager": string(finding.Critical) + " anonymous-admin ",
	}
	if !reflect.DeepEqual(open, want) {
		t.Errorf("open consoles:\n got %v\nwant %v", open, want)
	}
	// Closed: Jenkins 403, GitLab no public project, Kibana 401, Grafana
	// login only, Prometheus behind auth: only the Tomcat manager's 401
	// realm is reported, as low.
	closed := consoleGrades(t, consoleHandler(false))
	if want := map[string]string{"tomcat-manager": string(finding.Low) + " login-required "}; !reflect.DeepEqual(closed, want) {
		t.Errorf("closed consoles:\n got %v\nwant %v", closed, want)
	}
	if got := consoleGrades(t, portainerHandler(false)); got["portainer"] != string(finding.Critical)+" setup-open 2.19.4" || len(got) != 1 {
		t.Errorf("uninitialised portainer: %v", got)
	}
	if got := consoleGrades(t, portainerHandler(true)); got["portainer"] != string(finding.Low)+" login-required 2.19.4" || len(got) != 1 {
		t.Errorf("initialised portainer: %v", got)
	}
}

func TestParsersOnLookalikes(t *testing.T) {
	if _, ok := rhttp.ParseServerStatus([]byte(`<html><body>Apache Server Status for blog post about monitoring</body></html>`)); ok {
		t.Error("a page quoting the heading is not server-status")
	}
	if _, ok := rhttp.ParsePHPInfo([]byte(`<html><body><h1>PHP Version 8</h1> we removed phpinfo() from here</body></html>`)); ok {
		t.Error("prose about phpinfo() is not phpinfo")
	}
	if info, ok := rhttp.ParsePHPInfo([]byte("phpinfo()\nPHP Version => 7.4.33\n\nSystem => Linux\n")); !ok || info.Version != "7.4.33" {
		t.Errorf("text phpinfo: %v %v", info, ok)
	}
	if rhttp.CORSReflects(http.Header{"Access-Control-Allow-Origin": {"*"}, "Access-Control-Allow-Credentials": {"true"}}, "https://evil.example") {
		t.Error("a wildcard is not reflection (browsers refuse it with credentials)")
	}
	if rhttp.CORSReflects(http.Header{"Access-Control-Allow-Origin": {"https://evil.example"}}, "https://evil.example") {
		t.Error("reflection without credentials is not this check")
	}
	if got := rhttp.TomcatManager(401, `Basic realm="Restricted"`, nil); got != "" {
		t.Errorf("another realm: %q", got)
	}
}

func FuzzAppPages(f *testing.F) {
	for _, s := range []string{serverStatusPage, serverInfoPage, phpinfoPage, "phpinfo()\nPHP Version => 7.4.33\n", "TRACE / HTTP/1.1\r\nX-Rampart-Trace: 00ff\r\n", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if st, ok := rhttp.ParseServerStatus(b); ok && len(st.Version) > 200 {
			t.Fatalf("version too long: %d", len(st.Version))
		}
		_, _ = rhttp.ParseServerInfo(b)
		if info, ok := rhttp.ParsePHPInfo(b); ok && info.Version == "" {
			t.Fatal("phpinfo without a version")
		}
		_ = rhttp.TraceEchoes(b, "X-Rampart-Trace", "00ff")
		_ = rhttp.TomcatManager(200, string(b), b)
		_ = rhttp.TomcatManager(401, string(b), b)
	})
}

// Text the target chooses (a version, project names) is clipped before it
// reaches titles and evidence fields.
func TestConsoleTextClipped(t *testing.T) {
	long := strings.Repeat("9", 10000)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "<html></html>") })
	mux.HandleFunc("/api/health", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"database":"ok","version":"%s"}`, long)
	})
	mux.HandleFunc("/api/search", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `[]`) })
	addr := serve(t, mux, false)
	env := testEnv(loopback{"127.0.0.1:3000": addr})
	rs := runIDs(t, env, svc("127.0.0.1:3000", "http", false, ""), "http.admin-console-exposed")["http.admin-console-exposed"]
	if len(rs) != 1 || rs[0].Subject != "grafana" {
		t.Fatalf("results %+v", rs)
	}
	if v := rs[0].Evidence.Fields["version"]; len(v) > 64+len("…") || len(rs[0].Title) > 200 {
		t.Errorf("version %d bytes, title %d bytes", len(v), len(rs[0].Title))
	}
}
