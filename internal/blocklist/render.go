package blocklist

import (
	"bufio"
	"fmt"
	"hash/fnv"
	"io"
	"net/netip"
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
	r := renderer{l: l, c: c, f: f, w: bw, now: now.Unix()}
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
	now int64
	n   int
	buf []byte
}

// each calls fn for every entry c accepts, in list order.
func (r *renderer) each(list []entry, fn func(*entry)) {
	for i := range list {
		if e := &list[i]; r.c.accepts(e, r.f, r.now) {
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
	line := func(e *entry) {
		b := append(r.buf[:0], e.value...)
		b = append(b, ',')
		b = append(b, e.kind...)
		b = append(b, ',')
		if safeValue(string(e.category)) {
			b = append(b, e.category...)
		}
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(e.confidence), 10)
		b = append(b, ',')
		b = append(b, intel.TLPs[e.tlp]...)
		b = append(b, ',')
		b = time.Unix(e.lastSeen, 0).UTC().AppendFormat(b, time.RFC3339)
		b = append(b, '\n')
		r.w.Write(b)
		r.buf = b
		r.n++
	}
	r.each(r.l.addrs, line)
	r.each(r.l.others, line)
}

// merged returns the accepted addresses and networks as the fewest
// non-overlapping CIDRs, IPv4 and IPv6 apart.
func (r *renderer) merged() (v4, v6 []netip.Prefix) {
	var p4, p6 []netip.Prefix
	r.each(r.l.addrs, func(e *entry) {
		if e.prefix.Addr().Is4() {
			p4 = append(p4, e.prefix)
		} else {
			p6 = append(p6, e.prefix)
		}
	})
	// The list is sorted by address, then length: mergePrefixes' order.
	return mergePrefixes(nil, p4), mergePrefixes(nil, p6)
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

func (r *renderer) appendPrefix(b []byte, p netip.Prefix) []byte {
	if p.IsSingleIP() {
		return p.Addr().AppendTo(b)
	}
	return p.AppendTo(b)
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
		ps        []netip.Prefix
	}{{"block4", "ipv4_addr", v4}, {"block6", "ipv6_addr", v6}} {
		fmt.Fprintf(r.w, "add set inet %s %s { type %s; flags interval; }\n", t, s.name, s.typ)
		fmt.Fprintf(r.w, "flush set inet %s %s\n", t, s.name)
		for i := 0; i < len(s.ps); i += 512 {
			b := fmt.Appendf(r.buf[:0], "add element inet %s %s { ", t, s.name)
			for j, p := range s.ps[i:min(i+512, len(s.ps))] {
				if j > 0 {
					b = append(b, ", "...)
				}
				b = r.appendPrefix(b, p)
			}
			b = append(b, " }\n"...)
			r.w.Write(b)
			r.buf = b
		}
		r.n += len(s.ps)
	}
}

// ipset writes a file for `ipset restore -exist`: each set is filled as
// a temporary set and swapped in whole, so the live set is never empty.
func (r *renderer) ipset() {
	v4, v6 := r.merged()
	base := r.c.setName()
	for _, s := range []struct {
		name, family string
		ps           []netip.Prefix
	}{{base + "4", "inet", v4}, {base + "6", "inet6", v6}} {
		maxelem := 65536
		for maxelem < len(s.ps) {
			maxelem *= 2
		}
		tmp := s.name + "-new"
		for _, name := range []string{s.name, tmp} {
			fmt.Fprintf(r.w, "create %s hash:net family %s hashsize 1024 maxelem %d -exist\n", name, s.family, maxelem)
		}
		fmt.Fprintf(r.w, "flush %s\n", tmp)
		for _, p := range s.ps {
			b := append(r.buf[:0], "add "...)
			b = append(b, tmp...)
			b = append(b, ' ')
			b = r.appendPrefix(b, p)
			b = append(b, " -exist\n"...)
			r.w.Write(b)
			r.buf = b
		}
		fmt.Fprintf(r.w, "swap %s %s\ndestroy %s\n", tmp, s.name, tmp)
		r.n += len(s.ps)
	}
}

// mikrotik writes a RouterOS script: every entry is added (or, when it
// is already there, re-tagged) with this generation's comment, then the
// entries of the list tagged by an earlier generation are removed. The
// list is never empty while the script runs.
func (r *renderer) mikrotik() {
	v4, v6 := r.merged()
	h := fnv.New64a()
	for _, p := range append(append([]netip.Prefix(nil), v4...), v6...) {
		b, _ := p.MarshalBinary()
		h.Write(b)
	}
	list := r.c.setName()
	tag := fmt.Sprintf("rampart-%08x", uint32(h.Sum64()))
	r.comment("#", len(v4), len(v6))
	r.w.WriteString("# Import with /import file-name=<this file>. Entries of list " + list + " commented rampart-* belong to Rampart.\n")
	for _, s := range []struct {
		menu string
		ps   []netip.Prefix
	}{{"/ip firewall address-list", v4}, {"/ipv6 firewall address-list", v6}} {
		r.w.WriteString(s.menu + "\n")
		for _, p := range s.ps {
			a := string(r.appendPrefix(r.buf[:0], p))
			if !p.Addr().Is4() && p.IsSingleIP() {
				a += "/128" // RouterOS keeps IPv6 list entries as prefixes
			}
			fmt.Fprintf(r.w, ":do { add list=%s address=%s comment=%s } on-error={ set [find list=%s address=%s] comment=%s }\n",
				list, a, tag, list, a, tag)
		}
		fmt.Fprintf(r.w, "remove [find list=%s comment~\"^rampart-\" comment!=%s]\n", list, tag)
		r.n += len(s.ps)
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
		fmt.Fprintf(r.w, "%s CNAME .\n*.%s CNAME .\n", e.value, e.value)
		r.n++
	})
	for _, ps := range [][]netip.Prefix{v4, v6} {
		for _, p := range ps {
			r.w.WriteString(rpzIP(p))
			r.w.WriteString(" CNAME .\n")
			r.n++
		}
	}
}

// rpzIP is the owner name of an IP trigger: the prefix length, then the
// address backwards (IPv4 octets; IPv6 16-bit words in hex, the longest
// run of zero words as "zz"), then rpz-ip.
func rpzIP(p netip.Prefix) string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(p.Bits()))
	a := p.Addr()
	if a.Is4() {
		o := a.As4()
		for i := 3; i >= 0; i-- {
			b.WriteByte('.')
			b.WriteString(strconv.Itoa(int(o[i])))
		}
		b.WriteString(".rpz-ip")
		return b.String()
	}
	// netip writes the RFC 5952 form: "::" is the longest zero run.
	left, right, compressed := strings.Cut(a.String(), "::")
	words := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, ":")
	}
	l, rt := words(left), words(right)
	for i := len(rt) - 1; i >= 0; i-- {
		b.WriteString("." + rt[i])
	}
	if compressed {
		b.WriteString(".zz")
	}
	for i := len(l) - 1; i >= 0; i-- {
		b.WriteString("." + l[i])
	}
	b.WriteString(".rpz-ip")
	return b.String()
}
