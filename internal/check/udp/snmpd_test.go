package udp_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/udp"
	"github.com/rampart-cert/rampart/internal/engine"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/probe/udpscan"
	"github.com/rampart-cert/rampart/internal/target"
)

// startSnmpd runs Debian's Net-SNMP agent (package snmpd) as the test's
// own process, bound to ip:port on loopback only, with config as its
// whole configuration (no system files are read).
func startSnmpd(t *testing.T, ip string, config string) netip.AddrPort {
	t.Helper()
	bin, err := exec.LookPath("snmpd")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("snmpd not installed: .ci/run installs it")
		}
		t.Skip("snmpd not installed (apt-get install snmpd); the check is not tried on the real agent")
	}
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(ip), 0)))
	if err != nil {
		t.Fatal(err)
	}
	ap := c.LocalAddr().(*net.UDPAddr).AddrPort()
	c.Close()
	dir := t.TempDir()
	conf := filepath.Join(dir, "snmpd.conf")
	body := fmt.Sprintf("agentAddress udp:%s\n%s\nsysContact ops@example.org\nsysLocation Rack 4\n", ap, config)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-f", "-C", "-c", conf, "-Lf", filepath.Join(dir, "snmpd.log"), "-M", dir, "-p", filepath.Join(dir, "snmpd.pid"))
	cmd.Env = []string{"SNMP_PERSISTENT_DIR=" + dir, "HOME=" + dir, "MIBS="}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	// Ready when the port stops being closed: an SNMP agent that got a
	// request it ignores (or answers) sends no port unreachable.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		st, _ := udpscan.Scan(context.Background(), udpscan.Config{Ports: []uint16{ap.Port()}, Probes: map[uint16]udpscan.Probe{ap.Port(): snmpProbe()},
			Timeout: 200 * time.Millisecond, Retries: -1}, func(yield func(target.Target) bool) { yield(target.Target{Addr: ap.Addr()}) }, nil)
		if st.Closed == 0 {
			return ap
		}
		time.Sleep(100 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "snmpd.log"))
	t.Fatalf("snmpd did not start on %s: %s", ap, log)
	return ap
}

func snmpProbe() udpscan.Probe { p, _ := udpscan.ProbeFor("snmp"); return p }

// scanSNMP runs the engine's UDP scan and the UDP checks on ap.
func scanSNMP(t *testing.T, ap netip.AddrPort) (*sink, engine.Summary) {
	t.Helper()
	s := newSink()
	sum, err := engine.Run(context.Background(), []string{ap.Addr().String()}, engine.Config{
		Ports: []uint16{1}, UDPPorts: []uint16{ap.Port()},
		UDPScan: udpscan.Config{Probes: map[uint16]udpscan.Probe{ap.Port(): snmpProbe()}, Timeout: 500 * time.Millisecond},
		Checks:  udp.Checks(), CheckEnv: &check.Env{Timeout: time.Second},
	}, s)
	if err != nil {
		t.Fatal(err)
	}
	return s, sum
}

// Net-SNMP with "rocommunity public" is found by the scan and fires the
// check; with "rwcommunity private" too, as critical (here the write
// access is real: the agent was configured with it).
func TestRealSnmpdDefaultCommunities(t *testing.T) {
	ap := startSnmpd(t, "127.73.0.1", "rocommunity public 127.0.0.0/8\nrwcommunity private 127.0.0.0/8")
	s, sum := scanSNMP(t, ap)
	if sum.UDP.Open != 1 || len(s.ports) != 1 || s.ports[0].Service.Service != "snmp" ||
		!strings.HasPrefix(s.ports[0].Service.Extra["snmp.sysdescr"], "Linux ") {
		t.Fatalf("scan: %+v %+v", sum.UDP, s.ports)
	}
	pub, ok := s.findings["svc.snmp-default-community "+ap.String()+"/udp public"]
	if !ok || pub.Severity != finding.High || !strings.HasPrefix(pub.Evidence.Fields["sysDescr"], "Linux ") || pub.Evidence.Fields["versions"] != "v1,v2c" {
		t.Fatalf("public: %+v", s.findings)
	}
	priv, ok := s.findings["svc.snmp-default-community "+ap.String()+"/udp private"]
	if !ok || priv.Severity != finding.Critical || priv.Evidence.Fields["sysContact"] != "ops@example.org" {
		t.Fatalf("private: %+v", s.findings)
	}
}

// Hardened: a random community. The agent ignores the scan's probes, so
// the port is open|filtered and no target is made; the check itself, run
// on the agent anyway, finds nothing.
func TestRealSnmpdHardened(t *testing.T) {
	b := make([]byte, 12)
	rand.Read(b)
	ap := startSnmpd(t, "127.73.0.2", "rocommunity "+hex.EncodeToString(b)+" 127.0.0.0/8")
	s, sum := scanSNMP(t, ap)
	if sum.UDP.Open != 0 || sum.UDP.OpenFiltered != 1 || len(s.findings) != 0 {
		t.Fatalf("scan: %+v %+v", sum.UDP, s.findings)
	}
	var c check.Check
	for _, x := range udp.Checks() {
		if x.Meta().ID == "svc.snmp-default-community" {
			c = x
		}
	}
	rs, err := c.Run(context.Background(), &check.Env{Timeout: time.Second},
		check.Target{Kind: check.TargetService, Proto: check.ProtoUDP, Addr: ap, Service: "snmp"})
	if err != nil || len(rs) != 0 {
		t.Fatalf("check on the hardened agent: %+v %v", rs, err)
	}
}
