package cli

import (
	"slices"
	"strings"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/target"
)

// One-shot scans of host names run the domain checks at the right level.
//
// The engine runs every domain check on every name it is given. For a
// host name ("www.example.gov.vn", "mail.example.gov.vn") that meant the
// mail-authentication and zone checks (SPF, DMARC, DNSSEC, zone transfer)
// ran once per host, each reporting the zone's policy again under another
// name. They belong to the zone: they now run once on each zone the names
// fall in (its registrable domain, by the Public Suffix List), while the
// checks about the name itself (a dangling CNAME) run on each name. A name
// that is itself a registrable domain (or a public suffix) is its own zone
// and gets both. A zone delegated below the registrable domain
// ("dept.example.gov.vn" with its own SOA) is not told apart: scan it by
// its name to check its own records.

// hostChecks are the domain checks about one name rather than its zone.
var hostChecks = []string{"dns.dangling-cname"}

// scopedDomainCheck is a domain check that runs on some names only (the
// hosts, or the zones): the engine asks Applies for every name.
type scopedDomainCheck struct {
	check.Check
	names map[string]bool
}

func (s scopedDomainCheck) Applies(t check.Target) bool {
	if t.Kind == check.TargetDomain && !s.names[strings.TrimSuffix(strings.ToLower(t.Host), ".")] {
		return false
	}
	return s.Check.Applies(t)
}

// planDomains returns the names and URLs the engine's domain and URL
// checks run on for specs (every host name and the zones they fall in; the
// URLs as given), and checks with the domain checks scoped: host checks to
// the names, the others to the zones. Without host names it changes
// nothing.
func planDomains(specs []string, checks []check.Check) (names, urls []string, scoped []check.Check) {
	hosts := map[string]bool{}
	zones := map[string]bool{}
	psl := asset.PublicSuffixes()
	for _, s := range specs {
		sp, err := target.ParseSpec(s)
		if err != nil {
			continue
		}
		switch sp.Kind {
		case target.KindURL:
			urls = append(urls, s)
		case target.KindName:
			h := strings.TrimSuffix(strings.ToLower(sp.Host), ".")
			if h == "" || hosts[h] {
				continue
			}
			hosts[h] = true
			names = append(names, h)
			z := psl.RegistrableDomain(h)
			if z == "" {
				z = h // a public suffix itself: its own zone
			}
			if !zones[z] {
				zones[z] = true
			}
		}
	}
	if len(hosts) == 0 {
		return nil, nil, checks
	}
	for z := range zones {
		if !hosts[z] {
			names = append(names, z)
		}
	}
	slices.Sort(names)
	if urls == nil {
		urls = []string{} // the engine would otherwise take the specs again
	}
	scoped = make([]check.Check, 0, len(checks))
	for _, c := range checks {
		if slices.Contains(hostChecks, c.Meta().ID) {
			scoped = append(scoped, scopedDomainCheck{Check: c, names: hosts})
			continue
		}
		if appliesToDomains(c) {
			scoped = append(scoped, scopedDomainCheck{Check: c, names: zones})
			continue
		}
		scoped = append(scoped, c)
	}
	return names, urls, scoped
}

// appliesToDomains reports whether c is a domain check.
func appliesToDomains(c check.Check) bool {
	return c.Applies(check.Target{Kind: check.TargetDomain, Host: "example.org"})
}
