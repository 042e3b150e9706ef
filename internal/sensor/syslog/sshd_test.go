package syslog

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/rampart-cert/rampart/internal/sensor"
)

// needBinary returns the path of an external program, skipping the test
// when it is missing (failing on CI, which installs pkg: see .ci/run).
func needBinary(t *testing.T, name, pkg string) string {
	t.Helper()
	for _, dir := range []string{"", "/usr/sbin/", "/usr/bin/", "/sbin/"} {
		if p, err := exec.LookPath(dir + name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not installed: .ci/run installs the %s package", name, pkg)
	}
	t.Skipf("%s not installed (apt-get install %s)", name, pkg)
	return ""
}

// realSSHDLines runs Debian's OpenSSH server on a loopback port with a
// configuration the test writes, tries passwords against it (a real user,
// an unknown one, and a user name carrying a fake " from ADDR port N"),
// and returns what sshd logged.
func realSSHDLines(t *testing.T) []string {
	bin := needBinary(t, "sshd", "openssh-server")
	keygen := needBinary(t, "ssh-keygen", "openssh-client")
	if os.Geteuid() != 0 {
		t.Skip("sshd needs root (privilege separation)")
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	key := filepath.Join(dir, "hostkey")
	if out, err := exec.Command(keygen, "-q", "-N", "", "-t", "ed25519", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	conf := filepath.Join(dir, "sshd_config")
	cfg := fmt.Sprintf("Port %d\nListenAddress 127.0.0.1\nPidFile %s\nUsePAM no\nStrictModes no\nKbdInteractiveAuthentication no\n"+
		"AuthorizedKeysFile none\nPasswordAuthentication yes\nLogLevel INFO\nHostKey %s\n", port, filepath.Join(dir, "pid"), key)
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-D", "-e", "-f", conf)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd did not listen: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, user := range []string{"root", "nosuchuser", "x from 6.6.6.6 port 1 ssh2"} {
		_, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{ssh.Password("wrong")},
			HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 5 * time.Second})
		if err == nil {
			t.Fatalf("login as %q with a wrong password succeeded", user)
		}
	}
	// Read until sshd has logged the last attempt's failure.
	var got []string
	timeout := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("sshd ended; logged %q", got)
			}
			got = append(got, l)
			if strings.HasPrefix(l, "Failed password for invalid user x from 6.6.6.6") {
				return got
			}
		case <-timeout:
			t.Fatalf("sshd logged %q", got)
		}
	}
}

// TestRealSSHDThroughLogger sends a real sshd's failure lines through
// util-linux's logger, as RFC 3164 over UDP and RFC 5424 with octet
// counting over TCP, to the Server on 127.0.0.1: three failures from
// 127.0.0.1 each way, and the lines whose user name carries a fake
// address are blamed on nobody.
func TestRealSSHDThroughLogger(t *testing.T) {
	logger := needBinary(t, "logger", "bsdutils")
	sshdLines := realSSHDLines(t)
	for _, c := range []struct {
		network string
		args    []string
	}{
		{"udp", []string{"-d", "--rfc3164"}},
		{"tcp", []string{"-T", "--octet-count", "--rfc5424"}},
	} {
		t.Run(c.network, func(t *testing.T) {
			var col collector
			s := &Server{Parser: Parser{Location: time.UTC}, Handle: col.handle}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			var port int
			if c.network == "udp" {
				conn, err := net.ListenPacket("udp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				port = conn.LocalAddr().(*net.UDPAddr).Port
				go func() { done <- s.ServeUDP(ctx, conn) }()
			} else {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				port = ln.Addr().(*net.TCPAddr).Port
				go func() { done <- s.ServeTCP(ctx, ln) }()
			}
			args := append([]string{"-n", "127.0.0.1", "-P", fmt.Sprint(port), "-t", "sshd", "-p", "auth.info"}, c.args...)
			cmd := exec.Command(logger, args...)
			cmd.Stdin = strings.NewReader(strings.Join(sshdLines, "\n") + "\n")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("logger: %v: %s", err, out)
			}
			col.wait(t, 3)
			time.Sleep(200 * time.Millisecond) // let any unexpected extra event arrive
			col.mu.Lock()
			evs := append([]sensor.Event(nil), col.evs...)
			col.mu.Unlock()
			var users []string
			for _, e := range evs {
				if e.Src.String() != "127.0.0.1" || e.Signature != "sshd" || e.SrcPort == 0 {
					t.Errorf("event %+v", e)
				}
				users = append(users, e.User)
			}
			if strings.Join(users, ",") != "root,nosuchuser,nosuchuser" {
				t.Errorf("users %q from %q", users, sshdLines)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if cnt := s.Counts(); cnt.Messages != uint64(len(sshdLines)) {
				t.Errorf("%d messages received, sshd logged %d lines", cnt.Messages, len(sshdLines))
			}
		})
	}
}
