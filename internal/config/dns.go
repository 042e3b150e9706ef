package config

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/rampart-cert/rampart/internal/intel"
)

// DNSConfig is the platform's protective DNS policy (internal/dns), under
// the file's dns: key; it has no environment variables or flags. The
// platform sends it to every `rampart dns` resolver with the intel
// snapshot: which list each blocked domain falls in (by its feed or its
// category, first rule that names it; a rule naming neither takes all),
// what each list answers (nxdomain, nodata, redirect), the walled garden
// that redirect answers point to, and names never blocked.
//
//	dns:
//	  lists:
//	    - {name: phishing, action: redirect, categories: [phishing]}
//	    - {name: urlhaus, action: nxdomain, feeds: [urlhaus]}
//	  default_action: nxdomain       # what no rule takes (list "rampart")
//	  walled_garden_a: 192.0.2.80    # the page explaining the block
//	  walled_garden_aaaa: 2001:db8::80
//	  walled_garden_listen: 192.0.2.80:80
//	  redirect_ttl: 60
//	  contact: "soc@cert.example, +84 24 0000 0000"
//	  allow: [update.example.vn]
//	  max_tlp: GREEN                 # the most restricted marking resolvers and sensors get
type DNSConfig struct {
	Lists         []DNSList `yaml:"lists"`
	DefaultAction string    `yaml:"default_action"`
	// WalledGardenA and WalledGardenAAAA are the addresses redirect
	// answers carry; WalledGardenListen, when set, is where serve answers
	// the walled-garden page (host:port).
	WalledGardenA      string `yaml:"walled_garden_a"`
	WalledGardenAAAA   string `yaml:"walled_garden_aaaa"`
	WalledGardenListen string `yaml:"walled_garden_listen"`
	RedirectTTL        int    `yaml:"redirect_ttl"`
	// Contact is whom the walled-garden page tells a blocked user to ask.
	Contact string   `yaml:"contact"`
	Allow   []string `yaml:"allow"`
	// MaxTLP is the most restricted marking of what leaves to the edges
	// (resolvers and sensors); GREEN when empty.
	MaxTLP string `yaml:"max_tlp"`
}

// DNSList is one list of the protective DNS policy.
type DNSList struct {
	Name       string   `yaml:"name"`
	Action     string   `yaml:"action"`
	Feeds      []string `yaml:"feeds"`
	Categories []string `yaml:"categories"`
}

func (d *DNSConfig) problems() []string {
	if d == nil {
		return nil
	}
	var out []string
	bad := func(f string, a ...any) { out = append(out, fmt.Sprintf(f, a...)) }
	actions := []string{"nxdomain", "nodata", "redirect"}
	seen := map[string]bool{}
	for i, l := range d.Lists {
		if l.Name == "" || len(l.Name) > 64 || strings.ContainsAny(l.Name, " \t") || seen[l.Name] {
			bad("dns.lists[%d]: a unique name of 1-64 characters without blanks is required", i)
		}
		seen[l.Name] = true
		if !slices.Contains(actions, strings.ToLower(l.Action)) {
			bad("dns.lists[%d] (%s): action %q: want nxdomain, nodata or redirect", i, l.Name, l.Action)
		}
		for _, c := range l.Categories {
			if !slices.Contains(intel.Categories, intel.Category(strings.ToLower(c))) {
				bad("dns.lists[%d] (%s): category %q: want one of %v", i, l.Name, c, intel.Categories)
			}
		}
	}
	if d.DefaultAction != "" && !slices.Contains(actions, strings.ToLower(d.DefaultAction)) {
		bad("dns.default_action %q: want nxdomain, nodata or redirect", d.DefaultAction)
	}
	if d.WalledGardenA != "" {
		if a, err := netip.ParseAddr(d.WalledGardenA); err != nil || !a.Is4() {
			bad("dns.walled_garden_a %q: want an IPv4 address", d.WalledGardenA)
		}
	}
	if d.WalledGardenAAAA != "" {
		if a, err := netip.ParseAddr(d.WalledGardenAAAA); err != nil || !a.Is6() || a.Is4In6() {
			bad("dns.walled_garden_aaaa %q: want an IPv6 address", d.WalledGardenAAAA)
		}
	}
	if d.WalledGardenListen != "" {
		if _, err := netip.ParseAddrPort(d.WalledGardenListen); err != nil {
			bad("dns.walled_garden_listen %q: want ip:port", d.WalledGardenListen)
		}
	}
	if d.RedirectTTL < 0 || d.RedirectTTL > 86400 {
		bad("dns.redirect_ttl %d: want 0 to 86400 seconds", d.RedirectTTL)
	}
	if len(d.Contact) > 500 {
		bad("dns.contact: at most 500 characters")
	}
	for _, n := range d.Allow {
		if n == "" || len(n) > 253 || strings.ContainsAny(n, " \t/") {
			bad("dns.allow: %q is not a domain name", n)
		}
	}
	if d.MaxTLP != "" {
		if _, err := intel.ParseTLP(d.MaxTLP); err != nil {
			bad("dns.max_tlp %q: want CLEAR, GREEN, AMBER or AMBER+STRICT", d.MaxTLP)
		}
	}
	return out
}
