// Parsers of the Windows-world protocols: SMB negotiate (with NTLM),
// RDP X.224 and LDAP root DSE.

package fingerprint

import (
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"
)

// ---- SMB ----

var smbDialects = sync.OnceValue(func() map[uint16]string {
	return map[uint16]string{
		0x0202: "2.0.2", 0x0210: "2.1", 0x0300: "3.0", 0x0302: "3.0.2", 0x0311: "3.1.1", 0x02ff: "2.???",
	}
})

// parseSMB reads a NetBIOS session message carrying an SMB2 (or SMB1)
// NEGOTIATE response, or a NetBIOS session response. Facts: smb.protocol
// (1 or 2), smb.dialect, smb.signing, smb.server_guid, smb.status,
// smb.system_time, netbios.session.
func parseSMB(b []byte) (facts, error) {
	c := &cursor{b: b}
	typ := c.u8()
	l := int(c.u8()&1)<<16 | int(c.u16be())
	if c.short {
		return nil, ErrShort
	}
	f := facts{}
	switch typ {
	case 0x82:
		// A positive session response is exactly 82 00 00 00 (RFC 1002
		// 4.3.3); anything else is not NetBIOS (security F24).
		if l != 0 || b[1] != 0 {
			return nil, malformed("smb: netbios positive response of length %d", l)
		}
		f.set("netbios.session", "positive")
		if len(b) > 4 {
			sub, err := parseSMB(b[4:])
			if err == nil {
				for k, v := range sub {
					f[k] = v
				}
			}
		}
		return f, nil
	case 0x83:
		// A negative session response carries one error code, 0x80 to
		// 0x8F (RFC 1002 4.3.4).
		if l != 1 || b[1] != 0 || c.left() < 1 {
			return nil, malformed("smb: netbios negative response of length %d", l)
		}
		code := c.u8()
		if code < 0x80 || code > 0x8f {
			return nil, malformed("smb: netbios error code 0x%02x", code)
		}
		f.set("netbios.session", "negative")
		f.set("netbios.error", fmt.Sprintf("0x%02x", code))
		return f, nil
	case 0x00:
	default:
		return nil, malformed("smb: netbios type 0x%02x", typ)
	}
	msg := c.b[c.off:]
	if l < len(msg) {
		msg = msg[:l]
	}
	if len(msg) < 4 {
		return nil, ErrShort
	}
	switch string(msg[:4]) {
	case "\xfeSMB":
		h := &cursor{b: msg}
		h.take(4)
		if hl := h.u16le(); hl != 64 && !h.short {
			return nil, malformed("smb2: header length %d", hl)
		}
		h.take(2) // credit charge
		status := h.u32le()
		cmd := h.u16le()
		if h.short {
			return nil, ErrShort
		}
		f.set("smb.protocol", "2")
		f.set("smb.status", fmt.Sprintf("0x%08x", status))
		if cmd != 0 {
			return nil, malformed("smb2: command %d", cmd)
		}
		if len(msg) < 64 {
			return f, nil
		}
		r := &cursor{b: msg[64:]}
		size := r.u16le()
		sec := r.u16le()
		dialect := r.u16le()
		r.u16le()
		guid := r.take(16)
		caps := r.u32le()
		r.take(12)
		systime := r.u64le()
		if r.short || size != 65 {
			if size != 0 && size != 65 {
				return nil, malformed("smb2: negotiate size %d", size)
			}
			return f, nil
		}
		d, ok := smbDialects()[dialect]
		if !ok {
			d = fmt.Sprintf("0x%04x", dialect)
		}
		f.set("smb.dialect", d)
		switch {
		case sec&0x2 != 0:
			f.set("smb.signing", "required")
		case sec&0x1 != 0:
			f.set("smb.signing", "enabled")
		default:
			f.set("smb.signing", "disabled")
		}
		f.set("smb.server_guid", hex.EncodeToString(guid))
		f.set("smb.capabilities", fmt.Sprintf("0x%08x", caps))
		if t := filetime(systime); !t.IsZero() {
			f.set("smb.system_time", t.Format(time.RFC3339))
		}
		return f, nil
	case "\xffSMB":
		h := &cursor{b: msg}
		h.take(4)
		cmd := h.u8()
		status := h.u32le()
		if h.short {
			return nil, ErrShort
		}
		if cmd != 0x72 {
			return nil, malformed("smb1: command 0x%02x", cmd)
		}
		f.set("smb.protocol", "1")
		f.set("smb.status", fmt.Sprintf("0x%08x", status))
		h.take(23) // rest of the 32-byte header
		if wc := h.u8(); wc >= 17 && !h.short {
			idx := h.u16le()
			f.set("smb.dialect_index", itoa(int(idx)))
			f.set("smb.dialect", "NT LM 0.12")
		}
		return f, nil
	}
	return nil, malformed("smb: protocol id %x", msg[:4])
}

// filetime converts a Windows FILETIME (100 ns since 1601) when plausible.
func filetime(ft uint64) time.Time {
	const epochDiff = 116444736000000000
	if ft <= epochDiff {
		return time.Time{}
	}
	t := time.Unix(0, 0).Add(time.Duration((ft-epochDiff)/10000) * time.Millisecond).UTC()
	if t.Year() < 2000 || t.Year() > 2200 {
		return time.Time{}
	}
	return t
}

// ---- RDP ----

var rdpProtocols = sync.OnceValue(func() map[uint32]string {
	return map[uint32]string{0: "rdp", 1: "tls", 2: "credssp", 4: "rdstls", 8: "credssp-early", 16: "rdsaad"}
})

var rdpFailures = sync.OnceValue(func() map[uint32]string {
	return map[uint32]string{
		1: "ssl-required-by-server", 2: "ssl-not-allowed-by-server", 3: "ssl-cert-not-on-server",
		4: "inconsistent-flags", 5: "hybrid-required-by-server", 6: "ssl-with-user-auth-required-by-server",
	}
})

// parseRDP reads a TPKT + X.224 Connection Confirm, with its optional RDP
// negotiation response or failure. Facts: rdp.x224, rdp.neg,
// rdp.selected_protocol, rdp.neg_flags, rdp.failure.
func parseRDP(b []byte) (facts, error) {
	c := &cursor{b: b}
	ver := c.u8()
	reserved := c.u8()
	tl := int(c.u16be())
	li := int(c.u8())
	code := c.u8()
	if c.short {
		return nil, ErrShort
	}
	if ver != 3 || reserved != 0 || tl < 7 {
		return nil, malformed("rdp: tpkt version %d reserved %d length %d", ver, reserved, tl)
	}
	// The X.224 header's length indicator counts the TPDU header after
	// itself: the TPKT length less its 4 bytes and the indicator's own.
	// Random bytes that start like a TPKT rarely agree with themselves.
	if li != tl-5 {
		return nil, malformed("rdp: x.224 length indicator %d in a TPKT of %d bytes", li, tl)
	}
	if code&0xf0 != 0xd0 {
		return nil, malformed("rdp: x.224 code 0x%02x", code)
	}
	f := facts{}
	f.set("rdp.x224", "cc")
	c.take(5) // dst-ref, src-ref, class
	if li < 14 || c.left() < 8 {
		f.set("rdp.neg", "none")
		return f, nil
	}
	typ := c.u8()
	flags := c.u8()
	c.u16le()
	v := c.u32le()
	switch typ {
	case 0x02:
		f.set("rdp.neg", "response")
		p, ok := rdpProtocols()[v]
		if !ok {
			p = fmt.Sprintf("0x%x", v)
		}
		f.set("rdp.selected_protocol", p)
		f.set("rdp.neg_flags", fmt.Sprintf("0x%02x", flags))
	case 0x03:
		f.set("rdp.neg", "failure")
		p, ok := rdpFailures()[v]
		if !ok {
			p = fmt.Sprintf("0x%x", v)
		}
		f.set("rdp.failure", p)
	default:
		f.set("rdp.neg", fmt.Sprintf("0x%02x", typ))
	}
	return f, nil
}

// ---- LDAP (BER) ----

type tlv struct {
	tag  byte
	val  []byte
	rest []byte
}

// berNext reads one BER TLV with a definite length of at most 4 bytes.
func berNext(b []byte) (tlv, error) {
	if len(b) < 2 {
		return tlv{}, ErrShort
	}
	tag := b[0]
	if tag&0x1f == 0x1f {
		return tlv{}, malformed("ber: multi-byte tag")
	}
	l := int(b[1])
	i := 2
	if l&0x80 != 0 {
		n := l & 0x7f
		if n == 0 || n > 4 {
			return tlv{}, malformed("ber: length of length %d", n)
		}
		if len(b) < 2+n {
			return tlv{}, ErrShort
		}
		l = 0
		for _, x := range b[2 : 2+n] {
			l = l<<8 | int(x)
		}
		i += n
		if l < 0 {
			return tlv{}, malformed("ber: length")
		}
	}
	if len(b)-i < l {
		return tlv{}, ErrShort
	}
	return tlv{tag: tag, val: b[i : i+l], rest: b[i+l:]}, nil
}

func berInt(v []byte) int {
	if len(v) == 0 || len(v) > 4 {
		return -1
	}
	n := int(int8(v[0]))
	for _, x := range v[1:] {
		n = n<<8 | int(x)
	}
	return n
}

// parseLDAP reads LDAP messages (search result entries, search done, bind
// and extended responses). Facts: ldap.result_code, ldap.diagnostic,
// ldap.matched_dn, ldap.entries, ldap.attr.<lower-case attribute> (values
// joined with "; ").
func parseLDAP(b []byte) (facts, error) {
	f := facts{}
	entries, msgs := 0, 0
	for len(b) > 0 && msgs < 64 {
		m, err := berNext(b)
		if err != nil {
			if msgs > 0 {
				break
			}
			return nil, err
		}
		b = m.rest
		if m.tag != 0x30 {
			return nil, malformed("ldap: message tag 0x%02x", m.tag)
		}
		id, err := berNext(m.val)
		if err != nil || id.tag != 0x02 {
			return nil, malformed("ldap: message id")
		}
		op, err := berNext(id.rest)
		if err != nil {
			return nil, malformed("ldap: protocol op")
		}
		msgs++
		switch op.tag {
		case 0x64: // SearchResultEntry
			entries++
			dn, err := berNext(op.val)
			if err != nil {
				return nil, malformed("ldap: entry dn")
			}
			attrs, err := berNext(dn.rest)
			if err != nil {
				return nil, malformed("ldap: entry attributes")
			}
			rest := attrs.val
			for len(rest) > 0 && len(f) < 200 {
				a, err := berNext(rest)
				if err != nil {
					break
				}
				rest = a.rest
				typ, err := berNext(a.val)
				if err != nil {
					continue
				}
				vals, err := berNext(typ.rest)
				if err != nil {
					continue
				}
				var vs []string
				vr := vals.val
				for len(vr) > 0 && len(vs) < 32 {
					v, err := berNext(vr)
					if err != nil {
						break
					}
					vr = v.rest
					vs = append(vs, string(v.val))
				}
				f.set("ldap.attr."+strings.ToLower(string(typ.val)), strings.Join(vs, "; "))
			}
		case 0x61, 0x65, 0x67, 0x69, 0x6b, 0x6d, 0x6f, 0x78: // LDAPResult-shaped responses
			rc, err := berNext(op.val)
			if err != nil || rc.tag != 0x0a {
				return nil, malformed("ldap: result code")
			}
			f.set("ldap.result_code", itoa(berInt(rc.val)))
			if dn, err := berNext(rc.rest); err == nil {
				f.set("ldap.matched_dn", string(dn.val))
				if msg, err := berNext(dn.rest); err == nil {
					f.set("ldap.diagnostic", strings.ToValidUTF8(string(msg.val), "?"))
				}
			}
			f.set("ldap.op", fmt.Sprintf("0x%02x", op.tag))
		case 0x73: // SearchResultReference
		default:
			return nil, malformed("ldap: op tag 0x%02x", op.tag)
		}
	}
	if msgs == 0 {
		return nil, ErrShort
	}
	f.set("ldap.entries", itoa(entries))
	return f, nil
}
