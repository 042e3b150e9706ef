package dnsdisc

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"

	mdns "github.com/miekg/dns"
)

// MaxWalk caps the names one NSEC walk visits.
const MaxWalk = 100_000

// WalkNSEC follows a zone's NSEC chain (DNSSEC, RFC 4034 4.1): each name's
// NSEC record names the next name of the zone, and the last one points
// back to the apex, so asking every name for its NSEC record lists the
// zone without a transfer. Signatures are not needed for walking and are
// not checked. It calls found for every name below the apex, in chain
// order, and returns how many; a zone without NSEC records (unsigned, or
// NSEC3) returns ErrNoWalk.
func WalkNSEC(ctx context.Context, r *Resolver, zone string, found func(Found)) (int, error) {
	apex := strings.ToLower(mdns.Fqdn(zone))
	cur := apex
	seen := map[string]bool{}
	n := 0
	for steps := 0; steps < MaxWalk; steps++ {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		m := new(mdns.Msg)
		m.SetQuestion(cur, mdns.TypeNSEC)
		m.RecursionDesired = true
		m.SetEdns0(1232, true)
		in, err := r.Exchange(ctx, m)
		if err != nil {
			return n, err
		}
		next := ""
		for _, rr := range append(in.Answer, in.Ns...) {
			if v, ok := rr.(*mdns.NSEC); ok && strings.EqualFold(v.Hdr.Name, cur) {
				next = strings.ToLower(mdns.Fqdn(v.NextDomain))
				break
			}
		}
		if next == "" {
			if cur == apex {
				return 0, fmt.Errorf("%w: %s has no NSEC record at its apex", ErrNoWalk, strings.TrimSuffix(apex, "."))
			}
			return n, fmt.Errorf("%w: %s: the chain breaks at %s", ErrNoWalk, strings.TrimSuffix(apex, "."), cur)
		}
		if next == apex || !mdns.IsSubDomain(apex, next) {
			return n, nil // the chain is closed
		}
		if seen[next] {
			return n, fmt.Errorf("%w: %s: the chain loops at %s", ErrNoWalk, strings.TrimSuffix(apex, "."), next)
		}
		seen[next] = true
		cur = next
		name := strings.TrimSuffix(next, ".")
		if strings.HasPrefix(name, "*.") || strings.HasPrefix(name, "_") || strings.Contains(name, "._") {
			continue
		}
		n++
		found(Found{Name: name, Evidence: "NSEC chain of " + strings.TrimSuffix(apex, ".") + " at " + r.server()})
	}
	return n, fmt.Errorf("%w: %s: more than %d names", ErrNoWalk, strings.TrimSuffix(apex, "."), MaxWalk)
}

// ReverseOptions bound a reverse DNS sweep.
type ReverseOptions struct {
	// MaxHosts skips a network with more addresses than this (default
	// 65536, a /16): a sweep is for registered ranges, not the internet.
	MaxHosts int
	// Concurrency is how many PTR queries run at once (default 32).
	Concurrency int
}

// Reverse asks the PTR record of every address of p and calls found for
// each name with the address it came from. A network wider than
// o.MaxHosts is refused with an error before any query.
func Reverse(ctx context.Context, r *Resolver, p netip.Prefix, o ReverseOptions, found func(Found)) (int, error) {
	if o.MaxHosts <= 0 {
		o.MaxHosts = 1 << 16
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 32
	}
	p = p.Masked()
	if host := p.Addr().BitLen() - p.Bits(); host >= 31 || 1<<host > o.MaxHosts {
		return 0, fmt.Errorf("discovery: dns: reverse DNS of %s: wider than %d addresses", p, o.MaxHosts)
	}
	addrs := make(chan netip.Addr)
	var wg sync.WaitGroup
	for range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range addrs {
				rev, err := mdns.ReverseAddr(a.String())
				if err != nil {
					continue
				}
				in, err := r.Query(ctx, rev, mdns.TypePTR)
				if err != nil || in.Rcode != mdns.RcodeSuccess {
					continue
				}
				for _, rr := range in.Answer {
					if v, ok := rr.(*mdns.PTR); ok {
						found(Found{Name: strings.ToLower(strings.TrimSuffix(v.Ptr, ".")), Addrs: []netip.Addr{a},
							Evidence: "PTR record of " + a.String()})
					}
				}
			}
		}()
	}
	n := 0
	for a := p.Addr(); p.Contains(a); a = a.Next() {
		select {
		case addrs <- a:
			n++
		case <-ctx.Done():
		}
		if ctx.Err() != nil || !a.Next().IsValid() {
			break
		}
	}
	close(addrs)
	wg.Wait()
	return n, ctx.Err()
}
