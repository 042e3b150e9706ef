package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/all"
	"github.com/rampart-cert/rampart/internal/check/dns/dnstest"
)

// TestScanMailChecksOncePerZone: `rampart scan www.example.test
// mail.example.test` runs the mail-authentication and zone checks once,
// on example.test, and the per-name check on each name. The zone has no
// SPF and no DMARC record, so each of those is reported once, for the
// zone, not once per host name.
func TestScanMailChecksOncePerZone(t *testing.T) {
	srv, err := dnstest.Start(dnstest.Config{IP: "127.66.0.40", Zones: []dnstest.Zone{{
		Origin: "example.test.",
		Records: `@ 3600 IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@ 3600 IN NS ns1
ns1 3600 IN A 127.66.0.40
www 3600 IN A 127.66.0.41
mail 3600 IN A 127.66.0.42
@ 3600 IN MX 10 mail
`}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	data := t.TempDir()
	r := must(t, runCLI(t, nil, "", "scan", "--data", data, "--scope", "none", "--resolver", srv.Addr, "--ports", "9", "--timeout", "300ms",
		"--checks", "dns", "www.example.test", "mail.example.test", "WWW.example.test."))
	count := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var m struct{ Type, Check, Target string }
		if line == "" || json.Unmarshal([]byte(line), &m) != nil || m.Type != "finding" {
			continue
		}
		count[m.Check] = append(count[m.Check], m.Target)
	}
	for _, id := range []string{"dns.spf-missing", "dns.dmarc-missing"} {
		if got := count[id]; len(got) != 1 || got[0] != "example.test" {
			t.Errorf("%s reported on %v, want once on example.test\n%s", id, got, r.stdout)
		}
	}
	for id, targets := range count {
		for _, tg := range targets {
			if tg != "example.test" {
				t.Errorf("%s reported on host %s", id, tg)
			}
		}
	}
}

func TestPlanDomains(t *testing.T) {
	checks := all.Builtin().Select([]string{"dns"})
	names, urls, scoped := planDomains([]string{"www.moh.gov.vn", "mail.moh.gov.vn", "moh.gov.vn", "portal.mof.gov.vn", "gov.vn",
		"192.0.2.1", "https://www.moh.gov.vn/login"}, checks)
	want := []string{"gov.vn", "mail.moh.gov.vn", "mof.gov.vn", "moh.gov.vn", "portal.mof.gov.vn", "www.moh.gov.vn"}
	if strings.Join(names, " ") != strings.Join(want, " ") || len(urls) != 1 || urls[0] != "https://www.moh.gov.vn/login" {
		t.Fatalf("names %v urls %v", names, urls)
	}
	runs := func(id, host string) bool {
		for _, c := range scoped {
			if c.Meta().ID == id {
				return c.Applies(check.Target{Kind: check.TargetDomain, Host: host})
			}
		}
		t.Fatalf("%s not among the checks", id)
		return false
	}
	for _, c := range []struct {
		id, host string
		want     bool
	}{
		{"dns.spf-missing", "moh.gov.vn", true}, {"dns.spf-missing", "www.moh.gov.vn", false}, {"dns.spf-missing", "mof.gov.vn", true},
		{"dns.dmarc-missing", "mail.moh.gov.vn", false}, {"dns.zone-transfer", "mof.gov.vn", true}, {"dns.dnssec-missing", "portal.mof.gov.vn", false},
		{"dns.dangling-cname", "www.moh.gov.vn", true}, {"dns.dangling-cname", "moh.gov.vn", true}, {"dns.dangling-cname", "mof.gov.vn", false},
		{"dns.spf-missing", "gov.vn", true}, // a public suffix given by name is its own zone
	} {
		if got := runs(c.id, c.host); got != c.want {
			t.Errorf("%s on %s: %v, want %v", c.id, c.host, got, c.want)
		}
	}
	// Service checks are left alone; without host names nothing changes.
	if n, u, s := planDomains([]string{"192.0.2.0/30"}, checks); n != nil || u != nil || len(s) != len(checks) {
		t.Errorf("addresses only: %v %v %d", n, u, len(s))
	}
}
