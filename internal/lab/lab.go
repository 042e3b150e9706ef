package lab

import (
	"context"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Sentinel errors.
var (
	// ErrAddress means Options.Base would put a lab host outside
	// 127.77.0.0/16, the only range the lab may bind.
	ErrAddress = errors.New("lab: base address outside 127.77.0.0/16")
	// ErrListen means a lab service could bind neither its standard port,
	// nor its fallback port, nor a free one.
	ErrListen = errors.New("lab: cannot listen")
)

// Network is the only range the lab binds: loopback, never routed.
var Network = netip.MustParsePrefix("127.77.0.0/16")

// DefaultBase is the base address when Options.Base is not set.
var DefaultBase = netip.MustParseAddr("127.77.0.0")

// DNSPort is the fixed port of the lab's DNS server (UDP and TCP); a free
// port is used when it is taken. It is high so that the lab starts without
// privileges and clashes neither with a resolver on 53 nor mDNS on 5353.
const DNSPort = 15353

// Limits on what the lab reads from clients, which may be hostile too.
const (
	maxConns     = 64               // connections at once per listener
	maxLine      = 4096             // bytes in one protocol line
	maxCommands  = 200              // commands per connection
	idleTimeout  = 15 * time.Second // wait for the next command
	connLifetime = 2 * time.Minute  // a connection is closed after this
)

// Options configure Start.
type Options struct {
	// Base is the address the lab's host addresses are counted from
	// (default 127.77.0.0). Every host must fall in 127.77.0.0/16: the
	// highest offset used is 5.10, so a base up to 127.77.250.0 works.
	Base netip.Addr
	// Logger receives start-up and connection messages; nil discards.
	Logger *slog.Logger
	// Now dates the certificates (the expired one expired 30 days before
	// Now); default time.Now.
	Now func() time.Time
}

// Service is one listening service of a lab host.
type Service struct {
	Name string `json:"name"` // http, https, redis, ftp, telnet, smtp, memcached, elasticsearch, dns
	// Port is where it listens; Wanted is its standard port. They differ
	// when the standard port could not be bound (no privileges, in use).
	Port   uint16 `json:"port"`
	Wanted uint16 `json:"wanted"`
	Proto  string `json:"proto"` // tcp, or udp+tcp for DNS
}

// Fallback reports whether the service runs away from its standard port.
func (s Service) Fallback() bool { return s.Port != s.Wanted }

// HostInfo describes one lab host for documentation, the demo page and
// tests.
type HostInfo struct {
	Addr     netip.Addr `json:"addr"`
	Hostname string     `json:"hostname"`
	OrgCode  string     `json:"org_code"`
	Role     Text       `json:"role"`     // what the host stands for
	Weakness Text       `json:"weakness"` // what is wrong with it (or "hardened")
	Services []Service  `json:"services"`
	// Checks are the check IDs a scan of the host's services fires (the
	// host scanned by name, the lab CA trusted, templates loaded).
	Checks []string `json:"checks"`
	// ChecksWithVulnDB fire in addition when the vulnerability database
	// holds the CVEs of the versions the host announces.
	ChecksWithVulnDB []string `json:"checks_with_vulndb,omitempty"`
	// Hardened hosts fire nothing when the lab CA is trusted.
	Hardened bool `json:"hardened,omitempty"`
}

// Port returns the port of the host's service name, or 0.
func (h HostInfo) Port(name string) uint16 {
	for _, s := range h.Services {
		if s.Name == name {
			return s.Port
		}
	}
	return 0
}

// DomainInfo describes one DNS name the lab DNS serves for domain checks.
type DomainInfo struct {
	Name     string `json:"name"`
	OrgCode  string `json:"org_code"`
	Weakness Text   `json:"weakness"`
	// Checks are the check IDs the DNS family fires on the name when it
	// asks the lab DNS server (env.DNSServer = DNSAddr()).
	Checks   []string `json:"checks"`
	Hardened bool     `json:"hardened,omitempty"`
}

// Text is a string in Vietnamese and English.
type Text struct {
	VI string `json:"vi"`
	EN string `json:"en"`
}

// Lab is a running laboratory. Its methods are safe for concurrent use.
type Lab struct {
	base    netip.Addr
	log     *slog.Logger
	now     func() time.Time
	ca      *authority
	dnsAddr string
	hosts   []HostInfo
	domains []DomainInfo
	// zoneNames are the zones the lab DNS serves, without the final dot.
	zoneNames map[string]bool
	ctURL     string // the lab CT log (ct.go)
	ctKey     string

	mu      sync.Mutex
	closed  bool
	closers []func() error
	conns   map[net.Conn]struct{}
	wg      sync.WaitGroup
}

// Start brings every lab host up and returns when all listen. On error
// everything started so far is closed.
func Start(ctx context.Context, o Options) (*Lab, error) {
	if !o.Base.IsValid() {
		o.Base = DefaultBase
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if !o.Base.Is4() || !Network.Contains(o.Base) || !Network.Contains(offset(o.Base, maxOffset)) {
		return nil, fmt.Errorf("%w: %s", ErrAddress, o.Base)
	}
	l := &Lab{base: o.Base, log: o.Logger, now: o.Now, conns: map[net.Conn]struct{}{}}
	ca, err := newAuthority(o.Now())
	if err != nil {
		return nil, err
	}
	l.ca = ca
	for _, step := range []func(context.Context) error{l.startDNS, l.startHosts, l.startCT} {
		if err := ctx.Err(); err != nil {
			l.Close()
			return nil, err
		}
		if err := step(ctx); err != nil {
			l.Close()
			return nil, err
		}
	}
	l.log.Info("lab: started", "base", l.base, "hosts", len(l.hosts), "dns", l.dnsAddr)
	return l, nil
}

// Close stops every service and waits for their goroutines. It may be
// called more than once.
func (l *Lab) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	closers := l.closers
	l.closers = nil
	for c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
	var errs []error
	for i := len(closers) - 1; i >= 0; i-- {
		if err := closers[i](); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	l.wg.Wait()
	return errors.Join(errs...)
}

// DNSAddr is the lab's authoritative DNS server, "ip:port" for UDP and
// TCP (127.77.0.53:15353 with the default base). Point env.DNSServer and
// the scan's resolver at it.
func (l *Lab) DNSAddr() string { return l.dnsAddr }

// CAPEM is the lab CA certificate in PEM; trust it (extra roots) to see
// the hardened host fire nothing.
func (l *Lab) CAPEM() []byte { return slices.Clone(l.ca.pem) }

// CAPool returns a pool holding only the lab CA.
func (l *Lab) CAPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(l.ca.cert)
	return p
}

// Hosts describes the lab hosts in address order.
func (l *Lab) Hosts() []HostInfo {
	out := make([]HostInfo, len(l.hosts))
	for i, h := range l.hosts {
		h.Services = slices.Clone(h.Services)
		h.Checks = slices.Clone(h.Checks)
		h.ChecksWithVulnDB = slices.Clone(h.ChecksWithVulnDB)
		out[i] = h
	}
	return out
}

// Domains describes the names the lab DNS serves for domain checks.
func (l *Lab) Domains() []DomainInfo {
	out := make([]DomainInfo, len(l.domains))
	for i, d := range l.domains {
		d.Checks = slices.Clone(d.Checks)
		out[i] = d
	}
	return out
}

// Base is the base address the lab counts its hosts from.
func (l *Lab) Base() netip.Addr { return l.base }

// offset returns base plus off (off is "x.y" as x<<8|y).
func offset(base netip.Addr, off uint16) netip.Addr {
	b := base.As4()
	v := binary.BigEndian.Uint32(b[:]) + uint32(off)
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}

func (l *Lab) addr(off uint16) netip.Addr { return offset(l.base, off) }

// addCloser registers f to run on Close.
func (l *Lab) addCloser(f func() error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closers = append(l.closers, f)
}

// fallbackPort is tried when a standard port below 1024 cannot be bound.
var fallbackPort = sync.OnceValue(func() map[uint16]uint16 {
	return map[uint16]uint16{21: 2121, 23: 2323, 25: 2525, 53: 0, 80: 8080, 443: 8443}
})

// listen binds ip:want, else the fallback, else a free port. It never
// binds outside the lab network.
func (l *Lab) listen(ip netip.Addr, want uint16) (net.Listener, uint16, error) {
	if !Network.Contains(ip) || !ip.IsLoopback() {
		return nil, 0, fmt.Errorf("%w: %s", ErrAddress, ip)
	}
	tries := []uint16{want}
	if fb, ok := fallbackPort()[want]; ok && fb != 0 {
		tries = append(tries, fb)
	}
	tries = append(tries, 0)
	var firstErr error
	for _, p := range tries {
		ln, err := net.Listen("tcp4", net.JoinHostPort(ip.String(), strconv.Itoa(int(p))))
		if err == nil {
			port := uint16(ln.Addr().(*net.TCPAddr).Port)
			if port != want {
				l.log.Warn("lab: standard port unavailable, using another", "addr", ip, "want", want, "port", port, "err", firstErr)
			}
			return ln, port, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, 0, fmt.Errorf("%w: %s:%d: %v", ErrListen, ip, want, firstErr)
}

// limitListener caps connections at once; extra ones wait in the
// kernel's backlog.
type limitListener struct {
	net.Listener
	sem chan struct{}
}

func limit(ln net.Listener) net.Listener {
	return &limitListener{Listener: ln, sem: make(chan struct{}, maxConns)}
}

func (ll *limitListener) Accept() (net.Conn, error) {
	ll.sem <- struct{}{}
	c, err := ll.Listener.Accept()
	if err != nil {
		<-ll.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-ll.sem }}, nil
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// serveTCP accepts connections on ln and runs h on each, with a lifetime
// cap; Close ends them all.
func (l *Lab) serveTCP(ln net.Listener, name string, h func(c net.Conn)) {
	ln = limit(ln)
	l.addCloser(ln.Close)
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				time.Sleep(10 * time.Millisecond)
				continue
			}
			l.mu.Lock()
			if l.closed {
				l.mu.Unlock()
				c.Close()
				return
			}
			l.conns[c] = struct{}{}
			l.wg.Add(1)
			l.mu.Unlock()
			go func() {
				defer l.wg.Done()
				defer func() {
					l.mu.Lock()
					delete(l.conns, c)
					l.mu.Unlock()
					c.Close()
				}()
				_ = c.SetDeadline(time.Now().Add(connLifetime))
				l.log.Debug("lab: connection", "service", name, "local", c.LocalAddr(), "remote", c.RemoteAddr())
				h(c)
			}()
		}
	}()
}
