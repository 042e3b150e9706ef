package sqlstore

import (
	"context"
	"encoding/json"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// Migration 0027 links the early warnings recorded before it to their
// indicators: its backfill, run again over an emptied intel_concerns,
// finds the indicator an intel finding's evidence names, and nothing for
// a report row the hub did not keep or another source's finding.
func TestConcernsBackfill(t *testing.T) {
	eachDriver(t, func(t *testing.T, open func(testing.TB) *Store) {
		ctx := context.Background()
		s := open(t)
		o := org.Organization{Code: "BF", Name: "Backfill", Kind: org.KindAgency}
		mustShare(t, s.CreateOrg(ctx, sysP, &o))
		a := asset.Asset{OrgID: o.ID, Kind: asset.KindCIDR, Value: "198.51.100.0/24"}
		mustShare(t, s.CreateAsset(ctx, sysP, &a))
		r := intel.Record{Kind: intel.KindIPv4, Value: "198.51.100.7", Feed: "f", TLP: intel.TLPAmber, Confidence: 50}
		mustShare(t, r.Normalize(time.Now()))
		_, err := s.ApplyIndicators(ctx, sysP, []intel.Record{r})
		mustShare(t, err)
		ev := func(v string) json.RawMessage {
			b, _ := json.Marshal(map[string]any{"feed": "f", "indicator": map[string]string{"kind": "ipv4", "value": v}})
			return b
		}
		seen := []store.Finding{
			{OrgID: o.ID, AssetID: a.ID, Check: intel.FindingCompromisedHost, Family: "intel", Severity: finding.High, Target: "198.51.100.7", Evidence: ev("198.51.100.7")},
			{OrgID: o.ID, AssetID: a.ID, Check: intel.FindingExposedService, Family: "intel", Severity: finding.Medium, Target: "198.51.100.8:161", Evidence: ev("198.51.100.8")},
		}
		_, err = s.RecordFindings(ctx, store.FindingBatch{Source: finding.SourceIntel, Ref: "f", JobID: "run-1", At: time.Now(), Policy: finding.DefaultPolicy, Seen: seen})
		mustShare(t, err)

		b, err := migrationFS.ReadFile(path.Join("migrations", s.d.name, "0027_intel_sharing.sql"))
		mustShare(t, err)
		backfill := string(b)[strings.LastIndex(string(b), "INSERT"):]
		_, err = s.w.ExecContext(ctx, "DELETE FROM intel_concerns")
		mustShare(t, err)
		_, err = s.w.ExecContext(ctx, backfill)
		mustShare(t, err)
		pg, err := s.IndicatorsConcerning(ctx, sysP, store.ConcernFilter{OrgID: o.ID})
		mustShare(t, err)
		if len(pg.Items) != 1 || pg.Items[0].Value != "198.51.100.7" {
			t.Fatalf("after the backfill: %+v", pg.Items)
		}
	})
}

func mustShare(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
