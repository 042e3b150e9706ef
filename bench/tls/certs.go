package main

import (
	gotls "crypto/tls"
	"crypto/x509"
	"time"

	"github.com/rampart-cert/rampart/internal/check/tls/tlstest"
)

type x509CertPool = x509.CertPool

// makeCerts makes the bench's certificates, named by their defect.
func makeCerts() (map[string]gotls.Certificate, *x509.CertPool, error) {
	ca, err := tlstest.NewCA("Rampart Bench Root")
	if err != nil {
		return nil, nil, err
	}
	rsaCA, err := tlstest.NewRSACA("Rampart Bench RSA Root")
	if err != nil {
		return nil, nil, err
	}
	stranger, err := tlstest.NewCA("Unknown Root")
	if err != nil {
		return nil, nil, err
	}
	host := []string{"bench.rampart.test"}
	now := time.Now()
	specs := []struct {
		name string
		ca   *tlstest.CA
		leaf tlstest.Leaf
	}{
		{"valid-ecdsa", ca, tlstest.Leaf{Hosts: host}},
		{"valid-rsa", ca, tlstest.Leaf{Hosts: host, RSABits: 2048}},
		{"expiring", ca, tlstest.Leaf{Hosts: host, RSABits: 2048, NotAfter: now.Add(10 * 24 * time.Hour)}},
		{"expired", ca, tlstest.Leaf{Hosts: host, RSABits: 2048, NotBefore: now.Add(-100 * 24 * time.Hour), NotAfter: now.Add(-24 * time.Hour)}},
		{"self-signed", nil, tlstest.Leaf{Hosts: host, RSABits: 2048}},
		{"rsa-1024", ca, tlstest.Leaf{Hosts: host, RSABits: 1024}},
		{"wrong-host", ca, tlstest.Leaf{Hosts: []string{"other.rampart.test"}}},
		{"untrusted", stranger, tlstest.Leaf{Hosts: host, RSABits: 2048}},
		{"sha1", rsaCA, tlstest.Leaf{Hosts: host, RSABits: 2048, SHA1: true}},
	}
	out := map[string]gotls.Certificate{}
	for _, s := range specs {
		c, err := s.ca.Issue(s.leaf)
		if err != nil {
			return nil, nil, err
		}
		out[s.name] = c
	}
	roots := ca.Pool()
	roots.AddCert(rsaCA.Cert)
	return out, roots, nil
}
