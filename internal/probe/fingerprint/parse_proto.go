package fingerprint

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ---- Redis ----

// parseRedis reads the replies to "PING" and "INFO server". Facts:
// redis.pong, redis.error (first error line), redis.auth_required,
// redis.<info key> for every key:value line of the INFO bulk string.
func parseRedis(b []byte) (facts, error) {
	if len(b) == 0 {
		return nil, ErrShort
	}
	switch b[0] {
	case '+', '-', '$', '*', ':':
	default:
		return nil, malformed("redis: reply type %q", b[0])
	}
	f := facts{}
	rest := b
	for len(rest) > 0 {
		i := bytes.Index(rest, []byte("\r\n"))
		if i < 0 {
			break
		}
		line := string(rest[:i])
		rest = rest[i+2:]
		switch {
		case line == "+PONG":
			f.set("redis.pong", "1")
		case strings.HasPrefix(line, "-"):
			if _, ok := f["redis.error"]; !ok {
				f.set("redis.error", line[1:])
			}
			if strings.HasPrefix(line, "-NOAUTH") || strings.Contains(line, "Authentication required") {
				f.set("redis.auth_required", "1")
			}
		case strings.HasPrefix(line, "$"):
			n, err := strconv.Atoi(line[1:])
			if err != nil || n < 0 {
				continue
			}
			body := rest
			if n < len(body) {
				body = body[:n]
			}
			rest = rest[len(body):]
			for _, l := range strings.Split(string(body), "\n") {
				l = strings.TrimRight(l, "\r")
				if l == "" || l[0] == '#' {
					continue
				}
				if k, v, ok := strings.Cut(l, ":"); ok && k != "" && len(f) < 200 {
					f.set("redis."+k, v)
				}
			}
		}
	}
	if len(f) == 0 {
		return nil, malformed("redis: no reply lines")
	}
	return f, nil
}

// ---- MongoDB ----

const (
	opReply = 1
	opMsg   = 2013
)

// parseMongo reads an OP_MSG or OP_REPLY wire message and flattens its
// BSON document into mongo.<path> facts (mongo.version, mongo.ok,
// mongo.maxWireVersion, mongo.errmsg, ...).
func parseMongo(b []byte) (facts, error) {
	c := &cursor{b: b}
	length := int(int32(c.u32le()))
	c.u32le() // requestID
	c.u32le() // responseTo
	op := c.u32le()
	if c.short {
		return nil, ErrShort
	}
	if length < 16 || length > 48<<20 {
		return nil, malformed("mongodb: message length %d", length)
	}
	if length < len(b) {
		c.b = b[:length]
	}
	var doc []byte
	switch op {
	case opMsg:
		c.u32le() // flagBits
		if k := c.u8(); k != 0 || c.short {
			return nil, malformed("mongodb: section kind %d", k)
		}
		doc = c.b[c.off:]
	case opReply:
		c.take(4 + 8 + 4 + 4)
		if c.short {
			return nil, ErrShort
		}
		doc = c.b[c.off:]
	default:
		return nil, malformed("mongodb: opcode %d", op)
	}
	f := facts{}
	if err := flattenBSON(doc, "mongo", f); err != nil {
		return nil, err
	}
	f.set("mongo.opcode", strconv.FormatUint(uint64(op), 10))
	return f, nil
}

// flattenBSON flattens one BSON document into prefix.<path> facts.
func flattenBSON(b []byte, prefix string, f facts) error {
	n := 0
	return bsonDoc(b, prefix, f, 0, &n)
}

func bsonDoc(b []byte, prefix string, f facts, depth int, n *int) error {
	if depth > maxJSONDepth {
		return malformed("bson: nested too deep")
	}
	c := &cursor{b: b}
	size := int(int32(c.u32le()))
	if c.short {
		return ErrShort
	}
	if size < 5 || size > len(b) {
		return malformed("bson: document size %d of %d", size, len(b))
	}
	c.b = b[:size]
	for {
		t := c.u8()
		if c.short {
			return ErrShort
		}
		if t == 0 {
			return nil
		}
		name, ok := c.cstring()
		if !ok {
			return ErrShort
		}
		key := prefix + "." + name
		put := func(v string) {
			if *n < maxJSONFacts {
				*n++
				f.set(key, v)
			}
		}
		switch t {
		case 0x01: // double
			v := math.Float64frombits(c.u64le())
			put(strconv.FormatFloat(v, 'g', -1, 64))
		case 0x02, 0x0D, 0x0E: // string, JS code, symbol
			l := int(int32(c.u32le()))
			s := c.take(l)
			if s == nil || l < 1 || s[l-1] != 0 {
				return malformed("bson: string")
			}
			put(string(s[:l-1]))
		case 0x03, 0x04: // document, array
			if c.left() < 4 {
				return ErrShort
			}
			l := int(int32(binary.LittleEndian.Uint32(c.b[c.off:])))
			sub := c.take(l)
			if sub == nil {
				return malformed("bson: subdocument size %d", l)
			}
			if err := bsonDoc(sub, key, f, depth+1, n); err != nil {
				return err
			}
		case 0x05: // binary
			l := int(int32(c.u32le()))
			c.u8()
			if c.take(l) == nil {
				return malformed("bson: binary")
			}
		case 0x06, 0x0A, 0x7F, 0xFF: // undefined, null, max, min
			put("")
		case 0x07: // ObjectId
			if id := c.take(12); id != nil {
				put(hex.EncodeToString(id))
			}
		case 0x08:
			put(strconv.FormatBool(c.u8() != 0))
		case 0x09: // UTC datetime, ms
			ms := int64(c.u64le())
			put(time.UnixMilli(ms).UTC().Format(time.RFC3339))
		case 0x0B: // regex: pattern, options
			c.cstring()
			c.cstring()
		case 0x10:
			put(strconv.Itoa(int(int32(c.u32le()))))
		case 0x11, 0x12: // timestamp, int64
			put(strconv.FormatInt(int64(c.u64le()), 10))
		case 0x13:
			c.take(16)
		case 0x0C: // DBPointer
			l := int(int32(c.u32le()))
			c.take(l)
			c.take(12)
		case 0x0F: // code with scope
			l := int(int32(c.u32le()))
			c.take(l - 4)
		default:
			return malformed("bson: element type 0x%02x", t)
		}
		if c.short {
			return ErrShort
		}
	}
}

// ---- MSSQL (TDS PRELOGIN) ----

// parseMSSQLPrelogin reads a TDS PRELOGIN response. Facts: mssql.version
// (major.minor.build.subbuild), mssql.version_major, mssql.encryption,
// mssql.instance.
func parseMSSQLPrelogin(b []byte) (facts, error) {
	c := &cursor{b: b}
	typ := c.u8()
	c.u8() // status
	length := int(c.u16be())
	c.take(4)
	if c.short {
		return nil, ErrShort
	}
	if typ != 0x04 {
		return nil, malformed("mssql: packet type 0x%02x", typ)
	}
	if length < 8 {
		return nil, malformed("mssql: length %d", length)
	}
	payload := b[8:min(length, len(b))]
	f := facts{}
	p := &cursor{b: payload}
	for i := 0; i < 32; i++ {
		tok := p.u8()
		if p.short {
			return nil, ErrShort
		}
		if tok == 0xff {
			break
		}
		off := int(p.u16be())
		l := int(p.u16be())
		if p.short {
			return nil, ErrShort
		}
		if off+l > len(payload) {
			return nil, malformed("mssql: option %d out of range", tok)
		}
		v := payload[off : off+l]
		switch tok {
		case 0x00: // VERSION
			if l < 6 {
				return nil, malformed("mssql: version option length %d", l)
			}
			maj, mnr := v[0], v[1]
			build := binary.BigEndian.Uint16(v[2:4])
			sub := binary.BigEndian.Uint16(v[4:6])
			f.set("mssql.version", fmt.Sprintf("%d.%d.%d.%d", maj, mnr, build, sub))
			f.set("mssql.version_major", itoa(int(maj)))
			f.set("mssql.version_minor", itoa(int(mnr)))
			f.set("mssql.version_build", itoa(int(build)))
		case 0x01: // ENCRYPTION
			if l >= 1 {
				names := []string{"off", "on", "not-supported", "required"}
				e := "0x" + hex.EncodeToString(v[:1])
				if int(v[0]) < len(names) {
					e = names[v[0]]
				}
				f.set("mssql.encryption", e)
			}
		case 0x02: // INSTOPT
			s := string(bytes.TrimRight(v, "\x00"))
			if printable(s) {
				f.set("mssql.instance", s)
			}
		}
	}
	if _, ok := f["mssql.version"]; !ok {
		return nil, malformed("mssql: no version option")
	}
	f.set("mssql.prelogin", "1")
	return f, nil
}

// ---- SMB ----

var smbDialects = map[uint16]string{
	0x0202: "2.0.2", 0x0210: "2.1", 0x0300: "3.0", 0x0302: "3.0.2", 0x0311: "3.1.1", 0x02ff: "2.???",
}

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
		f.set("netbios.session", "negative")
		if c.left() > 0 {
			f.set("netbios.error", fmt.Sprintf("0x%02x", c.u8()))
		}
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
		d, ok := smbDialects[dialect]
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

var rdpProtocols = map[uint32]string{0: "rdp", 1: "tls", 2: "credssp", 4: "rdstls", 8: "credssp-early", 16: "rdsaad"}

var rdpFailures = map[uint32]string{
	1: "ssl-required-by-server", 2: "ssl-not-allowed-by-server", 3: "ssl-cert-not-on-server",
	4: "inconsistent-flags", 5: "hybrid-required-by-server", 6: "ssl-with-user-auth-required-by-server",
}

// parseRDP reads a TPKT + X.224 Connection Confirm, with its optional RDP
// negotiation response or failure. Facts: rdp.x224, rdp.neg,
// rdp.selected_protocol, rdp.neg_flags, rdp.failure.
func parseRDP(b []byte) (facts, error) {
	c := &cursor{b: b}
	ver := c.u8()
	c.u8()
	tl := int(c.u16be())
	li := int(c.u8())
	code := c.u8()
	if c.short {
		return nil, ErrShort
	}
	if ver != 3 || tl < 7 {
		return nil, malformed("rdp: tpkt version %d length %d", ver, tl)
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
		p, ok := rdpProtocols[v]
		if !ok {
			p = fmt.Sprintf("0x%x", v)
		}
		f.set("rdp.selected_protocol", p)
		f.set("rdp.neg_flags", fmt.Sprintf("0x%02x", flags))
	case 0x03:
		f.set("rdp.neg", "failure")
		p, ok := rdpFailures[v]
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

// ---- PostgreSQL ----

var pgAuth = map[uint32]string{0: "ok", 2: "kerberos", 3: "cleartext", 5: "md5", 6: "scm", 7: "gss", 9: "sspi", 10: "sasl", 11: "sasl-continue", 12: "sasl-final"}

// parsePostgres reads the backend messages that answer a StartupMessage.
// Facts: pg.auth, pg.sasl_mechanisms, pg.error.{severity,code,message,
// file,line,routine}, pg.param.<name> (server_version among them).
func parsePostgres(b []byte) (facts, error) {
	f := facts{}
	msgs := 0
	for len(b) >= 5 && msgs < 64 {
		typ := b[0]
		l := int(binary.BigEndian.Uint32(b[1:5]))
		if l < 4 || l > 1<<20 {
			return nil, malformed("postgresql: message length %d", l)
		}
		if len(b)-1 < l {
			if msgs > 0 {
				break
			}
			return nil, ErrShort
		}
		body := b[5 : 1+l]
		b = b[1+l:]
		switch typ {
		case 'R':
			if len(body) < 4 {
				return nil, ErrShort
			}
			a := binary.BigEndian.Uint32(body[:4])
			name, ok := pgAuth[a]
			if !ok {
				name = itoa(int(a))
			}
			if _, seen := f["pg.auth"]; !seen {
				f.set("pg.auth", name)
			}
			if a == 10 {
				var mechs []string
				for _, m := range bytes.Split(body[4:], []byte{0}) {
					if len(m) > 0 && printable(string(m)) {
						mechs = append(mechs, string(m))
					}
				}
				f.set("pg.sasl_mechanisms", strings.Join(mechs, ","))
			}
		case 'E', 'N':
			names := map[byte]string{'S': "severity", 'V': "severity", 'C': "code", 'M': "message", 'F': "file", 'L': "line", 'R': "routine"}
			prefix := "pg.error."
			if typ == 'N' {
				prefix = "pg.notice."
			}
			for _, fld := range bytes.Split(body, []byte{0}) {
				if len(fld) < 2 {
					continue
				}
				if n, ok := names[fld[0]]; ok {
					f.set(prefix+n, strings.ToValidUTF8(string(fld[1:]), "?"))
				}
			}
		case 'S':
			parts := bytes.SplitN(body, []byte{0}, 3)
			if len(parts) >= 2 && printable(string(parts[0])) && len(f) < 100 {
				f.set("pg.param."+string(parts[0]), string(parts[1]))
			}
		case 'K', 'Z':
		default:
			return nil, malformed("postgresql: message type %q", typ)
		}
		msgs++
	}
	if msgs == 0 {
		return nil, ErrShort
	}
	f.set("pg.protocol", "3")
	return f, nil
}
