package scanjob_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/scan/scanjob"
)

// Every part of a result in parts says which UDP ports were scanned, and
// a host's UDP services travel with the rest of what is known of it.
func TestSplitPortscanKeepsUDP(t *testing.T) {
	pr := scanjob.PortscanResult{Ports: "22", UDPPorts: "161,11211"}
	for i := range 60 {
		ip := fmt.Sprintf("10.1.2.%d", i+1)
		pr.Hosts = append(pr.Hosts, ip)
		pr.Open = append(pr.Open, scanjob.OpenPort{IP: ip, Port: 22, Banner: strings.Repeat("b", 200)},
			scanjob.OpenPort{IP: ip, Port: 161, Proto: "udp", Service: "snmp", Banner: strings.Repeat("u", 200)})
	}
	parts, err := scanjob.SplitPortscan(pr, 4<<10)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) < 2 {
		t.Fatalf("%d parts", len(parts))
	}
	udp := 0
	for i, p := range parts {
		if p.UDPPorts != "161,11211" || p.Ports != "22" {
			t.Fatalf("part %d: ports %q udp %q", i+1, p.Ports, p.UDPPorts)
		}
		hosts := map[string]bool{}
		for _, h := range p.Hosts {
			hosts[h] = true
		}
		for _, o := range p.Open {
			if !hosts[o.IP] {
				t.Fatalf("part %d: %s:%d/%s without its host", i+1, o.IP, o.Port, o.Proto)
			}
			if o.Proto == "udp" {
				udp++
			}
		}
	}
	if udp != 60 {
		t.Fatalf("%d UDP services across the parts, want 60", udp)
	}
}
