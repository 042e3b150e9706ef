package tlsprobe

import (
	"crypto/rand"
	"fmt"
	"net/netip"
	"strings"
)

// Extension types (RFC 6066, 7627, 8422, 8446, 5746).
const (
	extServerName          uint16 = 0
	extSupportedGroups     uint16 = 10
	extECPointFormats      uint16 = 11
	extSignatureAlgorithms uint16 = 13
	extExtendedMasterSec   uint16 = 23
	extSupportedVersions   uint16 = 43
	extPSKModes            uint16 = 45
	extKeyShare            uint16 = 51
	extRenegotiationInfo   uint16 = 0xff01
)

const groupX25519 uint16 = 29

var (
	offeredGroups = []uint16{groupX25519, 23, 24, 25, 256, 257} // x25519, P-256, P-384, P-521, ffdhe2048, ffdhe3072
	offeredSigAlg = []uint16{
		0x0403, 0x0503, 0x0603, // ecdsa_secp256r1_sha256 .. secp521r1_sha512
		0x0804, 0x0805, 0x0806, // rsa_pss_rsae_sha256 ..
		0x0807,                 // ed25519
		0x0401, 0x0501, 0x0601, // rsa_pkcs1_sha256 ..
		0x0201, 0x0203, 0x0202, // rsa_pkcs1_sha1, ecdsa_sha1, dsa_sha1: old servers
	}
)

// Hello is a ClientHello to send.
type Hello struct {
	// Version is the version offered. TLS13 is offered the RFC 8446 way:
	// legacy_version TLS 1.2 and a supported_versions extension naming
	// TLS 1.3 only.
	Version Version
	// Suites are offered in order.
	Suites []uint16
	// ServerName goes in the SNI extension when it is a DNS name (never
	// for an address; never in an SSLv3 hello, which has no extensions).
	ServerName string
	// Random is the client random; zero means fresh random bytes.
	Random [32]byte
}

// Marshal returns the ClientHello as one handshake record.
func (h *Hello) Marshal() []byte {
	random := h.Random
	if random == [32]byte{} {
		_, _ = rand.Read(random[:])
	}
	legacy := h.Version
	if legacy > TLS12 {
		legacy = TLS12
	}
	recVersion := TLS10 // what most clients put in the first record header
	if h.Version == SSL30 {
		recVersion = SSL30
	}
	var w builder
	w.u8(RecordHandshake)
	w.u16(uint16(recVersion))
	w.vec(2, func() {
		w.u8(TypeClientHello)
		w.vec(3, func() {
			w.u16(uint16(legacy))
			w.bytes(random[:])
			w.vec(1, func() {
				if h.Version == TLS13 { // middlebox compatibility mode, RFC 8446 D.4
					w.bytes(random[:]) // any 32 bytes will do
				}
			})
			w.vec(2, func() {
				for _, s := range h.Suites {
					w.u16(s)
				}
			})
			w.vec(1, func() { w.u8(0) }) // null compression only
			if h.Version == SSL30 {
				return
			}
			w.vec(2, func() { h.extensions(&w) })
		})
	})
	return w.b
}

func (h *Hello) extensions(w *builder) {
	if name := sniName(h.ServerName); name != "" {
		w.u16(extServerName)
		w.vec(2, func() {
			w.vec(2, func() {
				w.u8(0) // host_name
				w.vec(2, func() { w.bytes([]byte(name)) })
			})
		})
	}
	w.u16(extSupportedGroups)
	w.vec(2, func() {
		w.vec(2, func() {
			for _, g := range offeredGroups {
				w.u16(g)
			}
		})
	})
	w.u16(extECPointFormats)
	w.vec(2, func() { w.vec(1, func() { w.u8(0) }) })
	if h.Version >= TLS12 {
		w.u16(extSignatureAlgorithms)
		w.vec(2, func() {
			w.vec(2, func() {
				for _, a := range offeredSigAlg {
					w.u16(a)
				}
			})
		})
	}
	if h.Version <= TLS12 {
		w.u16(extRenegotiationInfo)
		w.vec(2, func() { w.vec(1, func() {}) })
		w.u16(extExtendedMasterSec)
		w.vec(2, func() {})
		return
	}
	w.u16(extSupportedVersions)
	w.vec(2, func() { w.vec(1, func() { w.u16(uint16(TLS13)) }) })
	w.u16(extPSKModes)
	w.vec(2, func() { w.vec(1, func() { w.u8(1) }) }) // psk_dhe_ke
	w.u16(extKeyShare)
	w.vec(2, func() {
		w.vec(2, func() {
			// The server answers with its ServerHello before it could
			// notice that this share is not a real key; random bytes are
			// a valid X25519 public key anyway.
			var share [32]byte
			_, _ = rand.Read(share[:])
			w.u16(groupX25519)
			w.vec(2, func() { w.bytes(share[:]) })
		})
	})
}

// sniName returns name as it may appear in SNI: a DNS name without the
// trailing dot, or "" for an address or an empty name (RFC 6066 section 3).
func sniName(name string) string {
	name = strings.TrimSuffix(name, ".")
	if name == "" || len(name) > 253 {
		return ""
	}
	if _, err := netip.ParseAddr(strings.Trim(name, "[]")); err == nil {
		return ""
	}
	return name
}

// Summary describes h for evidence.
func (h *Hello) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ClientHello %s, %d suites", h.Version, len(h.Suites))
	if name := sniName(h.ServerName); name != "" && h.Version != SSL30 {
		fmt.Fprintf(&b, ", SNI %s", name)
	}
	b.WriteString(": ")
	for i, s := range h.Suites {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(SuiteName(s))
	}
	return b.String()
}

// ClientHello is a parsed ClientHello; fake servers in tests read it.
type ClientHello struct {
	LegacyVersion     Version
	Random            []byte
	SessionID         []byte
	Suites            []uint16
	Compression       []byte
	ServerName        string
	SupportedVersions []Version
	Extensions        []uint16 // types, in order
}

// MaxVersion returns the highest version the client offers.
func (c *ClientHello) MaxVersion() Version {
	max := Version(0)
	for _, v := range c.SupportedVersions {
		if v > max && v.Known() {
			max = v
		}
	}
	if max == 0 {
		max = c.LegacyVersion
	}
	return max
}

// ParseClientHello parses the body of a ClientHello handshake message.
func ParseClientHello(body []byte) (*ClientHello, error) {
	r := reader{b: body, ctx: "client hello"}
	c := &ClientHello{}
	c.LegacyVersion = Version(r.u16("version"))
	c.Random = r.take(32, "random")
	c.SessionID = r.vec(1, "session id")
	suites := r.vec(2, "cipher suites")
	c.Compression = r.vec(1, "compression methods")
	if r.err != nil {
		return nil, r.err
	}
	if len(c.SessionID) > 32 {
		return nil, fmt.Errorf("%w: client hello: session id of %d bytes", ErrMalformed, len(c.SessionID))
	}
	if len(suites)%2 != 0 || len(suites) == 0 {
		return nil, fmt.Errorf("%w: client hello: cipher suites of %d bytes", ErrMalformed, len(suites))
	}
	for i := 0; i < len(suites); i += 2 {
		c.Suites = append(c.Suites, uint16(suites[i])<<8|uint16(suites[i+1]))
	}
	if r.empty() {
		return c, nil // SSLv3 and early TLS hellos may have no extensions
	}
	exts := reader{b: r.vec(2, "extensions"), ctx: "client hello extensions"}
	if r.err != nil {
		return nil, r.err
	}
	if !r.empty() {
		return nil, fmt.Errorf("%w: client hello: %d trailing bytes", ErrMalformed, len(r.b))
	}
	for !exts.empty() && exts.err == nil {
		typ := exts.u16("type")
		data := reader{b: exts.vec(2, "data"), ctx: fmt.Sprintf("client hello extension %d", typ)}
		if exts.err != nil {
			break
		}
		c.Extensions = append(c.Extensions, typ)
		switch typ {
		case extServerName:
			list := reader{b: data.vec(2, "server name list"), ctx: data.ctx}
			for !list.empty() && list.err == nil {
				kind := list.u8("name type")
				name := list.vec(2, "name")
				if kind == 0 && c.ServerName == "" {
					c.ServerName = string(name)
				}
			}
			if list.err != nil {
				return nil, list.err
			}
		case extSupportedVersions:
			vs := data.vec(1, "versions")
			if len(vs)%2 != 0 {
				return nil, fmt.Errorf("%w: client hello: supported_versions of %d bytes", ErrMalformed, len(vs))
			}
			for i := 0; i < len(vs); i += 2 {
				c.SupportedVersions = append(c.SupportedVersions, Version(uint16(vs[i])<<8|uint16(vs[i+1])))
			}
		}
		if data.err != nil {
			return nil, data.err
		}
	}
	if exts.err != nil {
		return nil, exts.err
	}
	return c, nil
}
