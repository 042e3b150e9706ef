package udpscan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// ErrIPMI is returned for bytes that are not the IPMI reply expected.
var ErrIPMI = errors.New("udpscan: not an IPMI reply")

// rmcpHeader is RMCP version 1.0, sequence 0xff (no RMCP ack), class IPMI.
var rmcpHeader = []byte{0x06, 0x00, 0xff, 0x07}

// IPMIAuthCapRequest is an IPMI v1.5 session-less Get Channel
// Authentication Capabilities request (NetFn App, command 0x38) for the
// current channel, asking for the IPMI v2.0 extended data, at the
// administrator privilege level. Every BMC answers it before any login;
// it changes nothing.
func IPMIAuthCapRequest() []byte {
	msg := []byte{0x20, 0x06 << 2, 0, 0x81, 0x00, 0x38, 0x8e, 0x04, 0}
	msg[2] = checksum(msg[0:2])
	msg[8] = checksum(msg[3:8])
	b := append([]byte(nil), rmcpHeader...)
	b = append(b, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, byte(len(msg))) // auth type none, sequence 0, session 0
	return append(b, msg...)
}

func checksum(b []byte) byte {
	var s byte
	for _, c := range b {
		s += c
	}
	return -s
}

// IPMIAuthCap is a Get Channel Authentication Capabilities reply.
type IPMIAuthCap struct {
	Channel   int
	AuthTypes []string // none, md2, md5, password, oem
	// Anonymous login (null user name and password), null user names,
	// non-null user names.
	Anonymous, NullUsers, NonNullUsers bool
	PerMessageAuthOff, UserAuthOff     bool
	V15, V20                           bool
	OEM                                uint32
}

// ParseIPMIAuthCap reads a Get Channel Authentication Capabilities reply.
func ParseIPMIAuthCap(b []byte) (IPMIAuthCap, error) {
	var c IPMIAuthCap
	if len(b) < 4 || b[0] != 0x06 || b[3]&0x1f != 0x07 {
		return c, fmt.Errorf("%w: not RMCP class IPMI", ErrIPMI)
	}
	b = b[4:]
	if len(b) < 10 {
		return c, fmt.Errorf("%w: short session header", ErrIPMI)
	}
	auth := b[0]
	if auth == 0x06 {
		return c, fmt.Errorf("%w: an RMCP+ message where a v1.5 one was expected", ErrIPMI)
	}
	off := 9
	if auth != 0 {
		off += 16 // the authentication code
	}
	if len(b) < off+1 {
		return c, fmt.Errorf("%w: short session header", ErrIPMI)
	}
	n := int(b[off])
	msg := b[off+1:]
	if n > len(msg) || n < 8 {
		return c, fmt.Errorf("%w: message length %d of %d bytes", ErrIPMI, n, len(msg))
	}
	msg = msg[:n]
	if msg[1]>>2 != 0x07 || msg[5] != 0x38 {
		return c, fmt.Errorf("%w: netfn %#x command %#x", ErrIPMI, msg[1]>>2, msg[5])
	}
	if cc := msg[6]; cc != 0 {
		return c, fmt.Errorf("%w: completion code %#x", ErrIPMI, cc)
	}
	d := msg[7 : len(msg)-1] // without the trailing checksum
	if len(d) < 8 {
		return c, fmt.Errorf("%w: %d bytes of capabilities", ErrIPMI, len(d))
	}
	c.Channel = int(d[0] & 0x0f)
	for i, name := range []string{"none", "md2", "md5", "", "password", "oem"} {
		if name != "" && d[1]&(1<<i) != 0 {
			c.AuthTypes = append(c.AuthTypes, name)
		}
	}
	c.PerMessageAuthOff = d[2]&0x10 != 0
	c.UserAuthOff = d[2]&0x08 != 0
	c.NonNullUsers = d[2]&0x04 != 0
	c.NullUsers = d[2]&0x02 != 0
	c.Anonymous = d[2]&0x01 != 0
	if d[1]&0x80 != 0 {
		c.V15, c.V20 = d[3]&0x01 != 0, d[3]&0x02 != 0
	} else {
		c.V15 = true
	}
	c.OEM = uint32(d[4]) | uint32(d[5])<<8 | uint32(d[6])<<16
	return c, nil
}

// String summarizes c for evidence.
func (c IPMIAuthCap) String() string {
	var v []string
	if c.V15 {
		v = append(v, "1.5")
	}
	if c.V20 {
		v = append(v, "2.0")
	}
	return fmt.Sprintf("IPMI %s, auth types %s, anonymous=%t null_users=%t", strings.Join(v, "+"), strings.Join(c.AuthTypes, ","), c.Anonymous, c.NullUsers)
}

// IPMIOpenSessionRequest is an RMCP+ Open Session Request (IPMI v2.0
// section 13.17) offering only cipher suite 0: no authentication, no
// integrity, no confidentiality. A BMC that accepts it lets anyone who
// knows a user name in without a password ("cipher zero"). The request
// opens no session by itself: the BMC keeps a half-open slot that
// expires on its own.
func IPMIOpenSessionRequest(tag byte, consoleID uint32) []byte {
	p := make([]byte, 32)
	p[0] = tag
	p[1] = 0x04 // requested maximum privilege: administrator
	binary.LittleEndian.PutUint32(p[4:], consoleID)
	// Authentication, integrity and confidentiality payloads, algorithm 0.
	copy(p[8:], []byte{0x00, 0, 0, 0x08, 0x00, 0, 0, 0})
	copy(p[16:], []byte{0x01, 0, 0, 0x08, 0x00, 0, 0, 0})
	copy(p[24:], []byte{0x02, 0, 0, 0x08, 0x00, 0, 0, 0})
	b := append([]byte(nil), rmcpHeader...)
	b = append(b, 0x06, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, byte(len(p)), 0) // RMCP+, payload type open session request
	return append(b, p...)
}

// IPMIOpenSession is an RMCP+ Open Session Response.
type IPMIOpenSession struct {
	Tag       byte
	Status    byte // 0: accepted
	ConsoleID uint32
	SessionID uint32 // the BMC's session ID when accepted
}

// IPMIStatusText names RMCP+ status codes (IPMI v2.0 table 13-15).
func IPMIStatusText(s byte) string {
	switch s {
	case 0x00:
		return "no errors"
	case 0x01:
		return "insufficient resources to create a session"
	case 0x02:
		return "invalid session ID"
	case 0x05:
		return "invalid role"
	case 0x06:
		return "unauthorized role or privilege level"
	case 0x09:
		return "invalid authentication algorithm"
	case 0x0a:
		return "invalid integrity algorithm"
	case 0x0b:
		return "no matching authentication payload"
	case 0x0c:
		return "no matching integrity payload"
	case 0x11:
		return "no cipher suite match with proposed security algorithms"
	case 0x12:
		return "illegal or unrecognized parameter"
	}
	return fmt.Sprintf("status %#x", s)
}

// ParseIPMIOpenSession reads an RMCP+ Open Session Response.
func ParseIPMIOpenSession(b []byte) (IPMIOpenSession, error) {
	var s IPMIOpenSession
	if len(b) < 16 || b[0] != 0x06 || b[3]&0x1f != 0x07 || b[4] != 0x06 {
		return s, fmt.Errorf("%w: not an RMCP+ message", ErrIPMI)
	}
	if b[5]&0x3f != 0x11 {
		return s, fmt.Errorf("%w: payload type %#x", ErrIPMI, b[5]&0x3f)
	}
	n := int(binary.LittleEndian.Uint16(b[14:]))
	p := b[16:]
	if n > len(p) || n < 2 {
		return s, fmt.Errorf("%w: payload length %d of %d bytes", ErrIPMI, n, len(p))
	}
	p = p[:n]
	s.Tag, s.Status = p[0], p[1]
	if len(p) >= 8 {
		s.ConsoleID = binary.LittleEndian.Uint32(p[4:])
	}
	if s.Status == 0 {
		if len(p) < 12 {
			return s, fmt.Errorf("%w: accepted without a session ID", ErrIPMI)
		}
		s.SessionID = binary.LittleEndian.Uint32(p[8:])
	}
	return s, nil
}
