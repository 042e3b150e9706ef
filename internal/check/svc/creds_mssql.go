package svc

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"unicode/utf16"

	"github.com/rampart-cert/rampart/internal/check"
)

// ---- Microsoft SQL Server (TDS 7.x, MS-TDS) ----
//
// One attempt is one connection: PRELOGIN (our version, encryption
// "off", which means "I can encrypt the login"), the server's PRELOGIN
// answer, a TLS handshake carried in TDS PRELOGIN packets when the two
// agree on encryption, then LOGIN7 with SQL authentication and the
// server's answer: a LOGINACK token is a login, ERROR 18456 a refusal.
// Nothing is queried; the connection is closed after the answer.

// TDS packet types and the status bit that ends a message.
const (
	tdsTypeReply    = 0x04 // tabular result: every server answer
	tdsTypeLogin7   = 0x10
	tdsTypePrelogin = 0x12 // PRELOGIN, and the TLS handshake inside it
	tdsStatusEOM    = 0x01

	tdsHeaderLen = 8
	// tdsPacketSize is the packet size we send in and announce in LOGIN7.
	tdsPacketSize = 4096
	// tdsMaxPacket is the largest packet length the header allows
	// servers to use (MS-TDS: 32767 at most).
	tdsMaxPacket = 32767
)

// PRELOGIN option tokens and encryption values (MS-TDS 2.2.6.5).
const (
	preloginVersion    = 0x00
	preloginEncryption = 0x01
	preloginInstance   = 0x02
	preloginThreadID   = 0x03
	preloginMARS       = 0x04
	preloginTerminator = 0xff

	EncryptOff    = 0x00 // the login packet only
	EncryptOn     = 0x01 // the whole session
	EncryptNotSup = 0x02 // no encryption at all
	EncryptReq    = 0x03 // the whole session, required
)

// Token types of a login answer (MS-TDS 2.2.7).
const (
	tokenLoginAck      = 0xad
	tokenError         = 0xaa
	tokenInfo          = 0xab
	tokenEnvChange     = 0xe3
	tokenFeatureExtAck = 0xae
	tokenSSPI          = 0xed
	tokenFedAuthInfo   = 0xee
	tokenSessionState  = 0xe4
	tokenDone          = 0xfd
	tokenDoneProc      = 0xfe
	tokenDoneInProc    = 0xff
)

// mssqlLoginFailed is the error number SQL Server answers every refused
// SQL login with (the reason stays in the server's log).
const mssqlLoginFailed = 18456

// errTDS is a reply that is not the TDS exchange expected.
var errTDS = errors.New("svc: mssql: not a TDS reply")

// writeTDS sends payload as one message of type typ, in packets of at
// most tdsPacketSize bytes.
func writeTDS(w io.Writer, typ byte, payload []byte) error {
	id := byte(1)
	for {
		n := min(len(payload), tdsPacketSize-tdsHeaderLen)
		status := byte(0)
		if n == len(payload) {
			status = tdsStatusEOM
		}
		pkt := make([]byte, tdsHeaderLen, tdsHeaderLen+n)
		pkt[0], pkt[1] = typ, status
		binary.BigEndian.PutUint16(pkt[2:], uint16(tdsHeaderLen+n))
		pkt[6] = id
		if _, err := w.Write(append(pkt, payload[:n]...)); err != nil {
			return err
		}
		payload = payload[n:]
		id++
		if status == tdsStatusEOM {
			return nil
		}
	}
}

// readTDSPacket reads one packet: its type, status and payload. want,
// when not zero, is the only type accepted; it is checked before the
// payload is read, so that another protocol's bytes are told at once.
func readTDSPacket(r io.Reader, want byte) (typ, status byte, payload []byte, err error) {
	var hdr [tdsHeaderLen]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, 0, nil, err
	}
	n := int(binary.BigEndian.Uint16(hdr[2:]))
	switch {
	case want != 0 && hdr[0] != want:
		return 0, 0, nil, fmt.Errorf("%w: packet type 0x%02x", errTDS, hdr[0])
	case hdr[1]&^0x1f != 0: // EOM, ignore, reset connection (and skip tran) only
		return 0, 0, nil, fmt.Errorf("%w: packet status 0x%02x", errTDS, hdr[1])
	case n < tdsHeaderLen || n > tdsMaxPacket:
		return 0, 0, nil, fmt.Errorf("%w: packet length %d", errTDS, n)
	}
	payload = make([]byte, n-tdsHeaderLen)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, 0, nil, err
	}
	return hdr[0], hdr[1], payload, nil
}

// ReadTDSMessage reads packets of type want up to the one marked end of
// message, at most maxReply bytes of payload in all.
func ReadTDSMessage(r io.Reader, want byte) ([]byte, error) {
	var payload []byte
	for n := 0; ; n++ {
		_, status, p, err := readTDSPacket(r, want)
		if err != nil {
			return nil, err
		}
		if len(payload)+len(p) > maxReply || n >= maxReply/tdsHeaderLen {
			return nil, fmt.Errorf("%w: message over %d bytes", errTDS, maxReply)
		}
		payload = append(payload, p...)
		if status&tdsStatusEOM != 0 {
			return payload, nil
		}
	}
}

// TDSPrelogin is what a PRELOGIN message says.
type TDSPrelogin struct {
	Version    string // major.minor.build.subbuild
	Encryption byte
	// HasEncryption tells whether the ENCRYPTION option was there.
	HasEncryption bool
	// VersionFirst tells whether VERSION was the first option, as the
	// specification asks of clients.
	VersionFirst bool
}

// ParseTDSPrelogin reads a PRELOGIN payload: an option table (token,
// offset and length, big endian) ended by 0xff, then the options' data.
func ParseTDSPrelogin(p []byte) (TDSPrelogin, error) {
	var out TDSPrelogin
	for i := 0; ; i++ {
		at := i * 5
		if at >= len(p) {
			return out, fmt.Errorf("%w: prelogin option table without terminator", errTDS)
		}
		if p[at] == preloginTerminator {
			break
		}
		if at+5 > len(p) || i >= 32 {
			return out, fmt.Errorf("%w: prelogin option table", errTDS)
		}
		tok := p[at]
		off, n := int(binary.BigEndian.Uint16(p[at+1:])), int(binary.BigEndian.Uint16(p[at+3:]))
		if off+n > len(p) {
			return out, fmt.Errorf("%w: prelogin option %d out of range", errTDS, tok)
		}
		data := p[off : off+n]
		switch tok {
		case preloginVersion:
			if n < 6 {
				return out, fmt.Errorf("%w: prelogin version of %d bytes", errTDS, n)
			}
			out.Version = fmt.Sprintf("%d.%d.%d.%d", data[0], data[1], binary.BigEndian.Uint16(data[2:]), binary.BigEndian.Uint16(data[4:]))
			out.VersionFirst = i == 0
		case preloginEncryption:
			if n < 1 {
				return out, fmt.Errorf("%w: prelogin encryption of no bytes", errTDS)
			}
			out.Encryption, out.HasEncryption = data[0], true
		}
	}
	if out.Version == "" {
		return out, fmt.Errorf("%w: prelogin without version", errTDS)
	}
	return out, nil
}

// buildPrelogin is a PRELOGIN payload: version, encryption, instance
// (none: the default one), thread id and MARS off.
func buildPrelogin(version [6]byte, encryption byte) []byte {
	opts := []struct {
		tok  byte
		data []byte
	}{
		{preloginVersion, version[:]},
		{preloginEncryption, []byte{encryption}},
		{preloginInstance, []byte{0}},
		{preloginThreadID, []byte{0, 0, 0, 0}},
		{preloginMARS, []byte{0}},
	}
	off := len(opts)*5 + 1
	var table, data []byte
	for _, o := range opts {
		table = append(table, o.tok)
		table = binary.BigEndian.AppendUint16(table, uint16(off+len(data)))
		table = binary.BigEndian.AppendUint16(table, uint16(len(o.data)))
		data = append(data, o.data...)
	}
	return append(append(table, preloginTerminator), data...)
}

// tdsTLSConn carries a TLS handshake in TDS PRELOGIN packets, as TDS 7.x
// asks: what TLS writes is kept and sent as one PRELOGIN message when it
// next reads (or when the handshake ends), what it reads comes out of
// PRELOGIN packets. Once handshaken, TLS records go on the wire as they
// are. Both sides of the handshake use it (the server in the tests).
type tdsTLSConn struct {
	net.Conn
	raw     bool
	out     []byte
	in      []byte
	readLen int // handshake bytes read, capped
}

// maxHandshake caps what the TLS handshake may read (certificate chains
// included).
const maxHandshake = 256 << 10

func (c *tdsTLSConn) flush() error {
	if len(c.out) == 0 {
		return nil
	}
	out := c.out
	c.out = nil
	return writeTDS(c.Conn, tdsTypePrelogin, out)
}

func (c *tdsTLSConn) Read(b []byte) (int, error) {
	if c.raw {
		return c.Conn.Read(b)
	}
	if err := c.flush(); err != nil {
		return 0, err
	}
	for len(c.in) == 0 {
		// SQL Server answers the handshake in PRELOGIN packets; some
		// versions mark them as replies.
		typ, _, p, err := readTDSPacket(c.Conn, 0)
		if err != nil {
			return 0, err
		}
		if typ != tdsTypePrelogin && typ != tdsTypeReply {
			return 0, fmt.Errorf("%w: packet type 0x%02x during the TLS handshake", errTDS, typ)
		}
		if c.readLen += tdsHeaderLen + len(p); c.readLen > maxHandshake {
			return 0, fmt.Errorf("%w: TLS handshake over %d bytes", errTDS, maxHandshake)
		}
		c.in = p
	}
	n := copy(b, c.in)
	c.in = c.in[n:]
	return n, nil
}

func (c *tdsTLSConn) Write(b []byte) (int, error) {
	if c.raw {
		return c.Conn.Write(b)
	}
	if len(c.out)+len(b) > maxHandshake {
		return 0, errors.New("svc: mssql: TLS handshake too large")
	}
	c.out = append(c.out, b...)
	return len(b), nil
}

// handshaken sends what the handshake left to send and lets TLS records
// through unframed from now on.
func (c *tdsTLSConn) handshaken() error {
	err := c.flush()
	c.raw = true
	if len(c.in) != 0 {
		return fmt.Errorf("%w: data after the TLS handshake", errTDS)
	}
	return err
}

// mssqlTLS is the client's TLS: any certificate (the check judges the
// login, not the certificate), TLS 1.0 to 1.2 (TDS 7.x carries no TLS 1.3
// handshake), and the RSA key exchange old servers still need.
func mssqlTLS(serverName string) *tls.Config {
	cfg := insecureTLS()
	cfg.MaxVersion = tls.VersionTLS12
	cfg.ServerName = serverName
	for _, s := range tls.CipherSuites() {
		cfg.CipherSuites = append(cfg.CipherSuites, s.ID)
	}
	cfg.CipherSuites = append(cfg.CipherSuites, tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_256_CBC_SHA)
	return cfg
}

// utf16LE encodes s as UCS-2/UTF-16 little endian, as TDS strings are.
func utf16LE(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

// obfuscateTDSPassword is LOGIN7's password encoding (MS-TDS 2.2.6.4):
// each byte of the UTF-16 password has its nibbles swapped, then is
// XORed with 0xA5. It hides nothing; TLS is what protects it.
func obfuscateTDSPassword(password string) []byte {
	b := utf16LE(password)
	for i, c := range b {
		b[i] = (c<<4 | c>>4) ^ 0xa5
	}
	return b
}

// login7 is the fields of a LOGIN7 record the check fills.
type login7 struct {
	Host, User, Password, App, Server, Library string
}

// tdsVersion74 is TDS 7.4 as LOGIN7 writes it (little endian).
const tdsVersion74 = 0x74000004

// buildLogin7 is a LOGIN7 record for SQL authentication: the 94-byte
// fixed part (TDS 7.2 and later), then the strings it points at.
func buildLogin7(l login7) []byte {
	const fixed = 94
	fix := make([]byte, 0, fixed)
	fix = binary.LittleEndian.AppendUint32(fix, 0) // length, set below
	fix = binary.LittleEndian.AppendUint32(fix, tdsVersion74)
	fix = binary.LittleEndian.AppendUint32(fix, tdsPacketSize)
	fix = binary.LittleEndian.AppendUint32(fix, 0x07000000) // client program version
	fix = binary.LittleEndian.AppendUint32(fix, 0)          // client process id
	fix = binary.LittleEndian.AppendUint32(fix, 0)          // connection id
	// OptionFlags1: USE_DB_ON, INIT_DB_FATAL, SET_LANG_ON; OptionFlags2:
	// INIT_LANG_FATAL, ODBC_ON; TypeFlags and OptionFlags3 zero.
	fix = append(fix, 0xe0, 0x03, 0x00, 0x00)
	fix = binary.LittleEndian.AppendUint32(fix, 0)     // time zone
	fix = binary.LittleEndian.AppendUint32(fix, 0x409) // LCID en-US
	var data []byte
	field := func(b []byte, chars int) {
		fix = binary.LittleEndian.AppendUint16(fix, uint16(fixed+len(data)))
		fix = binary.LittleEndian.AppendUint16(fix, uint16(chars))
		data = append(data, b...)
	}
	str := func(s string) { b := utf16LE(s); field(b, len(b)/2) }
	str(l.Host)
	str(l.User)
	pw := obfuscateTDSPassword(l.Password)
	field(pw, len(pw)/2)
	str(l.App)
	str(l.Server)
	field(nil, 0) // extension: none
	str(l.Library)
	str("")                                        // language: the login's default
	str("")                                        // database: the login's default
	fix = append(fix, 0, 0, 0, 0, 0, 0)            // client id (MAC address): none
	field(nil, 0)                                  // SSPI: none
	field(nil, 0)                                  // file to attach: none
	field(nil, 0)                                  // new password: none
	fix = binary.LittleEndian.AppendUint32(fix, 0) // long SSPI length
	out := append(fix, data...)
	binary.LittleEndian.PutUint32(out, uint32(len(out)))
	return out
}

// TDSError is an ERROR (or INFO) token.
type TDSError struct {
	Number       uint32
	State, Class byte
	Message      string
}

// TDSLoginReply is what the server answered a LOGIN7 with.
type TDSLoginReply struct {
	LoginAck bool
	// Program and Version come from the LOGINACK token.
	Program, Version string
	Errors           []TDSError
}

// Refused tells an answer that is only "login failed" (18456).
func (r TDSLoginReply) Refused() bool {
	if r.LoginAck || len(r.Errors) == 0 {
		return false
	}
	for _, e := range r.Errors {
		if e.Number != mssqlLoginFailed {
			return false
		}
	}
	return true
}

// tdsReader walks a token stream without reading past its end.
type tdsReader struct {
	b   []byte
	bad bool
}

func (r *tdsReader) take(n int) []byte {
	if r.bad || n < 0 || n > len(r.b) {
		r.bad = true
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *tdsReader) u8() byte {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *tdsReader) u16() int {
	if b := r.take(2); b != nil {
		return int(binary.LittleEndian.Uint16(b))
	}
	return 0
}

func (r *tdsReader) u32() uint32 {
	if b := r.take(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

// ucs2 decodes n UTF-16 code units.
func (r *tdsReader) ucs2(n int) string {
	b := r.take(2 * n)
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// ParseTDSLoginReply reads the tokens of the answer to LOGIN7: LOGINACK,
// ERROR and INFO are kept; ENVCHANGE, FEATUREEXTACK, SSPI, FEDAUTHINFO,
// SESSIONSTATE and DONE are stepped over. A token it does not know ends
// the reading with an error, keeping what came before it.
func ParseTDSLoginReply(p []byte) (TDSLoginReply, error) {
	var out TDSLoginReply
	r := &tdsReader{b: p}
	for len(r.b) > 0 && !r.bad {
		switch tok := r.u8(); tok {
		case tokenLoginAck:
			body := &tdsReader{b: r.take(r.u16())}
			body.take(1) // interface
			body.take(4) // TDS version
			out.Program = body.ucs2(int(body.u8()))
			v := body.take(4)
			if body.bad || r.bad {
				return out, fmt.Errorf("%w: LOGINACK cut", errTDS)
			}
			out.LoginAck = true
			out.Version = fmt.Sprintf("%d.%d.%d", v[0], v[1], int(v[2])<<8|int(v[3]))
		case tokenError, tokenInfo:
			body := &tdsReader{b: r.take(r.u16())}
			e := TDSError{Number: body.u32(), State: body.u8(), Class: body.u8()}
			e.Message = body.ucs2(body.u16())
			if body.bad || r.bad {
				return out, fmt.Errorf("%w: ERROR token cut", errTDS)
			}
			if tok == tokenError && len(out.Errors) < 8 {
				out.Errors = append(out.Errors, e)
			}
		case tokenEnvChange, tokenSSPI:
			r.take(r.u16())
		case tokenFedAuthInfo, tokenSessionState:
			r.take(int(min(r.u32(), uint32(len(r.b)+1))))
		case tokenFeatureExtAck:
			for !r.bad {
				if r.u8() == 0xff {
					break
				}
				r.take(int(min(r.u32(), uint32(len(r.b)+1))))
			}
		case tokenDone, tokenDoneProc, tokenDoneInProc:
			// status, current command, row count: 8 bytes before TDS
			// 7.2, 12 since.
			r.take(min(12, len(r.b)))
		default:
			return out, fmt.Errorf("%w: token 0x%02x", errTDS, tok)
		}
	}
	if r.bad {
		return out, fmt.Errorf("%w: token stream cut", errTDS)
	}
	return out, nil
}

// encryptionText says what the PRELOGIN agreement protects.
func encryptionText(server byte) string {
	switch server {
	case EncryptOff:
		return "login packet only (TLS inside PRELOGIN)"
	case EncryptOn, EncryptReq:
		return "whole session (TLS inside PRELOGIN)"
	}
	return "none (the server does not support encryption)"
}

// mssqlAttempt is the outcome of one login.
type mssqlAttempt struct {
	reply    TDSLoginReply
	prelogin TDSPrelogin
	// noPrelogin: no PRELOGIN answer came (silence, a close, or bytes
	// that are not TDS).
	noPrelogin bool
	encryption string
}

// mssqlLogin runs one PRELOGIN, TLS and LOGIN7 exchange on a connection
// of its own.
func mssqlLogin(ctx context.Context, env *check.Env, t check.Target, user, password string) (mssqlAttempt, error) {
	var a mssqlAttempt
	c, err := conn(ctx, env, t)
	if err != nil {
		return a, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()

	if err := writeTDS(c, tdsTypePrelogin, buildPrelogin([6]byte{}, EncryptOff)); err != nil {
		return a, fmt.Errorf("prelogin: %w", err)
	}
	rawIn := bufio.NewReader(c)
	p, err := ReadTDSMessage(rawIn, tdsTypeReply)
	if err != nil {
		a.noPrelogin = true
		return a, fmt.Errorf("prelogin answer: %w", err)
	}
	if a.prelogin, err = ParseTDSPrelogin(p); err != nil {
		a.noPrelogin = true
		return a, fmt.Errorf("prelogin answer: %w", err)
	}
	enc := a.prelogin.Encryption
	if !a.prelogin.HasEncryption {
		enc = EncryptNotSup
	}
	if enc&0x80 != 0 || enc > EncryptReq {
		return a, fmt.Errorf("prelogin answer: %w: encryption 0x%02x (client certificate or unknown)", errTDS, enc)
	}
	a.encryption = encryptionText(enc)

	login := buildLogin7(login7{Host: "rampart", User: user, Password: password, App: "rampart-scan",
		Server: t.Addr.Addr().String(), Library: "rampart"})
	var in io.Reader = rawIn
	if enc == EncryptNotSup {
		if err := writeTDS(c, tdsTypeLogin7, login); err != nil {
			return a, fmt.Errorf("login7: %w", err)
		}
	} else {
		if rawIn.Buffered() > 0 {
			return a, fmt.Errorf("prelogin answer: %w: data after it", errTDS)
		}
		framed := &tdsTLSConn{Conn: c}
		host := t.Host
		if host == "" {
			host = t.Addr.Addr().String()
		}
		tc := tls.Client(framed, mssqlTLS(host))
		if err := tc.HandshakeContext(ctx); err != nil {
			return a, fmt.Errorf("tls handshake in prelogin: %w", err)
		}
		if err := framed.handshaken(); err != nil {
			return a, fmt.Errorf("tls handshake in prelogin: %w", err)
		}
		if err := writeTDS(tc, tdsTypeLogin7, login); err != nil {
			return a, fmt.Errorf("login7: %w", err)
		}
		if enc == EncryptOff {
			in = c // the login packet only: the answer comes in clear
		} else {
			in = tc
		}
	}
	p, err = ReadTDSMessage(io.LimitReader(in, 2*maxReply), tdsTypeReply)
	if err != nil {
		return a, fmt.Errorf("login answer: %w", err)
	}
	a.reply, err = ParseTDSLoginReply(p)
	if err != nil && !a.reply.LoginAck {
		return a, fmt.Errorf("login answer: %w", err)
	}
	if !a.reply.LoginAck && len(a.reply.Errors) == 0 {
		return a, fmt.Errorf("login answer: %w: neither LOGINACK nor ERROR", errTDS)
	}
	return a, nil
}

// credMSSQL tries the shipped sa passwords. A target the fingerprint did
// not name (port 1433 only) that does not answer PRELOGIN in TDS (it
// stays silent, closes, or says something else, as an HTTP server does)
// is not SQL Server: no login is sent, and there is nothing to report. A
// server the fingerprint named SQL Server that does so, or that fails
// later in the exchange, is an error, not "no finding".
func credMSSQL(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	for i, cred := range credentialsFor("mssql") {
		a, err := mssqlLogin(ctx, env, t, cred.User, cred.Password)
		if err != nil {
			if i == 0 && a.noPrelogin && !identified(t) {
				return nil, nil
			}
			if errors.Is(err, check.ErrUnreachable) {
				return nil, err
			}
			return nil, fmt.Errorf("svc: mssql %s: %w", t.Addr, err)
		}
		if a.reply.LoginAck {
			return []check.Result{credResult(m, t, "mssql", cred.User, passwordKind(cred.Password), check.Evidence{
				Request:  fmt.Sprintf("TDS PRELOGIN, LOGIN7 with SQL authentication as %s", cred.User),
				Response: strings.TrimSpace("LOGINACK from " + a.reply.Program + " " + a.reply.Version),
				Fields:   map[string]string{"server_version": a.prelogin.Version, "encryption": a.encryption}})}, nil
		}
		if !a.reply.Refused() {
			// Locked, disabled, or an answer we do not read: no further
			// attempt, and nothing to report.
			return nil, nil
		}
	}
	return nil, nil
}
