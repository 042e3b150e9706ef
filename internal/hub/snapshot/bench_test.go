package snapshot_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/hub/snapshot"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/queue/natsq"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

// BenchmarkChangeToFollower measures the time from an indicator stored
// in the hub to a follower holding it, with 100,000 indicators listed
// (issue 15: a change reaches resolvers in under a second).
//
//	go test -run '^$' -bench ChangeToFollower -benchtime 20x ./internal/hub/snapshot
func BenchmarkChangeToFollower(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(b.TempDir(), "r.db"), log)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	const n = 100_000
	now := time.Now()
	for start := 0; start < n; start += 10_000 {
		recs := make([]intel.Record, 0, 10_000)
		for i := start; i < start+10_000; i++ {
			r := intel.Record{Kind: intel.KindDomain, Value: fmt.Sprintf("bad-%d.example", i), Feed: "bench", TLP: intel.TLPGreen}
			if err := r.Normalize(now); err != nil {
				b.Fatal(err)
			}
			recs = append(recs, r)
		}
		if _, err := st.ApplyIndicators(ctx, sys, recs); err != nil {
			b.Fatal(err)
		}
	}
	q, err := natsq.Open(ctx, natsq.Options{DataDir: b.TempDir(), NoListen: true, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	pub, err := snapshot.NewPublisher(snapshot.Options{Conn: q.Conn(), Store: st, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	go pub.Run(ctx)
	r := &recorder{}
	go snapshot.FollowWith(ctx, q.Conn(), b.TempDir(), r, snapshot.FollowOptions{Logger: log})
	for !r.has(intel.KindDomain, "bad-0.example") {
		time.Sleep(10 * time.Millisecond)
	}
	b.ResetTimer()
	var worst time.Duration
	for i := range b.N {
		start := time.Now()
		rec := intel.Record{Kind: intel.KindDomain, Value: fmt.Sprintf("new-%d.example", i), Feed: "bench", TLP: intel.TLPGreen}
		if err := rec.Normalize(now); err != nil {
			b.Fatal(err)
		}
		if _, err := st.ApplyIndicators(ctx, sys, []intel.Record{rec}); err != nil {
			b.Fatal(err)
		}
		for !r.has(intel.KindDomain, rec.Value) {
			time.Sleep(time.Millisecond)
		}
		worst = max(worst, time.Since(start))
	}
	b.ReportMetric(float64(worst.Milliseconds()), "worst-ms")
}
