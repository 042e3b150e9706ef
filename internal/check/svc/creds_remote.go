package svc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/rampart-cert/rampart/internal/check"
)

// ---- SSH ----

// sshLogin tries one password on one connection; it only reports whether
// the server accepted it (no session, no command).
func sshLogin(ctx context.Context, env *check.Env, t check.Target, user, password string) (bool, error) {
	c, err := conn(ctx, env, t)
	if err != nil {
		return false, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	cfg := &ssh.ClientConfig{User: user, ClientVersion: strings.TrimSpace(sshClientIdent),
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), //nolint:gosec // the server's identity is not what this check judges
		Auth: []ssh.AuthMethod{ssh.Password(password),
			ssh.KeyboardInteractive(func(_, _ string, qs []string, _ []bool) ([]string, error) {
				ans := make([]string, len(qs))
				for i := range ans {
					ans[i] = password
				}
				return ans, nil
			})}}
	sshAlgorithms(&cfg.Config)
	cc, _, _, err := ssh.NewClientConn(c, t.Addr.String(), cfg)
	if err != nil {
		return false, nil
	}
	cc.Close()
	return true, nil
}

func credSSH(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	for _, cred := range credentialsFor("ssh") {
		ok, err := sshLogin(ctx, env, t, cred.User, cred.Password)
		if err != nil {
			return nil, err
		}
		if ok {
			return []check.Result{credResult(m, t, "ssh", cred.User, passwordKind(cred.Password), check.Evidence{
				Request: fmt.Sprintf("SSH password authentication as %s (no session opened)", cred.User), Response: "authentication accepted"})}, nil
		}
	}
	return nil, nil
}

// ---- FTP ----

func credFTP(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	for _, cred := range credentialsFor("ftp") {
		c, err := conn(ctx, env, t)
		if err != nil {
			return nil, err
		}
		r := bufio.NewReader(io.LimitReader(c, maxReply))
		ok := func() bool {
			defer c.Close()
			if greet, err := ftpReply(r); err != nil || !strings.HasPrefix(greet, "220") {
				return false
			}
			if _, err := io.WriteString(c, "USER "+cred.User+"\r\n"); err != nil {
				return false
			}
			reply, err := ftpReply(r)
			if err == nil && strings.HasPrefix(reply, "331") {
				if _, err := io.WriteString(c, "PASS "+cred.Password+"\r\n"); err != nil {
					return false
				}
				reply, err = ftpReply(r)
			}
			_, _ = io.WriteString(c, "QUIT\r\n")
			return err == nil && strings.HasPrefix(reply, "230")
		}()
		if ok {
			return []check.Result{credResult(m, t, "ftp", cred.User, passwordKind(cred.Password), check.Evidence{
				Request: "USER " + cred.User + " / PASS (not kept)", Response: "230 login successful, then QUIT"})}, nil
		}
	}
	return nil, nil
}

// ---- Web applications ----

// webClient fetches from t with the env's dialer, no redirects followed.
type webClient struct {
	c    *http.Client
	base string
	host string
	ua   string
}

func newWebClient(env *check.Env, t check.Target) *webClient {
	scheme := "http"
	tr := &http.Transport{DialContext: env.Dial, DisableKeepAlives: true, MaxResponseHeaderBytes: 64 << 10}
	if isTLSTarget(t) {
		scheme = "https"
		tr.TLSClientConfig = insecureTLS()
	}
	host := t.Host
	if host == "" {
		host = t.Addr.String()
	}
	return &webClient{c: &http.Client{Timeout: timeoutOf(env), Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		base: scheme + "://" + t.Addr.String(), host: host, ua: env.UserAgent}
}

// do sends one request and returns the status, headers and up to 64 KiB
// of body.
func (w *webClient) do(ctx context.Context, method, path, user, password string, body []byte, ctype string) (int, http.Header, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, w.base+path, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Host = w.host
	if w.ua != "" {
		req.Header.Set("User-Agent", w.ua)
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := w.c.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, resp.Header, b, nil
}

// credWeb looks for the web applications whose default accounts it
// knows, each by its own answer, and tries their defaults.
func credWeb(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	w := newWebClient(env, t)
	var out []check.Result
	for _, app := range []func(context.Context, *webClient, check.Target, check.Meta) (*check.Result, error){webTomcat, webGrafana, webRabbitMQ, webJenkins, webPhpMyAdmin, webMikroTik, webDevice} {
		r, err := app(ctx, w, t, m)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			continue // this application is not here, or did not answer
		}
		if r != nil {
			out = append(out, *r)
		}
	}
	return out, nil
}

// webTomcat: /manager/html asks for Basic in the realm "Tomcat Manager
// Application"; a 200 with a default account is a manager login (deploy
// a WAR, run code).
func webTomcat(ctx context.Context, w *webClient, t check.Target, m check.Meta) (*check.Result, error) {
	status, h, _, err := w.do(ctx, http.MethodGet, "/manager/html", "", "", nil, "")
	if err != nil || status != http.StatusUnauthorized || !strings.Contains(h.Get("WWW-Authenticate"), "Tomcat Manager") {
		return nil, err
	}
	for _, cred := range credentialsFor("tomcat-manager") {
		status, _, body, err := w.do(ctx, http.MethodGet, "/manager/html", cred.User, cred.Password, nil, "")
		if err != nil {
			return nil, err
		}
		if status == http.StatusOK && bytes.Contains(body, []byte("Tomcat Web Application Manager")) {
			r := credResult(m, t, "tomcat-manager", cred.User, passwordKind(cred.Password), check.Evidence{
				Request: "GET /manager/html with Basic authentication as " + cred.User, Response: "200 Tomcat Web Application Manager"})
			return &r, nil
		}
		if status == http.StatusForbidden {
			break // the account exists without manager-gui, or the lock-out realm speaks
		}
	}
	return nil, nil
}

// webGrafana: /api/health names Grafana; POST /login with admin/admin.
func webGrafana(ctx context.Context, w *webClient, t check.Target, m check.Meta) (*check.Result, error) {
	status, _, body, err := w.do(ctx, http.MethodGet, "/api/health", "", "", nil, "")
	if err != nil || status != http.StatusOK {
		return nil, err
	}
	var health struct {
		Database string `json:"database"`
		Version  string `json:"version"`
	}
	if json.Unmarshal(body, &health) != nil || health.Database == "" {
		return nil, nil
	}
	for _, cred := range credentialsFor("grafana") {
		login, _ := json.Marshal(map[string]string{"user": cred.User, "password": cred.Password})
		status, _, body, err := w.do(ctx, http.MethodPost, "/login", "", "", login, "application/json")
		if err != nil {
			return nil, err
		}
		if status == http.StatusOK && bytes.Contains(body, []byte("Logged in")) {
			r := credResult(m, t, "grafana", cred.User, passwordKind(cred.Password), check.Evidence{
				Request: "POST /login as " + cred.User, Response: "200 Logged in", Fields: map[string]string{"version": health.Version}})
			return &r, nil
		}
	}
	return nil, nil
}

// webRabbitMQ: the management API asks for Basic in the realm "RabbitMQ
// Management"; /api/whoami answers the guest account.
func webRabbitMQ(ctx context.Context, w *webClient, t check.Target, m check.Meta) (*check.Result, error) {
	status, h, _, err := w.do(ctx, http.MethodGet, "/api/whoami", "", "", nil, "")
	if err != nil || status != http.StatusUnauthorized || !strings.Contains(h.Get("WWW-Authenticate"), "RabbitMQ") {
		return nil, err
	}
	for _, cred := range credentialsFor("rabbitmq") {
		status, _, body, err := w.do(ctx, http.MethodGet, "/api/whoami", cred.User, cred.Password, nil, "")
		if err != nil {
			return nil, err
		}
		var who struct {
			Name string `json:"name"`
		}
		if status == http.StatusOK && json.Unmarshal(body, &who) == nil && who.Name == cred.User {
			r := credResult(m, t, "rabbitmq", cred.User, passwordKind(cred.Password), check.Evidence{
				Request: "GET /api/whoami with Basic authentication as " + cred.User, Response: "200 " + printable(body[:min(len(body), 200)])})
			return &r, nil
		}
	}
	return nil, nil
}

// webJenkins: a server that says X-Jenkins and answers /api/json (the
// job list) or /script (the Groovy console, code execution) without a
// login lets anyone in; no password is tried.
func webJenkins(ctx context.Context, w *webClient, t check.Target, m check.Meta) (*check.Result, error) {
	status, h, _, err := w.do(ctx, http.MethodGet, "/api/json", "", "", nil, "")
	if err != nil || h.Get("X-Jenkins") == "" || status != http.StatusOK {
		return nil, err
	}
	what := "anonymous read of the job list (/api/json)"
	s2, _, body, err := w.do(ctx, http.MethodGet, "/script", "", "", nil, "")
	if err == nil && s2 == http.StatusOK && bytes.Contains(body, []byte("Script Console")) {
		what = "anonymous access to the Groovy script console (/script): code execution"
	}
	r := credResult(m, t, "jenkins", "anonymous", loginAnonymous, check.Evidence{
		Request: "GET /api/json, GET /script (no credentials)", Response: what,
		Fields: map[string]string{"version": h.Get("X-Jenkins")}})
	return &r, nil
}
