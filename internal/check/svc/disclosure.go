package svc

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/miekg/dns"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/finding"
)

var metaHTTPBasic = meta("svc.http-basic-cleartext", finding.Medium,
	"HTTP Basic authentication over plain HTTP", "Xác thực HTTP Basic qua HTTP không mã hóa",
	"The web server asks for a user name and password with HTTP Basic authentication on a connection without TLS. Basic sends the password, only base64-encoded, with every request: anyone on the path reads it.",
	"Máy chủ web yêu cầu tên người dùng và mật khẩu bằng xác thực HTTP Basic trên kết nối không có TLS. Basic gửi mật khẩu, chỉ mã hóa base64, kèm mọi yêu cầu: ai ở trên đường truyền cũng đọc được.",
	"Serve the protected area over HTTPS only and redirect plain HTTP to it before asking for credentials; better, replace Basic with a login form or single sign-on over HTTPS.",
	"Chỉ phục vụ khu vực cần bảo vệ qua HTTPS và chuyển hướng HTTP sang HTTPS trước khi hỏi thông tin đăng nhập; tốt hơn, thay Basic bằng biểu mẫu đăng nhập hoặc đăng nhập một lần qua HTTPS.",
	"CWE-319", "CWE-523")

var metaDNSVersion = meta("svc.dns-version-disclosure", finding.Low,
	"DNS server discloses its version", "Máy chủ DNS để lộ phiên bản",
	"The DNS server answers the CHAOS-class TXT query version.bind with its software version. Attackers use it to pick exploits for that exact release without probing further.",
	"Máy chủ DNS trả lời truy vấn TXT lớp CHAOS version.bind bằng phiên bản phần mềm. Kẻ tấn công dùng thông tin này để chọn mã khai thác cho đúng phiên bản mà không cần dò thêm.",
	"Hide the version (BIND: options { version \"none\"; }; Unbound: hide-version: yes; PowerDNS: version-string=anonymous) and keep the server updated.",
	"Ẩn phiên bản (BIND: options { version \"none\"; }; Unbound: hide-version: yes; PowerDNS: version-string=anonymous) và luôn cập nhật máy chủ.",
	"CWE-200")

// runHTTPBasic asks for / over plain HTTP: a 401 with a Basic challenge
// asks browsers to send a password in clear text.
func runHTTPBasic(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	if isTLSTarget(t) {
		return nil, nil
	}
	host := t.Host
	if host == "" {
		host = t.Addr.String()
	}
	client := &http.Client{Timeout: timeoutOf(env), Transport: &http.Transport{DialContext: env.Dial, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+t.Addr.String()+"/", nil)
	if err != nil {
		return nil, err
	}
	req.Host = host
	if env.UserAgent != "" {
		req.Header.Set("User-Agent", env.UserAgent)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", check.ErrUnreachable, t.Addr, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		return nil, nil
	}
	for _, h := range resp.Header.Values("WWW-Authenticate") {
		scheme, params, _ := strings.Cut(strings.TrimSpace(h), " ")
		if !strings.EqualFold(scheme, "Basic") {
			continue
		}
		realm := ""
		if _, v, ok := strings.Cut(params, "realm="); ok {
			realm = strings.Trim(strings.SplitN(v, ",", 2)[0], `" `)
		}
		return []check.Result{result(m, m.Severity, fmt.Sprintf("http://%s/ asks for a password with HTTP Basic over plain HTTP", host),
			check.Evidence{Request: "GET / (plain HTTP)", Response: check.Cap(resp.Status + "\nWWW-Authenticate: " + h),
				Fields: map[string]string{"realm": realm, "status": fmt.Sprint(resp.StatusCode)}})}, nil
	}
	return nil, nil
}

// runDNSVersion asks version.bind (CHAOS TXT) over TCP, the port the
// target is, and reports an answer that looks like a version.
func runDNSVersion(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	c, err := conn(ctx, env, t)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	q := new(dns.Msg)
	q.SetQuestion("version.bind.", dns.TypeTXT)
	q.Question[0].Qclass = dns.ClassCHAOS
	q.RecursionDesired = false
	dc := &dns.Conn{Conn: c, UDPSize: 4096}
	if err := dc.WriteMsg(q); err != nil {
		return nil, nil
	}
	reply, err := dc.ReadMsg()
	if err != nil || reply.Id != q.Id || reply.Rcode != dns.RcodeSuccess {
		return nil, nil
	}
	version := ""
	for _, rr := range reply.Answer {
		if txt, ok := rr.(*dns.TXT); ok {
			version = strings.TrimSpace(strings.Join(txt.Txt, " "))
			break
		}
	}
	if !strings.ContainsAny(version, "0123456789") || len(version) > 200 {
		return nil, nil // hidden ("none", "unknown", empty) or nonsense
	}
	return []check.Result{result(m, m.Severity, fmt.Sprintf("DNS server on %s answers version.bind with %q", t.Addr, version),
		check.Evidence{Request: "version.bind. CH TXT (TCP)", Response: check.Cap(reply.String()), Fields: map[string]string{"version": version}})}, nil
}
