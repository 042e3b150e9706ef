package engine_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/all"
	"github.com/rampart-cert/rampart/internal/engine"
	"github.com/rampart-cert/rampart/internal/target"
)

// Loopback addresses: nobody registered canaryIP; registeredIP is in scope.
const (
	canaryIP     = "127.42.4.1"
	registeredIP = "127.42.4.2"
)

// httpCounter is a loopback web server that counts the connections it
// accepts.
type httpCounter struct {
	ln   net.Listener
	hits atomic.Int64
}

func (c *httpCounter) port() int { return c.ln.Addr().(*net.TCPAddr).Port }

func serveCounter(t *testing.T, ip string) *httpCounter {
	t.Helper()
	ln, err := net.Listen("tcp4", ip+":0")
	if err != nil {
		t.Skipf("cannot listen on %s: %v", ip, err)
	}
	c := &httpCounter{ln: ln}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<html><title>ok</title></html>"))
	}), ConnState: func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			c.hits.Add(1)
		}
	}, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return c
}

// mapResolver answers names from a table.
type mapResolver map[string][]netip.Addr

func (m mapResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := m[host]; ok {
		return a, nil
	}
	return nil, fmt.Errorf("test: no such host %s", host)
}

type sink struct {
	mu       sync.Mutex
	refused  []string
	findings int
}

func (s *sink) Port(engine.Port)                   {}
func (s *sink) Covered(check.Target, []string)     {}
func (s *sink) Finding(check.Target, check.Result) { s.mu.Lock(); s.findings++; s.mu.Unlock() }
func (s *sink) Problem(what string, err error) {
	if errors.Is(err, engine.ErrOutOfScope) {
		s.mu.Lock()
		s.refused = append(s.refused, what)
		s.mu.Unlock()
	}
}

// TestF4RefusedURLNeverProbed: URL targets go through the scope guard
// like addresses (security F4): a URL whose host is an unregistered
// address, or a registered name that resolves to one, gets no request at
// all and is counted as refused; a URL in scope is still checked.
func TestF4RefusedURLNeverProbed(t *testing.T) {
	canary := serveCounter(t, canaryIP)
	ok := serveCounter(t, registeredIP)
	reg, errs := all.Registry("")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	// The registry: the address registeredIP and the name portal.test,
	// which resolves to the canary (an address nobody registered).
	allow := func(tg target.Target) error {
		if tg.Addr.IsValid() && tg.Addr == netip.MustParseAddr(registeredIP) {
			return nil
		}
		if tg.Name == "portal.test" && !tg.Addr.IsValid() {
			return nil
		}
		return fmt.Errorf("%w: %s %s", engine.ErrOutOfScope, tg.Name, tg.Addr)
	}
	specs := []string{
		fmt.Sprintf("http://%s:%d/", canaryIP, canary.port()),
		fmt.Sprintf("http://portal.test:%d/admin", canary.port()),
		fmt.Sprintf("http://%s:%d/", registeredIP, ok.port()),
	}
	cfg := engine.Config{
		Ports:    []uint16{uint16(canary.port())},
		Checks:   reg.Select([]string{"http", "web"}),
		CheckEnv: &check.Env{Timeout: 2 * time.Second, Now: time.Now, Extra: map[string]any{}},
		Resolver: mapResolver{"portal.test": {netip.MustParseAddr(canaryIP)}},
		Allow:    allow,
	}
	s := &sink{}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sum, err := engine.Run(ctx, specs, cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	if n := canary.hits.Load(); n != 0 {
		t.Fatalf("the canary %s got %d connections from refused URL targets; want none", canaryIP, n)
	}
	if ok.hits.Load() == 0 {
		t.Fatalf("the URL in scope was not checked (refused %v)", s.refused)
	}
	// The two URL targets and the canary's address (named by both).
	if sum.Refused < 2 {
		t.Fatalf("summary counts %d refused, want the two URL targets at least (refused %v)", sum.Refused, s.refused)
	}
}
