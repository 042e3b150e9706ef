package scan_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/findings"
	"github.com/rampart-cert/rampart/internal/scan"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
	"github.com/rampart-cert/rampart/internal/store"
)

// TestIngestUDPServices: the UDP services a scan heard are observations
// with proto udp, service, product and version; a TCP-only scan leaves
// them open; a UDP scan that no longer hears one closes it (and fixes its
// findings); a scan whose host answered only over UDP closes no TCP
// service.
func TestIngestUDPServices(t *testing.T) {
	p := newPipeline(t)
	ctx, st, sys := p.ctx, p.st, auth.SystemPrincipal
	p.in.After = scan.FindingsHook(findings.New(findings.Deps{Store: st}), []string{"svc.snmp-default-community", "vuln.known-cve"})
	a := p.asset(p.org("U"), asset.KindIPv4, "192.0.2.9")

	const ip = "192.0.2.9"
	at := time.Now().Add(-time.Hour).UTC()
	apply := func(id string, pr scanjob.PortscanResult) {
		t.Helper()
		at = at.Add(time.Minute)
		p.run(id, a, at, pr)
	}
	state := func() map[string]store.Observation {
		t.Helper()
		page, err := st.ListObservations(ctx, sys, store.ObservationFilter{AssetID: a.ID})
		must(t, err)
		out := map[string]store.Observation{}
		for _, ob := range page.Items {
			out[fmt.Sprintf("%s/%d", ob.Proto, ob.Port)] = ob
		}
		return out
	}
	snmpFinding := func() finding.Finding {
		t.Helper()
		fs := p.findings(a)
		for _, f := range fs {
			if f.Check == "svc.snmp-default-community" {
				return f
			}
		}
		t.Fatalf("no SNMP finding among %+v", fs)
		return finding.Finding{}
	}
	ssh := scanjob.OpenPort{IP: ip, Port: 22, Service: "ssh", Product: "OpenSSH", Version: "9.2p1"}
	snmp := scanjob.OpenPort{IP: ip, Port: 161, Proto: "udp", Service: "snmp", Product: "Net-SNMP", Banner: "public"}
	memc := scanjob.OpenPort{IP: ip, Port: 11211, Proto: "udp", Service: "memcached", Product: "memcached", Version: "1.5.5"}
	snmpTarget := ip + ":161/udp"

	// A scan with UDP: three observations, the UDP ones with their
	// fingerprint; the SNMP check's finding on "ip:161/udp".
	apply("u1", scanjob.PortscanResult{Hosts: []string{ip}, Ports: "22", UDPPorts: "161,11211", Open: []scanjob.OpenPort{ssh, snmp, memc},
		Findings: []scanjob.FindingOut{{Check: "svc.snmp-default-community", Family: "svc", Severity: "high", Target: snmpTarget, IP: ip, Title: "SNMP public"}},
		Covered:  []scanjob.CoverageOut{{Target: snmpTarget, IP: ip, Checks: []string{"svc.snmp-default-community"}}}})
	obs := state()
	if len(obs) != 3 || obs["tcp/22"].State != "open" {
		t.Fatalf("after the UDP scan: %+v", obs)
	}
	if m := obs["udp/11211"]; m.State != "open" || m.Service != "memcached" || m.Product != "memcached" || m.Version != "1.5.5" || m.JobID != "u1" {
		t.Fatalf("memcached observation: %+v", m)
	}
	if s := obs["udp/161"]; s.State != "open" || s.Service != "snmp" || s.Product != "Net-SNMP" || s.Banner != "public" {
		t.Fatalf("SNMP observation: %+v", s)
	}
	if f := snmpFinding(); f.State != finding.StateOpen || f.Target != snmpTarget {
		t.Fatalf("SNMP finding: %+v", f)
	}

	// A TCP-only scan (the policy turned UDP off) reaches the host and
	// sees SSH: the UDP observations and their finding stay open.
	apply("t2", scanjob.PortscanResult{Hosts: []string{ip}, Ports: "22,161,11211", Open: []scanjob.OpenPort{ssh}})
	obs = state()
	if obs["udp/161"].State != "open" || obs["udp/11211"].State != "open" || obs["tcp/22"].JobID != "t2" {
		t.Fatalf("after a TCP-only scan: %+v", obs)
	}
	if f := snmpFinding(); f.State != finding.StateOpen {
		t.Fatalf("SNMP finding after a TCP-only scan: %s", f.State)
	}

	// A UDP scan that no longer hears SNMP: its observation closes and
	// its finding is fixed; memcached, heard again, stays.
	apply("u3", scanjob.PortscanResult{Hosts: []string{ip}, Ports: "22", UDPPorts: "161,11211", Open: []scanjob.OpenPort{ssh, memc}})
	obs = state()
	if s := obs["udp/161"]; s.State != "closed" || s.ClosedAt == nil || s.JobID != "u3" {
		t.Fatalf("SNMP after a UDP scan without it: %+v", s)
	}
	if obs["udp/11211"].State != "open" || obs["tcp/22"].State != "open" {
		t.Fatalf("after u3: %+v", obs)
	}
	if f := snmpFinding(); f.State != finding.StateFixed {
		t.Fatalf("SNMP finding after the service closed: %s", f.State)
	}

	// Only UDP answered (TCP filtered): SNMP is back, memcached is gone,
	// and SSH, whose host the TCP scan did not reach, stays open.
	apply("u4", scanjob.PortscanResult{Ports: "22", UDPPorts: "161,11211", Open: []scanjob.OpenPort{snmp}})
	obs = state()
	if obs["udp/161"].State != "open" || obs["udp/11211"].State != "closed" || obs["tcp/22"].State != "open" {
		t.Fatalf("after a UDP-only answer: %+v", obs)
	}
	j4, err := st.GetScanJob(ctx, sys, "u4")
	must(t, err)
	if j4.State != store.JobDone {
		t.Fatalf("u4: %s", j4.State)
	}

	// A malformed UDP port spec fails the job and stores nothing.
	apply("u5", scanjob.PortscanResult{Hosts: []string{ip}, Ports: "22", UDPPorts: "161-x"})
	j5, err := st.GetScanJob(ctx, sys, "u5")
	must(t, err)
	if after := state(); j5.State != store.JobFailed || !reflect.DeepEqual(after, obs) {
		t.Fatalf("u5: %s %s, observations %+v", j5.State, j5.Error, after)
	}
}
