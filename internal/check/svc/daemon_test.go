package svc

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Real Debian daemons as fixtures: each test starts its own process on a
// loopback port it picked, with a configuration it wrote into a temporary
// directory, and stops it (by its own process id) when the test ends. The
// machine's own services are never touched.

// needBinary returns the path of a daemon a fixture runs. CI installs every
// one of them (.ci/run), so there a missing binary is a failure; elsewhere
// the test is skipped with the package to install.
func needBinary(t *testing.T, name, pkg string) string {
	t.Helper()
	for _, dir := range []string{"", "/usr/sbin/", "/usr/local/sbin/", "/sbin/"} {
		p, err := exec.LookPath(dir + name)
		if err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not installed: .ci/run installs the %s package, and CI must run this fixture", name, pkg)
	}
	t.Skipf("%s not installed (apt-get install %s)", name, pkg)
	return ""
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T, host string) uint16 {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return uint16(ln.Addr().(*net.TCPAddr).Port)
}

// lockedBuffer collects a daemon's output for the failure message.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 64<<10 {
		return len(p), nil
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startDaemon runs bin with args until the test ends and waits until addr
// accepts connections.
func startDaemon(t *testing.T, addr netip.AddrPort, bin string, args ...string) {
	t.Helper()
	startDaemonAs(t, addr, nil, bin, args...)
}

// startDaemonAs is startDaemon with process attributes (another user).
func startDaemonAs(t *testing.T, addr netip.AddrPort, attr *syscall.SysProcAttr, bin string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = attr
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			t.Fatalf("%s exited early: %s", bin, out)
		default:
		}
		c, err := net.DialTimeout("tcp", addr.String(), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not listen on %s: %s", bin, addr, out)
}

// writeFile writes a fixture's configuration file.
func writeFile(t *testing.T, path, format string, args ...any) {
	t.Helper()
	if err := os.WriteFile(path, fmt.Appendf(nil, format, args...), 0o644); err != nil {
		t.Fatal(err)
	}
}
