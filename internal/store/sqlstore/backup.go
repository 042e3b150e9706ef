package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
)

// ErrCorrupt means a SQLite file failed PRAGMA integrity_check.
var ErrCorrupt = errors.New("sqlstore: database fails integrity check")

// SnapshotSQLite writes a consistent copy of the SQLite database at src
// to dst (which must not exist) with VACUUM INTO, from a connection of its
// own, while other connections and processes keep writing.
//
// Why VACUUM INTO: copying the file misses what is still in the WAL and
// tears under writes, and the online backup API restarts its copy on every
// write from another connection, so under steady writes it never ends.
// VACUUM INTO reads the whole database inside one read transaction (a
// snapshot that writers in WAL mode do not disturb) and writes a compact
// copy with no WAL of its own. It holds no write lock: the platform's
// writers only wait if a checkpoint wants to reset the WAL meanwhile.
func SnapshotSQLite(ctx context.Context, src, dst string) error {
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("sqlstore: snapshot: %w", err)
	}
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("sqlstore: snapshot: %s exists", dst)
	}
	// No journal_mode pragma: the source's WAL mode is a property of the
	// file. (query_only would refuse VACUUM INTO, whose output is a write.)
	db, err := sql.Open("sqlite", src+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("sqlstore: snapshot: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		os.Remove(dst)
		return fmt.Errorf("sqlstore: snapshot %s: vacuum into: %w", src, err)
	}
	return nil
}

// CheckSQLite opens the SQLite file at path on its own, runs PRAGMA
// integrity_check and returns the highest applied migration. A database
// that fails the check gives ErrCorrupt with the first problems SQLite
// lists; a file that is not a database fails too.
func CheckSQLite(ctx context.Context, path string) (schemaVersion int, err error) {
	if _, err := os.Stat(path); err != nil {
		return 0, fmt.Errorf("sqlstore: check: %w", err)
	}
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		return 0, fmt.Errorf("sqlstore: check: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check(20)")
	if err != nil {
		return 0, fmt.Errorf("sqlstore: check %s: %w: %w", path, ErrCorrupt, err)
	}
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return 0, fmt.Errorf("sqlstore: check %s: %w", path, err)
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return 0, fmt.Errorf("sqlstore: check %s: %w: %w", path, ErrCorrupt, err)
	}
	rows.Close()
	if len(problems) > 0 {
		return 0, fmt.Errorf("sqlstore: check %s: %w: %s", path, ErrCorrupt, strings.Join(problems, "; "))
	}
	var v sql.NullInt64
	if err := db.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlstore: check %s: no migrations table: %w", path, err)
	}
	return int(v.Int64), nil
}
