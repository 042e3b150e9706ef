package sqlstore

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// TestMigrateFindingsAssetKey upgrades a database of migration 0031 that
// holds findings, their history and a higher ID given once: migration 0032
// copies the findings table with foreign keys off, and afterwards every
// row, ID and history entry is there, the next ID is above every ID ever
// given, foreign keys are on again, and (asset_id, key) is unique.
func TestMigrateFindingsAssetKey(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "rampart.db")
	s, err := Open(ctx, "sqlite", path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.migrate(ctx, 31); err != nil {
		t.Fatal(err)
	}
	o := org.Organization{Code: "MOH", Name: "Bộ Y tế", Kind: org.KindMinistry}
	if err := s.CreateOrg(ctx, sysP, &o); err != nil {
		t.Fatal(err)
	}
	a := asset.Asset{OrgID: o.ID, Kind: asset.KindIPv4, Value: "203.0.113.7"}
	if err := s.CreateAsset(ctx, sysP, &a); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var seen []finding.Finding
	for i := range 3 {
		seen = append(seen, finding.Finding{OrgID: o.ID, AssetID: a.ID, Check: "intel.exposed-service", Severity: finding.Medium,
			Target: fmt.Sprintf("203.0.113.7:%d", 161+i), Subject: "snmp", Evidence: []byte(`{"feed":"f"}`)})
	}
	ch, err := s.RecordFindings(ctx, store.FindingBatch{Source: finding.SourceIntel, Ref: "f", JobID: "run-1", At: at, Policy: finding.DefaultPolicy, Seen: seen})
	if err != nil || len(ch) != 3 {
		t.Fatalf("%d changes, %v", len(ch), err)
	}
	if _, err := s.TransitionFinding(ctx, sysP, ch[0].Finding.ID, finding.Transition{Action: finding.ActionAcknowledge}); err != nil {
		t.Fatal(err)
	}
	// An ID given once and gone (as if its row had been removed).
	if _, err := s.w.ExecContext(ctx, "UPDATE sqlite_sequence SET seq = 1000 WHERE name = 'findings'"); err != nil {
		t.Fatal(err)
	}
	before := findingRows(t, s)
	history := countRows(t, s, "finding_events")

	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if after := findingRows(t, s); !slices.Equal(before, after) {
		t.Errorf("rows changed:\n%v\n%v", before, after)
	}
	if n := countRows(t, s, "finding_events"); n != history || n < 4 {
		t.Errorf("history %d entries, had %d", n, history)
	}
	var fk int
	if err := s.w.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign keys %d after the migration (%v)", fk, err)
	}
	if _, err := s.w.ExecContext(ctx, "INSERT INTO finding_events (finding_id, at, actor, action, to_state) VALUES (99999, ?, 'x', 'seen', 'open')", at); err == nil {
		t.Error("a history entry of no finding was stored")
	}
	var indexes []string
	rows, err := s.r.QueryContext(ctx, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'findings' ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		indexes = append(indexes, n)
	}
	rows.Close()
	if !slices.Contains(indexes, "findings_asset_key") || slices.Contains(indexes, "findings_due") || slices.Contains(indexes, "findings_asset") ||
		slices.ContainsFunc(indexes, func(n string) bool { return n == "sqlite_autoindex_findings_1" }) {
		t.Errorf("indexes %v", indexes)
	}

	// The next finding's ID is above every ID given; seen again, the old
	// ones are found by asset and key, not inserted twice.
	seen = append(seen, finding.Finding{OrgID: o.ID, AssetID: a.ID, Check: "intel.exposed-service", Severity: finding.Medium,
		Target: "203.0.113.7:53", Subject: "dns"})
	ch, err = s.RecordFindings(ctx, store.FindingBatch{Source: finding.SourceIntel, Ref: "f", JobID: "run-2", At: at.Add(time.Hour), Policy: finding.DefaultPolicy, Seen: seen})
	if err != nil {
		t.Fatal(err)
	}
	var fresh []int64
	for _, c := range ch {
		if c.Kind == finding.ChangeNew {
			fresh = append(fresh, c.Finding.ID)
		}
	}
	if len(fresh) != 1 || fresh[0] <= 1000 {
		t.Errorf("new findings %v, want one with an ID above 1000", fresh)
	}
	if n := countRows(t, s, "findings"); n != 4 {
		t.Errorf("%d findings, want 4", n)
	}
	if _, err := s.w.ExecContext(ctx, "INSERT INTO findings (key, org_id, asset_id, check_id, family, severity, severity_rank, target, state, first_seen, last_seen, due_from, updated_at) "+
		"SELECT key, org_id, asset_id, check_id, family, severity, severity_rank, target, state, first_seen, last_seen, due_from, updated_at FROM findings LIMIT 1"); err == nil {
		t.Error("a second finding of one asset and key was stored")
	}
}

func findingRows(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.r.Query("SELECT id, key, asset_id, state, COALESCE(evidence, '') FROM findings ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, assetID int64
		var key, state, ev string
		if err := rows.Scan(&id, &key, &assetID, &state, &ev); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(id, key, assetID, state, ev))
	}
	return out
}

func countRows(t *testing.T, s *Store, table string) int {
	t.Helper()
	var n int
	if err := s.r.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
