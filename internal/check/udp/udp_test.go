package udp

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/probe/udpscan/udptest"
)

// Each check has fixtures that fire it and hardened fixtures that must
// not: fake services of udptest on their own 127.x address.

func env() *check.Env { return &check.Env{Timeout: 600 * time.Millisecond} }

func target(ap netip.AddrPort, service string) check.Target {
	return check.Target{Kind: check.TargetService, Proto: check.ProtoUDP, Addr: ap, Service: service}
}

func mustCheck(t *testing.T, id string) check.Check {
	t.Helper()
	for _, c := range Checks() {
		if c.Meta().ID == id {
			return c
		}
	}
	t.Fatalf("no check %s", id)
	return nil
}

func run(t *testing.T, id string, tg check.Target) []check.Result {
	t.Helper()
	c := mustCheck(t, id)
	if !c.Applies(tg) {
		t.Fatalf("%s does not apply to %+v", id, tg)
	}
	rs, err := c.Run(context.Background(), env(), tg)
	if err != nil {
		t.Fatalf("%s on %s: %v", id, tg, err)
	}
	for _, r := range rs {
		if r.Check != id || !r.Severity.Valid() || r.Title == "" {
			t.Fatalf("malformed result %+v", r)
		}
	}
	return rs
}

func bySubject(rs []check.Result) map[string]check.Result {
	out := map[string]check.Result{}
	for _, r := range rs {
		out[r.Subject] = r
	}
	return out
}

func closedPort(t *testing.T, ip string) netip.AddrPort {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(ip), 0)))
	if err != nil {
		t.Fatal(err)
	}
	ap := c.LocalAddr().(*net.UDPAddr).AddrPort()
	c.Close()
	return ap
}

func TestSNMP(t *testing.T) {
	t.Parallel()
	const descr = "Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M), Version 12.2(55)SE"
	pub := udptest.Start(t, "127.71.0.1", 0, udptest.SNMP(descr, "public"))
	rs := bySubject(run(t, "svc.snmp-default-community", target(pub.Addr, "snmp")))
	r, ok := rs["public"]
	if len(rs) != 1 || !ok || r.Severity != finding.High || r.Evidence.Fields["sysDescr"] != descr ||
		r.Evidence.Fields["versions"] != "v1,v2c" || r.Evidence.Fields["sysContact"] == "" {
		t.Fatalf("public: %+v", rs)
	}
	both := udptest.Start(t, "127.71.0.2", 0, udptest.SNMP(descr, "public", "private"))
	rs = bySubject(run(t, "svc.snmp-default-community", target(both.Addr, "snmp")))
	if p := rs["private"]; len(rs) != 2 || p.Severity != finding.Critical || !strings.Contains(p.Title, "likely write access") || p.Evidence.Fields["write_access"] == "" {
		t.Fatalf("private: %+v", rs)
	}
	// Hardened: a community of its own; the agent stays silent.
	hard := udptest.Start(t, "127.71.0.3", 0, udptest.SNMP(descr, "Zq8-monitoring-7fe2"))
	if rs := run(t, "svc.snmp-default-community", target(hard.Addr, "snmp")); len(rs) != 0 {
		t.Fatalf("hardened agent: %+v", rs)
	}
	if hard.Requests.Load() < 2 {
		t.Fatal("the hardened agent was not asked")
	}
	// A closed port is unreachable, not clean.
	_, err := mustCheck(t, "svc.snmp-default-community").Run(context.Background(), env(), target(closedPort(t, "127.71.0.4"), "snmp"))
	if !errors.Is(err, check.ErrUnreachable) {
		t.Fatalf("closed port: %v", err)
	}
}

func TestNTP(t *testing.T) {
	t.Parallel()
	mon := udptest.Start(t, "127.71.1.1", 0, udptest.NTP(udptest.NTPOptions{Monlist: 100}))
	rs := bySubject(run(t, "svc.ntp-amplifier", target(mon.Addr, "ntp")))
	r, ok := rs["monlist"]
	if len(rs) != 1 || !ok || r.Severity != finding.High || r.Evidence.Fields["entries"] != "100" {
		t.Fatalf("monlist: %+v", rs)
	}
	// 100 entries of 72 bytes in 17 packets with 8-byte headers, for 48.
	if r.Evidence.Fields["reply_bytes"] != strconv.Itoa(100*72+17*8) || r.Evidence.Fields["amplification_factor"] != "152.8" {
		t.Fatalf("monlist evidence %v", r.Evidence.Fields)
	}
	rv := udptest.Start(t, "127.71.1.2", 0, udptest.NTP(udptest.NTPOptions{ReadVar: true}))
	rs = bySubject(run(t, "svc.ntp-amplifier", target(rv.Addr, "ntp")))
	r, ok = rs["mode6"]
	if len(rs) != 1 || !ok || r.Severity != finding.Medium || !strings.HasPrefix(r.Evidence.Fields["version"], "ntpd 4.2.8p15") {
		t.Fatalf("mode 6: %+v", rs)
	}
	if f, _ := strconv.ParseFloat(r.Evidence.Fields["amplification_factor"], 64); f < 10 {
		t.Fatalf("mode 6 factor %v", r.Evidence.Fields)
	}
	// Hardened: answers time (mode 3) and nothing else.
	hard := udptest.Start(t, "127.71.1.3", 0, udptest.NTP(udptest.NTPOptions{}))
	if rs := run(t, "svc.ntp-amplifier", target(hard.Addr, "ntp")); len(rs) != 0 {
		t.Fatalf("hardened: %+v", rs)
	}
}

func TestSSDP(t *testing.T) {
	t.Parallel()
	s := udptest.Start(t, "127.71.2.1", 0, udptest.SSDP("Linux/3.14 UPnP/1.0 MiniUPnPd/1.9", 4))
	rs := run(t, "svc.ssdp-exposed", target(s.Addr, "ssdp"))
	if len(rs) != 1 || rs[0].Evidence.Fields["replies"] != "4" || rs[0].Evidence.Fields["server"] != "Linux/3.14 UPnP/1.0 MiniUPnPd/1.9" ||
		!strings.Contains(rs[0].Evidence.Fields["search_targets"], "WANIPConnection") {
		t.Fatalf("%+v", rs)
	}
	if f, _ := strconv.ParseFloat(rs[0].Evidence.Fields["amplification_factor"], 64); f < 5 {
		t.Fatalf("factor %v", rs[0].Evidence.Fields)
	}
	hard := udptest.Start(t, "127.71.2.2", 0, udptest.Silent())
	if rs := run(t, "svc.ssdp-exposed", target(hard.Addr, "ssdp")); len(rs) != 0 {
		t.Fatalf("hardened: %+v", rs)
	}
}

func TestMemcached(t *testing.T) {
	t.Parallel()
	s := udptest.Start(t, "127.71.3.1", 0, udptest.Memcached("1.4.25"))
	rs := run(t, "svc.memcached-udp", target(s.Addr, "memcached"))
	if len(rs) != 1 || rs[0].Evidence.Fields["version"] != "1.4.25" || rs[0].Evidence.Fields["datagrams"] != "2" {
		t.Fatalf("%+v", rs)
	}
	// The server counts a datagram after sending it: wait for its count.
	for i := 0; i < 100 && strconv.Itoa(int(s.SentBytes.Load())) != rs[0].Evidence.Fields["reply_bytes"]; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if want := strconv.Itoa(int(s.SentBytes.Load())); rs[0].Evidence.Fields["reply_bytes"] != want {
		t.Fatalf("reply bytes %s, the server sent %s", rs[0].Evidence.Fields["reply_bytes"], want)
	}
	hard := udptest.Start(t, "127.71.3.2", 0, udptest.Silent())
	if rs := run(t, "svc.memcached-udp", target(hard.Addr, "memcached")); len(rs) != 0 {
		t.Fatalf("hardened: %+v", rs)
	}
}

func TestIPMI(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		ip         string
		o          udptest.IPMIOptions
		sev        finding.Severity
		cipherZero string
	}{
		{"127.71.4.1", udptest.IPMIOptions{}, finding.High, "refused: no cipher suite match with proposed security algorithms"},
		{"127.71.4.2", udptest.IPMIOptions{CipherZero: true}, finding.Critical, "accepted"},
		{"127.71.4.3", udptest.IPMIOptions{Anonymous: true}, finding.Critical, "refused: no cipher suite match with proposed security algorithms"},
	} {
		s := udptest.Start(t, c.ip, 0, udptest.IPMI(c.o))
		rs := run(t, "svc.ipmi-exposed", target(s.Addr, "ipmi"))
		if len(rs) != 1 || rs[0].Severity != c.sev || rs[0].Evidence.Fields["cipher_zero"] != c.cipherZero ||
			rs[0].Evidence.Fields["anonymous_login"] != strconv.FormatBool(c.o.Anonymous) || rs[0].Evidence.Fields["ipmi_2.0"] != "true" {
			t.Fatalf("%+v: %+v", c.o, rs)
		}
	}
	hard := udptest.Start(t, "127.71.4.4", 0, udptest.Silent())
	if rs := run(t, "svc.ipmi-exposed", target(hard.Addr, "ipmi")); len(rs) != 0 {
		t.Fatalf("hardened: %+v", rs)
	}
}

func TestTFTP(t *testing.T) {
	t.Parallel()
	s := udptest.Start(t, "127.71.5.1", 0, udptest.TFTP(map[string][]byte{"router.cfg": []byte("enable secret 5 $1$x")}))
	rs := run(t, "svc.tftp-exposed", target(s.Addr, "tftp"))
	if len(rs) != 1 || rs[0].Evidence.Fields["error"] != "File not found" || rs[0].Evidence.Fields["reply_port"] == strconv.Itoa(int(s.Addr.Port())) {
		t.Fatalf("%+v", rs)
	}
	// A server that hands out anything starts a transfer; the check ends it.
	var stopped = make(chan []byte, 1)
	any := udptest.Start(t, "127.71.5.2", 0, func(req []byte, from netip.AddrPort, w udptest.Responder) {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr("127.71.5.2"), 0)))
		if err != nil {
			return
		}
		defer c.Close()
		c.WriteToUDPAddrPort(append([]byte{0, 3, 0, 1}, "data"...), from)
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		b := make([]byte, 512)
		if n, _, err := c.ReadFromUDPAddrPort(b); err == nil {
			stopped <- b[:n]
		}
	})
	rs = run(t, "svc.tftp-exposed", target(any.Addr, "tftp"))
	if len(rs) != 1 || !strings.HasPrefix(rs[0].Evidence.Response, "DATA block 1") {
		t.Fatalf("%+v", rs)
	}
	select {
	case b := <-stopped:
		if len(b) < 4 || b[1] != 5 {
			t.Fatalf("the transfer was answered with %q, not an ERROR", b)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the transfer was not stopped")
	}
	hard := udptest.Start(t, "127.71.5.3", 0, udptest.Silent())
	if rs := run(t, "svc.tftp-exposed", target(hard.Addr, "tftp")); len(rs) != 0 {
		t.Fatalf("hardened: %+v", rs)
	}
}

// A check keyed to a port does not fire on another service, and none
// looks at TCP targets.
func TestApplies(t *testing.T) {
	t.Parallel()
	ap := netip.MustParseAddrPort("127.0.0.1:161")
	c := mustCheck(t, "svc.snmp-default-community")
	for _, tc := range []struct {
		t    check.Target
		want bool
	}{
		{target(ap, "snmp"), true},
		{target(ap, "unknown"), true},
		{target(ap, ""), true},
		{target(ap, "dns"), false},
		{check.Target{Kind: check.TargetService, Addr: ap, Service: "snmp"}, false},
		{target(netip.MustParseAddrPort("127.0.0.1:1161"), "unknown"), false},
		{target(netip.MustParseAddrPort("127.0.0.1:1161"), "snmp"), true},
		{check.Target{Kind: check.TargetDomain, Host: "example.org"}, false},
	} {
		if got := c.Applies(tc.t); got != tc.want {
			t.Errorf("Applies(%+v) = %v", tc.t, got)
		}
	}
	for _, c := range Checks() {
		if !check.ForUDP(c) || c.Meta().Family != Family {
			t.Errorf("%s: not a UDP check of family udp", c.Meta().ID)
		}
		if err := c.Meta().Validate(); err != nil {
			t.Error(err)
		}
	}
	r := check.NewRegistry()
	if err := Register(r); err != nil || len(r.Select([]string{Family})) != 6 {
		t.Fatalf("register: %v", err)
	}
}
