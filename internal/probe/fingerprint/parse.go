package fingerprint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Parser errors. Every parser returns one of these (wrapped) on input it
// cannot read, never panics, and never reads past its input.
var (
	ErrShort     = errors.New("fingerprint: reply too short")
	ErrMalformed = errors.New("fingerprint: malformed reply")
)

// facts is what a parser learned: flat, string-valued, ready for rules.
type facts map[string]string

// maxFactLen caps one fact value so that a hostile reply cannot make rule
// matching or the Extra map large.
const maxFactLen = 4096

func (f facts) set(k, v string) {
	if len(v) > maxFactLen {
		v = v[:maxFactLen]
	}
	f[k] = v
}

func malformed(what string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(what, args...))
}

// cursor reads a byte slice without ever panicking: past the end it
// returns zeros and remembers that it ran short.
type cursor struct {
	b     []byte
	off   int
	short bool
}

func (c *cursor) left() int { return len(c.b) - c.off }

func (c *cursor) take(n int) []byte {
	if n < 0 || c.left() < n {
		c.short = true
		c.off = len(c.b)
		return nil
	}
	s := c.b[c.off : c.off+n]
	c.off += n
	return s
}

func (c *cursor) u8() byte {
	s := c.take(1)
	if s == nil {
		return 0
	}
	return s[0]
}

func (c *cursor) u16le() uint16 {
	s := c.take(2)
	if s == nil {
		return 0
	}
	return binary.LittleEndian.Uint16(s)
}

func (c *cursor) u16be() uint16 {
	s := c.take(2)
	if s == nil {
		return 0
	}
	return binary.BigEndian.Uint16(s)
}

func (c *cursor) u32le() uint32 {
	s := c.take(4)
	if s == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(s)
}

func (c *cursor) u32be() uint32 {
	s := c.take(4)
	if s == nil {
		return 0
	}
	return binary.BigEndian.Uint32(s)
}

func (c *cursor) u64le() uint64 {
	s := c.take(8)
	if s == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(s)
}

// cstring reads up to a NUL; ok is false when there is no NUL.
func (c *cursor) cstring() (string, bool) {
	for i := c.off; i < len(c.b); i++ {
		if c.b[i] == 0 {
			s := string(c.b[c.off:i])
			c.off = i + 1
			return s, true
		}
	}
	c.short = true
	c.off = len(c.b)
	return "", false
}

// EscapeBanner renders the first bytes of a reply as printable ASCII:
// \r, \n, \t and \\ as escapes, other non-printable bytes as \xNN. The
// result is at most max bytes long (cut at an escape boundary).
func EscapeBanner(b []byte, max int) string {
	var sb strings.Builder
	for _, c := range b {
		var piece string
		switch {
		case c == '\r':
			piece = `\r`
		case c == '\n':
			piece = `\n`
		case c == '\t':
			piece = `\t`
		case c == '\\':
			piece = `\\`
		case c >= 0x20 && c < 0x7f:
			piece = string(rune(c))
		default:
			piece = fmt.Sprintf(`\x%02x`, c)
		}
		if sb.Len()+len(piece) > max {
			break
		}
		sb.WriteString(piece)
	}
	return sb.String()
}

// textFacts are the facts every reply has: raw bytes and its first line.
func textFacts(b []byte) facts {
	f := facts{}
	f.set("raw", string(b))
	line := b
	if i := indexLineEnd(line); i >= 0 {
		line = line[:i]
	}
	f.set("line", strings.TrimRight(string(line), "\r"))
	return f
}

func indexLineEnd(b []byte) int {
	for i, c := range b {
		if c == '\n' {
			return i
		}
	}
	return -1
}

// printable reports whether s is non-empty valid UTF-8 without control
// characters; protocol strings that fail this are not trusted as versions.
func printable(s string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

func itoa(n int) string { return strconv.Itoa(n) }

// ---- server-first banners ----

// parseBanner turns a server-first banner into facts: raw and line, plus
// the facts of whichever binary banner (MySQL handshake, VNC RFB, telnet
// negotiation) it parses as.
func parseBanner(b []byte) facts {
	f := textFacts(b)
	if m, err := parseMySQLHandshake(b); err == nil {
		for k, v := range m {
			f[k] = v
		}
	}
	if m, err := parseVNC(b); err == nil {
		for k, v := range m {
			f[k] = v
		}
	}
	if len(b) > 0 && b[0] == iac {
		m, _ := parseTelnet(b)
		for k, v := range m {
			f[k] = v
		}
	}
	return f
}

// parseMySQLHandshake reads a MySQL/MariaDB initial handshake packet
// (protocol 10 or 9) or the error packet a server sends instead (for
// example "Host is not allowed to connect").
func parseMySQLHandshake(b []byte) (facts, error) {
	c := &cursor{b: b}
	n := int(c.u8()) | int(c.u8())<<8 | int(c.u8())<<16
	seq := c.u8()
	if c.short {
		return nil, ErrShort
	}
	if n == 0 || n > c.left() {
		return nil, malformed("mysql: packet length %d with %d bytes", n, c.left())
	}
	if seq != 0 {
		return nil, malformed("mysql: sequence %d", seq)
	}
	p := &cursor{b: c.take(n)}
	f := facts{}
	switch proto := p.u8(); proto {
	case 10, 9:
		v, ok := p.cstring()
		if !ok || !printable(v) || len(v) > 128 {
			return nil, malformed("mysql: server version")
		}
		f.set("mysql.protocol", itoa(int(proto)))
		f.set("mysql.server_version", v)
		id := p.u32le()
		if p.short {
			return f, nil
		}
		f.set("mysql.connection_id", strconv.FormatUint(uint64(id), 10))
		if proto == 9 {
			return f, nil
		}
		p.take(8) // auth-plugin-data part 1
		p.u8()    // filler
		caps := uint32(p.u16le())
		if p.short {
			return f, nil
		}
		p.u8()    // character set
		p.u16le() // status
		caps |= uint32(p.u16le()) << 16
		authLen := int(p.u8())
		p.take(10)
		if p.short {
			f.set("mysql.capabilities", fmt.Sprintf("0x%08x", caps))
			return f, nil
		}
		f.set("mysql.capabilities", fmt.Sprintf("0x%08x", caps))
		if caps&0x8000 != 0 { // CLIENT_SECURE_CONNECTION
			p.take(max(13, authLen-8))
		}
		if caps&0x80000 != 0 { // CLIENT_PLUGIN_AUTH
			if name, ok := p.cstring(); ok && printable(name) {
				f.set("mysql.auth_plugin", name)
			} else if name := string(p.b[p.off:]); printable(name) {
				f.set("mysql.auth_plugin", name)
			}
		}
		return f, nil
	case 0xff:
		code := p.u16le()
		if p.short {
			return nil, ErrShort
		}
		rest := p.b[p.off:]
		if len(rest) >= 6 && rest[0] == '#' {
			f.set("mysql.sql_state", string(rest[1:6]))
			rest = rest[6:]
		}
		msg := string(rest)
		if !utf8.ValidString(msg) {
			return nil, malformed("mysql: error message")
		}
		f.set("mysql.protocol", "error")
		f.set("mysql.error_code", itoa(int(code)))
		f.set("mysql.error_message", msg)
		return f, nil
	default:
		return nil, malformed("mysql: protocol byte 0x%02x", proto)
	}
}

// parseVNC reads an RFB ProtocolVersion message ("RFB 003.008\n").
func parseVNC(b []byte) (facts, error) {
	if len(b) < 12 {
		return nil, ErrShort
	}
	if string(b[:4]) != "RFB " || b[7] != '.' || b[11] != '\n' {
		return nil, malformed("vnc: not an RFB version")
	}
	maj, err1 := strconv.Atoi(string(b[4:7]))
	mnr, err2 := strconv.Atoi(string(b[8:11]))
	if err1 != nil || err2 != nil || maj < 0 || mnr < 0 {
		return nil, malformed("vnc: version digits")
	}
	f := facts{}
	f.set("vnc.protocol", fmt.Sprintf("%d.%d", maj, mnr))
	f.set("vnc.version_raw", string(b[4:11]))
	return f, nil
}

// parseVNCSecurity reads the RFB 3.7+ security-types message that follows
// the version exchange (or the 3.3 four-byte security type).
func parseVNCSecurity(b []byte, legacy bool) (facts, error) {
	c := &cursor{b: b}
	f := facts{}
	if legacy {
		t := c.u32be()
		if c.short {
			return nil, ErrShort
		}
		if t != 0 {
			f.set("vnc.security_types", strconv.FormatUint(uint64(t), 10))
			return f, nil
		}
		// Type 0: the server refuses ("Too many security failures") and
		// says why, as 3.7+ servers do after a count of 0.
	}
	n := 0
	if !legacy {
		n = int(c.u8())
	}
	if c.short {
		return nil, ErrShort
	}
	if n == 0 {
		l := c.u32be()
		if l > 1024 {
			l = 1024
		}
		start := c.off
		reason := c.take(int(l))
		if reason == nil {
			reason = c.b[min(start, len(c.b)):]
		}
		f.set("vnc.failure", string(reason))
		return f, nil
	}
	ts := c.take(n)
	if ts == nil {
		return nil, ErrShort
	}
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = itoa(int(t))
	}
	f.set("vnc.security_types", strings.Join(parts, ","))
	return f, nil
}

// ---- telnet ----

const (
	iac  = 255
	tSE  = 240
	tSB  = 250
	tWIL = 251
	tWNT = 252
	tDO  = 253
	tDNT = 254
)

// parseTelnet separates telnet IAC negotiation from text. It returns the
// facts (telnet.iac, telnet.options, telnet.text) and the refusals to send
// back (WONT for every DO, DONT for every WILL) so the server goes on to
// its login prompt.
//
// Only a consistent negotiation counts (security F24): every IAC is
// followed by a telnet command (240-255), at least one option is
// negotiated, subnegotiations end with IAC SE, and the text beside it is
// readable. Random bytes that happen to hold 0xFF (a garbage answer to a
// ClientHello) set no telnet.iac and get no reply.
func parseTelnet(b []byte) (facts, []byte) {
	f := facts{}
	var text []byte
	var opts []string
	var reply []byte
	seen, negotiated := 0, 0
	consistent := true
	for i := 0; i < len(b); i++ {
		if b[i] != iac {
			text = append(text, b[i])
			continue
		}
		if i+1 >= len(b) {
			break
		}
		seen++
		cmd := b[i+1]
		if cmd < tSE {
			consistent = false // not a telnet command
		}
		switch {
		case cmd == iac:
			text = append(text, iac)
			i++
		case cmd >= tWIL && cmd <= tDNT:
			if i+2 >= len(b) {
				i = len(b)
				break
			}
			opt := b[i+2]
			negotiated++
			name := map[byte]string{tWIL: "WILL", tWNT: "WONT", tDO: "DO", tDNT: "DONT"}[cmd]
			if len(opts) < 32 {
				opts = append(opts, name+":"+itoa(int(opt)))
			}
			switch cmd {
			case tDO:
				reply = append(reply, iac, tWNT, opt)
			case tWIL:
				reply = append(reply, iac, tDNT, opt)
			}
			i += 2
		case cmd == tSB:
			// Skip to IAC SE.
			j := i + 2
			for j+1 < len(b) && !(b[j] == iac && b[j+1] == tSE) {
				j++
			}
			if j+1 >= len(b) {
				consistent = false // no IAC SE
			}
			i = j + 1
		default:
			i++
		}
	}
	if seen == 0 || !consistent || negotiated == 0 || !readable(text) {
		// No telnet here (or garbage that looks like it).
		f.set("telnet.text", strings.ToValidUTF8(string(text), "?"))
		return f, nil
	}
	f.set("telnet.iac", "1")
	if len(opts) > 0 {
		f.set("telnet.options", strings.Join(opts, ","))
	}
	f.set("telnet.text", strings.ToValidUTF8(string(text), "?"))
	return f, reply
}

// readable reports whether b is text a person could read: valid UTF-8
// with at most one control character (other than tab, CR, LF, NUL, BEL
// and backspace) in 32 bytes. Empty text is readable.
func readable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	bad := 0
	for _, c := range b {
		switch {
		case c == '\t' || c == '\r' || c == '\n' || c == 0 || c == 7 || c == 8:
		case c < 0x20 || c == 0x7f:
			bad++
		}
	}
	return bad*32 <= len(b)
}
