package hub_test

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/findings"
	"github.com/rampart-cert/rampart/internal/hub"
	"github.com/rampart-cert/rampart/internal/hub/synth"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/queue/natsq"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

// Issue 12's goals: 1,000,000 indicators from STIX or CSV into SQLite in
// ≤ 10 s end to end (parse and store); a 1,000,000-row Shadowserver
// report routed to owners in ≤ 30 s with the server under 500 MB. Run:
//
//	go test -run '^$' -bench 'Import(STIX|CSV)1M$|Shadowserver1M$' -benchtime 1x ./internal/hub/
//
// bench/intel-import prints the same figures against the goals.

func BenchmarkImportSTIX1M(b *testing.B)   { benchImport(b, "stix", 1_000_000) }
func BenchmarkImportCSV1M(b *testing.B)    { benchImport(b, "csv", 1_000_000) }
func BenchmarkImportSTIX100k(b *testing.B) { benchImport(b, "stix", 100_000) }
func BenchmarkImportCSV100k(b *testing.B)  { benchImport(b, "csv", 100_000) }

func benchImport(b *testing.B, format string, n int) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "feed."+format)
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if format == "stix" {
		err = synth.STIX(f, n)
	} else {
		err = synth.CSV(f, n)
	}
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		b.Fatal(err)
	}
	req := hub.ImportRequest{Format: format, Feed: "bench"}
	if format == "csv" {
		req.Preset = "urlhaus"
	}
	for b.Loop() {
		b.StopTimer()
		st := benchStore(b, 100, 1)
		h := hub.New(hub.Deps{Store: st, Findings: findings.New(findings.Deps{Store: st, Logger: quiet()}), Logger: quiet()})
		runtime.GC()
		b.StartTimer()
		start, cpu := time.Now(), cpuTime()
		run, err := h.ImportFile(ctx, req, path)
		if err != nil {
			b.Fatal(err)
		}
		if run.Indicators.New != n || run.Rejected != 0 {
			b.Fatalf("run %+v", run)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/import")
		b.ReportMetric((cpuTime() - cpu).Seconds(), "cpu-s/import")
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "indicators/s")
	}
}

// BenchmarkShadowserver1M routes a 1,000,000-row scan report through the
// queue's object store (embedded JetStream) to the owners of the /24
// networks it covers, and reports the process's peak heap and resident
// memory. A national report names every address of the country the scan
// saw; the registry holds the constituency's: here one /24 in twenty (5%
// of the rows, 50,000 early warnings). AllOwned is the worst case, every
// row an early warning.
func BenchmarkShadowserver1M(b *testing.B)           { benchShadowserver(b, 1_000_000, 20) }
func BenchmarkShadowserver1MAllOwned(b *testing.B)   { benchShadowserver(b, 1_000_000, 1) }
func BenchmarkShadowserver100k(b *testing.B)         { benchShadowserver(b, 100_000, 20) }
func BenchmarkShadowserver100kAllOwned(b *testing.B) { benchShadowserver(b, 100_000, 1) }

func benchShadowserver(b *testing.B, n, every int) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "2026-12-01-scan_snmp-vn.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := synth.Shadowserver(f, netip.MustParseAddr("10.64.0.0"), n); err != nil {
		b.Fatal(err)
	}
	f.Close()
	for b.Loop() {
		b.StopTimer()
		st := benchStore(b, (n+255)/256, every)
		q, err := natsq.Open(ctx, natsq.Options{DataDir: b.TempDir(), NoListen: true, Logger: quiet()})
		if err != nil {
			b.Fatal(err)
		}
		h := hub.New(hub.Deps{Store: st, Findings: findings.New(findings.Deps{Store: st, Logger: quiet()}), Objects: q, Logger: quiet()})
		in, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		peak := watchHeap()
		b.StartTimer()
		start, cpu := time.Now(), cpuTime()
		run, err := h.Import(ctx, hub.ImportRequest{Format: "shadowserver", Name: filepath.Base(path)}, struct{ io.Reader }{in})
		if err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		b.StopTimer()
		heap := peak()
		in.Close()
		q.Close()
		if want := owned(n, every); run.Records != n || run.Hits != want {
			b.Fatalf("run %+v, want %d early warnings", run, want)
		}
		b.ReportMetric(took.Seconds(), "s/report")
		b.ReportMetric((cpuTime() - cpu).Seconds(), "cpu-s/report")
		b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MB")
		b.ReportMetric(float64(peakRSS())/(1<<20), "peak-RSS-MB")
		b.StartTimer()
	}
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// owned is how many of n consecutive addresses from 10.64.0.0 lie in the
// networks benchStore registers.
func owned(n, every int) int {
	c := 0
	for i := 0; i < n; i += 256 {
		if (i/256)%every == 0 {
			c += min(256, n-i)
		}
	}
	return c
}

// benchStore is a store whose organizations own /24s of 10.64.0.0/10: one
// in every of the first nets.
func benchStore(b *testing.B, nets, every int) *sqlstore.Store {
	b.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(b.TempDir(), "r.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	root := org.Organization{Code: "VN", Name: "VN", Kind: org.KindNational}
	if err := st.CreateOrg(ctx, sys, &root); err != nil {
		b.Fatal(err)
	}
	net := netip.MustParseAddr("10.64.0.0").As4()
	for i := 0; i < nets; i += every {
		o := org.Organization{ParentID: root.ID, Code: "O" + itoa(i), Name: "O" + itoa(i), Kind: org.KindAgency}
		if err := st.CreateOrg(ctx, sys, &o); err != nil {
			b.Fatal(err)
		}
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{net[0], net[1] + byte(i>>8), byte(i), 0}), 24)
		a := asset.Asset{OrgID: o.ID, Kind: asset.KindCIDR, Value: p.String()}
		if err := st.CreateAsset(ctx, sys, &a); err != nil {
			b.Fatal(err)
		}
	}
	return st
}

func itoa(i int) string { return string(appendInt(nil, i)) }

func appendInt(b []byte, i int) []byte {
	if i >= 10 {
		b = appendInt(b, i/10)
	}
	return append(b, byte('0'+i%10))
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// watchHeap samples the heap every 10 ms until the returned func is
// called, which returns the largest seen.
func watchHeap() func() uint64 {
	stop := make(chan struct{})
	res := make(chan uint64)
	go func() {
		var peak uint64
		var ms runtime.MemStats
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				res <- peak
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(stop); return <-res }
}

// peakRSS is the process's resident high-water mark (VmHWM).
func peakRSS() uint64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return uint64(ru.Maxrss) * 1024
}
