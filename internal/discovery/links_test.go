package discovery_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/discovery"
)

const portalPage = `<!DOCTYPE html><html><head>
<link rel="stylesheet" href="https://static.hn.gov.vn/site.css">
<script src="//cdn.hn.gov.vn/app.js"></script>
</head><body>
<a href="/tin-tuc/">Tin tức</a>
<a href="HTTPS://DichVuCong.HN.gov.vn/thu-tuc?id=1">Dịch vụ công</a>
<a href="https://www.facebook.com/hanoi">Facebook</a>
<a href="mailto:lienhe@hn.gov.vn">Liên hệ</a>
<a href="javascript:alert(1)">x</a>
<img src="https://static.hn.gov.vn/logo.png">
<form action="https://hoso.hn.gov.vn/nop"></form>
<iframe src="http://[::1]/x"></iframe>
<a href="https://bad host.hn.gov.vn/">bad</a>
</body></html>`

func TestExtractHosts(t *testing.T) {
	got, err := discovery.ExtractHosts(strings.NewReader(portalPage))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"static.hn.gov.vn", "cdn.hn.gov.vn", "dichvucong.hn.gov.vn", "www.facebook.com", "hoso.hn.gov.vn"}
	if !slices.Equal(got, want) {
		t.Fatalf("hosts %v, want %v", got, want)
	}
}

func TestFetchLinks(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			http.Redirect(w, r, "/home", http.StatusFound)
		case "/home":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(portalPage))
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/pdf":
			w.Header().Set("Content-Type", "application/pdf")
			w.Write([]byte(`<a href="https://x.hn.gov.vn/">`))
		}
	}))
	defer srv.Close()
	hosts, err := discovery.FetchLinks(context.Background(), srv.Client(), srv.URL+"/", "test")
	if err != nil || !slices.Contains(hosts, "hoso.hn.gov.vn") {
		t.Fatalf("%v %v", hosts, err)
	}
	if hosts, err := discovery.FetchLinks(context.Background(), srv.Client(), srv.URL+"/loop", "test"); err != nil || len(hosts) != 0 {
		t.Fatalf("redirect loop: %v %v", hosts, err)
	}
	if hosts, err := discovery.FetchLinks(context.Background(), srv.Client(), srv.URL+"/pdf", "test"); err != nil || len(hosts) != 0 {
		t.Fatalf("not HTML: %v %v", hosts, err)
	}
}

func TestNamesFromCertSummary(t *testing.T) {
	got := discovery.NamesFromCertSummary([]byte(`{"cert.subject.cn":"www.hn.gov.vn","cert.sans":"www.hn.gov.vn,*.api.hn.gov.vn,10.0.0.1,bad name","cert.issuer":"x"}`))
	if want := []string{"www.hn.gov.vn", "api.hn.gov.vn"}; !slices.Equal(got, want) {
		t.Fatalf("%v, want %v", got, want)
	}
	if got := discovery.NamesFromCertSummary([]byte(`[1]`)); got != nil {
		t.Fatalf("%v", got)
	}
}

func TestParseTargetsAndSources(t *testing.T) {
	tg, err := discovery.ParseTargets([]string{"HN.gov.vn.", "AS64500", "192.0.2.0/24", "192.0.2.9", "https://portal.hn.gov.vn/app"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tg.Domains, []string{"hn.gov.vn"}) || !slices.Equal(tg.ASNs, []uint32{64500}) || len(tg.Prefixes) != 2 ||
		tg.Prefixes[1].String() != "192.0.2.9/32" || len(tg.URLs) != 1 {
		t.Fatalf("%+v", tg)
	}
	for _, bad := range []string{"ftp://x.vn", "a b", "10.0.0.0/33", "AS99999999999"} {
		if _, err := discovery.ParseTargets([]string{bad}); !errors.Is(err, discovery.ErrInvalid) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	src, err := discovery.ParseSources("ct, axfr,ct")
	if err != nil || !slices.Equal(src, []discovery.Source{discovery.SourceCT, discovery.SourceAXFR}) {
		t.Fatalf("%v %v", src, err)
	}
	if _, err := discovery.ParseSources("ct,whois"); !errors.Is(err, discovery.ErrInvalid) {
		t.Fatalf("unknown source: %v", err)
	}
}

// FuzzExtractHosts feeds arbitrary pages to the link extractor.
func FuzzExtractHosts(f *testing.F) {
	f.Add(portalPage)
	f.Add(`<a href="//a.b">`)
	f.Add(`<form action=https://x.y/>`)
	f.Fuzz(func(t *testing.T, page string) {
		hosts, err := discovery.ExtractHosts(strings.NewReader(page))
		if err != nil && !errors.Is(err, discovery.ErrSource) {
			t.Fatalf("error %v", err)
		}
		for _, h := range hosts {
			if h == "" || strings.ContainsAny(h, " /:@") {
				t.Fatalf("host %q", h)
			}
		}
	})
}
