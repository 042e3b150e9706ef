package config

import (
	"strings"
	"testing"
	"time"
)

func TestMonitorSection(t *testing.T) {
	file := writeFile(t, "rampart.yaml", `
monitor:
  dns: {resolver: "127.0.0.53:53", interval: 5m, adopt_after: 72h}
  expiry: {rdap: "vn=https://rdap.example.vn/,https://rdap.example/", file: /srv/expiry.csv}
  lookalike: {zones: [/srv/vn.zone, /srv/new.txt], hold: 720h}
  ct: {logs: ["https://ct.example/2026/"], from_start: true}
  bgp:
    asn: 64512
    router_id: 192.0.2.1
    roa_file: /var/lib/rpki-client/json
    settle: 30s
    peers:
      - {address: 192.0.2.2, port: 1179, asn: 65001, local_address: 192.0.2.1}
  exposure: {off: true}
`)
	c, err := load(t, true, []string{"--config", file}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := c.Monitor
	if m == nil || m.DNS.Resolver != "127.0.0.53:53" || m.DNS.Interval != 5*time.Minute || m.DNS.AdoptAfter != 72*time.Hour ||
		len(m.Lookalike.Zones) != 2 || !m.CT.FromStart || m.BGP.ASN != 64512 || m.BGP.Settle != 30*time.Second ||
		len(m.BGP.Peers) != 1 || m.BGP.Peers[0].Port != 1179 || m.BGP.Peers[0].LocalAddress != "192.0.2.1" || !m.Exposure.Off {
		t.Fatalf("monitor section: %+v", m)
	}
	// No section: nil, and the config stays comparable.
	if c, err := load(t, true, nil, nil); err != nil || c.Monitor != nil || c != Default() {
		t.Fatalf("without a section: %+v %v", c.Monitor, err)
	}
	for _, tc := range []struct{ body, want string }{
		{"monitor:\n  dns: {resolver: nowhere}\n", "monitor.dns.resolver"},
		{"monitor:\n  ct: {logs: [ftp://x/]}\n", "monitor.ct.logs"},
		{"monitor:\n  bgp: {peers: [{address: 192.0.2.2, asn: 1}]}\n", "monitor.bgp.asn"},
		{"monitor:\n  bgp: {asn: 1, router_id: 2001:db8::1, peers: [{address: x, asn: 1}]}\n", "monitor.bgp.peers[0]"},
		{"monitor:\n  dns: {interval: -1m}\n", "monitor.dns.interval"},
		{"monitor:\n  dns: {resolvr: 1.1.1.1:53}\n", "resolvr"},
	} {
		_, err := load(t, true, []string{"--config", writeFile(t, "r.yaml", tc.body)}, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error naming %s", tc.body, err, tc.want)
		}
	}
}
