package sqlstore

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/intel"
)

// benchRecords makes n normalized records of one feed: addresses, domains
// and URLs in turn, as a large blocklist carries them.
func benchRecords(n int, feed string, at time.Time) []intel.Record {
	out := make([]intel.Record, n)
	for i := range out {
		r := intel.Record{Feed: feed, Confidence: 70, TLP: intel.TLPGreen, Category: intel.CategoryMalware, FirstSeen: at, LastSeen: at}
		switch i % 3 {
		case 0:
			r.Kind, r.Value = intel.KindIPv4, fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
		case 1:
			r.Kind, r.Value = intel.KindDomain, fmt.Sprintf("host-%d.bad-%d.example", i, i%977)
		default:
			r.Kind, r.Value = intel.KindURL, fmt.Sprintf("http://bad-%d.example/payload/%d.exe", i%977, i)
		}
		if i%5 == 0 {
			r.Labels = []string{"malware:emotet"}
		}
		out[i] = r
	}
	return out
}

// BenchmarkApplyIndicators1M stores 1,000,000 new indicators in batches of
// 20,000 (the hub's batch), then applies the same feed again a day later
// (every indicator's last seen moves). Issue 12: a million indicators
// from STIX or CSV in ≤ 10 s end to end; this is the store's share.
func BenchmarkApplyIndicators1M(b *testing.B) {
	benchApply(b, openSQLite, 1_000_000)
}

// BenchmarkApplyIndicators1MPostgres is the same on PostgreSQL.
func BenchmarkApplyIndicators1MPostgres(b *testing.B) {
	benchApply(b, openPostgres, 1_000_000)
}

// BenchmarkApplyIndicators200k is the same at 200,000, for quick runs.
func BenchmarkApplyIndicators200k(b *testing.B) { benchApply(b, openSQLite, 200_000) }

func benchApply(b *testing.B, open func(testing.TB) *Store, n int) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	recs := benchRecords(n, "bench", t0)
	again := benchRecords(n, "bench", t0.Add(24*time.Hour))
	const batch = 20_000
	for b.Loop() {
		b.StopTimer()
		s := open(b)
		b.StartTimer()
		for _, ph := range []struct {
			name string
			recs []intel.Record
		}{{"new", recs}, {"changed", again}, {"same", again}} {
			start, cpu := time.Now(), cpuTime()
			for i := 0; i < n; i += batch {
				if _, err := s.ApplyIndicators(ctx, sysP, ph.recs[i:min(i+batch, n)]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(time.Since(start).Seconds(), "s/"+ph.name)
			b.ReportMetric((cpuTime() - cpu).Seconds(), "cpu-s/"+ph.name)
		}
	}
}

// cpuTime is the process's user and system CPU time: on a shared machine
// it says more than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
