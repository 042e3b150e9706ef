package monitor

import (
	"context"
	"crypto/x509"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/rampart-cert/rampart/internal/finding"
)

// caIdentities maps the organization a CA writes in its certificates'
// issuer to the domains that name it in CAA records (RFC 8659 issuer
// domain names). An issuer not listed is not judged.
var caIdentities = []struct {
	org     string // a prefix of the issuer's organization, lower-case
	domains []string
}{
	{"let's encrypt", []string{"letsencrypt.org"}},
	{"digicert", []string{"digicert.com", "symantec.com", "geotrust.com", "rapidssl.com", "thawte.com", "digicert.ne.jp"}},
	{"sectigo", []string{"sectigo.com", "comodoca.com", "comodo.com", "usertrust.com", "trust-provider.com"}},
	{"zerossl", []string{"sectigo.com", "zerossl.com"}},
	{"globalsign", []string{"globalsign.com"}},
	{"google trust services", []string{"pki.goog", "google.com"}},
	{"amazon", []string{"amazon.com", "amazontrust.com", "awstrust.com", "amazonaws.com"}},
	{"microsoft", []string{"microsoft.com"}},
	{"entrust", []string{"entrust.net", "affirmtrust.com"}},
	{"godaddy", []string{"godaddy.com", "starfieldtech.com"}},
	{"starfield", []string{"starfieldtech.com", "godaddy.com"}},
	{"buypass", []string{"buypass.com", "buypass.no"}},
	{"ssl corporation", []string{"ssl.com"}},
	{"certum", []string{"certum.pl", "certum.eu"}},
	{"harica", []string{"harica.gr"}},
	{"actalis", []string{"actalis.it"}},
}

// issuerDomains returns the CAA domains of a certificate's issuer, or nil
// when the issuer is not known.
func issuerDomains(c *x509.Certificate) []string {
	for _, o := range c.Issuer.Organization {
		o = strings.ToLower(strings.TrimSpace(o))
		for _, ca := range caIdentities {
			if strings.HasPrefix(o, ca.org) {
				return ca.domains
			}
		}
	}
	return nil
}

// caaIssuers reads the issuer domains that CAA values (as the DNS
// detector keeps them: `0 issue "letsencrypt.org; validationmethods=…"`)
// allow, issue and issuewild alike; restricted is false when no issue or
// issuewild record is there (any CA may issue). An empty issuer (`;`)
// allows nobody.
func caaIssuers(vals []string) (allowed map[string]bool, restricted bool) {
	allowed = map[string]bool{}
	for _, v := range vals {
		f := strings.SplitN(v, " ", 3)
		if len(f) != 3 || (f[1] != "issue" && f[1] != "issuewild") {
			continue
		}
		restricted = true
		val, err := strconv.Unquote(f[2])
		if err != nil {
			val = f[2]
		}
		dom, _, _ := strings.Cut(val, ";")
		if dom = strings.ToLower(strings.TrimSpace(dom)); dom != "" {
			allowed[dom] = true
		}
	}
	return allowed, restricted
}

// IssuerEvidence is the evidence of a monitor.cert-unexpected-issuer
// finding.
type IssuerEvidence struct {
	Name        string    `json:"name"`
	Domain      string    `json:"domain"`
	Issuer      string    `json:"issuer"`
	IssuerCAA   []string  `json:"issuer_caa"`
	CAA         []string  `json:"caa"`
	Certificate *CertInfo `json:"certificate"`
}

// issuerCheck judges certificates for registered names against the CAA
// records the DNS detector snapshotted (the domain asset's apex: a CAA set
// lower in the tree is not seen).
type issuerCheck struct {
	domains map[string]owned   // domain asset value → its owner
	caa     map[int64][]string // domain asset → its CAA baseline
}

// newIssuerCheck loads the registry's domains and the DNS detector's CAA
// snapshots.
func (s *Service) newIssuerCheck(ctx context.Context, reg *view) (*issuerCheck, error) {
	st, err := loadState[dnsState](ctx, s, "dns")
	if err != nil {
		return nil, err
	}
	ic := &issuerCheck{domains: map[string]owned{}, caa: map[int64][]string{}}
	for _, d := range reg.domains {
		if _, dup := ic.domains[d.Value]; !dup {
			ic.domains[d.Value] = d
		}
		if s, ok := st[strconv.FormatInt(d.AssetID, 10)+"/CAA"]; ok {
			ic.caa[d.AssetID] = s.Baseline
		}
	}
	return ic, nil
}

// check returns the findings of a certificate whose issuer the CAA
// records of a registered domain do not allow, one per domain asset.
func (ic *issuerCheck) check(c *x509.Certificate, names []string, info func() *CertInfo) []finding.Finding {
	if len(ic.caa) == 0 {
		return nil
	}
	var out []finding.Finding
	done := map[int64]bool{}
	for _, n := range names {
		d, ok := ic.owner(n)
		if !ok || done[d.AssetID] {
			continue
		}
		done[d.AssetID] = true
		allowed, restricted := caaIssuers(ic.caa[d.AssetID])
		if !restricted {
			continue
		}
		ids := issuerDomains(c)
		if ids == nil || slices.ContainsFunc(ids, func(id string) bool { return allowed[id] }) {
			continue // an issuer not known, or allowed
		}
		issuer := printableText(strings.Join(c.Issuer.Organization, ", "))
		ev := IssuerEvidence{Name: n, Domain: d.Value, Issuer: printableText(c.Issuer.String()), IssuerCAA: ids, CAA: ic.caa[d.AssetID], Certificate: info()}
		out = append(out, finding.Finding{OrgID: d.OrgID, AssetID: d.AssetID, Check: "monitor.cert-unexpected-issuer", Severity: finding.Medium,
			Target: n, Subject: ev.Certificate.Serial,
			Title:    fmt.Sprintf("Certificate for %s from %s, not allowed by the CAA of %s", n, issuer, d.Value),
			Evidence: evidence(ev)})
	}
	return out
}

// owner finds the domain asset under which name falls (the longest).
func (ic *issuerCheck) owner(name string) (owned, bool) {
	for n := name; ; {
		if d, ok := ic.domains[n]; ok {
			return d, true
		}
		i := strings.IndexByte(n, '.')
		if i < 0 {
			return owned{}, false
		}
		n = n[i+1:]
	}
}
