package match

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gaissmai/bart"

	"github.com/rampart-cert/rampart/internal/intel"
)

// Change adds or removes one indicator. Value is in the canonical form
// intel.NormalizeValue returns; Apply checks the form cheaply (it does not
// normalize), so a non-canonical value is refused, never silently
// unmatchable.
type Change struct {
	Kind   intel.Kind
	Value  string
	ID     int64 // returned by lookups; ignored when removing
	Remove bool
}

// Counts is how many entries each table of a snapshot holds.
type Counts struct {
	Addrs  int // addresses and networks (IPv4 and IPv6)
	Names  int // domains
	URLs   int
	Emails int
	Hashes int // md5, sha1 and sha256 together
	ASNs   int
}

// Total is the sum of the counts.
func (c Counts) Total() int { return c.Addrs + c.Names + c.URLs + c.Emails + c.Hashes + c.ASNs }

// Snapshot is one immutable state of every table. Lookups on a snapshot
// are safe from any number of goroutines and see one batch boundary: all
// of a batch or none of it.
type Snapshot struct {
	addrs  addrs
	names  names
	urls   exact[string]
	emails exact[string]
	hashes exact[string]
	asns   exact[uint32]
}

// LookupAddr returns the ID of the most specific address or network
// indicator containing a (longest-prefix match). An IPv4-mapped IPv6
// address is looked up as the IPv4 address it carries; a zone is ignored.
func (s *Snapshot) LookupAddr(a netip.Addr) (int64, bool) {
	return s.addrs.lookup(a)
}

// LookupName returns the ID of the most specific domain indicator that
// covers name: name itself or a parent domain on a label boundary
// ("evil.example" covers "a.b.evil.example", never "xevil.example"). name
// must already be lower case (A-labels for IDNs); one trailing dot is
// ignored. It does not allocate.
func (s *Snapshot) LookupName(name string) (int64, bool) { return s.names.lookup(name) }

// LookupURL returns the ID of the URL indicator equal to u (normalized).
func (s *Snapshot) LookupURL(u string) (int64, bool) { return s.urls.lookup(u) }

// LookupEmail returns the ID of the e-mail indicator equal to addr
// (normalized: lower case).
func (s *Snapshot) LookupEmail(addr string) (int64, bool) { return s.emails.lookup(addr) }

// LookupHash returns the ID of the md5, sha1 or sha256 indicator equal to
// h (lower-case hex).
func (s *Snapshot) LookupHash(h string) (int64, bool) { return s.hashes.lookup(h) }

// LookupASN returns the ID of the indicator for AS number asn.
func (s *Snapshot) LookupASN(asn uint32) (int64, bool) { return s.asns.lookup(asn) }

// Counts returns the number of entries in each table.
func (s *Snapshot) Counts() Counts {
	return Counts{Addrs: s.addrs.count(), Names: s.names.count, URLs: s.urls.count,
		Emails: s.emails.count, Hashes: s.hashes.count, ASNs: s.asns.count}
}

// Matcher holds the current snapshot behind an atomic pointer: readers
// load it and never lock; writers (Apply) are serialized by a mutex, build
// the next snapshot from the current one without changing it, and publish
// it with one atomic store.
type Matcher struct {
	cur atomic.Pointer[Snapshot]

	mu      sync.Mutex // serializes writers
	addrs   addrWriter
	names   nameWriter
	mergeAt int // a delta's changes past which it is folded into its base
	cloneAt int // batch size from which the network trie is deep-copied
}

// Defaults for when a delta is folded into its base and when the network
// trie is copied whole rather than path-copied.
const (
	defaultMergeAt = 4096
	defaultCloneAt = 4096
)

// New returns an empty matcher.
func New() *Matcher { return newMatcher(defaultMergeAt, defaultCloneAt) }

func newMatcher(mergeAt, cloneAt int) *Matcher {
	m := &Matcher{mergeAt: mergeAt, cloneAt: cloneAt}
	seed := rand.Uint64()
	m.addrs = newAddrWriter(seed)
	m.names = nameWriter{seed: hashKey{rand.Uint64(), rand.Uint64()}}
	m.cur.Store(&Snapshot{addrs: addrs{seed: seed, nets: new(bart.Table[int64])}})
	return m
}

// Snapshot returns the current state; hold it to run many lookups against
// one consistent view.
func (m *Matcher) Snapshot() *Snapshot { return m.cur.Load() }

// LookupAddr looks a up in the current snapshot (see Snapshot.LookupAddr).
func (m *Matcher) LookupAddr(a netip.Addr) (int64, bool) { return m.cur.Load().LookupAddr(a) }

// LookupName looks name up in the current snapshot (see Snapshot.LookupName).
func (m *Matcher) LookupName(name string) (int64, bool) { return m.cur.Load().LookupName(name) }

// LookupURL looks u up in the current snapshot.
func (m *Matcher) LookupURL(u string) (int64, bool) { return m.cur.Load().LookupURL(u) }

// LookupEmail looks addr up in the current snapshot.
func (m *Matcher) LookupEmail(addr string) (int64, bool) { return m.cur.Load().LookupEmail(addr) }

// LookupHash looks h up in the current snapshot.
func (m *Matcher) LookupHash(h string) (int64, bool) { return m.cur.Load().LookupHash(h) }

// LookupASN looks asn up in the current snapshot.
func (m *Matcher) LookupASN(asn uint32) (int64, bool) { return m.cur.Load().LookupASN(asn) }

// Add adds or replaces one indicator (a batch of one: see Apply for the
// cost, and prefer Apply for many).
func (m *Matcher) Add(kind intel.Kind, value string, id int64) error {
	return m.Apply([]Change{{Kind: kind, Value: value, ID: id}})
}

// Remove removes one indicator; removing a value not present is no error.
func (m *Matcher) Remove(kind intel.Kind, value string) error {
	return m.Apply([]Change{{Kind: kind, Value: value, Remove: true}})
}

// Apply applies a batch in order (a later change to the same value wins)
// and publishes the result at once. It is all or nothing: if any change is
// invalid, nothing is applied and the error names the first bad change.
//
// Cost: readers are never blocked; the writer pays. A batch that fits in
// the deltas costs a copy of each delta it touches (at most
// max(4096, n/64) changes for a table of n) plus, per change, a probe of
// the delta and the base. When a batch would take a delta past that size,
// the delta and the batch are folded into a fresh copy of the base
// instead: O(n) (a memory copy of its slots, or a map clone), tens of
// milliseconds at a million, paid at most once per max(4096, n/64)
// changes. Networks cost about a microsecond per change (bart's
// path-copying insert and delete) in small batches and one deep copy of
// the network trie in batches of 4096 or more. With a million indicators
// loaded, one change costs about 0.1 ms and a batch of 100 about 1 ms,
// merges included (BenchmarkApplySmallBatch); loading a
// million into an empty matcher is one batch that builds each table in
// place, under a second on an idle core (BenchmarkLoad1M).
func (m *Matcher) Apply(changes []Change) error {
	var (
		addrs          []addrOp
		nameOps        []nameOp
		urls, emails   []exactOp[string]
		hashes         []exactOp[string]
		asns           []exactOp[uint32]
		firstErr       error
		firstBad, bads int
	)
	for i, c := range changes {
		if err := c.route(&addrs, &nameOps, &urls, &emails, &hashes, &asns); err != nil {
			if bads == 0 {
				firstBad, firstErr = i, err
			}
			bads++
		}
	}
	if bads > 0 {
		return fmt.Errorf("match: change %d of %d (%d refused, none applied): %w", firstBad+1, len(changes), bads, firstErr)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := m.cur.Load()
	next := *cur
	if len(addrs) > 0 {
		next.addrs = m.addrs.apply(cur.addrs, addrs, m.mergeAt, m.cloneAt)
	}
	if len(nameOps) > 0 {
		next.names = m.names.apply(cur.names, nameOps, m.mergeAt)
	}
	if len(urls) > 0 {
		next.urls = applyExact(cur.urls, urls, m.mergeAt)
	}
	if len(emails) > 0 {
		next.emails = applyExact(cur.emails, emails, m.mergeAt)
	}
	if len(hashes) > 0 {
		next.hashes = applyExact(cur.hashes, hashes, m.mergeAt)
	}
	if len(asns) > 0 {
		next.asns = applyExact(cur.asns, asns, m.mergeAt)
	}
	m.cur.Store(&next)
	return nil
}

// route checks c and appends it to the operations of its table.
func (c Change) route(addrs *[]addrOp, nameOps *[]nameOp, urls, emails, hashes *[]exactOp[string], asns *[]exactOp[uint32]) error {
	bad := func(why string) error {
		return fmt.Errorf("%w: %s %q: %s", intel.ErrInvalid, c.Kind, truncate(c.Value), why)
	}
	v := c.Value
	switch c.Kind {
	case intel.KindIPv4, intel.KindIPv6:
		a, err := netip.ParseAddr(v)
		if err != nil || a.Zone() != "" {
			return bad("not an IP address")
		}
		a = a.Unmap()
		if a.Is4() != (c.Kind == intel.KindIPv4) {
			return bad("not an " + string(c.Kind) + " address")
		}
		*addrs = append(*addrs, addrOp{netip.PrefixFrom(a, a.BitLen()), c.ID, c.Remove})
	case intel.KindCIDR:
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return bad("not a network")
		}
		*addrs = append(*addrs, addrOp{keyPrefix(p), c.ID, c.Remove})
	case intel.KindDomain:
		if why := checkName(v); why != "" {
			return bad(why)
		}
		*nameOps = append(*nameOps, nameOp{v, c.ID, c.Remove})
	case intel.KindURL:
		if v == "" || strings.ContainsAny(v, " \t\r\n") || !strings.Contains(v, "://") {
			return bad("not a normalized URL")
		}
		*urls = append(*urls, exactOp[string]{v, c.ID, c.Remove})
	case intel.KindEmail:
		at := strings.LastIndexByte(v, '@')
		if at <= 0 || at == len(v)-1 || hasUpper(v) {
			return bad("not a normalized e-mail address")
		}
		*emails = append(*emails, exactOp[string]{v, c.ID, c.Remove})
	case intel.KindMD5, intel.KindSHA1, intel.KindSHA256:
		want := 64
		switch c.Kind {
		case intel.KindMD5:
			want = 32
		case intel.KindSHA1:
			want = 40
		}
		if len(v) != want || strings.Trim(v, "0123456789abcdef") != "" {
			return bad(fmt.Sprintf("not %d lower-case hex digits", want))
		}
		*hashes = append(*hashes, exactOp[string]{v, c.ID, c.Remove})
	case intel.KindASN:
		n, err := strconv.ParseUint(strings.TrimPrefix(v, "AS"), 10, 32)
		if err != nil || n == 0 || !strings.HasPrefix(v, "AS") {
			return bad(`not "AS" and a number`)
		}
		*asns = append(*asns, exactOp[uint32]{uint32(n), c.ID, c.Remove})
	default:
		return bad("not a kind the matcher holds")
	}
	return nil
}

// checkName refuses a domain the name table cannot match as given: empty
// or over-long labels, upper case, bytes outside printable ASCII (IDNs
// arrive as A-labels), a leading "*." or a trailing dot.
func checkName(v string) string {
	if v == "" || len(v) > 253 {
		return "empty or longer than 253 bytes"
	}
	for label := range strings.SplitSeq(v, ".") {
		if label == "" || len(label) > 63 {
			return "empty label or label longer than 63 bytes"
		}
	}
	for i := 0; i < len(v); i++ {
		if b := v[i]; b <= ' ' || b >= 0x7f || b == '*' || ('A' <= b && b <= 'Z') {
			return "not a lower-case A-label name"
		}
	}
	return ""
}

func hasUpper(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return 'A' <= r && r <= 'Z' }) >= 0
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
