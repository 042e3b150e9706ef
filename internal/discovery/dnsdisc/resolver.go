package dnsdisc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	mdns "github.com/miekg/dns"
)

// Errors of the package.
var (
	ErrResolve  = errors.New("discovery: dns: query failed")
	ErrRefused  = errors.New("discovery: dns: refused")
	ErrNoWalk   = errors.New("discovery: dns: the zone cannot be walked with NSEC")
	ErrWildcard = errors.New("discovery: dns: the zone answers every name (wildcard)")
)

// DefaultTimeout bounds one query.
const DefaultTimeout = 3 * time.Second

// Resolver sends queries to one DNS server (a recursive resolver, or an
// authoritative server for its own zones), over UDP with a fall back to
// TCP when an answer is truncated, at most Limiter's rate.
type Resolver struct {
	// Server is "ip:port" (port 53 when missing).
	Server string
	// Timeout bounds one query (DefaultTimeout when 0).
	Timeout time.Duration
	// Limiter, when set, paces every query sent to Server.
	Limiter *Limiter
	// Dial, when set, opens the connections (tests map ports with it).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	once sync.Once
	addr string
}

func (r *Resolver) server() string {
	r.once.Do(func() {
		r.addr = r.Server
		if _, _, err := net.SplitHostPort(r.addr); err != nil {
			r.addr = net.JoinHostPort(strings.Trim(r.addr, "[]"), "53")
		}
	})
	return r.addr
}

func (r *Resolver) timeout() time.Duration {
	if r.Timeout > 0 {
		return r.Timeout
	}
	return DefaultTimeout
}

// Exchange sends m and returns the answer: over UDP, again over TCP when
// the answer is truncated.
func (r *Resolver) Exchange(ctx context.Context, m *mdns.Msg) (*mdns.Msg, error) {
	if r.Limiter != nil {
		if err := r.Limiter.Wait(ctx); err != nil {
			return nil, err
		}
	}
	in, err := r.exchange(ctx, "udp", m)
	if err == nil && in.Truncated {
		in, err = r.exchange(ctx, "tcp", m)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s at %s: %w", ErrResolve, m.Question[0].Name, mdns.TypeToString[m.Question[0].Qtype], r.server(), err)
	}
	return in, nil
}

func (r *Resolver) exchange(ctx context.Context, network string, m *mdns.Msg) (*mdns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout())
	defer cancel()
	conn, err := r.dial(ctx, network, r.server())
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	dl, _ := ctx.Deadline()
	_ = conn.SetDeadline(dl)
	co := &mdns.Conn{Conn: conn, UDPSize: 1232}
	if err := co.WriteMsg(m); err != nil {
		return nil, err
	}
	for {
		in, err := co.ReadMsg()
		if err != nil {
			return nil, err
		}
		if in.Id == m.Id {
			return in, nil
		}
		// A stray answer (an earlier query's, or spoofed): keep reading
		// until the deadline.
	}
}

func (r *Resolver) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if r.Dial != nil {
		return r.Dial(ctx, network, addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// Query asks for name/qtype with recursion desired.
func (r *Resolver) Query(ctx context.Context, name string, qtype uint16) (*mdns.Msg, error) {
	m := new(mdns.Msg)
	m.SetQuestion(mdns.Fqdn(name), qtype)
	m.RecursionDesired = true
	m.SetEdns0(1232, false)
	return r.Exchange(ctx, m)
}

// Answer is what a name resolves to.
type Answer struct {
	Addrs  []netip.Addr // A and AAAA at the end of any CNAME chain
	CNAMEs []string     // the CNAME chain, in order, without trailing dots
	Exists bool         // the name exists (NOERROR, even without addresses)
}

// Lookup resolves name's A and AAAA records. A name that does not exist
// (NXDOMAIN) is an Answer with Exists false and no error; a server that
// fails or refuses is an error.
func (r *Resolver) Lookup(ctx context.Context, name string) (Answer, error) {
	var a Answer
	for _, qt := range []uint16{mdns.TypeA, mdns.TypeAAAA} {
		in, err := r.Query(ctx, name, qt)
		if err != nil {
			return a, err
		}
		switch in.Rcode {
		case mdns.RcodeSuccess, mdns.RcodeNameError:
		case mdns.RcodeRefused:
			return a, fmt.Errorf("%w: %s at %s", ErrRefused, name, r.server())
		default:
			return a, fmt.Errorf("%w: %s at %s: %s", ErrResolve, name, r.server(), mdns.RcodeToString[in.Rcode])
		}
		for _, rr := range in.Answer {
			switch v := rr.(type) {
			case *mdns.A:
				if ad, ok := netip.AddrFromSlice(v.A.To4()); ok {
					a.Addrs = append(a.Addrs, ad)
				}
			case *mdns.AAAA:
				if ad, ok := netip.AddrFromSlice(v.AAAA); ok {
					a.Addrs = append(a.Addrs, ad.Unmap())
				}
			case *mdns.CNAME:
				if qt == mdns.TypeA {
					a.CNAMEs = append(a.CNAMEs, strings.ToLower(strings.TrimSuffix(v.Target, ".")))
				}
			}
		}
		// NXDOMAIN after a CNAME is the target's: the name itself exists
		// (a dangling CNAME).
		if in.Rcode == mdns.RcodeSuccess || len(a.CNAMEs) > 0 {
			a.Exists = true
		}
		if in.Rcode == mdns.RcodeNameError {
			return a, nil // no need to ask for AAAA
		}
	}
	return a, nil
}

// Limiter is a token bucket: at most Rate events a second on average,
// Burst at once. A nil *Limiter never waits.
type Limiter struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

// NewLimiter returns a bucket of rate events a second (0 or less: no
// limit) holding at most burst (at least 1).
func NewLimiter(rate float64, burst int) *Limiter {
	if rate <= 0 {
		return nil
	}
	b := max(float64(burst), 1)
	return &Limiter{rate: rate, burst: b, tokens: b, last: time.Now()}
}

// Wait takes one token, sleeping until there is one or ctx ends.
func (l *Limiter) Wait(ctx context.Context) error {
	if l == nil {
		return ctx.Err()
	}
	for {
		l.mu.Lock()
		now := time.Now()
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
		l.last = now
		if l.tokens >= 1 {
			l.tokens--
			l.mu.Unlock()
			return nil
		}
		wait := time.Duration((1 - l.tokens) / l.rate * float64(time.Second))
		l.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
