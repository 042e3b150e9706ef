package portscan

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
)

// dialEngine makes each attempt in its own goroutine through a dial
// function. Results come back on a channel large enough for every attempt
// that can be in flight, so a goroutine never blocks after the scan ends.
type dialEngine struct {
	dial    func(ctx context.Context, network, address string) (net.Conn, error)
	ctx     context.Context
	cancel  context.CancelFunc
	results chan outcome
	n       int
	timer   *time.Timer
}

func newDialEngine(dial func(ctx context.Context, network, address string) (net.Conn, error), concurrency int) *dialEngine {
	ctx, cancel := context.WithCancel(context.Background())
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &dialEngine{dial: dial, ctx: ctx, cancel: cancel, results: make(chan outcome, concurrency+1), timer: t}
}

func (e *dialEngine) inflight() int { return e.n }

func (e *dialEngine) start(p probe) error {
	e.n++
	go func() {
		ctx, cancel := context.WithTimeout(e.ctx, p.timeout)
		defer cancel()
		addr := netip.AddrPortFrom(p.h.t.Addr, p.port).String()
		p.start = time.Now()
		c, err := e.dial(ctx, "tcp", addr)
		rtt := time.Since(p.start)
		o := outcome{p: p, rtt: rtt, err: err}
		if err == nil {
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			_ = c.Close()
			o.res = resOpen
		} else {
			o.res = classifyDialError(ctx, err)
		}
		e.results <- o
	}()
	return nil
}

func classifyDialError(ctx context.Context, err error) result {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
		return resClosed
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE), errors.Is(err, syscall.EADDRNOTAVAIL),
		errors.Is(err, syscall.ENOBUFS), errors.Is(err, syscall.ENOMEM):
		return resLocal
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout(), ctx.Err() != nil:
		return resTimeout
	}
	return resUnreachable
}

func (e *dialEngine) wait(d time.Duration, out []outcome) []outcome {
	select {
	case o := <-e.results:
		out = append(out, o)
	default:
		if d <= 0 {
			return out
		}
		e.timer.Reset(d)
		select {
		case o := <-e.results:
			out = append(out, o)
		case <-e.timer.C:
		}
		e.timer.Stop()
	}
	for {
		select {
		case o := <-e.results:
			out = append(out, o)
		default:
			e.n -= len(out)
			return out
		}
	}
}

func (e *dialEngine) close() { e.cancel() }
