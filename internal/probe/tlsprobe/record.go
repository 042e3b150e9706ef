package tlsprobe

import (
	"errors"
	"fmt"
	"sync"
)

// Sentinel errors. Parsers wrap ErrMalformed with what was wrong.
var (
	// ErrShort means the input ends before the structure does; read more.
	ErrShort = errors.New("tlsprobe: input ends early")
	// ErrMalformed means the bytes are not a well-formed TLS structure.
	ErrMalformed = errors.New("tlsprobe: malformed")
	// ErrTooLarge means a length field exceeds what the protocol allows
	// or what we are willing to buffer.
	ErrTooLarge = errors.New("tlsprobe: too large")
	// ErrDial means the probe could not open a connection to the target.
	ErrDial = errors.New("tlsprobe: dial")
)

// Content types (RFC 5246 section 6.2.1).
const (
	RecordChangeCipherSpec uint8 = 20
	RecordAlert            uint8 = 21
	RecordHandshake        uint8 = 22
	RecordApplicationData  uint8 = 23
)

// Handshake message types (RFC 5246 section 7.4, RFC 8446 section 4).
const (
	TypeClientHello       uint8 = 1
	TypeServerHello       uint8 = 2
	TypeCertificate       uint8 = 11
	TypeServerKeyExchange uint8 = 12
	TypeCertificateReq    uint8 = 13
	TypeServerHelloDone   uint8 = 14
)

const (
	recordHeaderLen = 5
	// maxRecordLen is the largest fragment RFC 5246 allows on the wire
	// (2^14 plus the expansion allowance for ciphertext).
	maxRecordLen = 1<<14 + 2048
	// maxHandshakeLen caps one handshake message; a certificate chain is
	// the largest thing we read and real ones stay far below this.
	maxHandshakeLen = 1 << 17
)

// Record is one TLS record.
type Record struct {
	Type     uint8
	Version  Version
	Fragment []byte // aliases the input
}

// ParseRecord reads one record from the start of b and returns it with the
// number of bytes it took. It returns ErrShort when b holds only part of
// a record, and ErrMalformed for bytes that cannot be a TLS record (an
// SSLv2 reply, an HTTP error page, a banner).
func ParseRecord(b []byte) (Record, int, error) {
	if len(b) < recordHeaderLen {
		if len(b) > 0 && !validContentType(b[0]) {
			return Record{}, 0, fmt.Errorf("%w: content type %d", ErrMalformed, b[0])
		}
		return Record{}, 0, ErrShort
	}
	r := Record{Type: b[0], Version: Version(uint16(b[1])<<8 | uint16(b[2]))}
	if !validContentType(r.Type) {
		return Record{}, 0, fmt.Errorf("%w: content type %d", ErrMalformed, r.Type)
	}
	if b[1] != 3 { // SSLv3 and every TLS version have major 3
		return Record{}, 0, fmt.Errorf("%w: record version 0x%04x", ErrMalformed, uint16(r.Version))
	}
	n := int(b[3])<<8 | int(b[4])
	if n > maxRecordLen {
		return Record{}, 0, fmt.Errorf("%w: record length %d", ErrTooLarge, n)
	}
	if n == 0 && r.Type != RecordApplicationData {
		return Record{}, 0, fmt.Errorf("%w: empty %d record", ErrMalformed, r.Type)
	}
	if len(b) < recordHeaderLen+n {
		return Record{}, 0, ErrShort
	}
	r.Fragment = b[recordHeaderLen : recordHeaderLen+n]
	return r, recordHeaderLen + n, nil
}

func validContentType(t uint8) bool { return t >= RecordChangeCipherSpec && t <= RecordApplicationData }

// Handshake is one handshake message.
type Handshake struct {
	Type uint8
	Body []byte // aliases the input
}

// ParseHandshakes splits the concatenated fragments of handshake records
// into messages. Messages may span records, so the incomplete tail is
// returned as rest for the caller to extend; it is not an error.
func ParseHandshakes(b []byte) (msgs []Handshake, rest []byte, err error) {
	for len(b) >= 4 {
		n := int(b[1])<<16 | int(b[2])<<8 | int(b[3])
		if n > maxHandshakeLen {
			return msgs, b, fmt.Errorf("%w: handshake message type %d of %d bytes", ErrTooLarge, b[0], n)
		}
		if len(b) < 4+n {
			break
		}
		msgs = append(msgs, Handshake{Type: b[0], Body: b[4 : 4+n]})
		b = b[4+n:]
	}
	return msgs, b, nil
}

// Alert is a TLS alert (RFC 5246 section 7.2, RFC 8446 section 6).
type Alert struct {
	Level       uint8
	Description uint8
}

// Alert descriptions a probe commonly meets.
const (
	AlertCloseNotify        uint8 = 0
	AlertUnexpectedMessage  uint8 = 10
	AlertHandshakeFailure   uint8 = 40
	AlertIllegalParameter   uint8 = 47
	AlertDecodeError        uint8 = 50
	AlertProtocolVersion    uint8 = 70
	AlertInsufficientSec    uint8 = 71
	AlertInternalError      uint8 = 80
	AlertInappropriateFallb uint8 = 86
	AlertUnrecognizedName   uint8 = 112
)

var alertNames = sync.OnceValue(func() map[uint8]string {
	return map[uint8]string{
		0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 22: "record_overflow",
		40: "handshake_failure", 42: "bad_certificate", 47: "illegal_parameter", 50: "decode_error",
		70: "protocol_version", 71: "insufficient_security", 80: "internal_error",
		86: "inappropriate_fallback", 90: "user_canceled", 109: "missing_extension",
		110: "unsupported_extension", 112: "unrecognized_name", 120: "no_application_protocol",
	}
})

// ParseAlert reads an alert from a record fragment.
func ParseAlert(b []byte) (Alert, error) {
	if len(b) < 2 {
		return Alert{}, fmt.Errorf("%w: alert of %d bytes", ErrMalformed, len(b))
	}
	return Alert{Level: b[0], Description: b[1]}, nil
}

// String names the alert ("fatal handshake_failure").
func (a Alert) String() string {
	level := "warning"
	if a.Level == 2 {
		level = "fatal"
	}
	name, ok := alertNames()[a.Description]
	if !ok {
		name = fmt.Sprintf("alert(%d)", a.Description)
	}
	return level + " " + name
}
