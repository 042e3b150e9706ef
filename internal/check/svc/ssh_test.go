package svc

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/finding"
)

// sshdAt runs Debian's OpenSSH server on a loopback port with host keys
// and a configuration the test generates: legacy enables 1024-bit
// Diffie-Hellman, SHA-1 exchange, CBC and 3DES ciphers, MD5 MACs, a DSA
// and a 1024-bit RSA host key, and passwords; hardened is Debian's
// defaults with an Ed25519 key and public keys only.
func sshdAt(t *testing.T, legacy bool) netip.AddrPort {
	bin := needBinary(t, "sshd", "openssh-server")
	keygen := needBinary(t, "ssh-keygen", "openssh-client")
	if os.Geteuid() != 0 {
		t.Skip("sshd fixtures need root (privilege separation)")
	}
	// Debian's sshd insists on its privilege separation directory, which
	// its init script creates at boot.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	gen := func(name string, args ...string) string {
		p := filepath.Join(dir, name)
		if out, err := exec.Command(keygen, append([]string{"-q", "-N", "", "-f", p}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen %v: %v: %s", args, err, out)
		}
		return p
	}
	ap := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), freePort(t, "127.0.0.1"))
	conf := filepath.Join(dir, "sshd_config")
	common := "Port %d\nListenAddress 127.0.0.1\nPidFile %s\nUsePAM no\nStrictModes no\nKbdInteractiveAuthentication no\nAuthorizedKeysFile none\nLogLevel ERROR\n"
	if legacy {
		writeFile(t, conf, common+"HostKey %s\nHostKey %s\nPasswordAuthentication yes\n"+
			"KexAlgorithms +diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,diffie-hellman-group-exchange-sha1\n"+
			"Ciphers +3des-cbc,aes128-cbc\nMACs +hmac-md5,hmac-sha1-96\nHostKeyAlgorithms +ssh-dss,ssh-rsa\n",
			ap.Port(), filepath.Join(dir, "pid"), gen("rsa1024", "-t", "rsa", "-b", "1024"), gen("dsa", "-t", "dsa"))
	} else {
		writeFile(t, conf, common+"HostKey %s\nPasswordAuthentication no\n", ap.Port(), filepath.Join(dir, "pid"), gen("ed25519", "-t", "ed25519"))
	}
	if out, err := exec.Command(bin, "-t", "-f", conf).CombinedOutput(); err != nil {
		t.Fatalf("sshd -t: %v: %s", err, out)
	}
	startDaemon(t, ap, bin, "-D", "-e", "-f", conf)
	return ap
}

func bySubject(rs []check.Result) map[string]check.Result {
	m := map[string]check.Result{}
	for _, r := range rs {
		m[r.Subject] = r
	}
	return m
}

func TestSSHOpenSSH(t *testing.T) {
	legacy := target(sshdAt(t, true), "ssh")
	hardened := target(sshdAt(t, false), "ssh")

	algs := bySubject(run(t, "svc.ssh-weak-algorithms", legacy))
	for subject, want := range map[string]string{"kex": "diffie-hellman-group14-sha1", "cipher": "3des-cbc", "mac": "hmac-md5", "hostkey": "ssh-dss"} {
		if r, ok := algs[subject]; !ok || !strings.Contains(r.Evidence.Fields["weak"], want) {
			t.Errorf("legacy sshd, %s: want %s in %+v", subject, want, r)
		}
	}
	if strings.Contains(algs["kex"].Evidence.Fields["weak"], "group1-sha1") {
		t.Error("group1 is svc.dh-weak-group's, not a weak-algorithm result")
	}
	keys := bySubject(run(t, "svc.ssh-weak-host-key", legacy))
	if r := keys["ssh-rsa"]; r.Evidence.Fields["bits"] != "1024" || r.Severity != finding.Medium {
		t.Errorf("1024-bit RSA host key: %+v", r)
	}
	if r := keys["ssh-dss"]; r.Evidence.Fields["key_type"] != "ssh-dss" {
		t.Errorf("DSA host key: %+v", keys)
	}
	if rs := run(t, "svc.ssh-password-auth", legacy); len(rs) != 1 || rs[0].Evidence.Fields["method"] != "password" {
		t.Errorf("password authentication: %+v", rs)
	}
	if rs := run(t, "svc.dh-weak-group", legacy); len(rs) != 1 || rs[0].Evidence.Fields["bits"] != "1024" {
		t.Errorf("group1: %+v", rs)
	}

	for _, id := range []string{"svc.ssh-weak-algorithms", "svc.ssh-weak-host-key", "svc.ssh-password-auth", "svc.dh-weak-group"} {
		if rs := run(t, id, hardened); len(rs) != 0 {
			t.Errorf("hardened sshd fired %s: %+v", id, rs)
		}
	}
}

func TestBadKeys(t *testing.T) {
	bad := badKeys()
	if len(bad) < 50 {
		t.Fatalf("shipped list has %d keys", len(bad))
	}
	b, err := os.ReadFile("testdata/badkey_cisco_rv120w_rsa.pub")
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(b)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ParseSSHHostKeyBlob(pub.Marshal())
	if err != nil || k.Type != "ssh-rsa" || k.Bits != 1024 || k.Fingerprint != ssh.FingerprintSHA256(pub) {
		t.Fatalf("blob: %+v %v", k, err)
	}
	sev, why := judgeHostKey(*k, bad)
	if sev != finding.Critical || !strings.Contains(why, "Cisco rv120w") {
		t.Fatalf("known key: %s %q", sev, why)
	}
	if _, err := ParseBadKeys("MD5:aa:bb product\n"); err == nil {
		t.Error("a non-SHA256 line was accepted")
	}
}

// kexinitPacket builds a cleartext KEXINIT packet from lists.
func kexinitPacket(lists ...string) []byte {
	p := []byte{20}
	p = append(p, make([]byte, 16)...)
	for i := 0; i < 10; i++ {
		s := ""
		if i < len(lists) {
			s = lists[i]
		}
		p = binary.BigEndian.AppendUint32(p, uint32(len(s)))
		p = append(p, s...)
	}
	p = append(p, 0, 0, 0, 0, 0)
	pad := 8 - (len(p)+5)%8
	if pad < 4 {
		pad += 8
	}
	out := binary.BigEndian.AppendUint32(nil, uint32(len(p)+pad+1))
	out = append(out, byte(pad))
	out = append(out, p...)
	return append(out, make([]byte, pad)...)
}

func TestParseKexInit(t *testing.T) {
	pkt := kexinitPacket("curve25519-sha256,diffie-hellman-group1-sha1", "ssh-ed25519,ssh-dss", "aes128-ctr,3des-cbc", "aes128-ctr", "hmac-sha2-256,hmac-md5", "hmac-sha2-256", "none", "none")
	p, err := ReadSSHPacket(bytes.NewReader(pkt))
	if err != nil {
		t.Fatal(err)
	}
	k, err := ParseKexInit(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Kex) != 2 || k.HostKey[1] != "ssh-dss" || k.CiphersC2S[1] != "3des-cbc" || k.MACsC2S[1] != "hmac-md5" {
		t.Fatalf("%+v", k)
	}
	if _, err := ParseKexInit([]byte{21, 0}); err == nil {
		t.Error("a non-KEXINIT was accepted")
	}
}

// A fake SSH server that sends a KEXINIT with legacy lists: the check is
// judged on what the server offers, not on who it is.
func TestSSHAlgorithmsFake(t *testing.T) {
	ap := serve(t, func(c net.Conn) {
		c.Write([]byte("SSH-2.0-dropbear_2012.55\r\n"))
		c.Write(kexinitPacket("diffie-hellman-group1-sha1", "ssh-rsa", "arcfour,aes128-cbc", "arcfour", "hmac-md5", "hmac-md5", "none", "none"))
		buf := make([]byte, 256)
		c.Read(buf)
	})
	subjects := bySubject(run(t, "svc.ssh-weak-algorithms", target(ap, "ssh")))
	if _, ok := subjects["kex"]; ok {
		t.Error("group1 alone reported as weak key exchange")
	}
	if !strings.Contains(subjects["cipher"].Evidence.Fields["weak"], "arcfour (RC4)") || subjects["hostkey"].Subject == "" {
		t.Fatalf("%+v", subjects)
	}
}

func FuzzParseKexInit(f *testing.F) {
	f.Add(kexinitPacket("curve25519-sha256", "ssh-ed25519", "aes128-ctr", "aes128-ctr", "hmac-sha2-256", "hmac-sha2-256", "none", "none"))
	f.Add(kexinitPacket("diffie-hellman-group1-sha1", "ssh-dss"))
	f.Add([]byte{0, 0, 0, 12, 4, 20, 1, 2, 3, 4, 5, 6, 7, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ReadSSHPacket(bytes.NewReader(b))
		if err != nil {
			return
		}
		k, err := ParseKexInit(p)
		if err != nil {
			return
		}
		for _, l := range [][]string{k.Kex, k.HostKey, k.CiphersC2S, k.MACsS2C} {
			for _, n := range l {
				if n == "" || strings.ContainsAny(n, ", \x00") {
					t.Fatalf("bad name %q", n)
				}
			}
		}
	})
}

func FuzzParseSSHHostKeyBlob(f *testing.F) {
	b, _ := os.ReadFile("testdata/badkey_cisco_rv120w_rsa.pub")
	if pub, _, _, _, err := ssh.ParseAuthorizedKey(b); err == nil {
		f.Add(pub.Marshal())
	}
	f.Add([]byte("\x00\x00\x00\x07ssh-dss\x00\x00\x00\x01\x80"))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParseSSHHostKeyBlob(b)
		if err == nil && (k.Type == "" || k.Bits < 0) {
			t.Fatalf("%+v", k)
		}
	})
}

func FuzzParseBadKeys(f *testing.F) {
	f.Add(sshBadKeysText)
	f.Add("SHA256:s5Qw/PocHrvXYHlxaQvSI8lodaJiuCZrTp+KjEUw0tc x\n# c\n")
	f.Fuzz(func(t *testing.T, s string) { _, _ = ParseBadKeys(s) })
}
