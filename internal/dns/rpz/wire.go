package rpz

import (
	"encoding/binary"
	"strings"

	"github.com/miekg/dns"
)

// Zone transfer messages are written straight to wire format: a message
// of a million-name transfer carries hundreds of records, and packing
// them through dns.Msg would cost more than the rest of the transfer.
//
// Every message repeats the question (RFC 5936 allows it), so the
// origin's wire form sits at offset 12 and every owner name ends in a
// pointer to it; a wildcard owner "*.d" is the label "*" and a pointer to
// d written just before it. Messages stay under maxBody so every pointer
// is below 0x4000.

const (
	maxBody   = 16000 // message bytes before the TSIG record
	recordTTL = 300
	// SOA timers: secondaries get NOTIFY on every change; refresh
	// catches one that missed them all.
	soaRefresh = 600
	soaRetry   = 60
	soaExpire  = 7 * 24 * 3600
	soaMinimum = 300
	soaMName   = "localhost."
	soaRName   = "hostmaster.localhost."
)

// wireName is the uncompressed wire form of a fully qualified name.
func wireName(name string) []byte {
	name = strings.TrimSuffix(name, ".")
	var b []byte
	if name != "" {
		for l := range strings.SplitSeq(name, ".") {
			b = append(b, byte(len(l)))
			b = append(b, l...)
		}
	}
	return append(b, 0)
}

// stream writes the records of a transfer answer as a run of messages,
// each handed to out when full: out gets the message with two bytes of
// room in front (for the TCP length) and may append to it.
type stream struct {
	buf    []byte // [2 length bytes][header][question][answers]
	head   int    // len(buf) after the question
	n      uint16 // answers in buf
	out    func(msg []byte) ([]byte, error)
	err    error
	origin []byte
	soa    []byte // SOA rdata without the serial's 4 bytes at the end of the name part
}

// newStream starts an answer to request id for the zone at origin
// (question type qtype).
func newStream(id uint16, origin []byte, qtype uint16, out func([]byte) ([]byte, error)) *stream {
	s := &stream{buf: make([]byte, 0, maxBody+512), out: out, origin: origin}
	s.buf = append(s.buf, 0, 0)
	s.buf = binary.BigEndian.AppendUint16(s.buf, id)
	s.buf = binary.BigEndian.AppendUint16(s.buf, 1<<15|1<<10) // QR, AA; opcode QUERY, rcode NOERROR
	s.buf = binary.BigEndian.AppendUint16(s.buf, 1)           // QDCOUNT
	s.buf = append(s.buf, 0, 0, 0, 0, 0, 0)                   // AN, NS, AR counts
	s.buf = append(s.buf, origin...)
	s.buf = binary.BigEndian.AppendUint16(s.buf, qtype)
	s.buf = binary.BigEndian.AppendUint16(s.buf, dns.ClassINET)
	s.head = len(s.buf)
	mname, rname := wireName(soaMName), wireName(soaRName)
	s.soa = append(append(s.soa, mname...), rname...)
	return s
}

// room makes sure n more bytes fit, sending the message when not.
func (s *stream) room(n int) {
	if len(s.buf)-2+n > maxBody && s.n > 0 {
		s.flush()
	}
}

// flush sends the message if it holds records.
func (s *stream) flush() {
	if s.n == 0 || s.err != nil {
		return
	}
	binary.BigEndian.PutUint16(s.buf[8:], s.n) // ANCOUNT
	b, err := s.out(s.buf)
	if err != nil {
		s.err = err
	}
	// out may have appended (a TSIG record): start again from the head.
	s.buf = b[:s.head]
	binary.BigEndian.PutUint16(s.buf[12:], 0) // ARCOUNT, if out set it
	s.n = 0
}

// fixed appends type, class IN, TTL and rdlength.
func (s *stream) fixed(typ uint16, ttl uint32, rdlen int) {
	s.buf = binary.BigEndian.AppendUint16(s.buf, typ)
	s.buf = binary.BigEndian.AppendUint16(s.buf, dns.ClassINET)
	s.buf = binary.BigEndian.AppendUint32(s.buf, ttl)
	s.buf = binary.BigEndian.AppendUint16(s.buf, uint16(rdlen))
}

// originPtr is a compression pointer to the question's name.
var originPtr = []byte{0xc0, 12}

// SOA appends the zone's SOA with serial.
func (s *stream) SOA(serial uint32) {
	s.room(2 + 10 + len(s.soa) + 20)
	s.buf = append(s.buf, originPtr...)
	s.fixed(dns.TypeSOA, recordTTL, len(s.soa)+20)
	s.buf = append(s.buf, s.soa...)
	for _, v := range []uint32{serial, soaRefresh, soaRetry, soaExpire, soaMinimum} {
		s.buf = binary.BigEndian.AppendUint32(s.buf, v)
	}
	s.n++
}

// NS appends the zone's NS record.
func (s *stream) NS() {
	ns := wireName(soaMName)
	s.room(2 + 10 + len(ns))
	s.buf = append(s.buf, originPtr...)
	s.fixed(dns.TypeNS, recordTTL, len(ns))
	s.buf = append(s.buf, ns...)
	s.n++
}

// relative appends the labels of a relative name (its dots become
// lengths) and a pointer to the origin.
func (s *stream) relative(name string) {
	start := len(s.buf)
	s.buf = append(s.buf, 0)
	s.buf = append(s.buf, name...)
	// Turn "a.b.c" at start+1 into length-prefixed labels.
	last := start
	for i := start + 1; i < len(s.buf); i++ {
		if s.buf[i] == '.' {
			s.buf[last] = byte(i - last - 1)
			last = i
		}
	}
	s.buf[last] = byte(len(s.buf) - last - 1)
	s.buf = append(s.buf, originPtr...)
}

// cnameRoot appends "CNAME ." with its fixed fields.
func (s *stream) cnameRoot() {
	s.fixed(dns.TypeCNAME, recordTTL, 1)
	s.buf = append(s.buf, 0)
}

// Domain appends the two triggers of a blocked domain: d and *.d.
func (s *stream) Domain(d string) {
	s.room(2*(len(d)+1+2+10+1) + 4)
	off := len(s.buf) - 2 // offset in the message
	s.relative(d)
	s.cnameRoot()
	s.buf = append(s.buf, 1, '*', 0xc0|byte(off>>8), byte(off))
	s.cnameRoot()
	s.n += 2
}

// IP appends one IP trigger.
func (s *stream) IP(owner string) {
	s.room(len(owner) + 1 + 2 + 10 + 1)
	s.relative(owner)
	s.cnameRoot()
	s.n++
}

// Content appends every trigger of c.
func (s *stream) Content(c *content) {
	for _, d := range c.domains {
		if s.err != nil {
			return
		}
		s.Domain(d)
	}
	for _, ip := range c.ips {
		if s.err != nil {
			return
		}
		s.IP(ip)
	}
}

// Delta appends one IXFR difference sequence: the old SOA, what left,
// the new SOA, what came.
func (s *stream) Delta(d *delta) {
	s.SOA(d.from)
	s.Content(&content{domains: d.delDoms, ips: d.delIPs})
	s.SOA(d.to)
	s.Content(&content{domains: d.addDoms, ips: d.addIPs})
}

// Finish sends what is left and returns the first error of out.
func (s *stream) Finish() error {
	s.flush()
	return s.err
}
