package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fromAddr is an HTTP client whose connections leave from a loopback
// address of our choosing, so a test can play several clients; it keeps
// cookies and does not follow redirects.
func fromAddr(t *testing.T, ip string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Jar: jar, Transport: &http.Transport{DialContext: d.DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func apiLogin(t *testing.T, hc *http.Client, base, name, pw string) int {
	t.Helper()
	data, _ := json.Marshal(map[string]string{"name": name, "password": pw})
	res, err := hc.Post(base+"/api/v1/auth/login", "application/json", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func consoleLogin(t *testing.T, hc *http.Client, base, name, pw string) int {
	t.Helper()
	res, err := hc.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := csrfField.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf token on /login: %s", body)
	}
	form := url.Values{"csrf": {string(m[1])}, "name": {name}, "password": {pw}}
	req, _ := http.NewRequest("POST", base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	res, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// TestF12SharedThrottle: serve gives the API and the console one login
// throttle: five wrong API passwords from 127.0.0.2 also stop that address
// on the console, while the owner at 127.0.0.3 logs in on both.
func TestF12SharedThrottle(t *testing.T) {
	token := "f12-admin-token-0123456789abcdefghijklmn"
	env := map[string]string{"RAMPART_DATA": t.TempDir(), "RAMPART_ADMIN_PASSWORD": "Platform-Owner-2026", "RAMPART_ADMIN_TOKEN": token}
	base, _, _ := serve(t, env, "--no-worker", "--no-scheduler")
	if code, body := post(t, base+"/api/v1/orgs", token, map[string]any{"code": "HN-A", "name": "Tổ chức A", "kind": "agency"}); code != 201 {
		t.Fatalf("create org: %d %s", code, body)
	}
	_, body := get(t, base+"/api/v1/orgs", token)
	var page struct{ Items []struct{ ID int64 } }
	json.Unmarshal([]byte(body), &page)
	if len(page.Items) != 1 {
		t.Fatalf("orgs: %s", body)
	}
	orgID := page.Items[0].ID
	const pw = "RedTeam-Pass-2026!"
	if code, body := post(t, base+"/api/v1/users", token, map[string]any{"name": "a_viewer", "role": "viewer", "org_id": orgID, "password": pw}); code != 201 {
		t.Fatalf("create user: %d %s", code, body)
	}
	attacker, owner := fromAddr(t, "127.0.0.2"), fromAddr(t, "127.0.0.3")
	for i := range 5 {
		if code := apiLogin(t, attacker, base, "a_viewer", "wrong-guess-"+string(rune('a'+i))); code != 401 {
			t.Fatalf("guess %d: %d, want 401", i+1, code)
		}
	}
	if code := apiLogin(t, attacker, base, "a_viewer", pw); code != 429 {
		t.Errorf("attacker's address on the API after 5 failures: %d, want 429", code)
	}
	if code := consoleLogin(t, attacker, base, "a_viewer", pw); code != 429 {
		t.Errorf("attacker's address on the console after 5 API failures: %d, want 429 (one throttle)", code)
	}
	if code := apiLogin(t, owner, base, "a_viewer", pw); code != 200 {
		t.Errorf("owner from 127.0.0.3 on the API: %d, want 200", code)
	}
	if code := consoleLogin(t, owner, base, "a_viewer", pw); code != 303 {
		t.Errorf("owner from 127.0.0.3 on the console: %d, want 303", code)
	}
}

// TestF22BootstrapToken: the RAMPART_ADMIN_TOKEN token expires, a new
// value revokes the old one, its fingerprint (not its first characters) is
// what the log shows, and the data directory gets a 0600 secret key.
func TestF22BootstrapToken(t *testing.T) {
	dir := t.TempDir()
	first := "redteam-admin-token-0123456789abcdef"
	env := map[string]string{"RAMPART_DATA": dir, "RAMPART_ADMIN_PASSWORD": "Platform-Owner-2026", "RAMPART_ADMIN_TOKEN": first}
	base, stderr, stop := serve(t, env, "--no-worker", "--no-scheduler")
	code, body := get(t, base+"/api/v1/tokens", first)
	if code != 200 || !strings.Contains(body, `"expires_at"`) || strings.Contains(body, `"prefix":"redteam-`) {
		t.Fatalf("tokens: %d %s", code, body)
	}
	if strings.Contains(stderr.String(), "redteam-") {
		t.Errorf("the log shows characters of the admin token:\n%s", stderr.String())
	}
	stop()
	fi, err := os.Stat(filepath.Join(dir, "secret.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("secret key: %v, mode %v", err, fi)
	}

	second := "rotated-admin-token-0123456789abcdefgh"
	env["RAMPART_ADMIN_TOKEN"] = second
	base, _, stop = serve(t, env, "--no-worker", "--no-scheduler")
	if code, _ := get(t, base+"/api/v1/me", first); code != 401 {
		t.Errorf("old admin token after the value changed: %d, want 401", code)
	}
	code, body = get(t, base+"/api/v1/me", second)
	if code != 200 {
		t.Fatalf("new admin token: %d %s", code, body)
	}
	// Revoked through the API, the value stays revoked at the next start.
	_, body = get(t, base+"/api/v1/tokens", second)
	var page struct {
		Items []struct {
			ID      int64  `json:"id"`
			Name    string `json:"name"`
			Revoked bool   `json:"revoked"`
		}
	}
	json.Unmarshal([]byte(body), &page)
	var id int64
	for _, tk := range page.Items {
		if tk.Name == bootstrapTokenName && !tk.Revoked {
			id = tk.ID
		}
	}
	req, _ := http.NewRequest("DELETE", base+"/api/v1/tokens/"+strconv.FormatInt(id, 10), nil)
	req.Header.Set("Authorization", "Bearer "+second)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 204 {
		t.Fatalf("revoke: %v %v", err, res)
	}
	res.Body.Close()
	stop()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var errs syncBuffer
	e := &Env{Stdout: io.Discard, Stderr: &errs, Stdin: strings.NewReader(""), Getenv: func(k string) string { return env[k] }}
	if code := Run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--no-worker", "--no-scheduler"}, e); code == 0 || !strings.Contains(errs.String(), "revoked") {
		t.Errorf("start with a revoked RAMPART_ADMIN_TOKEN: exit %d, stderr %s; want a refusal naming the revocation", code, errs.String())
	}
}
