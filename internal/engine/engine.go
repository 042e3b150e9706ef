// Package engine runs a whole scan: it expands targets, refuses anything the
// scope does not allow, finds open ports, fingerprints what answers and runs
// the applicable checks, streaming every result to a sink as it comes. The
// one-shot `rampart scan` and the platform's workers use the same engine.
package engine

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/probe/fingerprint"
	"github.com/rampart-cert/rampart/internal/probe/portscan"
	"github.com/rampart-cert/rampart/internal/probe/synscan"
	"github.com/rampart-cert/rampart/internal/probe/udpscan"
	"github.com/rampart-cert/rampart/internal/target"
)

// ErrOutOfScope is returned when a target is refused by the scope guard.
var ErrOutOfScope = errors.New("engine: target out of scope")

// Config says what a scan does.
type Config struct {
	Ports []uint16
	// Scan tunes the port scan (rates, concurrency, timeouts, retries);
	// its Ports are taken from Ports.
	Scan portscan.Config
	// Prober fingerprints open ports; nil skips fingerprinting (and the
	// service checks that need it).
	Prober           *fingerprint.Prober
	ProbeConcurrency int // fingerprints at once; default 64
	Checks           []check.Check
	CheckEnv         *check.Env
	CheckConcurrency int // checks at once; default 32
	Resolver         target.Resolver
	// Allow decides whether a target may be probed (the scope guard);
	// nil allows everything. A refused target is reported to the sink and
	// skipped. It is asked about every address the port scan would probe,
	// and before the domain or URL checks of a name run: first about the
	// name alone (Addr zero), then, for a URL, about every address the
	// name resolves to (Name set); a URL's checks connect only to those
	// addresses (security F4).
	Allow func(t target.Target) error
	// Names are DNS names to run domain checks on (DNS, mail); by default
	// every name among the specifications.
	Names []string
	// URLs are web applications to run URL checks on; by default every
	// URL among the specifications.
	URLs []string
	// VirtualHosts are further names (an organization's registered host
	// names) to check on every scanned address they resolve to: the HTTP,
	// TLS, web and template checks of a web service run once per
	// (address, name) pair, so a name-based virtual host sharing an
	// address with another name is checked with its own Host header and
	// SNI. Names among the specifications that resolve to one address
	// are paired the same way without being listed here. Each name is
	// asked of Allow (Addr zero) first.
	VirtualHosts []string
	// DomainCheck, when set, picks which checks run on the domain
	// targets (a host name gets the dangling-CNAME check, not the SPF and
	// DMARC checks that only make sense for a mail or zone domain).
	DomainCheck func(check.Check) bool
	// UDPPorts, when not empty, are scanned over UDP too (udpscan, beside
	// the TCP scan, on the same targets and scope), with UDPScan's
	// tuning; its Ports are taken from UDPPorts. Each open UDP port is
	// reported as a Port with Proto "udp", identified from its reply, and
	// becomes a service target (check.Target.Proto "udp") for the checks
	// that look at UDP (check.UDPCheck).
	UDPPorts []uint16
	UDPScan  udpscan.Config
	// SYN finds open TCP ports with the stateless SYN scanner (synscan)
	// instead of connect(): for sweeps of large address spaces. It needs
	// raw sockets (root or CAP_NET_RAW) and scans IPv4 only: without the
	// capability the whole scan, and otherwise the IPv6 targets, are
	// connect-scanned, and the sink hears of the fallback (Problem
	// "syn scan"). Scan.Rate, Scan.Retries and Scan.SourceAddr (IPv4) carry
	// over; SYNScan tunes the rest (its Ports are taken from Ports).
	SYN     bool
	SYNScan synscan.Config
}

// Port is one open port with its fingerprint.
type Port struct {
	IP      netip.Addr
	Port    uint16
	Proto   string // "udp" for a UDP port; empty for TCP
	Host    string // the name the address came from, if any
	RTT     time.Duration
	Service fingerprint.Service
}

// Sink receives results as they come; its methods are called from several
// goroutines at once and must be safe for that.
type Sink interface {
	Port(p Port)
	Finding(t check.Target, r check.Result)
	// Problem reports something that did not stop the scan: a refused
	// target, an unreachable check target, a check error.
	Problem(what string, err error)
	// Covered reports the checks that ran to completion on a target (not
	// those that could not reach it): a problem those checks look for and
	// did not report is not there.
	Covered(t check.Target, checks []string)
}

// Summary is what a scan did.
type Summary struct {
	portscan.Stats
	Findings    int
	ChecksRun   int
	Unreachable int          // check targets that did not answer
	Reached     []netip.Addr // addresses with at least one open port
	Refused     int          // targets refused by Allow
	// Targets lists the addresses scanned when there were at most 16.
	Targets []netip.Addr
	// UDP are the totals of the UDP scan (zero when there was none).
	// The embedded portscan.Stats and Reached are the TCP scan's.
	UDP udpscan.Stats
	// PortScan says how TCP ports were found: "connect", "syn", or
	// "syn+connect" (IPv6 targets of a SYN scan).
	PortScan string
	// SYN are the totals of the SYN scan (zero when there was none); its
	// counts are in the embedded portscan.Stats too.
	SYN synscan.Stats
}

// Run scans specs (IPs, CIDRs, ranges, names, URLs) and returns when every
// probe and check is done or ctx ends.
func Run(ctx context.Context, specs []string, cfg Config, sink Sink) (Summary, error) {
	var sum Summary
	targets, _, err := target.Expander{Resolver: cfg.Resolver, Unresolved: func(spec string, err error) {
		sink.Problem("resolve "+spec, err)
	}}.Expand(ctx, specs)
	if err != nil {
		return sum, err
	}
	var refused int
	var probed []netip.Addr
	var refusedMu sync.Mutex
	allowed := func(yield func(target.Target) bool) {
		for t := range targets {
			if cfg.Allow != nil {
				if err := cfg.Allow(t); err != nil {
					refusedMu.Lock()
					refused++
					refusedMu.Unlock()
					sink.Problem("refuse "+t.Addr.String(), err)
					continue
				}
			}
			refusedMu.Lock()
			if len(probed) <= 16 {
				probed = append(probed, t.Addr)
			}
			refusedMu.Unlock()
			if !yield(t) {
				return
			}
		}
	}

	checks := newCheckPool(ctx, cfg, sink)
	refused += checks.domainAndURLTargets(specs)
	vhosts, vrefused := virtualHosts(ctx, cfg, sink)
	refused += vrefused

	// Fingerprint open ports as the scan finds them.
	opens := make(chan portscan.Open, 1024)
	var fpWG sync.WaitGroup
	n := cfg.ProbeConcurrency
	if n <= 0 {
		n = 64
	}
	var reachedMu sync.Mutex
	reached := map[netip.Addr]bool{}
	for i := 0; i < n; i++ {
		fpWG.Add(1)
		go func() {
			defer fpWG.Done()
			for o := range opens {
				reachedMu.Lock()
				reached[o.Target.Addr] = true
				reachedMu.Unlock()
				p := Port{IP: o.Target.Addr, Port: o.Port, Host: o.Target.Name, RTT: o.RTT}
				if cfg.Prober != nil {
					svc, err := cfg.Prober.Identify(ctx, netip.AddrPortFrom(o.Target.Addr, o.Port), o.Target.Name)
					if err != nil && ctx.Err() == nil {
						sink.Problem(fmt.Sprintf("fingerprint %s:%d", o.Target.Addr, o.Port), err)
					}
					p.Service = svc
				}
				sink.Port(p)
				checks.service(p)
				if webService(p.Service) {
					for _, name := range otherNames(p.Host, o.Target.Aliases, vhosts[o.Target.Addr]) {
						checks.serviceAs(p, name)
					}
				}
			}
		}()
	}
	var udpWG sync.WaitGroup
	var udpStats udpscan.Stats
	var udpErr error
	if len(cfg.UDPPorts) > 0 {
		udpWG.Add(1)
		go func() {
			defer udpWG.Done()
			udpStats, udpErr = scanUDP(ctx, cfg, targets, sink, checks)
		}()
	}
	sc := cfg.Scan
	sc.Ports = cfg.Ports
	emit := func(o portscan.Open) {
		select {
		case opens <- o:
		case <-ctx.Done():
		}
	}
	var stats portscan.Stats
	if cfg.SYN {
		stats, sum.SYN, sum.PortScan, err = synPortScan(ctx, cfg, sc, iter.Seq[target.Target](allowed), targets, emit, sink)
	} else {
		sum.PortScan = "connect"
		stats, err = portscan.Scan(ctx, sc, iter.Seq[target.Target](allowed), emit)
	}
	close(opens)
	fpWG.Wait()
	udpWG.Wait()
	checks.wait()
	sum.Stats = stats
	sum.UDP = udpStats
	if err == nil && udpErr != nil && ctx.Err() == nil {
		err = udpErr
	}
	sum.Refused = refused
	if len(probed) <= 16 {
		sum.Targets = probed
	}
	sum.Findings, sum.ChecksRun, sum.Unreachable = checks.counts()
	for a := range reached {
		sum.Reached = append(sum.Reached, a)
	}
	sort.Slice(sum.Reached, func(i, j int) bool { return sum.Reached[i].Less(sum.Reached[j]) })
	if err != nil {
		return sum, err
	}
	return sum, ctx.Err()
}

// synPortScan finds open TCP ports with the SYN scanner: the IPv4 targets
// the scope allows (allowed reports refusals; a retry pass iterates the
// targets again without reporting them twice), then the IPv6 ones with
// connect(). Without raw sockets it says so and connect-scans everything.
func synPortScan(ctx context.Context, cfg Config, sc portscan.Config, allowed, targets iter.Seq[target.Target],
	emit func(portscan.Open), sink Sink) (portscan.Stats, synscan.Stats, string, error) {
	if err := synscan.Available(); err != nil {
		sink.Problem("syn scan", fmt.Errorf("%w; falling back to connect scanning", err))
		st, err := portscan.Scan(ctx, sc, allowed, emit)
		return st, synscan.Stats{}, "connect", err
	}
	yc := cfg.SYNScan
	yc.Ports = cfg.Ports
	if yc.Rate == 0 {
		yc.Rate = sc.Rate
	}
	if yc.Retries == 0 && sc.Retries > 0 {
		yc.Retries = sc.Retries
	}
	if a := sc.SourceAddr.Unmap(); a.Is4() && yc.SourceAddr == [4]byte{} {
		yc.SourceAddr = a.As4()
	}
	passes := 0
	seq := func(yield func(target.Target) bool) {
		passes++
		if passes == 1 {
			allowed(yield)
			return
		}
		for t := range targets {
			if cfg.Allow != nil && cfg.Allow(t) != nil {
				continue
			}
			if !yield(t) {
				return
			}
		}
	}
	var v6 []target.Target
	yst, err := synscan.Scan(ctx, yc, seq, func(o synscan.Open) { emit(portscan.Open{Target: o.Target, Port: o.Port}) },
		func(t target.Target) { v6 = append(v6, t) })
	st := portscan.Stats{Hosts: yst.Hosts, Probed: yst.Probed, Open: yst.Open, Elapsed: yst.Elapsed, Rate: yst.Rate}
	if err != nil || len(v6) == 0 {
		return st, yst, "syn", err
	}
	cst, err := portscan.Scan(ctx, sc, slices.Values(v6), emit)
	st.Hosts += cst.Hosts
	st.Probed += cst.Probed
	st.Open += cst.Open
	st.Closed, st.TimedOut, st.Unreachable, st.Retried = cst.Closed, cst.TimedOut, cst.Unreachable, cst.Retried
	st.Elapsed += cst.Elapsed
	if st.Elapsed > 0 {
		st.Rate = float64(st.Probed) / st.Elapsed.Seconds()
	}
	return st, yst, "syn+connect", err
}

// scanUDP scans cfg.UDPPorts of the targets the scope allows (refusals
// were reported by the TCP pass), reports each open UDP port and runs the
// UDP checks on it.
func scanUDP(ctx context.Context, cfg Config, targets iter.Seq[target.Target], sink Sink, checks *checkPool) (udpscan.Stats, error) {
	allowed := func(yield func(target.Target) bool) {
		for t := range targets {
			if cfg.Allow != nil && cfg.Allow(t) != nil {
				continue
			}
			if !yield(t) {
				return
			}
		}
	}
	uc := cfg.UDPScan
	uc.Ports = cfg.UDPPorts
	uc.All = false
	return udpscan.Scan(ctx, uc, allowed, func(r udpscan.Result) {
		svc := fingerprint.Service{Service: r.Info.Service, Product: r.Info.Product, Version: r.Info.Version,
			Banner: udpscan.Clean(r.Reply, fingerprint.BannerMax), Extra: r.Info.Extra}
		if svc.Service == "" {
			svc.Service = "unknown"
		}
		p := Port{IP: r.Target.Addr, Port: r.Port, Proto: check.ProtoUDP, Host: r.Target.Name, RTT: r.RTT, Service: svc}
		sink.Port(p)
		checks.service(p)
	})
}

// checkPool runs checks with bounded concurrency.
type checkPool struct {
	ctx   context.Context
	cfg   Config
	sink  Sink
	sem   chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	found int
	ran   int
	unrch int
}

func newCheckPool(ctx context.Context, cfg Config, sink Sink) *checkPool {
	n := cfg.CheckConcurrency
	if n <= 0 {
		n = 32
	}
	if cfg.CheckEnv == nil {
		cfg.CheckEnv = &check.Env{}
	}
	return &checkPool{ctx: ctx, cfg: cfg, sink: sink, sem: make(chan struct{}, n)}
}

// service runs the checks that apply to an open port.
func (c *checkPool) service(p Port) {
	t := check.Target{Kind: check.TargetService, Addr: netip.AddrPortFrom(p.IP, p.Port), Proto: p.Proto, Host: p.Host,
		Service: p.Service.Service, Product: p.Service.Product, Version: p.Service.Version, CPE: p.Service.CPE,
		TLS: p.Service.TLS, Banner: p.Service.Banner}
	c.run(t)
}

// vhostFamilies are the check families that look at a web service through
// a host name (Host header, SNI, the certificate's names): they run once
// per name of the address.
var vhostFamilies = map[string]bool{"http": true, "tls": true, "web": true, "template": true}

// webService reports whether a fingerprinted service speaks HTTP or TLS.
func webService(s fingerprint.Service) bool {
	return s.TLS || s.Service == "http" || s.Service == "https"
}

// serviceAs runs the web checks of an open port again under another name.
func (c *checkPool) serviceAs(p Port, name string) {
	t := check.Target{Kind: check.TargetService, Addr: netip.AddrPortFrom(p.IP, p.Port), Host: name,
		Service: p.Service.Service, Product: p.Service.Product, Version: p.Service.Version, CPE: p.Service.CPE,
		TLS: p.Service.TLS, Banner: p.Service.Banner}
	c.runWith(c.cfg.CheckEnv, t, func(ch check.Check) bool { return vhostFamilies[ch.Meta().Family] })
}

// otherNames are the names of an address besides the one its port was
// scanned by, each once, in order.
func otherNames(primary string, lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		for _, n := range l {
			n = strings.TrimSuffix(strings.ToLower(n), ".")
			if n != "" && n != primary && !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out
}

// virtualHosts resolves cfg.VirtualHosts the scope allows, by address.
func virtualHosts(ctx context.Context, cfg Config, sink Sink) (map[netip.Addr][]string, int) {
	out := map[netip.Addr][]string{}
	refused := 0
	if len(cfg.VirtualHosts) == 0 {
		return out, 0
	}
	if cfg.Resolver == nil {
		sink.Problem("virtual hosts", errors.New("engine: no resolver for the virtual host names"))
		return out, 0
	}
	for _, n := range cfg.VirtualHosts {
		host := strings.TrimSuffix(strings.ToLower(n), ".")
		if cfg.Allow != nil {
			if err := cfg.Allow(target.Target{Name: host, Spec: n}); err != nil {
				refused++
				sink.Problem("refuse "+host, err)
				continue
			}
		}
		addrs, err := cfg.Resolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			sink.Problem("resolve "+host, err)
			continue
		}
		for _, a := range addrs {
			a = a.Unmap()
			if !slices.Contains(out[a], host) {
				out[a] = append(out[a], host)
			}
		}
	}
	return out, refused
}

// domainAndURLTargets runs the domain and URL checks of the scan on the
// names and URLs the scope allows, and returns how many it refused.
func (c *checkPool) domainAndURLTargets(specs []string) (refused int) {
	names, urls := c.cfg.Names, c.cfg.URLs
	if names == nil && urls == nil {
		for _, s := range specs {
			sp, err := target.ParseSpec(s)
			if err != nil {
				continue
			}
			switch sp.Kind {
			case target.KindName:
				names = append(names, sp.Host)
			case target.KindURL:
				urls = append(urls, s)
			}
		}
	}
	for _, n := range names {
		host := strings.TrimSuffix(strings.ToLower(n), ".")
		if c.cfg.Allow != nil {
			if err := c.cfg.Allow(target.Target{Name: host, Spec: n}); err != nil {
				refused++
				c.sink.Problem("refuse "+host, err)
				continue
			}
		}
		c.run(check.Target{Kind: check.TargetDomain, Host: host})
	}
	for _, u := range urls {
		env, err := c.urlEnv(u)
		if err != nil {
			if errors.Is(err, ErrOutOfScope) {
				refused++
				c.sink.Problem("refuse "+u, err)
			} else {
				c.sink.Problem("resolve "+u, err)
			}
			continue
		}
		c.runIn(env, check.Target{Kind: check.TargetURL, URL: u})
	}
	return refused
}

// urlEnv asks the scope about URL u (its host name, then every address
// the name resolves to) and returns the check environment of its checks,
// whose connections go only to those addresses: a name that resolves
// elsewhere later (DNS rebinding) or a redirect to another host reaches
// nothing. Without a scope guard the shared environment is used.
func (c *checkPool) urlEnv(u string) (*check.Env, error) {
	if c.cfg.Allow == nil {
		return c.cfg.CheckEnv, nil
	}
	pu, err := url.Parse(u)
	if err != nil || pu.Hostname() == "" {
		return nil, fmt.Errorf("%w: %s: not a URL with a host", ErrOutOfScope, u)
	}
	host := strings.TrimSuffix(strings.ToLower(pu.Hostname()), ".")
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.Unmap()
		if err := c.cfg.Allow(target.Target{Addr: a, Spec: u}); err != nil {
			return nil, err
		}
		addrs = []netip.Addr{a}
	} else {
		if err := c.cfg.Allow(target.Target{Name: host, Spec: u}); err != nil {
			return nil, err
		}
		if c.cfg.Resolver == nil {
			return nil, fmt.Errorf("engine: resolve %s: no resolver", host)
		}
		found, err := c.cfg.Resolver.LookupNetIP(c.ctx, "ip", host)
		if err != nil {
			return nil, fmt.Errorf("engine: resolve %s: %w", host, err)
		}
		for _, a := range found {
			a = a.Unmap()
			if err := c.cfg.Allow(target.Target{Addr: a, Name: host, Spec: u}); err != nil {
				return nil, err
			}
			addrs = append(addrs, a)
		}
		if len(addrs) == 0 {
			return nil, fmt.Errorf("engine: resolve %s: no address", host)
		}
	}
	env := *c.cfg.CheckEnv
	env.Dial = pinnedDial(c.cfg.CheckEnv.Dial, host, addrs)
	return &env, nil
}

// pinnedDial dials host (by name or as one of its addresses) only at
// addrs, in turn until one answers, and refuses every other destination.
func pinnedDial(base func(ctx context.Context, network, addr string) (net.Conn, error), host string, addrs []netip.Addr) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if base == nil {
		var d net.Dialer
		base = d.DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		h, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("engine: dial %s: %w", addr, err)
		}
		h = strings.TrimSuffix(strings.ToLower(h), ".")
		to := addrs
		if a, err := netip.ParseAddr(h); err == nil {
			a = a.Unmap()
			if !slices.Contains(addrs, a) {
				return nil, fmt.Errorf("%w: dial %s: not an address of %s", ErrOutOfScope, addr, host)
			}
			to = []netip.Addr{a}
		} else if h != host {
			return nil, fmt.Errorf("%w: dial %s: not %s", ErrOutOfScope, addr, host)
		}
		var last error
		for _, a := range to {
			conn, err := base(ctx, network, net.JoinHostPort(a.String(), port))
			if err == nil {
				return conn, nil
			}
			last = err
			if ctx.Err() != nil {
				break
			}
		}
		return nil, last
	}
}

func (c *checkPool) run(t check.Target) { c.runIn(c.cfg.CheckEnv, t) }

// runIn runs the checks that apply to t with env.
func (c *checkPool) runIn(env *check.Env, t check.Target) { c.runWith(env, t, nil) }

// runWith runs the checks that apply to t with env, those keep accepts
// when it is set.
func (c *checkPool) runWith(env *check.Env, t check.Target, keep func(check.Check) bool) {
	var todo []check.Check
	for _, ch := range c.cfg.Checks {
		if t.Kind == check.TargetDomain && c.cfg.DomainCheck != nil && !c.cfg.DomainCheck(ch) {
			continue
		}
		if t.Proto == check.ProtoUDP && !check.ForUDP(ch) {
			continue // a check written for TCP services
		}
		if keep != nil && !keep(ch) {
			continue
		}
		if ch.Applies(t) {
			todo = append(todo, ch)
		}
	}
	if len(todo) == 0 {
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		unreachable := false
		var covered []string
		for _, ch := range todo {
			select {
			case c.sem <- struct{}{}:
			case <-c.ctx.Done():
				return
			}
			rs, err := ch.Run(c.ctx, env, t)
			<-c.sem
			c.mu.Lock()
			c.ran++
			c.mu.Unlock()
			if err != nil {
				if errors.Is(err, check.ErrUnreachable) {
					unreachable = true
				}
				if c.ctx.Err() == nil {
					c.sink.Problem(ch.Meta().ID+" "+t.String(), err)
				}
				continue
			}
			covered = append(covered, ch.Meta().ID)
			for _, r := range rs {
				if r.Check == "" {
					r.Check = ch.Meta().ID
				}
				c.mu.Lock()
				c.found++
				c.mu.Unlock()
				c.sink.Finding(t, r)
			}
		}
		if len(covered) > 0 && c.ctx.Err() == nil {
			c.sink.Covered(t, covered)
		}
		if unreachable {
			c.mu.Lock()
			c.unrch++
			c.mu.Unlock()
		}
	}()
}

func (c *checkPool) wait() { c.wg.Wait() }

func (c *checkPool) counts() (found, ran, unreachable int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.found, c.ran, c.unrch
}
