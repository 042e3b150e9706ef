package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// Observations, recorded scans, scan policies and the schedule.

func obsByPort(t *testing.T, f *fixture, assetID int64) map[string]store.Observation {
	t.Helper()
	m := map[string]store.Observation{}
	for _, o := range listObs(t, f, sys, store.ObservationFilter{AssetID: assetID}) {
		m[fmt.Sprintf("%s/%d/%s", o.IP, o.Port, o.Proto)] = o
	}
	return m
}

func testRecordScan(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	a := f.asset(t, sys, f.a1, asset.KindCIDR, "192.0.2.0/28")
	const ip = "192.0.2.10"
	t1 := time.Date(2026, 3, 1, 10, 0, 0, 123456000, time.UTC)
	t2 := t1.Add(time.Hour + 500*time.Millisecond)
	t3 := t2.Add(24 * time.Hour)
	cert := json.RawMessage(`{"subject": "CN=www.example.vn", "not_after": "2027-01-01"}`)
	r1 := store.ScanReport{JobID: "rec-1", OrgID: f.a1.ID, AssetID: a.ID, At: t1, Hosts: []string{ip}, Ports: []int{22, 80, 443, 8080},
		Open: []store.Observation{
			{IP: ip, Port: 22, Proto: "tcp", Service: "ssh", Product: "OpenSSH", Version: "9.6", Banner: "SSH-2.0-OpenSSH_9.6"},
			{IP: ip, Port: 80, Service: "http", Product: "Apache httpd", Version: "2.4.58", CPE: "cpe:2.3:a:apache:http_server:2.4.58"},
			{IP: ip, Port: 443, Service: "https", TLS: true, Cert: cert, Host: "www.example.vn"},
		}}
	must(t, s.RecordScan(ctx, r1), "record r1")
	m := obsByPort(t, f, a.ID)
	if len(m) != 3 {
		t.Fatalf("after r1: %d observations, want 3", len(m))
	}
	ssh, web, tls := m[ip+"/22/tcp"], m[ip+"/80/tcp"], m[ip+"/443/tcp"]
	if ssh.State != "open" || ssh.OrgID != f.a1.ID || ssh.Product != "OpenSSH" || ssh.Version != "9.6" || ssh.Banner == "" ||
		!ssh.FirstSeen.Equal(t1) || !ssh.LastSeen.Equal(t1) || ssh.ClosedAt != nil || ssh.JobID != "rec-1" || ssh.ID == 0 {
		t.Fatalf("ssh after r1: %+v", ssh)
	}
	if web.CPE == "" || web.Product != "Apache httpd" || web.TLS {
		t.Fatalf("http after r1: %+v", web)
	}
	if !tls.TLS || !jsonEqual(tls.Cert, cert) || tls.Host != "www.example.vn" {
		t.Fatalf("https after r1: %+v", tls)
	}

	// r2: 22 gone; 80 seen with a new product; 443 seen bare (no
	// fingerprint): what it knew stays.
	r2 := store.ScanReport{JobID: "rec-2", OrgID: f.a1.ID, AssetID: a.ID, At: t2, Hosts: []string{ip}, Ports: []int{22, 80, 443, 8080},
		Open: []store.Observation{
			{IP: ip, Port: 80, Service: "http", Product: "nginx", Version: "1.25.4"},
			{IP: ip, Port: 443},
		}}
	must(t, s.RecordScan(ctx, r2), "record r2")
	m = obsByPort(t, f, a.ID)
	ssh, web, tls = m[ip+"/22/tcp"], m[ip+"/80/tcp"], m[ip+"/443/tcp"]
	if ssh.State != "closed" || ssh.ClosedAt == nil || !ssh.ClosedAt.Equal(t2) || ssh.JobID != "rec-2" || !ssh.LastSeen.Equal(t1) || ssh.Product != "OpenSSH" {
		t.Fatalf("ssh after r2: %+v", ssh)
	}
	if web.State != "open" || web.Product != "nginx" || web.Version != "1.25.4" || web.CPE != "cpe:2.3:a:apache:http_server:2.4.58" ||
		!web.FirstSeen.Equal(t1) || !web.LastSeen.Equal(t2) || web.JobID != "rec-2" {
		t.Fatalf("http after r2: %+v", web)
	}
	if tls.Service != "https" || !tls.TLS || !jsonEqual(tls.Cert, cert) || tls.Host != "www.example.vn" || !tls.LastSeen.Equal(t2) {
		t.Fatalf("https after r2: %+v", tls)
	}
	if len(m) != 3 {
		t.Fatalf("after r2: %d observations, want 3 (8080 was never open)", len(m))
	}

	// Replays change nothing: the same report, and an older one arriving late.
	snapshot := listObs(t, f, sys, store.ObservationFilter{AssetID: a.ID})
	must(t, s.RecordScan(ctx, r2), "replay r2")
	must(t, s.RecordScan(ctx, r1), "replay r1 after r2")
	if again := listObs(t, f, sys, store.ObservationFilter{AssetID: a.ID}); !reflect.DeepEqual(again, snapshot) {
		t.Fatalf("replay changed observations:\n%+v\nwant\n%+v", again, snapshot)
	}

	// r3: 22 back (reopened, history kept), 80 and 443 gone.
	r3 := store.ScanReport{JobID: "rec-3", AssetID: a.ID, At: t3, Hosts: []string{ip}, Ports: []int{22, 80, 443},
		Open: []store.Observation{{IP: ip, Port: 22, Service: "ssh", Product: "OpenSSH", Version: "9.7"}}}
	must(t, s.RecordScan(ctx, r3), "record r3 (OrgID taken from the asset)")
	m = obsByPort(t, f, a.ID)
	ssh, web, tls = m[ip+"/22/tcp"], m[ip+"/80/tcp"], m[ip+"/443/tcp"]
	if ssh.State != "open" || ssh.ClosedAt != nil || !ssh.FirstSeen.Equal(t1) || !ssh.LastSeen.Equal(t3) || ssh.Version != "9.7" || ssh.JobID != "rec-3" {
		t.Fatalf("ssh after r3: %+v", ssh)
	}
	for _, o := range []store.Observation{web, tls} {
		if o.State != "closed" || o.ClosedAt == nil || !o.ClosedAt.Equal(t3) || o.JobID != "rec-3" {
			t.Fatalf("port %d after r3: %+v", o.Port, o)
		}
	}
	open := listObs(t, f, sys, store.ObservationFilter{AssetID: a.ID, State: "open"})
	closed := listObs(t, f, sys, store.ObservationFilter{AssetID: a.ID, State: "closed"})
	if len(open) != 1 || open[0].Port != 22 || len(closed) != 2 {
		t.Fatalf("open %+v, closed %+v", open, closed)
	}

	// Hosts bound what closes: another host's report, or a port not probed,
	// closes nothing of this one.
	t4 := t3.Add(time.Hour)
	must(t, s.RecordScan(ctx, store.ScanReport{JobID: "rec-4", AssetID: a.ID, At: t4, Hosts: []string{"192.0.2.11"}, Ports: []int{22}}), "other host")
	must(t, s.RecordScan(ctx, store.ScanReport{JobID: "rec-5", AssetID: a.ID, At: t4, Hosts: []string{ip}, Ports: []int{3389}}), "other port")
	if o := obsByPort(t, f, a.ID)[ip+"/22/tcp"]; o.State != "open" {
		t.Fatalf("ssh closed by a report that did not probe it: %+v", o)
	}

	// UDP: Ports are the TCP port set, so a report without UDPPorts (no
	// UDP scan) closes no udp observation.
	t5 := t4.Add(time.Hour)
	must(t, s.RecordScan(ctx, store.ScanReport{JobID: "rec-6", AssetID: a.ID, At: t5, Hosts: []string{ip}, Ports: []int{53},
		Open: []store.Observation{{IP: ip, Port: 53, Proto: "UDP", Service: "domain"}, {IP: ip, Port: 53, Service: "domain"}}}), "udp and tcp 53")
	must(t, s.RecordScan(ctx, store.ScanReport{JobID: "rec-7", AssetID: a.ID, At: t5.Add(time.Hour), Hosts: []string{ip}, Ports: []int{53}}), "53 gone")
	m = obsByPort(t, f, a.ID)
	if u, tc := m[ip+"/53/udp"], m[ip+"/53/tcp"]; u.State != "open" || tc.State != "closed" {
		t.Fatalf("after closing 53: udp %+v, tcp %+v", u, tc)
	}
	// A UDP scan of 53 on another host, or of another UDP port, closes
	// nothing; one of this host that no longer hears 53 closes the udp
	// observation alone.
	must(t, s.RecordScan(ctx, store.ScanReport{JobID: "rec-7a", AssetID: a.ID, At: t5.Add(2 * time.Hour), UDPHosts: []string{"192.0.2.11"}, UDPPorts: []int{53}}), "udp other host")
	must(t, s.RecordScan(ctx, store.ScanReport{JobID: "rec-7b", AssetID: a.ID, At: t5.Add(2 * time.Hour), UDPHosts: []string{ip}, UDPPorts: []int{161}}), "udp other port")
	if u := obsByPort(t, f, a.ID)[ip+"/53/udp"]; u.State != "open" {
		t.Fatalf("udp 53 closed by a report that did not probe it: %+v", u)
	}
	t7 := t5.Add(3 * time.Hour)
	must(t, s.RecordScan(ctx, store.ScanReport{JobID: "rec-7c", AssetID: a.ID, At: t7, Hosts: []string{ip}, Ports: []int{22},
		UDPHosts: []string{ip}, UDPPorts: []int{53}, Open: []store.Observation{{IP: ip, Port: 22}}}), "udp 53 gone")
	m = obsByPort(t, f, a.ID)
	if u, ssh := m[ip+"/53/udp"], m[ip+"/22/tcp"]; u.State != "closed" || u.ClosedAt == nil || !u.ClosedAt.Equal(t7) || u.JobID != "rec-7c" || ssh.State != "open" {
		t.Fatalf("after the UDP scan without 53: udp %+v, ssh %+v", u, ssh)
	}

	// IPv6 in canonical form, and the IP filter takes any spelling.
	must(t, s.RecordScan(ctx, store.ScanReport{JobID: "rec-8", AssetID: a.ID, At: t5, Hosts: []string{"2001:DB8:0::1"}, Ports: []int{443},
		Open: []store.Observation{{IP: "2001:DB8::0:1", Port: 443}}}), "ipv6")
	v6 := listObs(t, f, sys, store.ObservationFilter{IP: "2001:db8:0:0::1"})
	if len(v6) != 1 || v6[0].IP != "2001:db8::1" {
		t.Fatalf("ipv6 observations: %+v", v6)
	}

	// Order within a second: a whole-second report replayed after one half
	// a second later does not undo it.
	t6 := time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)
	rw := store.ScanReport{JobID: "rec-10", AssetID: a.ID, At: t6, Hosts: []string{"192.0.2.12"}, Ports: []int{25},
		Open: []store.Observation{{IP: "192.0.2.12", Port: 25}}}
	must(t, s.RecordScan(ctx, rw), "whole second")
	must(t, s.RecordScan(ctx, store.ScanReport{JobID: "rec-11", AssetID: a.ID, At: t6.Add(500 * time.Millisecond), Hosts: []string{"192.0.2.12"}, Ports: []int{25}}), "half a second later")
	must(t, s.RecordScan(ctx, rw), "replay the whole second")
	if o := obsByPort(t, f, a.ID)["192.0.2.12/25/tcp"]; o.State != "closed" || !o.ClosedAt.Equal(t6.Add(500*time.Millisecond)) || o.JobID != "rec-11" {
		t.Fatalf("sub-second order: %+v", o)
	}

	// Reports for an asset that is not there, or under the wrong
	// organization, store nothing.
	wantErr(t, s.RecordScan(ctx, store.ScanReport{JobID: "rec-9", AssetID: 999999, At: t5, Hosts: []string{ip}}), store.ErrNotFound, "unknown asset")
	wantErr(t, s.RecordScan(ctx, store.ScanReport{JobID: "rec-9", OrgID: f.b.ID, AssetID: a.ID, At: t5,
		Open: []store.Observation{{IP: ip, Port: 9999}}}), store.ErrInvalid, "wrong organization")
	if _, ok := obsByPort(t, f, a.ID)[ip+"/9999/tcp"]; ok {
		t.Fatal("a refused report stored an observation")
	}
}

func testRecordScanInvalid(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	a := f.asset(t, sys, f.a1, asset.KindIPv4, "192.0.2.50")
	const ip = "192.0.2.50"
	at := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	must(t, s.RecordScan(ctx, store.ScanReport{JobID: "inv-0", AssetID: a.ID, At: at, Hosts: []string{ip}, Ports: []int{22},
		Open: []store.Observation{{IP: ip, Port: 22}}}), "record a valid report")
	before := listObs(t, f, sys, store.ObservationFilter{AssetID: a.ID})
	good := store.Observation{IP: ip, Port: 80}
	later := at.Add(time.Hour)
	for name, r := range map[string]store.ScanReport{
		"no job":        {AssetID: a.ID, At: later, Open: []store.Observation{good}},
		"no asset":      {JobID: "inv-1", At: later, Open: []store.Observation{good}},
		"no time":       {JobID: "inv-1", AssetID: a.ID, Open: []store.Observation{good}},
		"bad host":      {JobID: "inv-1", AssetID: a.ID, At: later, Hosts: []string{ip, "192.0.2.256"}, Ports: []int{22}, Open: []store.Observation{good}},
		"host a name":   {JobID: "inv-1", AssetID: a.ID, At: later, Hosts: []string{"www.example.vn"}, Ports: []int{22}, Open: []store.Observation{good}},
		"port 0":        {JobID: "inv-1", AssetID: a.ID, At: later, Hosts: []string{ip}, Ports: []int{22, 0}, Open: []store.Observation{good}},
		"port 65536":    {JobID: "inv-1", AssetID: a.ID, At: later, Hosts: []string{ip}, Ports: []int{65536}, Open: []store.Observation{good}},
		"open port 0":   {JobID: "inv-1", AssetID: a.ID, At: later, Open: []store.Observation{good, {IP: ip}}},
		"open bad ip":   {JobID: "inv-1", AssetID: a.ID, At: later, Open: []store.Observation{good, {IP: "fe80::1%eth0", Port: 22}}},
		"open no ip":    {JobID: "inv-1", AssetID: a.ID, At: later, Open: []store.Observation{good, {Port: 22}}},
		"bad proto":     {JobID: "inv-1", AssetID: a.ID, At: later, Open: []store.Observation{good, {IP: ip, Port: 22, Proto: "sctp"}}},
		"bad udp host":  {JobID: "inv-1", AssetID: a.ID, At: later, UDPHosts: []string{"192.0.2.256"}, UDPPorts: []int{53}, Open: []store.Observation{good}},
		"udp port 0":    {JobID: "inv-1", AssetID: a.ID, At: later, UDPHosts: []string{ip}, UDPPorts: []int{0}, Open: []store.Observation{good}},
		"bad cert json": {JobID: "inv-1", AssetID: a.ID, At: later, Open: []store.Observation{good, {IP: ip, Port: 443, Cert: json.RawMessage("{")}}},
	} {
		wantErr(t, s.RecordScan(ctx, r), store.ErrInvalid, name)
	}
	if after := listObs(t, f, sys, store.ObservationFilter{AssetID: a.ID}); !reflect.DeepEqual(after, before) {
		t.Fatalf("refused reports changed observations:\n%+v\nwant\n%+v", after, before)
	}
}

// testRecordScanFullRange records reports over every TCP port, with
// thousands open, as a full scan of a tarpit would.
func testRecordScanFullRange(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	a := f.asset(t, sys, f.a11, asset.KindIPv4, "192.0.2.60")
	const ip = "192.0.2.60"
	ports := make([]int, 65535)
	for i := range ports {
		ports[i] = i + 1
	}
	var open []store.Observation
	for p := 1; p <= 65535; p += 33 {
		open = append(open, store.Observation{IP: ip, Port: p, Service: "unknown"})
	}
	at := time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)
	start := time.Now()
	must(t, s.RecordScan(ctx, store.ScanReport{JobID: "full-1", AssetID: a.ID, At: at, Hosts: []string{ip}, Ports: ports, Open: open}), "full range")
	first := time.Since(start)
	half := len(open) / 2
	start = time.Now()
	must(t, s.RecordScan(ctx, store.ScanReport{JobID: "full-2", AssetID: a.ID, At: at.Add(time.Hour), Hosts: []string{ip}, Ports: ports, Open: open[:half]}), "full range, half closed")
	t.Logf("%d open of 65535 ports: %v; then %d closed: %v", len(open), first, len(open)-half, time.Since(start))
	page := store.PageRequest{Limit: store.MaxLimit}
	nOpen := len(listObs(t, f, sys, store.ObservationFilter{AssetID: a.ID, State: "open", PageRequest: page}))
	nClosed := len(listObs(t, f, sys, store.ObservationFilter{AssetID: a.ID, State: "closed", PageRequest: page}))
	if nOpen != half || nClosed != len(open)-half {
		t.Fatalf("open %d, closed %d; want %d and %d", nOpen, nClosed, half, len(open)-half)
	}
}

func testObservationFilters(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	// An organization of its own, so other parts' observations stay out.
	top := f.org(t, sys, f.a.ID, "FLT", org.KindAgency)
	sub := f.org(t, sys, top.ID, "FLT1", org.KindUnit)
	x := f.asset(t, sys, top, asset.KindCIDR, "203.0.113.0/29")
	y := f.asset(t, sys, sub, asset.KindIPv4, "203.0.113.9")
	at := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
	must(t, s.RecordScan(ctx, store.ScanReport{JobID: "flt-1", AssetID: x.ID, At: at, Hosts: []string{"203.0.113.1", "203.0.113.2"}, Ports: []int{22, 80, 443},
		Open: []store.Observation{
			{IP: "203.0.113.1", Port: 22, Service: "ssh"},
			{IP: "203.0.113.1", Port: 443, Service: "https"},
			{IP: "203.0.113.2", Port: 80, Service: "http"},
			{IP: "203.0.113.2", Port: 443, Service: "https"},
		}}), "record x")
	must(t, s.RecordScan(ctx, store.ScanReport{JobID: "flt-2", AssetID: y.ID, At: at, Hosts: []string{"203.0.113.9"}, Ports: []int{443},
		Open: []store.Observation{{IP: "203.0.113.9", Port: 443, Service: "https"}}}), "record y")
	must(t, s.RecordScan(ctx, store.ScanReport{JobID: "flt-3", AssetID: x.ID, At: at.Add(time.Hour), Hosts: []string{"203.0.113.2"}, Ports: []int{80, 443},
		Open: []store.Observation{{IP: "203.0.113.2", Port: 443, Service: "https"}}}), "close x 80")

	viewer := as(auth.RoleViewer, top)
	key := func(o store.Observation) string { return fmt.Sprintf("%s/%d", o.IP, o.Port) }
	for _, tc := range []struct {
		name string
		of   store.ObservationFilter
		want []string
	}{
		{"asset x", store.ObservationFilter{AssetID: x.ID}, []string{"203.0.113.1/22", "203.0.113.1/443", "203.0.113.2/80", "203.0.113.2/443"}},
		{"org FLT1", store.ObservationFilter{OrgID: sub.ID}, []string{"203.0.113.9/443"}},
		{"ip", store.ObservationFilter{OrgID: top.ID, IP: "203.0.113.2"}, []string{"203.0.113.2/80", "203.0.113.2/443"}},
		{"port", store.ObservationFilter{OrgID: top.ID, Port: 443}, []string{"203.0.113.1/443", "203.0.113.2/443", "203.0.113.9/443"}},
		{"service", store.ObservationFilter{AssetID: x.ID, Service: "https"}, []string{"203.0.113.1/443", "203.0.113.2/443"}},
		{"closed", store.ObservationFilter{AssetID: x.ID, State: "closed"}, []string{"203.0.113.2/80"}},
		{"open", store.ObservationFilter{AssetID: x.ID, State: "open"}, []string{"203.0.113.1/22", "203.0.113.1/443", "203.0.113.2/443"}},
		{"ip and port", store.ObservationFilter{IP: "203.0.113.1", Port: 22, AssetID: x.ID}, []string{"203.0.113.1/22"}},
		{"nothing", store.ObservationFilter{AssetID: x.ID, Service: "ftp"}, nil},
	} {
		of := tc.of
		of.Limit = 2
		var got []string
		prev := int64(0)
		for _, o := range listObs(t, f, viewer, of) {
			if o.ID <= prev {
				t.Fatalf("%s: not in id order", tc.name)
			}
			prev = o.ID
			got = append(got, key(o))
		}
		slices.Sort(got)
		want := slices.Clone(tc.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("%s: %v, want %v", tc.name, got, want)
		}
	}
	for name, of := range map[string]store.ObservationFilter{
		"bad ip":    {IP: "203.0.113"},
		"bad port":  {Port: 70000},
		"bad state": {State: "filtered"},
		"bad limit": {PageRequest: store.PageRequest{Limit: -1}},
	} {
		_, err := s.ListObservations(ctx, viewer, of)
		wantErr(t, err, store.ErrInvalid, name)
	}
}

func testScanPolicy(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	member := as(auth.RoleOrgMember, f.a)
	sp, err := s.GetScanPolicy(ctx, as(auth.RoleViewer, f.a), f.a1.ID)
	must(t, err, "get unset policy")
	if sp.Exclusions == nil || sp.Blackouts == nil || len(sp.Exclusions)+len(sp.Blackouts) != 0 {
		t.Fatalf("unset policy = %#v, want empty (not nil) lists", sp)
	}
	_, err = s.GetScanPolicy(ctx, sys, 999999)
	wantErr(t, err, store.ErrNotFound, "policy of an unknown org")

	in := store.ScanPolicy{
		Exclusions: []string{" 192.0.2.1 ", "198.51.100.7/24", "Intranet.Example.VN.", "2001:DB8::1", "intranet.example.vn", "mail"},
		Blackouts:  []store.Window{{Days: []int{5, 1, 1}, Start: "22:00", End: "06:00"}, {Days: []int{0}, Start: "00:00", End: "23:59"}},
		// The organization opts in to default-password attempts and UDP.
		Credentials: true,
		UDP:         true,
	}
	must(t, s.SetScanPolicy(ctx, member, f.a1.ID, in), "set policy")
	want := store.ScanPolicy{
		Exclusions:  []string{"192.0.2.1", "198.51.100.0/24", "intranet.example.vn", "2001:db8::1", "mail"},
		Blackouts:   []store.Window{{Days: []int{1, 5}, Start: "22:00", End: "06:00"}, {Days: []int{0}, Start: "00:00", End: "23:59"}},
		Credentials: true,
		UDP:         true,
	}
	sp, err = s.GetScanPolicy(ctx, member, f.a1.ID)
	must(t, err, "get policy")
	if !reflect.DeepEqual(sp, want) {
		t.Fatalf("policy = %+v, want %+v", sp, want)
	}
	es := auditOf(t, s, "scan_policy", f.a1.ID)
	wantAudit(t, es, member.Name, "scanpolicy.update")
	var before, after store.ScanPolicy
	if err := json.Unmarshal(es[0].Before, &before); err != nil || len(before.Exclusions)+len(before.Blackouts) != 0 {
		t.Fatalf("audit before = %s (%v), want the empty policy", es[0].Before, err)
	}
	if err := json.Unmarshal(es[0].After, &after); err != nil || !reflect.DeepEqual(after, want) {
		t.Fatalf("audit after = %s (%v)", es[0].After, err)
	}
	must(t, s.SetScanPolicy(ctx, member, f.a1.ID, in), "set the same policy again")
	if n := len(auditOf(t, s, "scan_policy", f.a1.ID)); n != 1 {
		t.Fatalf("an unchanged policy wrote audit entries: %d", n)
	}
	must(t, s.SetScanPolicy(ctx, member, f.a1.ID, store.ScanPolicy{Exclusions: []string{"192.0.2.1"}}), "shrink policy")
	if sp, err := s.GetScanPolicy(ctx, member, f.a1.ID); err != nil || sp.Credentials || sp.UDP {
		t.Fatalf("a policy without credentials or UDP still opts in: %+v %v", sp, err)
	}
	es = auditOf(t, s, "scan_policy", f.a1.ID)
	wantAudit(t, es, member.Name, "scanpolicy.update", "scanpolicy.update")
	if err := json.Unmarshal(es[1].Before, &before); err != nil || !reflect.DeepEqual(before, want) {
		t.Fatalf("second audit before = %s (%v)", es[1].Before, err)
	}
	// Policies are per organization, not inherited by listing.
	if sp, err := s.GetScanPolicy(ctx, member, f.a11.ID); err != nil || len(sp.Exclusions) != 0 {
		t.Fatalf("A11 policy %+v %v", sp, err)
	}

	stored, err := s.GetScanPolicy(ctx, sys, f.a1.ID)
	must(t, err, "get policy")
	many := make([]string, 1001)
	for i := range many {
		many[i] = fmt.Sprintf("10.%d.%d.1", i/256, i%256)
	}
	win := store.Window{Days: []int{1}, Start: "01:00", End: "02:00"}
	for name, bad := range map[string]store.ScanPolicy{
		"bad ipv4":        {Exclusions: []string{"300.1.1.1"}},
		"leading zero":    {Exclusions: []string{"010.1.1.1"}},
		"wildcard":        {Exclusions: []string{"*.example.vn"}},
		"slash zero":      {Exclusions: []string{"10.0.0.0/0"}},
		"empty":           {Exclusions: []string{""}},
		"url":             {Exclusions: []string{"https://example.vn/"}},
		"1001 exclusions": {Exclusions: many},
		"day 7":           {Blackouts: []store.Window{{Days: []int{7}, Start: "01:00", End: "02:00"}}},
		"day -1":          {Blackouts: []store.Window{{Days: []int{-1}, Start: "01:00", End: "02:00"}}},
		"no days":         {Blackouts: []store.Window{{Start: "01:00", End: "02:00"}}},
		"24:00":           {Blackouts: []store.Window{{Days: []int{1}, Start: "24:00", End: "02:00"}}},
		"7:00":            {Blackouts: []store.Window{{Days: []int{1}, Start: "7:00", End: "08:00"}}},
		"12:60":           {Blackouts: []store.Window{{Days: []int{1}, Start: "01:00", End: "12:60"}}},
		"empty end":       {Blackouts: []store.Window{{Days: []int{1}, Start: "01:00"}}},
		"start is end":    {Blackouts: []store.Window{{Days: []int{1}, Start: "01:00", End: "01:00"}}},
		"51 windows":      {Blackouts: slices.Repeat([]store.Window{win}, 51)},
	} {
		wantErr(t, s.SetScanPolicy(ctx, member, f.a1.ID, bad), store.ErrInvalid, name)
	}
	if sp, err := s.GetScanPolicy(ctx, sys, f.a1.ID); err != nil || !reflect.DeepEqual(sp, stored) {
		t.Fatalf("refused policies changed the stored one: %+v %v", sp, err)
	}
	must(t, s.SetScanPolicy(ctx, member, f.a11.ID, store.ScanPolicy{Exclusions: many[:1000], Blackouts: slices.Repeat([]store.Window{win}, 50)}), "largest policy")
	wantErr(t, s.SetScanPolicy(ctx, sys, 999999, store.ScanPolicy{}), store.ErrNotFound, "unknown org")
	analyst := auth.Principal{Name: "analyst", Role: auth.RoleAnalyst}
	if _, err := s.GetScanPolicy(ctx, analyst, f.a1.ID); err != nil {
		t.Fatalf("analyst reads a policy: %v", err)
	}
	wantErr(t, s.SetScanPolicy(ctx, analyst, f.a1.ID, store.ScanPolicy{}), store.ErrForbidden, "analyst sets a policy")
}

func testDueAssets(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	now := time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)
	var d [7]asset.Asset
	for i := range d {
		d[i] = f.asset(t, sys, f.a, asset.KindHostname, fmt.Sprintf("due%d.example.vn", i))
	}
	// d0: no schedule row. d1: a row that says never scanned.
	must(t, s.SetAssetSchedule(ctx, d[1].ID, time.Time{}, time.Time{}), "d1 never scanned")
	must(t, s.SetAssetSchedule(ctx, d[2].ID, now.Add(-48*time.Hour), now.Add(-time.Hour)), "d2 due an hour ago")
	must(t, s.SetAssetSchedule(ctx, d[3].ID, now.Add(-72*time.Hour), now.Add(-2*time.Hour)), "d3 due two hours ago")
	must(t, s.SetAssetSchedule(ctx, d[4].ID, now.Add(-time.Hour), now.Add(time.Hour)), "d4 due later")
	must(t, s.SetAssetSchedule(ctx, d[5].ID, now.Add(-24*time.Hour), now), "d5 due now")
	must(t, s.SetAssetSchedule(ctx, d[6].ID, time.Time{}, now.Add(-time.Minute)), "d6 never scanned, due")
	wantErr(t, s.SetAssetSchedule(ctx, 999999, now, now), store.ErrNotFound, "unknown asset")

	order := func(at time.Time) ([]int64, map[int64]store.DueAsset) {
		t.Helper()
		due, err := s.DueAssets(ctx, at, store.MaxLimit)
		must(t, err, "due assets")
		mine := map[int64]bool{}
		for _, a := range d {
			mine[a.ID] = true
		}
		var ids []int64
		by := map[int64]store.DueAsset{}
		seenScanned := false
		for _, x := range due {
			if x.LastScanAt != nil {
				seenScanned = true
			} else if seenScanned {
				t.Fatalf("never-scanned asset %d after a scanned one", x.AssetID)
			}
			if mine[x.AssetID] {
				ids = append(ids, x.AssetID)
				by[x.AssetID] = x
			}
		}
		return ids, by
	}
	ids, by := order(now)
	if want := []int64{d[0].ID, d[1].ID, d[6].ID, d[3].ID, d[2].ID, d[5].ID}; !slices.Equal(ids, want) {
		t.Fatalf("due order %v, want %v", ids, want)
	}
	if x := by[d[3].ID]; x.OrgID != f.a.ID || x.LastScanAt == nil || !x.LastScanAt.Equal(now.Add(-72*time.Hour)) ||
		x.NextScanAt == nil || !x.NextScanAt.Equal(now.Add(-2*time.Hour)) {
		t.Fatalf("d3 = %+v", x)
	}
	if x := by[d[0].ID]; x.LastScanAt != nil || x.NextScanAt != nil || x.OrgID != f.a.ID {
		t.Fatalf("d0 = %+v", x)
	}

	// Rescheduling moves an asset; time passing makes d4 due.
	must(t, s.SetAssetSchedule(ctx, d[0].ID, now, now.Add(24*time.Hour)), "d0 scanned")
	must(t, s.SetAssetSchedule(ctx, d[2].ID, now.Add(-48*time.Hour), now.Add(-3*time.Hour)), "d2 earlier")
	ids, _ = order(now.Add(time.Hour))
	if want := []int64{d[1].ID, d[6].ID, d[2].ID, d[3].ID, d[5].ID, d[4].ID}; !slices.Equal(ids, want) {
		t.Fatalf("due order an hour later %v, want %v", ids, want)
	}

	due, err := s.DueAssets(ctx, now, 1)
	must(t, err, "due limit 1")
	if len(due) != 1 {
		t.Fatalf("limit 1 gave %d", len(due))
	}
	_, err = s.DueAssets(ctx, now, -1)
	wantErr(t, err, store.ErrInvalid, "negative limit")
}

func testScanHistoryAfterAssetDelete(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	hist := f.org(t, sys, f.a.ID, "HIST", org.KindUnit)
	a := f.asset(t, sys, hist, asset.KindIPv4, "192.0.2.70")
	j := f.job(t, sys, "hist-1", a, "hn")
	at := time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)
	must(t, s.RecordScan(ctx, store.ScanReport{JobID: j.ID, AssetID: a.ID, At: at, Hosts: []string{"192.0.2.70"}, Ports: []int{443},
		Open: []store.Observation{{IP: "192.0.2.70", Port: 443}}}), "record")
	must(t, s.SetJobState(ctx, j.ID, store.JobDone, "w1", "", nil), "done")
	must(t, s.SetAssetSchedule(ctx, a.ID, at, at.Add(time.Hour)), "schedule")
	must(t, s.SetScanPolicy(ctx, sys, hist.ID, store.ScanPolicy{Exclusions: []string{"192.0.2.71"}}), "policy")

	must(t, s.DeleteAsset(ctx, sys, a.ID), "delete asset")
	admin := as(auth.RoleOrgAdmin, f.a)
	got, err := s.GetScanJob(ctx, admin, j.ID)
	must(t, err, "job of a deleted asset")
	if got.AssetID != a.ID || got.State != store.JobDone || got.OrgID != hist.ID {
		t.Fatalf("job after delete: %+v", got)
	}
	if js := listJobs(t, f, admin, store.JobFilter{AssetID: a.ID}); len(js) != 1 {
		t.Fatalf("%d jobs listed by the deleted asset's id", len(js))
	}
	if obs := listObs(t, f, admin, store.ObservationFilter{OrgID: hist.ID}); len(obs) != 1 || obs[0].AssetID != a.ID || obs[0].State != "open" {
		t.Fatalf("observations after delete: %+v", obs)
	}
	due, err := s.DueAssets(ctx, at.Add(48*time.Hour), store.MaxLimit)
	must(t, err, "due")
	for _, x := range due {
		if x.AssetID == a.ID {
			t.Fatal("a deleted asset is due")
		}
	}
	wantErr(t, s.SetAssetSchedule(ctx, a.ID, at, at), store.ErrNotFound, "schedule a deleted asset")
	wantErr(t, s.RecordScan(ctx, store.ScanReport{JobID: "hist-2", AssetID: a.ID, At: at.Add(time.Hour)}), store.ErrNotFound, "record for a deleted asset")
	nj := store.ScanJob{ID: "hist-2", AssetID: a.ID, Type: "portscan"}
	wantErr(t, s.CreateScanJob(ctx, sys, &nj), store.ErrNotFound, "scan a deleted asset")

	// Scan history keeps its organization: deleting it is a conflict.
	err = s.DeleteOrg(ctx, sys, hist.ID)
	wantErr(t, err, store.ErrConflict, "delete an organization with scan history")
	if errors.Is(err, store.ErrNotFound) {
		t.Fatal("conflict reported as not found")
	}
	if _, err := s.GetOrg(ctx, sys, hist.ID); err != nil {
		t.Fatalf("org with history gone: %v", err)
	}
}
