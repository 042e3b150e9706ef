package config

import (
	"fmt"
	"net/netip"
	"time"
)

// CorrelationConfig is how sensors' detections become national decisions
// (internal/decision), under the file's correlation: key; it has no
// environment variables or flags. The same source address seen attacking
// MinOrgs or more organizations within Window becomes a decision to block
// it for TTL, extended while detections continue. Durations are Go
// durations ("10m").
//
//	correlation:
//	  min_orgs: 3
//	  window: 10m
//	  ttl: 4h
//	  approve_all: false            # every decision waits for an analyst
//	  never_auto: [203.0.113.0/24]  # more prefixes that always wait
type CorrelationConfig struct {
	Off        bool          `yaml:"off"`         // no decisions from detections
	MinOrgs    int           `yaml:"min_orgs"`    // default 3
	Window     time.Duration `yaml:"window"`      // default 10m
	TTL        time.Duration `yaml:"ttl"`         // default 4h
	ApproveAll bool          `yaml:"approve_all"` // every decision waits for an analyst's approval
	// NeverAuto lists networks (CIDRs or addresses) whose decisions always
	// wait for an analyst, beside the constituency's assets and the
	// public resolvers and CDNs shipped with Rampart.
	NeverAuto []string `yaml:"never_auto"`
	// MaxSources bounds the source addresses remembered within the
	// window (default 1,000,000); detections of new sources beyond it
	// are dropped and counted.
	MaxSources int `yaml:"max_sources"`
}

// Correlation defaults.
const (
	DefaultCorrelationMinOrgs    = 3
	DefaultCorrelationWindow     = 10 * time.Minute
	DefaultCorrelationTTL        = 4 * time.Hour
	DefaultCorrelationMaxSources = 1_000_000
)

// WithDefaults returns c (nil: the zero value) with its defaults filled.
func (c *CorrelationConfig) WithDefaults() CorrelationConfig {
	var out CorrelationConfig
	if c != nil {
		out = *c
	}
	if out.MinOrgs <= 0 {
		out.MinOrgs = DefaultCorrelationMinOrgs
	}
	if out.Window <= 0 {
		out.Window = DefaultCorrelationWindow
	}
	if out.TTL <= 0 {
		out.TTL = DefaultCorrelationTTL
	}
	if out.MaxSources <= 0 {
		out.MaxSources = DefaultCorrelationMaxSources
	}
	return out
}

func (c *CorrelationConfig) problems() []string {
	if c == nil {
		return nil
	}
	var out []string
	bad := func(f string, a ...any) { out = append(out, fmt.Sprintf(f, a...)) }
	if c.MinOrgs < 0 || c.MinOrgs > 1000 {
		bad("correlation.min_orgs %d: want 1-1000", c.MinOrgs)
	}
	for name, d := range map[string]time.Duration{"window": c.Window, "ttl": c.TTL} {
		if d < 0 {
			bad("correlation.%s %s: must not be negative", name, d)
		}
	}
	if c.TTL > 0 && c.TTL < time.Minute {
		bad("correlation.ttl %s: at least 1m", c.TTL)
	}
	if c.MaxSources < 0 {
		bad("correlation.max_sources %d: must not be negative", c.MaxSources)
	}
	for _, p := range c.NeverAuto {
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				bad("correlation.never_auto %q: not an address or CIDR", p)
			}
		}
	}
	return out
}
