package template

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
)

func load(t *testing.T) map[string]*Template {
	t.Helper()
	ts, errs := LoadDir("testdata/good")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	m := map[string]*Template{}
	for _, x := range ts {
		m[x.ID] = x
	}
	return m
}

func httpServer(t *testing.T, h http.HandlerFunc) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return netip.MustParseAddrPort(ln.Addr().String())
}

func env() *check.Env { return &check.Env{Timeout: 2 * time.Second, UserAgent: "Rampart-test"} }

func TestTraversalTemplate(t *testing.T) {
	tpl := load(t)["template.cve-2021-41773"]
	var gotPath string
	vuln := httpServer(t, func(w http.ResponseWriter, r *http.Request) {
		gotPath = r.RequestURI
		w.Header().Set("Server", "Apache/2.4.49 (Unix)")
		if strings.Contains(r.RequestURI, ".%2e/") {
			io.WriteString(w, "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n")
			return
		}
		http.NotFound(w, r)
	})
	tg := check.Target{Kind: check.TargetService, Addr: vuln, Service: "http"}
	if !tpl.Applies(tg) {
		t.Fatal("does not apply to http")
	}
	rs, err := tpl.Run(context.Background(), env(), tg)
	if err != nil || len(rs) != 1 {
		t.Fatalf("vulnerable: %v %+v (server saw %q)", err, rs, gotPath)
	}
	r := rs[0]
	if r.Severity != "critical" || !r.KEV || len(r.CVE) != 2 || r.Evidence.Fields["server"] != "Apache/2.4.49 (Unix)" || !strings.Contains(r.Evidence.Response, "root:x:0:0") {
		t.Fatalf("result = %+v", r)
	}
	if gotPath != "/icons/.%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd" {
		t.Fatalf("path sent as %q, want the raw encoding", gotPath)
	}
	patched := httpServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "Apache/2.4.62 (Unix)")
		w.WriteHeader(400)
		io.WriteString(w, "Bad Request")
	})
	if rs, err := tpl.Run(context.Background(), env(), check.Target{Kind: check.TargetService, Addr: patched, Service: "http"}); err != nil || len(rs) != 0 {
		t.Fatalf("patched: %v %+v", err, rs)
	}
	// A soft-200 page that does not contain passwd content stays silent.
	soft := httpServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>Trang chủ</html>") })
	if rs, _ := tpl.Run(context.Background(), env(), check.Target{Kind: check.TargetService, Addr: soft, Service: "http"}); len(rs) != 0 {
		t.Fatalf("soft 200: %+v", rs)
	}
}

func TestTCPTemplate(t *testing.T) {
	tpl := load(t)["template.redis-open-info"]
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 64)
			c.Read(buf)
			io.WriteString(c, "$40\r\n# Server\r\nredis_version:7.0.15\r\n")
			c.Close()
		}
	}()
	ap := netip.MustParseAddrPort(ln.Addr().String())
	tg := check.Target{Kind: check.TargetService, Addr: netip.AddrPortFrom(ap.Addr(), 6379)}
	if !tpl.Applies(tg) {
		t.Fatal("port rule")
	}
	tg.Addr = ap
	rs, err := tpl.Run(context.Background(), env(), tg)
	if err != nil || len(rs) != 1 || rs[0].Evidence.Fields["version"] != "7.0.15" {
		t.Fatalf("%v %+v", err, rs)
	}
}

func TestJSONAndNegativeMatchers(t *testing.T) {
	tpl := load(t)["template.elastic-old"]
	body := `{"version":{"number":"6.8.23"}}`
	h := func(extra string) netip.AddrPort {
		return httpServer(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, strings.Replace(body, "}}", "}"+extra+"}", 1))
		})
	}
	rs, _ := tpl.Run(context.Background(), env(), check.Target{Kind: check.TargetService, Addr: h(""), Service: "http"})
	if len(rs) != 1 || rs[0].Evidence.Fields["version"] != "6.8.23" {
		t.Fatalf("old ES: %+v", rs)
	}
	rs, _ = tpl.Run(context.Background(), env(), check.Target{Kind: check.TargetService, Addr: h(`,"x":"forbidden"`), Service: "http"})
	if len(rs) != 0 {
		t.Fatalf("negative matcher ignored: %+v", rs)
	}
	body = `{"version":{"number":"8.15.0"}}`
	rs, _ = tpl.Run(context.Background(), env(), check.Target{Kind: check.TargetService, Addr: h(""), Service: "http"})
	if len(rs) != 0 {
		t.Fatalf("new ES fired: %+v", rs)
	}
}

func TestLintErrors(t *testing.T) {
	ts, errs := LoadDir("testdata/bad")
	if len(ts) != 0 || len(errs) != 3 {
		t.Fatalf("templates %d, errors %v", len(ts), errs)
	}
	all := fmt.Sprint(errs)
	for _, want := range []string{"unknown-key.yaml", "field matcher not found", "DELETE", "regex"} {
		if !strings.Contains(all, want) {
			t.Errorf("errors do not mention %q: %s", want, all)
		}
	}
	for _, e := range errs {
		if !errors.Is(e, ErrTemplate) {
			t.Errorf("not ErrTemplate: %v", e)
		}
	}
}

func TestUnreachable(t *testing.T) {
	tpl := load(t)["template.cve-2021-41773"]
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ap := netip.MustParseAddrPort(ln.Addr().String())
	ln.Close()
	_, err := tpl.Run(context.Background(), env(), check.Target{Kind: check.TargetService, Addr: ap, Service: "http"})
	if !errors.Is(err, check.ErrUnreachable) {
		t.Fatalf("err = %v", err)
	}
}

func TestShippedTemplatesLint(t *testing.T) {
	ts, errs := LoadDir("builtin")
	if len(errs) > 0 || len(ts) == 0 {
		t.Fatalf("shipped templates: %d ok, errors %v", len(ts), errs)
	}
}

func TestJSONPath(t *testing.T) {
	doc := []byte(`{"a":{"b":[{"c":"x"},{"c":2}]},"n":null}`)
	cases := map[string]string{"a.b.0.c": "x", "a.b.1.c": "2", "n": "null"}
	for p, want := range cases {
		if got, ok := JSONPath(doc, p); !ok || got != want {
			t.Errorf("%s = %q %v", p, got, ok)
		}
	}
	for _, p := range []string{"a.x", "a.b.5", "a.b.x"} {
		if _, ok := JSONPath(doc, p); ok {
			t.Errorf("%s found", p)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/good/cve-2021-41773.yaml", "testdata/good/es-json.yaml", "testdata/bad/regex.yaml"} {
		data, _ := readFile(name)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) { _, _ = Parse("fuzz.yaml", data) })
}

func FuzzJSONPath(f *testing.F) {
	f.Add([]byte(`{"version":{"number":"6.8.23"}}`), "version.number")
	f.Fuzz(func(t *testing.T, doc []byte, path string) { JSONPath(doc, path) })
}

// TestPortNeedsTheService: a template that names its services runs on one
// of its ports only when the service there is unidentified or listed; a
// ports-only template keeps running on its ports whatever answers.
func TestPortNeedsTheService(t *testing.T) {
	pg := &Template{AppliesTo: Applies{Services: []string{"postgresql"}, Ports: []uint16{5432}}}
	at := func(service string, port uint16) check.Target {
		return check.Target{Kind: check.TargetService, Addr: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port), Service: service}
	}
	cases := []struct {
		t       *Template
		service string
		port    uint16
		want    bool
	}{
		{pg, "postgresql", 5432, true},
		{pg, "postgresql", 15432, true},
		{pg, "", 5432, true},
		{pg, "unknown", 5432, true},
		{pg, "http", 5432, false},
		{pg, "https", 5432, false},
		{pg, "http", 80, false},
		{load(t)["template.redis-open-info"], "http", 6379, true},
	}
	for _, c := range cases {
		if got := c.t.Applies(at(c.service, c.port)); got != c.want {
			t.Errorf("services %v ports %v on %s:%d: Applies = %v, want %v", c.t.AppliesTo.Services, c.t.AppliesTo.Ports, c.service, c.port, got, c.want)
		}
	}
}
