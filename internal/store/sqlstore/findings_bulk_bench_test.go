package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// benchWarning is the i-th early warning of a scan report about the /24
// network a: an exposed service with evidence shaped like the hub's (the
// report row, its fields, the feed).
func benchWarning(a asset.Asset, i int) finding.Finding {
	ip := fmt.Sprintf("10.%d.%d.%d", 64+i>>16&63, i>>8&255, i&255)
	raw := fmt.Sprintf(`"2026-12-01 00:00:00",%s,udp,161,,"Linux router 4.14.0 #1 SMP",,64512,VN,"HA NOI","HANOI",2,0,0,,MikroTik,router,,,,snmp,public,%d,1.00`, ip, 100+i%900)
	ev, _ := json.Marshal(map[string]any{
		"feed": "bench", "seen": "2026-12-01T00:00:00Z", "tlp": "GREEN", "category": "exposed", "confidence": 80,
		"indicator": map[string]string{"kind": "ipv4", "value": ip},
		"detail": map[string]string{"port": "161", "protocol": "udp", "tag": "snmp", "community": "public", "sysdesc": "Linux router 4.14.0 #1 SMP",
			"asn": "64512", "geo": "VN", "region": "HA NOI", "city": "HANOI", "version": "2", "device_vendor": "MikroTik", "device_type": "router"},
		"raw": raw,
	})
	return finding.Finding{
		OrgID: a.OrgID, AssetID: a.ID, Check: "intel.exposed-service", Severity: finding.Medium,
		Target: ip + ":161", Subject: "snmp", Title: "Exposed service snmp on " + ip + ":161", Evidence: ev,
	}
}

func rusageCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchRecordWarnings records n new early warnings in batches of 5,000
// (the hub's), spread over one /24 asset per 256, each its own
// organization's: a scan report whose every row is owned.
func benchRecordWarnings(b *testing.B, open func(testing.TB) *Store, n, batch int) {
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		s := open(b)
		root := org.Organization{Code: "VN", Name: "VN", Kind: org.KindNational}
		if err := s.CreateOrg(ctx, sysP, &root); err != nil {
			b.Fatal(err)
		}
		assets := make([]asset.Asset, (n+255)/256)
		for i := range assets {
			o := org.Organization{ParentID: root.ID, Code: fmt.Sprintf("O%d", i), Name: "O", Kind: org.KindAgency}
			if err := s.CreateOrg(ctx, sysP, &o); err != nil {
				b.Fatal(err)
			}
			assets[i] = asset.Asset{OrgID: o.ID, Kind: asset.KindCIDR, Value: fmt.Sprintf("10.%d.%d.0/24", 64+i>>8&63, i&255)}
			if err := s.CreateAsset(ctx, sysP, &assets[i]); err != nil {
				b.Fatal(err)
			}
		}
		at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		var took, cpu time.Duration
		seen := make([]finding.Finding, 0, batch)
		for i := 0; i < n; i += batch {
			seen = seen[:0]
			for j := i; j < min(n, i+batch); j++ {
				seen = append(seen, benchWarning(assets[j/256], j))
			}
			b.StartTimer()
			start, c0 := time.Now(), rusageCPU()
			ch, err := s.RecordFindings(ctx, store.FindingBatch{Source: finding.SourceIntel, Ref: "bench", JobID: "run-1", At: at,
				Policy: finding.DefaultPolicy, Seen: seen})
			took, cpu = took+time.Since(start), cpu+rusageCPU()-c0
			b.StopTimer()
			if err != nil || len(ch) != len(seen) {
				b.Fatalf("%d changes, %v", len(ch), err)
			}
		}
		b.StartTimer()
		if !s.d.postgres() {
			if st, err := os.Stat(dbFile(b, s) + "-wal"); err == nil {
				b.ReportMetric(float64(st.Size())/(1<<20), "wal-MB")
			}
		}
		b.ReportMetric(took.Seconds(), "s/record")
		b.ReportMetric(cpu.Seconds(), "cpu-s/record")
		b.ReportMetric(cpu.Seconds()*1e6/float64(n), "cpu-µs/finding")
	}
}

func BenchmarkRecordWarnings100k(b *testing.B) { benchRecordWarnings(b, openSQLite, 100_000, 5000) }
func BenchmarkRecordWarnings1M(b *testing.B)   { benchRecordWarnings(b, openSQLite, 1_000_000, 5000) }
func BenchmarkRecordWarnings100kPostgres(b *testing.B) {
	postgresDSN(b)
	benchRecordWarnings(b, openPostgres, 100_000, 5000)
}

func BenchmarkRecordWarnings1MBatch20k(b *testing.B) {
	benchRecordWarnings(b, openSQLite, 1_000_000, 20000)
}
