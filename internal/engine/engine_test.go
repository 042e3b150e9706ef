package engine_test

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/all"
	"github.com/rampart-cert/rampart/internal/check/vuln"
	"github.com/rampart-cert/rampart/internal/engine"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/probe/fingerprint"
	"github.com/rampart-cert/rampart/internal/target"
	"github.com/rampart-cert/rampart/internal/vulndb"
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
		t.Fatalf("cannot listen on %s: %v", ip, err)
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

// garbageServer answers whatever it receives (a ClientHello, a probe)
// with random bytes, as the hostile TLS port of the security review did.
func garbageServer(t *testing.T, addr string) {
	t.Helper()
	ln, err := net.Listen("tcp4", addr)
	if err != nil {
		t.Fatalf("cannot listen on %s: %v", addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				buf := make([]byte, 4096)
				for i := 0; i < 4; i++ {
					c.SetDeadline(time.Now().Add(5 * time.Second))
					if _, err := c.Read(buf); err != nil {
						return
					}
					junk := make([]byte, 64+mrand.IntN(1024))
					crand.Read(junk)
					if _, err := c.Write(junk); err != nil {
						return
					}
				}
			}(conn)
		}
	}()
}

type findingSink struct {
	sink
	ports []engine.Port
	found []check.Result
}

func (s *findingSink) Port(p engine.Port) { s.mu.Lock(); s.ports = append(s.ports, p); s.mu.Unlock() }
func (s *findingSink) Finding(_ check.Target, r check.Result) {
	s.mu.Lock()
	s.found = append(s.found, r)
	s.mu.Unlock()
}

// TestF24GarbageOnTLSPort: a port 443 that answers a ClientHello with
// random bytes, scanned 20 times, never yields a high or critical
// finding and is never identified as telnet, NetBIOS or SMB.
func TestF24GarbageOnTLSPort(t *testing.T) {
	const ip = "127.42.24.1"
	garbageServer(t, ip+":443")
	reg, errs := all.Registry("")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	prober := fingerprint.New(nil, fingerprint.Options{Timeout: 500 * time.Millisecond, TotalTimeout: 5 * time.Second, IdleGap: 50 * time.Millisecond})
	for i := range 20 {
		s := &findingSink{}
		cfg := engine.Config{Ports: []uint16{443}, Prober: prober, Checks: reg.All(),
			CheckEnv: &check.Env{Timeout: time.Second, Now: time.Now, Extra: map[string]any{vuln.ExtraKey: vulndb.NewDB()}}}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		_, err := engine.Run(ctx, []string{ip}, cfg, s)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range s.ports {
			switch p.Service.Service {
			case "telnet", "netbios-ssn", "smb", "microsoft-ds":
				t.Errorf("run %d: garbage identified as %q (%+v)", i, p.Service.Service, p.Service)
			}
		}
		for _, r := range s.found {
			if r.Severity == finding.High || r.Severity == finding.Critical {
				t.Errorf("run %d: %s finding %s on garbage: %s", i, r.Severity, r.Check, r.Title)
			}
		}
	}
}
