package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"time"
)

// MonitorConfig is the monitoring of the constituency's internet
// resources (internal/monitor), under the file's monitor: key; it has no
// environment variables or flags. A detector runs when what it needs is
// set: DNS changes with a resolver (monitor.dns.resolver, else
// scanner.resolver), CT with logs, BGP with peers; registration expiry,
// look-alikes (on what CT, zones and discovery hand it) and exposure
// changes run unless turned off. Durations are Go durations ("15m").
//
//	monitor:
//	  dns: {resolver: 127.0.0.1:53, interval: 15m, adopt_after: 168h}
//	  expiry: {rdap: "vn=https://rdap.example.vn/,https://rdap.example/", file: /srv/registry/expiry.csv}
//	  lookalike: {zones: [/srv/zones/vn.zone], hold: 720h}
//	  ct: {logs: ["https://ct.example/2026/"]}
//	  bgp:
//	    asn: 64512
//	    router_id: 192.0.2.1
//	    roa_file: /var/lib/rpki-client/json
//	    peers: [{address: 192.0.2.2, asn: 65001, local_address: 192.0.2.1}]
type MonitorConfig struct {
	Off       bool             `yaml:"off"` // every detector off
	DNS       MonitorDNS       `yaml:"dns"`
	Expiry    MonitorExpiry    `yaml:"expiry"`
	Lookalike MonitorLookalike `yaml:"lookalike"`
	CT        MonitorCT        `yaml:"ct"`
	BGP       MonitorBGP       `yaml:"bgp"`
	Exposure  MonitorExposure  `yaml:"exposure"`
}

// MonitorDNS sets the DNS change detector.
type MonitorDNS struct {
	Resolver   string        `yaml:"resolver"`    // ip:port; "" = scanner.resolver; neither: off
	Interval   time.Duration `yaml:"interval"`    // default 15m
	AdoptAfter time.Duration `yaml:"adopt_after"` // a change is reported this long, then is the normal (default 168h)
	Rate       int           `yaml:"rate"`        // queries per second (default 100)
}

// MonitorExpiry sets the registration expiry detector.
type MonitorExpiry struct {
	RDAP     string        `yaml:"rdap"`     // base URL, or "tld=url,...,url"
	File     string        `yaml:"file"`     // CSV domain,expiry read every round
	Interval time.Duration `yaml:"interval"` // default 6h
	Off      bool          `yaml:"off"`
}

// MonitorLookalike sets the look-alike detector.
type MonitorLookalike struct {
	Zones    []string      `yaml:"zones"` // zone files or name lists
	Interval time.Duration `yaml:"interval"`
	Hold     time.Duration `yaml:"hold"`  // default 720h
	Words    []string      `yaml:"words"` // default login, secure, gov …
	Off      bool          `yaml:"off"`
}

// MonitorCT sets the watch of CT logs for look-alikes.
type MonitorCT struct {
	Logs      []string      `yaml:"logs"`
	Interval  time.Duration `yaml:"interval"`   // default 1m
	FromStart bool          `yaml:"from_start"` // read a new log from its first entry
}

// MonitorBGP sets the BGP speaker.
type MonitorBGP struct {
	ASN      uint32           `yaml:"asn"`
	RouterID string           `yaml:"router_id"`
	Listen   string           `yaml:"listen"` // address:port for passive peers
	ROAFile  string           `yaml:"roa_file"`
	Refresh  time.Duration    `yaml:"refresh"` // default 10m
	Settle   time.Duration    `yaml:"settle"`  // default 2m
	Peers    []MonitorBGPPeer `yaml:"peers"`
}

// MonitorBGPPeer is one BGP neighbour.
type MonitorBGPPeer struct {
	Address      string `yaml:"address"`
	Port         int    `yaml:"port"` // default 179
	ASN          uint32 `yaml:"asn"`
	LocalAddress string `yaml:"local_address"`
	Passive      bool   `yaml:"passive"`
	Multihop     int    `yaml:"multihop"`
}

// MonitorExposure sets the exposure-change detector.
type MonitorExposure struct {
	Interval time.Duration `yaml:"interval"` // default 1m
	Hold     time.Duration `yaml:"hold"`     // default 336h
	Off      bool          `yaml:"off"`
}

// problems lists what is wrong with m, for Validate.
func (m *MonitorConfig) problems() []string {
	if m == nil {
		return nil
	}
	var out []string
	bad := func(f string, a ...any) { out = append(out, fmt.Sprintf(f, a...)) }
	if m.DNS.Resolver != "" {
		if _, _, err := net.SplitHostPort(m.DNS.Resolver); err != nil {
			bad("monitor.dns.resolver %q: must be ip:port", m.DNS.Resolver)
		}
	}
	for name, d := range map[string]time.Duration{
		"dns.interval": m.DNS.Interval, "dns.adopt_after": m.DNS.AdoptAfter, "expiry.interval": m.Expiry.Interval,
		"lookalike.interval": m.Lookalike.Interval, "lookalike.hold": m.Lookalike.Hold, "ct.interval": m.CT.Interval,
		"bgp.refresh": m.BGP.Refresh, "bgp.settle": m.BGP.Settle, "exposure.interval": m.Exposure.Interval, "exposure.hold": m.Exposure.Hold,
	} {
		if d < 0 {
			bad("monitor.%s %s: must not be negative", name, d)
		}
	}
	for _, l := range m.CT.Logs {
		if u, err := url.Parse(l); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("monitor.ct.logs %q: not an http(s) URL", l)
		}
	}
	if len(m.BGP.Peers) > 0 {
		if m.BGP.ASN == 0 {
			bad("monitor.bgp.asn: required with peers")
		}
		if a, err := netip.ParseAddr(m.BGP.RouterID); err != nil || !a.Is4() {
			bad("monitor.bgp.router_id %q: want an IPv4 address", m.BGP.RouterID)
		}
	}
	for i, p := range m.BGP.Peers {
		if _, err := netip.ParseAddr(p.Address); err != nil || p.ASN == 0 || p.Port < 0 || p.Port > 65535 {
			bad("monitor.bgp.peers[%d]: want an IP address, an asn and a port 0-65535", i)
		}
	}
	return out
}
