package feedcsv

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/rampart-cert/rampart/internal/intel"
)

// plainIPs is n lines of distinct addresses, every 16th an IPv6 one.
func plainIPs(n int) []byte {
	var b bytes.Buffer
	b.Grow(n * 16)
	for i := range n {
		if i%16 == 15 {
			fmt.Fprintf(&b, "2001:db8:%x::%x\n", i>>16, i&0xffff)
			continue
		}
		fmt.Fprintf(&b, "%d.%d.%d.%d\n", 1+i>>24&0x7f, i>>16&0xff, i>>8&0xff, i&0xff)
	}
	return b.Bytes()
}

// urlhausRecent is n rows in the URLhaus csv_recent layout.
func urlhausRecent(n int) []byte {
	var b bytes.Buffer
	b.Grow(n * 200)
	b.WriteString("################\n# URLhaus-like\n#\n# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n")
	for i := range n {
		fmt.Fprintf(&b, "\"%d\",\"2026-11-%02d %02d:%02d:%02d\",\"http://h%d.example.com:8080/bins/%x.sh?x=%d\",\"online\",\"2026-12-01 06:00:00\",\"malware_download\",\"elf,mirai\",\"https://urlhaus.abuse.ch/url/%d/\",\"bench\"\n",
			i, 1+i%28, i%24, i%60, i%60, i%5000, i, i, i)
	}
	return b.Bytes()
}

func benchParse(b *testing.B, preset string, data []byte, rows int) {
	f, err := Preset(preset)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		n := 0
		rej, err := Parse(context.Background(), bytes.NewReader(data), f, preset, func(intel.Record) error {
			n++
			return nil
		})
		if err != nil || rej.Count != 0 || n != rows {
			b.Fatalf("%d records, %d rejections, %v", n, rej.Count, err)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	if cpu := cpuTime() - cpu0; cpu0 > 0 && cpu > 0 {
		b.ReportMetric(float64(rows)*float64(b.N)/cpu.Seconds(), "rows/cpu-s")
	}
}

// Run with -cpu 1 (one core). rows/s is wall time; rows/cpu-s divides by
// the CPU time the process used, garbage collection included.

// BenchmarkParsePlainIP: goal ≥ 1,000,000 rows/s on one core.
func BenchmarkParsePlainIP(b *testing.B) {
	const rows = 1_000_000
	benchParse(b, "plain-ip", plainIPs(rows), rows)
}

// BenchmarkParseURLhaus: goal ≥ 300,000 rows/s on one core.
func BenchmarkParseURLhaus(b *testing.B) {
	const rows = 300_000
	benchParse(b, "urlhaus", urlhausRecent(rows), rows)
}
