package fingerprint

import (
	"bytes"
	"encoding/binary"
	"unicode/utf16"
)

// NTLM: an SMB2 SESSION_SETUP carrying an NTLMSSP NEGOTIATE makes the
// server answer with a CHALLENGE that states its OS version and its
// NetBIOS and DNS names, without any credentials being sent. We stop
// there; no session is ever established.

var ntlmSignature = []byte("NTLMSSP\x00")

// ntlmNegotiate is a raw NTLMSSP NEGOTIATE message (Windows and Samba
// accept it without a SPNEGO wrapper) asking for version and target info.
func ntlmNegotiate() []byte {
	m := append([]byte(nil), ntlmSignature...)
	m = binary.LittleEndian.AppendUint32(m, 1)          // NEGOTIATE
	m = binary.LittleEndian.AppendUint32(m, 0xe2088297) // unicode, NTLM, ext. security, version, 128, 56, ...
	m = append(m, make([]byte, 16)...)                  // domain and workstation: empty
	m = append(m, 6, 1, 0xb1, 0x1d, 0, 0, 0, 15)        // our version: 6.1.7601, NTLM revision 15
	return m
}

// smb2SessionSetup wraps token in an SMB2 SESSION_SETUP request.
func smb2SessionSetup(token []byte) []byte {
	h := make([]byte, 64)
	copy(h, "\xfeSMB")
	binary.LittleEndian.PutUint16(h[4:], 64)
	binary.LittleEndian.PutUint16(h[12:], 1) // SESSION_SETUP
	binary.LittleEndian.PutUint16(h[14:], 1) // credits requested
	binary.LittleEndian.PutUint64(h[24:], 1) // message id
	body := make([]byte, 24)
	binary.LittleEndian.PutUint16(body[0:], 25)
	body[3] = 1 // signing enabled
	binary.LittleEndian.PutUint16(body[12:], 64+24)
	binary.LittleEndian.PutUint16(body[14:], uint16(len(token)))
	return netbiosWrap(append(append(h, body...), token...))
}

// parseNTLMChallenge finds an NTLMSSP CHALLENGE anywhere in b (raw, or
// inside an SMB2 reply and a SPNEGO token) and reads its version and
// target info. Facts: ntlm.os_version (10.0.20348), ntlm.os_major,
// ntlm.os_minor, ntlm.os_build, ntlm.netbios_computer,
// ntlm.netbios_domain, ntlm.dns_computer, ntlm.dns_domain, ntlm.dns_tree.
func parseNTLMChallenge(b []byte) (facts, error) {
	i := bytes.Index(b, ntlmSignature)
	if i < 0 {
		return nil, malformed("ntlm: no NTLMSSP signature")
	}
	m := b[i:]
	c := &cursor{b: m}
	c.take(8)
	typ := c.u32le()
	c.take(8) // target name fields
	flags := c.u32le()
	c.take(16) // challenge, reserved
	tiLen := int(c.u16le())
	c.u16le()
	tiOff := int(c.u32le())
	if c.short {
		return nil, ErrShort
	}
	if typ != 2 {
		return nil, malformed("ntlm: message type %d", typ)
	}
	f := facts{}
	if flags&0x02000000 != 0 { // NEGOTIATE_VERSION
		v := c.take(8)
		if v != nil && v[0] > 0 {
			build := binary.LittleEndian.Uint16(v[2:4])
			f.set("ntlm.os_major", itoa(int(v[0])))
			f.set("ntlm.os_minor", itoa(int(v[1])))
			f.set("ntlm.os_build", itoa(int(build)))
			f.set("ntlm.os_version", itoa(int(v[0]))+"."+itoa(int(v[1]))+"."+itoa(int(build)))
		}
	}
	if tiOff > 0 && tiLen > 0 && tiOff+tiLen <= len(m) {
		ti := &cursor{b: m[tiOff : tiOff+tiLen]}
		names := map[uint16]string{1: "ntlm.netbios_computer", 2: "ntlm.netbios_domain", 3: "ntlm.dns_computer", 4: "ntlm.dns_domain", 5: "ntlm.dns_tree"}
		for n := 0; n < 16; n++ {
			id := ti.u16le()
			l := int(ti.u16le())
			v := ti.take(l)
			if ti.short || id == 0 {
				break
			}
			if key, ok := names[id]; ok {
				if s := utf16le(v); printable(s) {
					f.set(key, s)
				}
			}
		}
	}
	f.set("ntlm.challenge", "1")
	return f, nil
}

func utf16le(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}
