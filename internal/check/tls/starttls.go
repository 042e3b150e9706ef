package tls

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/probe/tlsprobe"
)

// STARTTLS services (SMTP, IMAP, POP3, FTP) speak their protocol in clear
// text first and upgrade on request. The family judges them with the same
// code as implicit-TLS services: the dialer of every connection it makes
// to such a target says the protocol's upgrade command first and hands
// the connection over at the point where the ClientHello goes. A server
// that refuses the upgrade gets QUIT and then the ClientHello, which it
// cannot answer as TLS: the target is "not TLS" and nothing is reported
// (mail.starttls-missing and svc.ftp-cleartext say that).

// StartTLSProtocol names the upgrade t needs ("smtp", "imap", "pop3",
// "ftp"), or "" for a target that is TLS from the first byte or not a
// STARTTLS service.
func StartTLSProtocol(t check.Target) string {
	if t.TLS {
		return ""
	}
	switch strings.ToLower(t.Service) {
	case "smtp", "esmtp", "submission":
		return "smtp"
	case "imap", "imap4":
		return "imap"
	case "pop3":
		return "pop3"
	case "ftp":
		return "ftp"
	case "", "unknown":
		switch t.Addr.Port() {
		case 25, 587:
			return "smtp"
		case 143:
			return "imap"
		case 110:
			return "pop3"
		}
	}
	return ""
}

// errNoUpgrade says the server did not agree to start TLS.
var errNoUpgrade = errors.New("tls: starttls refused")

// startTLSDialer wraps dial so that each connection is upgraded with
// proto's command before it is returned.
func startTLSDialer(dial tlsprobe.Dialer, proto string, timeout time.Duration) tlsprobe.Dialer {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		_ = c.SetDeadline(time.Now().Add(timeout))
		stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
		err = startTLS(c, proto)
		stop()
		if errors.Is(err, errNoUpgrade) {
			// Hand the connection over anyway: the handshake fails on the
			// server's clear-text answer, which marks the target not TLS.
			_ = c.SetDeadline(time.Now().Add(timeout))
			return c, nil
		}
		if err != nil {
			c.Close()
			return nil, err
		}
		_ = c.SetDeadline(time.Time{})
		return c, nil
	}
}

// lineReader reads CRLF lines one byte at a time, so nothing past the
// server's last clear-text line (the start of its TLS answer) is taken.
type lineReader struct {
	c     net.Conn
	total int
}

func (r *lineReader) line() (string, error) {
	var sb strings.Builder
	var b [1]byte
	for sb.Len() < 4096 && r.total < 64<<10 {
		if _, err := r.c.Read(b[:]); err != nil {
			return sb.String(), err
		}
		r.total++
		if b[0] == '\n' {
			return strings.TrimRight(sb.String(), "\r"), nil
		}
		sb.WriteByte(b[0])
	}
	return sb.String(), errors.New("tls: starttls: reply too long")
}

// reply reads an SMTP or FTP reply ("250-..." lines up to "250 ...").
func (r *lineReader) reply() (string, error) {
	for range 100 {
		l, err := r.line()
		if err != nil {
			return l, err
		}
		if len(l) < 4 || l[3] != '-' {
			return l, nil
		}
	}
	return "", errors.New("tls: starttls: endless reply")
}

// startTLS runs proto's upgrade on c.
func startTLS(c net.Conn, proto string) error {
	r := &lineReader{c: c}
	say := func(s string) error { _, err := c.Write([]byte(s + "\r\n")); return err }
	refuse := func(quit string) error { _ = say(quit); return errNoUpgrade }
	switch proto {
	case "smtp":
		if l, err := r.reply(); err != nil || !strings.HasPrefix(l, "220") {
			return refuse("QUIT")
		}
		if err := say("EHLO rampart-scanner.invalid"); err != nil {
			return err
		}
		if l, err := r.reply(); err != nil || !strings.HasPrefix(l, "250") {
			return refuse("QUIT")
		}
		if err := say("STARTTLS"); err != nil {
			return err
		}
		if l, err := r.reply(); err != nil || !strings.HasPrefix(l, "220") {
			return refuse("QUIT")
		}
	case "ftp":
		if l, err := r.reply(); err != nil || !strings.HasPrefix(l, "220") {
			return refuse("QUIT")
		}
		if err := say("AUTH TLS"); err != nil {
			return err
		}
		if l, err := r.reply(); err != nil || !strings.HasPrefix(l, "234") {
			return refuse("QUIT")
		}
	case "imap":
		if l, err := r.line(); err != nil || !strings.HasPrefix(l, "* OK") {
			return refuse("a2 LOGOUT")
		}
		if err := say("a1 STARTTLS"); err != nil {
			return err
		}
		for range 50 {
			l, err := r.line()
			if err != nil {
				return refuse("a2 LOGOUT")
			}
			if strings.HasPrefix(l, "a1 ") {
				if !strings.HasPrefix(l, "a1 OK") {
					return refuse("a2 LOGOUT")
				}
				return nil
			}
		}
		return refuse("a2 LOGOUT")
	case "pop3":
		if l, err := r.line(); err != nil || !strings.HasPrefix(l, "+OK") {
			return refuse("QUIT")
		}
		if err := say("STLS"); err != nil {
			return err
		}
		if l, err := r.line(); err != nil || !strings.HasPrefix(l, "+OK") {
			return refuse("QUIT")
		}
	}
	return nil
}

// DialerFor is the dialer for TLS connections to t: env's, upgraded with
// STARTTLS when t needs it (StartTLSProtocol). Other families use it to
// reach the TLS layer of a STARTTLS service.
func DialerFor(env *check.Env, t check.Target) tlsprobe.Dialer { return dialerFor(env, t) }

// dialerFor is the dialer for connections to t: env's, upgraded with
// STARTTLS when t needs it.
func dialerFor(env *check.Env, t check.Target) tlsprobe.Dialer {
	d := dialer(env)
	if proto := StartTLSProtocol(t); proto != "" {
		return startTLSDialer(d, proto, timeout(env))
	}
	return d
}
