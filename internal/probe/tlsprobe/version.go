package tlsprobe

import "fmt"

// Version is a protocol version as it appears on the wire.
type Version uint16

// The versions a probe can offer.
const (
	SSL30 Version = 0x0300
	TLS10 Version = 0x0301
	TLS11 Version = 0x0302
	TLS12 Version = 0x0303
	TLS13 Version = 0x0304
)

// Versions lists the versions a probe can offer, oldest first.
var Versions = []Version{SSL30, TLS10, TLS11, TLS12, TLS13}

// String names v the way sslscan and OpenSSL do ("SSLv3", "TLSv1.2").
func (v Version) String() string {
	switch v {
	case SSL30:
		return "SSLv3"
	case TLS10:
		return "TLSv1.0"
	case TLS11:
		return "TLSv1.1"
	case TLS12:
		return "TLSv1.2"
	case TLS13:
		return "TLSv1.3"
	}
	return fmt.Sprintf("0x%04x", uint16(v))
}

// Known reports whether v is one of Versions.
func (v Version) Known() bool { return v >= SSL30 && v <= TLS13 }
