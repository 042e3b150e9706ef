package mail

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/textproto"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/finding"
)

const (
	defaultTimeout = 5 * time.Second
	// maxSession caps the bytes read from one server over the whole
	// conversation; an honest one sends well under 4 KiB.
	maxSession = 64 << 10
)

// ErrRefused means the scope guard refused the server's address
// (Options.AllowAddr): nothing was sent to it.
var ErrRefused = errors.New("mail: server address refused by the scope")

// Options tune the family; pass them as env.Extra["mail"] (Options or
// *Options). The zero value is usable.
type Options struct {
	// AllowAddr, when set, is asked before connecting to a mail server's
	// address; the worker sets it from the job's scope, so a mail host
	// reached through a name outside the scope is never contacted.
	AllowAddr func(netip.Addr) bool
}

func options(env *check.Env) Options {
	switch o := env.Extra[Family].(type) {
	case Options:
		return o
	case *Options:
		if o != nil {
			return *o
		}
	}
	return Options{}
}

// Family is the check family name of this package.
const Family = "mail"

// Register adds the family's checks to r.
func Register(r *check.Registry) error { return r.Register(Checks()...) }

// Checks returns the checks of the family.
func Checks() []check.Check {
	return []check.Check{
		&starttls{}, // first: tests index it
		&domainCheck{meta: metaDKIMMissing, run: runDKIMMissing},
		&domainCheck{meta: metaDKIMWeakKey, run: runDKIMWeakKey},
		&domainCheck{meta: metaSTSInvalid, run: runSTSInvalid},
		&domainCheck{meta: metaSTSMissing, run: runSTSMissing},
		&domainCheck{meta: metaTLSRPTMissing, run: runTLSRPTMissing},
	}
}

// starttls is mail.starttls-missing.
type starttls struct{}

var _ check.Check = (*starttls)(nil)

func (*starttls) Meta() check.Meta { return metaSTARTTLS }

// Applies to plaintext SMTP services: relay (25) and submission (587).
// Implicit-TLS submission (465) is the TLS family's business.
func (*starttls) Applies(t check.Target) bool {
	if t.Kind != check.TargetService || !t.Addr.IsValid() || t.TLS {
		return false
	}
	switch strings.ToLower(t.Service) {
	case "smtp", "esmtp", "submission":
		return true
	case "":
		return t.Addr.Port() == 25 || t.Addr.Port() == 587
	}
	return false
}

// cappedConn fails reads once the session budget is spent.
type cappedConn struct {
	net.Conn
	left int64
}

func (c *cappedConn) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, ErrTooLarge
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.Conn.Read(p)
	c.left -= int64(n)
	return n, err
}

// session is one SMTP conversation with a transcript for evidence.
type session struct {
	conn       net.Conn
	r          *textproto.Reader
	timeout    time.Duration
	transcript strings.Builder
}

func newSession(conn net.Conn, budget int64, timeout time.Duration) *session {
	s := &session{conn: conn, timeout: timeout}
	s.r = textproto.NewReader(bufio.NewReader(&cappedConn{Conn: conn, left: budget}))
	return s
}

func (s *session) log(prefix, line string) {
	if s.transcript.Len() < check.MaxEvidence {
		s.transcript.WriteString(prefix + line + "\n")
	}
}

// read reads one reply, lines at a time, within the deadline.
func (s *session) read() (Reply, string, error) {
	_ = s.conn.SetReadDeadline(time.Now().Add(s.timeout))
	var raw strings.Builder
	for range maxReplyLines {
		line, err := s.r.ReadLine()
		if err != nil {
			return Reply{}, raw.String(), fmt.Errorf("mail: read reply: %w", err)
		}
		s.log("S: ", line)
		raw.WriteString(line + "\n")
		if len(line) < 4 || line[3] != '-' {
			r, err := ParseReply(raw.String())
			return r, raw.String(), err
		}
	}
	return Reply{}, raw.String(), fmt.Errorf("%w: more than %d lines", ErrReplySyntax, maxReplyLines)
}

func (s *session) send(cmd string) error {
	s.log("C: ", cmd)
	_ = s.conn.SetWriteDeadline(time.Now().Add(s.timeout))
	_, err := s.conn.Write([]byte(cmd + "\r\n"))
	if err != nil {
		return fmt.Errorf("mail: send %s: %w", strings.Fields(cmd)[0], err)
	}
	return nil
}

// heloName is our address as an SMTP address literal (RFC 5321 4.1.3).
func heloName(conn net.Conn) string {
	if ap, err := netip.ParseAddrPort(conn.LocalAddr().String()); err == nil {
		if a := ap.Addr().Unmap(); a.Is4() {
			return "[" + a.String() + "]"
		} else {
			return "[IPv6:" + a.WithZone("").String() + "]"
		}
	}
	return "[127.0.0.1]"
}

func (c *starttls) Run(ctx context.Context, env *check.Env, t check.Target) ([]check.Result, error) {
	timeout := env.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	budget := int64(maxSession)
	if env.MaxRead > 0 && env.MaxRead < budget {
		budget = env.MaxRead
	}
	dial := env.Dial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	addr := t.Addr.String()
	unreachable := func(err error) error {
		return fmt.Errorf("mail: smtp %s: %w: %w", addr, err, check.ErrUnreachable)
	}
	if allow := options(env).AllowAddr; allow != nil && !allow(t.Addr.Addr()) {
		return nil, fmt.Errorf("%w: %s", ErrRefused, addr)
	}

	dctx, cancel := context.WithTimeout(ctx, timeout)
	conn, err := dial(dctx, "tcp", addr)
	cancel()
	if err != nil {
		return nil, unreachable(err)
	}
	defer conn.Close()
	// Cancelling ctx aborts whatever read or write is in progress.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	s := newSession(conn, budget, timeout)
	greet, _, err := s.read()
	if err != nil {
		return nil, unreachable(err)
	}
	if greet.Code != 220 {
		// 554 and friends: the server will not talk to us, so we cannot
		// tell whether it offers STARTTLS.
		return nil, unreachable(fmt.Errorf("greeting %d", greet.Code))
	}
	fire := func(title string, fields ...string) []check.Result {
		ev := check.Evidence{Request: "EHLO, STARTTLS", Response: check.Cap(s.transcript.String()), Fields: map[string]string{"server": addr}}
		for i := 0; i+1 < len(fields); i += 2 {
			ev.Fields[fields[i]] = check.Cap(fields[i+1])
		}
		return []check.Result{{Check: metaSTARTTLS.ID, Severity: finding.Medium, Title: title, Evidence: ev}}
	}
	name := t.String()

	if err := s.send("EHLO " + heloName(conn)); err != nil {
		return nil, unreachable(err)
	}
	reply, raw, err := s.read()
	if err != nil {
		return nil, unreachable(err)
	}
	if reply.Code != 250 {
		_ = s.send("QUIT")
		return fire(fmt.Sprintf("SMTP server %s refuses EHLO (%d), so it cannot offer STARTTLS", name, reply.Code), "ehlo_code", fmt.Sprint(reply.Code)), nil
	}
	ehlo, err := ehloFrom(reply)
	if err != nil {
		return nil, unreachable(err)
	}
	if !ehlo.Has("STARTTLS") {
		_ = s.send("QUIT")
		return fire(fmt.Sprintf("SMTP server %s does not offer STARTTLS: mail to and from it crosses the network in clear text", name), "ehlo", raw), nil
	}
	if err := s.send("STARTTLS"); err != nil {
		return nil, unreachable(err)
	}
	reply, _, err = s.read()
	if err != nil {
		return nil, unreachable(err)
	}
	if reply.Code != 220 {
		_ = s.send("QUIT")
		return fire(fmt.Sprintf("SMTP server %s advertises STARTTLS but refuses it (%d)", name, reply.Code), "starttls_code", fmt.Sprint(reply.Code)), nil
	}
	// Anything the server sent after 220 is still in our buffer and is
	// dropped with it: the TLS session starts clean (no command
	// injection, CVE-2011-0411 class).
	tc := tls.Client(conn, &tls.Config{
		// Whether the certificate is valid is the TLS family's finding;
		// here we only ask whether encryption can be negotiated at all.
		InsecureSkipVerify: true, //nolint:gosec // see above
		ServerName:         t.Host,
		MinVersion:         tls.VersionTLS10,
	})
	hctx, cancel := context.WithTimeout(ctx, timeout)
	err = tc.HandshakeContext(hctx)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return nil, unreachable(ctx.Err())
		}
		s.log("!! ", "TLS handshake: "+err.Error())
		return fire(fmt.Sprintf("SMTP server %s accepts STARTTLS but the TLS handshake fails", name), "tls_error", err.Error()), nil
	}
	_ = tc.SetWriteDeadline(time.Now().Add(timeout))
	_, _ = tc.Write([]byte("QUIT\r\n"))
	return nil, nil
}

var metaSTARTTLS = check.Meta{
	ID: "mail.starttls-missing", Family: Family, Severity: finding.Medium,
	Title: check.Text{
		EN: "SMTP server without working STARTTLS",
		VI: "Máy chủ SMTP không hỗ trợ STARTTLS hoạt động được",
	},
	Description: check.Text{
		EN: "The mail server does not advertise STARTTLS in its EHLO reply, refuses the STARTTLS command, or fails the TLS handshake that follows. Mail exchanged with it, including credentials on the submission port, crosses the network in clear text and can be read or altered on the way.",
		VI: "Máy chủ thư không công bố STARTTLS trong phản hồi EHLO, từ chối lệnh STARTTLS, hoặc bắt tay TLS sau đó thất bại. Thư trao đổi với máy chủ, kể cả thông tin đăng nhập trên cổng gửi thư, đi qua mạng ở dạng rõ và có thể bị đọc trộm hoặc sửa đổi trên đường truyền.",
	},
	Remediation: check.Text{
		EN: "Enable STARTTLS with a valid certificate (Postfix: smtpd_tls_cert_file, smtpd_tls_key_file, smtpd_tls_security_level = may, and encrypt on port 587; Exchange: assign the certificate to the SMTP service). Consider MTA-STS (RFC 8461) so that senders require it.",
		VI: "Bật STARTTLS với chứng thư hợp lệ (Postfix: smtpd_tls_cert_file, smtpd_tls_key_file, smtpd_tls_security_level = may, và encrypt trên cổng 587; Exchange: gán chứng thư cho dịch vụ SMTP). Cân nhắc triển khai MTA-STS (RFC 8461) để bên gửi bắt buộc mã hoá.",
	},
	References: []string{"RFC 3207", "RFC 8314", "CWE-319"},
}
