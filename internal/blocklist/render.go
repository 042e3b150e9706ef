package blocklist

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/intel"
)

// Render writes the list in format f for consumer c as of now, and
// returns how many entries it wrote (after merging, for the address
// formats). The output depends only on the list, the consumer and now
// (through valid-until and MaxAge), so an unchanged list renders the same
// bytes.
func (l *List) Render(w io.Writer, f Format, c *Consumer, now time.Time) (int, error) {
	if err := c.Check(); err != nil {
		return 0, err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	r := renderer{l: l, c: c, f: f, w: bw, fl: c.filter(f, now.Unix())}
	var err error
	switch f {
	case FormatPlain:
		r.plain()
	case FormatCSV:
		r.csv()
	case FormatNFT:
		r.nft()
	case FormatIPSet:
		r.ipset()
	case FormatMikrotik:
		r.mikrotik()
	case FormatRPZ:
		r.rpz()
	default:
		return 0, fmt.Errorf("%w %q", ErrFormat, f)
	}
	if err = bw.Flush(); err != nil {
		return r.n, fmt.Errorf("blocklist: write %s: %w", f, err)
	}
	return r.n, nil
}

type renderer struct {
	l   *List
	c   *Consumer
	f   Format
	w   *bufio.Writer
	fl  *filter
	n   int
	buf []byte
}

// each calls fn for every entry c accepts, in list order.
func (r *renderer) each(list []entry, fn func(*entry)) {
	for i := range list {
		if e := &list[i]; r.fl.accepts(e) {
			fn(e)
		}
	}
}

func (r *renderer) plain() {
	line := func(e *entry) {
		r.w.WriteString(e.value)
		r.w.WriteByte('\n')
		r.n++
	}
	r.each(r.l.addrs, line)
	r.each(r.l.others, line)
}

func (r *renderer) csv() {
	r.w.WriteString("value,kind,category,confidence,tlp,last_seen\n")
	var day int64 = -1 << 62
	var date []byte // "2006-01-02T" of day
	line := func(e *entry) {
		b := append(r.buf[:0], e.value...)
		b = append(b, ',')
		b = append(b, intel.Kinds[e.kind]...)
		b = append(b, ',')
		if e.category != noCategory {
			b = append(b, intel.Categories[e.category]...)
		}
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(e.confidence), 10)
		b = append(b, ',')
		b = append(b, intel.TLPs[e.tlp]...)
		b = append(b, ',')
		// RFC 3339 in UTC; the date is formatted once per day seen.
		d, sec := e.lastSeen/86400, e.lastSeen%86400
		if sec < 0 {
			d, sec = d-1, sec+86400
		}
		if d != day {
			day = d
			date = time.Unix(d*86400, 0).UTC().AppendFormat(date[:0], "2006-01-02T")
		}
		b = append(b, date...)
		b = append2(b, sec/3600)
		b = append(b, ':')
		b = append2(b, sec/60%60)
		b = append(b, ':')
		b = append2(b, sec%60)
		b = append(b, "Z\n"...)
		r.w.Write(b)
		r.buf = b
		r.n++
	}
	r.each(r.l.addrs, line)
	r.each(r.l.others, line)
}

func append2(b []byte, n int64) []byte { return append(b, byte('0'+n/10), byte('0'+n%10)) }

// merged returns the accepted addresses and networks as the fewest
// non-overlapping CIDRs, IPv4 and IPv6 apart.
func (r *renderer) merged() (v4, v6 []cidr) {
	m4 := merger{width: 32, out: make([]cidr, 0, 1024)}
	m6 := merger{width: 128, out: make([]cidr, 0, 1024)}
	// The list is sorted by family, address, then length: the merger's
	// order.
	r.each(r.l.addrs, func(e *entry) {
		if e.v6 {
			m6.add(e.addr, int(e.bits))
		} else {
			m4.add(e.addr, int(e.bits))
		}
	})
	m4.flush()
	m6.flush()
	return m4.out, m6.out
}

// comment is a header line; the consumer's name is cut to safe
// characters so that it cannot end the comment.
func (r *renderer) comment(prefix string, v4, v6 int) {
	name := strings.Map(func(c rune) rune {
		if c < ' ' || c == 0x7f || c == '\\' || c == '"' {
			return -1
		}
		return c
	}, r.c.Name)
	if len(name) > 80 {
		name = name[:80]
	}
	fmt.Fprintf(r.w, "%s Rampart blocklist", prefix)
	if name != "" {
		fmt.Fprintf(r.w, " for %s", strings.ToValidUTF8(name, "?"))
	}
	fmt.Fprintf(r.w, ": %d IPv4 and %d IPv6 entries, serial %d.\n", v4, v6, r.l.Serial)
}

type family struct {
	v4 bool
	cs []cidr
}

// nft writes a file for `nft -f`: it creates the table and sets if they
// are missing, empties them and fills them, all in one transaction.
func (r *renderer) nft() {
	v4, v6 := r.merged()
	t := r.c.setName()
	r.w.WriteString("#!/usr/sbin/nft -f\n")
	r.comment("#", len(v4), len(v6))
	fmt.Fprintf(r.w, "# Load with nft -f; match with: ip saddr @block4 drop, ip6 saddr @block6 drop (table inet %s).\n", t)
	fmt.Fprintf(r.w, "add table inet %s\n", t)
	for _, s := range []struct {
		name, typ string
		family
	}{{"block4", "ipv4_addr", family{true, v4}}, {"block6", "ipv6_addr", family{false, v6}}} {
		fmt.Fprintf(r.w, "add set inet %s %s { type %s; flags interval; }\n", t, s.name, s.typ)
		fmt.Fprintf(r.w, "flush set inet %s %s\n", t, s.name)
		head := "add element inet " + t + " " + s.name + " { "
		for i := 0; i < len(s.cs); i += 512 {
			b := append(r.buf[:0], head...)
			for j, c := range s.cs[i:min(i+512, len(s.cs))] {
				if j > 0 {
					b = append(b, ", "...)
				}
				b = appendCIDR(b, c, s.v4)
			}
			b = append(b, " }\n"...)
			r.w.Write(b)
			r.buf = b
		}
		r.n += len(s.cs)
	}
}

// ipset writes a file for `ipset restore -exist`: each set is filled as
// a temporary set and swapped in whole, so the live set is never empty.
func (r *renderer) ipset() {
	v4, v6 := r.merged()
	base := r.c.setName()
	for _, s := range []struct {
		name, fam string
		family
	}{{base + "4", "inet", family{true, v4}}, {base + "6", "inet6", family{false, v6}}} {
		maxelem := 65536
		for maxelem < len(s.cs) {
			maxelem *= 2
		}
		tmp := s.name + "-new"
		for _, name := range []string{s.name, tmp} {
			fmt.Fprintf(r.w, "create %s hash:net family %s hashsize 1024 maxelem %d -exist\n", name, s.fam, maxelem)
		}
		fmt.Fprintf(r.w, "flush %s\n", tmp)
		head := "add " + tmp + " "
		for _, c := range s.cs {
			b := append(r.buf[:0], head...)
			b = appendCIDR(b, c, s.v4)
			b = append(b, " -exist\n"...)
			r.w.Write(b)
			r.buf = b
		}
		fmt.Fprintf(r.w, "swap %s %s\ndestroy %s\n", tmp, s.name, tmp)
		r.n += len(s.cs)
	}
}

// mikrotik writes a RouterOS script: every entry is added (or, when it
// is already there, re-tagged) with this generation's comment, then the
// entries of the list tagged by an earlier generation are removed. The
// list is never empty while the script runs.
func (r *renderer) mikrotik() {
	v4, v6 := r.merged()
	h := fnv.New64a()
	var scratch [17]byte
	for _, f := range []family{{true, v4}, {false, v6}} {
		for _, c := range f.cs {
			binary.BigEndian.PutUint64(scratch[:8], c.addr.hi)
			binary.BigEndian.PutUint64(scratch[8:16], c.addr.lo)
			scratch[16] = c.bits
			h.Write(scratch[:])
		}
		h.Write([]byte{0xff})
	}
	list := r.c.setName()
	tag := fmt.Sprintf("rampart-%08x", uint32(h.Sum64()))
	r.comment("#", len(v4), len(v6))
	r.w.WriteString("# Import with /import file-name=<this file>. Entries of list " + list + " commented rampart-* belong to Rampart.\n")
	for _, s := range []struct {
		menu string
		family
	}{{"/ip firewall address-list", family{true, v4}}, {"/ipv6 firewall address-list", family{false, v6}}} {
		r.w.WriteString(s.menu + "\n")
		for _, c := range s.cs {
			a := appendCIDR(r.buf[:0], c, s.v4)
			if !s.v4 && c.bits == 128 {
				a = append(a, "/128"...) // RouterOS keeps IPv6 list entries as prefixes
			}
			n := len(a)
			b := append(a, ":do { add list="...)
			b = append(b, list...)
			b = append(b, " address="...)
			b = append(b, a[:n]...)
			b = append(b, " comment="...)
			b = append(b, tag...)
			b = append(b, " } on-error={ set [find list="...)
			b = append(b, list...)
			b = append(b, " address="...)
			b = append(b, a[:n]...)
			b = append(b, "] comment="...)
			b = append(b, tag...)
			b = append(b, " }\n"...)
			r.w.Write(b[n:])
			r.buf = b
		}
		fmt.Fprintf(r.w, "remove [find list=%s comment~\"^rampart-\" comment!=%s]\n", list, tag)
		r.n += len(s.cs)
	}
}

// rpz writes a response policy zone: each domain answers NXDOMAIN for
// itself and every name below it (CNAME .), each address or network is
// an IP trigger (rpz-ip) that does the same for answers pointing there.
func (r *renderer) rpz() {
	v4, v6 := r.merged()
	zone := r.c.zone()
	r.comment(";", len(v4), len(v6))
	fmt.Fprintf(r.w, "$TTL 300\n$ORIGIN %s\n@ IN SOA localhost. hostmaster.localhost. %d 3600 600 604800 300\n@ IN NS localhost.\n", zone, r.l.Serial)
	room := 253 - len(zone) - 2 // the owner, "*." and the zone in 253
	r.each(r.l.others, func(e *entry) {
		if len(e.value) > room {
			return
		}
		b := append(r.buf[:0], e.value...)
		b = append(b, " CNAME .\n*."...)
		b = append(b, e.value...)
		b = append(b, " CNAME .\n"...)
		r.w.Write(b)
		r.buf = b
		r.n++
	})
	for _, f := range []family{{true, v4}, {false, v6}} {
		for _, c := range f.cs {
			b := appendRPZIP(r.buf[:0], c, f.v4)
			b = append(b, " CNAME .\n"...)
			r.w.Write(b)
			r.buf = b
			r.n++
		}
	}
}

// appendRPZIP writes the owner name of an IP trigger: the prefix
// length, then the address backwards (IPv4 octets; IPv6 16-bit words in
// hex, the longest run of zero words as "zz"), then rpz-ip.
func appendRPZIP(b []byte, c cidr, v4 bool) []byte {
	b = strconv.AppendUint(b, uint64(c.bits), 10)
	if v4 {
		for i := range 4 {
			b = append(b, '.')
			b = strconv.AppendUint(b, c.addr.lo>>(8*i)&0xff, 10)
		}
		return append(b, ".rpz-ip"...)
	}
	// netip writes the RFC 5952 form: "::" is the longest zero run.
	var scratch [48]byte
	text := fromU128(c.addr, false).AppendTo(scratch[:0])
	left, right, compressed := bytes.Cut(text, []byte("::"))
	words := func(s []byte) [][]byte {
		if len(s) == 0 {
			return nil
		}
		return bytes.Split(s, []byte(":"))
	}
	l, rt := words(left), words(right)
	for i := len(rt) - 1; i >= 0; i-- {
		b = append(append(b, '.'), rt[i]...)
	}
	if compressed {
		b = append(b, ".zz"...)
	}
	for i := len(l) - 1; i >= 0; i-- {
		b = append(append(b, '.'), l[i]...)
	}
	return append(b, ".rpz-ip"...)
}
