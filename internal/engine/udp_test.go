package engine_test

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/engine"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/probe/udpscan"
	"github.com/rampart-cert/rampart/internal/probe/udpscan/udptest"
	"github.com/rampart-cert/rampart/internal/target"
)

// recordCheck applies to every service target and records the targets
// it ran on; with udp it also looks at UDP targets.
type recordCheck struct {
	id  string
	udp bool
	mu  sync.Mutex
	saw []check.Target
}

func (c *recordCheck) Meta() check.Meta {
	return check.Meta{ID: c.id, Family: "test", Severity: finding.Low,
		Title: check.Text{EN: "t", VI: "t"}, Remediation: check.Text{EN: "r", VI: "r"}}
}
func (c *recordCheck) Applies(t check.Target) bool { return t.Kind == check.TargetService }
func (c *recordCheck) Run(_ context.Context, _ *check.Env, t check.Target) ([]check.Result, error) {
	c.mu.Lock()
	c.saw = append(c.saw, t)
	c.mu.Unlock()
	return []check.Result{{Title: "seen"}}, nil
}

type udpCheck struct{ *recordCheck }

func (udpCheck) UDP() bool { return true }

type portSink struct {
	mu       sync.Mutex
	ports    []engine.Port
	findings []string
}

func (s *portSink) Port(p engine.Port) { s.mu.Lock(); s.ports = append(s.ports, p); s.mu.Unlock() }
func (s *portSink) Finding(t check.Target, r check.Result) {
	s.mu.Lock()
	s.findings = append(s.findings, r.Check+" "+t.String())
	s.mu.Unlock()
}
func (s *portSink) Problem(string, error)          {}
func (s *portSink) Covered(check.Target, []string) {}

// With UDP ports configured the engine scans them beside TCP, reports
// open UDP ports with what their reply said, and gives a UDP target to
// the UDP checks only, never to a check written for TCP.
func TestUDPTargets(t *testing.T) {
	const ip, other = "127.42.9.1", "127.42.9.2"
	snmp := udptest.Start(t, ip, 0, udptest.SNMP("Linux fw 6.1.0", "public"))
	snmp2 := udptest.Start(t, other, int(snmp.Addr.Port()), udptest.SNMP("Linux fw 6.1.0", "public"))
	tcp := serveCounter(t, ip)
	pr, _ := udpscan.ProbeFor("snmp")
	tcpOnly := &recordCheck{id: "test.tcp"}
	both := udpCheck{&recordCheck{id: "test.udp", udp: true}}
	cfg := engine.Config{
		Ports:    []uint16{uint16(tcp.port())},
		UDPPorts: []uint16{snmp.Addr.Port()},
		UDPScan:  udpscan.Config{Probes: map[uint16]udpscan.Probe{snmp.Addr.Port(): pr}, Timeout: 300 * time.Millisecond},
		Checks:   []check.Check{tcpOnly, both},
		// The scope refuses the second address: its agent gets nothing.
		Allow: func(tg target.Target) error {
			if tg.Addr == netip.MustParseAddr(other) {
				return errors.New("out of scope")
			}
			return nil
		},
	}
	s := &portSink{}
	sum, err := engine.Run(context.Background(), []string{ip, other}, cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	if sum.UDP.Open != 1 || sum.UDP.Probed != 1 || sum.Open != 1 {
		t.Fatalf("summary %+v", sum)
	}
	if n := snmp2.Requests.Load(); n != 0 {
		t.Fatalf("the refused address got %d UDP probes", n)
	}
	var udp *engine.Port
	for i, p := range s.ports {
		if p.Proto == check.ProtoUDP {
			udp = &s.ports[i]
		}
	}
	if udp == nil || udp.Port != snmp.Addr.Port() || udp.Service.Service != "snmp" || udp.Service.Extra["snmp.sysdescr"] != "Linux fw 6.1.0" {
		t.Fatalf("udp port %+v", udp)
	}
	for _, tg := range tcpOnly.saw {
		if tg.Proto == check.ProtoUDP {
			t.Fatalf("a TCP check got a UDP target %+v", tg)
		}
	}
	var sawUDP bool
	for _, tg := range both.saw {
		sawUDP = sawUDP || (tg.Proto == check.ProtoUDP && tg.Service == "snmp")
	}
	if !sawUDP || len(tcpOnly.saw) != 1 || len(both.saw) != 2 {
		t.Fatalf("tcp check saw %v, udp check saw %v", tcpOnly.saw, both.saw)
	}
	want := "test.udp " + snmp.Addr.String() + "/udp"
	found := false
	for _, f := range s.findings {
		found = found || f == want
	}
	if !found {
		t.Fatalf("findings %v, want %q", s.findings, want)
	}
}
