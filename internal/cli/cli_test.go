package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/queue/natsq"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
)

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type run struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, env map[string]string, stdin string, args ...string) run {
	t.Helper()
	var out, errb syncBuffer
	e := &Env{Stdout: &out, Stderr: &errb, Stdin: strings.NewReader(stdin), Getenv: func(k string) string { return env[k] }}
	code := Run(context.Background(), args, e)
	return run{code, out.String(), errb.String()}
}

func must(t *testing.T, r run, args ...string) run {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("rampart %v: exit %d\nstdout: %s\nstderr: %s", args, r.code, r.stdout, r.stderr)
	}
	return r
}

func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUsageAndVersion(t *testing.T) {
	if r := runCLI(t, nil, ""); r.code != 2 || !strings.Contains(r.stderr, "Commands:") {
		t.Fatalf("no args: %+v", r)
	}
	if r := runCLI(t, nil, "", "frobnicate"); r.code != 2 || !strings.Contains(r.stderr, `unknown command "frobnicate"`) {
		t.Fatalf("unknown: %+v", r)
	}
	if r := runCLI(t, nil, "", "version"); r.code != 0 || !strings.HasPrefix(r.stdout, "rampart ") {
		t.Fatalf("version: %+v", r)
	}
	if r := runCLI(t, nil, "", "migrate", "--no-such-flag"); r.code != 2 {
		t.Fatalf("bad flag: %+v", r)
	}
	dir := t.TempDir()
	cfg := write(t, dir, "rampart.yaml", "data: "+dir+"\nregoin: x\n")
	if r := runCLI(t, nil, "", "migrate", "--config", cfg); r.code == 0 || !strings.Contains(r.stderr, "regoin") {
		t.Fatalf("unknown config key: %+v", r)
	}
}

func TestRegistryCommands(t *testing.T) {
	dir := t.TempDir()
	data := []string{"--data", filepath.Join(dir, "data")}
	must(t, runCLI(t, nil, "", append([]string{"migrate"}, data...)...))

	orgs := write(t, dir, "orgs.csv", "code,name,name_en,kind,parent_code\nVN,Quốc gia,National,national,\nMOH,Bộ Y tế,Ministry of Health,ministry,VN\nHN,Hà Nội,Hanoi,province,VN\n")
	r := must(t, runCLI(t, nil, "", append([]string{"import", "orgs", orgs}, data...)...))
	if !strings.Contains(r.stdout, "3 created") {
		t.Fatalf("import orgs: %s", r.stdout)
	}
	assets := write(t, dir, "assets.csv", "org_code,kind,value,criticality\nMOH,domain,moh.gov.vn,critical\nHN,cidr,203.0.113.0/24,\nHN,url,https://dichvucong.hanoi.gov.vn/,important\n")
	must(t, runCLI(t, nil, "", append([]string{"import", "assets", assets}, data...)...))
	r = must(t, runCLI(t, nil, "", append([]string{"import", "assets", assets}, data...)...))
	if !strings.Contains(r.stdout, "0 created, 0 updated, 3 unchanged") {
		t.Fatalf("re-import is not idempotent: %s", r.stdout)
	}
	bad := write(t, dir, "bad.csv", "org_code,kind,value\nMOH,domain,new.moh.gov.vn\nMOH,ipv4,999.1.1.1\n")
	r = runCLI(t, nil, "", append([]string{"import", "assets", bad}, data...)...)
	if r.code != 1 || !strings.Contains(r.stderr, "line 3") {
		t.Fatalf("bad import: %+v", r)
	}
	r = must(t, runCLI(t, nil, "", append([]string{"export", "assets", "--format", "json"}, data...)...))
	if strings.Contains(r.stdout, "new.moh.gov.vn") || !strings.Contains(r.stdout, `"value": "moh.gov.vn"`) {
		t.Fatalf("export after failed import: %s", r.stdout)
	}
	// The export imports back unchanged.
	exported := write(t, dir, "export.json", r.stdout)
	r = must(t, runCLI(t, nil, "", append([]string{"import", "assets", exported}, data...)...))
	if !strings.Contains(r.stdout, "3 unchanged") {
		t.Fatalf("round trip: %s", r.stdout)
	}
	r = must(t, runCLI(t, nil, "", append([]string{"export", "orgs"}, data...)...))
	if !strings.Contains(r.stdout, "MOH,Bộ Y tế,Ministry of Health,ministry,VN") {
		t.Fatalf("export orgs: %s", r.stdout)
	}

	// Users and tokens.
	r = must(t, runCLI(t, nil, "", append([]string{"user", "create", "lan", "--role", "org-admin", "--org", "MOH"}, data...)...))
	if !regexp.MustCompile(`password: \S{12,}`).MatchString(r.stdout) {
		t.Fatalf("generated password not shown: %s", r.stdout)
	}
	must(t, runCLI(t, nil, "a-brand-new-password\n", append([]string{"user", "set-password", "lan", "--password-stdin"}, data...)...))
	if r := runCLI(t, nil, "short\n", append([]string{"user", "set-password", "lan", "--password-stdin"}, data...)...); r.code == 0 {
		t.Fatal("short password accepted")
	}
	r = must(t, runCLI(t, nil, "", append([]string{"user", "token", "lan", "--name", "ci"}, data...)...))
	if !regexp.MustCompile(`(?m)^rpt_[0-9A-Za-z]{40}$`).MatchString(r.stdout) {
		t.Fatalf("token not printed: %s", r.stdout)
	}
	if r := runCLI(t, nil, "", append([]string{"user", "token", "lan", "--name", "x", "--role", "platform-admin"}, data...)...); r.code == 0 {
		t.Fatal("org-admin minted a platform-admin token")
	}
	if r := runCLI(t, nil, "", append([]string{"user", "create", "bad", "--role", "org-admin"}, data...)...); r.code != 2 {
		t.Fatalf("org-admin without org: %+v", r)
	}
}

// serve runs `rampart serve` until the returned stop is called.
func serve(t *testing.T, env map[string]string, args ...string) (base string, stderr *syncBuffer, stop func()) {
	t.Helper()
	var out syncBuffer
	stderr = &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	e := &Env{Stdout: &out, Stderr: stderr, Stdin: strings.NewReader(""), Getenv: func(k string) string { return env[k] }}
	go func() { done <- Run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...), e) }()
	re := regexp.MustCompile(`listening on (http://\S+)`)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d\nstdout: %s\nstderr: %s", code, out.String(), stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start\nstdout: %s\nstderr: %s", out.String(), stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve exited %d: %s", code, stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not shut down")
		}
	}
	t.Cleanup(stop)
	return base, stderr, stop
}

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func post(t *testing.T, url, token string, body any) (int, string) {
	t.Helper()
	data, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(data))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestServeRestartKeepsStateAndJobs runs the real serve twice on one data
// directory: organizations, the admin token and a queued job survive the
// restart, and the job is done by the in-process worker after it.
func TestServeRestartKeepsStateAndJobs(t *testing.T) {
	dir := t.TempDir()
	token := "automation-token-0123456789abcdefghijkl"
	env := map[string]string{"RAMPART_DATA": dir, "RAMPART_ADMIN_PASSWORD": "correct-horse-battery", "RAMPART_ADMIN_TOKEN": token, "RAMPART_LOG_LEVEL": "debug"}

	base, stderr, stop := serve(t, env, "--no-worker")
	for _, p := range []string{"/healthz", "/readyz"} {
		if code, body := get(t, base+p, ""); code != 200 {
			t.Fatalf("%s: %d %s", p, code, body)
		}
	}
	if code, body := get(t, base+"/api/v1/me", token); code != 200 || !strings.Contains(body, "platform-admin") {
		t.Fatalf("admin token: %d %s", code, body)
	}
	if code, body := post(t, base+"/api/v1/orgs", token, map[string]any{"code": "VN", "name": "Quốc gia", "kind": "national"}); code != 201 {
		t.Fatalf("create org: %d %s", code, body)
	}
	// Queue a job while no worker runs.
	m := regexp.MustCompile(`client_url=(nats://\S+)`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no embedded NATS URL in the log:\n%s", stderr.String())
	}
	q, err := natsq.Open(context.Background(), natsq.Options{URL: m[1], Creds: natsq.PlatformCredentials(filepath.Join(dir, "nats")), Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	jobID := fmt.Sprintf("restart-%d", time.Now().UnixNano())
	if err := scanjob.Publish(context.Background(), q, scanjob.Job{ID: jobID, Type: "ping", Region: "default", Params: json.RawMessage(`{"n":1}`)}); err != nil {
		t.Fatal(err)
	}
	q.Close()
	stop()

	base, stderr, _ = serve(t, env)
	if code, body := get(t, base+"/api/v1/orgs", token); code != 200 || !strings.Contains(body, `"code":"VN"`) {
		t.Fatalf("org lost across restart: %d %s", code, body)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(stderr.String(), "job="+jobID) {
		if time.Now().After(deadline) {
			t.Fatalf("queued job not done after restart:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The admin was created once; the password came from the environment
	// and is not printed.
	if strings.Contains(stderr.String(), "correct-horse-battery") {
		t.Fatal("admin password in the log")
	}
}

func TestServeFirstStartPrintsPassword(t *testing.T) {
	dir := t.TempDir()
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	e := &Env{Stdout: &out, Stderr: io.Discard, Getenv: func(k string) string { return map[string]string{"RAMPART_DATA": dir}[k] }}
	go func() { done <- Run(ctx, []string{"serve", "--listen", "127.0.0.1:0"}, e) }()
	re := regexp.MustCompile(`password: (\S+)`)
	deadline := time.Now().Add(30 * time.Second)
	for re.FindStringSubmatch(out.String()) == nil || !strings.Contains(out.String(), "listening") {
		if time.Now().After(deadline) {
			t.Fatalf("no password printed: %s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	pw := re.FindStringSubmatch(out.String())[1]
	base := regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(out.String())[1]
	code, body := post(t, base+"/api/v1/auth/login", "", map[string]any{"name": "admin", "password": pw})
	if code != 200 {
		t.Fatalf("login with printed password: %d %s", code, body)
	}
	cancel()
	if c := <-done; c != 0 {
		t.Fatalf("exit %d", c)
	}
}
