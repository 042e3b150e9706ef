package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/probe/fingerprint"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
	"github.com/rampart-cert/rampart/internal/worker"
)

// vhostCheck asks a web service for "/" under the target's name and
// reports the page that says "vulnerable".
type vhostCheck struct{}

func (vhostCheck) Meta() check.Meta {
	return check.Meta{ID: "http.test-vhost-page", Family: "http", Severity: finding.High,
		Title: check.Text{EN: "Vulnerable page", VI: "Trang có lỗ hổng"}, Remediation: check.Text{EN: "Fix it", VI: "Sửa"}}
}

func (vhostCheck) Applies(t check.Target) bool {
	return t.Kind == check.TargetService && t.Service == "http"
}

func (vhostCheck) Run(ctx context.Context, env *check.Env, t check.Target) ([]check.Result, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+t.Addr.String()+"/", nil)
	req.Host = t.Host
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", check.ErrUnreachable, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if string(b) == "vulnerable" {
		return []check.Result{{Check: "http.test-vhost-page", Severity: finding.High, Title: "vulnerable page"}}, nil
	}
	return nil, nil
}

type tableResolver map[string][]netip.Addr

func (m tableResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := m[host]; ok {
		return a, nil
	}
	return nil, fmt.Errorf("test: no such host %s", host)
}

// TestVirtualHostsOfAnAddressJob: a job of an organization's address
// carries its registered names (PortscanParams.VirtualHosts). Two of them
// share one loopback address, and only one is a vulnerable site: the
// worker checks the web service under each name, so the problem is found
// under its name (in the finding's subject, as the job's own asset's) and
// the other name is checked clean. A name of the organization that
// resolves elsewhere is not probed there, and a name the job does not
// carry is never checked.
func TestVirtualHostsOfAnAddressJob(t *testing.T) {
	const ip = "127.42.14.1"
	ln, err := net.Listen("tcp4", ip+":0")
	if err != nil {
		t.Skipf("cannot listen on %s: %v", ip, err)
	}
	hosts := make(chan string, 64)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case hosts <- r.Host:
		default:
		}
		if r.Host == "shop.vhost.test" || r.Host == "hidden.vhost.test" {
			io.WriteString(w, "vulnerable")
			return
		}
		io.WriteString(w, "ok")
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	port := ln.Addr().(*net.TCPAddr).Port
	canary := listenCounter(t, canaryIP)
	addr := netip.MustParseAddr(ip)
	reg := check.NewRegistry()
	if err := reg.Register(vhostCheck{}); err != nil {
		t.Fatal(err)
	}
	w := &worker.PortscanWorker{Checks: reg,
		Prober: fingerprint.New(nil, fingerprint.Options{Timeout: time.Second, TotalTimeout: 5 * time.Second, IdleGap: 50 * time.Millisecond}),
		Resolver: tableResolver{"www.vhost.test": {addr}, "shop.vhost.test": {addr}, "hidden.vhost.test": {addr},
			"far.vhost.test": {netip.MustParseAddr(canaryIP)}},
		CheckEnv: &check.Env{Timeout: 2 * time.Second, Now: time.Now}}
	run := func(vhosts []string) scanjob.PortscanResult {
		t.Helper()
		params, _ := json.Marshal(scanjob.PortscanParams{AssetKind: asset.KindIPv4, AssetValue: ip, Ports: strconv.Itoa(port), Checks: []string{"http"},
			TimeoutMS: 1000, VirtualHosts: vhosts})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := w.Handle(ctx, scanjob.Job{ID: "vhost-" + strconv.Itoa(len(vhosts)), Type: scanjob.JobPortscan, Region: "default", OrgID: 7, AssetID: 70,
			Target: ip, Params: params})
		if err != nil {
			t.Fatal(err)
		}
		var res scanjob.PortscanResult
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatal(err)
		}
		return res
	}
	ap := net.JoinHostPort(ip, strconv.Itoa(port))

	res := run([]string{"www.vhost.test", "Shop.vhost.test.", "far.vhost.test"})
	var subjects []string
	for _, f := range res.Findings {
		if f.Check != "http.test-vhost-page" || f.Target != ap || f.IP != ip {
			t.Fatalf("finding %+v", f)
		}
		subjects = append(subjects, f.Subject)
	}
	if !slices.Equal(subjects, []string{"shop.vhost.test"}) {
		t.Fatalf("findings under %v, want shop.vhost.test only", subjects)
	}
	// Covered under every name checked: the address's "ip:port", once per
	// (address, name).
	covered := 0
	for _, c := range res.Covered {
		if c.Target == ap && slices.Contains(c.Checks, "http.test-vhost-page") {
			covered++
		}
	}
	if covered != 3 { // the address itself, www and shop
		t.Fatalf("covered %d times: %+v", covered, res.Covered)
	}
	seen := map[string]bool{}
	for len(hosts) > 0 {
		seen[<-hosts] = true
	}
	if !seen["www.vhost.test"] || !seen["shop.vhost.test"] || seen["hidden.vhost.test"] {
		t.Fatalf("hosts asked: %v", seen)
	}
	if canary.hits.Load() != 0 {
		t.Fatalf("a virtual host led the job to an address outside it (%d connections)", canary.hits.Load())
	}

	// Without virtual hosts only the address is checked: nothing found.
	if res := run(nil); len(res.Findings) != 0 {
		t.Fatalf("without virtual hosts: %+v", res.Findings)
	}
}
