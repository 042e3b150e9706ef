package sqlstore

import (
	"context"
	"database/sql"
	"errors"
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
	s, _ := openMigratedTo(t, 31)
	o := org.Organization{Code: "MOH", Name: "Bộ Y tế", Kind: org.KindMinistry}
	if err := s.CreateOrg(ctx, sysP, &o); err != nil {
		t.Fatal(err)
	}
	a := asset.Asset{OrgID: o.ID, Kind: asset.KindIPv4, Value: "203.0.113.7"}
	if err := s.CreateAsset(ctx, sysP, &a); err != nil {
		t.Fatal(err)
	}
	// Today's store writes the outbox's columns of migration 0033: the
	// schema of 31 has them while this test seeds it through the store.
	for _, q := range []string{"ALTER TABLE outbox ADD COLUMN parts INTEGER NOT NULL DEFAULT 0", "ALTER TABLE outbox ADD COLUMN done INTEGER NOT NULL DEFAULT 0"} {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
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
	for _, q := range []string{"ALTER TABLE outbox DROP COLUMN parts", "ALTER TABLE outbox DROP COLUMN done"} {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}

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

// seedFindingsRaw writes n findings of one organization, each with one
// history entry, in two statements (a database of migration 0031).
func seedFindingsRaw(t *testing.T, s *Store, n int) {
	t.Helper()
	ctx := context.Background()
	at := now()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"INSERT INTO orgs (code, name, name_en, kind, path, created_at, updated_at) VALUES ('X', 'X', 'X', 'ministry', '/1/', ?, ?)", []any{at, at}},
		{`WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ?)
		  INSERT INTO findings (key, org_id, asset_id, check_id, family, severity, severity_rank, target, state, first_seen, last_seen, due_from, updated_at, evidence)
		  SELECT hex(randomblob(16)), 1, i / 50 + 1, 'c.x', 'c', 'high', 3, 't' || i, 'open', ?, ?, ?, ?, '{"a":"' || hex(randomblob(100)) || '"}' FROM c`,
			[]any{n, at, at, at, at}},
		{"INSERT INTO finding_events (finding_id, at, actor, action, to_state) SELECT id, ?, 'x', 'seen', 'open' FROM findings", []any{at}},
	} {
		if _, err := s.w.ExecContext(ctx, q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMigrateCancelledKeepsForeignKeys cuts migration 0032 short at
// different points: each time nothing is applied and the writer's
// connection has foreign keys on again; then it runs to the end.
func TestMigrateCancelledKeepsForeignKeys(t *testing.T) {
	ctx := context.Background()
	s, _ := openMigratedTo(t, 31)
	seedFindingsRaw(t, s, 50000)
	state := func() (fk, version, findings int) {
		if err := s.w.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if err := s.w.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&version); err != nil {
			t.Fatal(err)
		}
		return fk, version, countRows(t, s, "findings")
	}
	for i := range 6 {
		cctx, cancel := context.WithTimeout(ctx, time.Duration(20+40*i)*time.Millisecond)
		err := s.Migrate(cctx)
		cancel()
		if fk, v, n := state(); err == nil || fk != 1 || v != 31 || n != 50000 {
			t.Fatalf("cut at %d ms: %v; foreign keys %d, version %d, %d findings", 20+40*i, err, fk, v, n)
		}
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if fk, v, n := state(); fk != 1 || v < 32 || n != 50000 {
		t.Fatalf("after: foreign keys %d, version %d, %d findings", fk, v, n)
	}
}

// TestMigrateUpToDateChecksNothing: once 0032 is applied, Migrate neither
// takes the write lock for it nor checks the foreign keys of the whole
// database again (a broken reference written around the store shows it).
func TestMigrateUpToDateChecksNothing(t *testing.T) {
	ctx := context.Background()
	s, path := openMigratedTo(t, 0)
	raw, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec("INSERT INTO finding_events (finding_id, at, actor, action, to_state) VALUES (424242, ?, 'x', 'seen', 'open')", now()); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate of an up-to-date database: %v", err)
	}
}

// TestWaitBusy: a step that meets another process's write lock (a real
// SQLITE_BUSY from a second connection) is run again until it passes, and
// given up when the context ends.
func TestWaitBusy(t *testing.T) {
	ctx := context.Background()
	s, path := openMigratedTo(t, -1)
	holder, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	lock, err := holder.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if _, err := lock.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	other, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(0)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, busy := other.BeginTx(ctx, nil)
	if !sqliteBusy(busy) {
		t.Fatalf("not SQLITE_BUSY: %v", busy)
	}
	if _, err := lock.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	calls := 0
	err = s.waitBusy(ctx, func() error {
		if calls++; calls < 3 {
			return s.fail("migrate", busy)
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("%d calls, %v", calls, err)
	}
	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	calls = 0
	err = s.waitBusy(cctx, func() error { calls++; return busy })
	if !errors.Is(err, busy) || calls < 2 {
		t.Fatalf("%d calls, %v", calls, err)
	}
	if sqliteBusy(errors.New("database is locked")) || sqliteBusy(nil) {
		t.Error("busy without SQLITE_BUSY")
	}
}

// openMigratedTo opens a SQLite store in a new file migrated up to version
// upTo (0: every migration; -1: none) and returns it with its file's path.
func openMigratedTo(t *testing.T, upTo int) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rampart.db")
	s, err := Open(context.Background(), "sqlite", path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if upTo >= 0 {
		if err := s.migrate(context.Background(), upTo); err != nil {
			t.Fatal(err)
		}
	}
	return s, path
}
