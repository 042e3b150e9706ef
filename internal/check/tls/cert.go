package tls

import (
	"bytes"
	"crypto/dsa" //nolint:staticcheck // only to size keys of old certificates
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
)

// keyInfo returns a certificate's key type and size in bits.
func keyInfo(c *x509.Certificate) (string, int) {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return "RSA", k.N.BitLen()
	case *ecdsa.PublicKey:
		return "ECDSA", k.Curve.Params().BitSize
	case ed25519.PublicKey:
		return "Ed25519", 256
	case *dsa.PublicKey:
		return "DSA", k.P.BitLen()
	}
	return c.PublicKeyAlgorithm.String(), 0
}

// fingerprint is the SHA-256 of the DER, in hex.
func fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// certFields are a certificate's facts for evidence.
func certFields(c *x509.Certificate, prefix string) map[string]string {
	kt, bits := keyInfo(c)
	var sans []string
	sans = append(sans, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		sans = append(sans, ip.String())
	}
	sans = append(sans, c.EmailAddresses...)
	for _, u := range c.URIs {
		sans = append(sans, u.String())
	}
	return map[string]string{
		prefix + "subject":             c.Subject.String(),
		prefix + "issuer":              c.Issuer.String(),
		prefix + "san":                 check.Cap(strings.Join(sans, ", ")),
		prefix + "not_before":          c.NotBefore.UTC().Format(time.RFC3339),
		prefix + "not_after":           c.NotAfter.UTC().Format(time.RFC3339),
		prefix + "key_type":            kt,
		prefix + "key_bits":            fmt.Sprint(bits),
		prefix + "signature_algorithm": c.SignatureAlgorithm.String(),
		prefix + "serial":              c.SerialNumber.Text(16),
		prefix + "sha256":              fingerprint(c),
	}
}

// chainEvidence describes the chain as the server sent it.
func chainEvidence(rep *CertReport, extra map[string]string) check.Evidence {
	f := certFields(rep.Chain[0], "")
	f["chain_length"] = fmt.Sprint(len(rep.Chain))
	if rep.Version != 0 {
		f["tls_version"] = rep.Version.String()
	}
	for k, v := range extra {
		f[k] = v
	}
	var resp strings.Builder
	for i, c := range rep.Chain {
		fmt.Fprintf(&resp, "%d s:%s\n  i:%s\n", i, c.Subject, c.Issuer)
	}
	return check.Evidence{Request: rep.Source, Response: check.Cap(resp.String()), Fields: f}
}

// selfSigned reports whether c names itself as issuer and its own key
// verifies its signature (whatever the hash: a SHA-1 self-signed leaf is
// still self-signed).
func selfSigned(c *x509.Certificate) bool {
	if !bytes.Equal(c.RawIssuer, c.RawSubject) {
		return false
	}
	return c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// verifyChain verifies rep.Chain against roots (nil: the system pool) as
// of now, but clamped into the leaf's validity window: expiry has its own
// checks, and this one answers "would a client trust who issued it".
func verifyChain(chain []*x509.Certificate, roots *x509.CertPool, now time.Time) error {
	leaf := chain[0]
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	at := now
	if at.Before(leaf.NotBefore) {
		at = leaf.NotBefore
	}
	if at.After(leaf.NotAfter) {
		at = leaf.NotAfter
	}
	_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: at})
	return err
}

// hostMatches reports whether leaf covers host (a name or an address).
func hostMatches(leaf *x509.Certificate, host string) error {
	host = strings.TrimSuffix(host, ".")
	if ip := net.ParseIP(strings.Trim(host, "[]")); ip != nil {
		host = ip.String()
	}
	return leaf.VerifyHostname(host)
}

// weakSignature rates a certificate's signature hash.
func weakSignature(c *x509.Certificate) (name string, bad bool, broken bool) {
	switch c.SignatureAlgorithm {
	case x509.MD2WithRSA, x509.MD5WithRSA:
		return c.SignatureAlgorithm.String(), true, true
	case x509.SHA1WithRSA, x509.DSAWithSHA1, x509.ECDSAWithSHA1:
		return c.SignatureAlgorithm.String(), true, false
	}
	return c.SignatureAlgorithm.String(), false, false
}

// weakKey rates a certificate's key: bad below the 2048-bit RSA/DSA (224-bit
// EC) floor of NIST SP 800-131A, broken below 1024 bits (RSA/DSA).
func weakKey(c *x509.Certificate) (bad, broken bool) {
	kt, bits := keyInfo(c)
	switch kt {
	case "RSA", "DSA":
		return bits < 2048, bits < 1024
	case "ECDSA":
		return bits < 224, bits < 160
	}
	return false, false
}

// position names a certificate's place in the chain for a Subject.
func position(i int) string {
	if i == 0 {
		return "leaf"
	}
	return fmt.Sprintf("chain[%d]", i)
}
