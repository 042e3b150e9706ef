// Parsers of MQTT CONNACK and DNS-over-TCP replies.

package fingerprint

import (
	"strings"
)

// ---- MQTT ----

// parseMQTT reads a stream of MQTT control packets: CONNACK (v3.1.1 or
// v5), SUBACK and PUBLISH. Facts: mqtt.connack, mqtt.return_code,
// mqtt.session_present, mqtt.publish.<topic>.
func parseMQTT(b []byte) (facts, error) {
	f := facts{}
	pkts := 0
	for len(b) > 0 && pkts < 64 {
		typ := b[0] >> 4
		// Remaining length: up to four 7-bit groups.
		l, mult, i := 0, 1, 1
		for ; ; i++ {
			if i >= len(b) || i > 4 {
				if pkts > 0 {
					return f, nil
				}
				return nil, ErrShort
			}
			l += int(b[i]&0x7f) * mult
			mult *= 128
			if b[i]&0x80 == 0 {
				i++
				break
			}
		}
		if len(b)-i < l {
			if pkts > 0 {
				return f, nil
			}
			return nil, ErrShort
		}
		body := b[i : i+l]
		b = b[i+l:]
		switch typ {
		case 2: // CONNACK
			if pkts == 0 && b0(body) > 1 {
				return nil, malformed("mqtt: connack flags")
			}
			if l < 2 {
				return nil, malformed("mqtt: connack length %d", l)
			}
			f.set("mqtt.connack", "1")
			f.set("mqtt.session_present", itoa(int(body[0]&1)))
			f.set("mqtt.return_code", itoa(int(body[1])))
			if l > 2 {
				f.set("mqtt.protocol", "5")
			} else {
				f.set("mqtt.protocol", "3.1.1")
			}
		case 9: // SUBACK
			f.set("mqtt.suback", "1")
		case 3: // PUBLISH
			c := &cursor{b: body}
			tl := int(c.u16be())
			topic := c.take(tl)
			if c.short {
				continue
			}
			// No packet identifier: we subscribe at QoS 0.
			if len(f) < 64 && printable(string(topic)) {
				f.set("mqtt.publish."+string(topic), string(c.b[c.off:]))
			}
		default:
			if pkts == 0 {
				return nil, malformed("mqtt: first packet type %d", typ)
			}
		}
		pkts++
	}
	if pkts == 0 {
		return nil, ErrShort
	}
	return f, nil
}

func b0(b []byte) byte {
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// ---- DNS over TCP ----

var rcodes = []string{"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"}

// parseDNS reads a length-prefixed DNS message. Facts: dns.id, dns.qr,
// dns.aa, dns.ra, dns.rcode, dns.answers, dns.txt (the strings of the
// first TXT answer, joined with a space).
func parseDNS(b []byte) (facts, error) {
	c := &cursor{b: b}
	l := int(c.u16be())
	if c.short {
		return nil, ErrShort
	}
	msg := c.b[c.off:]
	if l < 12 {
		return nil, malformed("dns: length %d", l)
	}
	if len(msg) > l {
		msg = msg[:l]
	}
	m := &cursor{b: msg}
	id := m.u16be()
	flags := m.u16be()
	qd := int(m.u16be())
	an := int(m.u16be())
	m.u16be()
	m.u16be()
	if m.short {
		return nil, ErrShort
	}
	if flags&0x8000 == 0 {
		return nil, malformed("dns: not a response")
	}
	f := facts{}
	f.set("dns.id", itoa(int(id)))
	f.set("dns.qr", "1")
	f.set("dns.aa", itoa(int(flags>>10&1)))
	f.set("dns.ra", itoa(int(flags>>7&1)))
	rc := int(flags & 0xf)
	if rc < len(rcodes) {
		f.set("dns.rcode", rcodes[rc])
	} else {
		f.set("dns.rcode", itoa(rc))
	}
	f.set("dns.answers", itoa(an))
	for i := 0; i < qd && i < 4; i++ {
		if !skipName(m) {
			return f, nil
		}
		m.take(4)
	}
	for i := 0; i < an && i < 16; i++ {
		if !skipName(m) {
			return f, nil
		}
		typ := m.u16be()
		m.u16be() // class
		m.u32be() // ttl
		rdl := int(m.u16be())
		rd := m.take(rdl)
		if m.short {
			return f, nil
		}
		if typ == 16 {
			var parts []string
			for len(rd) > 0 {
				n := int(rd[0])
				if n+1 > len(rd) {
					break
				}
				parts = append(parts, string(rd[1:1+n]))
				rd = rd[1+n:]
			}
			if _, ok := f["dns.txt"]; !ok {
				f.set("dns.txt", strings.ToValidUTF8(strings.Join(parts, " "), "?"))
			}
		}
	}
	return f, nil
}

// skipName moves past a (possibly compressed) domain name.
func skipName(m *cursor) bool {
	for hops := 0; hops < 128; hops++ {
		n := m.u8()
		if m.short {
			return false
		}
		switch {
		case n == 0:
			return true
		case n&0xc0 == 0xc0:
			m.u8()
			return !m.short
		case n&0xc0 != 0:
			return false
		default:
			if m.take(int(n)) == nil {
				return false
			}
		}
	}
	return false
}
