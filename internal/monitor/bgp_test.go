package monitor

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
)

// gobgpd is Debian's GoBGP daemon run as the route collector the
// platform peers with, on loopback: its BGP port and gRPC API on
// collectorIP, our speaker connecting from speakerIP.
type gobgpd struct {
	bgpPort, apiPort int
	out              *bytes.Buffer
}

const (
	collectorIP  = "127.0.179.1"
	speakerIP    = "127.0.179.2"
	collectorASN = 65001
	speakerASN   = 64512
)

// needGoBGP returns the paths of gobgpd and gobgp, skipping the test
// where they are not installed (failing it on CI, which installs them).
func needGoBGP(t testing.TB) (string, string) {
	t.Helper()
	d, err1 := exec.LookPath("gobgpd")
	c, err2 := exec.LookPath("gobgp")
	if err1 != nil || err2 != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("gobgpd or gobgp is not installed: .ci/run installs Debian's gobgpd")
		}
		t.Skip("gobgpd is not installed (apt-get install gobgpd)")
	}
	return d, c
}

func freePort(t testing.TB, ip string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	must(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startGoBGPd(t testing.TB) *gobgpd { return startGoBGPdWith(t, 0) }

// startGoBGPdWith starts gobgpd waiting for our speaker to connect, or,
// when speakerPort is set, connecting to our speaker listening there.
func startGoBGPdWith(t testing.TB, speakerPort int) *gobgpd {
	t.Helper()
	bin, _ := needGoBGP(t)
	g := &gobgpd{bgpPort: freePort(t, collectorIP), apiPort: freePort(t, collectorIP), out: &bytes.Buffer{}}
	transport := "passive-mode = true"
	if speakerPort != 0 {
		transport = fmt.Sprintf("remote-port = %d", speakerPort)
	}
	conf := fmt.Sprintf(`[global.config]
  as = %d
  router-id = %q
  port = %d
  local-address-list = [%q]

[[neighbors]]
  [neighbors.config]
    neighbor-address = %q
    peer-as = %d
  [neighbors.transport.config]
    %s
    local-address = %q
`, collectorASN, collectorIP, g.bgpPort, collectorIP, speakerIP, speakerASN, transport, collectorIP)
	path := filepath.Join(t.TempDir(), "gobgpd.toml")
	must(t, os.WriteFile(path, []byte(conf), 0o600))
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-f", path, "-p", "--pprof-disable", "--api-hosts", net.JoinHostPort(collectorIP, strconv.Itoa(g.apiPort)))
	cmd.Stdout, cmd.Stderr = &syncWriter{w: g.out}, &syncWriter{w: g.out}
	must(t, cmd.Start())
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("gobgpd output:\n%s", g.out)
		}
	})
	// Wait for its API.
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(collectorIP, strconv.Itoa(g.apiPort)), time.Second)
		if err == nil {
			c.Close()
			return g
		}
		if time.Now().After(deadline) {
			t.Fatalf("gobgpd API did not come up: %v\n%s", err, g.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// gobgp runs the CLI against the daemon: "global rib add -a ipv4 …".
func (g *gobgpd) gobgp(t testing.TB, args ...string) {
	t.Helper()
	_, cli := needGoBGP(t)
	all := append([]string{"-u", collectorIP, "-p", strconv.Itoa(g.apiPort)}, args...)
	out, err := exec.Command(cli, all...).CombinedOutput()
	if err != nil {
		t.Fatalf("gobgp %v: %v\n%s", args, err, out)
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

// bgpConfig is our speaker's side of the session with g.
func (g *gobgpd) bgpConfig() BGPConfig {
	return BGPConfig{ASN: speakerASN, RouterID: speakerIP, ROAFile: filepath.Join("testdata", "stayrtr_test.rpki.json"), Settle: time.Second,
		Peers: []BGPPeer{{Address: collectorIP, Port: g.bgpPort, ASN: collectorASN, LocalAddress: speakerIP}}}
}

// collect gathers the findings a speaker records.
type collect struct {
	mu  sync.Mutex
	got []finding.Finding
	ch  chan finding.Finding
}

func watchFindings(sp *Speaker) *collect {
	c := &collect{ch: make(chan finding.Finding, 64)}
	sp.onFound = func(f finding.Finding) {
		c.mu.Lock()
		c.got = append(c.got, f)
		c.mu.Unlock()
		select {
		case c.ch <- f:
		default:
		}
	}
	return c
}

// wait returns the first finding of kind check on target within d.
func (c *collect) wait(t testing.TB, check, target string, d time.Duration) finding.Finding {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		c.mu.Lock()
		for _, f := range c.got {
			if f.Check == check && f.Target == target {
				c.mu.Unlock()
				return f
			}
		}
		c.mu.Unlock()
		select {
		case <-c.ch:
		case <-timer.C:
			var got []string
			c.mu.Lock()
			for _, f := range c.got {
				got = append(got, f.Check+" "+f.Target)
			}
			c.mu.Unlock()
			t.Fatalf("no %s finding on %s within %v; got %v", check, target, d, got)
		}
	}
}

func waitEstablished(t testing.TB, sp *Speaker, g *gobgpd) {
	t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	for len(sp.Established()) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no BGP session with gobgpd within 40 s\n%s", g.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestBGPHijackFromGoBGPd(t *testing.T) {
	g := startGoBGPd(t)
	w := newWorld(t)
	w.clockAdvances = true
	m := w.monitor(t, Config{BGP: g.bgpConfig()})
	ctx := t.Context()
	sp, err := m.StartBGP(ctx)
	must(t, err)
	defer sp.Stop()
	found := watchFindings(sp)
	waitEstablished(t, sp, g)

	// The legitimate routes: BYT's network from its own AS, its
	// hospital's from the ministry's AS, DVC's from the AS its ROA names;
	// and a network nobody registered.
	g.gobgp(t, "global", "rib", "add", "-a", "ipv4", "1.0.4.0/22", "aspath", "38803")
	g.gobgp(t, "global", "rib", "add", "-a", "ipv4", "1.0.6.0/24", "aspath", "3356,38803")
	g.gobgp(t, "global", "rib", "add", "-a", "ipv4", "1.0.0.0/24", "aspath", "13335")
	g.gobgp(t, "global", "rib", "add", "-a", "ipv4", "198.51.100.0/24", "aspath", "64999")
	deadline := time.Now().Add(10 * time.Second)
	for {
		sp.mu.Lock()
		n := len(sp.heard)
		sp.mu.Unlock()
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("legitimate routes heard: %v", sp.heard)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The hijack: a more specific of BYT's network from another AS, which
	// the ROAs make invalid.
	start := time.Now()
	g.gobgp(t, "global", "rib", "add", "-a", "ipv4", "1.0.5.0/24", "aspath", "64666")
	f := found.wait(t, "monitor.bgp-hijack", "1.0.5.0/24", 10*time.Second)
	t.Logf("hijack announcement to finding: %v", time.Since(start))
	if f.OrgID != w.byt.ID || f.AssetID != w.assets["1.0.4.0/22"].ID || f.Severity != finding.Critical || f.Subject != "AS64666" {
		t.Fatalf("hijack finding: %+v", f)
	}
	stored := w.findings(t, "monitor.bgp-hijack")
	if len(stored) != 1 || stored[0].OrgID != w.byt.ID || stored[0].State != finding.StateOpen {
		t.Fatalf("stored hijack findings: %+v", stored)
	}
	ev := decode[HijackEvidence](t, stored[0].Evidence)
	if ev.Registered != "1.0.4.0/22" || !ev.MoreSpecific || ev.OriginAS != 64666 || !slices.Equal(ev.ASPath, []uint32{collectorASN, 64666}) ||
		ev.RPKI != RPKIInvalid || len(ev.VRPs) != 2 || !slices.Equal(ev.Expected, []uint32{38803}) || ev.Peer != collectorIP {
		t.Fatalf("hijack evidence: %+v", ev)
	}

	// DVC has no ASN registered: its network announced from an AS its
	// ROA does not name is a hijack all the same.
	g.gobgp(t, "global", "rib", "add", "-a", "ipv4", "1.0.0.0/25", "aspath", "64667")
	if f := found.wait(t, "monitor.bgp-hijack", "1.0.0.0/25", 10*time.Second); f.OrgID != w.dvc.ID || f.Severity != finding.Critical {
		t.Fatalf("DVC hijack: %+v", f)
	}

	// BYT's own route withdrawn, once the session has settled: the
	// network is reported gone (the hijacker's more specific is no
	// legitimate route).
	for ok, _, _ := sp.settled(time.Now()); !ok; ok, _, _ = sp.settled(time.Now()) {
		time.Sleep(50 * time.Millisecond)
	}
	g.gobgp(t, "global", "rib", "del", "-a", "ipv4", "1.0.4.0/22")
	wd := found.wait(t, "monitor.bgp-withdrawn", "1.0.4.0/22", 10*time.Second)
	if wd.OrgID != w.byt.ID || wd.AssetID != w.assets["1.0.4.0/22"].ID {
		t.Fatalf("withdrawn: %+v", wd)
	}
	// A round reports the standing hijacks again and nothing for the
	// routes that are fine.
	n := len(found.got)
	must(t, sp.Round(ctx))
	found.mu.Lock()
	again := found.got[n:]
	found.mu.Unlock()
	var kinds []string
	for _, f := range again {
		kinds = append(kinds, f.Check+" "+f.Target)
	}
	slices.Sort(kinds)
	want := []string{"monitor.bgp-hijack 1.0.0.0/25", "monitor.bgp-hijack 1.0.5.0/24", "monitor.bgp-withdrawn 1.0.4.0/22"}
	if !slices.Equal(kinds, want) {
		t.Fatalf("round reported %v, want %v", kinds, want)
	}
}

// TestBGPPassiveSession: the speaker listens and the peer connects (a
// member's border router configured to reach the platform).
func TestBGPPassiveSession(t *testing.T) {
	port := freePort(t, speakerIP)
	g := startGoBGPdWith(t, port)
	w := newWorld(t)
	cfg := g.bgpConfig()
	cfg.Listen = net.JoinHostPort(speakerIP, strconv.Itoa(port))
	cfg.Peers[0].Passive, cfg.Peers[0].Port = true, 0
	m := w.monitor(t, Config{BGP: cfg})
	sp, err := m.StartBGP(t.Context())
	must(t, err)
	defer sp.Stop()
	found := watchFindings(sp)
	waitEstablished(t, sp, g)
	g.gobgp(t, "global", "rib", "add", "-a", "ipv4", "1.0.6.0/24", "aspath", "64666")
	if f := found.wait(t, "monitor.bgp-hijack", "1.0.6.0/24", 10*time.Second); f.OrgID != w.bv.ID || f.Severity != finding.Critical {
		t.Fatalf("hijack of the hospital's network: %+v", f)
	}
}
