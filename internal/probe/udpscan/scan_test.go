package udpscan_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/probe/udpscan"
	"github.com/rampart-cert/rampart/internal/probe/udpscan/udptest"
	"github.com/rampart-cert/rampart/internal/target"
)

func seqOf(addrs ...string) func(func(target.Target) bool) {
	return func(yield func(target.Target) bool) {
		for _, a := range addrs {
			if !yield(target.Target{Addr: netip.MustParseAddr(a)}) {
				return
			}
		}
	}
}

// freePort returns a UDP port of ip that nothing listens on.
func freePort(t *testing.T, ip string) uint16 {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatal(err)
	}
	p := c.LocalAddr().(*net.UDPAddr).Port
	c.Close()
	return uint16(p)
}

func collect(t *testing.T, cfg udpscan.Config, addrs ...string) (map[string]udpscan.Result, udpscan.Stats) {
	t.Helper()
	var mu sync.Mutex
	got := map[string]udpscan.Result{}
	cfg.All = true
	st, err := udpscan.Scan(context.Background(), cfg, seqOf(addrs...), func(r udpscan.Result) {
		mu.Lock()
		defer mu.Unlock()
		k := fmt.Sprintf("%s:%d", r.Target.Addr, r.Port)
		if _, dup := got[k]; dup {
			t.Errorf("two verdicts for %s", k)
		}
		got[k] = r
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, st
}

// Every listed protocol gets its own probe and a correct verdict: the
// fakes answer (open, identified), a port nobody listens on is closed
// (ICMP port unreachable), a socket that never answers is open|filtered
// after the retries.
func TestScanProtocols(t *testing.T) {
	const ip = "127.64.0.1"
	fakes := map[string]udptest.Handler{
		"snmp":       udptest.SNMP("Linux gw 6.1.0-18-amd64 #1 SMP Debian 6.1.76-1 x86_64", "public"),
		"ntp":        udptest.NTP(udptest.NTPOptions{}),
		"ssdp":       udptest.SSDP("Linux/5.10 UPnP/1.0 MiniUPnPd/2.3.3", 1),
		"mdns":       udptest.MDNS("_http._tcp.local", "_ipp._tcp.local"),
		"memcached":  udptest.Memcached("1.5.6"),
		"ipmi":       udptest.IPMI(udptest.IPMIOptions{}),
		"netbios-ns": udptest.NetBIOS("FILESRV", "WORKGROUP"),
		"coap":       udptest.CoAP(`</sensors/temp>;rt="temperature";if="sensor"`),
		"tftp":       udptest.TFTP(nil),
	}
	probes := map[uint16]udpscan.Probe{}
	ports := []uint16{}
	where := map[string]uint16{}
	for name, h := range fakes {
		s := udptest.Start(t, ip, 0, h)
		pr, ok := udpscan.ProbeFor(name)
		if !ok {
			t.Fatalf("no probe for %s", name)
		}
		probes[s.Addr.Port()] = pr
		ports = append(ports, s.Addr.Port())
		where[name] = s.Addr.Port()
	}
	dns := udptest.DNS(t, ip, 0, false, "9.18.24-1-Debian")
	pr, _ := udpscan.ProbeFor("dns")
	probes[dns.Addr.Port()] = pr
	ports = append(ports, dns.Addr.Port())
	where["dns"] = dns.Addr.Port()
	silent := udptest.Start(t, ip, 0, udptest.Silent())
	ports = append(ports, silent.Addr.Port())
	closed := freePort(t, ip)
	ports = append(ports, closed)

	got, st := collect(t, udpscan.Config{Ports: ports, Probes: probes, Timeout: 300 * time.Millisecond, MinTimeout: 100 * time.Millisecond}, ip)
	if st.Probed != len(ports) || st.Open != len(fakes)+1 || st.Closed != 1 || st.OpenFiltered != 1 {
		t.Fatalf("stats %+v", st)
	}
	for name, port := range where {
		r := got[fmt.Sprintf("%s:%d", ip, port)]
		if r.State != udpscan.Open || !r.Identified || r.Info.Service != name || r.Probe != name {
			t.Errorf("%s: %+v", name, r)
		}
	}
	if r := got[fmt.Sprintf("%s:%d", ip, closed)]; r.State != udpscan.Closed || r.Reason != "port-unreach" {
		t.Errorf("closed port: %+v", r)
	}
	if r := got[fmt.Sprintf("%s:%d", ip, silent.Addr.Port())]; r.State != udpscan.OpenFiltered || r.Attempts != 1+udpscan.DefaultRetries {
		t.Errorf("silent port: %+v", r)
	}
	if n := silent.Requests.Load(); n != 1+udpscan.DefaultRetries {
		t.Errorf("silent port got %d probes, want %d", n, 1+udpscan.DefaultRetries)
	}
	// What the replies said.
	checks := map[string][2]string{
		"snmp":       {"snmp.community", "public"},
		"dns":        {"dns.version.bind", "9.18.24-1-Debian"},
		"ssdp":       {"ssdp.server", "Linux/5.10 UPnP/1.0 MiniUPnPd/2.3.3"},
		"mdns":       {"mdns.services", "_http._tcp.local. _ipp._tcp.local."},
		"netbios-ns": {"netbios.workgroup", "WORKGROUP"},
		"ntp":        {"ntp.stratum", "2"},
		"tftp":       {"tftp.error", "File not found"},
	}
	for name, kv := range checks {
		r := got[fmt.Sprintf("%s:%d", ip, where[name])]
		if r.Info.Extra[kv[0]] != kv[1] {
			t.Errorf("%s: %s = %q, want %q", name, kv[0], r.Info.Extra[kv[0]], kv[1])
		}
	}
	if r := got[fmt.Sprintf("%s:%d", ip, where["memcached"])]; r.Info.Version != "1.5.6" {
		t.Errorf("memcached version %q", r.Info.Version)
	}
	if r := got[fmt.Sprintf("%s:%d", ip, where["dns"])]; r.Info.Product != "BIND" {
		t.Errorf("dns product %q", r.Info.Product)
	}
	// TFTP answered from another port.
	if r := got[fmt.Sprintf("%s:%d", ip, where["tftp"])]; r.From.Port() == where["tftp"] {
		t.Errorf("tftp reply from %s", r.From)
	}
}

// A port that drops the first datagram is found open on the retry.
func TestScanRetry(t *testing.T) {
	const ip = "127.64.0.2"
	var n atomic.Int64
	s := udptest.Start(t, ip, 0, func(req []byte, _ netip.AddrPort, w udptest.Responder) {
		if n.Add(1) > 1 {
			w.Reply([]byte("late hello"))
		}
	})
	got, _ := collect(t, udpscan.Config{Ports: []uint16{s.Addr.Port()}, Timeout: 200 * time.Millisecond}, ip)
	r := got[s.Addr.String()]
	if r.State != udpscan.Open || r.Attempts != 2 || r.Identified || string(r.Reply) != "late hello" {
		t.Fatalf("%+v", r)
	}
	// With retries off the same port stays open|filtered.
	n.Store(-100)
	got, _ = collect(t, udpscan.Config{Ports: []uint16{s.Addr.Port()}, Timeout: 200 * time.Millisecond, Retries: -1}, ip)
	if r := got[s.Addr.String()]; r.State != udpscan.OpenFiltered || r.Attempts != 1 {
		t.Fatalf("%+v", r)
	}
}

// A /24 of closed ports: every pair gets exactly one verdict, closed.
func TestScanManyHosts(t *testing.T) {
	var addrs []string
	for i := 1; i <= 254; i++ {
		addrs = append(addrs, fmt.Sprintf("127.65.0.%d", i))
	}
	ports := []uint16{freePort(t, "127.65.0.1"), freePort(t, "127.65.0.1"), 9}
	got, st := collect(t, udpscan.Config{Ports: ports, HostBatch: 64, Concurrency: 100}, addrs...)
	if st.Hosts != 254 || st.Probed != 254*3 || st.Closed != 254*3 || len(got) != 254*3 {
		t.Fatalf("stats %+v, %d results", st, len(got))
	}
}

// The global rate is a ceiling: 60 probes at 200/s take at least ~0.25 s
// (the bucket starts with a small burst).
func TestScanRate(t *testing.T) {
	var addrs []string
	for i := 1; i <= 60; i++ {
		addrs = append(addrs, fmt.Sprintf("127.66.0.%d", i))
	}
	start := time.Now()
	_, st := collect(t, udpscan.Config{Ports: []uint16{9}, Rate: 200}, addrs...)
	if el := time.Since(start); el < 250*time.Millisecond || st.Closed != 60 {
		t.Fatalf("60 probes at 200/s in %s, %+v", el, st)
	}
	// Per host: 5 ports of one host at 20/s.
	start = time.Now()
	_, st = collect(t, udpscan.Config{Ports: []uint16{9, 10, 11, 12, 13}, PerHostRate: 20}, "127.66.1.1")
	if el := time.Since(start); el < 150*time.Millisecond || st.Closed != 5 {
		t.Fatalf("5 probes at 20/s to one host in %s, %+v", el, st)
	}
}

func TestScanCancel(t *testing.T) {
	const ip = "127.64.0.3"
	s := udptest.Start(t, ip, 0, udptest.Silent())
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := udpscan.Scan(ctx, udpscan.Config{Ports: []uint16{s.Addr.Port()}, Timeout: 5 * time.Second}, seqOf(ip), nil)
	if err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("err %v after %s", err, time.Since(start))
	}
}

func TestConfig(t *testing.T) {
	for _, c := range []udpscan.Config{{Ports: []uint16{0}}, {Rate: -1}, {Probes: map[uint16]udpscan.Probe{53: {Name: "x"}}, Ports: []uint16{53}}} {
		if _, err := udpscan.Scan(context.Background(), c, seqOf("127.0.0.1"), nil); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if !slices.Contains(udpscan.DefaultPorts, 161) || udpscan.ServiceOfPort(623) != "ipmi" {
		t.Error("default ports")
	}
}

// BenchmarkScanClosed scans closed ports of 1,024 loopback hosts: every
// probe gets its ICMP port unreachable, so this is the scanner's own cost
// per verdict. Reported as probes/s.
func BenchmarkScanClosed(b *testing.B) {
	var addrs []string
	for i := 0; i < 1024; i++ {
		addrs = append(addrs, fmt.Sprintf("127.67.%d.%d", i/250, i%250+1))
	}
	ports := []uint16{7, 9, 13, 19, 37, 42, 49, 79, 99, 113}
	total := 0
	start := time.Now()
	for b.Loop() {
		st, err := udpscan.Scan(context.Background(), udpscan.Config{Ports: ports}, seqOf(addrs...), nil)
		if err != nil || st.Closed != len(addrs)*len(ports) {
			b.Fatalf("%v %+v", err, st)
		}
		total += st.Probed
	}
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "probes/s")
}
