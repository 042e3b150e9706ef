package svc

import (
	"net/netip"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rampart-cert/rampart/internal/probe/tlsprobe"
)

// opensslServer runs openssl s_server on a loopback port offering DHE
// suites only, with a 1024-bit group from dhparam (weak) or OpenSSL's
// automatic group matched to the 2048-bit key (hardened).
func opensslServer(t *testing.T, weak bool) netip.AddrPort {
	bin := needBinary(t, "openssl", "openssl")
	dir := t.TempDir()
	key, cert := filepath.Join(dir, "key.pem"), filepath.Join(dir, "cert.pem")
	if out, err := exec.Command(bin, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=dh.test", "-days", "2",
		"-keyout", key, "-out", cert).CombinedOutput(); err != nil {
		t.Fatalf("openssl req: %v: %s", err, out)
	}
	ap := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), freePort(t, "127.0.0.1"))
	args := []string{"s_server", "-quiet", "-accept", "127.0.0.1:" + strconv.Itoa(int(ap.Port())), "-cert", cert, "-key", key,
		"-no_tls1_3", "-cipher", "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-SHA:@SECLEVEL=0"}
	if weak {
		// testdata/dh1024.pem: openssl dhparam -out dh1024.pem 1024
		// (a safe prime takes seconds to find, so it is made once).
		args = append(args, "-dhparam", "testdata/dh1024.pem")
	}
	startDaemon(t, ap, bin, args...)
	return ap
}

func TestDHWeakGroupOpenSSL(t *testing.T) {
	rs := run(t, "svc.dh-weak-group", target(opensslServer(t, true), "https"))
	if len(rs) != 1 || rs[0].Evidence.Fields["bits"] != "1024" || rs[0].Subject != "tls" {
		t.Fatalf("1024-bit DHE: %+v", rs)
	}
	if rs := run(t, "svc.dh-weak-group", target(opensslServer(t, false), "https")); len(rs) != 0 {
		t.Fatalf("2048-bit DHE fired: %+v", rs)
	}
}

func TestParseDHServerKeyExchange(t *testing.T) {
	p := make([]byte, 128)
	p[0] = 0xc0
	body := append([]byte{0, 128}, p...)
	body = append(body, 0, 1, 2, 0, 2, 1, 1, 0xde, 0xad) // g, Ys, then a signature we do not read
	if bits, err := ParseDHServerKeyExchange(body); err != nil || bits != 1024 {
		t.Fatalf("%d %v", bits, err)
	}
	if _, err := ParseDHServerKeyExchange([]byte{0, 5, 1}); err == nil {
		t.Fatal("a cut message was accepted")
	}
	if len(dheSuites()) == 0 || tlsprobe.SuiteName(dheSuites()[0]) == "" {
		t.Fatal("no DHE suites to offer")
	}
}

func FuzzParseDHServerKeyExchange(f *testing.F) {
	f.Add([]byte{0, 2, 0xff, 0xff, 0, 1, 2, 0, 1, 7})
	f.Add([]byte{0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if bits, err := ParseDHServerKeyExchange(b); err == nil && bits > 8*len(b) {
			t.Fatalf("%d bits from %d bytes", bits, len(b))
		}
	})
}
