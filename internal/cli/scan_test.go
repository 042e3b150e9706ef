package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	labMu      sync.Mutex
	labClosers = map[string]io.Closer{}
)

// lab starts a small weak host on addr: an unauthenticated Redis and a web
// server leaking its version and its .git directory.
func lab(t *testing.T, addr string) (redisPort, webPort int) {
	t.Helper()
	rl, err := net.Listen("tcp", addr+":0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rl.Close() })
	labMu.Lock()
	labClosers[rl.Addr().String()] = rl
	labMu.Unlock()
	go serveRedis(rl)
	wl, err := net.Listen("tcp", addr+":0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "nginx/1.18.0")
		switch r.URL.Path {
		case "/.git/HEAD":
			io.WriteString(w, "ref: refs/heads/main\n")
		case "/":
			io.WriteString(w, "<html><head><title>Cổng thông tin</title></head><body>Xin chào</body></html>")
		default:
			http.NotFound(w, r)
		}
	})}
	labMu.Lock()
	labClosers[wl.Addr().String()] = srv
	labMu.Unlock()
	go srv.Serve(wl)
	t.Cleanup(func() { srv.Close() })
	return rl.Addr().(*net.TCPAddr).Port, wl.Addr().(*net.TCPAddr).Port
}

func TestScanCommand(t *testing.T) {
	redisPort, webPort := lab(t, "127.66.0.1")
	data := filepath.Join(t.TempDir(), "data")
	ports := fmt.Sprintf("%d,%d,1-20", redisPort, webPort)
	r := runCLI(t, nil, "", "scan", "--data", data, "--ports", ports, "--timeout", "500ms", "--scope", "none", "127.66.0.1")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var portsSeen = map[int]map[string]any{}
	findings := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		switch m["type"] {
		case "port":
			portsSeen[int(m["port"].(float64))] = m
		case "finding":
			findings[m["check"].(string)] = true
			for _, k := range []string{"severity", "target", "title", "evidence", "cve"} {
				if _, ok := m[k]; !ok {
					t.Errorf("finding without %s: %s", k, line)
				}
			}
		}
	}
	if len(portsSeen) != 2 {
		t.Fatalf("open ports %v, want %d and %d\n%s", portsSeen, redisPort, webPort, r.stdout)
	}
	if s := portsSeen[redisPort]["service"]; s != "redis" {
		t.Errorf("redis port identified as %v", s)
	}
	web := portsSeen[webPort]
	if web["service"] != "http" || web["product"] != "nginx" || web["version"] != "1.18.0" || web["proto"] != "tcp" || web["ip"] != "127.66.0.1" {
		t.Errorf("web port = %v", web)
	}
	for _, id := range []string{"svc.redis-unauthenticated", "http.exposed-git", "http.version-disclosure", "svc.end-of-life"} {
		if !findings[id] {
			t.Errorf("finding %s missing; got %v", id, findings)
		}
	}
	if !strings.Contains(r.stderr, "scanned 1 hosts, 22 ports probed, 2 open") {
		t.Errorf("summary: %s", r.stderr)
	}
}

func TestScanScopeAndArguments(t *testing.T) {
	_, webPort := lab(t, "127.66.0.2")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	orgs := write(t, dir, "orgs.csv", "code,name,kind\nVN,Quốc gia,national\n")
	assets := write(t, dir, "assets.csv", "org_code,kind,value\nVN,ipv4,127.66.0.3\n")
	must(t, runCLI(t, nil, "", "import", "orgs", orgs, "--data", data))
	must(t, runCLI(t, nil, "", "import", "assets", assets, "--data", data))
	// 127.66.0.2 is not registered: with a registry it is refused.
	r := runCLI(t, nil, "", "scan", "--data", data, "--ports", fmt.Sprint(webPort), "--checks", "none", "127.66.0.2", "127.66.0.3")
	if r.code != 0 || strings.Contains(r.stdout, `"port"`) || !strings.Contains(r.stderr, "refused") || !strings.Contains(r.stderr, "1 targets refused") {
		t.Fatalf("scope: %+v", r)
	}
	for _, args := range [][]string{
		{"scan"},
		{"scan", "--ports", "0-5", "127.0.0.1"},
		{"scan", "--format", "xml", "127.0.0.1"},
		{"scan", "--checks", "magic", "127.0.0.1"},
		{"scan", "not a target!"},
	} {
		if r := runCLI(t, nil, "", append(args, "--data", data)...); r.code != 2 || r.stderr == "" {
			t.Errorf("%v: exit %d: %s", args, r.code, r.stderr)
		}
	}
}

func TestChecksCommands(t *testing.T) {
	r := must(t, runCLI(t, nil, "", "checks", "list", "--templates", "../check/template/builtin"))
	for _, id := range []string{"tls.cert-expired", "svc.redis-unauthenticated", "template.cve-2021-41773"} {
		if !strings.Contains(r.stdout, id) {
			t.Errorf("checks list lacks %s", id)
		}
	}
	must(t, runCLI(t, nil, "", "checks", "lint", "../check/template/builtin"))
	if r := runCLI(t, nil, "", "checks", "lint", "../check/template/testdata/bad"); r.code != 1 || !strings.Contains(r.stderr, "unknown-key.yaml") {
		t.Errorf("lint of bad templates: %+v", r)
	}
}

// serveRedis answers PING and INFO like an unauthenticated Redis.
func serveRedis(rl net.Listener) {
	for {
		c, err := rl.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			r := bufio.NewReader(c)
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if strings.HasPrefix(line, "*") || strings.HasPrefix(line, "$") {
					continue
				}
				up := strings.ToUpper(strings.TrimSpace(line))
				switch {
				case up == "PING":
					io.WriteString(c, "+PONG\r\n")
				case strings.HasPrefix(up, "INFO"):
					body := "# Server\r\nredis_version:7.2.4\r\nredis_mode:standalone\r\nos:Linux\r\n"
					fmt.Fprintf(c, "$%d\r\n%s\r\n", len(body), body)
				default:
					io.WriteString(c, "-ERR unknown command\r\n")
				}
			}
		}()
	}
}
