package http

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/http/site"
	"github.com/rampart-cert/rampart/internal/finding"
)

// hstsMinAge is six months in seconds (180 days): below it HSTS protects
// too briefly between visits.
const hstsMinAge = 180 * 24 * 3600

func urlPath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Path == "" {
		return "/"
	}
	return u.Path
}

// ---- http.no-https-redirect ----

func newNoHTTPSRedirect(cache *site.Cache) *webCheck {
	return &webCheck{
		meta: meta("http.no-https-redirect", finding.Medium,
			check.Text{EN: "Plain HTTP does not redirect to HTTPS", VI: "HTTP không chuyển hướng sang HTTPS"},
			check.Text{
				EN: "The site answers plain-HTTP requests (port 80) with content instead of redirecting to HTTPS, so pages, cookies and credentials travel unencrypted and can be read or altered on the way.",
				VI: "Trang web trả nội dung cho yêu cầu HTTP thường (cổng 80) thay vì chuyển hướng sang HTTPS, nên trang, cookie và thông tin đăng nhập đi qua mạng không được mã hóa và có thể bị đọc trộm hoặc sửa đổi trên đường truyền.",
			},
			check.Text{
				EN: "Answer every plain-HTTP request with a 301 redirect to the same path on https://, then enable HSTS.",
				VI: "Trả lời mọi yêu cầu HTTP thường bằng chuyển hướng 301 tới cùng đường dẫn trên https://, sau đó bật HSTS.",
			},
			"CWE-319", "OWASP Top 10 2021 A02: Cryptographic Failures", "OWASP ASVS 4.0 V9.1.1"),
		cache: cache,
		applies: func(t check.Target) bool {
			if !site.IsWeb(t) {
				return false
			}
			if t.Kind == check.TargetURL {
				return true
			}
			return !site.IsHTTPS(t) && t.Addr.Port() == 80
		},
		run: runNoHTTPSRedirect,
	}
}

var jsHTTPSRedirect = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)(http-equiv\s*=\s*["']?refresh["']?[^>]*url\s*=\s*['"]?https://|location(\.href)?\s*=\s*['"]https://|location\.(replace|assign)\(\s*['"]https://)`)
})

func runNoHTTPSRedirect(ctx context.Context, c *webCheck, s *site.Site) ([]check.Result, error) {
	var r *site.Response
	if s.HTTPS() {
		// A URL target on https: ask the same host on port 80. A closed
		// port 80 is fine.
		host := s.Hostname()
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		var err error
		r, err = s.Fetch(ctx, site.Request{URL: "http://" + host + s.PagePath(), Follow: 5, Limit: site.ProbeLimit})
		if err != nil {
			return nil, nil
		}
	} else {
		var err error
		if r, err = s.Reachable(ctx); err != nil {
			return nil, err
		}
	}
	if _, ok := r.Location(); ok {
		return nil, nil // to https, or off this origin: judged there
	}
	if r.Status < 200 || r.Status > 299 || len(r.Body) == 0 {
		return nil, nil
	}
	if jsHTTPSRedirect().Match(r.Body) {
		return nil, nil
	}
	return []check.Result{c.result("", fmt.Sprintf("%s answers %d over plain HTTP without redirecting to HTTPS", r.URL, r.Status),
		r.Evidence(512, "Location", "Content-Type", "Content-Length", "Server"))}, nil
}

// ---- http.missing-hsts ----

func newMissingHSTS(cache *site.Cache) *webCheck {
	return &webCheck{
		meta: meta("http.missing-hsts", finding.Low,
			check.Text{EN: "HTTPS without a long-lived Strict-Transport-Security header", VI: "HTTPS thiếu tiêu đề Strict-Transport-Security đủ thời hạn"},
			check.Text{
				EN: "The HTTPS response has no Strict-Transport-Security header, or its max-age is under six months, so a browser can still be downgraded to plain HTTP (SSL stripping) on a later visit.",
				VI: "Phản hồi HTTPS không có tiêu đề Strict-Transport-Security, hoặc max-age dưới sáu tháng, nên ở lần truy cập sau trình duyệt vẫn có thể bị hạ cấp xuống HTTP thường (tấn công SSL stripping).",
			},
			check.Text{
				EN: "Send \"Strict-Transport-Security: max-age=31536000; includeSubDomains\" on every HTTPS response once the whole site works over HTTPS.",
				VI: "Gửi \"Strict-Transport-Security: max-age=31536000; includeSubDomains\" trên mọi phản hồi HTTPS khi toàn bộ trang đã chạy tốt qua HTTPS.",
			},
			"CWE-523", "CWE-319", "RFC 6797", "OWASP Top 10 2021 A05: Security Misconfiguration"),
		cache:   cache,
		applies: site.IsHTTPS,
		run:     runMissingHSTS,
	}
}

// HSTSMaxAge reads the max-age directive of a Strict-Transport-Security
// value; ok is false when there is none or it is not a number.
func HSTSMaxAge(v string) (age int64, ok bool) {
	for _, d := range strings.Split(v, ";") {
		k, val, found := strings.Cut(strings.TrimSpace(d), "=")
		if !found || !strings.EqualFold(strings.TrimSpace(k), "max-age") {
			continue
		}
		n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(val), `"`), 10, 64)
		if err != nil || n < 0 {
			return 0, false
		}
		return n, true
	}
	return 0, false
}

func runMissingHSTS(ctx context.Context, c *webCheck, s *site.Site) ([]check.Result, error) {
	r, err := s.Reachable(ctx)
	if err != nil {
		return nil, err
	}
	best, seen := int64(-1), ""
	for _, x := range r.Chain() {
		v := x.Header.Get("Strict-Transport-Security")
		if v == "" {
			continue
		}
		seen = v
		if age, ok := HSTSMaxAge(v); ok && age > best {
			best = age
		}
	}
	ev := r.Evidence(0, "Strict-Transport-Security")
	switch {
	case seen == "":
		return []check.Result{c.result("Strict-Transport-Security", "HTTPS response has no Strict-Transport-Security header", ev)}, nil
	case best < hstsMinAge:
		ev.Fields = map[string]string{"max_age": strconv.FormatInt(best, 10), "header": seen}
		return []check.Result{c.result("Strict-Transport-Security",
			fmt.Sprintf("HSTS max-age is %d seconds, under six months", max(best, 0)), ev)}, nil
	}
	return nil, nil
}

// ---- http.missing-security-headers ----

func newMissingSecurityHeaders(cache *site.Cache) *webCheck {
	return &webCheck{
		meta: meta("http.missing-security-headers", finding.Low,
			check.Text{EN: "Browser security headers missing", VI: "Thiếu tiêu đề bảo mật cho trình duyệt"},
			check.Text{
				EN: "The HTML page lacks a browser protection header: Content-Security-Policy (limits injected scripts), X-Frame-Options or CSP frame-ancestors (stops clickjacking), or X-Content-Type-Options: nosniff (stops MIME sniffing). Each missing header is its own finding, named in its subject.",
				VI: "Trang HTML thiếu tiêu đề bảo vệ của trình duyệt: Content-Security-Policy (hạn chế mã độc được chèn), X-Frame-Options hoặc CSP frame-ancestors (chống clickjacking), hoặc X-Content-Type-Options: nosniff (chống đoán kiểu MIME). Mỗi tiêu đề thiếu là một phát hiện riêng, ghi trong trường subject.",
			},
			check.Text{
				EN: "Add the missing header in the web server or application: a Content-Security-Policy suited to the site (start from \"default-src 'self'; frame-ancestors 'self'\"), \"X-Frame-Options: SAMEORIGIN\" and \"X-Content-Type-Options: nosniff\".",
				VI: "Bổ sung tiêu đề còn thiếu ở máy chủ web hoặc ứng dụng: Content-Security-Policy phù hợp với trang (bắt đầu từ \"default-src 'self'; frame-ancestors 'self'\"), \"X-Frame-Options: SAMEORIGIN\" và \"X-Content-Type-Options: nosniff\".",
			},
			"CWE-693", "CWE-1021", "OWASP Top 10 2021 A05: Security Misconfiguration", "OWASP Secure Headers Project"),
		cache:   cache,
		applies: site.IsWeb,
		run:     runSecurityHeaders,
	}
}

var metaCSP = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)<meta[^>]+http-equiv\s*=\s*["']?content-security-policy`)
})

// MissingSecurityHeaders names the protection headers absent from an
// HTML response: Content-Security-Policy, X-Frame-Options (satisfied by a
// CSP frame-ancestors directive too) and X-Content-Type-Options.
func MissingSecurityHeaders(r *site.Response) []string {
	var missing []string
	csp := strings.Join(r.Header.Values("Content-Security-Policy"), ";")
	if strings.TrimSpace(csp) == "" && !metaCSP().Match(r.Body) {
		missing = append(missing, "Content-Security-Policy")
	}
	xfo := strings.ToUpper(strings.TrimSpace(r.Header.Get("X-Frame-Options")))
	if xfo != "DENY" && xfo != "SAMEORIGIN" && !strings.Contains(strings.ToLower(csp), "frame-ancestors") {
		missing = append(missing, "X-Frame-Options")
	}
	if !strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Content-Type-Options")), "nosniff") {
		missing = append(missing, "X-Content-Type-Options")
	}
	return missing
}

func runSecurityHeaders(ctx context.Context, c *webCheck, s *site.Site) ([]check.Result, error) {
	r, err := s.Reachable(ctx)
	if err != nil {
		return nil, err
	}
	// Only a page the browser renders matters; a redirect to HTTPS or to
	// another host is judged there.
	if r.Status < 200 || r.Status > 299 || !r.IsHTML() {
		return nil, nil
	}
	var out []check.Result
	for _, h := range MissingSecurityHeaders(r) {
		out = append(out, c.result(h, fmt.Sprintf("HTML page %s is served without %s", urlPath(r.URL), h),
			r.Evidence(0, "Content-Type", "Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options")))
	}
	return out, nil
}

// ---- http.version-disclosure ----

func newVersionDisclosure(cache *site.Cache) *webCheck {
	return &webCheck{
		meta: meta("http.version-disclosure", finding.Low,
			check.Text{EN: "Server software version disclosed", VI: "Lộ phiên bản phần mềm máy chủ"},
			check.Text{
				EN: "A response header (Server, X-Powered-By, X-AspNet-Version, X-AspNetMvc-Version, X-Generator) names the software and its exact version, which tells an attacker which known vulnerabilities to try.",
				VI: "Một tiêu đề phản hồi (Server, X-Powered-By, X-AspNet-Version, X-AspNetMvc-Version, X-Generator) nêu tên phần mềm kèm phiên bản cụ thể, giúp kẻ tấn công biết nên thử những lỗ hổng đã công bố nào.",
			},
			check.Text{
				EN: "Hide versions: Apache \"ServerTokens Prod\" and \"ServerSignature Off\", nginx \"server_tokens off\", PHP \"expose_php = Off\", IIS removeServerHeader and <httpRuntime enableVersionHeader=\"false\"/>; and keep the software patched.",
				VI: "Ẩn phiên bản: Apache \"ServerTokens Prod\" và \"ServerSignature Off\", nginx \"server_tokens off\", PHP \"expose_php = Off\", IIS removeServerHeader và <httpRuntime enableVersionHeader=\"false\"/>; đồng thời cập nhật bản vá cho phần mềm.",
			},
			"CWE-497", "CWE-200", "OWASP Top 10 2021 A05: Security Misconfiguration", "OWASP WSTG-INFO-02"),
		cache:   cache,
		applies: site.IsWeb,
		run:     runVersionDisclosure,
	}
}

// versionHeaders are the headers that may carry a product version.
var versionHeaders = []string{"Server", "X-Powered-By", "X-AspNet-Version", "X-AspNetMvc-Version", "X-Generator"}

// Product is a software name and version read from a header.
type Product struct {
	Name    string
	Version string
}

func (p Product) String() string { return p.Name + "/" + p.Version }

var versionRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]+(\.[0-9A-Za-z]+)*([._+~-][0-9A-Za-z.]+)*$`) })

// ParseServerHeader returns the products with a version that a Server or
// X-Powered-By style value names: "Apache/2.4.49 (Unix) OpenSSL/1.1.1k"
// gives Apache 2.4.49 and OpenSSL 1.1.1k; "Drupal 7 (https://drupal.org)"
// gives Drupal 7; a bare "nginx" or "Express" gives nothing. name, when
// set, is the product for a value that is only a version
// (X-AspNet-Version: 4.0.30319).
func ParseServerHeader(name, v string) []Product {
	v = strings.TrimSpace(v)
	if len(v) > 1024 {
		v = v[:1024]
	}
	if name != "" && v != "" && v[0] >= '0' && v[0] <= '9' {
		if ver := strings.Fields(v)[0]; versionRE().MatchString(ver) {
			return []Product{{Name: name, Version: ver}}
		}
	}
	var out []Product
	var prev string
	depth := 0
	for _, tok := range strings.Fields(v) {
		if len(out) >= 16 {
			break
		}
		// Comments in parentheses ("(Unix)", "(Ubuntu)") are skipped.
		opens, closes := strings.Count(tok, "("), strings.Count(tok, ")")
		if depth > 0 || strings.HasPrefix(tok, "(") {
			depth += opens - closes
			depth = max(depth, 0)
			prev = ""
			continue
		}
		tok = strings.Trim(tok, ",;")
		if n, ver, ok := strings.Cut(tok, "/"); ok {
			ver, _, _ = strings.Cut(ver, "(")
			if n != "" && ver != "" && ver[0] >= '0' && ver[0] <= '9' && versionRE().MatchString(ver) {
				out = append(out, Product{Name: n, Version: ver})
			}
			prev = ""
			continue
		}
		// "Drupal 7", "PleskLin 18.0": a name followed by a version token.
		if prev != "" && tok != "" && tok[0] >= '0' && tok[0] <= '9' && versionRE().MatchString(tok) {
			out = append(out, Product{Name: prev, Version: tok})
			prev = ""
			continue
		}
		prev = tok
	}
	return out
}

func runVersionDisclosure(ctx context.Context, c *webCheck, s *site.Site) ([]check.Result, error) {
	r, err := s.Reachable(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []check.Result
	for _, x := range r.Chain() {
		for _, h := range versionHeaders {
			if seen[h] {
				continue
			}
			v := x.Header.Get(h)
			if v == "" {
				continue
			}
			name := ""
			switch h {
			case "X-AspNet-Version":
				name = "ASP.NET"
			case "X-AspNetMvc-Version":
				name = "ASP.NET MVC"
			}
			ps := ParseServerHeader(name, v)
			if len(ps) == 0 {
				continue
			}
			seen[h] = true
			names := make([]string, len(ps))
			for i, p := range ps {
				names[i] = p.String()
			}
			ev := x.Evidence(0, h)
			ev.Fields = map[string]string{"header": h, "value": v, "product": ps[0].Name, "version": ps[0].Version, "products": strings.Join(names, " ")}
			out = append(out, c.result(h, fmt.Sprintf("%s header discloses %s", h, strings.Join(names, ", ")), ev))
		}
	}
	return out, nil
}
