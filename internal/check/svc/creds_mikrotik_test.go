package svc

import (
	"net/http"
	"net/netip"
	"sync/atomic"
	"testing"
)

// routerOS imitates a MikroTik router's web server as its manual
// describes it: webfig's landing page on /, and on version 7 the REST API
// under /rest with HTTP Basic authentication (401 with a JSON error
// without a good login, the resource record with one). v6 has no /rest.
// Every request to /rest that carries credentials counts as an attempt.
type routerOS struct {
	v6       bool
	password string // admin's
	attempts atomic.Int32
}

const webfigPage = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>RouterOS router configuration page</title>` +
	`<link rel="stylesheet" href="/webfig/default.css"></head><body><div id="box"><a href="/webfig/">Webfig</a>` +
	`<a href="https://mikrotik.com/download">Winbox</a></div><div>mikrotik routeros 7.16.1 configuration page</div></body></html>`

func (ro *routerOS) serve(t *testing.T) netip.AddrPort {
	return serveHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/":
			w.Write([]byte(webfigPage))
		case r.URL.Path == "/rest/system/resource" && !ro.v6:
			user, pass, ok := r.BasicAuth()
			if ok {
				ro.attempts.Add(1)
			}
			if !ok || user != "admin" || pass != ro.password {
				w.Header().Set("WWW-Authenticate", `Basic realm="RouterOS"`)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				w.Write([]byte(`{"error":401,"message":"Unauthorized"}`))
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"architecture-name":"arm64","board-name":"hAP ax^2","build-time":"2024-10-30 14:34:22","cpu":"ARM64",` +
				`"cpu-count":"4","free-memory":"845152256","platform":"MikroTik","uptime":"3d2h1m","version":"7.16.1 (stable)"}`))
		default:
			http.NotFound(w, r)
		}
	})
}

func TestCredentialsMikroTik(t *testing.T) {
	ro := &routerOS{}
	rs := runCreds(t, target(ro.serve(t), "http"))
	if len(rs) != 1 || rs[0].Subject != "mikrotik-routeros:admin" || rs[0].Evidence.Fields["password"] != loginEmpty ||
		rs[0].Evidence.Fields["version"] != "7.16.1 (stable)" || rs[0].Evidence.Fields["board"] != "hAP ax^2" {
		t.Fatalf("admin without a password: %+v", rs)
	}
	if ro.attempts.Load() != 1 {
		t.Fatalf("%d attempts", ro.attempts.Load())
	}
	// Hardened: admin has a password, the REST API answers 401.
	ro = &routerOS{password: "Vq8-long-unguessable-9"}
	if rs := runCreds(t, target(ro.serve(t), "http")); len(rs) != 0 || ro.attempts.Load() != 1 {
		t.Fatalf("admin with a password: %+v, %d attempts", rs, ro.attempts.Load())
	}
	// RouterOS 6: webfig without /rest, even with admin still open:
	// nothing is tried, nothing reported.
	ro = &routerOS{v6: true}
	if rs := runCreds(t, target(ro.serve(t), "http")); len(rs) != 0 || ro.attempts.Load() != 0 {
		t.Fatalf("RouterOS 6: %+v, %d attempts", rs, ro.attempts.Load())
	}
	// A site that is no RouterOS gets no attempt, though it has a /rest
	// path that asks for Basic.
	var other atomic.Int32
	site := serveHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/rest/system/resource" {
			if r.Header.Get("Authorization") != "" {
				other.Add(1)
			}
			w.Header().Set("WWW-Authenticate", `Basic realm="api"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Write([]byte("<html><title>Welcome to nginx!</title></html>"))
	})
	if rs := runCreds(t, target(site, "http")); len(rs) != 0 || other.Load() != 0 {
		t.Fatalf("plain site: %+v, %d attempts", rs, other.Load())
	}
}

func TestRouterOSResource(t *testing.T) {
	for body, want := range map[string]string{
		`{"version":"7.12 (stable)","board-name":"CHR"}`:   "7.12 (stable)",
		`[{"version":"7.1beta4 (development)","cpu":"x"}]`: "7.1beta4 (development)",
		`{"error":401,"message":"Unauthorized"}`:           "",
		`[]`:                                               "",
		`<html>`:                                           "",
	} {
		if v, _, ok := routerOSResource([]byte(body)); v != want || ok != (want != "") {
			t.Errorf("%s: %q %v", body, v, ok)
		}
	}
}

func FuzzRouterOSResource(f *testing.F) {
	f.Add([]byte(`{"version":"7.16.1 (stable)","board-name":"hAP ax^2","platform":"MikroTik"}`))
	f.Add([]byte(`[{"version":"7.1"}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if v, _, ok := routerOSResource(b); ok && v == "" {
			t.Fatal("a record without version accepted")
		}
	})
}
