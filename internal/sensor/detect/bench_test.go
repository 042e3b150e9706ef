package detect

import (
	"net/netip"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/intel/match"
	"github.com/rampart-cert/rampart/internal/intel/match/synth"
	"github.com/rampart-cert/rampart/internal/sensor"
)

// BenchmarkObserve runs a mix of events (flows to member hosts from many
// sources, DNS and TLS names, login failures, alerts) through a detector
// matching against 1,000,000 indicators, with a Flush every 100,000
// events. bench/sensor-eve measures parsing and detection together.
//
//	go test -run X -bench Observe -cpu 1 -benchmem ./internal/sensor/detect/
func BenchmarkObserve(b *testing.B) {
	g := synth.New(3)
	addrs, names := g.Addrs(500_000), g.Names(500_000)
	m := match.New()
	if err := m.Apply(append(addrs, names...)); err != nil {
		b.Fatal(err)
	}
	remote := g.AddrQueries(addrs, 1<<16, 2)
	hosts := g.NameQueries(names, 1<<16, 2)
	d, err := New(Config{Member: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, m.Snapshot())
	if err != nil {
		b.Fatal(err)
	}
	base := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	evs := make([]sensor.Event, 1<<16)
	for i := range evs {
		e := sensor.Event{Time: base.Add(time.Duration(i) * time.Millisecond), Src: remote[i], Input: "eve",
			Dst: netip.AddrFrom4([4]byte{10, byte(i >> 12), byte(i >> 4), byte(i)}), SrcPort: uint16(1024 + i%60000), DstPort: uint16(i % 1024), Proto: 6}
		switch i % 10 {
		case 0, 1, 2, 3:
			e.Type, e.Bytes, e.Packets = sensor.TypeFlow, uint64(100+i%5000), uint64(1+i%20)
		case 4, 5, 6:
			e.Type, e.Name, e.Src, e.Dst = sensor.TypeDNS, hosts[i], e.Dst, netip.MustParseAddr("10.0.0.53")
		case 7, 8:
			e.Type, e.Name, e.Src, e.Dst = sensor.TypeTLS, hosts[i], e.Dst, e.Src
		default:
			e.Type, e.Severity, e.Signature = sensor.TypeAlert, uint8(1+i%3), "ET SCAN Potential SSH Scan"
		}
		evs[i] = e
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		d.Observe(&evs[i&(len(evs)-1)])
		if i%100_000 == 99_999 {
			d.Flush(time.Time{})
		}
	}
}
