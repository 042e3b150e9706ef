package target

import (
	"cmp"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"math/bits"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Errors. Each error this package returns wraps one of them and names the
// specification or item it refuses.
var (
	ErrSpec     = errors.New("target: invalid target")
	ErrPorts    = errors.New("target: invalid port specification")
	ErrTooMany  = errors.New("target: too many addresses")
	ErrResolve  = errors.New("target: cannot resolve")
	ErrNoTarget = errors.New("target: no targets given")
)

// Default limits of an Expander.
const (
	DefaultMaxHosts   = 1 << 24 // a /8
	DefaultMaxV6Hosts = 1 << 16 // a /112
	resolveWorkers    = 16
)

// Target is one address to scan.
type Target struct {
	Addr netip.Addr
	// Name is the host name that resolved to Addr, when a name or URL
	// specification did; the first such name wins.
	Name string
	// Aliases are the other names of the specifications that resolved to
	// Addr (name-based virtual hosts sharing the address), in
	// specification order.
	Aliases []string
	// Spec is the specification the target came from: the one that named
	// it when there is a Name, otherwise the first that covers Addr.
	Spec string
	// Scheme and Port are the hints of a URL specification ("https", 8443),
	// empty when the target came from anything else.
	Scheme string
	Port   uint16
}

// Resolver resolves host names; *net.Resolver satisfies it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

var _ Resolver = (*net.Resolver)(nil)

// NewResolver returns a resolver that sends every DNS query to addr
// ("192.0.2.53:53", "[2001:db8::53]:5353"; the port defaults to 53) instead
// of the system's servers, over UDP and TCP as the Go resolver chooses.
func NewResolver(addr string) *net.Resolver {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(addr, "53")
	}
	var d net.Dialer
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			if _, ok := ctx.Deadline(); !ok {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
			}
			return d.DialContext(ctx, network, addr)
		},
	}
}

// Expander turns target specifications into addresses. The zero value is
// ready to use with the default limits and no resolver.
type Expander struct {
	// Resolver resolves names and URL hosts; nil refuses them.
	Resolver Resolver
	// MaxHosts caps the number of distinct addresses (0: DefaultMaxHosts).
	MaxHosts uint64
	// MaxV6Hosts caps the size of any one IPv6 network or range
	// (0: DefaultMaxV6Hosts).
	MaxV6Hosts uint64
	// Unresolved, when set, is told about each name that does not resolve
	// (or resolves to nothing) and expansion goes on without it; when nil,
	// such a name fails the expansion.
	Unresolved func(spec string, err error)
}

// Expand expands specs with the default limits and resolver r; see
// Expander.Expand.
func Expand(ctx context.Context, specs []string, r Resolver) (iter.Seq[Target], uint64, error) {
	return Expander{Resolver: r}.Expand(ctx, specs)
}

// Expand parses every specification, resolves names (in parallel, bounded),
// checks the limits and returns an iterator over the distinct addresses and
// their number. Nothing is scanned or materialized per address: a /8 costs
// the same memory as one address. Targets come in the order of the
// specifications (a later specification contributes only addresses no
// earlier one covered), and in address order within one. The iterator may
// be used any number of times and yields the same sequence each time.
func (e Expander) Expand(ctx context.Context, specs []string) (iter.Seq[Target], uint64, error) {
	maxHosts, maxV6 := cmp.Or(e.MaxHosts, DefaultMaxHosts), cmp.Or(e.MaxV6Hosts, DefaultMaxV6Hosts)
	if len(specs) == 0 {
		return nil, 0, ErrNoTarget
	}
	parsed := make([]Spec, len(specs))
	for i, raw := range specs {
		sp, err := ParseSpec(raw)
		if err != nil {
			return nil, 0, err
		}
		if sp.First.IsValid() && !sp.First.Is4() && sp.Size() > maxV6 {
			return nil, 0, fmt.Errorf("%w: %q covers %s IPv6 addresses; at most %d may be scanned from one network or range (narrow it, e.g. to a /112)",
				ErrTooMany, short(sp.Raw), sizeText(sp), maxV6)
		}
		if sp.Size() > maxHosts {
			return nil, 0, fmt.Errorf("%w: %q covers %s addresses; the limit is %d", ErrTooMany, short(sp.Raw), sizeText(sp), maxHosts)
		}
		parsed[i] = sp
	}
	resolved, err := e.resolve(ctx, parsed)
	if err != nil {
		return nil, 0, err
	}

	// Every specification becomes one or more intervals tagged with its
	// position; names become one-address intervals. Addresses that came
	// from a name or URL keep that annotation whatever interval emits them.
	var ivs []interval
	notes := make(map[netip.Addr]note)
	aliases := make(map[netip.Addr][]string)
	for i, sp := range parsed {
		n := note{spec: sp.Raw, name: sp.Host, scheme: sp.Scheme, port: sp.Port}
		if sp.First.IsValid() {
			ivs = append(ivs, interval{order: i, v4: sp.First.Is4(), lo: toU128(sp.First), hi: toU128(sp.Last)})
			if sp.Kind == KindURL {
				if _, ok := notes[sp.First]; !ok {
					notes[sp.First] = n
				}
			}
			continue
		}
		for _, a := range resolved[i] {
			ivs = append(ivs, interval{order: i, v4: a.Is4(), lo: toU128(a), hi: toU128(a)})
			if first, ok := notes[a]; !ok {
				notes[a] = n
			} else if sp.Host != "" && sp.Host != first.name && !slices.Contains(aliases[a], sp.Host) {
				aliases[a] = append(aliases[a], sp.Host)
			}
		}
	}
	segs := disjoint(ivs)
	var total uint64
	for _, s := range segs {
		n := s.size()
		if n > maxHosts || total > maxHosts-n {
			return nil, 0, fmt.Errorf("%w: the targets cover more than %d distinct addresses", ErrTooMany, maxHosts)
		}
		total += n
	}
	seq := func(yield func(Target) bool) {
		for _, s := range segs {
			spec := parsed[s.order].Raw
			for u := s.lo; ; u = u.inc() {
				a := u.addr(s.v4)
				t := Target{Addr: a, Spec: spec}
				if n, ok := notes[a]; ok {
					t.Name, t.Spec, t.Scheme, t.Port = n.name, n.spec, n.scheme, n.port
					t.Aliases = aliases[a]
				}
				if !yield(t) {
					return
				}
				if u == s.hi {
					break
				}
			}
		}
	}
	return seq, total, nil
}

type note struct {
	spec, name, scheme string
	port               uint16
}

func sizeText(sp Spec) string {
	if n := sp.Size(); n != ^uint64(0) {
		return fmt.Sprint(n)
	}
	return fmt.Sprintf("about 2^%d", sp.First.BitLen()-commonBits(sp.First, sp.Last))
}

// commonBits is the length of the common prefix of two addresses.
func commonBits(a, b netip.Addr) int {
	for n := a.BitLen(); n > 0; n-- {
		p, _ := a.Prefix(n)
		if p.Contains(b) {
			return n
		}
	}
	return 0
}

// resolve looks up every name and URL host, a bounded number at a time,
// and returns the addresses per specification index.
func (e Expander) resolve(ctx context.Context, specs []Spec) ([][]netip.Addr, error) {
	out := make([][]netip.Addr, len(specs))
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, resolveWorkers)
	for i, sp := range specs {
		if sp.Host == "" {
			continue
		}
		if e.Resolver == nil {
			return nil, fmt.Errorf("%w %q: no resolver configured", ErrResolve, short(sp.Raw))
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			addrs, err := e.Resolver.LookupNetIP(ctx, "ip", sp.Host)
			if err == nil && len(addrs) == 0 {
				err = errors.New("no addresses")
			}
			for j := range addrs {
				addrs[j] = addrs[j].Unmap().WithZone("")
			}
			slices.SortFunc(addrs, netip.Addr.Compare)
			out[i], errs[i] = slices.Compact(addrs), err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err == nil {
			continue
		}
		err = fmt.Errorf("%w %q: %v", ErrResolve, short(specs[i].Raw), err)
		if e.Unresolved == nil {
			return nil, err
		}
		e.Unresolved(specs[i].Raw, err)
		out[i] = nil
	}
	return out, ctx.Err()
}

// interval is an inclusive address range owned by the specification at
// position order.
type interval struct {
	order  int
	v4     bool
	lo, hi u128
}

func (s interval) size() uint64 {
	lo, b := bits.Sub64(s.hi.lo, s.lo.lo, 0)
	if hi, _ := bits.Sub64(s.hi.hi, s.lo.hi, b); hi != 0 || lo == math.MaxUint64 {
		return math.MaxUint64
	}
	return lo + 1
}

// disjoint splits overlapping intervals so that every address belongs to
// exactly one piece, owned by the earliest specification that covers it,
// and returns the pieces in specification order, address order within one.
// It sweeps the intervals by start address with a heap of the active ones
// keyed by order: O(n log n) in the number of intervals, independent of
// how many addresses they cover.
func disjoint(ivs []interval) []interval {
	var out []interval
	for _, fam := range []bool{true, false} {
		var f []interval
		for _, iv := range ivs {
			if iv.v4 == fam {
				f = append(f, iv)
			}
		}
		slices.SortStableFunc(f, func(a, b interval) int { return a.lo.cmp(b.lo) })
		var act activeHeap
		i := 0
		var p u128
		for i < len(f) || act.Len() > 0 {
			if act.Len() == 0 {
				p = f[i].lo
			}
			for i < len(f) && f[i].lo.cmp(p) <= 0 {
				heap.Push(&act, f[i])
				i++
			}
			for act.Len() > 0 && act[0].hi.cmp(p) < 0 {
				heap.Pop(&act)
			}
			if act.Len() == 0 {
				continue
			}
			top := act[0]
			end := top.hi
			if i < len(f) && f[i].lo.cmp(end) <= 0 {
				end = f[i].lo.dec()
			}
			if n := len(out); n > 0 && out[n-1].order == top.order && out[n-1].v4 == fam && out[n-1].hi.inc() == p {
				out[n-1].hi = end
			} else {
				out = append(out, interval{order: top.order, v4: fam, lo: p, hi: end})
			}
			if end == (u128{^uint64(0), ^uint64(0)}) || (fam && end.lo == 1<<32-1) {
				break
			}
			p = end.inc()
		}
	}
	slices.SortStableFunc(out, func(a, b interval) int { return cmp.Compare(a.order, b.order) })
	return out
}

// activeHeap orders the intervals covering the sweep position by
// specification order, then by end so expired ones surface.
type activeHeap []interval

func (h activeHeap) Len() int { return len(h) }
func (h activeHeap) Less(i, j int) bool {
	if h[i].order != h[j].order {
		return h[i].order < h[j].order
	}
	return h[i].hi.cmp(h[j].hi) < 0
}
func (h activeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *activeHeap) Push(x any)   { *h = append(*h, x.(interval)) }
func (h *activeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
