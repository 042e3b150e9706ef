package portscan

import (
	"cmp"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"iter"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/target"
)

// Defaults for a zero Config.
const (
	DefaultConcurrency      = 1000
	DefaultTimeout          = time.Second
	DefaultMinTimeout       = 100 * time.Millisecond
	DefaultRetries          = 1
	DefaultHostBatch        = 1024
	DefaultProgressInterval = 250 * time.Millisecond
	fdReserve               = 128 // descriptors left for the rest of the process
	maxWait                 = 50 * time.Millisecond
	publishInterval         = 20 * time.Millisecond
)

// Errors.
var (
	ErrConfig    = errors.New("portscan: invalid configuration")
	ErrResources = errors.New("portscan: out of local resources")
)

// Config says what to probe and how hard.
type Config struct {
	// Ports to probe on every target, each 1-65535 (target.ParsePorts).
	Ports []uint16
	// Rate caps connection attempts per second over the whole scan; 0 is
	// unlimited. Retries count.
	Rate int
	// PerHostRate caps connection attempts per second to any one address;
	// 0 is unlimited.
	PerHostRate int
	// Concurrency caps connection attempts in flight (default 1000). It is
	// lowered to stay below the process's descriptor limit.
	Concurrency int
	// Timeout is the longest a probe waits for an answer (default 1s); see
	// MinTimeout for the adaptive part.
	Timeout time.Duration
	// MinTimeout is the shortest adaptive timeout (default 100ms): once a
	// host has answered, a probe to it waits max(MinTimeout, SRTT+4·RTTVAR).
	MinTimeout time.Duration
	// Retries is how many more times a silent (timed-out) port is tried;
	// 0 means the default of 1, a negative value means none.
	Retries int
	// SourceAddr, when valid, is the local address connections come from.
	SourceAddr netip.Addr
	// Dial, when set, makes every connection attempt instead of the
	// built-in socket engine; it must honor ctx's deadline. It exists for
	// tests (simulating silent ports) and unusual transports.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	// HostBatch is how many targets are interleaved at a time (default 1024),
	// dealt round-robin to the workers.
	HostBatch int
	// Workers is how many scanning goroutines share the work, each with
	// its own sockets and a share of Concurrency (default GOMAXPROCS; 1
	// when Dial is set). A host belongs to one worker.
	Workers int
	// Progress, when set, is called with the running totals about every
	// ProgressInterval (default 250ms) and once at the end, from the
	// scanning goroutine: it must return quickly.
	Progress         func(Stats)
	ProgressInterval time.Duration
}

// Open is one open port.
type Open struct {
	Target target.Target
	Port   uint16
	RTT    time.Duration // from connect() to the completed handshake
}

// Stats are the totals of a scan. Probed counts (host, port) pairs with a
// final answer: open, closed, timed out after every retry, or unreachable.
type Stats struct {
	Hosts       int // targets taken from the iterator
	Probed      int
	Open        int
	Closed      int
	TimedOut    int // silent after all retries (filtered)
	Unreachable int // ICMP unreachable or a local routing error
	Retried     int // extra attempts made for silent ports
	InFlight    int
	Concurrency int // the effective concurrency limit
	Elapsed     time.Duration
	Rate        float64 // Probed per second of Elapsed
}

func (c Config) normalize() (Config, error) {
	if len(c.Ports) == 0 {
		return c, fmt.Errorf("%w: no ports", ErrConfig)
	}
	for _, p := range c.Ports {
		if p == 0 {
			return c, fmt.Errorf("%w: port 0", ErrConfig)
		}
	}
	if c.Rate < 0 || c.PerHostRate < 0 || c.Concurrency < 0 || c.Workers < 0 || c.Timeout < 0 || c.MinTimeout < 0 || c.HostBatch < 0 {
		return c, fmt.Errorf("%w: negative rate, concurrency, timeout or batch", ErrConfig)
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MinTimeout == 0 {
		c.MinTimeout = min(DefaultMinTimeout, c.Timeout)
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
	if c.ProgressInterval <= 0 {
		c.ProgressInterval = DefaultProgressInterval
	}
	if c.SourceAddr.IsValid() {
		c.SourceAddr = c.SourceAddr.Unmap()
	}
	return c, nil
}

// result is how one connection attempt ended.
type result uint8

const (
	resOpen result = iota + 1
	resClosed
	resTimeout
	resUnreachable
	resLocal // a local resource ran out before the probe left; try again later
)

// host is the scanner's state for one target of a live batch.
type host struct {
	t      target.Target
	rtt    rttEstimator
	bucket bucket // per-host rate, when limited
}

// probe is one connection attempt to make or in flight.
type probe struct {
	h       *host
	port    uint16
	attempt uint8
	timeout time.Duration
	start   time.Time // set by the engine
	at      time.Time // when a delayed probe may go
}

type outcome struct {
	p   probe
	res result
	rtt time.Duration
	err error
}

// engine makes connection attempts. It is used from one goroutine.
type engine interface {
	// start begins an attempt. An error means a local resource ran out
	// and nothing was sent; the caller tries again later.
	start(p probe) error
	// wait returns outcomes that are ready, blocking up to d for the first.
	wait(d time.Duration, out []outcome) []outcome
	inflight() int
	close()
}

// Scan probes every port of cfg.Ports on every target and calls onOpen (if
// not nil) for each open port as it is found; calls to onOpen (and to
// cfg.Progress) are serialized but may come from different goroutines. It
// returns when all probes are answered or timed out, or when ctx ends (then
// with ctx's error and the totals so far).
func Scan(ctx context.Context, cfg Config, targets iter.Seq[target.Target], onOpen func(Open)) (Stats, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return Stats{}, err
	}
	if limit, err := RaiseFDLimit(); err == nil && limit > fdReserve*2 {
		cfg.Concurrency = int(min(uint64(cfg.Concurrency), limit-max(fdReserve, limit/10)))
	}
	workers := 1
	if cfg.Dial == nil {
		workers = cmp.Or(cfg.Workers, runtime.GOMAXPROCS(0))
		workers = max(1, min(workers, cfg.Concurrency, 64))
	}
	next, stop := iter.Pull(targets)
	defer stop()
	sh := newShared(cfg, workers, next, onOpen)
	parent := ctx
	ctx, cancel := context.WithCancel(parent)
	defer cancel()

	scanners := make([]*scanner, workers)
	for i := range scanners {
		var eng engine
		if cfg.Dial != nil {
			eng = newDialEngine(cfg.Dial, cfg.Concurrency)
		} else if eng, err = newSocketEngine(cfg); err != nil {
			for _, s := range scanners[:i] {
				s.eng.close()
			}
			return Stats{}, err
		}
		conc := cfg.Concurrency / workers
		if i < cfg.Concurrency%workers {
			conc++
		}
		scanners[i] = newScanner(cfg, eng, sh, i, conc)
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i, s := range scanners {
		wg.Add(1)
		run := func() {
			defer wg.Done()
			defer s.eng.close()
			if errs[i] = s.run(ctx); errs[i] != nil {
				cancel()
			}
		}
		if i == workers-1 {
			run()
		} else {
			go run()
		}
	}
	wg.Wait()
	st := sh.final()
	if err := parent.Err(); err != nil {
		return st, err
	}
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return st, err
		}
	}
	return st, nil
}

type scanner struct {
	cfg Config
	eng engine
	sh  *shared
	id  int

	order   []uint16 // cfg.Ports in probe order
	batch   []*host
	pi, hi  int  // next port index, next host index in batch
	drained bool // the target iterator is exhausted

	held    *probe  // the next probe to start, put back by a limit
	retries []probe // FIFO of probes to try again
	delayed delayHeap

	maxConc    int // this worker's share of cfg.Concurrency
	conc       int // effective concurrency
	localFails int
	sinceCut   int

	lastPublish time.Time
	stats       Stats
}

func newScanner(cfg Config, eng engine, sh *shared, id, conc int) *scanner {
	return &scanner{cfg: cfg, eng: eng, sh: sh, id: id, maxConc: conc, conc: conc, order: sh.order, lastPublish: time.Now()}
}

// permute returns the ports in a fixed pseudo-random order: index i of the
// result is ports[(i·stride+offset) mod n] with stride coprime to n, so
// neighbouring ports are not probed back to back.
func permute(ports []uint16) []uint16 {
	n := len(ports)
	out := make([]uint16, n)
	stride := n*618/1000 + 1
	for gcd(stride, n) != 1 {
		stride++
	}
	offset := n / 3
	for i := range n {
		out[i] = ports[(i*stride+offset)%n]
	}
	return out
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func (s *scanner) run(ctx context.Context) error {
	var outs []outcome
	done := ctx.Done()
	for {
		select {
		case <-done:
			s.publish(time.Now())
			return ctx.Err()
		default:
		}
		now := time.Now()
		wake := now.Add(maxWait)
		for s.eng.inflight() < s.conc {
			p, ok, at := s.next(now)
			if !ok {
				if !at.IsZero() && at.Before(wake) {
					wake = at
				}
				break
			}
			if ok, d := s.sh.allow(now); !ok {
				s.held = &p
				if at := now.Add(d); at.Before(wake) {
					wake = at
				}
				break
			}
			p.timeout = s.timeout(p)
			if err := s.eng.start(p); err != nil {
				if err := s.localFailure(p, err); err != nil {
					s.publish(time.Now())
					return err
				}
				if s.eng.inflight() == 0 {
					wake = now.Add(10 * time.Millisecond)
				}
				break
			}
			s.localFails = 0
		}
		if s.eng.inflight() == 0 && s.idle() {
			s.publish(time.Now())
			return nil
		}
		outs = s.eng.wait(max(0, time.Until(wake)), outs[:0])
		for _, o := range outs {
			s.handle(o)
		}
		if now := time.Now(); now.Sub(s.lastPublish) >= publishInterval {
			s.publish(now)
		}
	}
}

// localFailure puts a probe that could not start back at the head of the
// line and lowers concurrency to what the system sustains.
func (s *scanner) localFailure(p probe, err error) error {
	s.held = &p
	s.localFails++
	if n := s.eng.inflight(); n > 0 {
		s.conc = max(1, n*7/8)
		s.sinceCut = 0
		return nil
	}
	if s.localFails > 200 {
		return fmt.Errorf("%w: %v", ErrResources, err)
	}
	return nil
}

// idle reports that nothing is left to start.
func (s *scanner) idle() bool {
	if s.held != nil || len(s.retries) > 0 || s.delayed.Len() > 0 {
		return false
	}
	return s.drained && (s.batch == nil || s.pi >= len(s.order))
}

// next returns the probe to start now: a held one, a retry, a delayed one
// whose time has come, or a new one. When none can go now it returns the
// time the earliest delayed probe may go, if any.
func (s *scanner) next(now time.Time) (probe, bool, time.Time) {
	if s.held != nil {
		p := *s.held
		s.held = nil
		return p, true, time.Time{}
	}
	if len(s.retries) > 0 {
		p := s.retries[0]
		s.retries = s.retries[1:]
		if len(s.retries) == 0 {
			s.retries = nil // let the backing array go
		}
		if d := s.hostDelay(p.h, now); d > 0 {
			s.delay(p, now.Add(d))
			return s.next(now)
		}
		return p, true, time.Time{}
	}
	if s.delayed.Len() > 0 && !s.delayed[0].at.After(now) {
		return heap.Pop(&s.delayed).(probe), true, time.Time{}
	}
	for s.delayed.Len() < 4*s.maxConc {
		p, ok := s.generate()
		if !ok {
			break
		}
		if d := s.hostDelay(p.h, now); d > 0 {
			s.delay(p, now.Add(d))
			continue
		}
		return p, true, time.Time{}
	}
	if s.delayed.Len() > 0 {
		return probe{}, false, s.delayed[0].at
	}
	return probe{}, false, time.Time{}
}

func (s *scanner) hostDelay(h *host, now time.Time) time.Duration {
	if s.cfg.PerHostRate <= 0 {
		return 0
	}
	return h.bucket.Reserve(now)
}

func (s *scanner) delay(p probe, at time.Time) {
	p.at = at
	heap.Push(&s.delayed, p)
}

// generate returns the next new (host, port) pair: ports in the outer loop,
// the hosts of the current batch in the inner one.
func (s *scanner) generate() (probe, bool) {
	if s.batch == nil || s.pi >= len(s.order) {
		if !s.loadBatch() {
			return probe{}, false
		}
	}
	p := probe{h: s.batch[s.hi], port: s.order[s.pi]}
	if s.hi++; s.hi == len(s.batch) {
		s.hi = 0
		s.pi++
	}
	return p, true
}

func (s *scanner) loadBatch() bool {
	if s.drained {
		return false
	}
	now := time.Now()
	ts := s.sh.take(s.id)
	if len(ts) == 0 {
		s.drained, s.batch = true, nil
		return false
	}
	batch := make([]*host, len(ts))
	for i, t := range ts {
		h := &host{t: t}
		if s.cfg.PerHostRate > 0 {
			h.bucket = newBucket(s.cfg.PerHostRate, float64(s.cfg.PerHostRate)/10, now)
		}
		batch[i] = h
	}
	s.stats.Hosts += len(batch)
	s.batch, s.pi, s.hi = batch, 0, 0
	return true
}

// timeout is the host's adaptive timeout, doubled for each retry.
func (s *scanner) timeout(p probe) time.Duration {
	t := p.h.rtt.Timeout(s.cfg.MinTimeout, s.cfg.Timeout)
	for range p.attempt {
		t *= 2
	}
	return min(t, s.cfg.Timeout)
}

func (s *scanner) handle(o outcome) {
	p := o.p
	switch o.res {
	case resOpen:
		p.h.rtt.Sample(o.rtt)
		s.stats.Open++
		s.stats.Probed++
		s.sh.open(Open{Target: p.h.t, Port: p.port, RTT: o.rtt})
	case resClosed:
		p.h.rtt.Sample(o.rtt)
		s.stats.Closed++
		s.stats.Probed++
	case resTimeout:
		if int(p.attempt) < s.cfg.Retries {
			p.attempt++
			s.stats.Retried++
			s.retries = append(s.retries, p)
			return
		}
		s.stats.TimedOut++
		s.stats.Probed++
	case resUnreachable:
		s.stats.Unreachable++
		s.stats.Probed++
	case resLocal:
		s.retries = append(s.retries, p)
		s.conc = max(1, s.eng.inflight()*7/8)
		s.sinceCut = 0
		return
	}
	// Recover concurrency slowly after a cut.
	if s.conc < s.maxConc {
		if s.sinceCut++; s.sinceCut >= 64 {
			s.sinceCut = 0
			s.conc++
		}
	}
}

// publish hands this worker's totals to the shared view.
func (s *scanner) publish(now time.Time) {
	s.lastPublish = now
	st := s.stats
	st.InFlight = s.eng.inflight()
	st.Concurrency = s.conc
	s.sh.publish(s.id, st, now)
}

// delayHeap orders probes waiting for their host's token by time.
type delayHeap []probe

func (h delayHeap) Len() int           { return len(h) }
func (h delayHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h delayHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *delayHeap) Push(x any)        { *h = append(*h, x.(probe)) }
func (h *delayHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
