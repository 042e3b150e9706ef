package dns

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Sizes of the UDP path.
const (
	udpBatch      = 64   // packets per recvmmsg/sendmmsg
	udpReadBuf    = 4096 // a larger query is cut and answered FORMERR
	maxUDPMisses  = 8192 // cache misses resolved at once; more are dropped
	tlsHandshake  = 5 * time.Second
	tcpWriteLimit = 5 * time.Second
)

// Start opens the listeners and serves in the background until ctx ends or
// Close is called. With Listen's port 0, UDP takes a free port and TCP the
// same one.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return ErrStarted
	}
	if err := s.listen(); err != nil {
		s.closeListeners()
		return err
	}
	s.started = true
	ctx, s.cancel = context.WithCancel(ctx)
	if s.reports != nil {
		s.wg.Add(1)
		go s.runReporter()
	}
	if s.udpConn != nil {
		n := runtime.GOMAXPROCS(0)
		for i := 0; i < n; i++ {
			s.loops.Add(1)
			go s.serveUDP(ctx, s.udpConn)
		}
	}
	if s.tcpLn != nil {
		s.loops.Add(1)
		go s.acceptLoop(ctx, s.tcpLn, overTCP)
	}
	if s.tlsLn != nil {
		s.loops.Add(1)
		go s.acceptLoop(ctx, s.tlsLn, overTLS)
	}
	go func() {
		<-ctx.Done()
		_ = s.Close()
	}()
	return nil
}

func (s *Server) listen() error {
	if s.cfg.Listen != "" {
		ap, err := netip.ParseAddrPort(s.cfg.Listen)
		if err != nil {
			host, port, err2 := net.SplitHostPort(s.cfg.Listen)
			if err2 != nil {
				return fmt.Errorf("dns: listen %q: %w", s.cfg.Listen, err)
			}
			a, err3 := netip.ParseAddr(host)
			p, err4 := strconv.ParseUint(port, 10, 16)
			if host == "" {
				a, err3 = netip.IPv6Unspecified(), nil
			}
			if err3 != nil || err4 != nil {
				return fmt.Errorf("dns: listen %q: want IP:port", s.cfg.Listen)
			}
			ap = netip.AddrPortFrom(a, uint16(p))
		}
		// With port 0, UDP picks the port and TCP must get the same one;
		// another process may hold it for TCP, so try a few times.
		for try := 0; ; try++ {
			uc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
			if err != nil {
				return fmt.Errorf("dns: listen udp %s: %w", ap, err)
			}
			tl, err := net.Listen("tcp", uc.LocalAddr().(*net.UDPAddr).AddrPort().String())
			if err != nil {
				uc.Close()
				if ap.Port() == 0 && try < 10 {
					continue
				}
				return fmt.Errorf("dns: listen tcp %s: %w", ap, err)
			}
			_ = uc.SetReadBuffer(4 << 20)
			_ = uc.SetWriteBuffer(4 << 20)
			s.udpConn, s.tcpLn = uc, tl
			break
		}
	}
	if s.cfg.TLSListen != "" {
		l, err := net.Listen("tcp", s.cfg.TLSListen)
		if err != nil {
			return fmt.Errorf("dns: listen tls %s: %w", s.cfg.TLSListen, err)
		}
		s.tlsLn = tls.NewListener(l, s.tlsConf)
	}
	return nil
}

func (s *Server) closeListeners() {
	if s.udpConn != nil {
		s.udpConn.Close()
	}
	if s.tcpLn != nil {
		s.tcpLn.Close()
	}
	if s.tlsLn != nil {
		s.tlsLn.Close()
	}
}

// Close stops the listeners, closes open connections, waits for the
// server's goroutines and delivers the queued block reports. It is safe
// to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if !s.started || s.closed {
		s.closed = true
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.cancel()
	s.closeListeners()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.loops.Wait()
	if s.reports != nil {
		close(s.reports)
	}
	s.wg.Wait()
	return nil
}

// batchConn is what ipv4.PacketConn and ipv6.PacketConn have in common.
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// serveUDP reads queries in batches, answers the blocked and cached ones
// in a batch, and hands cache misses to goroutines of their own.
func (s *Server) serveUDP(ctx context.Context, conn *net.UDPConn) {
	defer s.loops.Done()
	var bc batchConn
	if conn.LocalAddr().(*net.UDPAddr).IP.To4() != nil {
		bc = ipv4.NewPacketConn(conn)
	} else {
		bc = ipv6.NewPacketConn(conn)
	}
	in := make([]ipv4.Message, udpBatch)
	out := make([]ipv4.Message, udpBatch)
	bufs := make([][]byte, udpBatch)
	replies := make([][]byte, udpBatch)
	for i := range in {
		bufs[i] = make([]byte, udpReadBuf)
		in[i].Buffers = [][]byte{bufs[i]}
		replies[i] = make([]byte, 0, 1500)
		out[i].Buffers = [][]byte{nil}
	}
	w := &worker{}
	for {
		n, err := bc.ReadBatch(in, 0)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Warn("dns: udp read", "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		now := s.clock()
		k := 0
		for i := 0; i < n; i++ {
			ua, ok := in[i].Addr.(*net.UDPAddr)
			if !ok {
				continue
			}
			client := ua.AddrPort()
			pkt := bufs[i][:in[i].N]
			w.out = replies[i][:0]
			reply, forward := s.answerLocal(w, pkt, client.Addr().Unmap(), overUDP, now)
			if forward {
				s.forwardUDP(ctx, conn, pkt, client, now)
				continue
			}
			if reply == nil {
				continue
			}
			replies[i] = reply // keep a grown buffer
			out[k].Buffers[0] = reply
			out[k].Addr = ua
			k++
		}
		for sent := 0; sent < k; {
			m, err := bc.WriteBatch(out[sent:k], 0)
			if err != nil {
				if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
					s.log.Debug("dns: udp write", "err", err)
				}
				break
			}
			sent += m
		}
	}
}

// forwardUDP resolves a cache miss on a goroutine of its own and sends
// the reply there; beyond maxUDPMisses at once the query is dropped (the
// client asks again).
func (s *Server) forwardUDP(ctx context.Context, conn *net.UDPConn, pkt []byte, client netip.AddrPort, start time.Time) {
	if s.misses.Add(1) > maxUDPMisses {
		s.misses.Add(-1)
		return
	}
	own := append([]byte(nil), pkt...)
	s.loops.Add(1)
	go func() {
		defer s.loops.Done()
		defer s.misses.Add(-1)
		w := workers.Get().(*worker)
		defer workers.Put(w)
		if err := w.q.parse(own); err != nil {
			return
		}
		reply := s.answerForward(ctx, w, own, client.Addr().Unmap(), overUDP, start)
		_, _ = conn.WriteToUDPAddrPort(reply, client)
	}()
}

// acceptLoop serves TCP or TLS connections, at most MaxTCPConns at once.
func (s *Server) acceptLoop(ctx context.Context, ln net.Listener, tr transport) {
	defer s.loops.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		s.mu.Lock()
		if s.closed || len(s.conns) >= s.cfg.MaxTCPConns {
			s.mu.Unlock()
			c.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.loops.Add(1)
		s.mu.Unlock()
		go s.serveConn(ctx, c, tr)
	}
}

// serveConn answers the queries of one TCP or TLS connection in turn
// (RFC 7766: length-prefixed messages, idle timeout).
func (s *Server) serveConn(ctx context.Context, c net.Conn, tr transport) {
	defer s.loops.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	client := netip.Addr{}
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		client = ta.AddrPort().Addr().Unmap()
	}
	if tc, ok := c.(*tls.Conn); ok {
		_ = c.SetDeadline(time.Now().Add(tlsHandshake))
		if err := tc.HandshakeContext(ctx); err != nil {
			return
		}
	}
	w := &worker{out: make([]byte, 0, 4096)}
	pkt := make([]byte, 0, 512)
	var l [2]byte
	for {
		_ = c.SetReadDeadline(time.Now().Add(s.cfg.TCPIdleTimeout))
		if _, err := io.ReadFull(c, l[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(l[:]))
		if n < 12 {
			return
		}
		if cap(pkt) < n {
			pkt = make([]byte, n)
		}
		pkt = pkt[:n]
		if _, err := io.ReadFull(c, pkt); err != nil {
			return
		}
		now := s.clock()
		reply, forward := s.answerLocal(w, pkt, client, tr, now)
		if forward {
			reply = s.answerForward(ctx, w, pkt, client, tr, now)
		}
		if reply == nil {
			return
		}
		out := make([]byte, 2, 2+len(reply))
		binary.BigEndian.PutUint16(out, uint16(len(reply)))
		out = append(out, reply...)
		_ = c.SetWriteDeadline(time.Now().Add(tcpWriteLimit))
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

// Addr returns the bound addresses of the UDP, TCP and TLS listeners
// after Start (invalid for a listener that is not open).
func (s *Server) Addr() (udp, tcp, tls netip.AddrPort) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.udpConn != nil {
		udp = s.udpConn.LocalAddr().(*net.UDPAddr).AddrPort()
	}
	if s.tcpLn != nil {
		tcp = s.tcpLn.Addr().(*net.TCPAddr).AddrPort()
	}
	if s.tlsLn != nil {
		tls = s.tlsLn.Addr().(*net.TCPAddr).AddrPort()
	}
	return udp, tcp, tls
}
