package engine_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/engine"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/probe/fingerprint"
)

// hostCheck is an HTTP check that asks the service for "/" with the
// target's name as Host and reports a page that says "vulnerable".
type hostCheck struct{}

func (hostCheck) Meta() check.Meta {
	return check.Meta{ID: "http.test-vhost", Family: "http", Severity: finding.High,
		Title: check.Text{EN: "Vulnerable page", VI: "Trang có lỗ hổng"}, Remediation: check.Text{EN: "Fix it", VI: "Sửa"}}
}

func (hostCheck) Applies(t check.Target) bool {
	return t.Kind == check.TargetService && t.Service == "http"
}

func (hostCheck) Run(ctx context.Context, env *check.Env, t check.Target) ([]check.Result, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+t.Addr.String()+"/", nil)
	req.Host = t.Host
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", check.ErrUnreachable, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if string(b) == "vulnerable" {
		return []check.Result{{Check: "http.test-vhost", Severity: finding.High, Title: "vulnerable page at " + t.Host}}, nil
	}
	return nil, nil
}

type vhostSink struct {
	mu      sync.Mutex
	found   []string
	covered []string
}

func (s *vhostSink) Port(engine.Port)      {}
func (s *vhostSink) Problem(string, error) {}
func (s *vhostSink) Finding(t check.Target, r check.Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.found = append(s.found, t.String())
}
func (s *vhostSink) Covered(t check.Target, _ []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.covered = append(s.covered, t.String())
}

// TestVirtualHostsEachChecked: two names on one address, only one of
// them a vulnerable site; the web checks run once per (address, name),
// so the problem is found on its name and the other name is covered
// clean, whether the second name is a specification or a registered
// virtual host.
func TestVirtualHostsEachChecked(t *testing.T) {
	const ip = "127.42.13.1"
	ln, err := net.Listen("tcp4", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host == "b.vhost.test" {
			io.WriteString(w, "vulnerable")
			return
		}
		io.WriteString(w, "ok")
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	addr := netip.MustParseAddr(ip)
	res := mapResolver{"a.vhost.test": {addr}, "b.vhost.test": {addr}}
	prober := fingerprint.New(nil, fingerprint.Options{Timeout: time.Second, TotalTimeout: 5 * time.Second, IdleGap: 50 * time.Millisecond})
	ap := net.JoinHostPort(ip, strconv.Itoa(int(port)))
	for name, tc := range map[string]struct {
		specs  []string
		vhosts []string
	}{
		"two specifications": {specs: []string{"a.vhost.test", "b.vhost.test"}},
		"registered name":    {specs: []string{"a.vhost.test"}, vhosts: []string{"b.vhost.test"}},
		"address only":       {specs: []string{ip}, vhosts: []string{"a.vhost.test", "b.vhost.test"}},
	} {
		t.Run(name, func(t *testing.T) {
			s := &vhostSink{}
			cfg := engine.Config{Ports: []uint16{port}, Prober: prober, Checks: []check.Check{hostCheck{}}, Resolver: res,
				CheckEnv: &check.Env{Timeout: time.Second, Now: time.Now}, Names: []string{}, URLs: []string{}, VirtualHosts: tc.vhosts}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := engine.Run(ctx, tc.specs, cfg, s); err != nil {
				t.Fatal(err)
			}
			if want := []string{"b.vhost.test (" + ap + ")"}; !slices.Equal(s.found, want) {
				t.Fatalf("findings on %v, want %v", s.found, want)
			}
			if !slices.Contains(s.covered, "a.vhost.test ("+ap+")") {
				t.Fatalf("a.vhost.test not covered: %v", s.covered)
			}
		})
	}
}
