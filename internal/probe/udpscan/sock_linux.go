//go:build linux

package udpscan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"syscall"
)

// Linux socket options not in package syscall.
const (
	ipRecvErr       = 11 // IP_RECVERR
	ipv6RecvErr     = 25 // IPV6_RECVERR
	soRcvBufForce   = 33 // SO_RCVBUFFORCE (needs CAP_NET_ADMIN)
	soEEOriginICMP  = 2
	soEEOriginICMP6 = 3
	rcvBuf          = 8 << 20
)

// udpSock is an unconnected, non-blocking UDP socket with IP_RECVERR: the
// kernel queues every ICMP error about a datagram it sent on the socket's
// error queue, with the datagram's destination, so one socket serves any
// number of targets and still learns which port was closed.
type udpSock struct {
	fd int
	v6 bool
}

func openSocket(v6 bool, src netip.Addr) (*udpSock, error) {
	family, level, opt := syscall.AF_INET, syscall.IPPROTO_IP, ipRecvErr
	if v6 {
		family, level, opt = syscall.AF_INET6, syscall.IPPROTO_IPV6, ipv6RecvErr
	}
	fd, err := syscall.Socket(family, syscall.SOCK_DGRAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, syscall.IPPROTO_UDP)
	if err != nil {
		return nil, fmt.Errorf("udpscan: socket: %w", err)
	}
	u := &udpSock{fd: fd, v6: v6}
	if err := syscall.SetsockoptInt(fd, level, opt, 1); err != nil {
		u.close()
		return nil, fmt.Errorf("udpscan: IP_RECVERR: %w", err)
	}
	if v6 {
		_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_IPV6, syscall.IPV6_V6ONLY, 1)
	}
	if syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, soRcvBufForce, rcvBuf) != nil {
		_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvBuf)
	}
	var sa syscall.Sockaddr = &syscall.SockaddrInet4{}
	if v6 {
		sa = &syscall.SockaddrInet6{}
	}
	if src.IsValid() && src.Is4() != v6 {
		sa = sockaddr(netip.AddrPortFrom(src, 0))
	}
	if err := syscall.Bind(fd, sa); err != nil {
		u.close()
		return nil, fmt.Errorf("udpscan: bind: %w", err)
	}
	return u, nil
}

func sockaddr(ap netip.AddrPort) syscall.Sockaddr {
	if ap.Addr().Is4() {
		return &syscall.SockaddrInet4{Addr: ap.Addr().As4(), Port: int(ap.Port())}
	}
	return &syscall.SockaddrInet6{Addr: ap.Addr().As16(), Port: int(ap.Port())}
}

func addrPort(sa syscall.Sockaddr) (netip.AddrPort, bool) {
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port)), true
	case *syscall.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr).Unmap(), uint16(a.Port)), true
	}
	return netip.AddrPort{}, false
}

// send sends one datagram. An ICMP error about an earlier datagram is
// also left as the socket's pending error (sk_err), which a send returns
// instead of sending, clearing it; at a high rate another may come in
// before the next try. Such a send is tried again, so only a real failure
// (no route, a local firewall) is returned.
func (u *udpSock) send(b []byte, to netip.AddrPort) error {
	sa := sockaddr(to)
	var err error
	for try := 0; try < 32; try++ {
		err = syscall.Sendto(u.fd, b, 0, sa)
		if err == nil || temporary(err) || !icmpErrno(err) {
			return err
		}
	}
	return err
}

// icmpErrno reports the errors an ICMP message leaves on a socket.
func icmpErrno(err error) bool {
	for _, e := range []syscall.Errno{syscall.ECONNREFUSED, syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.EPROTO, syscall.EACCES, syscall.EHOSTDOWN, syscall.ENONET, syscall.EMSGSIZE} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func (u *udpSock) close() { syscall.Close(u.fd) }

// temporary reports a send that may succeed later (a full buffer).
func temporary(err error) bool {
	return errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}

// receiver reads replies and queued ICMP errors of every socket of a
// scan from one goroutine blocked in epoll_wait.
type receiver struct {
	s     *scanner
	epfd  int
	mu    sync.Mutex
	socks map[int]*udpSock
	quit  chan struct{}
	wg    sync.WaitGroup
	// stopfd wakes epoll_wait when the scan ends.
	stopfd [2]int
}

func newReceiver(s *scanner) (*receiver, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("udpscan: epoll: %w", err)
	}
	r := &receiver{s: s, epfd: epfd, socks: map[int]*udpSock{}, quit: make(chan struct{})}
	if err := syscall.Pipe2(r.stopfd[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		syscall.Close(epfd)
		return nil, fmt.Errorf("udpscan: pipe: %w", err)
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(r.stopfd[0])}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, r.stopfd[0], &ev); err != nil {
		r.closeFDs()
		return nil, fmt.Errorf("udpscan: epoll: %w", err)
	}
	r.wg.Add(1)
	go r.loop()
	return r, nil
}

func (r *receiver) closeFDs() {
	syscall.Close(r.stopfd[0])
	syscall.Close(r.stopfd[1])
	syscall.Close(r.epfd)
}

func (r *receiver) add(u *udpSock) error {
	r.mu.Lock()
	r.socks[u.fd] = u
	r.mu.Unlock()
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLERR, Fd: int32(u.fd)}
	if err := syscall.EpollCtl(r.epfd, syscall.EPOLL_CTL_ADD, u.fd, &ev); err != nil {
		return fmt.Errorf("udpscan: epoll: %w", err)
	}
	return nil
}

// stop ends the goroutine; the sockets are the scanner's to close.
func (r *receiver) stop() {
	close(r.quit)
	syscall.Write(r.stopfd[1], []byte{1})
	r.wg.Wait()
	r.closeFDs()
}

func (r *receiver) loop() {
	defer r.wg.Done()
	events := make([]syscall.EpollEvent, 64)
	buf := make([]byte, 65536)
	oob := make([]byte, 512)
	for {
		n, err := syscall.EpollWait(r.epfd, events, 100)
		select {
		case <-r.quit:
			return
		default:
		}
		if err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			return
		}
		for _, ev := range events[:n] {
			r.mu.Lock()
			u := r.socks[int(ev.Fd)]
			r.mu.Unlock()
			if u != nil {
				r.drain(u, buf, oob)
			}
		}
	}
}

// drain reads every datagram and every queued error of u.
func (r *receiver) drain(u *udpSock, buf, oob []byte) {
	for errs := 0; errs < 64; {
		n, _, _, from, err := syscall.Recvmsg(u.fd, buf, nil, syscall.MSG_DONTWAIT)
		if err != nil {
			if errors.Is(err, syscall.EAGAIN) {
				break
			}
			errs++ // the socket's pending ICMP error, read out; details follow on the error queue
			continue
		}
		if ap, ok := addrPort(from); ok {
			r.s.reply(ap, buf[:n])
		}
	}
	for i := 0; i < 4096; i++ {
		_, oobn, _, from, err := syscall.Recvmsg(u.fd, buf, oob, syscall.MSG_ERRQUEUE|syscall.MSG_DONTWAIT)
		if err != nil {
			break
		}
		dst, ok := addrPort(from)
		if !ok {
			continue
		}
		if typ, code, ok := parseRecvErr(oob[:oobn], u.v6); ok {
			r.s.icmp(dst, u.v6, typ, code)
		}
	}
}

// parseRecvErr finds the ICMP type and code in an IP_RECVERR or
// IPV6_RECVERR control message (struct sock_extended_err).
func parseRecvErr(oob []byte, v6 bool) (typ, code uint8, ok bool) {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, 0, false
	}
	for _, m := range msgs {
		isErr := (m.Header.Level == syscall.IPPROTO_IP && m.Header.Type == ipRecvErr) ||
			(m.Header.Level == syscall.IPPROTO_IPV6 && m.Header.Type == ipv6RecvErr)
		if !isErr || len(m.Data) < 16 {
			continue
		}
		_ = binary.NativeEndian.Uint32(m.Data) // ee_errno
		origin := m.Data[4]
		if (v6 && origin != soEEOriginICMP6) || (!v6 && origin != soEEOriginICMP) {
			continue
		}
		return m.Data[5], m.Data[6], true
	}
	return 0, 0, false
}
