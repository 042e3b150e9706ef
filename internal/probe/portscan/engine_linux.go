package portscan

import (
	"container/heap"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"
)

// ipBindAddressNoPort (IP_BIND_ADDRESS_NO_PORT, Linux 4.2) defers the
// choice of the local port of a bound socket to connect(), so binding a
// source address does not reserve a port for every socket.
const ipBindAddressNoPort = 24

// socketEngine drives non-blocking connect()s through epoll from the
// scanner's goroutine: socket, connect, wait for writability, read
// SO_ERROR, close. No goroutine, runtime poller or timer per probe.
type socketEngine struct {
	epfd   int
	slots  []slot // indexed by descriptor
	n      int
	timers timerHeap
	ready  []outcome
	events []syscall.EpollEvent
	src4   *syscall.SockaddrInet4
	src6   *syscall.SockaddrInet6
}

type slot struct {
	p      probe
	gen    uint32
	active bool
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

func (e *socketEngine) inflight() int { return e.n }

func (e *socketEngine) start(p probe) error {
	addr := p.h.t.Addr
	family := syscall.AF_INET6
	var sa syscall.Sockaddr
	if addr.Is4() {
		family = syscall.AF_INET
		sa = &syscall.SockaddrInet4{Port: int(p.port), Addr: addr.As4()}
	} else {
		sa = &syscall.SockaddrInet6{Port: int(p.port), Addr: addr.As16()}
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, syscall.IPPROTO_TCP)
	if err != nil {
		if isLocal(err) {
			return err
		}
		e.ready = append(e.ready, outcome{p: p, res: resUnreachable, err: err})
		return nil
	}
	// Linger 0: close() resets an established connection instead of
	// closing it gracefully, so no TIME_WAIT on either side.
	_ = syscall.SetsockoptLinger(fd, syscall.SOL_SOCKET, syscall.SO_LINGER, &syscall.Linger{Onoff: 1, Linger: 0})
	if err := e.bindSource(fd, addr.Is4()); err != nil {
		syscall.Close(fd)
		if isLocal(err) {
			return err
		}
		e.ready = append(e.ready, outcome{p: p, res: resUnreachable, err: err})
		return nil
	}
	p.start = time.Now()
	err = syscall.Connect(fd, sa)
	switch {
	case err == syscall.EINPROGRESS:
		ev := syscall.EpollEvent{Events: syscall.EPOLLOUT, Fd: int32(fd)}
		if err := syscall.EpollCtl(e.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
			syscall.Close(fd)
			return err
		}
		for fd >= len(e.slots) {
			e.slots = append(e.slots, make([]slot, max(64, len(e.slots)))...)
		}
		sl := &e.slots[fd]
		sl.gen++
		sl.p, sl.active = p, true
		heap.Push(&e.timers, timerEntry{deadline: p.start.Add(p.timeout), fd: int32(fd), gen: sl.gen})
		e.n++
		return nil
	case isLocal(err):
		syscall.Close(fd)
		return err
	}
	// Answered inside connect() itself, as loopback often is.
	rtt := time.Since(p.start)
	syscall.Close(fd)
	e.ready = append(e.ready, outcome{p: p, res: classifyErrno(err), rtt: rtt, err: err})
	return nil
}

func (e *socketEngine) bindSource(fd int, v4 bool) error {
	switch {
	case e.src4 == nil && e.src6 == nil:
		return nil
	case v4 && e.src4 == nil, !v4 && e.src6 == nil:
		return errors.New("portscan: the source address is of the other family")
	}
	if v4 {
		_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
		return syscall.Bind(fd, e.src4)
	}
	_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
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
	case nil, syscall.EISCONN:
		return resOpen
	case syscall.ECONNREFUSED, syscall.ECONNRESET:
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
	// epoll_wait counts milliseconds; round up so a deadline is never
	// checked early, and zero stays a poll.
	ms := int((d + time.Millisecond - 1) / time.Millisecond)
	if e.n == 0 && len(e.ready) == 0 {
		if d > 0 {
			time.Sleep(d)
		}
		ms = 0
	}
	if e.n > 0 || ms == 0 {
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
			soerr, gerr := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_ERROR)
			var res result
			var cause error
			switch {
			case gerr != nil:
				res, cause = resUnreachable, gerr
			case soerr == 0 && ev.Events&(syscall.EPOLLERR|syscall.EPOLLHUP) == 0:
				res = resOpen
			case soerr == 0:
				res, cause = resClosed, syscall.ECONNRESET
			default:
				cause = syscall.Errno(soerr)
				res = classifyErrno(cause)
			}
			out = append(out, outcome{p: sl.p, res: res, rtt: now.Sub(sl.p.start), err: cause})
			e.release(fd)
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
		out = append(out, outcome{p: sl.p, res: resTimeout, rtt: now.Sub(sl.p.start), err: syscall.ETIMEDOUT})
		e.release(int(t.fd))
	}
	return out
}

// release closes a descriptor in flight; closing also removes it from the
// epoll set.
func (e *socketEngine) release(fd int) {
	sl := &e.slots[fd]
	sl.active = false
	sl.p = probe{}
	e.n--
	syscall.Close(fd)
}

func (e *socketEngine) close() {
	for fd := range e.slots {
		if e.slots[fd].active {
			e.release(fd)
		}
	}
	e.timers = nil
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
