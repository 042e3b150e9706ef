package monitor

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/finding"
)

// dnsClass is the verdict on one changed record set.
type dnsClass struct {
	kind         string
	severity     finding.Severity
	what         string
	newProviders []string
	foreign      []string
}

func (c dnsClass) title(domain string) string { return c.what + ": " + domain }

// classifyDNS judges a change of record set typ from before to after for
// a domain of an organization whose registrable domains are own. The
// hijack patterns are high: a delegation to a provider not used before
// (or removed altogether, or the name gone), and mail servers moved to a
// host outside both the organization's domains and the previous mail
// providers. Other NS and MX changes and CAA changes are low; address
// changes are information, and only when the new addresses share none
// with the old (a pool rotating its members is no change).
func classifyDNS(typ string, before, after []string, own map[string]bool) dnsClass {
	gone := len(after) == 1 && after[0] == nxdomain
	switch typ {
	case "NS":
		if gone || len(after) == 0 {
			return dnsClass{kind: "monitor.delegation-changed", severity: finding.High, what: "Delegation removed"}
		}
		fresh := newProviders(hostsOf(before), hostsOf(after))
		var outside []string
		for _, p := range fresh {
			if !own[p] {
				outside = append(outside, p)
			}
		}
		if len(outside) > 0 {
			return dnsClass{kind: "monitor.delegation-changed", severity: finding.High, what: "Delegated to new name servers", newProviders: outside}
		}
		return dnsClass{kind: "monitor.dns-changed", severity: finding.Low, what: "Name servers changed", newProviders: fresh}
	case "MX":
		if gone {
			return dnsClass{} // the NS record set reports a name gone
		}
		hb, ha := hostsOf(before), hostsOf(after)
		fresh := newProviders(hb, ha)
		known := map[string]bool{}
		for _, h := range hb {
			known[providerOf(h)] = true
		}
		var foreign []string
		for _, h := range ha {
			if p := providerOf(h); !known[p] && !own[p] {
				foreign = append(foreign, h)
			}
		}
		if len(foreign) > 0 {
			return dnsClass{kind: "monitor.mx-changed", severity: finding.High, what: "Mail moved to a foreign server", newProviders: fresh, foreign: foreign}
		}
		return dnsClass{kind: "monitor.mx-changed", severity: finding.Low, what: "Mail servers changed", newProviders: fresh}
	case "CAA":
		if gone {
			return dnsClass{}
		}
		return dnsClass{kind: "monitor.dns-changed", severity: finding.Low, what: "CAA records changed"}
	case "A", "AAAA":
		if gone || overlap(before, after) {
			return dnsClass{}
		}
		return dnsClass{kind: "monitor.dns-changed", severity: finding.Info, what: typ + " records moved"}
	}
	return dnsClass{}
}

// hostsOf returns the host names of NS or MX values ("10 mx.example.vn"
// → "mx.example.vn"), skipping the NXDOMAIN marker.
func hostsOf(vals []string) []string {
	var out []string
	for _, v := range vals {
		if v == nxdomain {
			continue
		}
		if i := strings.LastIndexByte(v, ' '); i >= 0 {
			v = v[i+1:]
		}
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// providerOf is who runs a server: its registrable domain
// ("ns1.provider.vn" → "provider.vn"), or the name itself when it has
// none (an IP literal, a bare suffix).
func providerOf(host string) string {
	if _, err := netip.ParseAddr(host); err == nil {
		return host
	}
	if r := asset.PublicSuffixes().RegistrableDomain(host); r != "" {
		return r
	}
	return host
}

// newProviders lists the providers of after's hosts that none of
// before's hosts had, sorted.
func newProviders(before, after []string) []string {
	had := map[string]bool{}
	for _, h := range before {
		had[providerOf(h)] = true
	}
	var out []string
	for _, h := range after {
		if p := providerOf(h); !had[p] {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func overlap(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}
