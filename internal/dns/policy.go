package dns

import (
	"errors"
	"fmt"
	"net/netip"
)

// Action is what a list does with the names it holds.
type Action uint8

// The actions of a list.
const (
	// ActionNXDomain answers NXDOMAIN (the name does not exist).
	ActionNXDomain Action = iota
	// ActionNoData answers NOERROR with no records.
	ActionNoData
	// ActionRedirect answers A and AAAA queries with the walled-garden
	// address of the policy (RedirectA, RedirectAAAA); other types, and a
	// type whose address is not set, get NODATA.
	ActionRedirect
)

// String is the action's name as used in configuration and metrics.
func (a Action) String() string {
	switch a {
	case ActionNXDomain:
		return "nxdomain"
	case ActionNoData:
		return "nodata"
	case ActionRedirect:
		return "redirect"
	}
	return fmt.Sprintf("action(%d)", uint8(a))
}

// ParseAction reads an action name ("nxdomain", "nodata", "redirect").
func ParseAction(s string) (Action, error) {
	switch s {
	case "nxdomain", "NXDOMAIN":
		return ActionNXDomain, nil
	case "nodata", "NODATA":
		return ActionNoData, nil
	case "redirect", "REDIRECT", "walled-garden":
		return ActionRedirect, nil
	}
	return 0, fmt.Errorf("dns: unknown action %q (want nxdomain, nodata or redirect)", s)
}

// List is one named list of blocked names. A name blocks itself and all
// its subdomains; names are case-insensitive, a trailing dot and a leading
// "*." are ignored.
type List struct {
	Name   string
	Action Action
	Names  []string
}

// PolicySpec is a policy as the hub sends it, before compilation.
type PolicySpec struct {
	// Version identifies the policy (shown in health and metrics).
	Version int64
	// Lists are checked together; a name in two lists belongs to the
	// first one.
	Lists []List
	// Allow holds names (and their subdomains) that are never blocked,
	// whichever list holds them or a parent of them.
	Allow []string
	// RedirectA and RedirectAAAA are the walled-garden answers of
	// ActionRedirect; an invalid address means NODATA for that type.
	RedirectA    netip.Addr
	RedirectAAAA netip.Addr
	// RedirectTTL is the TTL of local answers: the walled-garden records
	// and the SOA (and its minimum) of NXDOMAIN and NODATA answers.
	// 0 means DefaultPolicyTTL.
	RedirectTTL uint32
}

// DefaultPolicyTTL is the TTL of local answers when the spec gives none.
const DefaultPolicyTTL = 60

// MaxLists is how many lists a policy may have.
const MaxLists = 1 << 16

// Errors of Compile.
var (
	// ErrPolicy is wrapped by every error about an invalid spec.
	ErrPolicy = errors.New("dns: invalid policy")
)

// Policy is a compiled PolicySpec: immutable, safe for concurrent use,
// and compact (an open-addressing table of 16-byte slots keyed by the hash
// of each listed name, the names themselves in one byte arena).
type Policy struct {
	version int64
	lists   []listInfo
	slots   []slot
	mask    uint64
	// bloom has one bit per hash (top bits), set for every listed name:
	// most label suffixes of a query are not listed, and a clear bit in
	// this small array spares the read of a slot in the large table.
	bloom      []uint64
	bloomShift uint
	arena      []byte
	blocked    int // distinct blocked names
	allowed    int // distinct allowlisted names
	rejected   int // names skipped as invalid
	redirA     netip.Addr
	redirA6    netip.Addr
	ttl        uint32
}

type listInfo struct {
	name   string
	action Action
}

// slot is one entry of the table. kind: 0 empty, bit 1 blocked, bit 2
// allowed. A name both blocked and allowed is allowed.
type slot struct {
	h    uint64
	off  uint32
	n    uint8
	kind uint8
	list uint16
}

const (
	kindBlock = 1
	kindAllow = 2
)

// Compile builds a Policy from spec. Invalid names (empty, longer than 253
// bytes, an empty or 64-byte label, spaces, backslashes, the root) are
// skipped and counted (Rejected), so one bad entry of a million does not
// stop the rest; an invalid spec (too many lists, an unknown action, a
// redirect address of the wrong family) is an error wrapping ErrPolicy.
func Compile(spec *PolicySpec) (*Policy, error) {
	if spec == nil {
		return nil, fmt.Errorf("%w: nil spec", ErrPolicy)
	}
	if len(spec.Lists) > MaxLists {
		return nil, fmt.Errorf("%w: %d lists, at most %d", ErrPolicy, len(spec.Lists), MaxLists)
	}
	if spec.RedirectA.IsValid() && !spec.RedirectA.Is4() {
		return nil, fmt.Errorf("%w: redirect A address %s is not IPv4", ErrPolicy, spec.RedirectA)
	}
	if spec.RedirectAAAA.IsValid() && (!spec.RedirectAAAA.Is6() || spec.RedirectAAAA.Is4In6()) {
		return nil, fmt.Errorf("%w: redirect AAAA address %s is not IPv6", ErrPolicy, spec.RedirectAAAA)
	}
	p := &Policy{
		version: spec.Version,
		redirA:  spec.RedirectA,
		redirA6: spec.RedirectAAAA,
		ttl:     spec.RedirectTTL,
	}
	if p.ttl == 0 {
		p.ttl = DefaultPolicyTTL
	}
	total, bytes := len(spec.Allow), 0
	for _, n := range spec.Allow {
		bytes += len(n)
	}
	p.lists = make([]listInfo, len(spec.Lists))
	for i, l := range spec.Lists {
		if l.Action > ActionRedirect {
			return nil, fmt.Errorf("%w: list %q: unknown action %d", ErrPolicy, l.Name, l.Action)
		}
		p.lists[i] = listInfo{name: l.Name, action: l.Action}
		total += len(l.Names)
		for _, n := range l.Names {
			bytes += len(n)
		}
	}
	size := 16
	for size < 2*total {
		size <<= 1
	}
	p.slots = make([]slot, size)
	p.mask = uint64(size - 1)
	bits, shift := 1<<12, uint(64-12)
	for bits < 8*size { // 16 to 32 bits a name: few false positives
		bits <<= 1
		shift--
	}
	p.bloom = make([]uint64, bits/64)
	p.bloomShift = shift
	p.arena = make([]byte, 0, bytes)
	// Normalize and hash every name in order (sequential writes), sort the
	// entries by home slot (a stable radix sort keeps spec order among
	// equal names: the first list wins), then place them: in home order
	// the table is written front to back instead of at random, which on a
	// table of tens of megabytes is most of the time of a compile.
	ents := make([]slot, 0, total)
	for i, l := range spec.Lists {
		for _, n := range l.Names {
			ents = p.entry(ents, n, kindBlock, uint16(i))
		}
	}
	for _, n := range spec.Allow {
		ents = p.entry(ents, n, kindAllow, 0)
	}
	// The table, at least twice as long as the entries and still empty,
	// is the sort's scratch space: no second copy of the entries.
	sortByHome(ents, p.slots[:len(ents)], p.mask)
	clear(p.slots[:len(ents)])
	for i := range ents {
		p.place(&ents[i])
	}
	return p, nil
}

// entry appends the table entry of one raw name (none if it is invalid).
func (p *Policy) entry(ents []slot, raw string, kind uint8, list uint16) []slot {
	start := len(p.arena)
	a, ok := normalizeInto(p.arena, raw)
	if !ok {
		p.rejected++
		return ents
	}
	p.arena = a
	n := a[start:]
	return append(ents, slot{h: hashName(n), off: uint32(start), n: uint8(len(n)), kind: kind, list: list})
}

// place puts e in the table, or merges it into the entry of the same name
// (a duplicate's bytes stay unused in the arena).
func (p *Policy) place(e *slot) {
	for i := e.h & p.mask; ; i = (i + 1) & p.mask {
		s := &p.slots[i]
		if s.kind == 0 {
			*s = *e
			b := e.h >> p.bloomShift
			p.bloom[b>>6] |= 1 << (b & 63)
			p.count(0, e.kind)
			return
		}
		if s.h == e.h && s.n == e.n && string(p.arena[s.off:s.off+uint32(s.n)]) == string(p.arena[e.off:e.off+uint32(e.n)]) {
			if s.kind&e.kind == 0 {
				p.count(s.kind, e.kind)
				s.kind |= e.kind
				if e.kind == kindBlock {
					s.list = e.list
				}
			}
			return
		}
	}
}

// sortByHome sorts a by home slot (h & mask), stably, with tmp (as long
// as a) as scratch: a least significant digit radix sort, 11 bits a pass.
func sortByHome(a, tmp []slot, mask uint64) {
	if len(a) < 2 {
		return
	}
	src, dst := a, tmp
	for shift := uint(0); mask>>shift != 0; shift += 11 {
		var count [2049]int
		for i := range src {
			count[(src[i].h&mask)>>shift&2047+1]++
		}
		for i := 1; i < len(count); i++ {
			count[i] += count[i-1]
		}
		for i := range src {
			d := (src[i].h & mask) >> shift & 2047
			dst[count[d]] = src[i]
			count[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &a[0] {
		copy(a, src)
	}
}

func (p *Policy) count(had, kind uint8) {
	if kind == kindBlock && had&kindBlock == 0 {
		p.blocked++
	}
	if kind == kindAllow && had&kindAllow == 0 {
		p.allowed++
	}
}

// Lookup reports whether qname (any case, with or without the trailing
// dot) is blocked, by which list and with which action. The longest listed
// suffix names the list; an allowlisted suffix anywhere wins over every
// list.
func (p *Policy) Lookup(qname string) (list string, act Action, blocked bool) {
	m := lookup(p, qname)
	if !m.blocked {
		return "", 0, false
	}
	l := p.lists[m.list]
	return l.name, l.action, true
}

// match is the result of a lookup: the list and the length of the listed
// suffix (for the SOA owner of a local answer).
type match struct {
	blocked bool
	list    uint16
	suffix  int
}

// lookup walks the name's label suffixes from the shortest (the top-level
// label) to the longest (the name), hashing right to left so that each suffix
// costs one step more than the one before: the shortest suffix comes first,
// so the last block found is the longest match, and an allowlisted suffix
// anywhere ends the walk unblocked.
func lookup[T ~string | ~[]byte](p *Policy, name T) match {
	var m match
	if p == nil || len(p.slots) == 0 {
		return m
	}
	end := len(name)
	if end > 0 && name[end-1] == '.' && !escaped(name, end-1) {
		end--
	}
	h := uint64(fnvOffset)
	for i := end - 1; ; i-- {
		if i < 0 || (name[i] == '.' && !escaped(name, i)) {
			if i+1 < end {
				if s := find(p, mix(h), name[i+1:end]); s != nil {
					if s.kind&kindAllow != 0 {
						return match{}
					}
					if s.kind&kindBlock != 0 {
						m = match{blocked: true, list: s.list, suffix: end - i - 1}
					}
				}
			}
			if i < 0 {
				return m
			}
		}
		h = (h ^ uint64(lower(name[i]))) * fnvPrime
	}
}

// find returns the slot of name (hash h), nil when it is not listed.
func find[T ~string | ~[]byte](p *Policy, h uint64, name T) *slot {
	if len(name) > 255 {
		return nil
	}
	if b := h >> p.bloomShift; p.bloom[b>>6]&(1<<(b&63)) == 0 {
		return nil
	}
	for i := h & p.mask; ; i = (i + 1) & p.mask {
		s := &p.slots[i]
		if s.kind == 0 {
			return nil
		}
		if s.h == h && int(s.n) == len(name) && equalFold(p.arena[s.off:s.off+uint32(s.n)], name) {
			return s
		}
	}
}

// Version is the spec's version.
func (p *Policy) Version() int64 { return p.version }

// Names is the number of distinct blocked names.
func (p *Policy) Names() int { return p.blocked }

// Allowed is the number of distinct allowlisted names.
func (p *Policy) Allowed() int { return p.allowed }

// Rejected is the number of names skipped as invalid.
func (p *Policy) Rejected() int { return p.rejected }

// Lists names the policy's lists in spec order.
func (p *Policy) Lists() []string {
	out := make([]string, len(p.lists))
	for i, l := range p.lists {
		out[i] = l.name
	}
	return out
}

// TTL is the TTL of the policy's local answers.
func (p *Policy) TTL() uint32 { return p.ttl }

// SizeBytes is the memory the compiled table and names take.
func (p *Policy) SizeBytes() int { return len(p.slots)*16 + cap(p.arena) + 8*len(p.bloom) }
