package config

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
)

// RPZConfig serves the hub's blocklists as DNS response policy zones
// over AXFR and IXFR to the resolvers members run (internal/dns/rpz),
// under the file's rpz: key; it has no environment variables or flags.
// Each zone is one blocklist consumer's (by name; the consumer must be
// enabled and allowed the rpz format), rendered through its filters.
// Its secondaries authenticate with the zone's TSIG key (hmac-sha256,
// the secret in base64 as `tsig-keygen` prints it) or, for resolvers
// that cannot sign transfers (Unbound 1.17), by source address.
//
//	rpz:
//	  listen: 192.0.2.1:53        # TCP and UDP
//	  debounce: 1s                # changes settle this long before a new serial
//	  history: 64                 # changes kept per zone for IXFR
//	  zones:
//	    - consumer: bind-hanoi
//	      zone: rpz.hanoi.rampart.
//	      key_name: bind-hanoi.rampart.
//	      key_secret: "xZ8sH3...="
//	      notify: [198.51.100.53:53]
//	    - consumer: unbound-hue
//	      allow_unsigned: [198.51.100.10/32]
//	      notify: [198.51.100.10:53]
type RPZConfig struct {
	Listen   string        `yaml:"listen"`
	Debounce time.Duration `yaml:"debounce"` // default 1s
	History  int           `yaml:"history"`  // default 64
	Zones    []RPZZone     `yaml:"zones"`
}

// RPZZone is one consumer's zone.
type RPZZone struct {
	Consumer      string   `yaml:"consumer"`       // the blocklist consumer's name
	Zone          string   `yaml:"zone"`           // origin; default rpz.rampart.
	KeyName       string   `yaml:"key_name"`       // TSIG key name, unique
	KeySecret     string   `yaml:"key_secret"`     // base64, at least 16 bytes
	AllowUnsigned []string `yaml:"allow_unsigned"` // networks that may transfer without TSIG
	Notify        []string `yaml:"notify"`         // secondaries, host:port
}

// AllowUnsignedPrefixes is AllowUnsigned parsed (an address is a /32
// or /128).
func (z RPZZone) AllowUnsignedPrefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range z.AllowUnsigned {
		s = strings.TrimSpace(s)
		if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%q: not an address or network", s)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// problems lists what is wrong with the rpz: section.
func (r *RPZConfig) problems() []string {
	if r == nil {
		return nil
	}
	var out []string
	bad := func(f string, a ...any) { out = append(out, fmt.Sprintf(f, a...)) }
	if _, _, err := net.SplitHostPort(r.Listen); err != nil {
		bad("rpz.listen %q: must be host:port", r.Listen)
	}
	if r.Debounce < 0 || r.Debounce > time.Minute {
		bad("rpz.debounce %s: want 0 to 1m", r.Debounce)
	}
	if r.History < 0 || r.History > 10000 {
		bad("rpz.history %d: want 0 to 10000", r.History)
	}
	consumers, keys := map[string]bool{}, map[string]bool{}
	for i, z := range r.Zones {
		at := fmt.Sprintf("rpz.zones[%d]", i)
		if strings.TrimSpace(z.Consumer) == "" {
			bad("%s.consumer: required (a blocklist consumer's name)", at)
		} else if consumers[z.Consumer] {
			bad("%s.consumer %q: named by two zones", at, z.Consumer)
		}
		consumers[z.Consumer] = true
		if z.Zone != "" && !domainName(z.Zone) {
			bad("%s.zone %q: not a domain name", at, z.Zone)
		}
		if (z.KeyName == "") != (z.KeySecret == "") {
			bad("%s: key_name and key_secret go together", at)
		}
		if z.KeyName != "" {
			name := strings.ToLower(strings.TrimSuffix(z.KeyName, "."))
			if !domainName(name) {
				bad("%s.key_name %q: not a domain name", at, z.KeyName)
			} else if keys[name] {
				bad("%s.key_name %q: used by two zones", at, z.KeyName)
			}
			keys[name] = true
		}
		if z.KeySecret != "" {
			if sec, err := base64.StdEncoding.DecodeString(z.KeySecret); err != nil || len(sec) < 16 {
				bad("%s.key_secret: want base64 of at least 16 bytes (tsig-keygen -a hmac-sha256 writes one)", at)
			}
		}
		allow, err := z.AllowUnsignedPrefixes()
		if err != nil {
			bad("%s.allow_unsigned %v", at, err)
		}
		if z.KeyName == "" && len(allow) == 0 && err == nil {
			bad("%s: give a TSIG key (key_name, key_secret) or allow_unsigned networks, or no one can transfer it", at)
		}
		for _, n := range z.Notify {
			if _, _, err := net.SplitHostPort(n); err != nil {
				bad("%s.notify %q: must be host:port", at, n)
			}
		}
	}
	return out
}

// domainName: dot-separated labels of 1-63 letters, digits, "-" or "_".
func domainName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for l := range strings.SplitSeq(s, ".") {
		if l == "" || len(l) > 63 {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// redacted is r with the key secrets masked.
func (r *RPZConfig) redacted() *RPZConfig {
	if r == nil {
		return nil
	}
	c := *r
	c.Zones = append([]RPZZone(nil), r.Zones...)
	for i := range c.Zones {
		if c.Zones[i].KeySecret != "" {
			c.Zones[i].KeySecret = redacted
		}
	}
	return &c
}
