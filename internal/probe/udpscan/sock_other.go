//go:build !linux

package udpscan

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
)

// udpSock is a plain UDP socket: without Linux's IP_RECVERR an
// unconnected socket never hears of ICMP errors, so on this system closed
// ports are reported open|filtered.
type udpSock struct {
	c  *net.UDPConn
	v6 bool
}

func openSocket(v6 bool, src netip.Addr) (*udpSock, error) {
	network, laddr := "udp4", &net.UDPAddr{}
	if v6 {
		network = "udp6"
	}
	if src.IsValid() && src.Is4() != v6 {
		laddr.IP = src.AsSlice()
	}
	c, err := net.ListenUDP(network, laddr)
	if err != nil {
		return nil, fmt.Errorf("udpscan: listen: %w", err)
	}
	return &udpSock{c: c, v6: v6}, nil
}

func (u *udpSock) send(b []byte, to netip.AddrPort) error {
	_, err := u.c.WriteToUDPAddrPort(b, to)
	return err
}

func (u *udpSock) close() { u.c.Close() }

func temporary(err error) bool {
	return errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.ENOBUFS)
}

type receiver struct {
	s  *scanner
	mu sync.Mutex
	wg sync.WaitGroup
	us []*udpSock
}

func newReceiver(s *scanner) (*receiver, error) { return &receiver{s: s}, nil }

func (r *receiver) add(u *udpSock) error {
	r.mu.Lock()
	r.us = append(r.us, u)
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		buf := make([]byte, 65536)
		for {
			n, from, err := u.c.ReadFromUDPAddrPort(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			r.s.reply(from, buf[:n])
		}
	}()
	return nil
}

func (r *receiver) stop() {
	r.mu.Lock()
	for _, u := range r.us {
		u.c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}
