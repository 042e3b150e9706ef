package template

import (
	"bytes"
	"context"
	"io/fs"
	"net/http"
	"os"
	"path"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/template/builtin"
)

// A fixture file (testdata/fixtures/<template id>.yaml) describes servers
// a shipped template must fire on ("fires": the vulnerable product, as it
// answers) and servers it must stay silent on ("quiet": the patched
// product, a hardened configuration, a look-alike). Every shipped template
// has one, with at least one of each.
type fixtureFile struct {
	Fires []fixtureServer `yaml:"fires"`
	Quiet []fixtureServer `yaml:"quiet"`
}

// fixtureServer answers by request: the first route whose method (when
// set) and path match; a path ending in "*" matches as a prefix; paths
// are compared with the raw request URI (encoding and query kept). The
// default answer is a 404 unless Default is set.
type fixtureServer struct {
	Name    string         `yaml:"name"`
	Service string         `yaml:"service"` // the target's fingerprint service; "http" when empty
	Product string         `yaml:"product"`
	TLS     bool           `yaml:"tls"`
	Routes  []fixtureRoute `yaml:"routes"`
	Default *fixtureRoute  `yaml:"default"`
}

type fixtureRoute struct {
	Method  string            `yaml:"method"`
	Path    string            `yaml:"path"`
	Status  int               `yaml:"status"`
	Headers map[string]string `yaml:"headers"`
	Body    string            `yaml:"body"`
	// BodyContains, when set, must appear in the request body.
	BodyContains string `yaml:"body-contains"`
}

func (s fixtureServer) handler() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		if r.Body != nil {
			body, _ = readCapped(r.Body, 64<<10)
		}
		for _, rt := range s.Routes {
			if rt.Method != "" && !strings.EqualFold(rt.Method, r.Method) {
				continue
			}
			if p, ok := strings.CutSuffix(rt.Path, "*"); ok {
				if !strings.HasPrefix(r.RequestURI, p) {
					continue
				}
			} else if r.RequestURI != rt.Path {
				continue
			}
			if rt.BodyContains != "" && !bytes.Contains(body, []byte(rt.BodyContains)) {
				continue
			}
			rt.write(w)
			return
		}
		if s.Default != nil {
			s.Default.write(w)
			return
		}
		http.NotFound(w, r)
	}
}

func (rt fixtureRoute) write(w http.ResponseWriter) {
	keys := make([]string, 0, len(rt.Headers))
	for k := range rt.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		w.Header().Set(k, rt.Headers[k])
	}
	st := rt.Status
	if st == 0 {
		st = http.StatusOK
	}
	w.WriteHeader(st)
	w.Write([]byte(rt.Body))
}

func readCapped(r interface{ Read([]byte) (int, error) }, n int) ([]byte, error) {
	var b bytes.Buffer
	buf := make([]byte, 4096)
	for b.Len() < n {
		k, err := r.Read(buf)
		b.Write(buf[:k])
		if err != nil {
			break
		}
	}
	return b.Bytes(), nil
}

func shipped(t *testing.T) []*Template {
	t.Helper()
	ts, errs := LoadFS(builtin.FS, ".")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return ts
}

func (s fixtureServer) target(t *testing.T) check.Target {
	h := s.handler()
	ap := httpServer(t, h)
	svc := s.Service
	if svc == "" {
		svc = "http"
	}
	return check.Target{Kind: check.TargetService, Addr: ap, Service: svc, Product: s.Product}
}

// TestShippedTemplateFixtures runs every shipped template against its
// fixtures: it fires on each "fires" server (with its CVEs and KEV flag in
// the result) and on no "quiet" server.
func TestShippedTemplateFixtures(t *testing.T) {
	for _, tpl := range shipped(t) {
		t.Run(tpl.ID, func(t *testing.T) {
			t.Parallel()
			raw, err := fs.ReadFile(os.DirFS("testdata/fixtures"), tpl.ID+".yaml")
			if err != nil {
				t.Fatalf("no fixture file testdata/fixtures/%s.yaml: %v", tpl.ID, err)
			}
			var ff fixtureFile
			dec := yaml.NewDecoder(bytes.NewReader(raw))
			dec.KnownFields(true)
			if err := dec.Decode(&ff); err != nil {
				t.Fatalf("fixture: %v", err)
			}
			if len(ff.Fires) == 0 || len(ff.Quiet) == 0 {
				t.Fatalf("a fixture needs at least one server that fires and one that stays quiet")
			}
			for i, s := range ff.Fires {
				tg := s.target(t)
				if !tpl.Applies(tg) {
					t.Errorf("fires[%d] %s: the template does not apply to %s/%s", i, s.Name, tg.Service, s.Product)
					continue
				}
				rs, err := tpl.Run(context.Background(), env(), tg)
				if err != nil || len(rs) != 1 {
					t.Errorf("fires[%d] %s: %v %+v", i, s.Name, err, rs)
					continue
				}
				if rs[0].KEV != tpl.KEV || len(rs[0].CVE) != len(tpl.CVE) || rs[0].Evidence.Response == "" {
					t.Errorf("fires[%d] %s: result %+v", i, s.Name, rs[0])
				}
			}
			for i, s := range ff.Quiet {
				tg := s.target(t)
				if !tpl.Applies(tg) {
					continue // not run at all: quiet
				}
				if rs, err := tpl.Run(context.Background(), env(), tg); err != nil || len(rs) != 0 {
					t.Errorf("quiet[%d] %s: %v %+v", i, s.Name, err, rs)
				}
			}
		})
	}
}

// TestShippedTemplatesSoft200 runs every shipped template against servers
// that answer every request alike (a catch-all 200 page, a catch-all
// redirect to a login page, a WAF's 403): none may fire.
func TestShippedTemplatesSoft200(t *testing.T) {
	servers := []fixtureServer{
		{Name: "catch-all 200", Default: &fixtureRoute{Headers: map[string]string{"Content-Type": "text/html; charset=utf-8"},
			Body: "<!DOCTYPE html><html><head><title>Cổng thông tin điện tử</title></head><body><h1>Trang chủ</h1><p>Xin chào</p></body></html>"}},
		{Name: "catch-all JSON", Default: &fixtureRoute{Headers: map[string]string{"Content-Type": "application/json"}, Body: `{"status":"ok","data":[]}`}},
		{Name: "login redirect", Default: &fixtureRoute{Status: 302, Headers: map[string]string{"Location": "/login?next=%2F"}}},
		{Name: "WAF 403", Default: &fixtureRoute{Status: 403, Headers: map[string]string{"Server": "cloudflare"}, Body: "Access denied"}},
	}
	tpls := shipped(t)
	for _, s := range servers {
		tg := s.target(t)
		for _, tpl := range tpls {
			tg := tg
			tg.Service = "http"
			if !tpl.Applies(tg) {
				continue
			}
			if rs, err := tpl.Run(context.Background(), env(), tg); err == nil && len(rs) != 0 {
				t.Errorf("%s fired on a %s server: %+v", tpl.ID, s.Name, rs[0].Title)
			}
		}
	}
}

// TestEveryShippedTemplateHasFixtures keeps the fixture directory and the
// templates in step.
func TestEveryShippedTemplateHasFixtures(t *testing.T) {
	ids := map[string]bool{}
	for _, tpl := range shipped(t) {
		ids[tpl.ID] = true
	}
	entries, err := os.ReadDir("testdata/fixtures")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		id := strings.TrimSuffix(e.Name(), path.Ext(e.Name()))
		if !ids[id] {
			t.Errorf("fixture %s names no shipped template", e.Name())
		}
	}
}
