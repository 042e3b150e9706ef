package site

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/check"
)

func TestRandomPathShape(t *testing.T) {
	tests := map[string]string{
		"/admin/":              "/rampart-*/",
		"/wp-content/uploads/": "/wp-content/rampart-*/",
		"/backup.tar.gz":       "/rampart-*.tar.gz",
		"/.git/HEAD":           "/.git/rampart-*",
		"/app/db.sql":          "/app/rampart-*.sql",
	}
	for in, want := range tests {
		got := RandomPath(in)
		pre, suf, _ := strings.Cut(want, "*")
		if !strings.HasPrefix(got, pre) || !strings.HasSuffix(got, suf) || strings.Contains(got, "//") {
			t.Errorf("RandomPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPathsStayOnSite(t *testing.T) {
	s, err := New(&check.Env{}, check.Target{Kind: check.TargetURL, URL: "https://portal.gov.vn/app/index.php?x=1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Base(); got.String() != "https://portal.gov.vn/app/" {
		t.Errorf("base = %s", got.String())
	}
	if s.PagePath() != "/app/index.php?x=1" {
		t.Errorf("page = %s", s.PagePath())
	}
	for _, p := range []string{"//evil.example/", "///evil.example/x", "/.git/HEAD"} {
		u, err := s.resolve(Request{Path: p})
		if err != nil {
			if !errors.Is(err, ErrOffSite) {
				t.Errorf("%s: %v", p, err)
			}
			continue
		}
		if u.Host != "portal.gov.vn" || !strings.HasPrefix(u.Path, "/app/") {
			t.Errorf("%s resolved to %s", p, u)
		}
	}
	if _, err := s.Fetch(context.Background(), Request{URL: "http://elsewhere.example/"}); !errors.Is(err, ErrOffSite) {
		t.Errorf("absolute URL to another host: %v", err)
	}
}

func TestServiceBase(t *testing.T) {
	tests := []struct {
		t    check.Target
		want string
	}{
		{check.Target{Kind: check.TargetService, Addr: netip.MustParseAddrPort("127.0.0.1:80"), Service: "http"}, "http://127.0.0.1/"},
		{check.Target{Kind: check.TargetService, Addr: netip.MustParseAddrPort("127.0.0.1:8443"), TLS: true}, "https://127.0.0.1:8443/"},
		{check.Target{Kind: check.TargetService, Addr: netip.MustParseAddrPort("127.0.0.1:443"), Service: "https", Host: "a.gov.vn"}, "https://a.gov.vn/"},
		{check.Target{Kind: check.TargetService, Addr: netip.MustParseAddrPort("[::1]:80"), Service: "http"}, "http://[::1]/"},
	}
	for _, tt := range tests {
		s, err := New(nil, tt.t)
		if err != nil {
			t.Fatal(err)
		}
		if b := s.Base(); b.String() != tt.want {
			t.Errorf("%s: base %s, want %s", tt.t, b.String(), tt.want)
		}
	}
	if _, err := New(nil, check.Target{Kind: check.TargetService, Addr: netip.MustParseAddrPort("127.0.0.1:22"), Service: "ssh"}); !errors.Is(err, ErrNotWeb) {
		t.Errorf("ssh: %v", err)
	}
}

func TestSameAnswer(t *testing.T) {
	page := func(status int, title string, n int) *Response {
		return &Response{URL: "http://x/a", Status: status, Header: http.Header{},
			Body: []byte("<title>" + title + "</title>" + strings.Repeat("x", n))}
	}
	if !SameAnswer(page(200, "Not found", 5000), page(200, "not found", 5030)) {
		t.Error("near-identical soft 404s differ")
	}
	if SameAnswer(page(200, "Not found", 5000), page(200, "Login", 5000)) {
		t.Error("different titles same")
	}
	if SameAnswer(page(200, "A", 5000), page(200, "A", 9000)) {
		t.Error("different sizes same")
	}
	if SameAnswer(page(200, "A", 10), page(404, "A", 10)) {
		t.Error("different status same")
	}
}

func TestCanceledFetchIsNotCached(t *testing.T) {
	s, err := New(&check.Env{Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}}, check.Target{Kind: check.TargetURL, URL: "http://portal.gov.vn/"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Page(ctx); err == nil {
		t.Fatal("canceled fetch succeeded")
	}
	s.mu.Lock()
	n := len(s.entries)
	s.mu.Unlock()
	if n != 0 {
		t.Errorf("canceled failure cached (%d entries)", n)
	}
}
