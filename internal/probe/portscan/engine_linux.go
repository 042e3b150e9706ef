//go:build linux && !386

package portscan

import (
	"container/heap"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
	"unsafe"
)

// ipBindAddressNoPort (IP_BIND_ADDRESS_NO_PORT, Linux 4.2) defers the
// choice of the local port of a bound socket to connect(), so binding a
// source address does not reserve a port for every socket.
const ipBindAddressNoPort = 24

// socketEngine drives non-blocking connect()s through epoll from the
// scanner's goroutine, with no goroutine, runtime poller or timer per probe.
//
// Sockets are reused. On Linux a TCP socket whose connection attempt ended
// can connect again, and connect() itself is the cheapest way to learn how
// an attempt ended: called again on a socket in progress it returns
// EALREADY while the SYN is unanswered, the error (ECONNREFUSED) after a
// reset — and returns the socket to the unconnected state — or success
// once the handshake is complete. A connected socket is reset with
// connect(AF_UNSPEC), which sends an RST like a close with linger 0. So a
// closed port costs two connect() calls and nothing else, instead of
// socket, setsockopt, connect, epoll_ctl, getsockopt and close; loopback and
// other fast paths often answer before the first connect() returns. Only a
// timed-out socket is closed, since its late answer could still arrive.
type socketEngine struct {
	epfd   int
	slots  []slot // indexed by descriptor
	n      int
	idle4  []int
	idle6  []int
	timers timerHeap
	ready  []outcome
	events []syscall.EpollEvent
	src4   *syscall.SockaddrInet4
	src6   *syscall.SockaddrInet6
}

type slot struct {
	p          probe
	gen        uint32
	active     bool
	registered bool // in the epoll set
}

type timerEntry struct {
	deadline time.Time
	fd       int32
	gen      uint32
}

func newSocketEngine(cfg Config) (engine, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("portscan: epoll: %w", err)
	}
	e := &socketEngine{epfd: epfd, events: make([]syscall.EpollEvent, 512)}
	if a := cfg.SourceAddr; a.IsValid() {
		if a.Is4() {
			e.src4 = &syscall.SockaddrInet4{Addr: a.As4()}
		} else {
			e.src6 = &syscall.SockaddrInet6{Addr: a.As16()}
			if z := a.Zone(); z != "" {
				ifi, err := net.InterfaceByName(z)
				if err != nil {
					syscall.Close(epfd)
					return nil, fmt.Errorf("%w: source address zone %q: %v", ErrConfig, z, err)
				}
				e.src6.ZoneId = uint32(ifi.Index)
			}
		}
	}
	return e, nil
}

func (e *socketEngine) inflight() int { return e.n + len(e.ready) }

// rawAddr is a sockaddr_in or sockaddr_in6 built on the stack.
type rawAddr struct {
	buf [syscall.SizeofSockaddrInet6]byte
	len uintptr
}

func makeRawAddr(a netip.Addr, port uint16) rawAddr {
	var r rawAddr
	if a.Is4() {
		sa := (*syscall.RawSockaddrInet4)(unsafe.Pointer(&r.buf))
		sa.Family = syscall.AF_INET
		sa.Addr = a.As4()
		r.len = syscall.SizeofSockaddrInet4
	} else {
		sa := (*syscall.RawSockaddrInet6)(unsafe.Pointer(&r.buf))
		sa.Family = syscall.AF_INET6
		sa.Addr = a.As16()
		r.len = syscall.SizeofSockaddrInet6
	}
	r.buf[2], r.buf[3] = byte(port>>8), byte(port) // network order
	return r
}

func connectRaw(fd int, r *rawAddr) error {
	_, _, errno := syscall.RawSyscall(syscall.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&r.buf)), r.len)
	if errno != 0 {
		return errno
	}
	return nil
}

// disconnect resets a socket to the unconnected state; an established
// connection gets an RST.
func disconnect(fd int) error {
	sa := syscall.RawSockaddr{Family: syscall.AF_UNSPEC}
	_, _, errno := syscall.RawSyscall(syscall.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))
	if errno != 0 {
		return errno
	}
	return nil
}

func (e *socketEngine) socket(v4 bool) (int, error) {
	idle := &e.idle6
	if v4 {
		idle = &e.idle4
	}
	if n := len(*idle); n > 0 {
		fd := (*idle)[n-1]
		*idle = (*idle)[:n-1]
		return fd, nil
	}
	family := syscall.AF_INET6
	if v4 {
		family = syscall.AF_INET
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, syscall.IPPROTO_TCP)
	if err != nil {
		return -1, err
	}
	// Linger 0: closing a connected socket resets it instead of closing it
	// gracefully, so no TIME_WAIT on either side.
	_ = syscall.SetsockoptLinger(fd, syscall.SOL_SOCKET, syscall.SO_LINGER, &syscall.Linger{Onoff: 1, Linger: 0})
	if err := e.bindSource(fd, v4); err != nil {
		syscall.Close(fd)
		return -1, err
	}
	for fd >= len(e.slots) {
		e.slots = append(e.slots, make([]slot, max(64, len(e.slots)))...)
	}
	e.slots[fd].registered = false
	return fd, nil
}

// recycle returns an unconnected socket to the idle pool.
func (e *socketEngine) recycle(fd int, v4 bool) {
	if v4 {
		e.idle4 = append(e.idle4, fd)
	} else {
		e.idle6 = append(e.idle6, fd)
	}
}

func (e *socketEngine) destroy(fd int) {
	e.slots[fd].registered = false
	syscall.Close(fd)
}

func (e *socketEngine) start(p probe) error {
	addr := p.h.t.Addr
	v4 := addr.Is4()
	fd, err := e.socket(v4)
	if err != nil {
		if isLocal(err) {
			return err
		}
		e.ready = append(e.ready, outcome{p: p, res: resUnreachable, err: err})
		return nil
	}
	ra := makeRawAddr(addr, p.port)
	p.start = time.Now()
	err = connectRaw(fd, &ra)
	if err == syscall.EINPROGRESS {
		// Fast networks (loopback above all) have often answered already.
		err = connectRaw(fd, &ra)
		if err == syscall.EALREADY || err == syscall.EINPROGRESS {
			if aerr := e.arm(fd); aerr != nil {
				e.destroy(fd)
				return aerr
			}
			sl := &e.slots[fd]
			sl.gen++
			sl.p, sl.active = p, true
			heap.Push(&e.timers, timerEntry{deadline: p.start.Add(p.timeout), fd: int32(fd), gen: sl.gen})
			e.n++
			return nil
		}
	}
	if isLocal(err) {
		e.recycle(fd, v4)
		return err
	}
	e.ready = append(e.ready, e.finish(fd, p, err, time.Since(p.start)))
	return nil
}

// arm asks epoll for one notification when the attempt on fd ends.
func (e *socketEngine) arm(fd int) error {
	ev := syscall.EpollEvent{Events: syscall.EPOLLOUT | syscall.EPOLLONESHOT, Fd: int32(fd)}
	op := syscall.EPOLL_CTL_MOD
	if !e.slots[fd].registered {
		op = syscall.EPOLL_CTL_ADD
	}
	if err := syscall.EpollCtl(e.epfd, op, fd, &ev); err != nil {
		return err
	}
	e.slots[fd].registered = true
	return nil
}

// finish turns the result of a status connect() into an outcome and puts
// the socket back in the pool, unconnected.
func (e *socketEngine) finish(fd int, p probe, err error, rtt time.Duration) outcome {
	v4 := p.h.t.Addr.Is4()
	o := outcome{p: p, rtt: rtt, err: err}
	switch err {
	case nil, syscall.EISCONN:
		o.res, o.err = resOpen, nil
		if p.h.t.Addr.IsLoopback() && selfConnected(fd) {
			o.res = resClosed // TCP simultaneous open with itself, not a listener
		}
		if disconnect(fd) != nil {
			e.destroy(fd)
			return o
		}
	case syscall.ECONNRESET, syscall.EPIPE:
		// Reset after the handshake completed: the port is open.
		o.res = resOpen
	default:
		o.res = classifyErrno(err)
	}
	e.recycle(fd, v4)
	return o
}

func selfConnected(fd int) bool {
	la, err1 := syscall.Getsockname(fd)
	ra, err2 := syscall.Getpeername(fd)
	if err1 != nil || err2 != nil {
		return false
	}
	switch l := la.(type) {
	case *syscall.SockaddrInet4:
		r, ok := ra.(*syscall.SockaddrInet4)
		return ok && l.Port == r.Port && l.Addr == r.Addr
	case *syscall.SockaddrInet6:
		r, ok := ra.(*syscall.SockaddrInet6)
		return ok && l.Port == r.Port && l.Addr == r.Addr
	}
	return false
}

func (e *socketEngine) bindSource(fd int, v4 bool) error {
	switch {
	case e.src4 == nil && e.src6 == nil:
		return nil
	case v4 && e.src4 == nil, !v4 && e.src6 == nil:
		return errors.New("portscan: the source address is of the other family")
	}
	_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
	if v4 {
		return syscall.Bind(fd, e.src4)
	}
	return syscall.Bind(fd, e.src6)
}

// isLocal reports errors that mean this machine ran out of something
// (descriptors, ephemeral ports, buffers) rather than an answer.
func isLocal(err error) bool {
	switch err {
	case syscall.EMFILE, syscall.ENFILE, syscall.EADDRNOTAVAIL, syscall.EAGAIN, syscall.ENOBUFS, syscall.ENOMEM, syscall.EADDRINUSE:
		return true
	}
	return false
}

func classifyErrno(err error) result {
	switch err {
	case nil, syscall.EISCONN, syscall.ECONNRESET, syscall.EPIPE:
		return resOpen
	case syscall.ECONNREFUSED:
		return resClosed
	case syscall.ETIMEDOUT:
		return resTimeout
	}
	return resUnreachable
}

func (e *socketEngine) wait(d time.Duration, out []outcome) []outcome {
	if len(e.ready) > 0 {
		d = 0
	}
	if e.timers.Len() > 0 {
		d = min(d, max(0, time.Until(e.timers[0].deadline)))
	}
	if e.n == 0 {
		if d > 0 {
			time.Sleep(d)
		}
	} else {
		// epoll_wait counts milliseconds; round up so a deadline is
		// never checked early, and zero stays a poll.
		ms := int((d + time.Millisecond - 1) / time.Millisecond)
		n, err := syscall.EpollWait(e.epfd, e.events, ms)
		if err != nil {
			n = 0 // EINTR: just look at the timers
		}
		now := time.Now()
		for _, ev := range e.events[:n] {
			fd := int(ev.Fd)
			if fd >= len(e.slots) || !e.slots[fd].active {
				continue
			}
			sl := &e.slots[fd]
			ra := makeRawAddr(sl.p.h.t.Addr, sl.p.port)
			err := connectRaw(fd, &ra)
			if err == syscall.EALREADY {
				// Woken early; wait for the real answer.
				if e.arm(fd) == nil {
					continue
				}
				err = syscall.ETIMEDOUT
			}
			p := sl.p
			sl.active, sl.p = false, probe{}
			e.n--
			if err == syscall.ETIMEDOUT {
				e.destroy(fd)
				out = append(out, outcome{p: p, res: resTimeout, rtt: now.Sub(p.start), err: err})
				continue
			}
			out = append(out, e.finish(fd, p, err, now.Sub(p.start)))
		}
	}
	out = append(out, e.ready...)
	clear(e.ready)
	e.ready = e.ready[:0]
	now := time.Now()
	for e.timers.Len() > 0 && !e.timers[0].deadline.After(now) {
		t := heap.Pop(&e.timers).(timerEntry)
		sl := &e.slots[t.fd]
		if !sl.active || sl.gen != t.gen {
			continue
		}
		p := sl.p
		sl.active, sl.p = false, probe{}
		e.n--
		e.destroy(int(t.fd))
		out = append(out, outcome{p: p, res: resTimeout, rtt: now.Sub(p.start), err: syscall.ETIMEDOUT})
	}
	return out
}

func (e *socketEngine) close() {
	for fd := range e.slots {
		if e.slots[fd].active {
			e.slots[fd].active = false
			e.destroy(fd)
		}
	}
	for _, fd := range e.idle4 {
		syscall.Close(fd)
	}
	for _, fd := range e.idle6 {
		syscall.Close(fd)
	}
	e.idle4, e.idle6, e.timers = nil, nil, nil
	syscall.Close(e.epfd)
}

// timerHeap orders attempts in flight by deadline. Entries of attempts
// that ended are skipped lazily by generation.
type timerHeap []timerEntry

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].deadline.Before(h[j].deadline) }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(timerEntry)) }
func (h *timerHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
