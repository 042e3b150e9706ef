package blocklist

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/intel"
)

func testHandler(t *testing.T) (*httptest.Server, *List) {
	t.Helper()
	l, _ := Build(sample(), nil)
	consumers := map[string]*Consumer{
		"key-soc":     {Name: "SOC", MaxTLP: intel.TLPGreen},
		"key-dnsonly": {Name: "resolver", Formats: []Format{FormatRPZ}},
	}
	h := &Handler{
		Lookup: func(_ context.Context, key string) (*Consumer, error) {
			if c, ok := consumers[key]; ok {
				return c, nil
			}
			return nil, ErrUnknownConsumer
		},
		List: func(context.Context) (*List, error) { return l, nil },
		Now:  func() time.Time { return testNow },
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("loopback listener: %v", err)
	}
	srv := httptest.NewUnstartedServer(http.StripPrefix("/blocklists", h))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, l
}

func get(t *testing.T, srv *httptest.Server, method, path string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestHandler(t *testing.T) {
	srv, l := testHandler(t)
	resp, body := get(t, srv, "GET", "/blocklists/key-soc/plain", nil)
	if resp.StatusCode != 200 || body != render(t, l, FormatPlain, &Consumer{MaxTLP: intel.TLPGreen}) {
		t.Fatalf("plain by URL key: %d\n%s", resp.StatusCode, body)
	}
	etag := resp.Header.Get("ETag")
	if len(etag) != 34 || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("headers %v", resp.Header)
	}
	// The same list pulled again: the same bytes and tag.
	resp2, body2 := get(t, srv, "GET", "/blocklists/plain", map[string]string{"X-Api-Key": "key-soc"})
	if resp2.StatusCode != 200 || body2 != body || resp2.Header.Get("ETag") != etag {
		t.Errorf("second pull by header differs: %d %q", resp2.StatusCode, resp2.Header.Get("ETag"))
	}
	for _, inm := range []string{etag, `"x", ` + etag, "W/" + etag, "*"} {
		resp, body := get(t, srv, "GET", "/blocklists/key-soc/plain", map[string]string{"If-None-Match": inm})
		if resp.StatusCode != http.StatusNotModified || body != "" {
			t.Errorf("If-None-Match %s: %d %q", inm, resp.StatusCode, body)
		}
	}
	if resp, _ := get(t, srv, "GET", "/blocklists/key-soc/plain", map[string]string{"If-None-Match": `"stale"`}); resp.StatusCode != 200 {
		t.Errorf("stale tag: %d", resp.StatusCode)
	}
	// Another format has another tag.
	resp, body = get(t, srv, "GET", "/blocklists/key-soc/nft", nil)
	if resp.StatusCode != 200 || resp.Header.Get("ETag") == etag || !strings.HasPrefix(body, "#!/usr/sbin/nft -f\n") ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), "rampart-nft.nft") {
		t.Errorf("nft: %d %v", resp.StatusCode, resp.Header)
	}
	resp, body = get(t, srv, "GET", "/blocklists/key-soc/csv", nil)
	if resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" || !strings.HasPrefix(body, "value,kind,") {
		t.Errorf("csv: %v", resp.Header)
	}
	resp, body = get(t, srv, "HEAD", "/blocklists/key-soc/rpz", nil)
	if resp.StatusCode != 200 || body != "" || resp.Header.Get("ETag") == "" {
		t.Errorf("HEAD: %d %q", resp.StatusCode, body)
	}
	for _, c := range []struct {
		method, path string
		hdr          map[string]string
		status       int
	}{
		{"GET", "/blocklists/nope/plain", nil, 401},
		{"GET", "/blocklists/plain", nil, 401},
		{"GET", "/blocklists/plain", map[string]string{"X-Api-Key": "nope"}, 401},
		{"GET", "/blocklists/key-soc/xml", nil, 404},
		{"GET", "/blocklists/a/b/c", nil, 404},
		{"GET", "/blocklists/key-dnsonly/plain", nil, 403},
		{"GET", "/blocklists/key-dnsonly/rpz", nil, 200},
		{"POST", "/blocklists/key-soc/plain", nil, 405},
		{"GET", "/blocklists/key-soc/mikrotik.rsc", nil, 200},
	} {
		if resp, body := get(t, srv, c.method, c.path, c.hdr); resp.StatusCode != c.status {
			t.Errorf("%s %s: %d, want %d (%s)", c.method, c.path, resp.StatusCode, c.status, body)
		}
	}
}

// The zone file passes BIND's own checker, when it is installed.
func TestRPZZoneChecks(t *testing.T) {
	check, err := exec.LookPath("named-checkzone")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("named-checkzone is not installed on CI (apt-get install bind9-utils)")
		}
		t.Skip("named-checkzone (bind9-utils) is not installed")
	}
	l, _ := Build(sample(), nil)
	f := filepath.Join(t.TempDir(), "rpz.zone")
	if err := os.WriteFile(f, []byte(render(t, l, FormatRPZ, everything)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(check, "rpz.rampart", f).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OK") {
		t.Fatalf("named-checkzone: %v\n%s", err, out)
	}
}
