package syslog

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/sensor"
)

// apacheLogs runs Debian's apache2 as the test's own process on
// 127.0.0.1 with basic authentication on /login (user alice), sends it
// failed logins (a wrong password and an unknown user, by POST; a wrong
// password by GET; a successful POST) and returns its access and error
// logs.
func apacheLogs(t *testing.T) (access, errors []byte) {
	bin := needBinary(t, "apache2", "apache2")
	mods := "/usr/lib/apache2/modules"
	dir, err := os.MkdirTemp("", "rampart-syslog-apache-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil { // children may run as www-data
		t.Fatal(err)
	}
	sum := sha1.Sum([]byte("right"))
	htpasswd := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(htpasswd, []byte("alice:{SHA}"+base64.StdEncoding.EncodeToString(sum[:])+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	docs := filepath.Join(dir, "htdocs")
	if err := os.MkdirAll(filepath.Join(docs, "login"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(docs, "login", "index.html"), []byte("welcome\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	user := ""
	if os.Geteuid() == 0 {
		user = "User www-data\nGroup www-data\n"
	}
	conf := fmt.Sprintf(`ServerRoot %[1]s
DefaultRuntimeDir %[1]s
PidFile %[1]s/apache2.pid
ErrorLog %[1]s/error.log
LogLevel warn
LogFormat "%%h %%l %%u %%t \"%%r\" %%>s %%b \"%%{Referer}i\" \"%%{User-Agent}i\"" combined
CustomLog %[1]s/access.log combined
Listen %[2]s
ServerName rampart-test.local
%[5]sLoadModule mpm_event_module %[3]s/mod_mpm_event.so
LoadModule authz_core_module %[3]s/mod_authz_core.so
LoadModule authz_user_module %[3]s/mod_authz_user.so
LoadModule authn_core_module %[3]s/mod_authn_core.so
LoadModule authn_file_module %[3]s/mod_authn_file.so
LoadModule auth_basic_module %[3]s/mod_auth_basic.so
LoadModule dir_module %[3]s/mod_dir.so
DocumentRoot %[4]s
DirectoryIndex index.html
<Directory %[4]s>
  Require all granted
</Directory>
<Location "/login">
  AuthType Basic
  AuthName "members"
  AuthUserFile %[6]s
  Require valid-user
</Location>
`, dir, addr, mods, docs, user, htpasswd)
	confPath := filepath.Join(dir, "apache2.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command(bin, "-f", confPath, "-DFOREGROUND")
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	t.Cleanup(stop)
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("apache2 exited: %s\n%s", out.String(), log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("apache2 did not listen on %s: %s", addr, out.String())
		}
	}
	client := &http.Client{Timeout: 5 * time.Second}
	for _, r := range []struct {
		method, user, pass string
		status             int
	}{
		{"POST", "alice", "wrong", 401},
		{"POST", "mallory", "guess", 401},
		{"GET", "alice", "wrong", 401},
		{"POST", "alice", "right", 200},
	} {
		req, _ := http.NewRequest(r.method, "http://"+addr+"/login/?next=/", strings.NewReader("a=b"))
		req.SetBasicAuth(r.user, r.pass)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != r.status && !(r.status == 200 && resp.StatusCode == 405) {
			t.Fatalf("%s as %s: %d", r.method, r.user, resp.StatusCode)
		}
	}
	stop() // flushes the logs
	access, _ = os.ReadFile(filepath.Join(dir, "access.log"))
	errors, _ = os.ReadFile(filepath.Join(dir, "error.log"))
	return access, errors
}

// TestRealApache checks the parser on what a real Apache wrote: the
// access log's failed POSTs to /login (not the failed GET, not the good
// login) and the error log's password mismatch and unknown user. Apache's
// worker threads write a request's line when it ends, so two requests on
// two connections may be logged in either order; the events are compared
// as sorted lists.
func TestRealApache(t *testing.T) {
	access, errorLog := apacheLogs(t)
	p := &Parser{}
	collect := func(log []byte) []sensor.Event {
		var evs []sensor.Event
		sc := bufio.NewScanner(bytes.NewReader(log))
		for sc.Scan() {
			var ev sensor.Event
			if ok, err := p.Parse(sc.Bytes(), &ev); err != nil {
				t.Fatal(err)
			} else if ok {
				evs = append(evs, ev)
			}
		}
		return evs
	}
	describe := func(evs []sensor.Event) string {
		var parts []string
		for _, e := range evs {
			if e.Src.String() != "127.0.0.1" || time.Since(e.Time) > time.Hour || time.Since(e.Time) < -time.Hour {
				t.Errorf("event %+v", e)
			}
			parts = append(parts, e.Signature+":"+e.User)
		}
		sort.Strings(parts)
		return strings.Join(parts, " ")
	}
	if got := describe(collect(access)); got != "http:alice http:mallory" {
		t.Errorf("access log: %s\n%s", got, access)
	}
	if got := describe(collect(errorLog)); got != "apache:alice apache:alice apache:mallory" {
		t.Errorf("error log: %s\n%s", got, errorLog)
	}
}
