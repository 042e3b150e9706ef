package svc

import (
	"context"
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// smbdAt runs Debian's Samba smbd on a loopback port with a configuration
// the test writes: every path in a temporary directory, one interface
// (bind interfaces only), one port, no NetBIOS. open accepts SMB1, does
// not require signing, maps unknown users to guest and shares a guest
// folder; hardened requires signing, starts at SMB 2.1, refuses anonymous
// and guest access.
func smbdAt(t *testing.T, open bool) netip.AddrPort {
	bin := needBinary(t, "smbd", "samba")
	if os.Geteuid() != 0 {
		t.Skip("smbd fixtures need root")
	}
	dir := t.TempDir()
	for _, d := range []string{"lock", "state", "cache", "private", "ncalrpc", "public", "pid"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ap := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), freePort(t, "127.0.0.1"))
	global := strings.NewReplacer("DIR", dir).Replace(`[global]
server role = standalone server
workgroup = RAMPARTTEST
interfaces = 127.0.0.1
bind interfaces only = yes
disable netbios = yes
pid directory = DIR/pid
lock directory = DIR/lock
state directory = DIR/state
cache directory = DIR/cache
private dir = DIR/private
ncalrpc dir = DIR/ncalrpc
log file = DIR/log.%m
passdb backend = tdbsam:DIR/private/passdb.tdb
load printers = no
printing = bsd
printcap name = /dev/null
disable spoolss = yes
usershare path =
`)
	conf := filepath.Join(dir, "smb.conf")
	if open {
		writeFile(t, conf, "%ssmb ports = %d\nserver min protocol = NT1\nserver signing = auto\nmap to guest = bad user\nrestrict anonymous = 0\n"+
			"[public]\npath = %s\nguest ok = yes\nread only = yes\ncomment = Public files\n", global, ap.Port(), filepath.Join(dir, "public"))
	} else {
		writeFile(t, conf, "%ssmb ports = %d\nserver min protocol = SMB2_10\nserver signing = mandatory\nmap to guest = never\nrestrict anonymous = 2\n"+
			"[staff]\npath = %s\nread only = yes\nvalid users = nobody\n", global, ap.Port(), filepath.Join(dir, "public"))
	}
	startDaemon(t, ap, bin, "--foreground", "--no-process-group", "--debug-stdout", "-s", conf)
	return ap
}

func TestSMBSamba(t *testing.T) {
	open := target(smbdAt(t, true), "microsoft-ds")
	if rs := run(t, "svc.smb-signing-not-required", open); len(rs) != 1 || rs[0].Evidence.Fields["signing"] != "enabled but not required" {
		t.Errorf("signing: %+v", rs)
	}
	if rs := run(t, "svc.smbv1-enabled", open); len(rs) != 1 {
		t.Errorf("SMB1: %+v", rs)
	}
	rs := run(t, "svc.smb-null-session", open)
	t.Logf("null session: %+v", rs)
	if len(rs) != 1 || !strings.Contains(rs[0].Evidence.Fields["shares"], "public") {
		t.Errorf("null session: %+v", rs)
	}

	hardened := target(smbdAt(t, false), "microsoft-ds")
	for _, id := range []string{"svc.smb-signing-not-required", "svc.smbv1-enabled", "svc.smb-null-session"} {
		if rs := run(t, id, hardened); len(rs) != 0 {
			t.Errorf("hardened smbd fired %s: %+v", id, rs)
		}
	}
}

// A port that is not SMB proves nothing.
func TestSMBForeign(t *testing.T) {
	web := serveHTTP(t, nil)
	for _, id := range []string{"svc.smb-signing-not-required", "svc.smbv1-enabled", "svc.smb-null-session"} {
		e := env()
		e.Timeout = 200 * time.Millisecond
		rs, err := find(id).Run(context.Background(), e, target(web, ""))
		if err != nil || len(rs) != 0 {
			t.Errorf("%s on HTTP: %+v %v", id, rs, err)
		}
	}
}

// negotiateResponse builds an SMB2 NEGOTIATE response.
func negotiateResponse(mode, dialect uint16) []byte {
	h := make([]byte, 64)
	copy(h, "\xfeSMB")
	binary.LittleEndian.PutUint16(h[4:], 64)
	binary.LittleEndian.PutUint32(h[16:], 1)
	b := make([]byte, 64)
	binary.LittleEndian.PutUint16(b, 65)
	binary.LittleEndian.PutUint16(b[2:], mode)
	binary.LittleEndian.PutUint16(b[4:], dialect)
	binary.LittleEndian.PutUint16(b[56:], 128)
	binary.LittleEndian.PutUint16(b[58:], 2)
	return append(append(h, b...), 0x60, 0x00)
}

func TestParseSMB(t *testing.T) {
	r, err := ParseSMB2Negotiate(negotiateResponse(3, 0x0302))
	if err != nil || !r.SigningRequired() || r.Dialect != 0x0302 || len(r.SecurityBlob) != 2 {
		t.Fatalf("%+v %v", r, err)
	}
	if _, err := ParseSMB2Negotiate([]byte("HTTP/1.1 400 Bad Request\r\n\r\n" + strings.Repeat(" ", 80))); err == nil {
		t.Fatal("HTTP accepted")
	}
	smb1 := make([]byte, 37)
	copy(smb1, "\xffSMB\x72")
	smb1[32] = 1
	if r, err := ParseSMB1Negotiate(smb1); err != nil || r.DialectIndex != 0 {
		t.Fatalf("%+v %v", r, err)
	}
}

func FuzzParseSMB(f *testing.F) {
	f.Add(negotiateResponse(1, 0x0210))
	f.Add(append([]byte("\xffSMB\x72"), make([]byte, 40)...))
	f.Add(append([]byte{5, 0, 2, 3, 0x10, 0, 0, 0, 40, 0, 0, 0}, make([]byte, 28)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseSMB2Negotiate(b)
		_, _ = ParseSMB1Negotiate(b)
		shares, _ := ParseShareEnum(b)
		if len(shares) > 1024 {
			t.Fatal("too many shares")
		}
	})
}
