package syslog

import (
	"bytes"
	"net/netip"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/sensor"
	"github.com/rampart-cert/rampart/internal/sensor/internal/fields"
)

// maxUser bounds the login names kept from a line.
const maxUser = 64

// sshd recognizes sshd's failure lines.
func sshd(msg []byte, e *sensor.Event) bool {
	// Solaris prefixes "[ID 800047 auth.info] ".
	if bytes.HasPrefix(msg, []byte("[ID ")) {
		if i := bytes.IndexByte(msg, ']'); i > 0 {
			msg = bytes.TrimLeft(msg[i+1:], " ")
		}
	}
	var rest []byte
	switch {
	case bytes.HasPrefix(msg, []byte("Failed ")):
		// "Failed password for [invalid user ]USER from ADDR port P ssh2"
		method, after, ok := bytes.Cut(msg[len("Failed "):], []byte(" for "))
		if !ok {
			return false
		}
		rest = bytes.TrimPrefix(after, []byte("invalid user "))
		// A client offers its keys one by one and starts with "none":
		// such a failure for a real user is how a good login begins.
		if len(rest) == len(after) && (string(method) == "publickey" || string(method) == "none") {
			return false
		}
	case bytes.HasPrefix(msg, []byte("Invalid user ")):
		// "Invalid user USER from ADDR [port P]"
		rest = msg[len("Invalid user "):]
	case bytes.HasPrefix(msg, []byte("User ")) && bytes.Contains(msg, []byte(" not allowed because ")):
		// "User USER from ADDR not allowed because not listed in AllowUsers"
		rest = msg[len("User "):]
	case bytes.HasPrefix(msg, []byte("error: PAM: ")):
		// "error: PAM: Authentication failure for USER from HOST"
		m := msg[len("error: PAM: "):]
		for _, p := range [...]string{"authentication failure for ", "authentication error for "} {
			if len(m) > len(p) && bytes.EqualFold(m[:len(p)], []byte(p)) {
				rest = m[len(p):]
			}
		}
		if rest == nil {
			return false
		}
	default:
		return false
	}
	user, a, port, ok := fromAddr(rest)
	if !ok {
		return false
	}
	e.Src, e.SrcPort, e.DstPort, e.Proto, e.Signature = a, port, 22, 6, "sshd"
	e.User = userName(user)
	return true
}

// fromAddr finds "USER from ADDR" in rest, followed by " port N", the
// end of the line, " via ", " not allowed because" or "[preauth]". Both
// the user name (before) and, in old formats, a trailer (after) are the
// client's and may hold a fake " from ADDR port N": a line naming more
// than one address after " from " is ambiguous and skipped, so nobody can
// be blamed by a crafted user name.
func fromAddr(rest []byte) (user []byte, a netip.Addr, port uint16, ok bool) {
	found := -1
	for off := 0; ; {
		i := bytes.Index(rest[off:], []byte(" from "))
		if i < 0 {
			break
		}
		at := off + i
		off = at + 1
		tok, tail := cut(rest[at+len(" from "):])
		addr, valid := fields.Addr(tok)
		if !valid {
			continue
		}
		if found >= 0 {
			return nil, netip.Addr{}, 0, false
		}
		found = at
		switch {
		case bytes.HasPrefix(tail, []byte("port ")):
			p, _ := cut(tail[len("port "):])
			p = bytes.TrimSuffix(p, []byte(":"))
			n, isNum := atoi(p)
			if !isNum || n > 65535 {
				return nil, netip.Addr{}, 0, false
			}
			a, port, ok = addr, uint16(n), true
		case len(bytes.TrimSpace(tail)) == 0, bytes.HasPrefix(tail, []byte("via ")), bytes.HasPrefix(tail, []byte("not allowed because ")),
			bytes.HasPrefix(tail, []byte("[preauth]")):
			a, ok = addr, true
		}
	}
	if !ok {
		return nil, netip.Addr{}, 0, false
	}
	return rest[:found], a, port, true
}

// pam recognizes "authentication failure; ... rhost=ADDR ... user=USER"
// from pam_unix and friends: "pam_unix(dovecot:auth): authentication
// failure; logname= uid=0 euid=0 tty=dovecot ruser=bob rhost=192.0.2.7
// user=bob". sshd's copies are left out (its own line counts).
func pam(msg []byte, e *sensor.Event) bool {
	i := bytes.Index(msg, []byte("authentication failure;"))
	if i < 0 {
		return false
	}
	service := []byte(nil)
	if j := bytes.Index(msg[:i], []byte("(")); j >= 0 {
		if k := bytes.IndexByte(msg[j:i], ':'); k > 0 {
			service = msg[j+1 : j+k]
		}
	}
	if string(service) == "sshd" || string(service) == "sshd-session" {
		return false
	}
	a, user, ok := rhost(msg[i:])
	if !ok {
		return false
	}
	e.Src, e.User = a, userName(user)
	e.Signature = "pam"
	if len(service) > 0 && len(service) <= 32 {
		e.Signature = strings.ToLower(string(service))
	}
	return true
}

// rhost finds PAM's "rhost=HOST[ user=USER]" at the end of the message.
// ruser (before it) and user (after it) are the client's and may hold a
// fake "rhost=": the host taken is the first "rhost=ADDR" followed by
// the end of the line or by " user=".
func rhost(b []byte) (netip.Addr, []byte, bool) {
	for off := 0; ; {
		i := bytes.Index(b[off:], []byte("rhost="))
		if i < 0 {
			return netip.Addr{}, nil, false
		}
		at := off + i + len("rhost=")
		off = at
		tok, tail := cut(b[at:])
		tail = bytes.TrimLeft(tail, " ")
		var user []byte
		switch {
		case len(bytes.TrimSpace(tail)) == 0:
		case bytes.HasPrefix(tail, []byte("user=")):
			user = bytes.TrimRight(tail[len("user="):], " ")
		default:
			continue
		}
		if a, ok := fields.Addr(tok); ok {
			return a, user, true
		}
	}
}

// web recognizes web server access and error log lines of failed logins.
func (p *Parser) web(h header, e *sensor.Event) bool {
	prog := string(h.program)
	sig := "http"
	switch {
	case strings.HasPrefix(prog, "nginx"):
		sig = "nginx"
	case strings.HasPrefix(prog, "apache"), strings.HasPrefix(prog, "httpd"):
		sig = "apache"
	}
	msg := h.msg
	switch {
	case bytes.HasPrefix(msg, []byte("[")) && bytes.Contains(msg, []byte("[client ")):
		return p.apacheError(msg, e)
	case bytes.Contains(msg, []byte(", client: ")):
		return p.nginxError(msg, e)
	}
	return p.access(msg, sig, e)
}

// access parses a common/combined log line:
// `[vhost[:port] ]ADDR IDENT USER [07/Dec/2026:10:00:00 +0700] "POST /login HTTP/1.1" 401 ...`.
func (p *Parser) access(msg []byte, sig string, e *sensor.Event) bool {
	q := bytes.IndexByte(msg, '"')
	lb := bytes.IndexByte(msg, '[')
	if q < 0 || lb < 0 || lb > q {
		return false
	}
	head := bytes.Fields(msg[:lb])
	if len(head) < 3 {
		return false
	}
	// ADDR IDENT USER are the last three fields before the date.
	head = head[len(head)-3:]
	a, ok := fields.Addr(head[0])
	if !ok {
		return false
	}
	reqEnd := bytes.IndexByte(msg[q+1:], '"')
	if reqEnd < 0 {
		return false
	}
	req := msg[q+1 : q+1+reqEnd]
	method, rest := cut(req)
	path, _ := cut(rest)
	status, _ := cut(msg[q+1+reqEnd+1:])
	code, ok := atoi(status)
	if !ok || !fields.LoginFailure(method, path, code) {
		return false
	}
	e.Src, e.Signature, e.Proto = a, sig, 6
	if u := head[2]; string(u) != "-" {
		e.User = userName(u)
	}
	if rb := bytes.IndexByte(msg[lb:], ']'); rb > 0 {
		if t, ok := clfTime(msg[lb+1 : lb+rb]); ok {
			e.Time = t
		}
	}
	return true
}

// clfTime parses "07/Dec/2026:10:00:00 +0700".
func clfTime(b []byte) (time.Time, bool) {
	if len(b) != 26 || b[2] != '/' || b[6] != '/' || b[11] != ':' || b[20] != ' ' {
		return time.Time{}, false
	}
	t, err := time.Parse("02/Jan/2006:15:04:05 -0700", string(b))
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// apacheError parses Apache 2.2 and 2.4 error log lines of failed basic
// or digest authentication:
// `[Sun Dec 07 10:00:00.123456 2026] [auth_basic:error] [pid 1] [client 192.0.2.7:5678] AH01617: user bob: authentication failure for "/admin": Password Mismatch`.
func (p *Parser) apacheError(msg []byte, e *sensor.Event) bool {
	ci := bytes.Index(msg, []byte("[client "))
	rest := msg[ci+len("[client "):]
	end := bytes.IndexByte(rest, ']')
	if end < 0 {
		return false
	}
	a, ok := hostPort(rest[:end])
	if !ok {
		return false
	}
	// The message proper: "[AHnnnnn: ]user USER...", right after the
	// client (a path later in the line is the client's and may hold a
	// fake "[client ...] user ...").
	text := bytes.TrimLeft(rest[end+1:], " ")
	if bytes.HasPrefix(text, []byte("AH")) {
		if c := bytes.Index(text, []byte(": ")); c > 2 && c < 9 {
			text = text[c+2:]
		}
	}
	if !bytes.HasPrefix(text, []byte("user ")) {
		return false
	}
	u := text[len("user "):]
	var user []byte
	switch {
	case bytes.Contains(u, []byte(": authentication failure")):
		user = u[:bytes.Index(u, []byte(": authentication failure"))]
	case bytes.Contains(u, []byte(" not found")):
		user = u[:bytes.Index(u, []byte(" not found"))]
	case bytes.Contains(bytes.ToLower(u), []byte("password mismatch")):
		user, _ = cut(u)
		user = bytes.TrimSuffix(user, []byte(":"))
	default:
		return false
	}
	e.Src, e.Signature, e.Proto, e.User = a, "apache", 6, userName(user)
	if bytes.HasPrefix(msg, []byte("[")) {
		if rb := bytes.IndexByte(msg, ']'); rb > 0 {
			if t, ok := apacheTime(msg[1:rb], p.loc()); ok {
				e.Time = t
			}
		}
	}
	return true
}

// apacheTime parses "Sun Dec 07 10:00:00.123456 2026" in loc (Apache
// writes local time without a zone).
func apacheTime(b []byte, loc *time.Location) (time.Time, bool) {
	for _, layout := range []string{"Mon Jan 02 15:04:05.000000 2006", "Mon Jan 02 15:04:05 2006"} {
		if t, err := time.ParseInLocation(layout, string(b), loc); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// nginxError parses nginx's basic-auth and PAM failures:
// `2026/12/07 10:00:00 [error] 12#12: *3 user "bob": password mismatch, client: 192.0.2.7, server: x, ...`,
// `... user "bob" was not found in "/etc/nginx/.htpasswd", client: ...`
// and `... PAM: user 'bob' - not authenticated: Authentication failure, client: ...`.
// The user name is the client's and may hold a fake ", client: ": the
// address is the last ", client: " (what follows the real one, server,
// request line and Host, has no room for one).
func (p *Parser) nginxError(msg []byte, e *sensor.Event) bool {
	var user []byte
	if ui := bytes.Index(msg, []byte(`user "`)); ui >= 0 {
		u := msg[ui+len(`user "`):]
		q := bytes.IndexByte(u, '"')
		if q < 0 {
			return false
		}
		after := u[q+1:]
		if !bytes.HasPrefix(after, []byte(": password mismatch")) && !bytes.HasPrefix(after, []byte(" password mismatch")) &&
			!bytes.HasPrefix(after, []byte(" was not found in")) {
			return false
		}
		user = u[:q]
	} else if ui := bytes.Index(msg, []byte(`PAM: user '`)); ui >= 0 {
		u := msg[ui+len(`PAM: user '`):]
		q := bytes.Index(u, []byte("' - not authenticated"))
		if q < 0 {
			return false
		}
		user = u[:q]
	} else {
		return false
	}
	ci := bytes.LastIndex(msg, []byte(", client: "))
	if ci < 0 {
		return false
	}
	addrTok, _ := cut(msg[ci+len(", client: "):])
	a, ok := fields.Addr(bytes.TrimSuffix(addrTok, []byte(",")))
	if !ok {
		return false
	}
	e.Src, e.Signature, e.Proto, e.User = a, "nginx", 6, userName(user)
	if len(msg) >= 19 && msg[4] == '/' && msg[7] == '/' {
		if t, err := time.ParseInLocation("2006/01/02 15:04:05", string(msg[:19]), p.loc()); err == nil {
			e.Time = t.UTC()
		}
	}
	return true
}

// hostPort parses "ADDR", "ADDR:PORT" or "[V6]:PORT".
func hostPort(b []byte) (netip.Addr, bool) {
	if a, ok := fields.Addr(b); ok {
		return a, true
	}
	if ap, err := netip.ParseAddrPort(string(b)); err == nil {
		return ap.Addr().Unmap(), true
	}
	if i := bytes.LastIndexByte(b, ':'); i > 0 {
		return fields.Addr(b[:i])
	}
	return netip.Addr{}, false
}

// userName returns a login name fit to keep: at most maxUser bytes,
// control characters dropped.
func userName(b []byte) string {
	if len(b) > maxUser {
		b = b[:maxUser]
	}
	clean := true
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c >= 0x20 && c != 0x7f {
			out = append(out, c)
		}
	}
	return string(out)
}
