package rpz

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Time limits of a connection: a secondary sends its request at once,
// and a transfer message that the peer does not take in writeTimeout
// ends the transfer.
const (
	idleTimeout  = 10 * time.Second
	writeTimeout = 30 * time.Second
)

// ListenAndServe serves the zones on addr (host:port) over TCP and UDP
// until ctx ends. It does not run the update loop (Run).
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("rpz: listen tcp %s: %w", addr, err)
	}
	pc, err := net.ListenPacket("udp", ln.Addr().String())
	if err != nil {
		ln.Close()
		return fmt.Errorf("rpz: listen udp %s: %w", addr, err)
	}
	return s.Serve(ctx, ln, pc)
}

// Serve answers on ln (TCP: SOA, AXFR, IXFR) and pc (UDP: SOA, and IXFR
// with the current SOA only; nil: no UDP) until ctx ends, then closes
// both and waits for the connections it serves.
func (s *Server) Serve(ctx context.Context, ln net.Listener, pc net.PacketConn) error {
	var wg sync.WaitGroup
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		if pc != nil {
			pc.Close()
		}
	})
	defer stop()
	if pc != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveUDP(pc)
		}()
	}
	var conns sync.Map
	defer func() {
		conns.Range(func(k, _ any) bool {
			k.(net.Conn).Close()
			return true
		})
		wg.Wait()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return fmt.Errorf("rpz: accept: %w", err)
		}
		select {
		case s.conns <- struct{}{}:
		default:
			c.Close() // too many at once: the secondary retries
			continue
		}
		conns.Store(c, true)
		wg.Add(1)
		go func() {
			defer func() {
				conns.Delete(c)
				c.Close()
				<-s.conns
				wg.Done()
			}()
			s.serveTCP(c)
		}()
	}
}

// serveTCP answers the requests of one connection, one after another,
// until the peer closes it or is idle.
func (s *Server) serveTCP(c net.Conn) {
	src := addrOf(c.RemoteAddr())
	var lenBuf [2]byte
	req := make([]byte, maxRequest)
	send := func(b []byte) error {
		c.SetWriteDeadline(time.Now().Add(writeTimeout))
		_, err := c.Write(b)
		return err
	}
	for {
		c.SetReadDeadline(time.Now().Add(idleTimeout))
		if _, err := io.ReadFull(c, lenBuf[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(lenBuf[:]))
		if n < 12 || n > maxRequest {
			return
		}
		if _, err := io.ReadFull(c, req[:n]); err != nil {
			return
		}
		if err := s.serve(req[:n], src, true, send); err != nil {
			s.o.Logger.Debug("rpz: answer", "to", src, "err", err)
			return
		}
	}
}

// serveUDP answers datagrams until pc is closed.
func (s *Server) serveUDP(pc net.PacketConn) {
	buf := make([]byte, maxRequest+1)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			// A transient error (ICMP unreachable echoed back): go on.
			time.Sleep(time.Millisecond)
			continue
		}
		if n > maxRequest {
			continue
		}
		send := func(b []byte) error {
			if len(b)-2 > 512 {
				return errors.New("rpz: UDP answer too long")
			}
			_, err := pc.WriteTo(b[2:], from)
			return err
		}
		if err := s.serve(buf[:n], addrOf(from), false, send); err != nil {
			s.o.Logger.Debug("rpz: answer", "to", from, "err", err)
		}
	}
}

// addrOf is the address of a peer.
func addrOf(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case *net.UDPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}
