package sqlstore

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

// outageProxy forwards a loopback port to PostgreSQL and can cut it off,
// connections and all: a database outage without stopping the shared
// server.
type outageProxy struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        []net.Conn
}

func (p *outageProxy) up(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); s.Close() }()
			go func() { _, _ = io.Copy(c, s); c.Close() }()
		}
	}()
}

func (p *outageProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestRelF8ConnectionFailuresAreUnavailable (reliability review F8): a
// PostgreSQL that is down, at open or while running, is
// store.ErrUnavailable (the API's 503, the ingester's wait), and the store
// works again once it is back.
func TestRelF8ConnectionFailuresAreUnavailable(t *testing.T) {
	ctx := context.Background()
	// Nothing listens here.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	free := ln.Addr().String()
	ln.Close()
	if _, err := Open(ctx, "postgres", "postgres://postgres@"+free+"/test?sslmode=disable&connect_timeout=2", nil); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("open with the database down: %v", err)
	}

	dsn := postgresDSN(t)
	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" {
		t.Skipf("needs a URL DSN: %s", redact(dsn))
	}
	p := &outageProxy{addr: "127.0.0.1:0", target: u.Host}
	p.up(t)
	defer p.down()
	u.Host = p.addr
	q := u.Query()
	q.Set("connect_timeout", "2")
	u.RawQuery = q.Encode()
	s, err := Open(ctx, "postgres", u.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	p.down()
	if err := s.Ping(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("ping during the outage: %v", err)
	}
	if _, err := s.GetScanJob(ctx, auth.SystemPrincipal, "x"); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("read during the outage: %v", err)
	}
	if err := s.SetJobIngestError(ctx, "x", "boom"); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("write during the outage: %v", err)
	}
	p.up(t)
	deadline := time.Now().Add(5 * time.Second)
	for s.Ping(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatal("the store did not come back within 5 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
