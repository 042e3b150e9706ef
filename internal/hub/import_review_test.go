package hub_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/hub"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

// reviewStore is an empty store with two organizations (the same IDs in
// every such store).
func reviewStore(t *testing.T) (*sqlstore.Store, []int64) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "r.db"), nil)
	must(t, err)
	t.Cleanup(func() { st.Close() })
	must(t, st.Migrate(ctx))
	var ids []int64
	for _, code := range []string{"RA", "RB"} {
		o := org.Organization{Code: code, Name: "Tổ chức " + code, Kind: org.KindMinistry}
		must(t, st.CreateOrg(ctx, sys, &o))
		ids = append(ids, o.ID)
	}
	return st, ids
}

func reviewHub(st store.Store, batch int) *hub.Hub {
	return hub.New(hub.Deps{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), BatchSize: batch,
		Now: func() time.Time { return time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC) }})
}

// reviewRecords are n records over fewer values, so a value comes back in
// the next batches (prepared while the one before is written) seen later,
// with another confidence or marking, another external ID, a label, or
// TLP:RED naming one of orgs.
func reviewRecords(n int, orgs []int64) []intel.Record {
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	out := make([]intel.Record, n)
	for i := range out {
		v := i * 7 % 23
		r := intel.Record{Kind: intel.KindIPv4, Value: fmt.Sprintf("198.18.0.%d", v), Confidence: 60, TLP: intel.TLPGreen,
			Category: intel.CategoryMalware, FirstSeen: at, LastSeen: at.Add(time.Duration(i) * time.Minute), ExternalID: fmt.Sprintf("x-%d", v)}
		switch i % 9 {
		case 2:
			r.Confidence = 90
		case 4:
			r.TLP = intel.TLPAmber
		case 5:
			r.ExternalID = fmt.Sprintf("y-%d", i)
		case 6:
			r.Labels = []string{"malware:emotet"}
		case 8:
			r.TLP, r.Recipients = intel.TLPRed, intel.Recipients{Orgs: []int64{orgs[i%len(orgs)]}}
		}
		out[i] = r
	}
	return out
}

// An import in batches of 7, each prepared while the one before is
// written, stores what one ApplyIndicators of all its records stores.
func TestReviewImportPreparedMatchesOneApply(t *testing.T) {
	ctx := context.Background()
	st, orgs := reviewStore(t)
	ref, refOrgs := reviewStore(t)
	if !slices.Equal(orgs, refOrgs) {
		t.Fatalf("organizations %v and %v", orgs, refOrgs)
	}
	recs := reviewRecords(100, orgs)
	run, err := reviewHub(st, 7).ImportRecords(ctx, hub.ImportRequest{Feed: "review"}, slices.Clone(recs))
	must(t, err)
	want := slices.Clone(recs)
	for i := range want {
		want[i].Feed = "review"
	}
	sum, err := ref.ApplyIndicators(ctx, sys, want)
	must(t, err)
	if run.Indicators.Records != 100 || run.Indicators.New != sum.New || sum.New != 23 {
		t.Errorf("run %+v, one apply %+v; want 100 records, 23 new", run.Indicators, sum)
	}
	for v := range 23 {
		k := store.IndicatorKey{Kind: intel.KindIPv4, Value: fmt.Sprintf("198.18.0.%d", v)}
		got, err := st.FindIndicator(ctx, sys, k)
		must(t, err)
		exp, err := ref.FindIndicator(ctx, sys, k)
		must(t, err)
		g, e := got.Indicator, exp.Indicator
		g.ID, e.ID = 0, 0
		if fmt.Sprint(g) != fmt.Sprint(e) {
			t.Errorf("%s:\n got %+v\nwant %+v", k.Value, g, e)
		}
	}
}

// A batch the store cannot prepare (a record out of range) fails the
// import: the batches before it stay, nothing of it or after it is
// stored, and the run says why.
func TestReviewImportPrepareError(t *testing.T) {
	ctx := context.Background()
	st, _ := reviewStore(t)
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	recs := make([]intel.Record, 45)
	for i := range recs {
		recs[i] = intel.Record{Kind: intel.KindIPv4, Value: fmt.Sprintf("198.18.1.%d", i), Confidence: 60, TLP: intel.TLPGreen,
			Category: intel.CategoryMalware, FirstSeen: at, LastSeen: at}
	}
	recs[24].Confidence = 101
	run, err := reviewHub(st, 10).ImportRecords(ctx, hub.ImportRequest{Feed: "review-bad"}, recs)
	if err == nil || !strings.Contains(err.Error(), "confidence 101") || !strings.Contains(run.Err, "confidence 101") {
		t.Fatalf("import: %v (run error %q), want the bad confidence", err, run.Err)
	}
	if run.Indicators.New != 20 {
		t.Errorf("run %+v, want the first two batches (20 new)", run.Indicators)
	}
	for i, r := range recs {
		_, err := st.FindIndicator(ctx, sys, store.IndicatorKey{Kind: r.Kind, Value: r.Value})
		if stored := err == nil; stored != (i < 20) {
			t.Errorf("record %d stored %v (%v), want %v", i, stored, err, i < 20)
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
	}
}
