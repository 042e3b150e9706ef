package worker_test

import (
	"context"
	"encoding/json"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/probe/udpscan/udptest"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
	"github.com/rampart-cert/rampart/internal/worker"
)

// udpSeen reports every UDP service it is given.
type udpSeen struct{}

func (udpSeen) Meta() check.Meta {
	return check.Meta{ID: "udp.test-seen", Family: "udp", Severity: finding.Low,
		Title: check.Text{EN: "UDP service", VI: "Dịch vụ UDP"}, Remediation: check.Text{EN: "None", VI: "Không"}}
}
func (udpSeen) UDP() bool { return true }
func (udpSeen) Applies(t check.Target) bool {
	return t.Kind == check.TargetService && t.Proto == check.ProtoUDP
}
func (udpSeen) Run(context.Context, *check.Env, check.Target) ([]check.Result, error) {
	return []check.Result{{Title: "a UDP service answers"}}, nil
}

// A job with UDP on scans the job's UDP ports and runs the UDP checks:
// their findings and coverage name "ip:port/udp", and the UDP port is an
// observation with proto "udp". A job with UDP off sends nothing over UDP
// and says it scanned no UDP port.
func TestPortscanJobUDP(t *testing.T) {
	const ip = "127.42.11.1"
	echo := udptest.Start(t, ip, 0, func(req []byte, _ netip.AddrPort, w udptest.Responder) { w.Reply([]byte("hello")) })
	reg := check.NewRegistry()
	if err := reg.Register(udpSeen{}); err != nil {
		t.Fatal(err)
	}
	w := &worker.PortscanWorker{Checks: reg, CheckEnv: &check.Env{Timeout: time.Second}}
	run := func(udp bool) scanjob.PortscanResult {
		t.Helper()
		params, _ := json.Marshal(scanjob.PortscanParams{AssetKind: asset.KindIPv4, AssetValue: ip, Ports: "1", Checks: []string{"udp"},
			TimeoutMS: 500, UDP: udp, UDPPorts: strconv.Itoa(int(echo.Addr.Port()))})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := w.Handle(ctx, scanjob.Job{ID: "udp-" + strconv.FormatBool(udp), Type: scanjob.JobPortscan, Region: "default", OrgID: 7, AssetID: 70,
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
	res := run(false)
	if echo.Requests.Load() != 0 || len(res.Findings) != 0 || res.UDPPorts != "" {
		t.Fatalf("UDP off: %d probes, findings %+v", echo.Requests.Load(), res.Findings)
	}
	res = run(true)
	want := echo.Addr.String() + "/udp"
	if len(res.Findings) != 1 || res.Findings[0].Target != want || res.Findings[0].IP != ip || res.Findings[0].Check != "udp.test-seen" {
		t.Fatalf("findings %+v", res.Findings)
	}
	if len(res.Covered) != 1 || res.Covered[0].Target != want {
		t.Fatalf("covered %+v", res.Covered)
	}
	// The UDP port is an observation too, and the result says which UDP
	// ports were scanned, so the ingester may close those not heard again.
	if len(res.Open) != 1 || res.Open[0].Proto != "udp" || res.Open[0].IP != ip || res.Open[0].Port != int(echo.Addr.Port()) ||
		res.Open[0].Banner != "hello" || res.UDPPorts != strconv.Itoa(int(echo.Addr.Port())) || res.Unreachable {
		t.Fatalf("UDP port as an observation: %+v, udp ports %q", res.Open, res.UDPPorts)
	}
}
