package dns

import (
	"encoding/binary"
	"errors"
)

// Header flag bits (RFC 1035 4.1.1, RFC 4035 3.2).
const (
	flagQR = 1 << 15
	flagAA = 1 << 10
	flagTC = 1 << 9
	flagRD = 1 << 8
	flagRA = 1 << 7
	flagAD = 1 << 5
	flagCD = 1 << 4

	typeOPT  = 41
	typeA    = 1
	typeAAAA = 28
	typeSOA  = 6
	typeIXFR = 251
	typeAXFR = 252
	classIN  = 1

	rcodeNoError  = 0
	rcodeFormErr  = 1
	rcodeServFail = 2
	rcodeNXDomain = 3
	rcodeNotImp   = 4
	rcodeRefused  = 5
	rcodeBadVers  = 16 // extended: 1 in the OPT TTL, 0 in the header

	maxLabels = 128
)

// query is a parsed request. All slices point into the packet or the
// parser's own buffers, which the next parse reuses.
type query struct {
	id       uint16
	flags    uint16
	qEnd     int    // end of the question in the packet
	qname    []byte // wire form, as asked
	qtype    uint16
	qclass   uint16
	edns     bool
	ednsSize uint16
	ednsVer  uint8
	do       bool

	pres   []byte // presentation form, lower case, no trailing dot
	labels int
	// labelWire[i] and labelPres[i] are where label i starts in qname and
	// in pres.
	labelWire [maxLabels]uint8
	labelPres [maxLabels]uint16
	key       []byte // cache key: lower-case wire name, type, class, DO/CD
}

// errDrop marks a packet that gets no answer at all (too short to answer,
// or a response).
var errDrop = errors.New("dns: drop packet")

// parseError is a query that gets an answer with this rcode and no
// records.
type parseError struct{ rcode int }

func (e parseError) Error() string { return "dns: malformed query: rcode " + rcodeName(e.rcode) }

// parse reads a query packet into q without allocating (after the first
// calls have grown q's buffers). It returns errDrop, a parseError or nil.
func (q *query) parse(pkt []byte) error {
	*q = query{pres: q.pres[:0], key: q.key[:0]}
	if len(pkt) < 12 {
		return errDrop
	}
	q.id = binary.BigEndian.Uint16(pkt)
	q.flags = binary.BigEndian.Uint16(pkt[2:])
	if q.flags&flagQR != 0 {
		return errDrop
	}
	if op := (q.flags >> 11) & 0xf; op != 0 {
		return parseError{rcodeNotImp}
	}
	qd := binary.BigEndian.Uint16(pkt[4:])
	an := binary.BigEndian.Uint16(pkt[6:])
	ns := binary.BigEndian.Uint16(pkt[8:])
	ar := binary.BigEndian.Uint16(pkt[10:])
	if qd != 1 || an != 0 || ns > 8 || ar > 8 {
		return parseError{rcodeFormErr}
	}
	off := 12
	for {
		if off >= len(pkt) {
			return parseError{rcodeFormErr}
		}
		l := int(pkt[off])
		if l == 0 {
			off++
			break
		}
		if l > 63 || off+1+l > len(pkt) || q.labels == maxLabels {
			return parseError{rcodeFormErr}
		}
		if q.labels > 0 {
			q.pres = append(q.pres, '.')
		}
		q.labelWire[q.labels] = uint8(off - 12)
		q.labelPres[q.labels] = uint16(len(q.pres))
		q.labels++
		for _, c := range pkt[off+1 : off+1+l] {
			c = lower(c)
			if c == '.' || c == '\\' {
				q.pres = append(q.pres, '\\')
			}
			q.pres = append(q.pres, c)
		}
		off += 1 + l
		if off-12 > 255 {
			return parseError{rcodeFormErr}
		}
	}
	if off+4 > len(pkt) {
		return parseError{rcodeFormErr}
	}
	q.qname = pkt[12:off]
	q.qtype = binary.BigEndian.Uint16(pkt[off:])
	q.qclass = binary.BigEndian.Uint16(pkt[off+2:])
	off += 4
	q.qEnd = off
	// Authority records (rare in queries) are skipped; an OPT record in
	// the additional section sets EDNS.
	for i := 0; i < int(ns)+int(ar); i++ {
		var err error
		nameStart := off
		if off, err = skipName(pkt, off); err != nil {
			return parseError{rcodeFormErr}
		}
		if off+10 > len(pkt) {
			return parseError{rcodeFormErr}
		}
		typ := binary.BigEndian.Uint16(pkt[off:])
		rdlen := int(binary.BigEndian.Uint16(pkt[off+8:]))
		if off+10+rdlen > len(pkt) {
			return parseError{rcodeFormErr}
		}
		if typ == typeOPT && i >= int(ns) {
			if q.edns || off != nameStart+1 || pkt[nameStart] != 0 {
				return parseError{rcodeFormErr}
			}
			q.edns = true
			q.ednsSize = binary.BigEndian.Uint16(pkt[off+2:])
			q.ednsVer = pkt[off+5]
			q.do = pkt[off+6]&0x80 != 0
		}
		off += 10 + rdlen
	}
	q.key = append(q.key, q.qname...)
	for i := range q.key {
		q.key[i] = lower(q.key[i]) // label lengths are < 64: never upper-case letters
	}
	var fl byte
	if q.do {
		fl |= 1
	}
	if q.flags&flagCD != 0 {
		fl |= 2
	}
	q.key = append(q.key, byte(q.qtype>>8), byte(q.qtype), byte(q.qclass>>8), byte(q.qclass), fl)
	if q.edns && q.ednsVer != 0 {
		return parseError{rcodeBadVers}
	}
	return nil
}

// skipName returns the offset after the (possibly compressed) name at off.
func skipName(msg []byte, off int) (int, error) {
	for n := 0; ; n++ {
		if off >= len(msg) || n > 127 {
			return 0, errors.New("bad name")
		}
		l := int(msg[off])
		switch {
		case l == 0:
			return off + 1, nil
		case l&0xc0 == 0xc0:
			if off+2 > len(msg) {
				return 0, errors.New("bad pointer")
			}
			return off + 2, nil
		case l > 63:
			return 0, errors.New("bad label")
		}
		off += 1 + l
	}
}

// ttlOffsets lists where the TTL field of every record of msg is.
func ttlOffsets(msg []byte) ([]uint16, error) {
	if len(msg) < 12 || len(msg) > 65535 {
		return nil, errors.New("bad message size")
	}
	qd := int(binary.BigEndian.Uint16(msg[4:]))
	rrs := int(binary.BigEndian.Uint16(msg[6:])) + int(binary.BigEndian.Uint16(msg[8:])) + int(binary.BigEndian.Uint16(msg[10:]))
	off := 12
	var err error
	for i := 0; i < qd; i++ {
		if off, err = skipName(msg, off); err != nil {
			return nil, err
		}
		off += 4
	}
	out := make([]uint16, 0, rrs)
	for i := 0; i < rrs; i++ {
		if off, err = skipName(msg, off); err != nil {
			return nil, err
		}
		if off+10 > len(msg) {
			return nil, errors.New("short record")
		}
		out = append(out, uint16(off+4))
		off += 10 + int(binary.BigEndian.Uint16(msg[off+8:]))
		if off > len(msg) {
			return nil, errors.New("short record data")
		}
	}
	return out, nil
}

// appendHeader writes a reply header for q.
func appendHeader(b []byte, q *query, rcode int, aa bool, an, ns, ar uint16) []byte {
	fl := uint16(flagQR|flagRA) | q.flags&(flagRD|flagCD) | uint16(rcode&0xf)
	if aa {
		fl |= flagAA
	}
	qd := uint16(1)
	if q.qEnd == 0 {
		qd = 0
	}
	return append(b, byte(q.id>>8), byte(q.id), byte(fl>>8), byte(fl),
		byte(qd>>8), byte(qd), byte(an>>8), byte(an), byte(ns>>8), byte(ns), byte(ar>>8), byte(ar))
}

// appendOPT writes the server's OPT record for a client that sent EDNS.
func appendOPT(b []byte, q *query, size uint16, rcode int) []byte {
	var ext byte
	if rcode > 15 {
		ext = byte(rcode >> 4)
	}
	var do byte
	if q.do {
		do = 0x80
	}
	return append(b, 0, 0, typeOPT, byte(size>>8), byte(size), ext, 0, do, 0, 0, 0)
}

// errorReply is a reply with rcode, the question when it could be read,
// and OPT when the client sent EDNS.
func errorReply(b []byte, pkt []byte, q *query, rcode int, size uint16) []byte {
	var ar uint16
	if q.edns {
		ar = 1
	}
	b = appendHeader(b[:0], q, rcode, false, 0, 0, ar)
	if q.qEnd > 0 {
		b = append(b, pkt[12:q.qEnd]...)
	}
	if q.edns {
		b = appendOPT(b, q, size, rcode)
	}
	return b
}

func put32(b []byte, v uint32) []byte {
	return append(b, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}
