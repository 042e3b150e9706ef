//go:build linux

package synscan_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/engine"
	"github.com/rampart-cert/rampart/internal/probe/portscan"
	"github.com/rampart-cert/rampart/internal/probe/synscan"
	"github.com/rampart-cert/rampart/internal/probe/synscan/netnslab"
	"github.com/rampart-cert/rampart/internal/target"
)

// Raw-socket tests run inside network namespaces the test creates
// (netnslab): the test binary runs itself there in a role, chosen by
// RAMPART_SYNSCAN_ROLE: "serve" listens on the addresses of
// RAMPART_SYNSCAN_OPEN in the targets namespace until its stdin closes;
// "syn" and "connect" scan RAMPART_SYNSCAN_TARGETS × RAMPART_SYNSCAN_PORTS
// from the scanner namespace and print the open pairs.
func TestMain(m *testing.M) {
	switch os.Getenv("RAMPART_SYNSCAN_ROLE") {
	case "serve":
		serveRole()
		os.Exit(0)
	case "syn", "connect", "engine":
		if err := scanRole(os.Getenv("RAMPART_SYNSCAN_ROLE")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type engineSink struct {
	mu       sync.Mutex
	ports    []engine.Port
	problems []string
}

func (s *engineSink) Port(p engine.Port)                 { s.mu.Lock(); s.ports = append(s.ports, p); s.mu.Unlock() }
func (s *engineSink) Finding(check.Target, check.Result) {}
func (s *engineSink) Covered(check.Target, []string)     {}
func (s *engineSink) Problem(what string, err error) {
	s.mu.Lock()
	s.problems = append(s.problems, what+": "+err.Error())
	s.mu.Unlock()
}

func serveRole() {
	var lns []net.Listener
	for _, s := range strings.Split(os.Getenv("RAMPART_SYNSCAN_OPEN"), ",") {
		if s == "" {
			continue
		}
		ln, err := net.Listen("tcp4", s)
		if err != nil {
			fmt.Println("error", err)
			return
		}
		lns = append(lns, ln)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	for _, ln := range lns {
		ln.Close()
	}
}

func scanRole(mode string) error {
	ports, err := target.ParsePorts(os.Getenv("RAMPART_SYNSCAN_PORTS"))
	if err != nil {
		return err
	}
	seq, _, err := target.Expand(context.Background(), []string{os.Getenv("RAMPART_SYNSCAN_TARGETS")}, nil)
	if err != nil {
		return err
	}
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	print := func(a netip.Addr, p uint16) { fmt.Fprintf(out, "open %s:%d\n", a, p) }
	var stats any
	if mode == "engine" {
		s := &engineSink{}
		sum, err := engine.Run(context.Background(), []string{os.Getenv("RAMPART_SYNSCAN_TARGETS")},
			engine.Config{Ports: ports, SYN: true, SYNScan: synscan.Config{Wait: 500 * time.Millisecond}, Scan: portscan.Config{Timeout: 500 * time.Millisecond}}, s)
		if err != nil {
			return err
		}
		for _, p := range s.ports {
			print(p.IP, p.Port)
		}
		for _, p := range s.problems {
			fmt.Fprintf(out, "problem %s\n", p)
		}
		fmt.Fprintf(out, "portscan %s\n", sum.PortScan)
		return nil
	}
	if mode == "syn" {
		cfg := synscan.Config{Ports: ports, Wait: 500 * time.Millisecond}
		// Optional: retries, a rate and a batch size.
		fmt.Sscan(os.Getenv("RAMPART_SYNSCAN_RETRIES"), &cfg.Retries)
		fmt.Sscan(os.Getenv("RAMPART_SYNSCAN_RATE"), &cfg.Rate)
		fmt.Sscan(os.Getenv("RAMPART_SYNSCAN_BATCH"), &cfg.Batch)
		st, err := synscan.Scan(context.Background(), cfg, seq, func(o synscan.Open) { print(o.Target.Addr, o.Port) }, nil)
		if err != nil {
			return err
		}
		stats = st
	} else {
		st, err := portscan.Scan(context.Background(), portscan.Config{Ports: ports, Timeout: 500 * time.Millisecond},
			seq, func(o portscan.Open) { print(o.Target.Addr, o.Port) })
		if err != nil {
			return err
		}
		stats = st
	}
	b, _ := json.Marshal(stats)
	fmt.Fprintf(out, "stats %s\n", b)
	return nil
}

// needLab skips unless this process may create namespaces (root); under
// CI (root) a failure to build them fails the test.
func needLab(t *testing.T) *netnslab.Lab {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI runs as root: the raw-socket tests must run")
		}
		t.Skip("not root: the raw-socket tests need network namespaces")
	}
	lab, err := netnslab.New("t")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lab.Close)
	return lab
}

// serve starts the targets' listeners; they stop when the test ends.
func serve(t *testing.T, lab *netnslab.Lab, open []netip.AddrPort) {
	t.Helper()
	var list []string
	for _, a := range open {
		list = append(list, a.String())
	}
	cmd := lab.Command(lab.Targets, os.Args[0])
	cmd.Env = append(os.Environ(), "RAMPART_SYNSCAN_ROLE=serve", "RAMPART_SYNSCAN_OPEN="+strings.Join(list, ","))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "ready\n" {
		t.Fatalf("targets: %q", line)
	}
}

// scan runs a scan role in the scanner namespace (or, with prefix, under
// a command that changes its privileges) and returns the open pairs.
func scan(t *testing.T, lab *netnslab.Lab, mode, targets, ports string, prefix ...string) ([]string, string, error) {
	t.Helper()
	args := append(append([]string{}, prefix...), os.Args[0])
	cmd := lab.Command(lab.Scanner, args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "RAMPART_SYNSCAN_ROLE="+mode, "RAMPART_SYNSCAN_TARGETS="+targets, "RAMPART_SYNSCAN_PORTS="+ports)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, stderr.String(), err
	}
	var open []string
	var stats string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if a, ok := strings.CutPrefix(l, "open "); ok {
			open = append(open, a)
		} else if s, ok := strings.CutPrefix(l, "stats "); ok {
			stats = s
		} else if strings.HasPrefix(l, "portscan ") || strings.HasPrefix(l, "problem ") {
			stats += l + "\n"
		}
	}
	slices.Sort(open)
	return open, stats, nil
}

// serveLayout listens on n pairs of layout over the four ports the tests
// scan and returns them as a scan prints them, sorted.
func serveLayout(t *testing.T, lab *netnslab.Lab, n int, seed uint64) []string {
	t.Helper()
	open := layout(n, []uint16{22, 80, 443, 8080}, seed)
	serve(t, lab, open)
	var want []string
	for _, a := range open {
		want = append(want, a.String())
	}
	slices.Sort(want)
	return want
}

// layout picks n open pairs among 10.99.0.0/22 × ports.
func layout(n int, ports []uint16, seed uint64) []netip.AddrPort {
	r := rand.New(rand.NewPCG(seed, 1))
	seen := map[netip.AddrPort]bool{}
	var out []netip.AddrPort
	for len(out) < n {
		i := r.IntN(1024)
		a := netip.AddrFrom4([4]byte{10, 99, byte(i / 256), byte(i % 256)})
		ap := netip.AddrPortFrom(a, ports[r.IntN(len(ports))])
		if !seen[ap] && a.As4()[3] != 0 && a.As4()[3] != 255 {
			seen[ap] = true
			out = append(out, ap)
		}
	}
	return out
}

// The SYN scan finds exactly the listeners, the same open set as the
// connect scan, on 1,024 hosts × 4 ports in the targets namespace.
func TestSYNScanMatchesConnectScan(t *testing.T) {
	lab := needLab(t)
	want := serveLayout(t, lab, 60, 3)
	syn, stats, err := scan(t, lab, "syn", "10.99.0.0/22", "22,80,443,8080")
	if err != nil {
		t.Fatalf("syn scan: %v", err)
	}
	if !slices.Equal(syn, want) {
		t.Fatalf("syn scan found %d: %v\nwant %d: %v", len(syn), syn, len(want), want)
	}
	var st synscan.Stats
	if err := json.Unmarshal([]byte(stats), &st); err != nil || st.Probed != 4096 || st.Sent != 4096 || st.Open != 60 {
		t.Fatalf("stats %s %v", stats, err)
	}
	conn, _, err := scan(t, lab, "connect", "10.99.0.0/22", "22,80,443,8080")
	if err != nil {
		t.Fatalf("connect scan: %v", err)
	}
	if !slices.Equal(conn, syn) {
		t.Fatalf("connect scan %v\nsyn scan %v", conn, syn)
	}
}

// With a retry at a set rate, in small batches (so the senders, one a
// core, take turns): the second pass sends again only to the pairs that
// did not answer, the rate holds over both passes, the open set is the
// same.
func TestSYNScanRetriesAtARate(t *testing.T) {
	lab := needLab(t)
	want := serveLayout(t, lab, 60, 7)
	t.Setenv("RAMPART_SYNSCAN_RETRIES", "1")
	t.Setenv("RAMPART_SYNSCAN_RATE", "20000")
	t.Setenv("RAMPART_SYNSCAN_BATCH", "64")
	got, stats, err := scan(t, lab, "syn", "10.99.0.0/22", "22,80,443,8080")
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("syn scan: %v\n%v\nwant %v", err, got, want)
	}
	var st synscan.Stats
	if err := json.Unmarshal([]byte(stats), &st); err != nil {
		t.Fatal(err)
	}
	if st.Probed != 4096 || st.Open != 60 || st.Sent != 4096+4096-60 {
		t.Fatalf("stats %s: want 4096 probed, 60 open, %d sent", stats, 4096+4096-60)
	}
	if st.SendRate > 20000*1.1 {
		t.Fatalf("sent %.0f SYNs/s, the rate is 20,000", st.SendRate)
	}
}

// Without CAP_NET_RAW (root with the capability dropped from its
// bounding set) nothing is sent and the error says to connect-scan.
func TestSYNScanWithoutCapability(t *testing.T) {
	lab := needLab(t)
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv (util-linux) not installed")
	}
	_, stderr, err := scan(t, lab, "syn", "10.99.0.1", "80", "setpriv", "--bounding-set", "-net_raw", "--inh-caps", "-net_raw")
	if err == nil || !strings.Contains(stderr, synscan.ErrNoCapability.Error()) {
		t.Fatalf("err %v, stderr %q", err, stderr)
	}
}

// The engine with SYN on finds the listeners with the SYN scanner (and
// fingerprints them over TCP as usual); without CAP_NET_RAW it says so
// and connect-scans, with the same open set.
func TestEngineSYN(t *testing.T) {
	lab := needLab(t)
	want := serveLayout(t, lab, 20, 5)
	got, info, err := scan(t, lab, "engine", "10.99.0.0/22", "22,80,443,8080")
	if err != nil || !slices.Equal(got, want) || !strings.Contains(info, "portscan syn\n") || strings.Contains(info, "problem") {
		t.Fatalf("syn: %v %q\n%v\nwant %v", err, info, got, want)
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv (util-linux) not installed: the fallback is not tried")
	}
	got, info, err = scan(t, lab, "engine", "10.99.0.0/22", "22,80,443,8080", "setpriv", "--bounding-set", "-net_raw", "--inh-caps", "-net_raw")
	if err != nil || !slices.Equal(got, want) || !strings.Contains(info, "portscan connect\n") || !strings.Contains(info, "falling back to connect scanning") {
		t.Fatalf("fallback: %v %q\n%v", err, info, got)
	}
}
