package detect

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/intel/match"
	"github.com/rampart-cert/rampart/internal/sensor"
	"github.com/rampart-cert/rampart/internal/sensor/eve"
)

var t0 = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

func mustNew(t *testing.T, cfg Config, ind Indicators) *Detector {
	t.Helper()
	d, err := New(cfg, ind)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func kinds(ds []sensor.Detection) map[sensor.DetectionKind][]sensor.Detection {
	m := map[sensor.DetectionKind][]sensor.Detection{}
	for _, d := range ds {
		m[d.Kind] = append(m[d.Kind], d)
	}
	return m
}

// replay feeds an EVE sample of the eve package's testdata to d.
func replay(t *testing.T, d *Detector, file string) {
	t.Helper()
	f, err := os.Open("../eve/testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := eve.NewParser()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, eve.MaxLine)
	for sc.Scan() {
		var ev sensor.Event
		if ok, err := p.Parse(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		} else if ok {
			d.Observe(&ev)
		}
	}
}

func TestIndicatorHitsOnSample(t *testing.T) {
	m := match.New()
	if err := m.Apply([]match.Change{
		{Kind: intel.KindIPv4, Value: "91.240.118.172", ID: 7},
		{Kind: intel.KindDomain, Value: "tonysommers.net", ID: 8},
		{Kind: intel.KindDomain, Value: "bing.com", ID: 9},
	}); err != nil {
		t.Fatal(err)
	}
	vals := map[int64]string{7: "91.240.118.172", 8: "tonysommers.net", 9: "bing.com"}
	d := mustNew(t, Config{Describe: func(id int64) string { return vals[id] }}, m)
	replay(t, d, "suricatalog_eve-2_first200.json")
	got := kinds(d.Flush(time.Time{}))[sensor.DetectIndicatorHit]
	want := map[string]bool{"91.240.118.172": false, "tonysommers.net": false, "bing.com": false}
	client := netip.MustParseAddr("10.2.8.102")
	for _, h := range got {
		if _, ok := want[h.Indicator]; !ok || h.Target != client || h.Count == 0 || h.First.After(h.Last) {
			t.Errorf("unexpected hit %+v", h)
			continue
		}
		want[h.Indicator] = true
		if h.Indicator == "bing.com" && !strings.HasSuffix(h.Name, "bing.com") {
			t.Errorf("bing.com hit names %q", h.Name)
		}
		// www.bing.com was asked of the resolver, then reached over TLS
		// at 204.79.197.200: the server is the source, never the resolver.
		if h.Name == "www.bing.com" && h.Source != netip.MustParseAddr("204.79.197.200") {
			t.Errorf("www.bing.com hit from %v", h.Source)
		}
		if h.Indicator == "91.240.118.172" && (h.Source != netip.MustParseAddr("91.240.118.172") || h.Count < 2) {
			t.Errorf("address hit %+v", h)
		}
	}
	for ind, seen := range want {
		if !seen {
			t.Errorf("no hit for %s in %v", ind, got)
		}
	}
	if s := d.Stats(); s.Hits == 0 || s.Events != 189 {
		t.Errorf("stats %+v", s)
	}
	// Nothing new: nothing reported again.
	if again := d.Flush(time.Time{}); len(again) != 0 {
		t.Errorf("reported again: %v", again)
	}
}

func TestAlertsAndSSHOnSample(t *testing.T) {
	d := mustNew(t, Config{AlertSeverity: 2, SSHSessions: 2}, nil)
	replay(t, d, "suricatalog_eve_large_first120.json")
	got := kinds(d.Flush(t0.AddDate(10, 0, 0)))
	sources := map[string]bool{}
	for _, a := range got[sensor.DetectAlert] {
		sources[a.Source.String()] = true
		if a.Target != netip.MustParseAddr("192.168.55.199") || a.Port != 22 {
			t.Errorf("alert %+v", a)
		}
	}
	if !sources["180.101.88.221"] || !sources["141.98.11.90"] {
		t.Errorf("alert sources %v", sources)
	}
	// 180.101.88.221 opened two SSH sessions within a minute.
	if bf := got[sensor.DetectSSHBruteForce]; len(bf) != 1 || bf[0].Source != netip.MustParseAddr("180.101.88.221") || bf[0].Port != 22 {
		t.Errorf("ssh: %+v", bf)
	}
}

func flow(src, dst string, port uint16, at time.Duration, bytes, pkts uint64) *sensor.Event {
	return &sensor.Event{Time: t0.Add(at), Type: sensor.TypeFlow, Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst),
		SrcPort: 40000, DstPort: port, Proto: 6, Bytes: bytes, Packets: pkts, Input: "eve"}
}

func TestPortScan(t *testing.T) {
	d := mustNew(t, Config{Member: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}}, nil)
	for p := range 30 { // vertical: 30 ports of one host in 30 s
		d.Observe(flow("198.51.100.7", "203.0.113.10", uint16(1000+p), time.Duration(p)*time.Second, 60, 1))
	}
	for h := range 30 { // horizontal: port 23 on 30 hosts
		d.Observe(flow("198.51.100.8", fmt.Sprintf("203.0.113.%d", 100+h), 23, time.Duration(h)*time.Second, 60, 1))
	}
	for p := range 30 { // outbound: not a scan of the member
		d.Observe(flow("203.0.113.10", "192.0.2.1", uint16(1000+p), time.Duration(p)*time.Second, 60, 1))
	}
	for p := range 30 { // a web server's replies to a member's browser (one-way records)
		ev := flow("192.0.2.80", "203.0.113.10", uint16(40000+p), time.Duration(p)*time.Second, 1500, 1)
		ev.SrcPort = 443
		d.Observe(ev)
	}
	for p := range 30 { // slow: one port a minute never fills a window
		d.Observe(flow("198.51.100.9", "203.0.113.10", uint16(1000+p), time.Duration(p)*time.Minute, 60, 1))
	}
	scans := kinds(d.Flush(t0.Add(35 * time.Second)))[sensor.DetectPortScan]
	if len(scans) != 2 {
		t.Fatalf("scans %+v", scans)
	}
	if s := scans[0]; s.Source != netip.MustParseAddr("198.51.100.7") || s.Target != netip.MustParseAddr("203.0.113.10") || s.Count != 30 || s.Port != 0 {
		t.Errorf("vertical %+v", s)
	}
	if s := scans[1]; s.Source != netip.MustParseAddr("198.51.100.8") || s.Target.IsValid() || s.Port != 23 || !strings.Contains(s.Detail, "over 25 hosts") {
		t.Errorf("horizontal %+v", s)
	}
	// More flows in the same window: reported again with the total.
	d.Observe(flow("198.51.100.7", "203.0.113.10", 22, 40*time.Second, 60, 1))
	if again := d.Flush(t0.Add(45 * time.Second)); len(again) != 1 || again[0].Count != 31 {
		t.Errorf("again %+v", again)
	}
}

func TestBruteForce(t *testing.T) {
	d := mustNew(t, Config{}, nil)
	for i := range 12 {
		d.Observe(&sensor.Event{Time: t0.Add(time.Duration(i) * time.Second), Type: sensor.TypeAuthFail, Src: netip.MustParseAddr("198.51.100.20"),
			Dst: netip.MustParseAddr("10.0.0.5"), DstPort: 22, Signature: "sshd", User: fmt.Sprintf("user%d", i%4), Input: "syslog"})
	}
	for i := range 25 {
		d.Observe(&sensor.Event{Time: t0.Add(time.Duration(i) * time.Second), Type: sensor.TypeAuthFail, Src: netip.MustParseAddr("198.51.100.21"),
			Dst: netip.MustParseAddr("10.0.0.6"), DstPort: 443, Signature: "nginx", Input: "syslog"})
	}
	for i := range 9 { // under the SSH threshold
		d.Observe(&sensor.Event{Time: t0.Add(time.Duration(i) * time.Second), Type: sensor.TypeAuthFail, Src: netip.MustParseAddr("198.51.100.22"), Signature: "sshd"})
	}
	got := kinds(d.Flush(t0.Add(time.Hour)))
	if s := got[sensor.DetectSSHBruteForce]; len(s) != 1 || s[0].Count != 12 || s[0].Port != 22 || s[0].Detail != "12 failed SSH logins for 4 users" {
		t.Errorf("ssh %+v", s)
	}
	if w := got[sensor.DetectWebBruteForce]; len(w) != 1 || w[0].Count != 25 || w[0].Target != netip.MustParseAddr("10.0.0.6") {
		t.Errorf("web %+v", w)
	}
	if d.auth.len() != 0 {
		t.Errorf("closed windows kept: %d", d.auth.len())
	}
}

func TestVolumeSpike(t *testing.T) {
	d := mustNew(t, Config{Member: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}}, nil)
	at := time.Duration(0)
	for i := range 30 { // 5 minutes of 2 MB per 10 s: the baseline
		d.Observe(flow("192.0.2.50", "203.0.113.80", 443, at+time.Duration(i)*10*time.Second, 2_000_000, 2000))
	}
	if ds := d.Flush(t0.Add(300 * time.Second)); len(ds) != 0 {
		t.Fatalf("no spike expected: %+v", ds)
	}
	// Then 1.5 GB in one interval, from many sources, the largest 198.51.100.99.
	for i := range 100 {
		src := fmt.Sprintf("198.51.%d.%d", 100+i/200, i%200+1)
		n := uint64(15_000_000)
		if i == 42 {
			src, n = "198.51.100.99", 20_000_000
		}
		d.Observe(flow(src, "203.0.113.80", 443, 301*time.Second, n, n/100))
	}
	ds := d.Flush(t0.Add(320 * time.Second))
	if len(ds) != 1 || ds[0].Kind != sensor.DetectVolumeSpike || ds[0].Target != netip.MustParseAddr("203.0.113.80") ||
		ds[0].Source != netip.MustParseAddr("198.51.100.99") || !ds[0].First.Equal(t0.Add(300*time.Second)) {
		t.Fatalf("spike %+v", ds)
	}
	// One 500 MB download in an interval is a transfer, not a flood.
	d.Observe(flow("192.0.2.90", "203.0.113.81", 443, 301*time.Second, 500_000_000, 400_000/4))
	// A quiet interval after: no spike.
	d.Observe(flow("192.0.2.50", "203.0.113.80", 443, 325*time.Second, 2_000_000, 2000))
	if ds := d.Flush(t0.Add(340 * time.Second)); len(ds) != 0 {
		t.Errorf("after: %+v", ds)
	}
}

func TestBoundedMemory(t *testing.T) {
	d := mustNew(t, Config{MaxTracked: 100, ScanPorts: 2}, nil)
	for i := range 10_000 {
		src := netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
		d.Observe(&sensor.Event{Time: t0, Type: sensor.TypeFlow, Src: src, Dst: netip.MustParseAddr("10.0.0.1"), DstPort: 22})
		d.Observe(&sensor.Event{Time: t0, Type: sensor.TypeFlow, Src: src, Dst: netip.MustParseAddr("10.0.0.1"), DstPort: 23})
	}
	if d.scans.len() > 100 {
		t.Errorf("%d sources tracked", d.scans.len())
	}
	if s := d.Stats(); s.Evicted != 9_900 {
		t.Errorf("evicted %d", s.Evicted)
	}
	// Evicted sources had crossed the threshold: they were reported.
	if n := len(d.Flush(time.Time{})); n != 10_000 {
		t.Errorf("%d scans reported", n)
	}
}

func TestConfig(t *testing.T) {
	if _, err := New(Config{ScanPorts: 5000}, nil); err == nil {
		t.Error("huge ScanPorts accepted")
	}
	d := mustNew(t, Config{Member: []netip.Prefix{netip.MustParsePrefix("::ffff:203.0.113.0/120")}}, nil)
	if !d.Internal(netip.MustParseAddr("203.0.113.9")) || d.Internal(netip.MustParseAddr("10.0.0.1")) {
		t.Error("member prefixes")
	}
	d = mustNew(t, Config{}, nil)
	if !d.Internal(netip.MustParseAddr("10.0.0.1")) || !d.Internal(netip.MustParseAddr("fd00::1")) || d.Internal(netip.MustParseAddr("8.8.8.8")) {
		t.Error("private default")
	}
}

func TestAlertAggregation(t *testing.T) {
	d := mustNew(t, Config{}, nil)
	for i := range 12 {
		d.Observe(&sensor.Event{Time: t0.Add(time.Duration(i) * time.Second), Type: sensor.TypeAlert, Src: netip.MustParseAddr("10.0.0.9"),
			Dst: netip.MustParseAddr("192.0.2.66"), SrcPort: 50000, DstPort: 443, Severity: 1, Signature: fmt.Sprintf("ET MALWARE %d", i%6)})
	}
	d.Observe(&sensor.Event{Time: t0, Type: sensor.TypeAlert, Src: netip.MustParseAddr("192.0.2.67"), Dst: netip.MustParseAddr("10.0.0.9"), Severity: 3, Signature: "low"})
	got := d.Flush(t0.Add(time.Hour))
	// The internal host's alerts against an outside address are blamed on
	// the outside address; severity 3 is not reported.
	if len(got) != 1 || got[0].Source != netip.MustParseAddr("192.0.2.66") || got[0].Target != netip.MustParseAddr("10.0.0.9") ||
		got[0].Count != 12 || got[0].Port != 443 || got[0].Detail != "12 alerts of severity 1: ET MALWARE 0 (and over 3 other signatures)" {
		t.Errorf("%+v", got)
	}
}
