package routing

import (
	"bufio"
	"compress/bzip2"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
)

// ErrFormat wraps every error of routing data that cannot be read.
var ErrFormat = errors.New("discovery: routing: bad data")

// MaxRecord caps one MRT record: a RIB entry with thousands of peers is a
// few hundred KiB.
const MaxRecord = 16 << 20

// MRT record types and subtypes (RFC 6396, RFC 8050).
const (
	typeTableDump   = 12
	typeTableDumpV2 = 13
	typeBGP4MP      = 16
	typeBGP4MPET    = 17

	subPeerIndex   = 1
	subRIBv4       = 2
	subRIBv6       = 4
	subRIBv4Add    = 8
	subRIBv6Add    = 10
	subMessage     = 1
	subMessageAS4  = 4
	subMsgLocal    = 6
	subMsgAS4Local = 7
	subMsgAdd      = 8
	subMsgAS4Add   = 9
	subMsgLocalAdd = 10
	subMsgAS4LAdd  = 11

	attrASPath   = 2
	attrMPReach  = 14
	attrAS4Path  = 17
	bgpUpdate    = 2
	safiUnicast  = 1
	afiIPv4      = 1
	afiIPv6      = 2
	asSet        = 1
	asSequence   = 2
	bgpHeaderLen = 19
)

// Route is one prefix and the AS numbers that originate it: the last AS
// of its path, or every member of a final AS_SET.
type Route struct {
	Prefix  netip.Prefix
	Origins []uint32
}

// MRTStats counts what ReadMRT read.
type MRTStats struct {
	Records int // MRT records
	Routes  int // routes passed to fn
	Skipped int // records of types that carry no announcement (state changes, keepalives, withdrawals)
}

// Decompress returns r unwrapped when it starts like a gzip or bzip2
// stream, r itself otherwise.
func Decompress(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(3)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: gzip: %w", ErrFormat, err)
		}
		return zr, nil
	case len(magic) == 3 && string(magic) == "BZh":
		return bzip2.NewReader(br), nil
	}
	return br, nil
}

// ReadMRT reads an MRT file (plain, gzip or bzip2) and calls fn for every
// announced route: the prefixes of TABLE_DUMP and TABLE_DUMP_V2 RIB
// entries (a routing table), and the NLRI and MP_REACH_NLRI of BGP4MP and
// BGP4MP_ET UPDATE messages (a stream of updates; withdrawals are not
// routes). Other records are counted and skipped. A record that does not
// parse stops the read with its number; routes already passed to fn stay
// passed. An error from fn stops the read too.
func ReadMRT(r io.Reader, fn func(Route) error) (MRTStats, error) {
	var st MRTStats
	in, err := Decompress(r)
	if err != nil {
		return st, err
	}
	var hdr [12]byte
	buf := make([]byte, 0, 4096)
	emit := func(rt Route) error {
		st.Routes++
		return fn(rt)
	}
	for {
		if _, err := io.ReadFull(in, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return st, nil
			}
			return st, fmt.Errorf("%w: record %d: header: %w", ErrFormat, st.Records+1, err)
		}
		st.Records++
		typ := binary.BigEndian.Uint16(hdr[4:6])
		sub := binary.BigEndian.Uint16(hdr[6:8])
		n := binary.BigEndian.Uint32(hdr[8:12])
		if n > MaxRecord {
			return st, fmt.Errorf("%w: record %d: length %d over %d", ErrFormat, st.Records, n, MaxRecord)
		}
		if cap(buf) < int(n) {
			buf = make([]byte, n)
		}
		body := buf[:n]
		if _, err := io.ReadFull(in, body); err != nil {
			return st, fmt.Errorf("%w: record %d: body of %d bytes: %w", ErrFormat, st.Records, n, err)
		}
		var perr error
		skipped := false
		switch typ {
		case typeTableDumpV2:
			switch sub {
			case subRIBv4, subRIBv6, subRIBv4Add, subRIBv6Add:
				perr = ribV2(body, sub == subRIBv6 || sub == subRIBv6Add, sub == subRIBv4Add || sub == subRIBv6Add, emit)
			default:
				skipped = true // peer index, multicast, RIB_GENERIC
			}
		case typeTableDump:
			perr = tableDumpV1(body, sub, emit)
		case typeBGP4MP, typeBGP4MPET:
			if typ == typeBGP4MPET {
				if len(body) < 4 {
					perr = errors.New("short extended timestamp")
					break
				}
				body = body[4:]
			}
			switch sub {
			case subMessage, subMessageAS4, subMsgLocal, subMsgAS4Local, subMsgAdd, subMsgAS4Add, subMsgLocalAdd, subMsgAS4LAdd:
				as4 := sub == subMessageAS4 || sub == subMsgAS4Local || sub == subMsgAS4Add || sub == subMsgAS4LAdd
				addPath := sub >= subMsgAdd
				var any bool
				any, perr = bgp4mp(body, as4, addPath, emit)
				skipped = !any && perr == nil
			default:
				skipped = true // state changes
			}
		default:
			skipped = true
		}
		if perr != nil {
			if errors.Is(perr, errStop) {
				return st, perr.(stopError).err
			}
			return st, fmt.Errorf("%w: record %d (type %d/%d): %w", ErrFormat, st.Records, typ, sub, perr)
		}
		if skipped {
			st.Skipped++
		}
	}
}

// errStop marks an error from the caller's fn, passed through unwrapped.
var errStop = errors.New("stop")

type stopError struct{ err error }

func (e stopError) Error() string        { return e.err.Error() }
func (e stopError) Is(target error) bool { return target == errStop }

func call(fn func(Route) error, rt Route) error {
	if err := fn(rt); err != nil {
		return stopError{err}
	}
	return nil
}

// reader reads big-endian fields from a bounded slice.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) n(k int) []byte {
	if r.bad || k < 0 || len(r.b) < k {
		r.bad = true
		return nil
	}
	v := r.b[:k]
	r.b = r.b[k:]
	return v
}

func (r *reader) u8() int {
	if v := r.n(1); v != nil {
		return int(v[0])
	}
	return 0
}

func (r *reader) u16() int {
	if v := r.n(2); v != nil {
		return int(binary.BigEndian.Uint16(v))
	}
	return 0
}

func (r *reader) u32() uint32 {
	if v := r.n(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

var errShort = errors.New("truncated")

// prefix reads an NLRI prefix: a length in bits and its significant bytes.
func (r *reader) prefix(v6 bool) (netip.Prefix, error) {
	bits := r.u8()
	width := 32
	if v6 {
		width = 128
	}
	if r.bad {
		return netip.Prefix{}, errShort
	}
	if bits > width {
		return netip.Prefix{}, fmt.Errorf("prefix length %d", bits)
	}
	raw := r.n((bits + 7) / 8)
	if r.bad {
		return netip.Prefix{}, errShort
	}
	var a netip.Addr
	if v6 {
		var b [16]byte
		copy(b[:], raw)
		a = netip.AddrFrom16(b)
	} else {
		var b [4]byte
		copy(b[:], raw)
		a = netip.AddrFrom4(b)
	}
	return netip.PrefixFrom(a, bits).Masked(), nil
}

// ribV2 reads a TABLE_DUMP_V2 RIB_IPV4/6_UNICAST(_ADDPATH) record: one
// prefix and an entry per peer; every distinct origin of its entries is
// reported once.
func ribV2(b []byte, v6, addPath bool, fn func(Route) error) error {
	r := &reader{b: b}
	r.u32() // sequence
	p, err := r.prefix(v6)
	if err != nil {
		return err
	}
	count := r.u16()
	var origins []uint32
	for range count {
		r.u16() // peer index
		r.u32() // originated time
		if addPath {
			r.u32()
		}
		attrs := r.n(r.u16())
		if r.bad {
			return errShort
		}
		o, _, err := pathAttrs(attrs, true, false, false)
		if err != nil {
			return err
		}
		for _, as := range o {
			if !containsAS(origins, as) {
				origins = append(origins, as)
			}
		}
	}
	if r.bad {
		return errShort
	}
	if len(origins) == 0 {
		return nil
	}
	return call(fn, Route{Prefix: p, Origins: origins})
}

// tableDumpV1 reads a TABLE_DUMP record (subtype 1 IPv4, 2 IPv6).
func tableDumpV1(b []byte, afi uint16, fn func(Route) error) error {
	v6 := afi == afiIPv6
	if afi != afiIPv4 && !v6 {
		return nil
	}
	alen := 4
	if v6 {
		alen = 16
	}
	r := &reader{b: b}
	r.u16() // view
	r.u16() // sequence
	raw := r.n(alen)
	bits := r.u8()
	r.u8()    // status
	r.u32()   // originated
	r.n(alen) // peer address
	r.u16()   // peer AS
	attrs := r.n(r.u16())
	if r.bad {
		return errShort
	}
	a, _ := netip.AddrFromSlice(raw)
	if bits > alen*8 {
		return fmt.Errorf("prefix length %d", bits)
	}
	o, _, err := pathAttrs(attrs, false, false, false)
	if err != nil || len(o) == 0 {
		return err
	}
	return call(fn, Route{Prefix: netip.PrefixFrom(a, bits).Masked(), Origins: o})
}

// bgp4mp reads a BGP4MP MESSAGE record and reports the routes an UPDATE
// announces; any says whether there was one.
func bgp4mp(b []byte, as4, addPath bool, fn func(Route) error) (any bool, err error) {
	r := &reader{b: b}
	if as4 {
		r.n(8)
	} else {
		r.n(4)
	}
	r.u16() // interface
	afi := r.u16()
	switch afi {
	case afiIPv4:
		r.n(8)
	case afiIPv6:
		r.n(32)
	default:
		return false, fmt.Errorf("address family %d", afi)
	}
	msg := r.b
	if r.bad || len(msg) < bgpHeaderLen {
		return false, errShort
	}
	mlen := int(binary.BigEndian.Uint16(msg[16:18]))
	if mlen < bgpHeaderLen || mlen > len(msg) {
		return false, fmt.Errorf("BGP message length %d", mlen)
	}
	if msg[18] != bgpUpdate {
		return false, nil // OPEN, KEEPALIVE, NOTIFICATION
	}
	u := &reader{b: msg[bgpHeaderLen:mlen]}
	u.n(u.u16()) // withdrawn routes
	attrs := u.n(u.u16())
	if u.bad {
		return false, errShort
	}
	origins, mp, err := pathAttrs(attrs, as4, true, addPath)
	if err != nil {
		return false, err
	}
	var prefixes []netip.Prefix
	for len(u.b) > 0 {
		if addPath {
			u.u32()
		}
		p, err := u.prefix(false)
		if err != nil {
			return false, fmt.Errorf("NLRI: %w", err)
		}
		prefixes = append(prefixes, p)
	}
	prefixes = append(prefixes, mp...)
	if len(prefixes) == 0 || len(origins) == 0 {
		return false, nil
	}
	for _, p := range prefixes {
		if err := call(fn, Route{Prefix: p, Origins: origins}); err != nil {
			return true, err
		}
	}
	return true, nil
}

// pathAttrs reads path attributes: the origin AS numbers (from AS4_PATH
// when present, else AS_PATH with 4- or 2-byte numbers) and, with mp, the
// unicast prefixes of MP_REACH_NLRI.
func pathAttrs(b []byte, as4, mp, addPath bool) (origins []uint32, reach []netip.Prefix, err error) {
	r := &reader{b: b}
	var path, path4 []byte
	for len(r.b) > 0 {
		flags := r.u8()
		typ := r.u8()
		var n int
		if flags&0x10 != 0 {
			n = r.u16()
		} else {
			n = r.u8()
		}
		v := r.n(n)
		if r.bad {
			return nil, nil, fmt.Errorf("path attribute %d: %w", typ, errShort)
		}
		switch typ {
		case attrASPath:
			path = v
		case attrAS4Path:
			path4 = v
		case attrMPReach:
			if mp {
				ps, err := mpReach(v, addPath)
				if err != nil {
					return nil, nil, fmt.Errorf("MP_REACH_NLRI: %w", err)
				}
				reach = append(reach, ps...)
			}
		}
	}
	if path4 != nil {
		origins, err = originOf(path4, 4)
	} else if path != nil {
		size := 2
		if as4 {
			size = 4
		}
		origins, err = originOf(path, size)
	}
	return origins, reach, err
}

// originOf returns the last AS of a path, or the members of a final
// AS_SET; size is 2 or 4 bytes per AS number.
func originOf(b []byte, size int) ([]uint32, error) {
	r := &reader{b: b}
	var last []uint32
	for len(r.b) > 0 {
		st := r.u8()
		cnt := r.u8()
		raw := r.n(cnt * size)
		if r.bad {
			return nil, fmt.Errorf("AS path: %w", errShort)
		}
		if cnt == 0 || (st != asSet && st != asSequence) {
			continue // confederation segments are local to the confederation
		}
		as := func(i int) uint32 {
			if size == 4 {
				return binary.BigEndian.Uint32(raw[i*4:])
			}
			return uint32(binary.BigEndian.Uint16(raw[i*2:]))
		}
		if st == asSequence {
			last = []uint32{as(cnt - 1)}
			continue
		}
		last = last[:0:0]
		for i := range cnt {
			if !containsAS(last, as(i)) {
				last = append(last, as(i))
			}
		}
	}
	return last, nil
}

func mpReach(b []byte, addPath bool) ([]netip.Prefix, error) {
	r := &reader{b: b}
	afi := r.u16()
	safi := r.u8()
	r.n(r.u8()) // next hop
	r.u8()      // reserved
	if r.bad {
		return nil, errShort
	}
	if safi != safiUnicast || (afi != afiIPv4 && afi != afiIPv6) {
		return nil, nil
	}
	var out []netip.Prefix
	for len(r.b) > 0 {
		if addPath {
			r.u32()
		}
		p, err := r.prefix(afi == afiIPv6)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func containsAS(s []uint32, a uint32) bool {
	for _, v := range s {
		if v == a {
			return true
		}
	}
	return false
}
