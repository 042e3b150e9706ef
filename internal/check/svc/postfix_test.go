package svc

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
	tlscheck "github.com/rampart-cert/rampart/internal/check/tls"
)

// postfixAt runs Debian's Postfix as the test's own mail system: its own
// configuration directory, queue and data directories, and one smtpd on
// a loopback port, with STARTTLS on a certificate that expired. open
// relays for loopback clients (mynetworks too wide, the usual mistake) and
// answers VRFY; hardened relays for no one and refuses VRFY.
func postfixAt(t *testing.T, open bool) netip.AddrPort {
	bin := needBinary(t, "postfix", "postfix")
	if os.Geteuid() != 0 {
		t.Skip("the Postfix fixture runs a master process as root")
	}
	if _, err := os.Stat("/usr/lib/postfix/sbin/master"); err != nil {
		t.Skip("Postfix daemons not found")
	}
	dir, err := os.MkdirTemp("", "rampart-svc-postfix-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil { // the postfix user's daemons look inside
		t.Fatal(err)
	}
	for _, d := range []string{"conf", "queue", "data"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	key, cert := filepath.Join(dir, "conf", "key.pem"), filepath.Join(dir, "conf", "cert.pem")
	// An expired certificate: -not_after needs OpenSSL 3.4, so a
	// certificate valid for -1 days is made with a backdated start.
	if out, err := exec.Command(needBinary(t, "openssl", "openssl"), "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
		"-nodes", "-subj", "/CN=mail.rampart.test", "-days", "1", "-keyout", key, "-out", cert).CombinedOutput(); err != nil {
		t.Fatalf("openssl req: %v: %s", err, out)
	}
	ap := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), freePort(t, "127.0.0.1"))
	mynetworks, vrfy := "192.0.2.1/32", "yes"
	if open {
		mynetworks, vrfy = "127.0.0.0/8", "no"
	}
	conf := filepath.Join(dir, "conf")
	writeFile(t, filepath.Join(conf, "main.cf"), `compatibility_level = 3.6
queue_directory = %[1]s/queue
data_directory = %[1]s/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mail.rampart.test
mydestination = mail.rampart.test
mynetworks = %[2]s
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
disable_vrfy_command = %[3]s
alias_maps =
alias_database =
maillog_file = /dev/stdout
smtpd_tls_cert_file = %[4]s
smtpd_tls_key_file = %[5]s
smtpd_tls_security_level = may
`, dir, mynetworks, vrfy, cert, key)
	services := []string{"pickup unix n - n 60 1 pickup", "cleanup unix n - n - 0 cleanup", "qmgr unix n - n 300 1 qmgr",
		"tlsmgr unix - - n 1000? 1 tlsmgr", "rewrite unix - - n - - trivial-rewrite", "bounce unix - - n - 0 bounce",
		"defer unix - - n - 0 bounce", "trace unix - - n - 0 bounce", "verify unix - - n - 1 verify", "proxymap unix - - n - - proxymap",
		"smtp unix - - n - - smtp", "relay unix - - n - - smtp", "error unix - - n - - error", "retry unix - - n - - error",
		"discard unix - - n - - discard", "local unix - n n - - local", "anvil unix - - n - 1 anvil", "scache unix - - n - 1 scache",
		"postlog unix-dgram n - n - 1 postlogd"}
	writeFile(t, filepath.Join(conf, "master.cf"), "%s inet n - n - - smtpd\n%s\n", ap, strings.Join(services, "\n"))
	if out, err := exec.Command(bin, "-c", conf, "set-permissions").CombinedOutput(); err != nil {
		t.Fatalf("postfix set-permissions: %v: %s", err, out)
	}
	// The master itself in the foreground (-d), so the test owns it; and
	// the whole mail system stopped first when the test ends (cleanups
	// run last-registered first).
	startDaemon(t, ap, "/usr/lib/postfix/sbin/master", "-c", conf, "-d")
	t.Cleanup(func() { exec.Command(bin, "-c", conf, "stop").Run() })
	return ap
}

func TestPostfix(t *testing.T) {
	open := target(postfixAt(t, true), "smtp")
	if rs := run(t, "svc.smtp-open-relay", open); len(rs) != 1 || !strings.HasPrefix(rs[0].Evidence.Fields["rcpt_reply"], "250") {
		t.Errorf("Postfix relaying for loopback: %+v", rs)
	}
	if rs := run(t, "svc.smtp-user-enumeration", open); len(rs) != 1 || !strings.HasPrefix(rs[0].Evidence.Fields["vrfy_unknown"], "550") {
		t.Errorf("Postfix with VRFY: %+v", rs)
	}
	// STARTTLS through the TLS family: the certificate is read on the
	// upgraded connection.
	reg := check.NewRegistry()
	if err := tlscheck.Register(reg); err != nil {
		t.Fatal(err)
	}
	e := env()
	e.Now = func() time.Time { return time.Now().Add(72 * time.Hour) } // past the one-day certificate
	var got []string
	for _, c := range reg.Select([]string{"tls"}) {
		if !c.Applies(open) {
			t.Fatalf("%s does not apply to SMTP", c.Meta().ID)
		}
		rs, err := c.Run(context.Background(), e, open)
		if err != nil {
			t.Fatalf("%s: %v", c.Meta().ID, err)
		}
		for _, r := range rs {
			got = append(got, r.Check)
		}
	}
	for _, want := range []string{"tls.cert-expired", "tls.cert-self-signed"} {
		if !slices.Contains(got, want) {
			t.Errorf("Postfix STARTTLS: want %s in %v", want, got)
		}
	}

	hardened := target(postfixAt(t, false), "smtp")
	for _, id := range []string{"svc.smtp-open-relay", "svc.smtp-user-enumeration"} {
		if rs := run(t, id, hardened); len(rs) != 0 {
			t.Errorf("hardened Postfix fired %s: %+v", id, rs)
		}
	}
}
