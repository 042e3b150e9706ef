package syslog

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rampart-cert/rampart/internal/sensor"
)

// Server receives syslog messages over UDP (one message per datagram, or
// several separated by newlines) and TCP (RFC 6587: newline-delimited or
// octet-counted frames, detected per frame) and hands every
// authentication failure to Handle.
type Server struct {
	Parser Parser
	// Handle receives each event; it is called from one goroutine per
	// TCP connection and one for UDP, so it must be safe for concurrent
	// use. The event is the callee's.
	Handle func(*sensor.Event)
	// MaxMessage caps a message (default and at most MaxLine); a longer
	// TCP frame closes its connection, a longer datagram is dropped.
	MaxMessage int
	// IdleTimeout closes a TCP connection that sends nothing for this
	// long (default 5 minutes).
	IdleTimeout time.Duration
	// MaxConns caps concurrent TCP connections (default 256); more are
	// closed at once.
	MaxConns int

	received, events, dropped atomic.Uint64
}

// Counts is what a Server has seen.
type Counts struct {
	Messages uint64 // messages received
	Events   uint64 // authentication failures handed on
	Dropped  uint64 // messages or connections dropped (too long, too many connections)
}

// Counts returns the counters so far.
func (s *Server) Counts() Counts {
	return Counts{Messages: s.received.Load(), Events: s.events.Load(), Dropped: s.dropped.Load()}
}

func (s *Server) maxMessage() int {
	if s.MaxMessage <= 0 || s.MaxMessage > MaxLine {
		return MaxLine
	}
	return s.MaxMessage
}

// message parses one message and hands on a failure.
func (s *Server) message(b []byte) {
	b = bytes.TrimRight(b, "\r\n\x00")
	if len(b) == 0 {
		return
	}
	s.received.Add(1)
	var ev sensor.Event
	if ok, err := s.Parser.Parse(b, &ev); err != nil {
		s.dropped.Add(1)
	} else if ok {
		s.events.Add(1)
		if s.Handle != nil {
			s.Handle(&ev)
		}
	}
}

// pollInterval is how often a blocked read wakes to look at the context.
const pollInterval = 500 * time.Millisecond

// ServeUDP reads datagrams from conn until ctx is done (then it returns
// nil) or the connection fails. It does not close conn.
func (s *Server) ServeUDP(ctx context.Context, conn net.PacketConn) error {
	buf := make([]byte, s.maxMessage()+1)
	for {
		if ctx.Err() != nil {
			return nil
		}
		if err := conn.SetReadDeadline(time.Now().Add(pollInterval)); err != nil {
			return err
		}
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if n > s.maxMessage() {
			s.dropped.Add(1)
			continue
		}
		for msg := range bytes.SplitSeq(buf[:n], []byte("\n")) {
			s.message(msg)
		}
	}
}

// ServeTCP accepts connections on ln until ctx is done (then it closes ln
// and waits for its connections to end) or accepting fails.
func (s *Server) ServeTCP(ctx context.Context, ln net.Listener) error {
	maxConns := s.MaxConns
	if maxConns <= 0 {
		maxConns = 256
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
	)
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	defer stop()
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		mu.Lock()
		if len(conns) >= maxConns || ctx.Err() != nil {
			mu.Unlock()
			s.dropped.Add(1)
			c.Close()
			continue
		}
		conns[c] = struct{}{}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveConn(c)
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
			c.Close()
		}()
	}
}

// serveConn reads frames from one connection until it ends, idles out or
// sends a frame over the cap.
func (s *Server) serveConn(c net.Conn) {
	idle := s.IdleTimeout
	if idle <= 0 {
		idle = 5 * time.Minute
	}
	limit := s.maxMessage()
	r := bufio.NewReaderSize(c, 16<<10)
	buf := make([]byte, 0, 4096)
	for {
		if err := c.SetReadDeadline(time.Now().Add(idle)); err != nil {
			return
		}
		first, err := r.Peek(1)
		if err != nil {
			return
		}
		if n, ok := octetCount(r, first[0]); ok {
			// Octet counting: "LEN SP MSG".
			if n > limit {
				s.dropped.Add(1)
				return
			}
			buf = buf[:n]
			if _, err := io.ReadFull(r, buf); err != nil {
				return
			}
			s.message(buf)
			continue
		}
		// Newline-delimited.
		buf = buf[:0]
		for {
			chunk, err := r.ReadSlice('\n')
			if len(buf)+len(chunk) > limit+1 {
				s.dropped.Add(1)
				return
			}
			buf = append(buf, chunk...)
			if err == nil {
				break
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			if len(buf) > 0 {
				s.message(buf) // the last message, without its newline
			}
			return
		}
		s.message(buf)
	}
}

// octetCount reads an RFC 6587 octet count ("LEN SP") if the frame
// starts with one, looking ahead so a newline-delimited message that
// starts with digits (an access-log line) is left alone.
func octetCount(r *bufio.Reader, first byte) (int, bool) {
	if first < '1' || first > '9' {
		return 0, false
	}
	for i := 2; i <= 8; i++ {
		pk, err := r.Peek(i)
		if err != nil {
			return 0, false
		}
		c := pk[i-1]
		if c == ' ' {
			n, _ := atoi(pk[:i-1])
			r.Discard(i)
			return n, true
		}
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	return 0, false
}
