package lab

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/all"
	"github.com/rampart-cert/rampart/internal/check/dns"
	"github.com/rampart-cert/rampart/internal/check/vuln"
	"github.com/rampart-cert/rampart/internal/engine"
	"github.com/rampart-cert/rampart/internal/probe/fingerprint"
	"github.com/rampart-cert/rampart/internal/probe/portscan"
	"github.com/rampart-cert/rampart/internal/target"
	"github.com/rampart-cert/rampart/internal/vulndb"
)

// sink collects what a scan found, by target.
type sink struct {
	mu       sync.Mutex
	byAddr   map[netip.Addr]map[string]bool
	byDomain map[string]map[string]bool
	ports    []string
	problems []string
}

func (s *sink) Port(p engine.Port) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ports = append(s.ports, fmt.Sprintf("%s:%d %s %s %s", p.IP, p.Port, p.Service.Service, p.Service.Product, p.Service.Version))
}

func (s *sink) Finding(t check.Target, r check.Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var m map[string]bool
	switch t.Kind {
	case check.TargetService:
		if s.byAddr[t.Addr.Addr()] == nil {
			s.byAddr[t.Addr.Addr()] = map[string]bool{}
		}
		m = s.byAddr[t.Addr.Addr()]
	case check.TargetDomain:
		if s.byDomain[t.Host] == nil {
			s.byDomain[t.Host] = map[string]bool{}
		}
		m = s.byDomain[t.Host]
	default:
		return
	}
	m[r.Check] = true
}

func (s *sink) Problem(what string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.problems = append(s.problems, what+": "+err.Error())
}

func (s *sink) Covered(check.Target, []string) {}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// labDialer dials lab addresses only; port 53 of the DNS host goes to the
// lab DNS server when the lab could not bind 53 itself.
func labDialer(l *Lab) func(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	dnsHost := l.addr(offDNS)
	has53 := false
	for _, h := range l.Hosts() {
		if h.Addr == dnsHost {
			for _, s := range h.Services {
				has53 = has53 || s.Port == 53
			}
		}
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		ap, err := netip.ParseAddrPort(addr)
		if err != nil || !Network.Contains(ap.Addr()) {
			return nil, fmt.Errorf("lab test: refusing to dial %s outside the lab", addr)
		}
		if ap.Addr() == dnsHost && ap.Port() == 53 && !has53 {
			addr = l.DNSAddr()
		}
		return d.DialContext(ctx, network, addr)
	}
}

// TestChecksFire scans the lab with the real check registry and asserts
// that each host and domain fires exactly the checks HostInfo and
// DomainInfo announce, and the hardened ones nothing.
func TestChecksFire(t *testing.T) {
	if testing.Short() {
		t.Skip("full scan of the lab")
	}
	l := startLab(t)
	reg, errs := all.Registry("../check/template/builtin")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	db := vulndb.NewDB()
	for _, f := range []string{"CVE-2021-41773.json", "CVE-2011-2523.json"} {
		r, err := os.Open(filepath.Join("..", "check", "vuln", "testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		err = vulndb.ReadNVD(r, f, db.AddCVE, nil)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	dial := labDialer(l)
	env := &check.Env{
		Dial:      dial,
		DNSServer: l.DNSAddr(),
		Roots:     l.CAPool(),
		UserAgent: "Rampart-Scanner/1.0 (lab test)",
		Timeout:   3 * time.Second,
		Now:       time.Now,
		Extra: map[string]any{
			vuln.ExtraKey: db,
			"dns":         dns.Options{AllowAddr: func(a netip.Addr) bool { return Network.Contains(a) }},
		},
	}
	var ports []uint16
	var specs []string
	for _, h := range l.Hosts() {
		specs = append(specs, h.Hostname)
		for _, s := range h.Services {
			// The DNS server's high port is not a scan target: port 53 is.
			if s.Wanted != DNSPort && !slices.Contains(ports, s.Port) {
				ports = append(ports, s.Port)
			}
		}
	}
	var names []string
	for _, d := range l.Domains() {
		names = append(names, d.Name)
	}
	cfg := engine.Config{
		Ports:    ports,
		Scan:     portscan.Config{Timeout: time.Second, Retries: -1},
		Prober:   fingerprint.New(fingerprint.DefaultRules(), fingerprint.Options{Dial: dial, UserAgent: env.UserAgent}),
		Checks:   reg.All(),
		CheckEnv: env,
		Resolver: target.NewResolver(l.DNSAddr()),
		Allow: func(tg target.Target) error {
			if !tg.Addr.IsValid() && tg.Name != "" {
				return nil // a lab name, before its domain checks
			}
			if !Network.Contains(tg.Addr) {
				return fmt.Errorf("outside the lab: %s", tg.Addr)
			}
			return nil
		},
		Names: names,
		URLs:  []string{},
	}
	s := &sink{byAddr: map[netip.Addr]map[string]bool{}, byDomain: map[string]map[string]bool{}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	begin := time.Now()
	sum, err := engine.Run(ctx, specs, cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("scan: %v, %d findings, %d checks run, %d unreachable", time.Since(begin), sum.Findings, sum.ChecksRun, sum.Unreachable)
	sort.Strings(s.ports)
	t.Logf("ports:\n%s", strings.Join(s.ports, "\n"))
	for _, p := range s.problems {
		t.Logf("problem: %s", p)
	}
	// The catalog's recall and false alarms on the lab: every weakness a
	// host or domain is built with is one expected (target, check) pair.
	var expected, found, falseAlarms, hardened int
	score := func(got, want []string) {
		expected += len(want)
		for _, g := range got {
			if slices.Contains(want, g) {
				found++
			} else {
				falseAlarms++
			}
		}
	}
	for _, h := range l.Hosts() {
		want := append(slices.Clone(h.Checks), h.ChecksWithVulnDB...)
		sort.Strings(want)
		got := keys(s.byAddr[h.Addr])
		score(got, want)
		if len(want) == 0 {
			hardened++
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s (%s): fired %v, want %v", h.Hostname, h.Addr, got, want)
		}
	}
	for _, d := range l.Domains() {
		want := slices.Clone(d.Checks)
		sort.Strings(want)
		got := keys(s.byDomain[d.Name])
		score(got, want)
		if !slices.Equal(got, want) {
			t.Errorf("domain %s: fired %v, want %v", d.Name, got, want)
		}
	}
	t.Logf("lab: %d hosts (%d hardened), %d domains; recall %d/%d weaknesses found, %d false alarms",
		len(l.Hosts()), hardened, len(l.Domains()), found, expected, falseAlarms)
}
