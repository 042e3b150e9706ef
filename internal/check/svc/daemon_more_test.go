package svc

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// vsftpdAt runs Debian's vsftpd on a loopback port: open allows anonymous
// logins without TLS; hardened refuses anonymous logins and offers
// explicit FTPS (AUTH TLS) with a certificate the test makes.
func vsftpdAt(t *testing.T, open bool) netip.AddrPort {
	bin := needBinary(t, "vsftpd", "vsftpd")
	if os.Geteuid() != 0 {
		t.Skip("the vsftpd fixture runs as root")
	}
	dir := t.TempDir()
	for _, d := range []string{"pub", "empty"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ap := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), freePort(t, "127.0.0.1"))
	conf := filepath.Join(dir, "vsftpd.conf")
	common := "listen=YES\nlisten_ipv6=NO\nlisten_address=127.0.0.1\nlisten_port=%d\nbackground=NO\nsecure_chroot_dir=%s\n" +
		"run_as_launching_user=YES\nseccomp_sandbox=NO\nlocal_enable=NO\nwrite_enable=NO\nxferlog_enable=NO\n"
	if open {
		writeFile(t, conf, common+"anonymous_enable=YES\nanon_root=%s\nno_anon_password=YES\nssl_enable=NO\n",
			ap.Port(), filepath.Join(dir, "empty"), filepath.Join(dir, "pub"))
	} else {
		key, cert := filepath.Join(dir, "key.pem"), filepath.Join(dir, "cert.pem")
		if out, err := exec.Command(needBinary(t, "openssl", "openssl"), "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
			"-nodes", "-subj", "/CN=ftp.test", "-days", "2", "-keyout", key, "-out", cert).CombinedOutput(); err != nil {
			t.Fatalf("openssl req: %v: %s", err, out)
		}
		writeFile(t, conf, common+"anonymous_enable=NO\nssl_enable=YES\nrsa_cert_file=%s\nrsa_private_key_file=%s\nforce_local_logins_ssl=YES\nforce_local_data_ssl=YES\n",
			ap.Port(), filepath.Join(dir, "empty"), cert, key)
	}
	startDaemon(t, ap, bin, conf)
	return ap
}

func TestFTPVsftpd(t *testing.T) {
	open := target(vsftpdAt(t, true), "ftp")
	if rs := run(t, "svc.ftp-cleartext", open); len(rs) != 1 || !strings.HasPrefix(rs[0].Evidence.Fields["auth_tls_reply"], "530") {
		t.Errorf("vsftpd without TLS: %+v", rs)
	}
	if rs := run(t, "svc.ftp-anonymous", open); len(rs) != 1 {
		t.Errorf("vsftpd anonymous: %+v", rs)
	}
	hardened := target(vsftpdAt(t, false), "ftp")
	for _, id := range []string{"svc.ftp-cleartext", "svc.ftp-anonymous"} {
		if rs := run(t, id, hardened); len(rs) != 0 {
			t.Errorf("vsftpd with FTPS fired %s: %+v", id, rs)
		}
	}
}

// namedAt runs Debian's BIND (named) on a loopback port, authoritative
// only, answering version.bind with its own version or with "none".
func namedAt(t *testing.T, hide bool) netip.AddrPort {
	bin := needBinary(t, "named", "bind9")
	dir := t.TempDir()
	ap := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), freePort(t, "127.0.0.1"))
	version := ""
	if hide {
		version = "version \"none\";"
	}
	conf := filepath.Join(dir, "named.conf")
	writeFile(t, conf, `options {
	directory "%[1]s";
	pid-file "%[1]s/named.pid";
	session-keyfile "%[1]s/session.key";
	managed-keys-directory "%[1]s";
	listen-on port %[2]d { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion no;
	dnssec-validation no;
	%[3]s
};
`, dir, ap.Port(), version)
	startDaemon(t, ap, bin, "-g", "-n", "1", "-c", conf)
	return ap
}

func TestDNSVersionBIND(t *testing.T) {
	rs := run(t, "svc.dns-version-disclosure", target(namedAt(t, false), "dns"))
	if len(rs) != 1 || !strings.HasPrefix(rs[0].Evidence.Fields["version"], "9.") {
		t.Fatalf("BIND with its version: %+v", rs)
	}
	if rs := run(t, "svc.dns-version-disclosure", target(namedAt(t, true), "dns")); len(rs) != 0 {
		t.Fatalf("BIND with version \"none\" fired: %+v", rs)
	}
}
