package svc

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
)

// A check keyed to a port must not fire on another service. The
// fingerprint decides first: a service it names is checked only by the
// checks for that service (an HTTP server on 5432 is "http", and the
// database check does not apply). The port list is a fallback for ports
// the fingerprint could not name ("unknown", no fingerprint at all); there
// the exposure checks, which otherwise report from the fingerprint alone,
// first make the port speak its protocol (confirm) and stay silent when it
// does not.

// identified reports whether the fingerprint named the service.
func identified(t check.Target) bool {
	svc := strings.ToLower(strings.TrimSpace(t.Service))
	return svc != "" && svc != "unknown" && svc != "tcpwrapped"
}

// confirmer makes a connection speak one protocol and says what proved it
// ("" when the reply is not that protocol).
type confirmer func(ctx context.Context, env *check.Env, t check.Target) (proof string, err error)

// confirmByPort picks the protocol a port-only target must speak.
func confirmByPort(port uint16) confirmer {
	switch port {
	case 3306:
		return confirmMySQL
	case 5432:
		return confirmPostgres
	case 1433:
		return confirmMSSQL
	case 3389:
		return confirmRDP
	case 445:
		return confirmSMB
	case 139:
		return confirmNetBIOS
	case 23:
		return confirmTelnet
	}
	return nil
}

// exchange sends req (when not empty) and reads one reply of at most n
// bytes; an empty reply is not an error (the protocol did not answer).
func exchange(ctx context.Context, env *check.Env, t check.Target, req []byte, n int) ([]byte, error) {
	c, err := conn(ctx, env, t)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	if len(req) > 0 {
		if _, err := c.Write(req); err != nil {
			return nil, nil
		}
	}
	reply, _ := readSome(c, n)
	return reply, nil
}

// confirmMySQL reads the server-first handshake: a packet whose payload
// starts with protocol 10 (or 9), or an error packet (0xff) such as "Host
// is not allowed to connect".
func confirmMySQL(ctx context.Context, env *check.Env, t check.Target) (string, error) {
	b, err := exchange(ctx, env, t, nil, 1024)
	if err != nil || len(b) < 5 {
		return "", err
	}
	n := int(b[0]) | int(b[1])<<8 | int(b[2])<<16
	if n == 0 || n > 1<<16 || b[3] > 1 {
		return "", nil
	}
	switch b[4] {
	case 10, 9:
		return "MySQL handshake (protocol " + fmt.Sprint(b[4]) + ")", nil
	case 0xff:
		return "MySQL error packet", nil
	}
	return "", nil
}

// pgSSLRequest is PostgreSQL's SSLRequest message.
var pgSSLRequest = []byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}

// confirmPostgres sends an SSLRequest: PostgreSQL answers one byte, 'S' or
// 'N', or an ErrorResponse ('E') when it is old or refuses.
func confirmPostgres(ctx context.Context, env *check.Env, t check.Target) (string, error) {
	b, err := exchange(ctx, env, t, pgSSLRequest, 512)
	if err != nil || len(b) == 0 {
		return "", err
	}
	switch {
	case len(b) == 1 && (b[0] == 'S' || b[0] == 'N'):
		return fmt.Sprintf("PostgreSQL answered an SSLRequest with %q", b[0]), nil
	case b[0] == 'E' && len(b) >= 5:
		n := binary.BigEndian.Uint32(b[1:5])
		if n >= 4 && n < 1<<16 && bytes.Contains(b, []byte{0, 'S'}) {
			return "PostgreSQL ErrorResponse to an SSLRequest", nil
		}
	}
	return "", nil
}

// mssqlPrelogin is a TDS PRELOGIN with a VERSION option only.
var mssqlPrelogin = []byte{
	0x12, 0x01, 0x00, 0x14, 0x00, 0x00, 0x01, 0x00, // header: PRELOGIN, EOM, length 20
	0x00, 0x00, 0x06, 0x00, 0x06, 0xff, // VERSION at 6, 6 bytes; terminator
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // version 0.0.0.0, subbuild 0
}

// confirmMSSQL sends a PRELOGIN: SQL Server answers a tabular-result
// packet (type 4).
func confirmMSSQL(ctx context.Context, env *check.Env, t check.Target) (string, error) {
	b, err := exchange(ctx, env, t, mssqlPrelogin, 1024)
	if err != nil || len(b) < 8 {
		return "", err
	}
	if b[0] == 0x04 && b[1]&0x01 == 1 && int(binary.BigEndian.Uint16(b[2:4])) >= 8 {
		return "TDS PRELOGIN response", nil
	}
	return "", nil
}

// rdpConnectionRequest is an X.224 Connection Request with an RDP
// negotiation request for TLS and CredSSP.
var rdpConnectionRequest = []byte{
	0x03, 0x00, 0x00, 0x13, // TPKT, length 19
	0x0e, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, // X.224 CR
	0x01, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00, // RDP_NEG_REQ: TLS | CredSSP
}

// confirmRDP sends an X.224 Connection Request: an RDP server answers a
// TPKT carrying a Connection Confirm (0xd0).
func confirmRDP(ctx context.Context, env *check.Env, t check.Target) (string, error) {
	b, err := exchange(ctx, env, t, rdpConnectionRequest, 512)
	if err != nil || len(b) < 6 {
		return "", err
	}
	if b[0] == 0x03 && b[1] == 0x00 && b[5]&0xf0 == 0xd0 {
		return "X.224 Connection Confirm", nil
	}
	return "", nil
}

// smb2Negotiate is an SMB2 NEGOTIATE offering dialect 2.0.2, in a NetBIOS
// session message.
var smb2Negotiate = func() []byte {
	h := make([]byte, 64)
	copy(h, "\xfeSMB")
	h[4] = 64 // structure size
	// command 0 (NEGOTIATE), everything else zero
	body := []byte{0x24, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}
	body = append(body, make([]byte, 16+8)...) // client GUID, start time
	body = append(body, 0x02, 0x02)            // dialect 0x0202
	msg := append(h, body...)
	return append([]byte{0, 0, byte(len(msg) >> 8), byte(len(msg))}, msg...)
}

// confirmSMB sends an SMB2 NEGOTIATE: an SMB server answers with an SMB2
// (or SMB1) header.
func confirmSMB(ctx context.Context, env *check.Env, t check.Target) (string, error) {
	b, err := exchange(ctx, env, t, smb2Negotiate(), 4096)
	if err != nil || len(b) < 8 {
		return "", err
	}
	if b[0] == 0 && (bytes.Equal(b[4:8], []byte("\xfeSMB")) || bytes.Equal(b[4:8], []byte("\xffSMB"))) {
		return "SMB NEGOTIATE response", nil
	}
	return "", nil
}

// confirmNetBIOS sends a NetBIOS session request to *SMBSERVER: the
// session service answers positively (0x82) or negatively (0x83).
func confirmNetBIOS(ctx context.Context, env *check.Env, t check.Target) (string, error) {
	name := func(s string) []byte {
		s = (s + strings.Repeat(" ", 16))[:16]
		out := []byte{32}
		for i := 0; i < 16; i++ {
			out = append(out, 'A'+s[i]>>4, 'A'+s[i]&0x0f)
		}
		return append(out, 0)
	}
	body := append(name("*SMBSERVER"), name("RAMPART")...)
	req := append([]byte{0x81, 0, 0, byte(len(body))}, body...)
	b, err := exchange(ctx, env, t, req, 64)
	if err != nil || len(b) < 4 {
		return "", err
	}
	if (b[0] == 0x82 || b[0] == 0x83) && b[1] == 0 {
		return fmt.Sprintf("NetBIOS session response 0x%02x", b[0]), nil
	}
	return "", nil
}

// confirmTelnet reads what the server sends first: telnet option
// negotiation (IAC), or a login prompt.
func confirmTelnet(ctx context.Context, env *check.Env, t check.Target) (string, error) {
	b, err := exchange(ctx, env, t, nil, 1024)
	if err != nil || len(b) == 0 {
		return "", err
	}
	if b[0] == 0xff && len(b) >= 3 && b[1] >= 251 && b[1] <= 254 {
		return "telnet option negotiation", nil
	}
	low := strings.ToLower(string(b))
	if strings.HasPrefix(low, "http/") || strings.HasPrefix(low, "ssh-") {
		return "", nil
	}
	for _, w := range []string{"login:", "username:", "user name:", "password:"} {
		if strings.Contains(low, w) {
			return "a login prompt", nil
		}
	}
	return "", nil
}

// guarded wraps a run function of a check that reports from the
// fingerprint alone: on a target it applies to only by port, the port
// must first speak the protocol.
func guarded(run func(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error)) func(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	return func(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
		if identified(t) {
			return run(ctx, env, t, m)
		}
		confirm := confirmByPort(t.Addr.Port())
		if confirm == nil {
			return nil, nil
		}
		proof, err := confirm(ctx, env, t)
		if err != nil || proof == "" {
			return nil, err
		}
		res, err := run(ctx, env, t, m)
		for i := range res {
			if res[i].Evidence.Fields == nil {
				res[i].Evidence.Fields = map[string]string{}
			}
			res[i].Evidence.Fields["confirmed_by"] = proof
		}
		return res, err
	}
}
