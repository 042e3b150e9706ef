package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/all"
	"github.com/rampart-cert/rampart/internal/probe/fingerprint"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
	"github.com/rampart-cert/rampart/internal/worker"
)

// profileIP is the loopback address of the scan profile fixture.
const profileIP = "127.42.14.1"

// A job's scan profile (the ports and check families the scheduler puts
// in its params from the asset's override or its organization's policy)
// decides what the worker probes and which checks it runs.
func TestJobProfileDecidesPortsAndChecks(t *testing.T) {
	ln, err := net.Listen("tcp4", profileIP+":0")
	if err != nil {
		t.Skipf("cannot listen on %s: %v", profileIP, err)
	}
	web := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("<html>ok</html>")) }))
	web.Listener.Close()
	web.Listener = ln
	web.Start()
	defer web.Close()
	other := listenCounter(t, profileIP)
	webPort := ln.Addr().(*net.TCPAddr).Port

	checks, errs := all.Registry("")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var d net.Dialer
	env := &check.Env{Timeout: 2 * time.Second, Now: time.Now, Extra: map[string]any{},
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if !strings.HasPrefix(addr, "127.") {
				return nil, fmt.Errorf("test: %s is not loopback", addr)
			}
			return d.DialContext(ctx, network, addr)
		}}
	w := &worker.PortscanWorker{Checks: checks, CheckEnv: env,
		Prober: fingerprint.New(nil, fingerprint.Options{Timeout: time.Second, TotalTimeout: 5 * time.Second, IdleGap: 50 * time.Millisecond})}
	run := func(ports string, families []string) scanjob.PortscanResult {
		t.Helper()
		p := scanjob.PortscanParams{AssetKind: asset.KindIPv4, AssetValue: profileIP, Ports: ports, Checks: families, Rate: 50,
			TimeoutMS: 500, Retries: -1, AllowInternal: true}
		raw, _ := json.Marshal(p)
		j := scanjob.Job{ID: "profile-" + ports, Type: scanjob.JobPortscan, Region: "default", OrgID: 7, AssetID: 71, Target: profileIP, Params: raw}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		out, err := w.Handle(ctx, j)
		if err != nil {
			t.Fatalf("job %s: %v", ports, err)
		}
		var res scanjob.PortscanResult
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatal(err)
		}
		return res
	}
	families := func(res scanjob.PortscanResult) map[string]bool {
		m := map[string]bool{}
		for _, c := range res.Covered {
			for _, id := range c.Checks {
				fam, _, _ := strings.Cut(id, ".")
				m[fam] = true
			}
		}
		return m
	}
	openPorts := func(res scanjob.PortscanResult) map[int]bool {
		m := map[int]bool{}
		for _, o := range res.Open {
			m[o.Port] = true
		}
		return m
	}

	// The organization's profile: both ports, the http family.
	org := run(fmt.Sprintf("%d,%d", webPort, other.port()), []string{"http"})
	if o := openPorts(org); !o[webPort] || !o[other.port()] {
		t.Fatalf("organization profile: open %v, want %d and %d", org.Open, webPort, other.port())
	}
	if f := families(org); !f["http"] || f["tls"] {
		t.Fatalf("organization profile ran families %v, want http only", f)
	}
	// The asset's override: the web port only, the tls family only.
	hits := other.hits.Load()
	own := run(fmt.Sprint(webPort), []string{"tls"})
	if o := openPorts(own); !o[webPort] || o[other.port()] {
		t.Fatalf("asset override: open %v, want %d only", own.Open, webPort)
	}
	if other.hits.Load() != hits {
		t.Fatalf("asset override probed port %d outside its ports", other.port())
	}
	if f := families(own); f["http"] {
		t.Fatalf("asset override ran families %v, want no http", f)
	}
}
