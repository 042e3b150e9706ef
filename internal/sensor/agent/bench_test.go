package agent

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/rampart-cert/rampart/internal/hub/snapshot"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/queue/natsq"
	"github.com/rampart-cert/rampart/internal/sensor"
	"github.com/rampart-cert/rampart/internal/sensor/eve"
)

// BenchmarkAgentEVE is the sensor's hot path on one core: a Suricata EVE
// line parsed, its addresses and names matched against 1,000,000 of the
// hub's indicators, and observed by every detector (under the agent's
// lock), as `rampart sensor --eve` does for each line.
func BenchmarkAgentEVE(b *testing.B) {
	dir := b.TempDir()
	seed, _, err := natsq.IssueEdge(filepath.Join(dir, "nats"), natsq.EdgeSensor, "bench", "MOH")
	if err != nil {
		b.Fatal(err)
	}
	creds := filepath.Join(dir, "bench.nk")
	if err := os.WriteFile(creds, seed, 0o600); err != nil {
		b.Fatal(err)
	}
	a, err := New(Config{NATS: "nats://127.0.0.1:1", Creds: creds, EVE: "unused", BufferDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer a.buf.close()
	s := &snapshot.Snapshot{Version: 1, Entries: make([]snapshot.Entry, 0, 1_000_000)}
	for i := range 1_000_000 {
		var v4 [4]byte
		binary.BigEndian.PutUint32(v4[:], 0x2d000000+uint32(i)*7) // 45.0.0.0 onwards
		s.Entries = append(s.Entries, snapshot.Entry{Kind: intel.KindIPv4, Value: netip.AddrFrom4(v4).String()})
	}
	a.intel.Apply(s)
	if a.intel.count() != 1_000_000 {
		b.Fatalf("%d indicators loaded", a.intel.count())
	}
	var lines [][]byte
	for _, name := range []string{"suricatalog_eve-2_first200.json", "suricatalog_eve_large_first120.json", "fever_jsonparse_eve.json", "crowdsec-hub_suricata-logs-evelog.json"} {
		data, err := os.ReadFile(filepath.Join("..", "eve", "testdata", name))
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			lines = append(lines, append([]byte(nil), sc.Bytes()...))
		}
	}
	p := eve.NewParser()
	var ev sensor.Event
	var size int64
	for _, l := range lines {
		size += int64(len(l)) + 1
	}
	b.SetBytes(size / int64(len(lines)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a.line("eve", lines[i%len(lines)], &ev, p.Parse)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
