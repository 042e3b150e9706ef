// Package tlsprobetest runs fake TLS servers on loopback for tests and
// benchmarks: they answer a ClientHello with a ServerHello for any
// version and suite they are configured to accept, including the SSLv3,
// export, NULL and anonymous ones no real library serves any more, and
// then hang up. That is all a protocol or cipher enumeration needs.
package tlsprobetest

import (
	"errors"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/probe/tlsprobe"
)

// Config says what a fake server accepts.
type Config struct {
	// Versions accepted, TLS 1.2 at most (the fake cannot speak TLS 1.3).
	Versions []tlsprobe.Version
	// Suites accepted; the server picks the client's first one it accepts.
	Suites []uint16
	// Chain is sent in a Certificate message unless the suite is anonymous.
	Chain [][]byte
}

// Server is a running fake server.
type Server struct {
	cfg  Config
	ln   net.Listener
	wg   sync.WaitGroup
	once sync.Once
}

// Start listens on addr ("127.0.0.1:0") and serves until Close.
func Start(addr string, cfg Config) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, ln: ln}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Addr is the listening address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server and waits for its connections to end.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		err = s.ln.Close()
		s.wg.Wait()
	})
	return err
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			s.answer(c)
		}()
	}
}

func (s *Server) answer(c net.Conn) {
	ch, err := readClientHello(c)
	if err != nil {
		return
	}
	v, ok := s.pickVersion(ch)
	if !ok {
		_, _ = c.Write(tlsprobe.AlertRecord(ch.LegacyVersion, tlsprobe.AlertProtocolVersion))
		return
	}
	var suite uint16
	found := false
	for _, id := range ch.Suites {
		if slices.Contains(s.cfg.Suites, id) {
			suite, found = id, true
			break
		}
	}
	if !found {
		_, _ = c.Write(tlsprobe.AlertRecord(v, tlsprobe.AlertHandshakeFailure))
		return
	}
	chain := s.cfg.Chain
	if st, _ := tlsprobe.LookupSuite(suite); st.Class&tlsprobe.ClassAnon != 0 {
		chain = nil
	}
	_, _ = c.Write(tlsprobe.ServerFlight(v, suite, chain))
	// Wait briefly for the client's next flight (or its hanging up), then
	// hang up: the fake cannot finish a handshake, and a client that does
	// not like the hello may wait for more instead of closing.
	_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	_, _ = c.Read(make([]byte, 4096))
}

// pickVersion negotiates the way a pre-TLS 1.3 server does: the highest
// version it accepts that is not above the client's legacy version.
func (s *Server) pickVersion(ch *tlsprobe.ClientHello) (tlsprobe.Version, bool) {
	best, ok := tlsprobe.Version(0), false
	for _, v := range s.cfg.Versions {
		if v <= ch.LegacyVersion && v <= tlsprobe.TLS12 && v > best {
			best, ok = v, true
		}
	}
	return best, ok
}

func readClientHello(c net.Conn) (*tlsprobe.ClientHello, error) {
	buf := make([]byte, 0, 2048)
	var hs []byte
	tmp := make([]byte, 2048)
	for len(buf) < 1<<16 {
		n, err := c.Read(tmp)
		buf = append(buf, tmp[:n]...)
		for {
			rec, used, perr := tlsprobe.ParseRecord(buf)
			if errors.Is(perr, tlsprobe.ErrShort) {
				break
			}
			if perr != nil {
				return nil, perr
			}
			buf = buf[used:]
			if rec.Type != tlsprobe.RecordHandshake {
				return nil, errors.New("tlsprobetest: expected a handshake record")
			}
			hs = append(hs, rec.Fragment...)
			msgs, _, perr := tlsprobe.ParseHandshakes(hs)
			if perr != nil {
				return nil, perr
			}
			if len(msgs) > 0 {
				if msgs[0].Type != tlsprobe.TypeClientHello {
					return nil, errors.New("tlsprobetest: expected a client hello")
				}
				return tlsprobe.ParseClientHello(msgs[0].Body)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return nil, errors.New("tlsprobetest: client hello too large")
}
