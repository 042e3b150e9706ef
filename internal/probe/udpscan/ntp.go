package udpscan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// NTP modes (RFC 5905; 6 is the control protocol of RFC 9327, 7 ntpd's
// private mode).
const (
	NTPModeClient  = 3
	NTPModeServer  = 4
	NTPModeControl = 6
	NTPModePrivate = 7
)

// NTP control opcodes and private request codes this package uses.
const (
	NTPOpReadVar = 2  // mode 6 READVAR: the system variables
	NTPMonlist   = 42 // mode 7 REQ_MON_GETLIST_1 (monlist)
	ntpImplXNTPD = 3
)

// ErrNTP is returned for bytes that are not the NTP reply expected.
var ErrNTP = errors.New("udpscan: not an NTP reply")

// NTPClientRequest is an NTPv4 mode 3 (client) packet whose transmit
// timestamp is stamp, which a server copies into its reply.
func NTPClientRequest(stamp uint64) []byte {
	b := make([]byte, 48)
	b[0] = 0<<6 | 4<<3 | NTPModeClient
	binary.BigEndian.PutUint64(b[40:], stamp)
	return b
}

// NTPServerInfo is a mode 4 reply.
type NTPServerInfo struct {
	Version int
	Stratum int
	RefID   string
	Origin  uint64 // the client's transmit timestamp, echoed
}

// ParseNTPServer reads a mode 4 (server) reply.
func ParseNTPServer(b []byte) (NTPServerInfo, error) {
	var r NTPServerInfo
	if len(b) < 48 {
		return r, fmt.Errorf("%w: %d bytes", ErrNTP, len(b))
	}
	mode, vn := b[0]&7, int(b[0]>>3&7)
	if mode != NTPModeServer || vn < 1 || vn > 4 {
		return r, fmt.Errorf("%w: mode %d version %d", ErrNTP, mode, vn)
	}
	r.Version, r.Stratum = vn, int(b[1])
	ref := b[12:16]
	if r.Stratum <= 1 {
		r.RefID = clean(trimNUL(ref), 4)
	} else {
		r.RefID = fmt.Sprintf("%d.%d.%d.%d", ref[0], ref[1], ref[2], ref[3])
	}
	r.Origin = binary.BigEndian.Uint64(b[24:32])
	return r, nil
}

// NTPReadVarRequest is a mode 6 READVAR request for the system variables
// (association 0), sequence seq.
func NTPReadVarRequest(seq uint16) []byte {
	b := make([]byte, 12)
	b[0] = 0<<6 | 2<<3 | NTPModeControl
	b[1] = NTPOpReadVar
	binary.BigEndian.PutUint16(b[2:], seq)
	return b
}

// NTPControl is a mode 6 message.
type NTPControl struct {
	Response, Error, More bool
	Op                    int
	Seq, Status, Assoc    uint16
	Offset, Count         int
	Data                  []byte
}

// Vars reads the "name=value, ..." text of a READVAR reply.
func (c NTPControl) Vars() map[string]string {
	out := map[string]string{}
	for _, kv := range splitNTPVars(string(c.Data)) {
		k, v, _ := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if k == "" || len(out) >= 64 {
			continue
		}
		out[k] = clean([]byte(strings.Trim(strings.TrimSpace(v), `"`)), 256)
	}
	return out
}

// splitNTPVars splits on commas outside double quotes.
func splitNTPVars(s string) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// ParseNTPControl reads a mode 6 message.
func ParseNTPControl(b []byte) (NTPControl, error) {
	var c NTPControl
	if len(b) < 12 {
		return c, fmt.Errorf("%w: control message of %d bytes", ErrNTP, len(b))
	}
	if b[0]&7 != NTPModeControl {
		return c, fmt.Errorf("%w: mode %d", ErrNTP, b[0]&7)
	}
	c.Response, c.Error, c.More = b[1]&0x80 != 0, b[1]&0x40 != 0, b[1]&0x20 != 0
	c.Op = int(b[1] & 0x1f)
	c.Seq = binary.BigEndian.Uint16(b[2:])
	c.Status = binary.BigEndian.Uint16(b[4:])
	c.Assoc = binary.BigEndian.Uint16(b[6:])
	c.Offset = int(binary.BigEndian.Uint16(b[8:]))
	c.Count = int(binary.BigEndian.Uint16(b[10:]))
	if c.Count > len(b)-12 {
		return c, fmt.Errorf("%w: count %d beyond %d bytes", ErrNTP, c.Count, len(b)-12)
	}
	c.Data = b[12 : 12+c.Count]
	return c, nil
}

// NTPMonlistRequest is a mode 7 REQ_MON_GETLIST_1 request (ntpdc
// monlist), the query of the 2014 NTP amplification attacks: an 8-byte
// header padded with zeros to 48 bytes.
func NTPMonlistRequest() []byte {
	b := make([]byte, 48)
	b[0] = 0<<6 | 2<<3 | NTPModePrivate
	b[2], b[3] = ntpImplXNTPD, NTPMonlist
	return b
}

// NTPPrivate is a mode 7 message.
type NTPPrivate struct {
	Response, More bool
	Seq            int
	Impl, Req      int
	Err, Items     int
	ItemSize       int
	Data           []byte
}

// ParseNTPPrivate reads a mode 7 message.
func ParseNTPPrivate(b []byte) (NTPPrivate, error) {
	var p NTPPrivate
	if len(b) < 8 {
		return p, fmt.Errorf("%w: private message of %d bytes", ErrNTP, len(b))
	}
	if b[0]&7 != NTPModePrivate {
		return p, fmt.Errorf("%w: mode %d", ErrNTP, b[0]&7)
	}
	p.Response, p.More = b[0]&0x80 != 0, b[0]&0x40 != 0
	p.Seq = int(b[1] & 0x7f)
	p.Impl, p.Req = int(b[2]), int(b[3])
	p.Err = int(b[4] >> 4)
	p.Items = int(binary.BigEndian.Uint16(b[4:]) & 0x0fff)
	p.ItemSize = int(binary.BigEndian.Uint16(b[6:]) & 0x0fff)
	p.Data = b[8:]
	return p, nil
}
