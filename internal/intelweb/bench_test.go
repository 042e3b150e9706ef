package intelweb_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/intelweb"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
	"github.com/rampart-cert/rampart/internal/taxii"
)

// benchStore holds n indicators (addresses of 10.64.0.0/10 would be
// special; these are spread over 100.0.0.0/8 and names), a fifth GREEN,
// the rest AMBER.
func benchStore(b *testing.B, n int) *sqlstore.Store {
	b.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(b.TempDir(), "bench.db"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	recs := make([]intel.Record, 0, 20_000)
	flush := func() {
		if _, err := st.ApplyIndicators(ctx, auth.SystemPrincipal, recs); err != nil {
			b.Fatal(err)
		}
		recs = recs[:0]
	}
	for i := range n {
		r := intel.Record{Kind: intel.KindIPv4, Value: fmt.Sprintf("100.%d.%d.%d", i>>16&255, i>>8&255, i&255), Feed: "bench", TLP: intel.TLPAmber, Confidence: 60}
		if i%3 == 0 {
			r.Kind, r.Value = intel.KindDomain, fmt.Sprintf("host%d.bad.example", i)
		}
		if i%5 == 0 {
			r.TLP = intel.TLPGreen
		}
		if err := r.Normalize(now); err != nil {
			b.Fatal(err)
		}
		recs = append(recs, r)
		if len(recs) == cap(recs) {
			flush()
		}
	}
	flush()
	return st
}

// BenchmarkTAXIIPage reads one page of 1,000 objects of the national
// AMBER collection from the middle of 100,000 indicators, as a member.
func BenchmarkTAXIIPage(b *testing.B) {
	st := benchStore(b, 100_000)
	be := intelweb.NewTAXII(st)
	p := auth.Principal{UserID: 1, Role: auth.RoleViewer, OrgID: 1}
	coll := taxii.NationalCollectionID(intel.TLPAmber)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		pg, err := be.Objects(ctx, p, coll, taxii.Query{Limit: 1000, After: taxii.Cursor{DateAdded: time.Unix(0, 0), Seq: 50_000}})
		if err != nil || len(pg.Objects) != 1000 {
			b.Fatalf("%v, %d objects", err, len(pg.Objects))
		}
	}
	b.ReportMetric(1000, "objects/op")
}

// BenchmarkBlocklistBuild rebuilds the blocklist of 100,000 indicators
// (the guard over the registry, the reviews, blocklist.Build).
func BenchmarkBlocklistBuild(b *testing.B) {
	st := benchStore(b, 100_000)
	bl := intelweb.NewBlocklists(st, intelweb.BlocklistOptions{Now: func() time.Time { return now }})
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		bl.Invalidate()
		l, err := bl.List(ctx)
		if err != nil || l.Len() != 100_000 {
			b.Fatalf("%v, %d entries", err, l.Len())
		}
	}
}

// BenchmarkBlocklistChange serves the blocklist of 100,000 indicators
// after 100 of them changed (a feed's small run): what a consumer's next
// pull costs.
func BenchmarkBlocklistChange(b *testing.B) {
	st := benchStore(b, 100_000)
	bl := intelweb.NewBlocklists(st, intelweb.BlocklistOptions{Now: func() time.Time { return now }})
	ctx := context.Background()
	if _, err := bl.List(ctx); err != nil {
		b.Fatal(err)
	}
	round := 0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		round++
		recs := make([]intel.Record, 0, 100)
		for i := 1; len(recs) < 100; i++ {
			if i%3 == 0 {
				continue // a name in benchStore
			}
			r := intel.Record{Kind: intel.KindIPv4, Value: fmt.Sprintf("100.%d.%d.%d", i>>16&255, i>>8&255, i&255), Feed: "bench", TLP: intel.TLPAmber,
				Confidence: 60 + round%30, LastSeen: now.Add(time.Duration(round) * time.Second)}
			if err := r.Normalize(now); err != nil {
				b.Fatal(err)
			}
			recs = append(recs, r)
		}
		if _, err := st.ApplyIndicators(ctx, auth.SystemPrincipal, recs); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		l, err := bl.List(ctx)
		if err != nil || l.Len() != 100_000 {
			b.Fatalf("%v, %d entries", err, l.Len())
		}
	}
}
