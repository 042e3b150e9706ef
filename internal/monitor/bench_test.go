package monitor

import (
	"fmt"
	"strconv"
	"testing"
	"time"
)

// BenchmarkBGPHijackToFinding measures, per hijack, the time from the
// announcement (gobgp global rib add on Debian's gobgpd, the CLI's own
// start included) to the finding stored for the owner: the speed goal is
// 10 s. Each iteration announces another more specific of BYT's network
// from a foreign AS and waits for its finding.
func BenchmarkBGPHijackToFinding(b *testing.B) {
	g := startGoBGPd(b)
	w := newWorld(b)
	w.clockAdvances = true
	m := w.monitor(b, Config{BGP: g.bgpConfig()})
	sp, err := m.StartBGP(b.Context())
	must(b, err)
	defer sp.Stop()
	found := watchFindings(sp)
	waitEstablished(b, sp, g)
	var worst time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		prefix := fmt.Sprintf("1.0.%d.%d/32", 4+(i/256)%2, i%256)
		start := time.Now()
		g.gobgp(b, "global", "rib", "add", "-a", "ipv4", prefix, "aspath", strconv.Itoa(64600+i%100))
		f := found.wait(b, "monitor.bgp-hijack", prefix, 10*time.Second)
		worst = max(worst, time.Since(start))
		if f.OrgID != w.byt.ID {
			b.Fatalf("hijack of %s for organization %d", prefix, f.OrgID)
		}
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
}

// BenchmarkLookalikeCheck measures the matcher on certificate names
// against 100,000 registered domains (the CT speed goal is 10,000 log
// entries a second on one core; an entry carries one to a few names).
func BenchmarkLookalikeCheck(b *testing.B) {
	cons := make([]Constituent, 0, 100_000)
	reg := map[string]bool{}
	for i := range 100_000 {
		d := fmt.Sprintf("coquan%dhanhchinh.gov.vn", i)
		cons = append(cons, Constituent{Domain: d, OrgID: int64(i + 1), AssetID: int64(i + 1)})
		reg[d] = true
	}
	m := NewMatcher(cons, reg, nil)
	names := []string{"www.example.com", "coquan4242hanhchlnh.gov.vn", "mail.shop-online.net", "coquan77hanhchinh-login.com",
		"api.startup.io", "cdn.assets.example.org", "xn--coquan9hanhchnh-ojb.vn", "portal.coquan12hanhchinh.gov.vn"}
	b.ResetTimer()
	var hits int
	for i := 0; b.Loop(); i++ {
		hits += len(m.Check(names[i%len(names)]))
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "names/s")
	if hits == 0 {
		b.Fatal("no look-alike found")
	}
}
