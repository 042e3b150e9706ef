package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
)

func TestLoginSessionCookie(t *testing.T) {
	w := newWorld(t)
	c := w.client()
	code, body := c.get("/")
	if code != http.StatusSeeOther {
		t.Fatalf("anonymous dashboard: status %d, want a redirect to the login page", code)
	}
	tok := c.csrf("/login")
	resp, body := c.post("/login", url.Values{"csrf": {tok}, "name": {"Admin"}, "password": {testPassword}, "next": {"/findings"}}, w.ts.URL)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/findings" {
		t.Fatalf("login: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	var sc *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie {
			sc = ck
		}
	}
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/" || sc.Secure {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, Path=/, not Secure without SecureCookies", sc)
	}
	code, body = c.get("/")
	if code != 200 || !strings.Contains(body, "Tổng quan an ninh mạng") {
		t.Fatalf("dashboard after login: %d", code)
	}
	// The session is a stored token named web-session that expires.
	toks, err := w.st.ListTokens(context.Background(), auth.SystemPrincipal, storePage())
	if err != nil {
		t.Fatal(err)
	}
	if len(toks.Items) != 1 || toks.Items[0].Name != sessionName || toks.Items[0].ExpiresAt == nil ||
		!toks.Items[0].ExpiresAt.Equal(testNow.Add(w.srv.SessionTTL)) {
		t.Fatalf("session tokens: %+v", toks.Items)
	}
	// An open redirect is refused.
	c2 := w.client()
	tok = c2.csrf("/login")
	resp, _ = c2.post("/login", url.Values{"csrf": {tok}, "name": {"admin"}, "password": {testPassword}, "next": {"//evil.example/"}}, w.ts.URL)
	if loc := resp.Header.Get("Location"); loc != "/" {
		t.Fatalf("next=//evil.example/ redirected to %q", loc)
	}
}

func TestLoginFailureAndThrottle(t *testing.T) {
	w := newWorld(t)
	c := w.client()
	for i := range 3 {
		tok := c.csrf("/login")
		resp, body := c.post("/login", url.Values{"csrf": {tok}, "name": {"admin"}, "password": {"wrong"}}, w.ts.URL)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Sai tên đăng nhập") {
			t.Fatalf("attempt %d: status %d", i, resp.StatusCode)
		}
	}
	tok := c.csrf("/login")
	resp, body := c.post("/login", url.Values{"csrf": {tok}, "name": {"admin"}, "password": {testPassword}}, w.ts.URL)
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Quá nhiều lần") {
		t.Fatalf("after 3 failures the right password: status %d, want 429", resp.StatusCode)
	}
}

func TestLoginTOTP(t *testing.T) {
	w := newWorld(t)
	secret := auth.NewTOTPSecret()
	u, err := w.st.UserForLogin(context.Background(), "cuca")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.st.SetTOTPSecret(context.Background(), auth.SystemPrincipal, u.ID, secret); err != nil {
		t.Fatal(err)
	}
	c := w.client()
	tok := c.csrf("/login")
	resp, _ := c.post("/login", url.Values{"csrf": {tok}, "name": {"cuca"}, "password": {testPassword}}, w.ts.URL)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no code: status %d", resp.StatusCode)
	}
	resp, _ = c.post("/login", url.Values{"csrf": {tok}, "name": {"cuca"}, "password": {testPassword}, "totp": {"000000"}}, w.ts.URL)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong code: status %d", resp.StatusCode)
	}
	code, _ := auth.TOTPCode(secret, testNow)
	c.login("cuca", code)
}

func TestTOTPEnrolment(t *testing.T) {
	w := newWorld(t)
	c := w.client()
	c.login("sob", "")
	_, body := c.get("/account/totp")
	secret := regexp.MustCompile(`name="secret" value="([A-Z2-7]+)"`).FindStringSubmatch(body)
	sig := regexp.MustCompile(`name="sig" value="([^"]+)"`).FindStringSubmatch(body)
	if secret == nil || sig == nil || !strings.Contains(body, "otpauth://totp/") {
		t.Fatalf("enrolment page lacks secret, signature or URI:\n%s", body)
	}
	tok := csrfRE.FindStringSubmatch(body)[1]
	resp, _ := c.post("/account/totp", url.Values{"csrf": {tok}, "secret": {secret[1]}, "sig": {sig[1]}, "code": {"123"}, "password": {testPassword}}, w.ts.URL)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("wrong code: %d", resp.StatusCode)
	}
	resp, _ = c.post("/account/totp", url.Values{"csrf": {tok}, "secret": {"AAAAAAAAAAAAAAAA"}, "sig": {sig[1]}, "code": {"123456"}, "password": {testPassword}}, w.ts.URL)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("swapped secret: %d", resp.StatusCode)
	}
	code, _ := auth.TOTPCode(secret[1], testNow)
	resp, _ = c.post("/account/totp", url.Values{"csrf": {tok}, "secret": {secret[1]}, "sig": {sig[1]}, "code": {code}}, w.ts.URL)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("turning TOTP on without the password: %d, want 403", resp.StatusCode)
	}
	resp, _ = c.post("/account/totp", url.Values{"csrf": {tok}, "secret": {secret[1]}, "sig": {sig[1]}, "code": {code}, "password": {testPassword}}, w.ts.URL)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirm: %d", resp.StatusCode)
	}
	u, _ := w.st.UserForLogin(context.Background(), "sob")
	if u.TOTPSecret != secret[1] {
		t.Fatal("secret not stored")
	}
}

func TestCSRF(t *testing.T) {
	w := newWorld(t)
	c := w.client()
	c.login("admin", "")
	id := fmt.Sprint(w.findings["http.missing-hsts"].ID)
	form := url.Values{"action": {"acknowledge"}, "id": {id}, "back": {"/findings"}}
	if resp, _ := c.post("/findings/bulk", form, w.ts.URL); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("no token: %d", resp.StatusCode)
	}
	form.Set("csrf", "forged")
	if resp, _ := c.post("/findings/bulk", form, w.ts.URL); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("forged token: %d", resp.StatusCode)
	}
	form.Set("csrf", c.csrf("/findings"))
	if resp, _ := c.post("/findings/bulk", form, "https://evil.example"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin: %d", resp.StatusCode)
	}
	// Another session's token does not work either.
	other := w.client()
	other.login("admin", "")
	form.Set("csrf", other.csrf("/findings"))
	if resp, _ := c.post("/findings/bulk", form, w.ts.URL); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("other session's token: %d", resp.StatusCode)
	}
	form.Set("csrf", c.csrf("/findings"))
	resp, body := c.post("/findings/bulk", form, w.ts.URL)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("good post: %d\n%s", resp.StatusCode, body)
	}
	f, _ := w.st.GetFinding(context.Background(), auth.SystemPrincipal, w.findings["http.missing-hsts"].ID)
	if f.State != finding.StateAcknowledged {
		t.Fatalf("state %s, want acknowledged", f.State)
	}
}

// TestAcceptRiskIsARequestTheLevelAboveDecides (security review F8): an
// organization's own administrator only asks; the administrator of the
// ministry above approves, and the approver is who clicked, not text.
func TestAcceptRiskIsARequestTheLevelAboveDecides(t *testing.T) {
	w := newWorld(t)
	fid := w.findings["tls.cert-expired"].ID
	id := fmt.Sprint(fid)
	cuca := w.client()
	cuca.login("cuca", "")
	form := url.Values{"csrf": {cuca.csrf("/findings")}, "action": {"accept-risk"}, "id": {id}, "reason": {"legacy"}, "until": {"2030-05-01"}, "approver": {"Giám đốc"}}
	if resp, body := cuca.post("/findings/bulk", form, w.ts.URL); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("request: %d\n%s", resp.StatusCode, body)
	}
	f, _ := w.st.GetFinding(context.Background(), auth.SystemPrincipal, fid)
	if f.State != finding.StateOpen || f.Waiver == nil || f.Waiver.By != "cuca" || f.Waiver.Action != finding.ActionAcceptRisk {
		t.Fatalf("after the owner's request: %+v", f)
	}
	form.Set("action", "approve")
	if resp, _ := cuca.post("/findings/bulk", form, w.ts.URL); resp.StatusCode != http.StatusConflict {
		t.Fatalf("the owner approved its own request: %d", resp.StatusCode)
	}
	btt := w.client()
	btt.login("btt", "")
	_, page := btt.get("/findings/" + id)
	if !strings.Contains(page, "legacy") {
		t.Fatalf("the finding page does not show the pending request:\n%s", page)
	}
	form = url.Values{"csrf": {btt.csrf("/findings")}, "action": {"approve"}, "id": {id}}
	if resp, body := btt.post("/findings/bulk", form, w.ts.URL); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d\n%s", resp.StatusCode, body)
	}
	f, _ = w.st.GetFinding(context.Background(), auth.SystemPrincipal, fid)
	if f.State != finding.StateRiskAccepted || f.Approver != "btt" || f.Waiver != nil || f.Until == nil || f.Reason != "legacy" {
		t.Fatalf("finding after approval: %+v", f)
	}
}

func TestLogoutRevokesSession(t *testing.T) {
	w := newWorld(t)
	c := w.client()
	c.login("admin", "")
	u, _ := url.Parse(w.ts.URL)
	var secret string
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == sessionCookie {
			secret = ck.Value
		}
	}
	tok := c.csrf("/")
	resp, _ := c.post("/logout", url.Values{"csrf": {tok}}, w.ts.URL)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	// Replaying the old cookie gets the login page: the token is revoked.
	req, _ := http.NewRequest("GET", w.ts.URL+"/", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: secret})
	resp2, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp2.Header.Get("Location"), "/login") {
		t.Fatalf("old cookie after logout: %d %s", resp2.StatusCode, resp2.Header.Get("Location"))
	}
}

func TestLanguageSwitch(t *testing.T) {
	w := newWorld(t)
	c := w.client()
	_, body := c.get("/login")
	if !strings.Contains(body, `<html lang="vi">`) || !strings.Contains(body, "Đăng nhập") {
		t.Fatal("default language is not Vietnamese")
	}
	_, body = c.get("/login?lang=en")
	if !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, "Log in") {
		t.Fatal("?lang=en did not switch")
	}
	_, body = c.get("/login") // the cookie remembers
	if !strings.Contains(body, `<html lang="en">`) {
		t.Fatal("language not remembered")
	}
	if code, _ := c.get("/lang/vi?next=/login"); code != http.StatusSeeOther {
		t.Fatalf("/lang/vi: %d", code)
	}
	_, body = c.get("/login")
	if !strings.Contains(body, `<html lang="vi">`) || !strings.Contains(body, `href="/login?lang=en"`) {
		t.Fatal("/lang/vi did not switch back, or no link to English")
	}
}

func TestSecurityHeaders(t *testing.T) {
	w := newWorld(t)
	resp, err := http.Get(w.ts.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Referrer-Policy") == "" {
		t.Fatalf("headers: %v", resp.Header)
	}
	resp, err = http.Get(w.ts.URL + "/static/style.css")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "max-age") || resp.Header.Get("ETag") == "" {
		t.Fatalf("static: %d %v", resp.StatusCode, resp.Header)
	}
}

// TestTenancy logs in as an agency user and fails if any other agency's
// name, asset or finding shows on any page, or if their objects open.
func TestTenancy(t *testing.T) {
	w := newWorld(t)
	c := w.client()
	c.login("sob", "")
	foreign := []string{"Cục An toàn", "Security Department", "CUCA", "portal.cuca", "Bộ Thông tin", "Ministry of Information", "Nguyễn Văn An", "tls.cert-expired"}
	pages := []string{"/", "/?lang=en", "/findings", "/findings?state=active", "/findings?overdue=1", "/assets", "/scans",
		fmt.Sprintf("/orgs/%d", w.orgs["SOB"].ID), fmt.Sprintf("/findings/%d", w.findings["svc.redis-noauth"].ID),
		fmt.Sprintf("/assets/%d", w.assets["b1"].ID), "/account/totp"}
	for _, p := range pages {
		code, body := c.get(p)
		if code != 200 {
			t.Errorf("%s: status %d", p, code)
		}
		for _, f := range foreign {
			if strings.Contains(body, f) {
				t.Errorf("%s shows %q", p, f)
			}
		}
	}
	if _, body := c.get("/?lang=vi"); !strings.Contains(body, "Sở Bí mật") {
		t.Error("own organization missing from the dashboard")
	}
	for _, p := range []string{fmt.Sprintf("/orgs/%d", w.orgs["CUCA"].ID), fmt.Sprintf("/findings/%d", w.findings["tls.cert-expired"].ID),
		fmt.Sprintf("/assets/%d", w.assets["a1"].ID), fmt.Sprintf("/findings?org=%d", w.orgs["CUCA"].ID)} {
		if code, body := c.get(p); code != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", p, code)
		} else {
			for _, f := range foreign {
				if strings.Contains(body, f) {
					t.Errorf("%s (404) shows %q", p, f)
				}
			}
		}
	}
	for _, p := range []string{"/admin/users", "/admin/audit"} {
		if code, _ := c.get(p); code != http.StatusForbidden {
			t.Errorf("%s as org-member: %d, want 403", p, code)
		}
	}
	// Acting on a foreign finding is refused.
	form := url.Values{"csrf": {c.csrf("/findings")}, "action": {"acknowledge"}, "id": {fmt.Sprint(w.findings["tls.cert-expired"].ID)}}
	if resp, body := c.post("/findings/bulk", form, w.ts.URL); resp.StatusCode == http.StatusSeeOther || strings.Contains(body, "portal.cuca") {
		t.Errorf("bulk on a foreign finding: %d", resp.StatusCode)
	}
}

func TestAdminPages(t *testing.T) {
	w := newWorld(t)
	c := w.client()
	c.login("admin", "")
	for _, p := range []string{"/admin/users", "/admin/tokens", "/admin/audit", "/assets/new", fmt.Sprintf("/assets/%d/edit", w.assets["a1"].ID)} {
		if code, body := c.get(p); code != 200 {
			t.Errorf("%s: %d\n%s", p, code, body)
		}
	}
	tok := c.csrf("/admin/tokens")
	resp, body := c.post("/admin/tokens", url.Values{"csrf": {tok}, "name": {"ci"}, "role": {"viewer"}, "org_code": {"CUCA"}, "days": {"30"}}, w.ts.URL)
	secret := regexp.MustCompile(`rpt_[0-9A-Za-z]{40}`).FindString(body)
	if resp.StatusCode != 200 || secret == "" {
		t.Fatalf("create token: %d\n%s", resp.StatusCode, body)
	}
	if _, again := c.get("/admin/tokens"); strings.Contains(again, secret) {
		t.Fatal("the token secret is shown twice")
	}
	resp, body = c.post("/admin/users", url.Values{"csrf": {tok}, "name": {"lan"}, "role": {"viewer"}, "org_code": {"SOB"}}, w.ts.URL)
	if resp.StatusCode != 200 || !strings.Contains(body, "chỉ hiển thị một lần") {
		t.Fatalf("create user: %d\n%s", resp.StatusCode, body)
	}
	resp, body = c.post("/assets/new", url.Values{"csrf": {tok}, "org_code": {"SOB"}, "kind": {"domain"}, "value": {"sob-hanoi.example.vn"}, "criticality": {"normal"}, "security_level": {"2"}, "tags": {"web, dns"}}, w.ts.URL)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create asset: %d\n%s", resp.StatusCode, body)
	}
	resp, body = c.post("/assets/new", url.Values{"csrf": {tok}, "org_code": {"SOB"}, "kind": {"ipv4"}, "value": {"not an ip"}, "criticality": {"normal"}, "security_level": {"2"}}, w.ts.URL)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "không hợp lệ") {
		t.Fatalf("bad asset: %d", resp.StatusCode)
	}
	if _, body := c.get("/admin/audit"); !strings.Contains(body, "asset.create") {
		t.Fatal("audit log lacks the asset creation")
	}
}
