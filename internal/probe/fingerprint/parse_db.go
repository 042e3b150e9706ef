// Parsers of database and cache handshakes: Redis, MongoDB, MSSQL
// PRELOGIN and PostgreSQL.

package fingerprint

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
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

// ---- PostgreSQL ----

var pgAuth = sync.OnceValue(func() map[uint32]string {
	return map[uint32]string{0: "ok", 2: "kerberos", 3: "cleartext", 5: "md5", 6: "scm", 7: "gss", 9: "sspi", 10: "sasl", 11: "sasl-continue", 12: "sasl-final"}
})

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
			name, ok := pgAuth()[a]
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
