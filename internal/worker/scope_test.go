package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/dns"
	"github.com/rampart-cert/rampart/internal/check/dns/dnstest"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
	"github.com/rampart-cert/rampart/internal/target"
	"github.com/rampart-cert/rampart/internal/worker"
)

// Loopback addresses of the F6 fixtures: nobody registered canaryIP;
// ownIP is the organization's own address; strangerNS is a name server
// outside the organization's scope.
const (
	canaryIP   = "127.42.6.1"
	ownIP      = "127.42.6.2"
	strangerNS = "127.42.6.3"
	dnsIP      = "127.42.6.53"
)

// counter is a loopback listener that counts the connections it accepts.
type counter struct {
	ln   net.Listener
	hits atomic.Int64
}

func listenCounter(t *testing.T, ip string) *counter {
	t.Helper()
	ln, err := net.Listen("tcp4", ip+":0")
	if err != nil {
		t.Skipf("cannot listen on %s: %v", ip, err)
	}
	c := &counter{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.hits.Add(1)
			conn.Close()
		}
	}()
	return c
}

func (c *counter) port() int { return c.ln.Addr().(*net.TCPAddr).Port }

// f6Fixture is a worker whose resolver is a loopback DNS server for the
// zone f6.test: out.f6.test resolves to the unregistered canary, in.f6.test
// to the organization's own address, and the zone's name servers are one
// of each. Dials to port 53 (zone transfers) are recorded and refused.
type f6Fixture struct {
	w       *worker.PortscanWorker
	canary  *counter
	own     *counter
	mu      sync.Mutex
	dialled []string // "ip:53" a zone transfer tried
}

func newF6Fixture(t *testing.T) *f6Fixture {
	t.Helper()
	f := &f6Fixture{canary: listenCounter(t, canaryIP), own: listenCounter(t, ownIP)}
	srv, err := dnstest.Start(dnstest.Config{IP: dnsIP, Zones: []dnstest.Zone{{Origin: "f6.test.", AllowTransfer: true, Records: `
@     SOA ns-own hostmaster 1 3600 600 86400 300
@     NS  ns-own
@     NS  ns-stranger
ns-own      A ` + ownIP + `
ns-stranger A ` + strangerNS + `
out   A ` + canaryIP + `
in    A ` + ownIP + `
`}}})
	if err != nil {
		t.Skipf("dns fixture: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	checks := check.NewRegistry()
	if err := dns.Register(checks); err != nil {
		t.Fatal(err)
	}
	var d net.Dialer
	env := &check.Env{DNSServer: srv.Addr, Timeout: 2 * time.Second, Now: time.Now, Extra: map[string]any{},
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if strings.HasSuffix(addr, ":53") {
				f.mu.Lock()
				f.dialled = append(f.dialled, addr)
				f.mu.Unlock()
				return nil, fmt.Errorf("test: %s: connection refused", addr)
			}
			if !strings.HasPrefix(addr, "127.") {
				return nil, fmt.Errorf("test: %s is not loopback", addr)
			}
			return d.DialContext(ctx, network, addr)
		}}
	f.w = &worker.PortscanWorker{Checks: checks, CheckEnv: env, Resolver: target.NewResolver(srv.Addr)}
	return f
}

// run runs one job on the asset and returns its result.
func (f *f6Fixture) run(t *testing.T, kind asset.Kind, value string, checks []string) scanjob.PortscanResult {
	t.Helper()
	p := scanjob.PortscanParams{AssetKind: kind, AssetValue: value, Checks: checks, TimeoutMS: 500, Retries: -1,
		Ports:        fmt.Sprintf("%d,%d", f.canary.port(), f.own.port()),
		AllowedAddrs: []string{ownIP}, AllowInternal: true}
	raw, _ := json.Marshal(p)
	j := scanjob.Job{ID: "f6-" + value, Type: scanjob.JobPortscan, Region: "default", OrgID: 7, AssetID: 70, Target: value, Params: raw}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := f.w.Handle(ctx, j)
	if err != nil {
		t.Fatalf("job %s: %v", value, err)
	}
	var res scanjob.PortscanResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

// TestF6NameOutsideScopeNotProbed: a hostname asset whose name resolves
// to an address nobody registered is not probed (the canary sees no
// connection), while one resolving to the organization's own address is.
func TestF6NameOutsideScopeNotProbed(t *testing.T) {
	f := newF6Fixture(t)
	res := f.run(t, asset.KindHostname, "out.f6.test", nil)
	if n := f.canary.hits.Load(); n != 0 || len(res.Open) != 0 {
		t.Fatalf("canary %s got %d connections through out.f6.test (open %v); want none", canaryIP, n, res.Open)
	}
	res = f.run(t, asset.KindHostname, "in.f6.test", nil)
	// The kernel completes the handshake before Accept returns: give the
	// counter a moment.
	for i := 0; i < 50 && f.own.hits.Load() == 0; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if f.own.hits.Load() == 0 || len(res.Open) != 1 || res.Open[0].IP != ownIP {
		t.Fatalf("own address %s: %d connections, open %v; want it probed", ownIP, f.own.hits.Load(), res.Open)
	}
	if n := f.canary.hits.Load(); n != 0 {
		t.Fatalf("canary got %d connections", n)
	}
}

// TestF6ZoneTransferOutsideScope: dns.zone-transfer asks only the name
// servers in the job's scope; AXFR to a name server outside it is never
// attempted.
func TestF6ZoneTransferOutsideScope(t *testing.T) {
	f := newF6Fixture(t)
	f.run(t, asset.KindDomain, "f6.test", []string{"dns"})
	f.mu.Lock()
	defer f.mu.Unlock()
	if slices.Contains(f.dialled, strangerNS+":53") {
		t.Fatalf("zone transfer tried %s, outside the job's scope (dials %v)", strangerNS, f.dialled)
	}
	if !slices.Contains(f.dialled, ownIP+":53") {
		t.Fatalf("zone transfer did not try the organization's own name server %s (dials %v)", ownIP, f.dialled)
	}
	if n := f.canary.hits.Load(); n != 0 {
		t.Fatalf("canary got %d connections", n)
	}
}
