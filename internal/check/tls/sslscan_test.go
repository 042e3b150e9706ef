package tls_test

import (
	"context"
	gotls "crypto/tls"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
	tlscheck "github.com/rampart-cert/rampart/internal/check/tls"
	"github.com/rampart-cert/rampart/internal/check/tls/tlstest"
	"github.com/rampart-cert/rampart/internal/probe/tlsprobe"
	"github.com/rampart-cert/rampart/internal/probe/tlsprobe/tlsprobetest"
)

// TestAgreesWithSSLScan runs sslscan (the Debian package) against fixtures
// and requires our protocol verdicts to equal its verdicts. It is skipped
// when sslscan is not installed. Debian's sslscan is built on OpenSSL 3,
// which has no SSLv3 (and SSLv2) code, so sslscan reports those disabled
// whatever the server does; those versions are compared only where the
// server does not speak them.
func TestAgreesWithSSLScan(t *testing.T) {
	bin, err := exec.LookPath("sslscan")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("sslscan not installed: .ci/run installs it, and CI must cross-check the protocol verdicts")
		}
		t.Skip("sslscan not installed (apt-get install sslscan); protocol verdicts not cross-checked")
	}
	p := newPKI(t)
	cert := issue(t, p.ca, tlstest.Leaf{RSABits: 2048})
	goCfg := func(min, max uint16) *gotls.Config {
		return &gotls.Config{Certificates: []gotls.Certificate{cert}, MinVersion: min, MaxVersion: max, CipherSuites: tlstest.LegacySuites}
	}
	servers := map[string]string{}
	for name, cfg := range map[string]*gotls.Config{
		"tls10-12": goCfg(gotls.VersionTLS10, gotls.VersionTLS12),
		"tls12":    goCfg(gotls.VersionTLS12, gotls.VersionTLS12),
		"tls12-13": goCfg(gotls.VersionTLS12, gotls.VersionTLS13),
		"tls13":    goCfg(gotls.VersionTLS13, gotls.VersionTLS13),
		"tls11-13": goCfg(gotls.VersionTLS11, gotls.VersionTLS13),
	} {
		servers[name] = serve(t, cfg).Addr()
	}
	fake, err := tlsprobetest.Start("127.0.0.1:0", tlsprobetest.Config{
		Versions: []tlsprobe.Version{tlsprobe.TLS10, tlsprobe.TLS11},
		Suites:   []uint16{0x002F, 0x0005},
		Chain:    cert.Certificate,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	servers["fake-tls10-11"] = fake.Addr()

	for name, addr := range servers {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			theirs, err := tlscheck.SSLScan(ctx, bin, addr)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := tlscheck.NewAssessor(0, 0).Assess(ctx, &check.Env{Timeout: 3 * time.Second}, target(t, addr))
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range tlsprobe.Versions {
				ours := rep.Protocols.Accepted(v)
				their, seen := theirs[v]
				if !seen {
					t.Errorf("%s: sslscan gave no verdict", v)
					continue
				}
				if v == tlsprobe.SSL30 && ours && !their {
					continue // sslscan's OpenSSL cannot speak SSLv3
				}
				if ours != their {
					t.Errorf("%s: we say accepted=%v, sslscan says %v", v, ours, their)
				}
			}
		})
	}
}
