package tlsprobe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"time"
)

// Dialer opens a connection; check.Env.Dial fits.
type Dialer func(ctx context.Context, network, addr string) (net.Conn, error)

// Options bound one probe.
type Options struct {
	// Timeout bounds the whole exchange (dial, write, read); default 5s.
	Timeout time.Duration
	// MaxRead caps the bytes read from the server; default 256 KiB.
	MaxRead int64
	// Certificates asks the probe to read on past the ServerHello to the
	// Certificate message (TLS 1.2 and older send it in the clear).
	Certificates bool
}

// Outcome is how the server answered a ClientHello.
type Outcome int

// The outcomes.
const (
	OutcomeHello   Outcome = iota // a ServerHello (or HelloRetryRequest)
	OutcomeAlert                  // an alert: the server refused
	OutcomeClosed                 // the server closed or reset the connection
	OutcomeTimeout                // no answer before the deadline
	OutcomeGarbage                // bytes that are not TLS (or malformed TLS)
)

func (o Outcome) String() string {
	return [...]string{"server hello", "alert", "closed", "timeout", "not tls"}[o]
}

// Result is what one probe saw.
type Result struct {
	Offered      *Hello
	Outcome      Outcome
	ServerHello  *ServerHello // with OutcomeHello
	Alert        Alert        // with OutcomeAlert
	Certificates [][]byte     // DER, leaf first, when asked for and sent in the clear
	Detail       string       // the parse or read error behind Closed, Timeout or Garbage
	Elapsed      time.Duration
}

// Accepted reports whether the server took the offer: it answered with
// the version offered and a suite from the offered list. A server that
// answers a TLS 1.1 offer with TLS 1.0 did not accept TLS 1.1.
func (r *Result) Accepted() bool {
	return r.Outcome == OutcomeHello && r.ServerHello.Version == r.Offered.Version &&
		slices.Contains(r.Offered.Suites, r.ServerHello.Suite)
}

// Summary describes the answer for evidence.
func (r *Result) Summary() string {
	switch r.Outcome {
	case OutcomeHello:
		return r.ServerHello.Summary()
	case OutcomeAlert:
		return "Alert " + r.Alert.String()
	}
	if r.Detail != "" {
		return r.Outcome.String() + ": " + r.Detail
	}
	return r.Outcome.String()
}

// Probe connects to addr, sends h and reads the answer. It returns an
// error only when it could not connect (wrapping ErrDial) or the caller's
// ctx ended (its own Options.Timeout running out is OutcomeTimeout);
// every answer of the server, including none, is a Result.
func Probe(ctx context.Context, dial Dialer, addr string, h *Hello, opt Options) (*Result, error) {
	if opt.Timeout <= 0 {
		opt.Timeout = 5 * time.Second
	}
	if opt.MaxRead <= 0 {
		opt.MaxRead = 256 << 10
	}
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	start := time.Now()
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, opt.Timeout)
	defer cancel()
	conn, err := dial(ctx, "tcp", addr)
	if err != nil {
		if err := parent.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w %s: %w", ErrDial, addr, err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()

	res := &Result{Offered: h}
	defer func() { res.Elapsed = time.Since(start) }()
	if _, err := conn.Write(h.Marshal()); err != nil {
		res.Outcome, res.Detail = classify(err)
		return res, parent.Err()
	}
	readAnswer(&capReader{r: conn, left: opt.MaxRead}, res, opt.Certificates)
	return res, parent.Err()
}

func classify(err error) (Outcome, string) {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return OutcomeTimeout, ""
	}
	return OutcomeClosed, err.Error()
}

// readAnswer reads records until the answer is known.
func readAnswer(src io.Reader, res *Result, wantCerts bool) {
	buf := make([]byte, 0, 4096)
	var hs []byte // handshake bytes not yet parsed into messages
	for {
		// Parse what we have.
		for {
			rec, n, err := ParseRecord(buf)
			if errors.Is(err, ErrShort) {
				break
			}
			if err != nil {
				res.Outcome, res.Detail = OutcomeGarbage, err.Error()
				return
			}
			buf = buf[n:]
			switch rec.Type {
			case RecordAlert:
				if res.ServerHello != nil {
					return // a hello followed by an alert still answers the question
				}
				a, err := ParseAlert(rec.Fragment)
				if err != nil {
					res.Outcome, res.Detail = OutcomeGarbage, err.Error()
					return
				}
				res.Outcome, res.Alert = OutcomeAlert, a
				return
			case RecordHandshake:
				hs = append(hs, rec.Fragment...)
				msgs, rest, err := ParseHandshakes(hs)
				if err != nil {
					res.Outcome, res.Detail = OutcomeGarbage, err.Error()
					return
				}
				hs = rest
				for _, m := range msgs {
					if done := onMessage(m, res, wantCerts); done {
						return
					}
				}
			default:
				// ChangeCipherSpec or encrypted data: TLS 1.3 servers go
				// encrypted right after the ServerHello.
				if res.ServerHello != nil {
					return
				}
				res.Outcome, res.Detail = OutcomeGarbage, fmt.Sprintf("record type %d before server hello", rec.Type)
				return
			}
		}
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, len(buf))
		}
		n, err := src.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil && n == 0 {
			if res.ServerHello != nil {
				return
			}
			if errors.Is(err, errReadCap) {
				res.Outcome, res.Detail = OutcomeGarbage, err.Error()
				return
			}
			if err == io.EOF {
				res.Outcome = OutcomeClosed
				if len(buf) > 0 {
					res.Outcome, res.Detail = OutcomeGarbage, fmt.Sprintf("%d bytes then end of stream", len(buf))
				}
				return
			}
			res.Outcome, res.Detail = classify(err)
			return
		}
	}
}

// onMessage takes one handshake message and reports whether the answer is
// complete.
func onMessage(m Handshake, res *Result, wantCerts bool) bool {
	if res.ServerHello == nil {
		if m.Type != TypeServerHello {
			res.Outcome, res.Detail = OutcomeGarbage, fmt.Sprintf("handshake type %d before server hello", m.Type)
			return true
		}
		sh, err := ParseServerHello(m.Body)
		if err != nil {
			res.Outcome, res.Detail = OutcomeGarbage, err.Error()
			return true
		}
		res.Outcome, res.ServerHello = OutcomeHello, sh
		return !wantCerts || sh.Version >= TLS13 || sh.HelloRetry
	}
	if m.Type == TypeCertificate {
		if certs, err := ParseCertificate(m.Body); err == nil {
			res.Certificates = certs
		} else {
			res.Detail = err.Error()
		}
	}
	return true // whatever follows the ServerHello ends our interest
}

var errReadCap = errors.New("tlsprobe: read cap reached before the answer was complete")

// capReader fails with errReadCap once left bytes have been read.
type capReader struct {
	r    io.Reader
	left int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, errReadCap
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}
