// Package tls is the TLS check family: certificate expiry, trust, names and
// key strength, and the protocol versions and weak cipher suites a server
// accepts. See README.md for each check, what fires it and how to fix it.
//
// The checks share an Assessor so that however many of them run on a
// target, the target sees one crypto/tls handshake and one run of raw
// probes (internal/probe/tlsprobe) per scan. It imports the check contract,
// the finding severities and the probe; nothing from the adapters.
package tls

import (
	"context"
	"crypto/x509"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/probe/tlsprobe"
)

// Register adds the family's checks to r, sharing one new Assessor.
func Register(r *check.Registry) error {
	return r.Register(Checks(NewAssessor(0, 0))...)
}

// Checks returns the family's checks, all reading from a.
func Checks(a *Assessor) []check.Check {
	ids := []string{IDCertExpired, IDCertExpiring, IDCertSelfSigned, IDCertUntrusted,
		IDHostnameMismatch, IDLegacyProtocol, IDWeakCipher, IDWeakKey}
	out := make([]check.Check, 0, len(ids))
	for _, id := range ids {
		c := &tlsCheck{meta: metas()[id], a: a}
		switch id {
		case IDLegacyProtocol:
			c.proto = legacyProtocol
		case IDWeakCipher:
			c.proto = weakCiphers
		default:
			c.cert = certEvaluators()[id]
		}
		out = append(out, c)
	}
	return out
}

var _ check.Check = (*tlsCheck)(nil)

// tlsCheck is one check of the family: it reads the shared assessment and
// judges one thing.
type tlsCheck struct {
	meta  check.Meta
	a     *Assessor
	cert  func(m check.Meta, env *check.Env, t check.Target, rep *CertReport) []check.Result
	proto func(m check.Meta, t check.Target, rep *ProtocolReport) []check.Result
}

func (c *tlsCheck) Meta() check.Meta { return c.meta }

// Applies is true for service targets known to speak TLS, or on a port
// where TLS is the norm and fingerprinting did not say otherwise.
func (c *tlsCheck) Applies(t check.Target) bool { return Applies(t) }

func (c *tlsCheck) Run(ctx context.Context, env *check.Env, t check.Target) ([]check.Result, error) {
	if c.proto != nil {
		rep, err := c.a.protocols(ctx, env, t)
		if err != nil {
			return nil, err
		}
		return c.proto(c.meta, t, rep), nil
	}
	rep, err := c.a.certs(ctx, env, t)
	if err != nil {
		return nil, err
	}
	if len(rep.Chain) == 0 {
		return nil, nil // anonymous suites only: tls.weak-cipher reports that
	}
	return c.cert(c.meta, env, t, rep), nil
}

var tlsServices = sync.OnceValue(func() map[string]bool {
	return map[string]bool{
		"https": true, "https-alt": true, "ssl": true, "tls": true, "imaps": true, "pop3s": true,
		"smtps": true, "submissions": true, "ldaps": true, "ftps": true, "ftps-data": true,
		"nntps": true, "ircs": true, "sips": true, "domain-s": true, "dot": true, "mqtts": true,
		"amqps": true, "xmpps-client": true, "xmpps-server": true, "telnets": true,
	}
})

var tlsPorts = sync.OnceValue(func() map[uint16]bool {
	return map[uint16]bool{
		443: true, 8443: true, 465: true, 993: true, 995: true, 636: true,
		990: true, 992: true, 853: true, 5061: true, 8883: true, 5671: true, 6697: true, 9443: true,
	}
})

// Applies reports whether t is a TLS service.
func Applies(t check.Target) bool {
	if t.Kind != check.TargetService || !t.Addr.IsValid() {
		return false
	}
	if t.TLS || StartTLSProtocol(t) != "" {
		return true
	}
	if svc := strings.ToLower(t.Service); svc != "" {
		return tlsServices()[svc] || strings.HasPrefix(svc, "ssl/") || strings.HasPrefix(svc, "tls/")
	}
	return tlsPorts()[t.Addr.Port()]
}

func now(env *check.Env) time.Time {
	if env != nil && env.Now != nil {
		return env.Now()
	}
	return time.Now()
}

var certEvaluators = sync.OnceValue(func() map[string]func(check.Meta, *check.Env, check.Target, *CertReport) []check.Result {
	return map[string]func(check.Meta, *check.Env, check.Target, *CertReport) []check.Result{
		IDCertExpired:      certExpired,
		IDCertExpiring:     certExpiring,
		IDCertSelfSigned:   certSelfSigned,
		IDCertUntrusted:    certUntrusted,
		IDHostnameMismatch: hostnameMismatch,
		IDWeakKey:          weakKeys,
	}
})

func result(m check.Meta, sev finding.Severity, subject, title string, ev check.Evidence) check.Result {
	return check.Result{Check: m.ID, Severity: sev, Subject: subject, Title: title, Evidence: ev}
}

func certExpired(m check.Meta, env *check.Env, _ check.Target, rep *CertReport) []check.Result {
	leaf, at := rep.Chain[0], now(env)
	switch {
	case at.After(leaf.NotAfter):
		days := int(at.Sub(leaf.NotAfter).Hours() / 24)
		return []check.Result{result(m, m.Severity, "",
			fmt.Sprintf("Certificate expired on %s (%d days ago)", leaf.NotAfter.UTC().Format(time.DateOnly), days),
			chainEvidence(rep, nil))}
	case at.Before(leaf.NotBefore):
		return []check.Result{result(m, m.Severity, "",
			fmt.Sprintf("Certificate not valid until %s", leaf.NotBefore.UTC().Format(time.DateOnly)),
			chainEvidence(rep, nil))}
	}
	return nil
}

func certExpiring(m check.Meta, env *check.Env, _ check.Target, rep *CertReport) []check.Result {
	leaf, at := rep.Chain[0], now(env)
	left := leaf.NotAfter.Sub(at)
	if left < 0 || left >= ExpiringWithin || at.Before(leaf.NotBefore) {
		return nil
	}
	days := int(left.Hours() / 24)
	return []check.Result{result(m, m.Severity, "",
		fmt.Sprintf("Certificate expires on %s (in %d days)", leaf.NotAfter.UTC().Format(time.DateOnly), days),
		chainEvidence(rep, map[string]string{"days_left": fmt.Sprint(days)}))}
}

// trusted reports whether the chain verifies; a self-signed leaf that the
// roots hold verifies too.
func trusted(env *check.Env, rep *CertReport) error {
	var roots *x509.CertPool // nil: the system pool
	if env != nil {
		roots = env.Roots
	}
	return verifyChain(rep.Chain, roots, now(env))
}

func certSelfSigned(m check.Meta, env *check.Env, _ check.Target, rep *CertReport) []check.Result {
	leaf := rep.Chain[0]
	if !selfSigned(leaf) || trusted(env, rep) == nil {
		return nil
	}
	return []check.Result{result(m, m.Severity, "",
		fmt.Sprintf("Self-signed certificate for %q", leaf.Subject.CommonName), chainEvidence(rep, nil))}
}

func certUntrusted(m check.Meta, env *check.Env, _ check.Target, rep *CertReport) []check.Result {
	if selfSigned(rep.Chain[0]) {
		return nil // tls.cert-self-signed says it more precisely
	}
	err := trusted(env, rep)
	if err == nil {
		return nil
	}
	return []check.Result{result(m, m.Severity, "",
		"Certificate chain does not verify: "+err.Error(),
		chainEvidence(rep, map[string]string{"verify_error": err.Error()}))}
}

func hostnameMismatch(m check.Meta, _ *check.Env, t check.Target, rep *CertReport) []check.Result {
	if t.Host == "" {
		return nil
	}
	if err := hostMatches(rep.Chain[0], t.Host); err == nil {
		return nil
	}
	return []check.Result{result(m, m.Severity, t.Host,
		fmt.Sprintf("Certificate does not cover %s", t.Host),
		chainEvidence(rep, map[string]string{"host": t.Host}))}
}

func weakKeys(m check.Meta, _ *check.Env, _ check.Target, rep *CertReport) []check.Result {
	var out []check.Result
	for i, c := range rep.Chain {
		kt, bits := keyInfo(c)
		if bad, broken := weakKey(c); bad {
			sev := finding.Medium
			if broken {
				sev = finding.High
			}
			ev := check.Evidence{Request: rep.Source, Fields: certFields(c, "")}
			ev.Fields["position"] = position(i)
			out = append(out, result(m, sev, position(i)+":key",
				fmt.Sprintf("%s certificate %q has a %d-bit %s key", position(i), c.Subject.CommonName, bits, kt), ev))
		}
		if selfSigned(c) {
			continue // a root's own signature (or a self-signed leaf's) vouches for nothing
		}
		if alg, bad, broken := weakSignature(c); bad {
			sev := finding.Medium
			if broken {
				sev = finding.High
			}
			ev := check.Evidence{Request: rep.Source, Fields: certFields(c, "")}
			ev.Fields["position"] = position(i)
			out = append(out, result(m, sev, position(i)+":signature",
				fmt.Sprintf("%s certificate %q is signed with %s", position(i), c.Subject.CommonName, alg), ev))
		}
	}
	return out
}

func legacyProtocol(m check.Meta, _ check.Target, rep *ProtocolReport) []check.Result {
	var out []check.Result
	for _, v := range rep.Verdicts {
		if !v.Accepted || v.Version >= tlsprobe.TLS12 {
			continue
		}
		sev := finding.Medium
		if v.Version == tlsprobe.SSL30 {
			sev = finding.High
		}
		out = append(out, result(m, sev, v.Version.String(),
			fmt.Sprintf("Server accepts %s", v.Version),
			check.Evidence{Request: check.Cap(v.Request), Response: check.Cap(v.Response),
				Fields: map[string]string{"version": v.Version.String()}}))
	}
	return out
}

func weakCiphers(m check.Meta, _ check.Target, rep *ProtocolReport) []check.Result {
	var out []check.Result
	for _, w := range rep.Weak {
		var vs []string
		for _, v := range w.Versions {
			vs = append(vs, v.String())
		}
		out = append(out, result(m, m.Severity, w.Suite.Name,
			fmt.Sprintf("Server accepts %s (%s) with %s", w.Suite.Name, w.Suite.Class&tlsprobe.WeakClasses, strings.Join(vs, ", ")),
			check.Evidence{Request: check.Cap(w.Request), Response: check.Cap(w.Response),
				Fields: map[string]string{
					"suite":    w.Suite.Name,
					"suite_id": fmt.Sprintf("0x%04X", w.Suite.ID),
					"classes":  (w.Suite.Class & tlsprobe.WeakClasses).String(),
					"versions": strings.Join(vs, ", "),
				}}))
	}
	return out
}
