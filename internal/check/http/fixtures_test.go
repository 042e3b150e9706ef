package http_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
)

// Fixtures: a weak site that fires every check and a hardened one that
// fires none. Both are httptest servers on 127.0.0.1; the test Dial maps
// the names and ports the targets use onto them and refuses anything that
// is not loopback.

func weakHandler(tlsHSTS string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "Apache/2.4.49 (Unix) OpenSSL/1.1.1k")
		w.Header().Set("X-Powered-By", "PHP/7.4.3")
		if tlsHSTS != "" {
			w.Header().Set("Strict-Transport-Security", tlsHSTS)
		}
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html><head><title>Sở Nội vụ tỉnh</title></head><body><h1>Cổng thông tin điện tử</h1><p>Tin tức.</p></body></html>`)
	})
	mux.HandleFunc("/.git/HEAD", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "ref: refs/heads/master\n")
	})
	mux.HandleFunc("/.git/config", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n")
	})
	mux.HandleFunc("/.env", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "APP_NAME=Portal\nAPP_ENV=production\nAPP_KEY=base64:c2VjcmV0c2VjcmV0c2VjcmV0\nDB_HOST=127.0.0.1\nDB_PASSWORD=Sup3rS3cret!\n# mail\nMAIL_PASSWORD=\"x\"\n")
	})
	mux.HandleFunc("/backup.zip", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/zip")
		w.Write(append([]byte("PK\x03\x04\x14\x00\x00\x00\x08\x00"), make([]byte, 4000)...))
	})
	mux.HandleFunc("/db.sql", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		fmt.Fprint(w, "-- MySQL dump 10.13  Distrib 5.7.33\n--\n-- Host: localhost    Database: portal\n\nDROP TABLE IF EXISTS `users`;\nCREATE TABLE `users` (id int);\n")
	})
	mux.HandleFunc("/uploads/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/uploads/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN"><html><head><title>Index of /uploads</title></head><body><h1>Index of /uploads</h1><table><tr><th><a href="?C=N;O=D">Name</a></th><th><a href="?C=M;O=A">Last modified</a></th></tr><tr><td><a href="/">Parent Directory</a></td></tr><tr><td><a href="cv.pdf">cv.pdf</a></td></tr></table><address>Apache/2.4.49 (Unix) Server at 127.0.0.1 Port 80</address></body></html>`)
	})
	mux.HandleFunc("/wp-admin/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/wp-login.php?redirect_to=%2Fwp-admin%2F", http.StatusFound)
	})
	mux.HandleFunc("/wp-login.php", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<html><head><title>Log In &lsaquo; Portal &#8212; WordPress</title></head><body><form name="loginform" id="loginform" action="/wp-login.php" method="post"><input type="text" name="log"><input type="password" name="pwd"><input type="submit"></form></body></html>`)
	})
	mux.HandleFunc("/manager/html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Basic realm="Tomcat Manager Application"`)
		http.Error(w, "401 Unauthorized", http.StatusUnauthorized)
	})
	return mux
}

// hardenedHandler answers like a well-run government portal: security
// headers everywhere, no versions, and a pretty 200 page (with the site's
// header login box) for every unknown path.
func hardenedHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Server", "nginx")
		h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'self'")
		h.Set("X-Frame-Options", "SAMEORIGIN")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/" {
			fmt.Fprint(w, `<!doctype html><html lang="vi"><head><title>Cổng thông tin điện tử Bộ Văn hóa</title><meta name="description" content="Tin tức văn hóa, thể thao"></head><body>
<header><form action="/dang-nhap" method="post"><input name="u"><input type="password" name="p"></form></header>
<main><article><h1>Tăng cường phòng chống tội phạm trong mùa giải bóng đá</h1>
<p>Cơ quan chức năng khuyến cáo người dân không tham gia cá cược trái phép trên mạng; mọi hành vi vi phạm sẽ bị xử lý nghiêm theo quy định của pháp luật.</p></article></main></body></html>`)
			return
		}
		// Soft 404: status 200, a full page, the path echoed back.
		fmt.Fprintf(w, `<!doctype html><html lang="vi"><head><title>Không tìm thấy trang</title></head><body>
<header><form action="/dang-nhap" method="post"><input name="u"><input type="password" name="p"></form></header>
<main><h1>Trang %s không tồn tại</h1><p>Xin lỗi, trang bạn tìm không có. Quay lại <a href="/">trang chủ</a>.</p>%s</main></body></html>`,
			htmlEscape(r.URL.Path), strings.Repeat("<p>Liên kết hữu ích</p>", 20))
	})
}

func htmlEscape(s string) string {
	return strings.NewReplacer("<", "&lt;", ">", "&gt;", "&", "&amp;", `"`, "&quot;").Replace(s)
}

// redirectHandler sends every plain-HTTP request to HTTPS.
func redirectHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "nginx")
		http.Redirect(w, r, "https://"+hostOnly(r.Host)+r.URL.RequestURI(), http.StatusMovedPermanently)
	})
}

func hostOnly(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return h
}

// loopback routes name:port (or ip:port) addresses to fixture listeners;
// anything else, and anything not on 127.0.0.0/8, is refused.
type loopback map[string]string

func (l loopback) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	to, ok := l[addr]
	if !ok {
		return nil, fmt.Errorf("test dial: %s: connection refused", addr)
	}
	ap, err := netip.ParseAddrPort(to)
	if err != nil || !ap.Addr().IsLoopback() || !ap.Addr().Is4() {
		return nil, fmt.Errorf("test dial: %s is not loopback", to)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, to)
}

func serve(t *testing.T, h http.Handler, tls bool) string {
	t.Helper()
	var s *httptest.Server
	if tls {
		s = httptest.NewTLSServer(h)
	} else {
		s = httptest.NewServer(h)
	}
	t.Cleanup(s.Close)
	return s.Listener.Addr().String()
}

func testEnv(routes loopback) *check.Env {
	return &check.Env{
		Dial:      routes.dial,
		UserAgent: "Rampart-test/1 (+https://rampart.test)",
		Timeout:   3 * time.Second,
		MaxRead:   1 << 20,
		Now:       time.Now,
		Extra:     map[string]any{},
	}
}

func svc(addr, service string, tls bool, host string) check.Target {
	return check.Target{Kind: check.TargetService, Addr: netip.MustParseAddrPort(addr), Service: service, TLS: tls, Host: host}
}

func httpCounter(h http.Handler, n *int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			*n++
		}
		h.ServeHTTP(w, r)
	})
}
