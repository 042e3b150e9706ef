package svc

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/finding"
)

// credEnv opts in, as an organization's scan policy would.
func credEnv() *check.Env {
	e := env()
	e.Extra = map[string]any{Family: Options{Credentials: true}}
	return e
}

// runCreds runs svc.default-credentials opted in.
func runCreds(t *testing.T, tg check.Target) []check.Result {
	t.Helper()
	c := find("svc.default-credentials")
	if !c.Applies(tg) {
		t.Fatalf("does not apply to %+v", tg)
	}
	rs, err := c.Run(context.Background(), credEnv(), tg)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Severity != finding.Critical || r.Evidence.Fields["account"] == "" {
			t.Fatalf("bad result %+v", r)
		}
		// The password that worked is never kept: what we wrote (title,
		// request, fields) holds no password of that service's list, once
		// the account and service names (often the same word) are taken
		// out. The server's own answer is its business.
		account, svc := r.Evidence.Fields["account"], r.Evidence.Fields["service"]
		text := r.Title + " " + r.Evidence.Request + " " + r.Evidence.Fields["password"]
		text = strings.ReplaceAll(strings.ReplaceAll(text, account, ""), svc, "")
		text = strings.ReplaceAll(text, "password", "") // the title's own word (and Netgear's default)
		for _, c := range shippedCredentials() {
			if c.Service == svc && c.Password != "" && strings.Contains(text, c.Password) {
				t.Fatalf("password %q in the evidence: %+v", c.Password, r)
			}
		}
	}
	return rs
}

// Without the scan policy's opt-in nothing is tried: no connection, and an
// error (not "nothing found"), so an earlier finding is not closed.
func TestCredentialsOffByDefault(t *testing.T) {
	var accepts atomic.Int32
	ap := serve(t, func(c net.Conn) { accepts.Add(1) })
	for _, e := range []*check.Env{env(), {Extra: map[string]any{Family: &Options{}}}} {
		rs, err := find("svc.default-credentials").Run(context.Background(), e, target(ap, "postgresql"))
		if !errors.Is(err, ErrCredentialsOff) || len(rs) != 0 {
			t.Fatalf("%+v %v", rs, err)
		}
	}
	if accepts.Load() != 0 {
		t.Fatalf("%d connections without the opt-in", accepts.Load())
	}
}

// postgresAt runs the machine's PostgreSQL binaries as a cluster of the
// test's own (initdb in a temporary directory, the postgres user, a
// loopback port): authentication trust, or SCRAM with the superuser
// password given.
func postgresAt(t *testing.T, password string) netip.AddrPort {
	// Debian keeps the server binaries out of PATH, under its major version.
	bin := ""
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres"); len(m) > 0 {
		bin = m[len(m)-1]
	} else {
		bin = needBinary(t, "postgres", "postgresql")
	}
	initdb := filepath.Join(filepath.Dir(bin), "initdb")
	if os.Geteuid() != 0 {
		t.Skip("the PostgreSQL fixture switches to the postgres user")
	}
	out, err := exec.Command("id", "-u", "postgres").Output()
	if err != nil {
		t.Skip("no postgres user")
	}
	uid, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	out, _ = exec.Command("id", "-g", "postgres").Output()
	gid, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	dir, err := os.MkdirTemp("", "rampart-svc-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	as := &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	args := []string{"-D", filepath.Join(dir, "data"), "-U", "postgres", "--no-sync", "--no-instructions", "-E", "UTF8", "--locale=C"}
	if password == "" {
		args = append(args, "--auth=trust")
	} else {
		pw := filepath.Join(dir, "pw")
		writeFile(t, pw, "%s\n", password)
		os.Chown(pw, uid, gid)
		args = append(args, "--auth=scram-sha-256", "--pwfile="+pw)
	}
	cmd := exec.Command(initdb, args...)
	cmd.SysProcAttr = as
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v: %s", err, out)
	}
	ap := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), freePort(t, "127.0.0.1"))
	startDaemonAs(t, ap, as, bin, "-D", filepath.Join(dir, "data"), "-h", "127.0.0.1", "-p", strconv.Itoa(int(ap.Port())), "-k", dir, "-c", "fsync=off")
	// The port accepts before the server takes logins (57P03, "the
	// database system is starting up"): wait for that to pass.
	for range 150 {
		c, err := net.DialTimeout("tcp", ap.String(), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(2 * time.Second))
		c.Write(pgStartup("postgres"))
		msg, err := ReadPGMessage(c)
		c.Close()
		if err != nil || msg.Type != 'E' || !bytes.Contains(msg.Body, []byte("57P03")) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return ap
}

func TestCredentialsPostgreSQL(t *testing.T) {
	rs := runCreds(t, target(postgresAt(t, ""), "postgresql"))
	if len(rs) != 1 || rs[0].Evidence.Fields["account"] != "postgres" || rs[0].Evidence.Fields["password"] != loginTrust {
		t.Fatalf("trust: %+v", rs)
	}
	rs = runCreds(t, target(postgresAt(t, "postgres"), "postgresql"))
	if len(rs) != 1 || rs[0].Evidence.Fields["password"] != loginDefault {
		t.Fatalf("postgres/postgres over SCRAM: %+v", rs)
	}
	if rs := runCreds(t, target(postgresAt(t, "Vq8-long-unguessable-9"), "postgresql")); len(rs) != 0 {
		t.Fatalf("a strong password fired: %+v", rs)
	}
}

// mariadbAt runs Debian's MariaDB server on a loopback port with a data
// directory of the test's own; root has an empty password, or the one
// given.
func mariadbAt(t *testing.T, rootPassword string) netip.AddrPort {
	bin := needBinary(t, "mariadbd", "mariadb-server")
	install := needBinary(t, "mariadb-install-db", "mariadb-server")
	if os.Geteuid() != 0 {
		t.Skip("the MariaDB fixture runs as root (--user=root)")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if out, err := exec.Command(install, "--no-defaults", "--datadir="+data, "--user=root", "--auth-root-authentication-method=normal", "--skip-test-db").CombinedOutput(); err != nil {
		t.Fatalf("mariadb-install-db: %v: %s", err, out)
	}
	ap := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), freePort(t, "127.0.0.1"))
	args := []string{"--no-defaults", "--datadir=" + data, "--user=root", "--bind-address=127.0.0.1", "--port=" + strconv.Itoa(int(ap.Port())),
		"--socket=" + filepath.Join(dir, "sock"), "--pid-file=" + filepath.Join(dir, "pid"), "--skip-log-bin", "--innodb-buffer-pool-size=8M"}
	if rootPassword != "" {
		init := filepath.Join(dir, "init.sql")
		writeFile(t, init, "ALTER USER 'root'@'localhost' IDENTIFIED BY '%s';\n", rootPassword)
		args = append(args, "--init-file="+init)
	}
	startDaemon(t, ap, bin, args...)
	return ap
}

func TestCredentialsMariaDB(t *testing.T) {
	rs := runCreds(t, target(mariadbAt(t, ""), "mysql"))
	if len(rs) != 1 || rs[0].Evidence.Fields["account"] != "root" || rs[0].Evidence.Fields["password"] != loginEmpty ||
		!strings.Contains(rs[0].Evidence.Fields["server_version"], "MariaDB") {
		t.Fatalf("root without password: %+v", rs)
	}
	if rs := runCreds(t, target(mariadbAt(t, "Vq8-long-unguessable-9"), "mysql")); len(rs) != 0 {
		t.Fatalf("root with a password fired: %+v", rs)
	}
}

// sshPasswordServer is an SSH server (x/crypto/ssh) that accepts one
// account, and counts the attempts it saw.
func sshPasswordServer(t *testing.T, user, password string, attempts *atomic.Int32) netip.AddrPort {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{PasswordCallback: func(c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
		attempts.Add(1)
		if c.User() == user && string(pw) == password {
			return nil, nil
		}
		return nil, errors.New("denied")
	}}
	cfg.AddHostKey(signer)
	return serve(t, func(c net.Conn) {
		sc, chans, reqs, err := ssh.NewServerConn(c, cfg)
		if err != nil {
			return
		}
		go ssh.DiscardRequests(reqs)
		for ch := range chans {
			ch.Reject(ssh.Prohibited, "no sessions")
		}
		sc.Close()
	})
}

func TestCredentialsSSH(t *testing.T) {
	var n atomic.Int32
	rs := runCreds(t, target(sshPasswordServer(t, "pi", "raspberry", &n), "ssh"))
	if len(rs) != 1 || rs[0].Subject != "ssh:pi" {
		t.Fatalf("pi/raspberry: %+v", rs)
	}
	n.Store(0)
	if rs := runCreds(t, target(sshPasswordServer(t, "root", "Vq8-long-unguessable-9", &n), "ssh")); len(rs) != 0 {
		t.Fatalf("strong password fired: %+v", rs)
	}
	if n.Load() > maxAttempts {
		t.Fatalf("%d password attempts, at most %d allowed", n.Load(), maxAttempts)
	}
}

func TestCredentialsFTP(t *testing.T) {
	ftp := func(user, pass string) netip.AddrPort {
		return serve(t, func(c net.Conn) {
			c.Write([]byte("220 ProFTPD Server\r\n"))
			buf := make([]byte, 256)
			var u string
			for {
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				line := strings.TrimSpace(string(buf[:n]))
				switch {
				case strings.HasPrefix(line, "USER "):
					u = line[5:]
					c.Write([]byte("331 Password required\r\n"))
				case strings.HasPrefix(line, "PASS "):
					if u == user && line[5:] == pass {
						c.Write([]byte("230 User logged in\r\n"))
					} else {
						c.Write([]byte("530 Login incorrect.\r\n"))
					}
				case line == "QUIT":
					c.Write([]byte("221 Goodbye.\r\n"))
					return
				}
			}
		})
	}
	if rs := runCreds(t, target(ftp("admin", "admin"), "ftp")); len(rs) != 1 || rs[0].Subject != "ftp:admin" {
		t.Fatalf("admin/admin: %+v", rs)
	}
	if rs := runCreds(t, target(ftp("admin", "Vq8-long-unguessable-9"), "ftp")); len(rs) != 0 {
		t.Fatalf("strong password fired: %+v", rs)
	}
}

// webApps answers like Tomcat's manager, Grafana, RabbitMQ's management
// API and Jenkins; weak accepts their defaults (and Jenkins without a
// login), otherwise every login fails.
func webApps(t *testing.T, weak bool) netip.AddrPort {
	return serveHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		switch r.URL.Path {
		case "/manager/html":
			if weak && user == "tomcat" && pass == "s3cret" {
				w.Write([]byte("<title>/manager</title><h1>Tomcat Web Application Manager</h1>"))
				return
			}
			w.Header().Set("WWW-Authenticate", `Basic realm="Tomcat Manager Application"`)
			w.WriteHeader(http.StatusUnauthorized)
		case "/api/health":
			w.Write([]byte(`{"commit":"abc","database":"ok","version":"10.4.2"}`))
		case "/login":
			body := make([]byte, 256)
			n, _ := r.Body.Read(body)
			if weak && r.Method == http.MethodPost && bytes.Contains(body[:n], []byte(`"password":"admin"`)) {
				w.Write([]byte(`{"message":"Logged in","redirectUrl":"/"}`))
				return
			}
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"message":"Invalid username or password"}`))
		case "/api/whoami":
			if weak && user == "guest" && pass == "guest" {
				w.Write([]byte(`{"name":"guest","tags":["administrator"]}`))
				return
			}
			w.Header().Set("WWW-Authenticate", `Basic realm="RabbitMQ Management"`)
			w.WriteHeader(http.StatusUnauthorized)
		case "/api/json", "/script":
			w.Header().Set("X-Jenkins", "2.426.3")
			if !weak {
				w.WriteHeader(http.StatusForbidden)
				return
			}
			w.Write([]byte(`<title>Script Console [Jenkins]</title>{"jobs":[]}`))
		default:
			http.NotFound(w, r)
		}
	})
}

func TestCredentialsWebApps(t *testing.T) {
	rs := runCreds(t, target(webApps(t, true), "http"))
	got := map[string]bool{}
	for _, r := range rs {
		got[r.Subject] = true
	}
	for _, want := range []string{"tomcat-manager:tomcat", "grafana:admin", "rabbitmq:guest", "jenkins:anonymous"} {
		if !got[want] {
			t.Errorf("want %s in %+v", want, rs)
		}
	}
	if rs := runCreds(t, target(webApps(t, false), "http")); len(rs) != 0 {
		t.Fatalf("hardened applications fired: %+v", rs)
	}
	// A plain web server gets no login attempt at all.
	if rs := runCreds(t, target(serveHTTP(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hello")) }), "http")); len(rs) != 0 {
		t.Fatalf("plain site: %+v", rs)
	}
}

func TestSCRAMVector(t *testing.T) {
	// RFC 7677 section 3.
	s := &scramClient{password: "pencil", nonce: "rOprNGfwEbeRWgbNEkqO", firstBare: "n=user,r=rOprNGfwEbeRWgbNEkqO"}
	final, err := s.final("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
	if err != nil || final != "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=" {
		t.Fatalf("%q %v", final, err)
	}
}

func TestShippedCredentials(t *testing.T) {
	for _, svc := range []string{"postgresql", "mysql", "tomcat-manager", "grafana", "rabbitmq", "ssh", "ftp", "mssql", "mikrotik-routeros"} {
		if n := len(credentialsFor(svc)); n == 0 || n > maxAttempts {
			t.Errorf("%s: %d entries", svc, n)
		}
	}
	if _, err := ParseCredentials("ssh root\n"); err == nil {
		t.Error("a short line was accepted")
	}
}

func FuzzParseCredentials(f *testing.F) {
	f.Add(credentialsText)
	f.Add("ssh root -\n# x\n")
	f.Fuzz(func(t *testing.T, s string) { _, _ = ParseCredentials(s) })
}

func FuzzParseMySQLHandshake(f *testing.F) {
	p := append([]byte{10}, "10.11.6-MariaDB-0+deb12u1\x00"...)
	p = append(p, 1, 0, 0, 0, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 0, 0xff, 0xf7, 8, 2, 0, 0xff, 0x81, 21, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	p = append(p, "ijklmnopqrst\x00mysql_native_password\x00"...)
	f.Add(p)
	f.Add([]byte{10, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if h, err := ParseMySQLHandshake(b); err == nil && len(h.Salt) > len(b) {
			t.Fatal("salt longer than the packet")
		}
	})
}

func FuzzReadPGMessage(f *testing.F) {
	f.Add([]byte{'R', 0, 0, 0, 8, 0, 0, 0, 0})
	f.Add([]byte{'R', 0, 0, 0, 23, 0, 0, 0, 10, 'S', 'C', 'R', 'A', 'M', '-', 'S', 'H', 'A', '-', '2', '5', '6', 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ReadPGMessage(bytes.NewReader(b))
		if err == nil && len(m.Body)+5 > len(b) {
			t.Fatal("body longer than the input")
		}
	})
}

func FuzzSCRAMServerFirst(f *testing.F) {
	f.Add("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
	f.Add("r=x,s=,i=0")
	f.Fuzz(func(t *testing.T, s string) {
		c := &scramClient{password: "pencil", nonce: "rOprNGfwEbeRWgbNEkqO", firstBare: "n=,r=rOprNGfwEbeRWgbNEkqO"}
		if final, err := c.final(s); err == nil && !strings.Contains(final, ",p=") {
			t.Fatalf("final message without proof: %q", final)
		}
	})
}
