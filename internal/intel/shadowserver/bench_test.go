package shadowserver

import (
	"context"
	"runtime"
	"testing"

	"github.com/rampart-cert/rampart/internal/intel"
)

// heapSampler records the live heap every `every` records (after a
// collection, so the figure is what is retained, not garbage).
type heapSampler struct {
	every, n int
	samples  []uint64
}

func (h *heapSampler) emit(intel.Record) error {
	h.n++
	if h.n%h.every == 0 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		h.samples = append(h.samples, m.HeapAlloc)
	}
	return nil
}

// TestMemoryFlat parses a generated report of 200,000 rows (1% with an
// invalid address, so rejections pile up too) and checks that the live
// heap does not grow with the rows read: the parse is streaming.
func TestMemoryFlat(t *testing.T) {
	for _, report := range []string{"scan_snmp", "event4_sinkhole"} {
		h := &heapSampler{every: 20_000}
		g := &rowGen{report: report, n: 200_000, bad: 100}
		rej, err := Parse(context.Background(), g, nil, report, h.emit)
		if err != nil {
			t.Fatal(err)
		}
		if h.n != 198_000 || rej.Count != 2_000 || len(rej.List) != intel.MaxRejections {
			t.Fatalf("%s: %d records, %d rejections (%d kept)", report, h.n, rej.Count, len(rej.List))
		}
		first, peak := h.samples[0], h.samples[0]
		for _, s := range h.samples {
			peak = max(peak, s)
		}
		t.Logf("%s: live heap after 20k rows %.1f MB, peak over 200k rows %.1f MB", report, float64(first)/1e6, float64(peak)/1e6)
		if peak > first+4<<20 {
			t.Errorf("%s: live heap grew from %d to %d bytes over the report", report, first, peak)
		}
	}
}

// BenchmarkParse1M parses a generated 1,000,000-row report per op (the
// generator's own work included). Goal: ≥ 200,000 rows/s on one core (run
// with -cpu 1; rows/cpu-s divides by the process's CPU time), with the live heap flat ("peak-live-MB"
// is the largest live heap seen every 100,000 rows; B/op counts all
// allocation, which the collector reclaims as the parse goes).
func BenchmarkParse1M(b *testing.B) {
	for _, report := range []string{"scan_snmp", "event4_sinkhole"} {
		b.Run(report, func(b *testing.B) {
			const rows = 1_000_000
			b.ReportAllocs()
			var peak uint64
			cpu0 := cpuTime()
			for b.Loop() {
				n := 0
				var m runtime.MemStats
				rej, err := Parse(context.Background(), &rowGen{report: report, n: rows}, nil, report, func(intel.Record) error {
					n++
					if n%100_000 == 0 {
						runtime.ReadMemStats(&m)
						peak = max(peak, m.HeapAlloc)
					}
					return nil
				})
				if err != nil || rej.Count != 0 || n != rows {
					b.Fatalf("%d records, %d rejections, %v", n, rej.Count, err)
				}
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(peak)/1e6, "peak-heap-MB")
			if cpu := cpuTime() - cpu0; cpu0 > 0 && cpu > 0 {
				b.ReportMetric(float64(rows)*float64(b.N)/cpu.Seconds(), "rows/cpu-s")
			}
		})
	}
}
