package sqlstore

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// dbFile is the path of a SQLite store's database file.
func dbFile(t testing.TB, s *Store) string {
	t.Helper()
	var seq int
	var name, file string
	if err := s.DB().QueryRowContext(context.Background(), "PRAGMA database_list").Scan(&seq, &name, &file); err != nil {
		t.Fatal(err)
	}
	return file
}

// A write transaction far below the writer's own checkpoint threshold
// still reaches the database file: the checkpointer copies it there while
// the writer goes on. Closing the store stops it.
func TestCheckpointerCopiesCommits(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	file := dbFile(t, s)
	o := org.Organization{Code: "VN", Name: "VN", Kind: org.KindNational}
	if err := s.CreateOrg(ctx, sysP, &o); err != nil {
		t.Fatal(err)
	}
	a := asset.Asset{OrgID: o.ID, Kind: asset.KindCIDR, Value: "10.64.0.0/16"}
	if err := s.CreateAsset(ctx, sysP, &a); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * checkpointEvery) // the checkpoints of the set-up are done
	before, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	seen := make([]finding.Finding, 3000) // a few MiB of log: far below writerCheckpointPages
	for i := range seen {
		seen[i] = benchWarning(a, i)
	}
	if _, err := s.RecordFindings(ctx, store.FindingBatch{Source: finding.SourceIntel, Ref: "t", JobID: "run-1",
		At: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Policy: finding.DefaultPolicy, Seen: seen}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > before.Size()+1<<20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the database file stays at %d bytes (%d before): nothing checkpointed", st.Size(), before.Size())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s.ckpt.kick() // after Close: ignored, not a panic or a hang
}
