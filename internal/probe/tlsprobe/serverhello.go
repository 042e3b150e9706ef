package tlsprobe

import (
	"bytes"
	"fmt"
)

// helloRetryRandom marks a HelloRetryRequest (RFC 8446 section 4.1.3).
var helloRetryRandom = []byte{
	0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
	0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
}

// ServerHello is a parsed ServerHello.
type ServerHello struct {
	// Version is the negotiated version: the supported_versions
	// extension when present (TLS 1.3), else the legacy field.
	Version       Version
	LegacyVersion Version
	Suite         uint16
	Compression   uint8
	SessionIDLen  int
	Extensions    []uint16 // types, in order
	// HelloRetry is set for a HelloRetryRequest: the server wants TLS 1.3
	// but another key share; it still proves TLS 1.3 support.
	HelloRetry bool
}

// ParseServerHello parses the body of a ServerHello handshake message.
func ParseServerHello(body []byte) (*ServerHello, error) {
	r := reader{b: body, ctx: "server hello"}
	s := &ServerHello{}
	s.LegacyVersion = Version(r.u16("version"))
	random := r.take(32, "random")
	sid := r.vec(1, "session id")
	s.Suite = r.u16("cipher suite")
	s.Compression = r.u8("compression method")
	if r.err != nil {
		return nil, r.err
	}
	if len(sid) > 32 {
		return nil, fmt.Errorf("%w: server hello: session id of %d bytes", ErrMalformed, len(sid))
	}
	s.SessionIDLen = len(sid)
	s.Version = s.LegacyVersion
	s.HelloRetry = bytes.Equal(random, helloRetryRandom)
	if s.LegacyVersion>>8 != 3 {
		return nil, fmt.Errorf("%w: server hello: version 0x%04x", ErrMalformed, uint16(s.LegacyVersion))
	}
	if r.empty() {
		return s, nil
	}
	exts := reader{b: r.vec(2, "extensions"), ctx: "server hello extensions"}
	if r.err != nil {
		return nil, r.err
	}
	if !r.empty() {
		return nil, fmt.Errorf("%w: server hello: %d trailing bytes", ErrMalformed, len(r.b))
	}
	seen := map[uint16]bool{}
	for !exts.empty() && exts.err == nil {
		typ := exts.u16("type")
		data := exts.vec(2, "data")
		if exts.err != nil {
			break
		}
		if seen[typ] {
			return nil, fmt.Errorf("%w: server hello: extension %d twice", ErrMalformed, typ)
		}
		seen[typ] = true
		s.Extensions = append(s.Extensions, typ)
		if typ == extSupportedVersions {
			if len(data) != 2 {
				return nil, fmt.Errorf("%w: server hello: supported_versions of %d bytes", ErrMalformed, len(data))
			}
			s.Version = Version(uint16(data[0])<<8 | uint16(data[1]))
		}
	}
	if exts.err != nil {
		return nil, exts.err
	}
	return s, nil
}

// Summary describes s for evidence.
func (s *ServerHello) Summary() string {
	kind := "ServerHello"
	if s.HelloRetry {
		kind = "HelloRetryRequest"
	}
	return fmt.Sprintf("%s %s %s", kind, s.Version, SuiteName(s.Suite))
}

// maxChainCerts caps how many certificates of a chain are kept.
const maxChainCerts = 10

// ParseCertificate parses the body of a TLS 1.2-or-older Certificate
// message into DER certificates, leaf first. At most 10 are returned.
func ParseCertificate(body []byte) ([][]byte, error) {
	r := reader{b: body, ctx: "certificate"}
	list := reader{b: r.vec(3, "certificate list"), ctx: "certificate list"}
	if r.err != nil {
		return nil, r.err
	}
	if !r.empty() {
		return nil, fmt.Errorf("%w: certificate: %d trailing bytes", ErrMalformed, len(r.b))
	}
	var certs [][]byte
	for !list.empty() {
		der := list.vec(3, "certificate")
		if list.err != nil {
			return nil, list.err
		}
		if len(der) == 0 {
			return nil, fmt.Errorf("%w: certificate: empty entry", ErrMalformed)
		}
		if len(certs) < maxChainCerts {
			certs = append(certs, der)
		}
	}
	return certs, nil
}

// ServerFlight builds what a TLS 1.2-or-older server sends after a
// ClientHello: ServerHello, an optional Certificate and ServerHelloDone,
// in one handshake record. Fake servers in tests and benchmarks use it.
func ServerFlight(v Version, suite uint16, chain [][]byte) []byte {
	var w builder
	recVersion := v
	if recVersion > TLS12 {
		recVersion = TLS12
	}
	w.u8(RecordHandshake)
	w.u16(uint16(recVersion))
	w.vec(2, func() {
		w.u8(TypeServerHello)
		w.vec(3, func() {
			w.u16(uint16(v))
			var random [32]byte
			for i := range random {
				random[i] = byte(i * 7)
			}
			w.bytes(random[:])
			w.vec(1, func() {})
			w.u16(suite)
			w.u8(0)
			if v != SSL30 {
				w.vec(2, func() {
					w.u16(extRenegotiationInfo)
					w.vec(2, func() { w.vec(1, func() {}) })
				})
			}
		})
		if len(chain) > 0 {
			w.u8(TypeCertificate)
			w.vec(3, func() {
				w.vec(3, func() {
					for _, der := range chain {
						w.vec(3, func() { w.bytes(der) })
					}
				})
			})
		}
		w.u8(TypeServerHelloDone)
		w.vec(3, func() {})
	})
	return w.b
}

// AlertRecord builds a fatal alert record.
func AlertRecord(v Version, desc uint8) []byte {
	if v > TLS12 || v < SSL30 {
		v = TLS12
	}
	return []byte{RecordAlert, byte(v >> 8), byte(v), 0, 2, 2, desc}
}
