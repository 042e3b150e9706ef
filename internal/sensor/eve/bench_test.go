package eve

import (
	"testing"

	"github.com/rampart-cert/rampart/internal/sensor"
)

// BenchmarkParse parses the real sample lines in turn (dns, tls, http,
// alert, flow, and the stats records it skips). bench/sensor-eve measures
// the whole path against the goal of issue 16 on generated traffic.
//
//	go test -run X -bench Parse -cpu 1 -benchmem ./internal/sensor/eve/
func BenchmarkParse(b *testing.B) {
	var all [][]byte
	for _, f := range []string{"suricatalog_eve-2_first200.json", "suricatalog_eve_large_first120.json", "crowdsec-hub_suricata-logs-evelog.json"} {
		all = append(all, lines(b, f)...)
	}
	size := 0
	for _, l := range all {
		size += len(l)
	}
	p := NewParser()
	var ev sensor.Event
	b.SetBytes(int64(size / len(all)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := p.Parse(all[i%len(all)], &ev); err != nil {
			b.Fatal(err)
		}
	}
}
