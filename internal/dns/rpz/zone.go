package rpz

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/blocklist"
	"github.com/rampart-cert/rampart/internal/intel"
)

// content is what one zone holds besides its SOA and NS: the blocked
// domains (each is two triggers, "d CNAME ." and "*.d CNAME .") and the
// IP triggers' owner names ("32.4.3.2.1.rpz-ip"), both relative to the
// origin and sorted, so two versions diff by a merge.
type content struct {
	domains []string
	ips     []string
}

// records is how many resource records the content makes.
func (c *content) records() int { return 2*len(c.domains) + len(c.ips) }

// delta is one change of a zone: the triggers that left and came when
// the serial went from `from` to `to`.
type delta struct {
	from, to         uint32
	delDoms, addDoms []string
	delIPs, addIPs   []string
}

func (d *delta) size() int { return len(d.delDoms) + len(d.addDoms) + len(d.delIPs) + len(d.addIPs) }

// records is how many trigger records the delta's IXFR sequence holds.
func (d *delta) records() int {
	return 2*(len(d.delDoms)+len(d.addDoms)) + len(d.delIPs) + len(d.addIPs)
}

// version is an immutable state of a zone: its serial, content and the
// journal of the changes that led to it (oldest first), for IXFR.
type version struct {
	serial  uint32
	content content
	journal []*delta
}

// render is the zone content of list l for consumer c as of now: the
// blocklist package's RPZ rendering (filters, address merging, name
// length limits are its own), read back line by line while it is
// written, so the zone and the RPZ file over HTTP never disagree.
//
// pool, when not nil, is a sorted superset of the domains (the pool
// rendering): a domain found there is that string, not a new one, so
// the zones of many consumers share their names' bytes.
func render(l *blocklist.List, c *blocklist.Consumer, now time.Time, pool []string) (content, error) {
	p := renderParser{pool: pool}
	if l != nil {
		if _, err := l.Render(&p, blocklist.FormatRPZ, c, now); err != nil {
			return content{}, fmt.Errorf("rpz: render zone %s: %w", c.Zone, err)
		}
		if len(p.rest) > 0 {
			p.line(p.rest)
		}
	}
	if !slices.IsSorted(p.c.domains) {
		slices.Sort(p.c.domains)
	}
	slices.Sort(p.c.ips)
	p.c.domains = slices.Compact(p.c.domains)
	p.c.ips = slices.Compact(p.c.ips)
	return p.c, nil
}

// renderParser is an io.Writer that reads an RPZ rendering's lines as
// they come: "; comment", "$TTL", "$ORIGIN", "@ ..." (the SOA and NS),
// "name CNAME .", "*.name CNAME ." (implied by name) and
// "<prefix>.<address reversed>.rpz-ip CNAME .".
type renderParser struct {
	c    content
	rest []byte
	pool []string
	pi   int // the pool's first name not below the last domain read
}

func (p *renderParser) Write(b []byte) (int, error) {
	n := len(b)
	if len(p.rest) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			p.rest = append(p.rest, b...)
			return n, nil
		}
		p.rest = append(p.rest, b[:i]...)
		p.line(p.rest)
		p.rest = p.rest[:0]
		b = b[i+1:]
	}
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			break
		}
		p.line(b[:i])
		b = b[i+1:]
	}
	p.rest = append(p.rest, b...)
	return n, nil
}

func (p *renderParser) line(l []byte) {
	if len(l) == 0 || l[0] == ';' || l[0] == '$' || l[0] == '@' || l[0] == '*' {
		return
	}
	owner, rest, ok := bytes.Cut(l, []byte(" "))
	if !ok || string(rest) != "CNAME ." || !validOwner(owner) {
		return
	}
	if bytes.HasSuffix(owner, []byte(".rpz-ip")) {
		p.c.ips = append(p.c.ips, string(owner))
		return
	}
	// Domains come sorted, as the pool is: walk it alongside.
	for p.pi < len(p.pool) && p.pool[p.pi] < string(owner) {
		p.pi++
	}
	if p.pi < len(p.pool) && p.pool[p.pi] == string(owner) {
		p.c.domains = append(p.c.domains, p.pool[p.pi])
		return
	}
	p.c.domains = append(p.c.domains, string(owner))
}

// poolConsumer renders every domain any consumer can get: the widest
// filter (TLP up to AMBER+STRICT, no confidence or age limit) and the
// shortest origin of the zones, so fewest names are cut for length.
func poolConsumer(origin string) *blocklist.Consumer {
	return &blocklist.Consumer{Name: "pool", MaxTLP: intel.TLPAmberStrict, Zone: origin}
}

// validOwner: a relative name the wire packer can write (labels of 1-63
// bytes, at most 240 bytes); the renderer only writes such names, this
// keeps a change there from making a bad message.
func validOwner(b []byte) bool {
	if len(b) == 0 || len(b) > 240 {
		return false
	}
	n := 0
	for _, c := range b {
		if c == '.' {
			if n == 0 {
				return false
			}
			n = 0
			continue
		}
		n++
		if n > 63 || c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return n > 0
}

// diffSorted returns what is in a and not in b, and what is in b and not
// in a; both are sorted and without duplicates.
func diffSorted(a, b []string) (gone, came []string) {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch c := strings.Compare(a[i], b[j]); {
		case c < 0:
			gone = append(gone, a[i])
			i++
		case c > 0:
			came = append(came, b[j])
			j++
		default:
			i++
			j++
		}
	}
	gone = append(gone, a[i:]...)
	came = append(came, b[j:]...)
	return gone, came
}

// nextSerial is the serial after prev: the time in seconds when that is
// ahead, else prev+1, so a restarted server (starting from the clock)
// is still ahead of what its secondaries hold.
func nextSerial(prev uint32, now time.Time) uint32 {
	t := uint32(now.Unix())
	if prev == 0 || int32(t-prev) > 0 {
		return t
	}
	return prev + 1
}

// advance returns the version after v with content c, or v itself when
// nothing changed. The journal keeps at most history deltas and at most
// maxJournal changed triggers in all (the oldest go first); a client
// older than the journal gets the whole zone.
func (v *version) advance(c content, now time.Time, history int) *version {
	d := &delta{from: v.serial}
	d.delDoms, d.addDoms = diffSorted(v.content.domains, c.domains)
	d.delIPs, d.addIPs = diffSorted(v.content.ips, c.ips)
	if d.size() == 0 {
		return v
	}
	d.to = nextSerial(v.serial, now)
	nv := &version{serial: d.to, content: c}
	j := append(slices.Clone(v.journal), d)
	total := 0
	for _, x := range j {
		total += x.size()
	}
	for len(j) > 0 && (len(j) > history || total > max(maxJournal, c.records())) {
		total -= j[0].size()
		j = j[1:]
	}
	nv.journal = j
	return nv
}

// maxJournal bounds the triggers a zone's journal holds, unless the zone
// itself is larger: then one zone's worth.
const maxJournal = 1 << 20

// since returns the deltas that take a secondary at serial from to v, or
// false when the journal does not reach back that far or the deltas
// hold more records than the zone (the whole zone is then shorter).
func (v *version) since(from uint32) ([]*delta, bool) {
	for i, d := range v.journal {
		if d.from == from {
			n := 0
			for _, x := range v.journal[i:] {
				n += x.records() + 2 // and its two SOAs
			}
			return v.journal[i:], n <= v.content.records()+2 // the whole zone's NS and second SOA
		}
	}
	return nil, false
}
