package http_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
)

// apacheAt runs Debian's apache2 as the test's own process on
// 127.0.0.1:<free port>, with a configuration the test writes: weak has
// mod_status (ExtendedStatus) and mod_info open to everyone and
// TraceEnable On (Apache's default); hardened denies both handlers and
// sets TraceEnable Off.
func apacheAt(t *testing.T, weak bool) string {
	t.Helper()
	bin := ""
	for _, p := range []string{"/usr/sbin/apache2", "apache2"} {
		if b, err := exec.LookPath(p); err == nil {
			bin = b
			break
		}
	}
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("apache2 not installed: .ci/run installs the apache2 package, and CI must run this fixture")
		}
		t.Skip("apache2 not installed (apt-get install apache2)")
	}
	mods := "/usr/lib/apache2/modules"
	dir, err := os.MkdirTemp("", "rampart-http-apache-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil { // children may run as www-data
		t.Fatal(err)
	}
	docs := filepath.Join(dir, "htdocs")
	if err := os.MkdirAll(docs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(docs, "index.html"), []byte("<html><head><title>Portal</title></head><body>Hello</body></html>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	access, trace := "Require all granted", "On"
	if !weak {
		access, trace = "Require ip 192.0.2.1", "Off"
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "User www-data\nGroup www-data\n"
	}
	conf := fmt.Sprintf(`ServerRoot %[1]s
DefaultRuntimeDir %[1]s
PidFile %[1]s/apache2.pid
ErrorLog %[1]s/error.log
LogLevel warn
Listen %[2]s
ServerName rampart-test.local
%[5]sLoadModule mpm_event_module %[3]s/mod_mpm_event.so
LoadModule authz_core_module %[3]s/mod_authz_core.so
LoadModule authz_host_module %[3]s/mod_authz_host.so
LoadModule dir_module %[3]s/mod_dir.so
LoadModule mime_module %[3]s/mod_mime.so
LoadModule status_module %[3]s/mod_status.so
LoadModule info_module %[3]s/mod_info.so
TypesConfig /etc/mime.types
DocumentRoot %[4]s
DirectoryIndex index.html
<Directory />
  AllowOverride None
  Require all denied
</Directory>
<Directory %[4]s>
  Require all granted
</Directory>
ExtendedStatus On
TraceEnable %[6]s
<Location "/server-status">
  SetHandler server-status
  %[7]s
</Location>
<Location "/server-info">
  SetHandler server-info
  %[7]s
</Location>
`, dir, addr, mods, docs, user, trace, access)
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
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return addr
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
		time.Sleep(100 * time.Millisecond)
	}
}

func TestRealApache(t *testing.T) {
	if testing.Short() {
		t.Skip("starts apache2")
	}
	ids := []string{"http.apache-server-status", "http.apache-server-info", "http.trace-enabled", "http.phpinfo-exposed", "http.cors-reflects-origin", "http.admin-console-exposed"}
	fired := func(weak bool) (map[string][]string, map[string][]check.Result) {
		addr := apacheAt(t, weak)
		env := testEnv(loopback{addr: addr})
		got := runIDs(t, env, svc(addr, "http", false, ""), ids...)
		subjects := map[string][]string{}
		for id, rs := range got {
			for _, r := range rs {
				subjects[id] = append(subjects[id], r.Subject)
			}
			sort.Strings(subjects[id])
		}
		return subjects, got
	}
	weak, res := fired(true)
	want := map[string][]string{
		"http.apache-server-status": {"/server-status"},
		"http.apache-server-info":   {"/server-info"},
		"http.trace-enabled":        {"TRACE"},
	}
	if !reflect.DeepEqual(weak, want) {
		t.Fatalf("weak apache fired %v, want %v", weak, want)
	}
	st := res["http.apache-server-status"][0].Evidence.Fields
	if v := st["server_version"]; len(v) < len("Apache/2") || v[:7] != "Apache/" || st["extended_status"] != "true" {
		t.Errorf("server-status fields from real apache: %v", st)
	}
	if v := res["http.apache-server-info"][0].Evidence.Fields["server_version"]; len(v) < 7 || v[:7] != "Apache/" {
		t.Errorf("server-info version from real apache: %q", v)
	}
	if hard, _ := fired(false); len(hard) != 0 {
		t.Errorf("hardened apache fired %v", hard)
	}
}
