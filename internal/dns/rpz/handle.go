package rpz

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// maxRequest bounds a request's size: a signed IXFR query is well under
// 512 bytes.
const maxRequest = 4096

// Request errors.
var (
	errShort    = errors.New("rpz: message shorter than a header")
	errLong     = errors.New("rpz: request too long")
	errResponse = errors.New("rpz: a response, not a request")
	errQuestion = errors.New("rpz: want exactly one question of class IN")
)

// parseRequest reads a request from the wire: a query (not a response)
// with one question of class IN. The message may be another opcode
// (NOTIFY, UPDATE): the caller refuses those.
func parseRequest(raw []byte) (*dns.Msg, error) {
	if len(raw) < 12 {
		return nil, errShort
	}
	if len(raw) > maxRequest {
		return nil, errLong
	}
	m := new(dns.Msg)
	if err := m.Unpack(raw); err != nil {
		return nil, fmt.Errorf("rpz: bad request: %w", err)
	}
	if m.Response {
		return nil, errResponse
	}
	if len(m.Question) != 1 || m.Question[0].Qclass != dns.ClassINET {
		return m, errQuestion
	}
	return m, nil
}

// answer is what the server sends back for one request: messages
// written to send, each with two bytes of room in front (the TCP
// length), the last returned error of send.
type answer struct {
	send func(b []byte) error
	st   *tsigState // nil: unsigned
	id   uint16
}

// out is the stream's sink: sign, fill in the TCP length, send.
func (a *answer) out(b []byte) ([]byte, error) {
	if a.st != nil {
		b = a.st.sign(b, 2)
	}
	binary.BigEndian.PutUint16(b, uint16(len(b)-2))
	return b, a.send(b)
}

// msg sends a dns.Msg (short answers and errors), signed when the
// request was.
func (a *answer) msg(m *dns.Msg) error {
	wire, err := m.Pack()
	if err != nil {
		return fmt.Errorf("rpz: pack answer: %w", err)
	}
	_, err = a.out(append([]byte{0, 0}, wire...))
	return err
}

// serve answers one request from src. tcp tells whether a transfer may
// be streamed; on UDP an IXFR gets the current SOA only (RFC 1995 section
// 2: the client then asks over TCP) and an AXFR is refused.
func (s *Server) serve(raw []byte, src netip.Addr, tcp bool, send func([]byte) error) error {
	m, err := parseRequest(raw)
	if m == nil {
		if err == errShort || len(raw) >= 12 && raw[2]&0x80 != 0 {
			return nil // nothing to answer, or a response: never answer one
		}
		// A header we can read: FORMERR with its ID.
		r := new(dns.Msg)
		r.Id, r.Response, r.Rcode = binary.BigEndian.Uint16(raw), true, dns.RcodeFormatError
		return (&answer{send: send}).msg(r)
	}
	a := &answer{send: send, id: m.Id}
	if err != nil {
		return a.msg(new(dns.Msg).SetRcode(m, dns.RcodeFormatError))
	}
	if m.Opcode != dns.OpcodeQuery {
		return a.msg(new(dns.Msg).SetRcode(m, dns.RcodeNotImplemented))
	}
	q := m.Question[0]
	zs := s.zones.Load()
	var z *zone
	if ts := m.IsTsig(); ts != nil {
		k := zs.byKey[strings.ToLower(ts.Hdr.Name)]
		if k == nil || !strings.EqualFold(ts.Algorithm, dns.HmacSHA256) {
			s.stats.refused.Add(1)
			return a.msg(tsigError(m, ts, dns.RcodeBadKey))
		}
		if err := dns.TsigVerify(raw, k.key.b64, "", false); err != nil {
			code := uint16(dns.RcodeBadSig)
			if errors.Is(err, dns.ErrTime) {
				code = dns.RcodeBadTime
			}
			s.stats.refused.Add(1)
			// Anyone can send bad signatures: a warning every 10 s at most.
			if now := time.Now().Unix(); now-s.warned.Load() >= 10 {
				s.warned.Store(now)
				s.o.Logger.Warn("rpz: TSIG refused", "from", src, "key", k.key.name, "err", err)
			}
			return a.msg(tsigError(m, ts, code))
		}
		mac, err := hex.DecodeString(ts.MAC)
		if err != nil {
			return a.msg(tsigError(m, ts, dns.RcodeBadSig))
		}
		a.st = k.key.start(mac, m.Id, s.o.Now)
		if !strings.EqualFold(q.Name, k.origin) {
			// A key opens its own zone only. REFUSED, signed: a
			// NOTAUTH answer cannot carry a valid signature (RFC 8945
			// keeps it for TSIG errors).
			s.stats.refused.Add(1)
			return a.msg(new(dns.Msg).SetRcode(m, dns.RcodeRefused))
		}
		z = k
	} else {
		for _, c := range zs.list {
			if strings.EqualFold(q.Name, c.origin) && slices.ContainsFunc(c.spec.AllowUnsigned, func(p netip.Prefix) bool { return p.Contains(src.Unmap()) }) {
				z = c
				break
			}
		}
		if z == nil {
			s.stats.refused.Add(1)
			return a.msg(new(dns.Msg).SetRcode(m, dns.RcodeRefused))
		}
	}
	v := z.cur.Load()
	st := newStream(m.Id, z.originW, q.Qtype, a.out)
	switch q.Qtype {
	case dns.TypeSOA:
		st.SOA(v.serial)
	case dns.TypeNS:
		st.NS()
	case dns.TypeAXFR:
		if !tcp {
			return a.msg(new(dns.Msg).SetRcode(m, dns.RcodeNotImplemented))
		}
		s.stats.axfr.Add(1)
		full(st, v)
	case dns.TypeIXFR:
		from, ok := ixfrSerial(m)
		if !ok {
			return a.msg(new(dns.Msg).SetRcode(m, dns.RcodeFormatError))
		}
		deltas, have := v.since(from)
		switch {
		case !tcp || from == v.serial:
			s.stats.none.Add(1)
			st.SOA(v.serial)
		case have:
			s.stats.delta.Add(1)
			st.SOA(v.serial)
			for _, d := range deltas {
				st.Delta(d)
			}
			st.SOA(v.serial)
		default:
			s.stats.full.Add(1)
			full(st, v)
		}
	default:
		// The origin holds SOA and NS only: no data.
		r := new(dns.Msg).SetRcode(m, dns.RcodeSuccess)
		r.Authoritative = true
		return a.msg(r)
	}
	return st.Finish()
}

// full streams the whole zone, as AXFR does.
func full(st *stream, v *version) {
	st.SOA(v.serial)
	st.NS()
	st.Content(&v.content)
	st.SOA(v.serial)
}

// ixfrSerial is the client's serial: the SOA in the authority section.
func ixfrSerial(m *dns.Msg) (uint32, bool) {
	if len(m.Ns) == 0 {
		return 0, false
	}
	soa, ok := m.Ns[0].(*dns.SOA)
	if !ok {
		return 0, false
	}
	return soa.Serial, true
}

// tsigError is the answer to a request whose signature cannot be
// accepted (RFC 8945 section 5.2): NOTAUTH with an unsigned TSIG record
// carrying the error.
func tsigError(m *dns.Msg, ts *dns.TSIG, code uint16) *dns.Msg {
	r := new(dns.Msg).SetRcode(m, dns.RcodeNotAuth)
	alg := ts.Algorithm
	if _, ok := dns.IsDomainName(alg); !ok || alg == "" || alg == "." {
		alg = dns.HmacSHA256 // a name that does not pack would garble the record
	}
	r.Extra = append(r.Extra, &dns.TSIG{
		Hdr:       dns.RR_Header{Name: ts.Hdr.Name, Rrtype: dns.TypeTSIG, Class: dns.ClassANY},
		Algorithm: alg, TimeSigned: ts.TimeSigned, Fudge: ts.Fudge, OrigId: m.Id, Error: code,
	})
	return r
}
