package decision

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rampart-cert/rampart/internal/store"
)

// TestCrowdSecFirewallBouncer runs Debian's crowdsec-firewall-bouncer,
// unchanged, against the decisions stream: the bouncer and the stream's
// listener both live in a network namespace the test creates (the
// listener is opened from a thread that enters the namespace, so the
// platform's handler runs in this process on the namespace's loopback).
// nft is only ever run inside that namespace: the host's firewall is
// never touched.
func TestCrowdSecFirewallBouncer(t *testing.T) {
	bin := "/usr/bin/crowdsec-firewall-bouncer"
	need := func(why string) {
		if os.Getenv("CI") == "true" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	if _, err := os.Stat(bin); err != nil {
		need("crowdsec-firewall-bouncer is not installed (apt-get install crowdsec-firewall-bouncer)")
	}
	if os.Geteuid() != 0 {
		need("network namespaces need root")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			need(tool + " is not installed")
		}
	}
	var rb [4]byte
	_, _ = rand.Read(rb[:])
	ns := "rampart-cs-" + hex.EncodeToString(rb[:])
	run := func(args ...string) (string, error) {
		out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
		return string(out), err
	}
	if out, err := run("ip", "netns", "add", ns); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { _, _ = run("ip", "netns", "del", ns) })
	if out, err := run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"); err != nil {
		t.Fatalf("lo up: %v: %s", err, out)
	}
	ln, err := listenIn(ns, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}

	w := newWorld(t)
	ctx := context.Background()
	srv := &http.Server{Handler: &LAPI{St: w.st, Logger: quiet}, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	svc := NewService(w.st, Options{}, nil, quiet) // the real bouncer runs on the real clock
	before, err := svc.Create(ctx, w.analyst(), "203.0.113.7", time.Hour, "known before the bouncer starts")
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	key := w.bouncer("fw-interop")
	cfg := filepath.Join(dir, "bouncer.yaml")
	conf := fmt.Sprintf(`mode: nftables
pid_dir: %s
update_frequency: 1s
daemonize: false
log_mode: file
log_dir: %s
log_level: debug
api_url: http://%s/
api_key: %s
disable_ipv6: false
deny_action: DROP
deny_log: false
supported_decisions_types:
  - ban
blacklists_ipv4: crowdsec-blacklists
blacklists_ipv6: crowdsec6-blacklists
nftables:
  ipv4:
    enabled: true
    set-only: false
    table: crowdsec
    chain: crowdsec-chain
  ipv6:
    enabled: true
    set-only: false
    table: crowdsec6
    chain: crowdsec6-chain
prometheus:
  enabled: false
  listen_addr: 127.0.0.1
  listen_port: 60601
`, dir, dir, ln.Addr(), key)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	var outMu sync.Mutex
	cmd := exec.Command("ip", "netns", "exec", ns, bin, "-c", cfg)
	cmd.Stdout, cmd.Stderr = lockedWriter{&out, &outMu}, lockedWriter{&out, &outMu}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	logs := func() string {
		outMu.Lock()
		defer outMu.Unlock()
		b, _ := os.ReadFile(filepath.Join(dir, "crowdsec-firewall-bouncer.log"))
		return out.String() + string(b)
	}
	ruleset := func() string {
		o, err := run("ip", "netns", "exec", ns, "nft", "list", "ruleset")
		if err != nil {
			t.Fatalf("nft list ruleset in %s: %v: %s", ns, err, o)
		}
		return o
	}
	waitFor := func(what string, ok func(rules string) bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			rules := ruleset()
			if ok(rules) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 30 s\nruleset:\n%s\nbouncer log:\n%s", what, rules, logs())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	// At startup the bouncer takes every active decision.
	waitFor("the decision known at startup in the bouncer's set", func(r string) bool {
		return strings.Contains(r, "crowdsec-blacklists") && strings.Contains(r, "203.0.113.7")
	})
	// A new decision (IPv4 and IPv6) becomes an element at the next pull.
	if _, err := svc.Create(ctx, w.analyst(), "198.51.100.23", time.Hour, "new"); err != nil {
		t.Fatal(err)
	}
	v6, err := svc.Create(ctx, w.analyst(), "2001:db8::23", time.Hour, "new v6")
	if err != nil {
		t.Fatal(err)
	}
	waitFor("new decisions in the sets", func(r string) bool {
		return strings.Contains(r, "198.51.100.23") && strings.Contains(r, "2001:db8::23")
	})
	// A lifted decision leaves the set.
	if _, err := svc.Lift(ctx, w.analyst(), before.ID, "lifted"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Lift(ctx, w.analyst(), v6.ID, "lifted"); err != nil {
		t.Fatal(err)
	}
	waitFor("lifted decisions gone", func(r string) bool {
		return !strings.Contains(r, "203.0.113.7") && !strings.Contains(r, "2001:db8::23") && strings.Contains(r, "198.51.100.23")
	})
	// A decision that runs out leaves the set too.
	if _, err := svc.Create(ctx, w.analyst(), "192.0.2.77", 3*time.Second, "short"); err != nil {
		t.Fatal(err)
	}
	waitFor("the short decision in the set", func(r string) bool { return strings.Contains(r, "192.0.2.77") })
	waitFor("the expired decision gone", func(r string) bool { return !strings.Contains(r, "192.0.2.77") })
	// A decision extended while the attack goes on stays in the set past
	// its first end.
	short, err := svc.Create(ctx, w.analyst(), "192.0.2.88", 6*time.Second, "extended")
	if err != nil {
		t.Fatal(err)
	}
	waitFor("the decision to extend in the set", func(r string) bool { return strings.Contains(r, "192.0.2.88") })
	if _, _, err := w.st.ApplyDecision(ctx, sys, store.Decision{Value: short.Value, Scope: short.Scope, Type: short.Type, Origin: short.Origin,
		State: store.DecisionActive, Until: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Second)
	if r := ruleset(); !strings.Contains(r, "192.0.2.88") {
		t.Fatalf("the extended decision left the set at its first end:\n%s\nbouncer log:\n%s", r, logs())
	}
	list, err := w.st.ListBouncers(ctx, sys)
	if err != nil || len(list) != 1 || list[0].Pulls == 0 || list[0].TotalNew < 4 || list[0].TotalDeleted < 2 {
		t.Fatalf("the bouncer's pulls: %+v %v", list, err)
	}
	t.Logf("bouncer %s (%s): %d pulls, %d new, %d deleted", list[0].Name, list[0].Agent, list[0].Pulls, list[0].TotalNew, list[0].TotalDeleted)
}

type lockedWriter struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// listenIn opens a TCP listener inside network namespace ns (by name,
// under /run/netns): one OS thread enters it, listens, and comes back.
// The socket stays in the namespace it was made in.
func listenIn(ns, addr string) (net.Listener, error) {
	type result struct {
		ln  net.Listener
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: err}
			return
		}
		defer orig.Close()
		target, err := os.Open(filepath.Join("/run/netns", ns))
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: err}
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("setns %s: %w", ns, err)}
			return
		}
		ln, lerr := net.Listen("tcp", addr)
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			// The thread stays locked and dies with this goroutine rather
			// than run other goroutines in the wrong namespace.
			ch <- result{ln: ln, err: lerr}
			return
		}
		runtime.UnlockOSThread()
		ch <- result{ln: ln, err: lerr}
	}()
	r := <-ch
	return r.ln, r.err
}
