package svc

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/rampart-cert/rampart/internal/check"
)

// ---- PostgreSQL (frontend/backend protocol 3.0) ----

// pgStartup is a StartupMessage for user on database postgres.
func pgStartup(user string) []byte {
	body := binary.BigEndian.AppendUint32(nil, 196608)
	for _, kv := range []string{"user", user, "database", "postgres", "application_name", "rampart-scan"} {
		body = append(append(body, kv...), 0)
	}
	body = append(body, 0)
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body)+4)), body...)
}

// PGMessage is one backend message.
type PGMessage struct {
	Type byte
	Body []byte
}

// ReadPGMessage reads one backend message of at most 64 KiB.
func ReadPGMessage(r io.Reader) (PGMessage, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return PGMessage{}, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n < 4 || n > maxReply {
		return PGMessage{}, fmt.Errorf("svc: postgresql: message %q of %d bytes", hdr[0], n)
	}
	body := make([]byte, n-4)
	if _, err := io.ReadFull(r, body); err != nil {
		return PGMessage{}, err
	}
	return PGMessage{Type: hdr[0], Body: body}, nil
}

func pgPassword(b []byte) []byte {
	return append(append([]byte{'p'}, binary.BigEndian.AppendUint32(nil, uint32(len(b)+4))...), b...)
}

// errPGRejected is a refused login.
var errPGRejected = errors.New("svc: postgresql: login refused")

// pgLogin tries user with password; trust is true when the server let us
// in without asking for a password. asked says whether a password was
// sent (an attempt that counts).
func pgLogin(ctx context.Context, env *check.Env, t check.Target, user, password string) (ok, trust, asked bool, err error) {
	c, err := conn(ctx, env, t)
	if err != nil {
		return false, false, false, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if _, err := c.Write(pgStartup(user)); err != nil {
		return false, false, false, nil
	}
	r := bufio.NewReader(io.LimitReader(c, maxReply))
	var scram *scramClient
	for range 10 {
		msg, err := ReadPGMessage(r)
		if err != nil {
			return false, false, asked, nil
		}
		if msg.Type == 'E' {
			return false, false, asked, nil
		}
		if msg.Type != 'R' || len(msg.Body) < 4 {
			return false, false, asked, nil
		}
		code := binary.BigEndian.Uint32(msg.Body)
		switch code {
		case 0: // AuthenticationOk
			_, _ = c.Write([]byte{'X', 0, 0, 0, 4}) // Terminate
			return true, !asked, asked, nil
		case 3: // cleartext
			if password == "" {
				return false, false, false, nil
			}
			asked = true
			_, _ = c.Write(pgPassword(append([]byte(password), 0)))
		case 5: // MD5 with a 4-byte salt
			if password == "" || len(msg.Body) < 8 {
				return false, false, false, nil
			}
			asked = true
			inner := md5.Sum([]byte(password + user))
			outer := md5.Sum(append([]byte(hex.EncodeToString(inner[:])), msg.Body[4:8]...))
			_, _ = c.Write(pgPassword(append([]byte("md5"+hex.EncodeToString(outer[:])), 0)))
		case 10: // SASL: mechanisms
			if password == "" || !strings.Contains(string(msg.Body[4:]), "SCRAM-SHA-256\x00") {
				return false, false, false, nil
			}
			asked = true
			scram = newSCRAM(password)
			first := scram.first()
			b := append([]byte("SCRAM-SHA-256\x00"), binary.BigEndian.AppendUint32(nil, uint32(len(first)))...)
			_, _ = c.Write(pgPassword(append(b, first...)))
		case 11: // SASL continue: server-first
			if scram == nil {
				return false, false, asked, nil
			}
			final, err := scram.final(string(msg.Body[4:]))
			if err != nil {
				return false, false, asked, nil
			}
			_, _ = c.Write(pgPassword([]byte(final)))
		case 12: // SASL final: the server's signature; Ok follows
		default:
			return false, false, asked, nil
		}
	}
	return false, false, asked, nil
}

// scramClient is the client side of SCRAM-SHA-256 (RFC 5802, RFC 7677)
// as PostgreSQL uses it (empty user name in the messages, no channel
// binding).
type scramClient struct {
	password, nonce, firstBare string
}

func newSCRAM(password string) *scramClient {
	var b [18]byte
	_, _ = rand.Read(b[:])
	return &scramClient{password: password, nonce: base64.StdEncoding.EncodeToString(b[:])}
}

func (s *scramClient) first() string {
	s.firstBare = "n=,r=" + s.nonce
	return "n,," + s.firstBare
}

// final answers the server-first message "r=...,s=...,i=...".
func (s *scramClient) final(serverFirst string) (string, error) {
	attrs := map[string]string{}
	for _, kv := range strings.Split(serverFirst, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			attrs[k] = v
		}
	}
	salt, err := base64.StdEncoding.DecodeString(attrs["s"])
	iter, ierr := strconv.Atoi(attrs["i"])
	if err != nil || ierr != nil || iter < 1 || iter > 1<<17 || // a hostile server must not make us spin
		!strings.HasPrefix(attrs["r"], s.nonce) {
		return "", errors.New("svc: scram: bad server-first message")
	}
	salted, err := pbkdf2.Key(sha256.New, s.password, salt, iter, 32)
	if err != nil {
		return "", err
	}
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	clientKey := mac(salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	withoutProof := "c=biws,r=" + attrs["r"]
	sig := mac(stored[:], s.firstBare+","+serverFirst+","+withoutProof)
	proof := make([]byte, len(clientKey))
	for i := range proof {
		proof[i] = clientKey[i] ^ sig[i]
	}
	return withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof), nil
}

func credPostgres(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	for _, cred := range credentialsFor("postgresql") {
		ok, trust, _, err := pgLogin(ctx, env, t, cred.User, cred.Password)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		how := passwordKind(cred.Password)
		if trust {
			how = loginTrust
		}
		return []check.Result{credResult(m, t, "postgresql", cred.User, how, check.Evidence{
			Request:  fmt.Sprintf("StartupMessage user=%s database=postgres, then the password exchange the server asked for", cred.User),
			Response: "AuthenticationOk, then Terminate"})}, nil
	}
	return nil, nil
}

// ---- MySQL and MariaDB ----

// MySQLHandshake is what the server's initial handshake tells.
type MySQLHandshake struct {
	Version string
	Salt    []byte
	Plugin  string
	Caps    uint32
}

// ParseMySQLHandshake reads a protocol 10 handshake packet payload.
func ParseMySQLHandshake(p []byte) (*MySQLHandshake, error) {
	if len(p) < 1 || p[0] != 10 {
		return nil, errors.New("svc: mysql: not a protocol 10 handshake")
	}
	nul := strings.IndexByte(string(p[1:]), 0)
	if nul < 0 || nul > 64 {
		return nil, errors.New("svc: mysql: server version")
	}
	h := &MySQLHandshake{Version: string(p[1 : 1+nul])}
	p = p[2+nul:]
	if len(p) < 4+8+1+2+1+2+2+1+10 {
		return nil, errors.New("svc: mysql: handshake cut")
	}
	salt := append([]byte(nil), p[4:12]...)
	capLow := binary.LittleEndian.Uint16(p[13:])
	capHigh := binary.LittleEndian.Uint16(p[18:])
	h.Caps = uint32(capLow) | uint32(capHigh)<<16
	authLen := int(p[20])
	rest := p[31:]
	if h.Caps&0x8000 != 0 { // secure connection: second part of the salt
		n := max(13, authLen-8)
		if n > len(rest) {
			n = len(rest)
		}
		salt = append(salt, strings.TrimRight(string(rest[:n]), "\x00")...)
		rest = rest[n:]
	}
	h.Salt = salt
	if h.Caps&0x00080000 != 0 { // plugin auth
		if i := strings.IndexByte(string(rest), 0); i >= 0 {
			h.Plugin = string(rest[:i])
		} else {
			h.Plugin = string(rest)
		}
	}
	return h, nil
}

func readMySQLPacket(r io.Reader) ([]byte, byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, 0, err
	}
	n := int(hdr[0]) | int(hdr[1])<<8 | int(hdr[2])<<16
	if n > maxReply {
		return nil, 0, errors.New("svc: mysql: packet too large")
	}
	p := make([]byte, n)
	_, err := io.ReadFull(r, p)
	return p, hdr[3], err
}

func writeMySQLPacket(c net.Conn, seq byte, p []byte) error {
	_, err := c.Write(append([]byte{byte(len(p)), byte(len(p) >> 8), byte(len(p) >> 16), seq}, p...))
	return err
}

// nativePassword is mysql_native_password's scramble (empty for an empty
// password).
func nativePassword(password string, salt []byte) []byte {
	if password == "" {
		return nil
	}
	h1 := sha1.Sum([]byte(password))
	h2 := sha1.Sum(h1[:])
	h3 := sha1.Sum(append(append([]byte(nil), salt...), h2[:]...))
	out := make([]byte, 20)
	for i := range out {
		out[i] = h1[i] ^ h3[i]
	}
	return out
}

// mysqlLogin logs in as user with password (mysql_native_password, the
// only plugin whose empty password is an empty answer), following one
// authentication switch.
func mysqlLogin(ctx context.Context, env *check.Env, t check.Target, user, password string) (bool, string, error) {
	c, err := conn(ctx, env, t)
	if err != nil {
		return false, "", err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	r := bufio.NewReader(io.LimitReader(c, maxReply))
	p, _, err := readMySQLPacket(r)
	if err != nil {
		return false, "", nil
	}
	hs, err := ParseMySQLHandshake(p)
	if err != nil {
		return false, "", nil
	}
	const caps = 0x00000200 | 0x00008000 | 0x00080000 | 0x00000001 // protocol 41, secure connection, plugin auth, long password
	resp := binary.LittleEndian.AppendUint32(nil, caps)
	resp = binary.LittleEndian.AppendUint32(resp, 1<<24)
	resp = append(resp, 33) // utf8_general_ci
	resp = append(resp, make([]byte, 23)...)
	resp = append(append(resp, user...), 0)
	auth := nativePassword(password, hs.Salt)
	resp = append(append(resp, byte(len(auth))), auth...)
	resp = append(append(resp, "mysql_native_password"...), 0)
	if err := writeMySQLPacket(c, 1, resp); err != nil {
		return false, hs.Version, nil
	}
	for seq := 0; seq < 3; seq++ {
		p, s, err := readMySQLPacket(r)
		if err != nil || len(p) == 0 {
			return false, hs.Version, nil
		}
		switch p[0] {
		case 0x00:
			_ = writeMySQLPacket(c, 0, []byte{0x01}) // COM_QUIT
			return true, hs.Version, nil
		case 0xfe: // authentication switch: plugin name, then new salt
			name, data, _ := strings.Cut(string(p[1:]), "\x00")
			if name != "mysql_native_password" {
				return false, hs.Version, nil
			}
			if err := writeMySQLPacket(c, s+1, nativePassword(password, []byte(strings.TrimRight(data, "\x00")))); err != nil {
				return false, hs.Version, nil
			}
		default:
			return false, hs.Version, nil
		}
	}
	return false, hs.Version, nil
}

func credMySQL(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	for _, cred := range credentialsFor("mysql") {
		ok, version, err := mysqlLogin(ctx, env, t, cred.User, cred.Password)
		if err != nil {
			return nil, err
		}
		if ok {
			return []check.Result{credResult(m, t, "mysql", cred.User, passwordKind(cred.Password), check.Evidence{
				Request:  fmt.Sprintf("HandshakeResponse41 user=%s, mysql_native_password", cred.User),
				Response: "OK packet, then COM_QUIT", Fields: map[string]string{"server_version": version}})}, nil
		}
	}
	return nil, nil
}
