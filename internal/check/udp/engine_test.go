package udp_test

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/dns"
	"github.com/rampart-cert/rampart/internal/check/udp"
	"github.com/rampart-cert/rampart/internal/engine"
	"github.com/rampart-cert/rampart/internal/probe/udpscan"
	"github.com/rampart-cert/rampart/internal/probe/udpscan/udptest"
)

type sink struct {
	mu       sync.Mutex
	ports    []engine.Port
	findings map[string]check.Result // "check target subject"
	covered  map[string][]string
}

func newSink() *sink {
	return &sink{findings: map[string]check.Result{}, covered: map[string][]string{}}
}

func (s *sink) Port(p engine.Port) { s.mu.Lock(); s.ports = append(s.ports, p); s.mu.Unlock() }
func (s *sink) Finding(t check.Target, r check.Result) {
	s.mu.Lock()
	s.findings[strings.TrimSpace(r.Check+" "+t.String()+" "+r.Subject)] = r
	s.mu.Unlock()
}
func (s *sink) Problem(string, error) {}
func (s *sink) Covered(t check.Target, checks []string) {
	s.mu.Lock()
	s.covered[t.String()] = append(s.covered[t.String()], checks...)
	s.mu.Unlock()
}

func openResolverCheck(t *testing.T) check.Check {
	t.Helper()
	r := check.NewRegistry()
	if err := dns.Register(r); err != nil {
		t.Fatal(err)
	}
	c, ok := r.Get("dns.open-resolver")
	if !ok || !check.ForUDP(c) {
		t.Fatal("dns.open-resolver does not look at UDP targets")
	}
	return c
}

// dns.open-resolver over UDP: a miekg/dns server on 127.x that recurses
// for anyone fires it, the same server refusing recursion does not.
func TestOpenResolverUDP(t *testing.T) {
	c := openResolverCheck(t)
	env := &check.Env{Timeout: time.Second}
	open := udptest.DNS(t, "127.72.0.1", 0, true, "9.18.24-1-Debian")
	closed := udptest.DNS(t, "127.72.0.2", 0, false, "9.18.24-1-Debian")
	tg := func(ap netip.AddrPort) check.Target {
		return check.Target{Kind: check.TargetService, Proto: check.ProtoUDP, Addr: ap, Service: "dns"}
	}
	rs, err := c.Run(context.Background(), env, tg(open.Addr))
	if err != nil || len(rs) != 1 || rs[0].Evidence.Fields["transport"] != "udp" {
		t.Fatalf("open resolver: %+v %v", rs, err)
	}
	rs, err = c.Run(context.Background(), env, tg(closed.Addr))
	if err != nil || len(rs) != 0 {
		t.Fatalf("closed resolver: %+v %v", rs, err)
	}
	if closed.Requests.Load() == 0 {
		t.Fatal("the closed resolver was not asked")
	}
}

// The whole path: the engine's UDP scan finds the fixtures, names their
// services from the replies, and the UDP checks fire on the weak ones
// only; TCP checks never see these targets.
func TestEngineUDP(t *testing.T) {
	type fx struct {
		name, service string
		h             udptest.Handler
	}
	const weak, hard = "127.72.1.1", "127.72.1.2"
	fixtures := map[string][]fx{
		weak: {
			{"snmp", "snmp", udptest.SNMP("Linux edge 5.10", "public", "private")},
			{"ntp", "ntp", udptest.NTP(udptest.NTPOptions{Monlist: 30, ReadVar: true})},
			{"ssdp", "ssdp", udptest.SSDP("Linux UPnP/1.0 MiniUPnPd/1.9", 3)},
			{"memcached", "memcached", udptest.Memcached("1.4.25")},
			{"ipmi", "ipmi", udptest.IPMI(udptest.IPMIOptions{CipherZero: true})},
			{"tftp", "tftp", udptest.TFTP(nil)},
		},
		hard: {
			{"snmp", "snmp", udptest.SNMP("Linux edge 5.10", "Zq8-monitoring-7fe2")},
			{"ntp", "ntp", udptest.NTP(udptest.NTPOptions{})},
		},
	}
	// One port per protocol, the same on both hosts.
	probes := map[uint16]udpscan.Probe{}
	ports := map[string]uint16{}
	var list []uint16
	for _, f := range fixtures[weak] {
		s := udptest.Start(t, weak, 0, f.h)
		ports[f.name] = s.Addr.Port()
		probes[s.Addr.Port()], _ = udpscan.ProbeFor(f.service)
		list = append(list, s.Addr.Port())
	}
	for _, f := range fixtures[hard] {
		udptest.Start(t, hard, int(ports[f.name]), f.h)
	}
	open := udptest.DNS(t, weak, 0, true, "9.18.24-1-Debian")
	udptest.DNS(t, hard, int(open.Addr.Port()), false, "9.18.24-1-Debian")
	probes[open.Addr.Port()], _ = udpscan.ProbeFor("dns")
	ports["dns"] = open.Addr.Port()
	list = append(list, open.Addr.Port())

	checks := append(udp.Checks(), openResolverCheck(t))
	cfg := engine.Config{
		Ports:    []uint16{1}, // TCP: nothing
		UDPPorts: list,
		UDPScan:  udpscan.Config{Probes: probes, Timeout: 400 * time.Millisecond},
		Checks:   checks,
		CheckEnv: &check.Env{Timeout: time.Second},
	}
	s := newSink()
	sum, err := engine.Run(context.Background(), []string{weak, hard}, cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	// The weak host: every service open; the hardened one: SNMP silent
	// (open|filtered, no target), NTP and DNS open, nothing else.
	if sum.UDP.Open != 7+2 || sum.UDP.Probed != 2*len(list) {
		t.Fatalf("udp stats %+v", sum.UDP)
	}
	for _, p := range s.ports {
		if p.Proto != check.ProtoUDP {
			t.Errorf("a TCP port %+v", p)
		}
	}
	at := func(ip, name string) string { return fmt.Sprintf("%s:%d/udp", ip, ports[name]) }
	want := []string{
		"dns.open-resolver " + at(weak, "dns"),
		"svc.ipmi-exposed " + at(weak, "ipmi"),
		"svc.memcached-udp " + at(weak, "memcached"),
		"svc.ntp-amplifier " + at(weak, "ntp") + " mode6",
		"svc.ntp-amplifier " + at(weak, "ntp") + " monlist",
		"svc.snmp-default-community " + at(weak, "snmp") + " private",
		"svc.snmp-default-community " + at(weak, "snmp") + " public",
		"svc.ssdp-exposed " + at(weak, "ssdp"),
		"svc.tftp-exposed " + at(weak, "tftp"),
	}
	var got []string
	for k := range s.findings {
		got = append(got, k)
	}
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The hardened host's NTP and DNS were looked at and are clean.
	for _, name := range []string{"ntp", "dns"} {
		if len(s.covered[at(hard, name)]) == 0 {
			t.Errorf("hardened %s not covered: %v", name, s.covered)
		}
	}
}
