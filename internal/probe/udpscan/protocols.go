package udpscan

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Errors of the parsers below.
var (
	ErrSSDP      = errors.New("udpscan: not an SSDP response")
	ErrMemcached = errors.New("udpscan: not a memcached UDP reply")
	ErrNetBIOS   = errors.New("udpscan: not a NetBIOS node status reply")
	ErrCoAP      = errors.New("udpscan: not a CoAP message")
	ErrTFTP      = errors.New("udpscan: not a TFTP reply")
)

// SSDPSearch is an SSDP M-SEARCH for every device and service (ssdp:all),
// sent to one address rather than the multicast group.
func SSDPSearch() []byte {
	return []byte("M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n")
}

// SSDPReply is an SSDP search response (an HTTP/1.1 response over UDP).
type SSDPReply struct {
	Status  int
	Headers map[string]string // lower-cased names: server, location, st, usn
}

// ParseSSDP reads an SSDP response or NOTIFY.
func ParseSSDP(b []byte) (SSDPReply, error) {
	var r SSDPReply
	text := string(b[:min(len(b), 8192)])
	line, rest, _ := strings.Cut(text, "\n")
	line = strings.TrimRight(line, "\r")
	switch {
	case strings.HasPrefix(line, "HTTP/1."):
		f := strings.Fields(line)
		if len(f) < 2 {
			return r, fmt.Errorf("%w: status line %q", ErrSSDP, clean([]byte(line), 64))
		}
		n, err := strconv.Atoi(f[1])
		if err != nil || n < 100 || n > 599 {
			return r, fmt.Errorf("%w: status %q", ErrSSDP, clean([]byte(f[1]), 16))
		}
		r.Status = n
	case strings.HasPrefix(line, "NOTIFY * HTTP/1."):
	default:
		return r, fmt.Errorf("%w: first line %q", ErrSSDP, clean([]byte(line), 64))
	}
	r.Headers = map[string]string{}
	for _, h := range strings.Split(rest, "\n") {
		k, v, ok := strings.Cut(strings.TrimRight(h, "\r"), ":")
		if !ok || len(r.Headers) >= 32 {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if k != "" {
			r.Headers[k] = clean([]byte(strings.TrimSpace(v)), 256)
		}
	}
	return r, nil
}

// MemcachedStatsRequest is the "stats" command over UDP, behind the 8-byte
// frame header (request ID, sequence 0, one datagram, reserved).
func MemcachedStatsRequest(reqID uint16) []byte {
	b := make([]byte, 8, 15)
	binary.BigEndian.PutUint16(b, reqID)
	binary.BigEndian.PutUint16(b[4:], 1)
	return append(b, "stats\r\n"...)
}

// MemcachedFrame is one datagram of a memcached UDP reply.
type MemcachedFrame struct {
	RequestID, Seq, Total uint16
	Body                  []byte
}

// ParseMemcachedFrame reads the frame header of a memcached UDP datagram.
func ParseMemcachedFrame(b []byte) (MemcachedFrame, error) {
	var f MemcachedFrame
	if len(b) < 8 {
		return f, fmt.Errorf("%w: %d bytes", ErrMemcached, len(b))
	}
	f.RequestID = binary.BigEndian.Uint16(b)
	f.Seq = binary.BigEndian.Uint16(b[2:])
	f.Total = binary.BigEndian.Uint16(b[4:])
	if f.Total == 0 || f.Seq >= f.Total || b[6] != 0 || b[7] != 0 {
		return f, fmt.Errorf("%w: frame %d of %d", ErrMemcached, f.Seq, f.Total)
	}
	f.Body = b[8:]
	return f, nil
}

// ParseMemcachedStats reads "STAT name value" lines; it needs at least one.
func ParseMemcachedStats(body []byte) (map[string]string, error) {
	out := map[string]string{}
	for _, line := range strings.Split(string(body), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == "STAT" && len(out) < 128 {
			out[clean([]byte(f[1]), 64)] = clean([]byte(strings.Join(f[2:], " ")), 128)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no STAT lines", ErrMemcached)
	}
	return out, nil
}

// NetBIOSStatusRequest is a NetBIOS name service NBSTAT (node status)
// query for the wildcard name "*" (RFC 1002 section 4.2.17).
func NetBIOSStatusRequest(id uint16) []byte {
	b := make([]byte, 12, 50)
	binary.BigEndian.PutUint16(b, id)
	binary.BigEndian.PutUint16(b[4:], 1) // one question
	b = append(b, 0x20)
	name := [16]byte{'*'}
	for _, c := range name {
		b = append(b, 'A'+c>>4, 'A'+c&0x0f)
	}
	return append(b, 0x00, 0x00, 0x21, 0x00, 0x01) // NBSTAT, IN
}

// NetBIOSName is one name of a node status reply.
type NetBIOSName struct {
	Name   string
	Suffix byte
	Group  bool
}

// NetBIOSStatus is a node status reply.
type NetBIOSStatus struct {
	Names []NetBIOSName
	MAC   string
}

// Computer returns the first unique name with suffix 0x00 (the
// workstation name), and the first group name with suffix 0x00 (the
// workgroup or domain).
func (s NetBIOSStatus) Computer() (host, workgroup string) {
	for _, n := range s.Names {
		if n.Suffix != 0 {
			continue
		}
		if !n.Group && host == "" {
			host = n.Name
		}
		if n.Group && workgroup == "" {
			workgroup = n.Name
		}
	}
	return host, workgroup
}

// ParseNetBIOSStatus reads a node status response.
func ParseNetBIOSStatus(b []byte) (NetBIOSStatus, error) {
	var s NetBIOSStatus
	if len(b) < 12 || b[2]&0x80 == 0 {
		return s, fmt.Errorf("%w: not a response", ErrNetBIOS)
	}
	if an := binary.BigEndian.Uint16(b[6:]); an == 0 {
		return s, fmt.Errorf("%w: no answer (rcode %d)", ErrNetBIOS, b[3]&0x0f)
	}
	p := 12
	// The answer's name: labels or a pointer.
	for steps := 0; ; steps++ {
		if p >= len(b) || steps > 64 {
			return s, fmt.Errorf("%w: truncated name", ErrNetBIOS)
		}
		l := int(b[p])
		if l == 0 {
			p++
			break
		}
		if l&0xc0 == 0xc0 {
			p += 2
			break
		}
		p += 1 + l
	}
	if p+11 > len(b) {
		return s, fmt.Errorf("%w: truncated answer", ErrNetBIOS)
	}
	if typ := binary.BigEndian.Uint16(b[p:]); typ != 0x21 {
		return s, fmt.Errorf("%w: answer type %#x", ErrNetBIOS, typ)
	}
	rdlen := int(binary.BigEndian.Uint16(b[p+8:]))
	rd := b[p+10:]
	if rdlen > len(rd) || rdlen < 1 {
		return s, fmt.Errorf("%w: rdata of %d bytes", ErrNetBIOS, rdlen)
	}
	rd = rd[:rdlen]
	n := int(rd[0])
	rd = rd[1:]
	if n*18 > len(rd) {
		return s, fmt.Errorf("%w: %d names in %d bytes", ErrNetBIOS, n, len(rd))
	}
	for i := 0; i < n && i < 64; i++ {
		e := rd[i*18:]
		s.Names = append(s.Names, NetBIOSName{Name: clean(bytes.TrimRight(e[:15], " \x00"), 15), Suffix: e[15], Group: e[16]&0x80 != 0})
	}
	if m := rd[n*18:]; len(m) >= 6 {
		s.MAC = fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
	}
	return s, nil
}

// CoAPWellKnownCore is a confirmable CoAP GET of /.well-known/core (RFC
// 6690), message ID mid, no token.
func CoAPWellKnownCore(mid uint16) []byte {
	b := []byte{0x40, 0x01, byte(mid >> 8), byte(mid)}
	b = append(b, 0xbb) // option 11 (Uri-Path), 11 bytes
	b = append(b, ".well-known"...)
	b = append(b, 0x04) // Uri-Path again, 4 bytes
	return append(b, "core"...)
}

// CoAPMessage is a CoAP message.
type CoAPMessage struct {
	Type    int    // 0 CON, 1 NON, 2 ACK, 3 RST
	Code    string // "2.05"
	MID     uint16
	Token   []byte
	Options []CoAPOption
	Payload []byte
}

// CoAPOption is one option of a message.
type CoAPOption struct {
	Number int
	Value  []byte
}

// ParseCoAP reads a CoAP message (RFC 7252 section 3).
func ParseCoAP(b []byte) (CoAPMessage, error) {
	var m CoAPMessage
	if len(b) < 4 || b[0]>>6 != 1 {
		return m, fmt.Errorf("%w: header", ErrCoAP)
	}
	m.Type = int(b[0] >> 4 & 3)
	tkl := int(b[0] & 0x0f)
	if tkl > 8 || 4+tkl > len(b) {
		return m, fmt.Errorf("%w: token length %d", ErrCoAP, tkl)
	}
	m.Code = fmt.Sprintf("%d.%02d", b[1]>>5, b[1]&0x1f)
	m.MID = binary.BigEndian.Uint16(b[2:])
	m.Token = b[4 : 4+tkl]
	p, num := b[4+tkl:], 0
	for len(p) > 0 {
		if p[0] == 0xff {
			if len(p) == 1 {
				return m, fmt.Errorf("%w: payload marker without payload", ErrCoAP)
			}
			m.Payload = p[1:]
			break
		}
		delta, length := int(p[0]>>4), int(p[0]&0x0f)
		p = p[1:]
		var err error
		if delta, p, err = coapExt(delta, p); err != nil {
			return m, err
		}
		if length, p, err = coapExt(length, p); err != nil {
			return m, err
		}
		if length > len(p) {
			return m, fmt.Errorf("%w: option of %d bytes", ErrCoAP, length)
		}
		num += delta
		if len(m.Options) < 64 {
			m.Options = append(m.Options, CoAPOption{Number: num, Value: p[:length]})
		}
		p = p[length:]
	}
	return m, nil
}

func coapExt(v int, p []byte) (int, []byte, error) {
	switch v {
	case 13:
		if len(p) < 1 {
			return 0, nil, fmt.Errorf("%w: truncated option", ErrCoAP)
		}
		return int(p[0]) + 13, p[1:], nil
	case 14:
		if len(p) < 2 {
			return 0, nil, fmt.Errorf("%w: truncated option", ErrCoAP)
		}
		return int(binary.BigEndian.Uint16(p)) + 269, p[2:], nil
	case 15:
		return 0, nil, fmt.Errorf("%w: reserved option nibble", ErrCoAP)
	}
	return v, p, nil
}

// TFTPReadRequest is a TFTP RRQ (RFC 1350) for name in octet mode.
func TFTPReadRequest(name string) []byte {
	b := []byte{0, 1}
	b = append(b, name...)
	b = append(b, 0)
	b = append(b, "octet"...)
	return append(b, 0)
}

// TFTPError is a TFTP ERROR packet (code 0, "not defined") the client
// sends to end a transfer it started.
func TFTPError(msg string) []byte {
	b := []byte{0, 5, 0, 0}
	b = append(b, msg...)
	return append(b, 0)
}

// TFTPReply is a server's answer to a request.
type TFTPReply struct {
	Opcode  int // 3 DATA, 5 ERROR, 6 OACK
	Block   int
	ErrCode int
	ErrMsg  string
	Data    []byte
}

// ParseTFTP reads a DATA, ERROR or OACK packet.
func ParseTFTP(b []byte) (TFTPReply, error) {
	var r TFTPReply
	if len(b) < 4 {
		return r, fmt.Errorf("%w: %d bytes", ErrTFTP, len(b))
	}
	r.Opcode = int(binary.BigEndian.Uint16(b))
	switch r.Opcode {
	case 3:
		if len(b) > 4+512 {
			// Larger blocks only after a negotiated blksize.
			return r, fmt.Errorf("%w: data block of %d bytes", ErrTFTP, len(b)-4)
		}
		r.Block = int(binary.BigEndian.Uint16(b[2:]))
		r.Data = b[4:]
	case 5:
		r.ErrCode = int(binary.BigEndian.Uint16(b[2:]))
		if r.ErrCode > 8 {
			return r, fmt.Errorf("%w: error code %d", ErrTFTP, r.ErrCode)
		}
		msg, _, ok := bytes.Cut(b[4:], []byte{0})
		if !ok {
			return r, fmt.Errorf("%w: unterminated error message", ErrTFTP)
		}
		r.ErrMsg = clean(msg, 256)
	case 6:
		if b[len(b)-1] != 0 {
			return r, fmt.Errorf("%w: unterminated option", ErrTFTP)
		}
		r.Data = b[2:]
	default:
		return r, fmt.Errorf("%w: opcode %d", ErrTFTP, r.Opcode)
	}
	return r, nil
}
