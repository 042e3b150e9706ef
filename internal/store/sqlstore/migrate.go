package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"
)

//go:embed migrations
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
	// foreignKeysOff: SQLite applies the migration with foreign keys off
	// and checks them all before it commits (a table copied under a name
	// other tables reference). Its first line says so: fkOffMarker.
	foreignKeysOff bool
}

// fkOffMarker is the first line of a SQLite migration that copies a
// referenced table.
const fkOffMarker = "-- rampart: foreign keys off"

// firstLine is b's first line without its line end (LF or CRLF: a
// checkout may have either).
func firstLine(b []byte) string {
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSuffix(line, "\r")
}

// migrations returns the dialect's migrations in version order. Files are
// named NNNN_description.sql under migrations/<dialect>/.
func (s *Store) migrations() ([]migration, error) {
	dir := path.Join("migrations", s.d.name)
	ents, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and '_'", e.Name())
		}
		b, err := migrationFS.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b), foreignKeysOff: firstLine(b) == fkOffMarker})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s share a version", out[i-1].name, out[i].name)
		}
	}
	return out, nil
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TIMESTAMP NOT NULL
)`

// Migrate applies the embedded migrations not yet recorded in
// schema_migrations. Several processes may run it at once: on PostgreSQL
// they queue on an advisory lock keyed by the current schema, on SQLite on
// the database's write lock (BEGIN IMMEDIATE); whoever comes second finds
// the work done.
func (s *Store) Migrate(ctx context.Context) error { return s.migrate(ctx, 0) }

// migrate applies the migrations up to version upTo (0: all).
func (s *Store) migrate(ctx context.Context, upTo int) error {
	ms, err := s.migrations()
	if err != nil {
		return s.fail("migrate", err)
	}
	if upTo > 0 {
		ms = slices.DeleteFunc(ms, func(m migration) bool { return m.version > upTo })
	}
	if s.d.postgres() {
		return s.fail("migrate", s.migratePostgres(ctx, ms))
	}
	// The migrations up to one that needs foreign keys off go in one
	// transaction; that one goes in its own.
	for first := true; first || len(ms) > 0; first = false {
		n := 0
		for n < len(ms) && !ms[n].foreignKeysOff {
			n++
		}
		var step func() error
		if n == 0 && len(ms) > 0 {
			m := ms[0]
			n = 1
			step = func() error { return s.fail("migrate", s.applyForeignKeysOff(ctx, m)) }
		} else {
			batch := ms[:n]
			step = func() error {
				return s.write(ctx, "migrate", func(tx *sql.Tx) error {
					if _, err := tx.ExecContext(ctx, createMigrationsTable); err != nil {
						return err
					}
					for _, m := range batch {
						if _, err := s.applyOne(ctx, tx, m); err != nil {
							return err
						}
					}
					return nil
				})
			}
		}
		if err := s.waitBusy(ctx, step); err != nil {
			return err
		}
		ms = ms[n:]
	}
	return nil
}

// waitBusy runs step again for as long as another process holds the
// database's write lock beyond busy_timeout (its own migration of a large
// table may take minutes), until ctx ends: the second process to start
// then finds the work done instead of failing.
func (s *Store) waitBusy(ctx context.Context, step func() error) error {
	for logged := false; ; logged = true {
		err := step()
		if !sqliteBusy(err) || ctx.Err() != nil {
			return err
		}
		if !logged {
			s.log.Info("sqlstore: another process holds the database's write lock; waiting to migrate")
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// sqliteBusy reports SQLITE_BUSY (primary code 5) or one of its extended
// codes.
func sqliteBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == 5
}

// applyForeignKeysOff applies a SQLite migration the way SQLite's manual
// says to change a table others reference: foreign keys off on the
// writer's one connection (the pragma is a no-op inside a transaction),
// the change in a transaction that commits only if PRAGMA
// foreign_key_check finds nothing, foreign keys back on whatever happens.
func (s *Store) applyForeignKeysOff(ctx context.Context, m migration) error {
	// Applied already (every start after the first): nothing to take the
	// write lock for, nor to check.
	var done int
	if err := s.w.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version = ?", m.version).Scan(&done); err != nil {
		return err
	}
	if done > 0 {
		return nil
	}
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
		return err
	}
	defer func() {
		// Read back: the pragma does nothing, silently, inside a
		// transaction. A connection left without foreign keys is closed
		// rather than reused.
		var on int
		bg := context.WithoutCancel(ctx)
		if _, err := conn.ExecContext(bg, "PRAGMA foreign_keys = ON"); err != nil || conn.QueryRowContext(bg, "PRAGMA foreign_keys").Scan(&on) != nil || on != 1 {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	// The transaction does not end with ctx: database/sql would roll it
	// back on a goroutine of its own, racing the deferred pragma above. The
	// statements take ctx, so a cancelled migration still stops, and the
	// deferred Rollback ends it before foreign keys go back on.
	tx, err := conn.BeginTx(context.WithoutCancel(ctx), nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	applied, err := s.applyOne(ctx, tx, m)
	if err != nil || !applied {
		return err // another process applied it meanwhile
	}
	rows, err := tx.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return err
	}
	var broken []string
	for rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fk int
		if err := rows.Scan(&table, &rowid, &parent, &fk); err != nil {
			rows.Close()
			return err
		}
		if len(broken) < 5 {
			broken = append(broken, fmt.Sprintf("%s row %d -> %s", table, rowid.Int64, parent))
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(broken) > 0 {
		return fmt.Errorf("migration %s: foreign keys broken: %s", m.name, strings.Join(broken, "; "))
	}
	return tx.Commit()
}

func (s *Store) migratePostgres(ctx context.Context, ms []migration) error {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	const key = `hashtext('rampart.migrate.' || current_schema())`
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock("+key+")"); err != nil {
		return err
	}
	defer func() {
		// A fresh context: the lock must go even if ctx has ended.
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock("+key+")")
	}()
	if _, err := conn.ExecContext(ctx, strings.Replace(createMigrationsTable, "TIMESTAMP", "TIMESTAMPTZ", 1)); err != nil {
		return err
	}
	for _, m := range ms {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := s.applyOne(ctx, tx, m); err != nil {
			_ = tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// applyOne applies m in tx unless schema_migrations already records it,
// and reports whether it did.
func (s *Store) applyOne(ctx context.Context, tx *sql.Tx, m migration) (bool, error) {
	var n int
	if err := tx.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM schema_migrations WHERE version = ?"), m.version).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx, s.q("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"), m.version, m.name, now()); err != nil {
		return false, err
	}
	s.log.Info("sqlstore: applied migration", "driver", s.d.name, "migration", m.name)
	return true, nil
}
