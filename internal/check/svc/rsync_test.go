package svc

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// rsyncdAt runs Debian's rsync as a daemon on a loopback port. open has
// a listed public module without authentication beside a password one;
// hardened lists nothing and requires a password everywhere.
func rsyncdAt(t *testing.T, open bool) netip.AddrPort {
	bin := needBinary(t, "rsync", "rsync")
	dir := t.TempDir()
	for _, d := range []string{"pub", "priv"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	secrets := filepath.Join(dir, "secrets")
	writeFile(t, secrets, "backup:a-long-backup-password\n")
	if err := os.Chmod(secrets, 0o600); err != nil {
		t.Fatal(err)
	}
	ap := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), freePort(t, "127.0.0.1"))
	conf := filepath.Join(dir, "rsyncd.conf")
	head := "use chroot = no\npid file = " + filepath.Join(dir, "pid") + "\nlog file = " + filepath.Join(dir, "log") + "\n"
	priv := "[backup]\npath = " + filepath.Join(dir, "priv") + "\ncomment = nightly backups\nauth users = backup\nsecrets file = " + secrets + "\nread only = yes\n"
	if open {
		writeFile(t, conf, "%s[public]\npath = %s\ncomment = Public files\nread only = yes\n%s", head, filepath.Join(dir, "pub"), priv)
	} else {
		writeFile(t, conf, "%slist = no\n%s", head, priv)
	}
	startDaemon(t, ap, bin, "--daemon", "--no-detach", "--config="+conf, "--address=127.0.0.1", "--port="+strconv.Itoa(int(ap.Port())))
	return ap
}

func TestRsyncDaemon(t *testing.T) {
	rs := run(t, "svc.rsync-open-modules", target(rsyncdAt(t, true), "rsync"))
	if len(rs) != 1 || rs[0].Evidence.Fields["no_password"] != "public" || rs[0].Evidence.Fields["password_required"] != "backup" ||
		!strings.Contains(rs[0].Title, "public") || rs[0].Severity != metaRsync.Severity {
		t.Fatalf("open rsyncd: %+v", rs)
	}
	if rs := run(t, "svc.rsync-open-modules", target(rsyncdAt(t, false), "rsync")); len(rs) != 0 {
		t.Fatalf("hardened rsyncd fired: %+v", rs)
	}
	// Found by its banner on a port the fingerprint could not name.
	tg := target(netip.MustParseAddrPort("127.0.0.1:10873"), "unknown")
	tg.Banner = "@RSYNCD: 31.0"
	if !find("svc.rsync-open-modules").Applies(tg) {
		t.Fatal("rsync banner on an unnamed port: check does not apply")
	}
}

func TestParseRsync(t *testing.T) {
	if v, err := ParseRsyncGreeting("@RSYNCD: 31.0 sha512 sha256 sha1 md5 md4\n"); err != nil || v != "31.0" {
		t.Fatalf("greeting: %q %v", v, err)
	}
	for _, bad := range []string{"SSH-2.0-OpenSSH", "@RSYNCD: x.y", "@RSYNCD: 31", ""} {
		if _, err := ParseRsyncGreeting(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	mods, err := ParseRsyncModules([]string{"Welcome to the archive", "public         \tPublic files", "backup         \tnightly backups", "@RSYNCD: EXIT"})
	if err != nil || len(mods) != 2 || mods[0].Name != "public" || mods[1].Comment != "nightly backups" {
		t.Fatalf("modules: %+v %v", mods, err)
	}
	if _, err := ParseRsyncModules([]string{"@ERROR: access denied to #list"}); err == nil {
		t.Error("@ERROR not reported")
	}
}

func FuzzParseRsync(f *testing.F) {
	f.Add("@RSYNCD: 31.0 sha512 sha256 sha1 md5 md4\npublic         \tPublic files\n@RSYNCD: EXIT\n")
	f.Add("@RSYNCD: 30.0\nmotd line\nbackup\tnightly\n@ERROR: denied\n")
	f.Fuzz(func(t *testing.T, s string) {
		lines := strings.Split(s, "\n")
		_, _ = ParseRsyncGreeting(lines[0])
		mods, _ := ParseRsyncModules(lines[1:])
		for _, m := range mods {
			if m.Name == "" || strings.ContainsAny(m.Name, " /") {
				t.Fatalf("bad module name %q", m.Name)
			}
		}
	})
}

// A silent or foreign server on the rsync port proves nothing.
func TestRsyncForeign(t *testing.T) {
	ap := serve(t, func(c net.Conn) { c.Write([]byte("SSH-2.0-OpenSSH_9.2p1\r\n")) })
	rs, err := find("svc.rsync-open-modules").Run(context.Background(), env(), target(ap, "rsync"))
	if err != nil || len(rs) != 0 {
		t.Fatalf("%+v %v", rs, err)
	}
}
