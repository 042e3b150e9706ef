package config

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// DiscoveryConfig is how the platform discovers the constituency's
// unregistered assets (internal/discovery), under the file's discovery:
// key; it has no environment variables or flags. Durations are Go
// durations.
//
//	discovery:
//	  sources: [ct, axfr, wordlist, nsec, certs, routing]
//	  resolver: 127.0.0.1:53
//	  rate: 200
//	  ct_logs: [{url: "https://ct.example/2026/", key: "MFkwEwYHKoZIzj0CAQ..."}]
//	  ct_log_list: /srv/ct/loglist3.json
//	  ct_dir: /srv/ct/exports        # air-gapped: exported entries dropped here
//	  routing: [/srv/bgp/rib.20261201.0000.bz2, /srv/bgp/routeviews-rv2-20261201.pfx2as.gz]
//	  interval: 24h
type DiscoveryConfig struct {
	// Sources the platform's runs use, of ct, axfr, wordlist, nsec, rdns,
	// certs, links and routing; empty: DefaultDiscoverySources(). A run
	// asked for other sources gets those.
	Sources []string `yaml:"sources"`
	// Resolver is the DNS server (ip:port) discovery asks; empty: the
	// scanner's, else the system's.
	Resolver string `yaml:"resolver"`
	// Rate bounds the queries a second to the resolver (0: 200).
	Rate float64 `yaml:"rate"`
	// CTLogs are Certificate Transparency logs to follow, each resumed
	// where the last run stopped.
	CTLogs []CTLogSetting `yaml:"ct_logs"`
	// CTLogList is a log list file in the v3 format (loglist3.json): its
	// usable, qualified and read-only logs are followed too.
	CTLogList string `yaml:"ct_log_list"`
	// CTLimit bounds the entries read per log and run (0: 100,000).
	CTLimit int `yaml:"ct_limit"`
	// CTDir is a directory of exported CT entries, for a site without
	// the internet: every file in it is read by each run.
	CTDir string `yaml:"ct_dir"`
	// Routing lists routing data files (MRT RIB dumps or updates, or
	// CAIDA pfx2as text, plain or compressed) giving the prefixes each
	// registered AS number announces; read at each run.
	Routing []string `yaml:"routing"`
	// Interval is how often a run over the whole constituency is queued
	// (at least 1h); 0: only when someone asks (with --demo: 24h).
	Interval time.Duration `yaml:"interval"`
}

// CTLogSetting is one CT log: its URL and, optionally, its public key
// (base64 DER) to verify its tree heads.
type CTLogSetting struct {
	URL string `yaml:"url"`
	Key string `yaml:"key"`
}

// DiscoverySources lists the sources discovery knows; the discovery
// package's list (discovery.Sources) must agree, which the cli tests.
func DiscoverySources() []string {
	return []string{"ct", "axfr", "wordlist", "nsec", "rdns", "certs", "links", "routing"}
}

// DefaultDiscoverySources lists the sources of the platform's runs when
// the file names none: reverse DNS of whole networks and the links of
// owned sites are asked for explicitly.
func DefaultDiscoverySources() []string {
	return []string{"ct", "axfr", "wordlist", "nsec", "certs", "routing"}
}

// problems lists what is wrong with the section; none when it is absent.
func (d *DiscoveryConfig) problems() []string {
	if d == nil {
		return nil
	}
	var out []string
	bad := func(f string, a ...any) { out = append(out, fmt.Sprintf(f, a...)) }
	known := DiscoverySources()
	for _, s := range d.Sources {
		if !slices.Contains(known, strings.ToLower(strings.TrimSpace(s))) {
			bad("discovery.sources: unknown source %q (want %s)", s, strings.Join(known, ", "))
		}
	}
	if d.Resolver != "" {
		if _, _, err := net.SplitHostPort(d.Resolver); err != nil {
			bad("discovery.resolver %q: must be ip:port", d.Resolver)
		}
	}
	if d.Rate < 0 || d.Rate > 100000 {
		bad("discovery.rate %v: want 0 (default 200) to 100000 queries a second", d.Rate)
	}
	for i, l := range d.CTLogs {
		u, err := url.Parse(l.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("discovery.ct_logs[%d].url %q: want an http(s) URL", i, l.URL)
		}
		if l.Key != "" {
			if _, err := base64.StdEncoding.DecodeString(l.Key); err != nil {
				bad("discovery.ct_logs[%d].key: not base64: %v", i, err)
			}
		}
	}
	if d.CTLimit < 0 {
		bad("discovery.ct_limit %d: must not be negative", d.CTLimit)
	}
	for i, p := range d.Routing {
		if strings.TrimSpace(p) == "" {
			bad("discovery.routing[%d]: empty path", i)
		}
	}
	if d.Interval != 0 && d.Interval < time.Hour {
		bad("discovery.interval %s: want 0 (no schedule) or at least 1h", d.Interval)
	}
	return out
}
