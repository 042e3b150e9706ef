package netflow

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rampart-cert/rampart/internal/sensor"
)

// Defaults of a Collector.
const (
	DefaultReadBuffer = 64 << 20 // bytes asked of the kernel per socket
	DefaultMaxPacket  = 9216     // a jumbo frame's payload; exporters keep datagrams under the path MTU
	DefaultBatch      = 64       // datagrams per recvmmsg
	DefaultCoalesce   = time.Millisecond
	maxReaders        = 16
	flushAt           = 4096 // events a worker hands over at once, about: a datagram of tiny records cannot grow its slice without bound
	readTimeout       = 500 * time.Millisecond
)

// Config sets up a Collector. Zero fields take the defaults.
type Config struct {
	Addr         string        // UDP address to listen on, "host:port" (port 0: any)
	Readers      int           // sockets (SO_REUSEPORT) each with its reader goroutine; default GOMAXPROCS, at most 16
	Workers      int           // goroutines decoding flows and calling the sink; default GOMAXPROCS
	Queue        int           // batches read and not yet decoded, at most (user-space buffering); default 4 per worker up to 32, at least 2 per reader
	Coalesce     time.Duration // after a read that did not fill half a batch, wait this long before the next; default DefaultCoalesce, negative: never
	ReadBuffer   int           // receive buffer per socket, bytes; default DefaultReadBuffer
	MaxPacket    int           // largest datagram decoded, bytes (≤ 65535); default DefaultMaxPacket
	Batch        int           // datagrams per read call; default DefaultBatch
	TemplateTTL  time.Duration // forget a template not refreshed for this long; default DefaultTemplateTTL
	MaxTemplates int           // templates kept over all exporters; default DefaultMaxTemplates
}

// Stats are a Collector's counters since it started; every field only
// grows.
type Stats struct {
	Packets     uint64 // datagrams received
	Bytes       uint64 // their payload bytes
	Truncated   uint64 // datagrams over MaxPacket, not decoded
	KernelDrops uint64 // datagrams the kernel dropped: socket buffers full (Linux SO_MEMINFO)
	DecoderStats
}

// Collector receives NetFlow and IPFIX datagrams on one UDP address and
// hands their flows to a sink.
type Collector struct {
	cfg   Config
	sink  func([]sensor.Event)
	dec   *Decoder
	conns []net.PacketConn
	raws  []syscall.RawConn // for the kernel's drop counts
	addr  netip.AddrPort
	rbuf  int

	packets, bytes, truncated atomic.Uint64
	lastDrops                 atomic.Uint64 // KernelDrops when last asked (sockets closed: kept)
}

// Listen receives flows on addr until ctx ends and calls sink with them,
// as New and Run do with the default Config. sink is called from several
// goroutines at once and must not keep the slice after it returns.
func Listen(ctx context.Context, addr string, sink func([]sensor.Event)) error {
	c, err := New(Config{Addr: addr}, sink)
	if err != nil {
		return err
	}
	return c.Run(ctx)
}

// New binds the collector's sockets; Run reads them. sink is called from
// the reader goroutines, several at once, with a slice the reader reuses
// after the call returns: the sink copies what it keeps. A slow sink
// slows its reader; the socket buffer absorbs bursts and the kernel's
// drops beyond it are counted.
func New(cfg Config, sink func([]sensor.Event)) (*Collector, error) {
	if sink == nil {
		return nil, errors.New("netflow: nil sink")
	}
	if cfg.Readers <= 0 {
		cfg.Readers = min(runtime.GOMAXPROCS(0), maxReaders)
	}
	if !reusePort {
		cfg.Readers = 1
	}
	if cfg.ReadBuffer <= 0 {
		cfg.ReadBuffer = DefaultReadBuffer
	}
	if cfg.MaxPacket <= 0 {
		cfg.MaxPacket = DefaultMaxPacket
	}
	cfg.MaxPacket = min(max(cfg.MaxPacket, 512), 65535)
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	cfg.Readers = min(cfg.Readers, maxReaders)
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Coalesce == 0 {
		cfg.Coalesce = DefaultCoalesce
	}
	if cfg.Queue <= 0 {
		cfg.Queue = min(4*cfg.Workers, 32)
	}
	cfg.Queue = max(cfg.Queue, 2*cfg.Readers)
	c := &Collector{cfg: cfg, sink: sink, dec: NewDecoder(cfg.TemplateTTL, cfg.MaxTemplates)}
	lc := net.ListenConfig{Control: control(cfg.ReadBuffer)}
	addr := cfg.Addr
	for i := 0; i < cfg.Readers; i++ {
		pc, err := lc.ListenPacket(context.Background(), "udp", addr)
		if err != nil {
			c.closeAll()
			return nil, fmt.Errorf("netflow: listen %s: %w", addr, err)
		}
		c.conns = append(c.conns, pc)
		if sc, ok := pc.(syscall.Conn); ok {
			if rc, err := sc.SyscallConn(); err == nil {
				c.raws = append(c.raws, rc)
			}
		}
		if i == 0 {
			c.addr = pc.LocalAddr().(*net.UDPAddr).AddrPort()
			addr = c.addr.String() // the others bind the port the first got
			if len(c.raws) > 0 {
				c.rbuf = rcvbufOf(c.raws[0])
			}
		}
	}
	return c, nil
}

// Addr is the address the collector listens on.
func (c *Collector) Addr() netip.AddrPort { return c.addr }

// ReadBuffer is the receive buffer the kernel gave each socket, in bytes
// as the kernel counts them (0 when unknown).
func (c *Collector) ReadBuffer() int { return c.rbuf }

// Decoder is the collector's decoder (its templates and counters).
func (c *Collector) Decoder() *Decoder { return c.dec }

// Stats returns the collector's counters. KernelDrops is asked of the
// kernel (a system call per socket) and stays at its last value once the
// collector has stopped.
func (c *Collector) Stats() Stats {
	s := Stats{
		Packets:      c.packets.Load(),
		Bytes:        c.bytes.Load(),
		Truncated:    c.truncated.Load(),
		DecoderStats: c.dec.Stats(),
	}
	var drops uint64
	for _, rc := range c.raws {
		if d, ok := socketDrops(rc); ok {
			drops += d
		}
	}
	if drops > c.lastDrops.Load() {
		c.lastDrops.Store(drops)
	}
	s.KernelDrops = c.lastDrops.Load()
	return s
}

// Run reads the sockets until ctx ends, then closes them. It returns nil
// when ctx ended, or the first read error.
func (c *Collector) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		readers, workers, janitor sync.WaitGroup
		once                      sync.Once
		first                     error
	)
	free := make(chan *batch, c.cfg.Queue)
	for range c.cfg.Queue {
		free <- c.newBatch()
	}
	work := make(chan *batch, c.cfg.Queue)
	for range c.cfg.Workers {
		workers.Add(1)
		go func() {
			defer workers.Done()
			c.work(work, free)
		}()
	}
	for _, pc := range c.conns {
		readers.Add(1)
		go func() {
			defer readers.Done()
			if err := c.read(ctx, pc, free, work); err != nil {
				once.Do(func() { first = err })
				cancel()
			}
		}()
	}
	janitor.Add(1)
	go func() { // forget expired templates; keep the kernel's drop count
		defer janitor.Done()
		tick := time.NewTicker(min(c.dec.ttl/4, time.Minute))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				c.dec.Expire(now)
				c.Stats()
			}
		}
	}()
	<-ctx.Done()
	c.Stats() // the kernel's drop counts, while the sockets are open
	c.closeAll()
	readers.Wait()
	close(work) // the workers finish what was read, then stop
	workers.Wait()
	janitor.Wait()
	return first
}

func (c *Collector) closeAll() {
	for _, pc := range c.conns {
		pc.Close()
	}
}

// receiver reads a batch of datagrams from one socket: recvmmsg on
// 64-bit Linux (recv_mmsg.go), golang.org/x/net's ReadBatch elsewhere
// (recv_xnet.go). It sets b.size, b.from and b.trunc of the datagrams it
// read and returns their number.
type receiver interface {
	recv(b *batch) (int, error)
}

// batch is one read call's datagrams on their way from a reader to a
// worker; batches and their buffers are allocated once and reused.
type batch struct {
	bufs  [][]byte // MaxPacket+1 bytes each
	size  []int    // bytes received in each
	trunc []bool   // the kernel cut the datagram to fit
	from  []netip.AddrPort
	err   []error // the learn pass's fault per datagram
	skip  []bool  // over MaxPacket: not decoded
	n     int
	now   time.Time
}

func (c *Collector) newBatch() *batch {
	n := c.cfg.Batch
	b := &batch{
		bufs:  make([][]byte, n),
		size:  make([]int, n),
		trunc: make([]bool, n),
		from:  make([]netip.AddrPort, n),
		err:   make([]error, n),
		skip:  make([]bool, n),
	}
	buf := make([]byte, n*(c.cfg.MaxPacket+1))
	for j := range b.bufs {
		// One byte more than MaxPacket tells a datagram of exactly
		// MaxPacket from a longer one cut to fit, where MSG_TRUNC is not
		// reported.
		b.bufs[j] = buf[j*(c.cfg.MaxPacket+1) : (j+1)*(c.cfg.MaxPacket+1)]
	}
	return b
}

// read is one socket's reader: a batch of datagrams per call, whose
// templates and options it learns in arrival order before a worker
// decodes their flows. When every batch is in the workers' hands it
// waits, and the socket's buffer fills.
func (c *Collector) read(ctx context.Context, pc net.PacketConn, free <-chan *batch, work chan<- *batch) error {
	rcv, err := c.newReceiver(pc)
	if err != nil {
		return err
	}
	var (
		b     *batch
		short bool // the last read did not fill half a batch
	)
	for {
		if short && c.cfg.Coalesce > 0 {
			// Let datagrams gather in the socket's buffer: one wake-up
			// and one system call for many instead of one for each, at
			// the cost of a millisecond's delay of flows that exporters
			// held for seconds anyway.
			select {
			case <-time.After(c.cfg.Coalesce):
			case <-ctx.Done():
				return nil
			}
		}
		if b == nil {
			select {
			case b = <-free:
			case <-ctx.Done():
				return nil
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if err := pc.SetReadDeadline(time.Now().Add(readTimeout)); err != nil {
			return nil // closed
		}
		n, err := rcv.recv(b)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				short = false
				continue
			}
			return fmt.Errorf("netflow: read %s: %w", c.addr, err)
		}
		b.n, b.now = n, time.Now()
		short = n < len(b.bufs)/2
		var bytes uint64
		for j := range n {
			bytes += uint64(b.size[j])
			b.skip[j] = b.size[j] > c.cfg.MaxPacket || b.trunc[j]
			if b.skip[j] {
				c.truncated.Add(1)
				continue
			}
			b.err[j] = c.dec.learn(b.from[j], b.bufs[j][:b.size[j]], b.now)
		}
		c.packets.Add(uint64(n))
		c.bytes.Add(bytes)
		work <- b
		b = nil
	}
}

// work is a worker: it decodes the flows of each batch into one reused
// slice of events and hands them to the sink.
func (c *Collector) work(work <-chan *batch, free chan<- *batch) {
	events := make([]sensor.Event, 0, c.cfg.Batch*32)
	for b := range work {
		events = events[:0]
		for j := range b.n {
			if !b.skip[j] {
				events = c.dec.flowsOf(b.from[j], b.bufs[j][:b.size[j]], b.now, events, b.err[j])
			}
			if len(events) >= flushAt {
				c.sink(events)
				events = events[:0]
			}
		}
		if len(events) > 0 {
			c.sink(events)
		}
		free <- b
	}
}
