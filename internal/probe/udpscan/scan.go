package udpscan

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/target"
)

// Defaults for a zero Config.
const (
	DefaultConcurrency      = 65536
	DefaultTimeout          = time.Second
	DefaultMinTimeout       = 250 * time.Millisecond
	DefaultRetries          = 2
	DefaultHostBatch        = 1024
	DefaultProgressInterval = 250 * time.Millisecond
	// MaxReply caps the reply bytes kept in a Result.
	MaxReply = 4096
	maxWait  = 20 * time.Millisecond
)

// Errors.
var (
	ErrConfig = errors.New("udpscan: invalid configuration")
)

// State is the verdict on one UDP port, as nmap names them.
type State uint8

// The verdicts.
const (
	// Open: the port answered with a UDP datagram.
	Open State = iota + 1
	// Closed: an ICMP port unreachable came back.
	Closed
	// Filtered: another ICMP unreachable (host, network, protocol,
	// administratively prohibited) came back, or the packet could not
	// leave this machine.
	Filtered
	// OpenFiltered: silence after every retry; an open port that ignored
	// the probe and a firewall that drops it look the same.
	OpenFiltered
)

func (s State) String() string {
	switch s {
	case Open:
		return "open"
	case Closed:
		return "closed"
	case Filtered:
		return "filtered"
	case OpenFiltered:
		return "open|filtered"
	}
	return "unknown"
}

// Config says what to probe and how hard.
type Config struct {
	// Ports to probe on every target (DefaultPorts when empty).
	Ports []uint16
	// Probes puts a protocol on a port (ProbeFor gives the built-in
	// ones), over the built-in probes of the well-known ports. A port
	// with no probe gets an empty datagram.
	Probes map[uint16]Probe
	// Rate caps probes (attempts, retries included) per second over the
	// whole scan; 0 is unlimited. A probe of several datagrams (SNMP's
	// communities) counts once.
	Rate int
	// PerHostRate caps probes per second to any one address; 0 is
	// unlimited.
	PerHostRate int
	// Concurrency caps (host, port) pairs waiting for a verdict (default
	// 65536). A pair in flight costs about 200 bytes and no descriptor.
	Concurrency int
	// Timeout is the longest wait for an answer (default 1s); MinTimeout
	// (default 250ms) the shortest adaptive wait once a host has
	// answered anything (a reply or an ICMP error).
	Timeout, MinTimeout time.Duration
	// Retries is how many more times a silent port is tried; 0 means the
	// default of 2, a negative value none.
	Retries int
	// SourceAddr, when valid, is the local address probes come from.
	SourceAddr netip.Addr
	// HostBatch is how many targets are interleaved at a time (default
	// 1024).
	HostBatch int
	// Sockets is how many sockets per address family share the probes
	// (default 2).
	Sockets int
	// All reports every verdict to the callback, not only open ports.
	All bool
	// Progress, when set, is called with the running totals about every
	// ProgressInterval and once at the end.
	Progress         func(Stats)
	ProgressInterval time.Duration
}

// Result is the verdict on one (target, port).
type Result struct {
	Target target.Target
	Port   uint16
	State  State
	// Reason says what decided: "udp-response", "port-unreach",
	// "host-unreach", "net-unreach", "proto-unreach", "admin-prohibited",
	// "icmp type/code", "no-response", "send: ..." .
	Reason   string
	RTT      time.Duration
	Attempts int
	// Open ports: the first reply (at most MaxReply bytes), where it came
	// from, and what it says about the service.
	Reply      []byte
	From       netip.AddrPort
	Info       Info
	Identified bool
	Probe      string // the protocol the probe spoke ("" for an empty datagram)
}

// Stats are the totals of a scan. Probed counts (host, port) pairs with a
// verdict.
type Stats struct {
	Hosts        int
	Probed       int
	Open         int
	Closed       int
	Filtered     int
	OpenFiltered int
	Retried      int // extra attempts for silent ports
	Sent         int // datagrams sent
	Replies      int // datagrams received (a port may send several)
	InFlight     int
	Elapsed      time.Duration
	Rate         float64 // Probed per second of Elapsed
}

func (c Config) normalize() (Config, error) {
	if len(c.Ports) == 0 {
		c.Ports = DefaultPorts
	}
	for _, p := range c.Ports {
		if p == 0 {
			return c, fmt.Errorf("%w: port 0", ErrConfig)
		}
	}
	if c.Rate < 0 || c.PerHostRate < 0 || c.Concurrency < 0 || c.Timeout < 0 || c.MinTimeout < 0 || c.HostBatch < 0 || c.Sockets < 0 {
		return c, fmt.Errorf("%w: negative rate, concurrency, timeout, batch or sockets", ErrConfig)
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MinTimeout == 0 {
		c.MinTimeout = DefaultMinTimeout
	}
	c.MinTimeout = min(c.MinTimeout, c.Timeout)
	switch {
	case c.Retries == 0:
		c.Retries = DefaultRetries
	case c.Retries < 0:
		c.Retries = 0
	}
	c.Retries = min(c.Retries, 10)
	if c.HostBatch == 0 {
		c.HostBatch = DefaultHostBatch
	}
	if c.Sockets == 0 {
		c.Sockets = 2
	}
	c.Sockets = min(c.Sockets, 64)
	if c.ProgressInterval <= 0 {
		c.ProgressInterval = DefaultProgressInterval
	}
	if c.SourceAddr.IsValid() {
		c.SourceAddr = c.SourceAddr.Unmap()
	}
	return c, nil
}

// host is the scanner's state for one target.
type host struct {
	t      target.Target
	rtt    rttEstimator // guarded by scanner.mu
	bucket bucket       // loop only
	// early are the probes whose wait was chosen before the host had
	// answered anything (guarded by scanner.mu); its first answer
	// shortens them.
	early []*pending
}

type key struct {
	a netip.Addr
	p uint16
}

// pending is a (host, port) waiting for its verdict.
type pending struct {
	h       *host
	port    uint16
	pr      *Probe
	attempt int
	sent    time.Time // the last attempt
	timeout time.Duration
	sock    *udpSock
	// Set once the verdict is in (under scanner.mu).
	done bool
	// retrying: a retry is queued (loop only).
	retrying bool
}

// job is a probe to send at a time: a retry or a delayed first attempt.
type job struct {
	at    time.Time
	p     *pending
	first bool
}

// scanner is one scan. The loop goroutine sends, times out and reports;
// the receiver goroutine matches replies and ICMP errors to pending
// probes under mu.
type scanner struct {
	cfg    Config
	probes *probeTable
	start  time.Time

	mu      sync.Mutex
	pend    map[key]*pending
	done    []Result
	replies int
	global  rttEstimator // every host's answers: the wait for a host that has not answered yet
	rearm   []*host      // hosts whose first answer came in: shorten their early probes' waits

	wake chan struct{}

	socks4, socks6 []*udpSock
	next           int
	rx             *receiver

	later     jobHeap
	deadlines deadlineHeap
	delayed   int // first attempts waiting in later
	stats     Stats
}

// Scan probes every port of cfg.Ports on every target over UDP and calls
// onResult (if not nil) for each open port as it is found, or for every
// verdict with cfg.All. Calls to onResult and cfg.Progress are serialized.
// It returns when every probe has its verdict, or when ctx ends (then with
// ctx's error and the totals so far).
func Scan(ctx context.Context, cfg Config, targets iter.Seq[target.Target], onResult func(Result)) (Stats, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return Stats{}, err
	}
	pt, err := newProbeTable(cfg.Ports, cfg.Probes)
	if err != nil {
		return Stats{}, err
	}
	s := &scanner{cfg: cfg, probes: pt, start: time.Now(), pend: map[key]*pending{}, wake: make(chan struct{}, 1)}
	s.rx, err = newReceiver(s)
	if err != nil {
		return Stats{}, err
	}
	defer s.close()
	if onResult == nil {
		onResult = func(Result) {}
	}
	return s.run(ctx, targets, onResult)
}

func (s *scanner) close() {
	s.rx.stop()
	for _, u := range append(s.socks4, s.socks6...) {
		u.close()
	}
}

// socket returns a socket of the family of a, opening the family's
// sockets on first use; sockets are used in turn.
func (s *scanner) socket(a netip.Addr) (*udpSock, error) {
	list := &s.socks4
	if !a.Is4() {
		list = &s.socks6
	}
	if len(*list) == 0 {
		for i := 0; i < s.cfg.Sockets; i++ {
			u, err := openSocket(!a.Is4(), s.cfg.SourceAddr)
			if err != nil {
				return nil, err
			}
			if err := s.rx.add(u); err != nil {
				u.close()
				return nil, err
			}
			*list = append(*list, u)
		}
	}
	s.next++
	return (*list)[s.next%len(*list)], nil
}

func (s *scanner) run(ctx context.Context, targets iter.Seq[target.Target], onResult func(Result)) (Stats, error) {
	next, stop := iter.Pull(targets)
	defer stop()
	cfg := s.cfg
	order := append([]uint16(nil), cfg.Ports...)
	rng := rand.New(rand.NewPCG(uint64(len(order)), 0x72616d70))
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })

	var batch []*host
	pi, hi := 0, 0
	exhausted := false
	refill := func() bool {
		batch = batch[:0]
		for len(batch) < cfg.HostBatch {
			t, ok := next()
			if !ok {
				exhausted = true
				break
			}
			t.Addr = t.Addr.Unmap()
			if !t.Addr.IsValid() {
				continue
			}
			s.stats.Hosts++
			batch = append(batch, &host{t: t, bucket: newBucket(cfg.PerHostRate, math.Max(1, float64(cfg.PerHostRate)/10), time.Now())})
		}
		pi, hi = 0, 0
		return len(batch) > 0
	}
	global := newBucket(cfg.Rate, math.Max(1, float64(cfg.Rate)/100), time.Now())
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	lastProgress := time.Now()
	var runErr error

	for {
		now := time.Now()
		s.flush(onResult)
		s.expire(now)
		if err := ctx.Err(); err != nil {
			runErr = err
			break
		}
		wait := maxWait
		for sent := 0; sent < 512; sent++ {
			// Retries and delayed first attempts first.
			if len(s.later) > 0 && !s.later[0].at.After(now) {
				ok, d := global.Allow(now)
				if !ok {
					wait = min(wait, d)
					break
				}
				j := heap.Pop(&s.later).(job)
				if j.first {
					s.delayed--
				}
				s.send(j.p, now, j.first)
				continue
			}
			if s.inflight() >= cfg.Concurrency {
				break
			}
			if len(batch) == 0 || pi >= len(order) {
				if exhausted || !refill() {
					break
				}
			}
			ok, d := global.Allow(now)
			if !ok {
				wait = min(wait, d)
				break
			}
			h, port := batch[hi], order[pi]
			if hi++; hi >= len(batch) {
				hi = 0
				pi++
			}
			p := &pending{h: h, port: port, pr: s.probes.get(port)}
			k := key{h.t.Addr, port}
			s.mu.Lock()
			_, dup := s.pend[k]
			if !dup {
				s.pend[k] = p
			}
			s.mu.Unlock()
			if dup {
				global.Refund() // a target listed twice: nothing sent
				continue
			}
			if hw := h.bucket.Reserve(now); hw > 0 {
				global.Refund()
				heap.Push(&s.later, job{at: now.Add(hw), p: p, first: true})
				s.delayed++
				continue
			}
			s.send(p, now, true)
		}
		if cfg.Progress != nil && now.Sub(lastProgress) >= cfg.ProgressInterval {
			lastProgress = now
			cfg.Progress(s.snapshot(now))
		}
		s.mu.Lock()
		idle := len(s.pend) == 0 && len(s.done) == 0
		s.mu.Unlock()
		if idle && exhausted && (len(batch) == 0 || pi >= len(order)) && len(s.later) == 0 {
			break
		}
		if len(s.deadlines) > 0 {
			wait = min(wait, time.Until(s.deadlines[0].at))
		}
		if len(s.later) > 0 {
			wait = min(wait, time.Until(s.later[0].at))
		}
		if wait <= 0 {
			continue
		}
		timer.Reset(wait)
		select {
		case <-s.wake:
		case <-timer.C:
		case <-ctx.Done():
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
	s.flush(onResult)
	st := s.snapshot(time.Now())
	if cfg.Progress != nil {
		cfg.Progress(st)
	}
	return st, runErr
}

func (s *scanner) inflight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pend)
}

func (s *scanner) snapshot(now time.Time) Stats {
	st := s.stats
	s.mu.Lock()
	st.Replies = s.replies
	st.InFlight = len(s.pend)
	s.mu.Unlock()
	st.Elapsed = now.Sub(s.start)
	if st.Elapsed > 0 {
		st.Rate = float64(st.Probed) / st.Elapsed.Seconds()
	}
	return st
}

// send makes one attempt of p. The attempt is recorded before the
// datagrams leave, so a quick answer finds it.
func (s *scanner) send(p *pending, now time.Time, first bool) {
	to := netip.AddrPortFrom(p.h.t.Addr, p.port)
	if p.sock == nil {
		u, err := s.socket(to.Addr())
		if err != nil {
			s.verdict(p, Filtered, "send: "+err.Error(), nil, netip.AddrPort{})
			return
		}
		p.sock = u
	}
	s.mu.Lock()
	if p.done {
		s.mu.Unlock()
		return
	}
	prevSent, prevTimeout := p.sent, p.timeout
	p.attempt++
	p.retrying = false
	if first {
		if p.h.rtt.Samples() > 0 {
			p.timeout = p.h.rtt.Timeout(s.cfg.MinTimeout, s.cfg.Timeout)
		} else {
			p.timeout = s.global.Timeout(s.cfg.MinTimeout, s.cfg.Timeout)
			if len(p.h.early) < 64 {
				p.h.early = append(p.h.early, p)
			}
		}
	} else {
		p.timeout = min(2*p.timeout, s.cfg.Timeout)
	}
	p.sent = now
	attempt, at := p.attempt, now.Add(p.timeout)
	s.mu.Unlock()
	for _, b := range p.pr.Payloads {
		if err := p.sock.send(b, to); err != nil {
			if temporary(err) {
				// The socket buffer is full: the same attempt again shortly.
				s.mu.Lock()
				p.attempt--
				p.sent, p.timeout = prevSent, prevTimeout
				s.mu.Unlock()
				heap.Push(&s.later, job{at: now.Add(time.Millisecond), p: p, first: first})
				if first {
					s.delayed++
				}
				return
			}
			s.verdict(p, Filtered, "send: "+err.Error(), nil, netip.AddrPort{})
			return
		}
		s.stats.Sent++
	}
	if attempt > 1 {
		s.stats.Retried++
	}
	heap.Push(&s.deadlines, deadline{at: at, p: p, attempt: attempt})
}

// expire handles probes whose wait is over: another attempt, or the
// open|filtered verdict.
func (s *scanner) expire(now time.Time) {
	s.mu.Lock()
	rearm := s.rearm
	s.rearm = nil
	for _, h := range rearm {
		// The host answered for the first time: the probes sent before
		// wait what its round trip says, not the initial timeout.
		to := h.rtt.Timeout(s.cfg.MinTimeout, s.cfg.Timeout)
		for _, p := range h.early {
			if !p.done && p.attempt == 1 && to < p.timeout {
				p.timeout = to
				heap.Push(&s.deadlines, deadline{at: p.sent.Add(to), p: p, attempt: 1})
			}
		}
		h.early = nil
	}
	s.mu.Unlock()
	for len(s.deadlines) > 0 && !s.deadlines[0].at.After(now) {
		d := heap.Pop(&s.deadlines).(deadline)
		s.mu.Lock()
		stale := d.p.done || d.p.attempt != d.attempt || d.p.retrying
		s.mu.Unlock()
		if stale {
			continue
		}
		if d.attempt <= s.cfg.Retries {
			d.p.retrying = true
			heap.Push(&s.later, job{at: now, p: d.p})
			continue
		}
		s.verdict(d.p, OpenFiltered, "no-response", nil, netip.AddrPort{})
	}
}

// verdict records the end of p (once) for the loop to report.
func (s *scanner) verdict(p *pending, st State, reason string, reply []byte, from netip.AddrPort) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.verdictLocked(p, st, reason, reply, from, time.Now())
}

func (s *scanner) verdictLocked(p *pending, st State, reason string, reply []byte, from netip.AddrPort, now time.Time) {
	if p.done {
		return
	}
	p.done = true
	delete(s.pend, key{p.h.t.Addr, p.port})
	r := Result{Target: p.h.t, Port: p.port, State: st, Reason: reason, Attempts: p.attempt, Probe: p.pr.Name, From: from}
	if !p.sent.IsZero() && (st == Open || st == Closed || st == Filtered) {
		r.RTT = now.Sub(p.sent)
	}
	if st == Open {
		r.Reply = append([]byte(nil), reply[:min(len(reply), MaxReply)]...)
		if p.pr.Identify != nil {
			r.Info, r.Identified = p.pr.Identify(reply)
		}
	}
	s.done = append(s.done, r)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// flush reports the verdicts that came in.
func (s *scanner) flush(onResult func(Result)) {
	s.mu.Lock()
	done := s.done
	s.done = nil
	s.mu.Unlock()
	for _, r := range done {
		s.stats.Probed++
		switch r.State {
		case Open:
			s.stats.Open++
		case Closed:
			s.stats.Closed++
		case Filtered:
			s.stats.Filtered++
		case OpenFiltered:
			s.stats.OpenFiltered++
		}
		if r.State == Open || s.cfg.All {
			onResult(r)
		}
	}
}

// reply is called by the receiver for every datagram.
func (s *scanner) reply(from netip.AddrPort, b []byte) {
	now := time.Now()
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replies++
	p := s.pend[key{from.Addr(), from.Port()}]
	if p == nil {
		// A server that answers from another port (TFTP).
		for _, port := range s.probes.anyPort {
			q := s.pend[key{from.Addr(), port}]
			if q != nil && q.pr.Accept != nil && q.pr.Accept(b) {
				p = q
				break
			}
		}
	}
	if p == nil || p.done || p.sent.IsZero() {
		return
	}
	s.sample(p.h, now.Sub(p.sent))
	s.verdictLocked(p, Open, "udp-response", b, from, now)
}

// sample records an answer's round trip (under mu).
func (s *scanner) sample(h *host, rtt time.Duration) {
	h.rtt.Sample(rtt)
	s.global.Sample(rtt)
	if h.rtt.Samples() == 1 && len(h.early) > 0 {
		s.rearm = append(s.rearm, h)
	}
}

// icmp is called by the receiver for an ICMP error about a datagram sent
// to dst.
func (s *scanner) icmp(dst netip.AddrPort, v6 bool, typ, code uint8) {
	now := time.Now()
	dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	st, reason := icmpVerdict(v6, typ, code)
	if st == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pend[key{dst.Addr(), dst.Port()}]
	if p == nil || p.done || p.sent.IsZero() {
		return
	}
	s.sample(p.h, now.Sub(p.sent))
	s.verdictLocked(p, st, reason, nil, netip.AddrPort{}, now)
}

// icmpVerdict reads an ICMP or ICMPv6 error as nmap does: port unreachable
// is closed, the other unreachables are filtered; anything else (time
// exceeded, a source quench) decides nothing.
func icmpVerdict(v6 bool, typ, code uint8) (State, string) {
	if v6 {
		if typ != 1 {
			return 0, ""
		}
		switch code {
		case 4:
			return Closed, "port-unreach"
		case 1:
			return Filtered, "admin-prohibited"
		case 3:
			return Filtered, "host-unreach"
		}
		return Filtered, fmt.Sprintf("icmp6 1/%d", code)
	}
	if typ != 3 {
		return 0, ""
	}
	switch code {
	case 3:
		return Closed, "port-unreach"
	case 0:
		return Filtered, "net-unreach"
	case 1:
		return Filtered, "host-unreach"
	case 2:
		return Filtered, "proto-unreach"
	case 9, 10, 13:
		return Filtered, "admin-prohibited"
	}
	return Filtered, fmt.Sprintf("icmp 3/%d", code)
}
