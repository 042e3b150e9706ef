//go:build linux

package synscan

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/rampart-cert/rampart/internal/target"
)

// Available reports whether this process may open raw sockets (root or
// CAP_NET_RAW); the error wraps ErrNoCapability when it may not.
func Available() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, syscall.IPPROTO_RAW)
	if err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
			return fmt.Errorf("%w: %v", ErrNoCapability, err)
		}
		return fmt.Errorf("synscan: raw socket: %w", err)
	}
	syscall.Close(fd)
	return nil
}

// sender sends SYNs in batches with sendmmsg on a raw IPv4 socket with
// IP_HDRINCL.
type sender struct {
	fd    int
	bufs  [][synLen]byte
	addrs []syscall.RawSockaddrInet4
	iovs  []unix.Iovec
	msgs  []unix.Mmsghdr
	n     int
}

func newSender(batch int) (*sender, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, syscall.IPPROTO_RAW)
	if err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
			return nil, fmt.Errorf("%w: %v", ErrNoCapability, err)
		}
		return nil, fmt.Errorf("synscan: raw socket: %w", err)
	}
	_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, 32 /* SO_SNDBUFFORCE */, 8<<20)
	s := &sender{fd: fd, bufs: make([][synLen]byte, batch), addrs: make([]syscall.RawSockaddrInet4, batch),
		iovs: make([]unix.Iovec, batch), msgs: make([]unix.Mmsghdr, batch)}
	for i := range s.msgs {
		s.iovs[i].Base = &s.bufs[i][0]
		s.iovs[i].SetLen(synLen)
		s.addrs[i].Family = syscall.AF_INET
		s.msgs[i].Hdr.Name = (*byte)(unsafe.Pointer(&s.addrs[i]))
		s.msgs[i].Hdr.Namelen = syscall.SizeofSockaddrInet4
		s.msgs[i].Hdr.Iov = &s.iovs[i]
		s.msgs[i].Hdr.SetIovlen(1)
	}
	return s, nil
}

// add queues a SYN; flush sends the queue.
func (s *sender) add(src, dst netip.Addr, sport, dport uint16, seq uint32) {
	i := s.n
	buildSYN(s.bufs[i][:], src, dst, sport, dport, seq, uint16(seq))
	s.addrs[i].Addr = dst.As4()
	s.n++
}

func (s *sender) full() bool { return s.n == len(s.msgs) }

// flush sends every queued SYN; a full device queue (ENOBUFS) is waited
// out, so no SYN is dropped here.
func (s *sender) flush(ctx context.Context) error {
	done := 0
	for done < s.n {
		r, _, errno := syscall.Syscall6(unix.SYS_SENDMMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&s.msgs[done])), uintptr(s.n-done), 0, 0, 0)
		if errno != 0 {
			switch errno {
			case syscall.EINTR:
				continue
			case syscall.ENOBUFS, syscall.EAGAIN, syscall.ENOMEM:
				if ctx.Err() != nil {
					return ctx.Err()
				}
				time.Sleep(50 * time.Microsecond)
				continue
			case syscall.EPERM, syscall.EACCES:
				return fmt.Errorf("synscan: send: %w (a local firewall?)", errno)
			}
			// A destination the kernel refuses (no route): skip that SYN.
			done++
			continue
		}
		done += int(r)
	}
	s.n = 0
	return nil
}

func (s *sender) close() { syscall.Close(s.fd) }

// receiver reads SYN-ACKs to the scan's source port from a raw TCP socket
// whose BPF filter drops every other segment in the kernel.
type receiver struct {
	fd int
}

// filter keeps IPv4 TCP segments to dport with SYN and ACK set (not
// fragments), 128 bytes of each.
func filter(dport uint16) []syscall.SockFilter {
	const (
		ldH   = syscall.BPF_LD | syscall.BPF_H | syscall.BPF_ABS
		ldB   = syscall.BPF_LD | syscall.BPF_B | syscall.BPF_ABS
		ldxIP = syscall.BPF_LDX | syscall.BPF_B | syscall.BPF_MSH
		ldHI  = syscall.BPF_LD | syscall.BPF_H | syscall.BPF_IND
		ldBI  = syscall.BPF_LD | syscall.BPF_B | syscall.BPF_IND
		jeq   = syscall.BPF_JMP | syscall.BPF_JEQ | syscall.BPF_K
		jset  = syscall.BPF_JMP | syscall.BPF_JSET | syscall.BPF_K
		and   = syscall.BPF_ALU | syscall.BPF_AND | syscall.BPF_K
		ret   = syscall.BPF_RET | syscall.BPF_K
	)
	return []syscall.SockFilter{
		{Code: ldB, K: 9},                     // 0: protocol
		{Code: jeq, K: 6, Jt: 0, Jf: 8},       // 1: TCP, else drop
		{Code: ldH, K: 6},                     // 2: fragment offset
		{Code: jset, K: 0x1fff, Jt: 6, Jf: 0}, // 3: a later fragment: drop
		{Code: ldxIP, K: 0},                   // 4: X = IP header length
		{Code: ldHI, K: 2},                    // 5: destination port
		{Code: jeq, K: uint32(dport), Jt: 0, Jf: 3},
		{Code: ldBI, K: 13}, // 7: flags
		{Code: and, K: flagSYN | flagACK | flagRST},
		{Code: jeq, K: flagSYN | flagACK, Jt: 1, Jf: 0},
		{Code: ret, K: 0},   // 10: drop
		{Code: ret, K: 128}, // 11: keep
	}
}

func newReceiver(dport uint16) (*receiver, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, syscall.IPPROTO_TCP)
	if err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
			return nil, fmt.Errorf("%w: %v", ErrNoCapability, err)
		}
		return nil, fmt.Errorf("synscan: raw socket: %w", err)
	}
	if err := syscall.AttachLsf(fd, filter(dport)); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("synscan: BPF filter: %w", err)
	}
	if syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, 33 /* SO_RCVBUFFORCE */, 32<<20) != nil {
		_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, 32<<20)
	}
	tv := syscall.NsecToTimeval((50 * time.Millisecond).Nanoseconds())
	if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("synscan: receive timeout: %w", err)
	}
	return &receiver{fd: fd}, nil
}

// loop reads until stop is closed, calling got for every packet.
func (r *receiver) loop(stop <-chan struct{}, got func([]byte)) {
	buf := make([]byte, 2048)
	for {
		select {
		case <-stop:
			return
		default:
		}
		n, _, err := syscall.Recvfrom(r.fd, buf, 0)
		if err != nil {
			continue // the timeout, to look at stop
		}
		got(buf[:n])
	}
}

func (r *receiver) close() { syscall.Close(r.fd) }

// Scan sends a SYN to every port of cfg.Ports on every IPv4 target and
// calls onOpen (serialized) for each that answers with a SYN-ACK. Targets
// that are not IPv4 are skipped and counted; skipped, when set, gets them
// (so the caller can connect-scan them). targets is iterated once per
// pass (1 + cfg.Retries). It returns when the last pass has been sent and
// cfg.Wait has passed, or when ctx ends. An error wrapping
// ErrNoCapability means raw sockets are not allowed: nothing was sent.
func Scan(ctx context.Context, cfg Config, targets iter.Seq[target.Target], onOpen func(Open), skipped func(target.Target)) (Stats, error) {
	var st Stats
	cfg, err := cfg.normalize()
	if err != nil {
		return st, err
	}
	if cfg.SourcePort == 0 {
		cfg.SourcePort = uint16(40000 + rand.IntN(20000))
	}
	start := time.Now()
	pace := &pacer{rate: float64(cfg.Rate)}
	pool, err := newSendPool(ctx, senders(), cfg.Batch, pace)
	if err != nil {
		return st, err
	}
	defer pool.close()
	rcv, err := newReceiver(cfg.SourcePort)
	if err != nil {
		return st, err
	}
	defer rcv.close()
	key := rand.Uint64()
	sport := cfg.SourcePort
	wantPort := map[uint16]bool{}
	for _, p := range cfg.Ports {
		wantPort[p] = true
	}

	var mu sync.Mutex
	found := map[uint64]bool{}              // addr<<16|port of open pairs
	names := map[netip.Addr]target.Target{} // targets that carry a name
	pending := map[uint64]target.Target{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		rcv.loop(stop, func(b []byte) {
			r, err := parseReply(b)
			if err != nil || r.dport != sport || r.flags&(flagSYN|flagACK|flagRST) != flagSYN|flagACK || !r.src.Is4() {
				return
			}
			if !wantPort[r.sport] || r.ack-1 != cookie(key, r.src, r.sport, sport) {
				return // not an answer to this scan
			}
			a4 := r.src.As4()
			k := uint64(a4[0])<<40 | uint64(a4[1])<<32 | uint64(a4[2])<<24 | uint64(a4[3])<<16 | uint64(r.sport)
			mu.Lock()
			st.SynAcks++
			if found[k] {
				mu.Unlock()
				return
			}
			found[k] = true
			st.Open++
			t, ok := names[r.src]
			if !ok {
				t = target.Target{Addr: r.src}
			}
			pending[k] = t
			mu.Unlock()
			if onOpen != nil {
				onOpen(Open{Target: t, Port: r.sport})
			}
		})
	}()

	var src netip.Addr // the kernel would fill in a zero source, after the checksum was made
	if cfg.SourceAddr != [4]byte{} {
		src = netip.AddrFrom4(cfg.SourceAddr)
	}
	pass := func(first bool) (err error) {
		snd, err := pool.get()
		if err != nil {
			return err
		}
		defer func() {
			pool.put(snd)
			if derr := pool.drain(); err == nil {
				err = derr
			}
		}()
		next, stopIter := iter.Pull(targets)
		defer stopIter()
		batch := make([]netip.Addr, 0, cfg.HostBatch)
		for {
			batch = batch[:0]
			for len(batch) < cfg.HostBatch {
				t, ok := next()
				if !ok {
					break
				}
				a := t.Addr.Unmap()
				if !a.Is4() {
					if first {
						st.Skipped++
						if skipped != nil {
							skipped(t)
						}
					}
					continue
				}
				if first {
					st.Hosts++
					if t.Name != "" {
						mu.Lock()
						names[a] = t
						mu.Unlock()
					}
				}
				if !src.IsValid() {
					s, err := routeSource(a)
					if err != nil {
						return err
					}
					src = s
				}
				batch = append(batch, a)
			}
			if len(batch) == 0 {
				return nil
			}
			for _, port := range cfg.Ports {
				for _, a := range batch {
					if !first {
						a4 := a.As4()
						k := uint64(a4[0])<<40 | uint64(a4[1])<<32 | uint64(a4[2])<<24 | uint64(a4[3])<<16 | uint64(port)
						mu.Lock()
						done := found[k]
						mu.Unlock()
						if done {
							continue
						}
					} else {
						st.Probed++
					}
					snd.add(src, a, sport, port, cookie(key, a, port, sport))
					if snd.full() {
						pool.put(snd)
						if snd, err = pool.get(); err != nil {
							return err
						}
					}
				}
			}
		}
	}
	sendStart := time.Now()
	for i := 0; i <= cfg.Retries; i++ {
		if err = pass(i == 0); err != nil {
			break
		}
		if i < cfg.Retries {
			// Let the answers to this pass come in before the next.
			sleep(ctx, min(cfg.Wait, 200*time.Millisecond))
		}
	}
	st.SendTime = time.Since(sendStart)
	st.Sent = int(pool.sent.Load())
	if err == nil {
		sleep(ctx, cfg.Wait)
	}
	close(stop)
	wg.Wait()
	st.Elapsed = time.Since(start)
	if st.SendTime > 0 {
		st.SendRate = float64(st.Sent) / st.SendTime.Seconds()
	}
	if st.Elapsed > 0 {
		st.Rate = float64(st.Probed) / st.Elapsed.Seconds()
	}
	if cfg.Progress != nil {
		cfg.Progress(st)
	}
	if err == nil {
		err = ctx.Err()
	}
	return st, err
}

// pacer spaces batches so the SYNs leave at the configured rate: each
// batch waits for its due time (start + sent/rate), so an oversleep is
// made up by the next batches; after a stall of more than 100ms the
// schedule restarts instead of bursting. The senders share it.
type pacer struct {
	rate  float64
	mu    sync.Mutex
	start time.Time
	sent  float64
}

func (p *pacer) wait(ctx context.Context, n int) {
	if p.rate <= 0 {
		return
	}
	p.mu.Lock()
	now := time.Now()
	if p.start.IsZero() {
		p.start = now
	}
	due := p.start.Add(time.Duration(p.sent / p.rate * float64(time.Second)))
	if late := now.Sub(due); late > 100*time.Millisecond {
		p.start, p.sent = now, 0
		due = now
	}
	p.sent += float64(n)
	p.mu.Unlock()
	if d := due.Sub(now); d > 0 {
		sleep(ctx, d)
	}
}

// sendBatch sends the queued SYNs within the rate.
func sendBatch(ctx context.Context, s *sender, p *pacer) error {
	if s.n == 0 {
		return nil
	}
	p.wait(ctx, s.n)
	return s.flush(ctx)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// routeSource is the address the kernel sends to a from (a connected UDP
// socket sends nothing).
func routeSource(a netip.Addr) (netip.Addr, error) {
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, 9)))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("synscan: no route to %s: %w", a, err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap(), nil
}

// senders is how many raw sockets send at once: on a veth or a fast NIC
// the kernel's work for each SYN runs on the sending CPU, so one socket
// per core (at most four) is what keeps the send rate up.
func senders() int { return min(max(runtime.GOMAXPROCS(0), 1), 4) }

// sendPool is n senders, each with its own raw socket and goroutine: the
// scan fills one sender's batch while the others are in sendmmsg.
type sendPool struct {
	ctx         context.Context
	n           int
	free, ready chan *sender
	all         []*sender
	wg          sync.WaitGroup
	sent        atomic.Int64
	mu          sync.Mutex
	err         error
}

func newSendPool(ctx context.Context, n, batch int, pace *pacer) (*sendPool, error) {
	p := &sendPool{ctx: ctx, n: n, free: make(chan *sender, n), ready: make(chan *sender, n)}
	for range n {
		s, err := newSender(batch)
		if err != nil {
			for _, o := range p.all {
				o.close()
			}
			return nil, err
		}
		p.all = append(p.all, s)
		p.free <- s
	}
	p.wg.Add(n)
	for range n {
		go func() {
			defer p.wg.Done()
			for s := range p.ready {
				k := s.n
				if err := sendBatch(ctx, s, pace); err != nil {
					p.fail(err)
				} else {
					p.sent.Add(int64(k))
				}
				s.n = 0
				p.free <- s
			}
		}()
	}
	return p, nil
}

func (p *sendPool) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		p.err = err
	}
}

func (p *sendPool) failed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// get takes a sender with an empty batch, or the first send error.
func (p *sendPool) get() (*sender, error) {
	if err := p.failed(); err != nil {
		return nil, err
	}
	select {
	case s := <-p.free:
		return s, nil
	case <-p.ctx.Done():
		return nil, p.ctx.Err()
	}
}

// put hands a sender's batch to be sent (an empty one goes back as it is).
func (p *sendPool) put(s *sender) {
	if s == nil {
		return
	}
	if s.n == 0 {
		p.free <- s
		return
	}
	p.ready <- s
}

// drain waits until every batch handed over has been sent.
func (p *sendPool) drain() error {
	held := make([]*sender, 0, p.n)
	for len(held) < p.n {
		held = append(held, <-p.free)
	}
	for _, s := range held {
		p.free <- s
	}
	return p.failed()
}

func (p *sendPool) close() {
	close(p.ready)
	p.wg.Wait()
	for _, s := range p.all {
		s.close()
	}
}
