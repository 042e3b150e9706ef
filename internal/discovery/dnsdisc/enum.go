package dnsdisc

import (
	"bufio"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	mdns "github.com/miekg/dns"
)

// Found is one name a DNS method found.
type Found struct {
	Name     string       // lower-case, no trailing dot
	Addrs    []netip.Addr // what it resolves to, when known
	CNAMEs   []string     // its CNAME chain, when known
	Evidence string       // how it was found, for people
}

//go:embed wordlist.txt
var wordlistText string

// DefaultWords returns the shipped wordlist: a few hundred labels common
// in host names, Vietnamese public-sector labels (congdichvucong,
// dichvucong, egov, motcua, quantri, vanban …) first.
func DefaultWords() []string { return ParseWords(wordlistText) }

// ParseWords reads a wordlist: one label a line, '#' starts a comment,
// blank lines and labels that are not valid DNS labels (1-63 letters,
// digits, '-', '_') are skipped, duplicates kept once.
func ParseWords(text string) []string {
	var out []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		w := sc.Text()
		if i := strings.IndexByte(w, '#'); i >= 0 {
			w = w[:i]
		}
		w = strings.ToLower(strings.TrimSpace(w))
		if !validLabel(w) || seen[w] {
			continue
		}
		seen[w] = true
		out = append(out, w)
	}
	return out
}

func validLabel(w string) bool {
	if len(w) == 0 || len(w) > 63 {
		return false
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Wordlist options.
type BruteOptions struct {
	// Concurrency is how many names are resolved at once (default 32).
	Concurrency int
	// WildcardProbes is how many random labels are asked first to detect
	// a wildcard (default 3).
	WildcardProbes int
}

// Brute resolves word.zone for every word through r and calls found for
// each name that exists. It first asks for random labels: when they
// resolve the zone has a wildcard, and a name whose addresses and CNAME
// chain are the wildcard's is not reported (a name with its own records
// still is). found may be called from several goroutines at once. It
// returns the number of names asked.
func Brute(ctx context.Context, r *Resolver, zone string, words []string, o BruteOptions, found func(Found)) (int, error) {
	zone = strings.ToLower(strings.TrimSuffix(zone, "."))
	if o.Concurrency <= 0 {
		o.Concurrency = 32
	}
	if o.WildcardProbes <= 0 {
		o.WildcardProbes = 3
	}
	wild, err := wildcard(ctx, r, zone, o.WildcardProbes)
	if err != nil {
		return 0, err
	}
	names := make(chan string)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	asked, failed := 0, 0
	for range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range names {
				a, err := r.Lookup(ctx, n)
				if err != nil {
					mu.Lock()
					failed++
					if firstErr == nil && ctx.Err() == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				if !a.Exists || wild.matches(a) {
					continue
				}
				found(Found{Name: n, Addrs: a.Addrs, CNAMEs: a.CNAMEs, Evidence: "resolved from the wordlist through " + r.server()})
			}
		}()
	}
feed:
	for _, w := range words {
		select {
		case names <- w + "." + zone:
			asked++
		case <-ctx.Done():
			break feed
		}
	}
	close(names)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return asked, err
	}
	// Errors of single names (a timeout) do not fail the run when others
	// answered; a server that answers nothing does.
	if firstErr != nil && failed == asked {
		return asked, firstErr
	}
	return asked, nil
}

// wildcardAnswer is what random labels of a zone resolve to.
type wildcardAnswer struct {
	addrs  map[netip.Addr]bool
	cnames map[string]bool
	on     bool
}

// matches reports whether a looks like the wildcard's answer: every
// address and CNAME of a among the wildcard's.
func (w wildcardAnswer) matches(a Answer) bool {
	if !w.on {
		return false
	}
	for _, ad := range a.Addrs {
		if !w.addrs[ad] {
			return false
		}
	}
	for _, c := range a.CNAMEs {
		if !w.cnames[c] {
			return false
		}
	}
	return len(a.Addrs) > 0 || len(a.CNAMEs) > 0 || len(w.addrs) == 0
}

func wildcard(ctx context.Context, r *Resolver, zone string, probes int) (wildcardAnswer, error) {
	w := wildcardAnswer{addrs: map[netip.Addr]bool{}, cnames: map[string]bool{}}
	for range probes {
		a, err := r.Lookup(ctx, randomLabel()+"."+zone)
		if err != nil {
			return w, fmt.Errorf("discovery: dns: wildcard test of %s: %w", zone, err)
		}
		if !a.Exists {
			continue
		}
		w.on = true
		for _, ad := range a.Addrs {
			w.addrs[ad] = true
		}
		for _, c := range a.CNAMEs {
			w.cnames[c] = true
		}
	}
	return w, nil
}

func randomLabel() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return "rampart-" + hex.EncodeToString(b[:])
}

// MaxTransfer caps the records read from one zone transfer.
const MaxTransfer = 500_000

// Transfer asks server ("ip:port") for a zone transfer (AXFR over TCP)
// of zone and calls found for every name in it below the zone, with the
// addresses and CNAME targets the zone gives. A server that refuses
// returns ErrRefused. It reads at most MaxTransfer records, each envelope
// within timeout (0: 10 s).
func Transfer(ctx context.Context, server, zone string, timeout time.Duration, dial func(ctx context.Context, network, addr string) (net.Conn, error), found func(Found)) (int, error) {
	zone = strings.ToLower(mdns.Fqdn(zone))
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, 5*timeout)
	defer cancel()
	var conn net.Conn
	var err error
	if dial != nil {
		conn, err = dial(ctx, "tcp", server)
	} else {
		var d net.Dialer
		conn, err = d.DialContext(ctx, "tcp", server)
	}
	if err != nil {
		return 0, fmt.Errorf("%w: AXFR %s at %s: %w", ErrResolve, zone, server, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	tr := &mdns.Transfer{Conn: &mdns.Conn{Conn: conn}, DialTimeout: timeout, ReadTimeout: timeout, WriteTimeout: timeout}
	m := new(mdns.Msg)
	m.SetAxfr(zone)
	ch, err := tr.In(m, server)
	if err != nil {
		conn.Close()
		return 0, fmt.Errorf("%w: AXFR %s at %s: %w", ErrResolve, zone, server, err)
	}
	type rec struct {
		addrs  []netip.Addr
		cnames []string
	}
	names := map[string]*rec{}
	var order []string
	count := 0
	var terr error
	for env := range ch {
		if env.Error != nil {
			if terr == nil {
				terr = env.Error
			}
			continue
		}
		for _, rr := range env.RR {
			count++
			if count > MaxTransfer {
				conn.Close()
				break
			}
			n := strings.ToLower(rr.Header().Name)
			if n == zone || !mdns.IsSubDomain(zone, n) {
				continue
			}
			n = strings.TrimSuffix(n, ".")
			if strings.HasPrefix(n, "*.") || strings.HasPrefix(n, "_") || strings.Contains(n, "._") {
				continue // wildcards and service labels name no host
			}
			rc := names[n]
			if rc == nil {
				rc = &rec{}
				names[n] = rc
				order = append(order, n)
			}
			switch v := rr.(type) {
			case *mdns.A:
				if a, ok := netip.AddrFromSlice(v.A.To4()); ok {
					rc.addrs = append(rc.addrs, a)
				}
			case *mdns.AAAA:
				if a, ok := netip.AddrFromSlice(v.AAAA); ok {
					rc.addrs = append(rc.addrs, a.Unmap())
				}
			case *mdns.CNAME:
				rc.cnames = append(rc.cnames, strings.ToLower(strings.TrimSuffix(v.Target, ".")))
			}
		}
	}
	if terr != nil && len(order) == 0 {
		if e := terr.Error(); strings.Contains(e, "REFUSED") || strings.Contains(e, "NOTAUTH") || strings.HasSuffix(e, "rcode: 5") || strings.HasSuffix(e, "rcode: 9") {
			return 0, fmt.Errorf("%w: AXFR %s at %s: %v", ErrRefused, zone, server, terr)
		}
		return 0, fmt.Errorf("%w: AXFR %s at %s: %w", ErrResolve, zone, server, terr)
	}
	for _, n := range order {
		rc := names[n]
		found(Found{Name: n, Addrs: rc.addrs, CNAMEs: rc.cnames, Evidence: "zone transfer (AXFR) of " + strings.TrimSuffix(zone, ".") + " from " + server})
	}
	return len(order), nil
}

// NameServers returns the addresses ("ip:53") of zone's name servers as r
// resolves them.
func NameServers(ctx context.Context, r *Resolver, zone string) ([]string, error) {
	in, err := r.Query(ctx, zone, mdns.TypeNS)
	if err != nil {
		return nil, err
	}
	if in.Rcode != mdns.RcodeSuccess {
		return nil, fmt.Errorf("%w: NS %s: %s", ErrResolve, zone, mdns.RcodeToString[in.Rcode])
	}
	var out []string
	for _, rr := range in.Answer {
		ns, ok := rr.(*mdns.NS)
		if !ok {
			continue
		}
		a, err := r.Lookup(ctx, ns.Ns)
		if err != nil {
			continue
		}
		for _, ad := range a.Addrs {
			s := net.JoinHostPort(ad.String(), "53")
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out, nil
}
