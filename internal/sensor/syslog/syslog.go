// Package syslog finds authentication failures in syslog lines and web
// server logs and turns them into sensor.Events of TypeAuthFail, and
// receives syslog over UDP and TCP (Server).
//
// Framing: RFC 3164 ("<PRI>Mmm dd hh:mm:ss host tag[pid]: msg", the
// priority and the host optional, as in /var/log/auth.log), RFC 5424
// ("<PRI>1 timestamp host app procid msgid [sd] msg"), the RFC 3339
// timestamps rsyslog writes to files, and lines with no syslog header at
// all (a web server's own access or error log).
//
// Messages recognized (Src is the remote address, User the login tried,
// Signature the service):
//
//   - sshd (and OpenSSH 9.8's sshd-session): "Failed password|
//     keyboard-interactive/pam|hostbased for [invalid user] USER from ADDR
//     port P" ("Failed publickey" and "Failed none" only for an invalid
//     user: a client tries its keys one by one before one works),
//     "Invalid user USER from ADDR [port P]", "User USER from ADDR not
//     allowed because ..." and "error: PAM: Authentication failure for
//     USER from ADDR" (Signature "sshd", DstPort 22). A line naming two
//     addresses after " from " is skipped: one was written by the client
//     (in its user name), and nobody may be blamed by a crafted name. An
//     attempt at an unknown user may log two of these lines.
//   - Only addresses are taken: a host name (sshd with UseDNS, PAM's
//     rhost) is not resolved, and the line is skipped.
//   - PAM: "authentication failure; ... rhost=ADDR [user=USER]" from any
//     program but sshd (sshd's own "Failed ..." line records the same
//     attempt); Signature is the PAM service ("dovecot", "vsftpd", ...).
//   - Web access logs (common/combined, nginx and Apache, optionally with
//     a leading virtual host): a POST to a login path answered 401 or 403
//     (Signature "nginx" or "apache" from the syslog tag, else "http").
//   - Apache error log: "[client ADDR:PORT] ... user USER: authentication
//     failure" or "user USER not found" (Signature "apache").
//   - nginx error log: `user "USER": password mismatch, client: ADDR` and
//     `user "USER" was not found in ..., client: ADDR` (Signature "nginx").
package syslog

import (
	"bytes"
	"errors"
	"time"

	"github.com/rampart-cert/rampart/internal/sensor"
	"github.com/rampart-cert/rampart/internal/sensor/internal/fields"
)

// MaxLine is the longest line Parse accepts (RFC 5425 receivers must take
// 2048 bytes; 64 KiB covers long web log lines).
const MaxLine = 64 << 10

// ErrTooLong is returned for a line longer than MaxLine.
var ErrTooLong = errors.New("syslog: line too long")

// Parser recognizes authentication failures. Its zero value is ready
// (local time, the current year for RFC 3164 dates); it holds no state,
// so one Parser may be used from many goroutines.
type Parser struct {
	// Location is the zone of timestamps that carry none (RFC 3164, web
	// error logs); nil is time.Local.
	Location *time.Location
	// Now gives the reference time for RFC 3164 dates, which have no
	// year: the year that puts the date at most a month ahead of Now.
	// Nil is time.Now. A line with no usable timestamp gets Now.
	Now func() time.Time
}

// header is a line's syslog framing.
type header struct {
	time    time.Time
	program []byte
	msg     []byte
}

// Parse reads one line. It returns true and fills ev for an
// authentication failure, false for any other line; the only error is
// ErrTooLong.
func (p *Parser) Parse(line []byte, ev *sensor.Event) (bool, error) {
	if len(line) > MaxLine {
		return false, ErrTooLong
	}
	line = bytes.TrimRight(line, "\r\n\x00")
	h := p.header(line)
	e := sensor.Event{Type: sensor.TypeAuthFail, Input: "syslog"}
	ok := false
	switch prog := string(h.program); {
	case prog == "sshd" || prog == "sshd-session":
		ok = sshd(h.msg, &e)
	default:
		ok = pam(h.msg, &e) || p.web(h, &e)
	}
	if !ok {
		return false, nil
	}
	if e.Time.IsZero() {
		e.Time = h.time
	}
	if e.Time.IsZero() {
		e.Time = p.now().UTC()
	}
	*ev = e
	return true, nil
}

func (p *Parser) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Parser) loc() *time.Location {
	if p.Location != nil {
		return p.Location
	}
	return time.Local
}

// header splits the syslog framing off a line; a line without one is all
// message.
func (p *Parser) header(b []byte) header {
	rest := b
	if len(rest) > 2 && rest[0] == '<' {
		if i := bytes.IndexByte(rest[:min(len(rest), 5)], '>'); i > 1 {
			if _, ok := atoi(rest[1:i]); ok {
				rest = rest[i+1:]
			}
		}
	}
	// RFC 5424: version "1", then space-separated fields.
	if len(rest) > 2 && rest[0] == '1' && rest[1] == ' ' {
		return p.header5424(rest[2:])
	}
	var h header
	switch {
	case len(rest) >= 15 && isMonth(rest[:3]) && rest[3] == ' ':
		t, n, ok := p.time3164(rest)
		if !ok {
			return header{msg: b}
		}
		h.time, rest = t, rest[n:]
	case len(rest) >= 20 && rest[4] == '-' && rest[10] == 'T':
		sp := bytes.IndexByte(rest, ' ')
		if sp < 0 {
			return header{msg: b}
		}
		t, ok := fields.Time(rest[:sp])
		if !ok {
			return header{msg: b}
		}
		h.time, rest = t, rest[sp:]
	default:
		// No timestamp: "host tag: msg" or "tag: msg" (journald and some
		// relays), else a bare message such as a web server's own log.
	}
	rest = bytes.TrimLeft(rest, " ")
	// host (optional), then "tag[pid]:" or "tag:".
	tok, after := cut(rest)
	if !isTag(tok) {
		tok, after = cut(after)
	}
	if !isTag(tok) {
		h.msg = rest
		return h
	}
	tag := bytes.TrimSuffix(tok, []byte(":"))
	if i := bytes.IndexByte(tag, '['); i >= 0 {
		tag = tag[:i]
	}
	h.program, h.msg = tag, after
	return h
}

func (p *Parser) header5424(b []byte) header {
	var h header
	ts, rest := cut(b)
	if t, ok := fields.Time(ts); ok {
		h.time = t
	}
	_, rest = cut(rest) // hostname
	app, rest := cut(rest)
	_, rest = cut(rest) // procid
	_, rest = cut(rest) // msgid
	if string(app) != "-" {
		h.program = app
	}
	// Structured data: "-" or one or more [id param="value" ...]
	// elements, where values may hold escaped ']' and '"'.
	switch {
	case len(rest) > 0 && rest[0] == '-':
		rest = rest[1:]
	case len(rest) > 0 && rest[0] == '[':
		for len(rest) > 0 && rest[0] == '[' {
			i, inQuote := 1, false
			for ; i < len(rest); i++ {
				c := rest[i]
				if c == '\\' {
					i++
					continue
				}
				if c == '"' {
					inQuote = !inQuote
				} else if c == ']' && !inQuote {
					break
				}
			}
			if i >= len(rest) {
				rest = nil
				break
			}
			rest = rest[i+1:]
		}
	}
	rest = bytes.TrimLeft(rest, " ")
	rest = bytes.TrimPrefix(rest, []byte("\xef\xbb\xbf")) // BOM
	h.msg = rest
	return h
}

// isTag reports whether tok is "prog:" or "prog[pid]:".
func isTag(tok []byte) bool {
	if len(tok) < 2 || tok[len(tok)-1] != ':' {
		return false
	}
	name := tok[:len(tok)-1]
	if i := bytes.IndexByte(name, '['); i >= 0 {
		if name[len(name)-1] != ']' {
			return false
		}
		name = name[:i]
	}
	if len(name) == 0 || len(name) > 48 {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '/') {
			return false
		}
	}
	return true
}

// cut splits off the first space-separated token.
func cut(b []byte) (tok, rest []byte) {
	b = bytes.TrimLeft(b, " ")
	if i := bytes.IndexByte(b, ' '); i >= 0 {
		return b[:i], b[i+1:]
	}
	return b, nil
}

var months = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

func isMonth(b []byte) bool { return month(b) > 0 }

func month(b []byte) time.Month {
	for i, m := range months {
		if string(b) == m {
			return time.Month(i + 1)
		}
	}
	return 0
}

// time3164 parses "Mmm dd hh:mm:ss" at the start of b (the day padded
// with a space or a zero, or not at all) and returns the bytes it used.
func (p *Parser) time3164(b []byte) (time.Time, int, bool) {
	m := month(b[:3])
	rest := b[4:]
	if rest[0] == ' ' {
		rest = rest[1:]
	}
	sp := bytes.IndexByte(rest, ' ')
	if sp < 1 || sp > 2 || len(rest) < sp+9 {
		return time.Time{}, 0, false
	}
	day, ok1 := atoi(rest[:sp])
	c := rest[sp+1 : sp+9]
	hh, ok2 := atoi(c[0:2])
	mm, ok3 := atoi(c[3:5])
	ss, ok4 := atoi(c[6:8])
	if m == 0 || !(ok1 && ok2 && ok3 && ok4) || c[2] != ':' || c[5] != ':' || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, 0, false
	}
	now := p.now().In(p.loc())
	t := time.Date(now.Year(), m, day, hh, mm, ss, 0, p.loc())
	if t.After(now.AddDate(0, 1, 0)) {
		t = t.AddDate(-1, 0, 0)
	}
	used := len(b) - len(rest) + sp + 9
	return t.UTC(), used, true
}

func atoi(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
