package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers driver "sqlite"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

// Store is the SQL implementation of store.Store.
type Store struct {
	d    dialect
	w    *sql.DB // writes; on SQLite a single connection, so writers queue instead of failing with SQLITE_BUSY
	r    *sql.DB // reads; on PostgreSQL the same pool as w
	log  *slog.Logger
	box  *auth.SecretBox // seals TOTP secrets at rest; nil keeps them clear (see UseSecretBox)
	dash dashCache       // kept dashboard overviews (dashboard_cache.go)
	seen intelSeen       // indicator values stored, for ApplyIndicators (intel_seen.go)
	ckpt *checkpointer   // SQLite: checkpoints off the writer's path (checkpoint.go)
	pack *packer         // SQLite: packed evidence's dictionaries (evidence_pack.go)
}

var _ store.Store = (*Store)(nil)

// Open connects to the database without migrating it; call Migrate.
//
// driver is "sqlite", with dsn a file path (":memory:" is not supported:
// readers and the writer must share one file), or "postgres", with dsn a
// postgres:// URL or key=value string. Unknown URL parameters become
// PostgreSQL run-time parameters, e.g. ?search_path=rampart.
func Open(ctx context.Context, driver, dsn string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{d: dialect{name: driver}, log: logger}
	switch driver {
	case "sqlite":
		if dsn == "" || strings.Contains(dsn, ":memory:") || strings.Contains(dsn, "mode=memory") {
			return nil, fmt.Errorf("sqlstore: open sqlite: %w: dsn must be a file path", store.ErrInvalid)
		}
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		// The writer sets WAL (a property of the file) before any reader opens.
		common := "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_time_format=sqlite"
		// The single writer keeps a 64 MiB page cache: recording a scan's
		// findings reads and rewrites thousands of rows and their indexes,
		// and SQLite's 2 MiB default sends most of it back to the file.
		// It leaves checkpoints to the checkpointer but for a backstop,
		// and cuts the log file back to 64 MiB when it starts it over.
		// Its temporary files stay in memory: a multi-row insert inside a
		// transaction keeps a statement journal (the pages it changed, to
		// undo it alone if it fails), which SQLite spills to a file in
		// /var/tmp past 64 KiB; recording a million early warnings wrote
		// 1.7 GB there, a third of all it wrote.
		if err := createSQLite(ctx, dsn); err != nil {
			return nil, fmt.Errorf("sqlstore: open sqlite %s: %w", dsn, err)
		}
		w, err := sql.Open("sqlite", dsn+sep+"_pragma=journal_mode(WAL)&"+common+"&_pragma=cache_size(-65536)&_pragma=temp_store(MEMORY)"+
			"&_pragma=wal_autocheckpoint("+strconv.Itoa(writerCheckpointPages)+")&_pragma=journal_size_limit(67108864)&_txlock=immediate")
		if err != nil {
			return nil, fmt.Errorf("sqlstore: open sqlite: %w", err)
		}
		w.SetMaxOpenConns(1)
		w.SetMaxIdleConns(1)
		w.SetConnMaxLifetime(0)
		w.SetConnMaxIdleTime(0)
		if err := w.PingContext(ctx); err != nil {
			w.Close()
			return nil, fmt.Errorf("sqlstore: open sqlite %s: %w", dsn, err)
		}
		r, err := sql.Open("sqlite", dsn+sep+common+"&_pragma=query_only(1)")
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("sqlstore: open sqlite: %w", err)
		}
		n := max(4, runtime.GOMAXPROCS(0))
		r.SetMaxOpenConns(n)
		r.SetMaxIdleConns(n)
		ck, err := startCheckpointer(dsn+sep+common, logger)
		if err != nil {
			w.Close()
			r.Close()
			return nil, fmt.Errorf("sqlstore: open sqlite: %w", err)
		}
		// Dictionaries of packed evidence load on a connection of their
		// own: a reader scanning rows on a pool connection must not wait
		// for another one.
		dicts, err := sql.Open("sqlite", dsn+sep+common+"&_pragma=query_only(1)")
		if err != nil {
			w.Close()
			r.Close()
			ck.close()
			return nil, fmt.Errorf("sqlstore: open sqlite: %w", err)
		}
		dicts.SetMaxOpenConns(1)
		dicts.SetMaxIdleConns(1)
		s.w, s.r, s.ckpt, s.pack = w, r, ck, newPacker(dicts)
	case "postgres":
		c, err := newPGConnector(dsn)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: open postgres: %w: %w", store.ErrInvalid, err)
		}
		db := sql.OpenDB(c)
		db.SetMaxOpenConns(max(8, 2*runtime.GOMAXPROCS(0)))
		db.SetMaxIdleConns(max(8, 2*runtime.GOMAXPROCS(0)))
		db.SetConnMaxIdleTime(5 * time.Minute)
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			if unavailable(err) {
				return nil, fmt.Errorf("sqlstore: open postgres: %w: %w", store.ErrUnavailable, err)
			}
			return nil, fmt.Errorf("sqlstore: open postgres: %w", err)
		}
		s.w, s.r = db, db
	default:
		return nil, fmt.Errorf("sqlstore: open: %w: unknown driver %q (want sqlite or postgres)", store.ErrInvalid, driver)
	}
	return s, nil
}

// Driver names the engine: "sqlite" or "postgres".
func (s *Store) Driver() string { return s.d.name }

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.r.PingContext(ctx); err != nil {
		if unavailable(err) {
			return fmt.Errorf("sqlstore: ping: %w: %w", store.ErrUnavailable, err)
		}
		return fmt.Errorf("sqlstore: ping: %w", err)
	}
	return nil
}

// Close releases the connections.
func (s *Store) Close() error {
	err := errors.Join(s.ckpt.close(), s.w.Close())
	if s.pack != nil {
		err = errors.Join(err, s.pack.db.Close())
	}
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	if err != nil {
		return fmt.Errorf("sqlstore: close: %w", err)
	}
	return nil
}

// DB returns the pool that writes (SQLite: one connection), for tools such
// as the benchmark seeder that load data in bulk. Writes through it bypass
// tenancy and the audit log.
func (s *Store) DB() *sql.DB { return s.w }

// querier is what *sql.DB, *sql.Tx and *sql.Conn have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// now is the time written into rows: UTC, to the microsecond both engines keep.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// fail wraps err for operation op, mapping driver errors onto the store
// sentinels so callers can use errors.Is.
func (s *Store) fail(op string, err error) error {
	if err == nil {
		return nil
	}
	var ie *store.ImportError
	switch {
	case errors.As(err, &ie),
		errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict),
		errors.Is(err, store.ErrForbidden), errors.Is(err, store.ErrInvalid),
		errors.Is(err, auth.ErrTokenExpired),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	if sentinel := s.d.classify(err); sentinel != nil {
		return fmt.Errorf("sqlstore: %s: %w: %w", op, sentinel, err)
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

// write runs fn in a write transaction and commits it. On SQLite the
// transaction begins IMMEDIATE on the single writer connection.
func (s *Store) write(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(op, err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return s.fail(op, err)
	}
	if err := tx.Commit(); err != nil {
		return s.fail(op, err)
	}
	s.ckpt.kick()
	return nil
}

// q rebinds a query for the dialect.
func (s *Store) q(query string) string { return s.d.rebind(query) }

// insertInto begins a multi-row INSERT: "INSERT INTO " and into, the table
// and its columns. On SQLite it is INSERT
// OR FAIL: a failing row ends the statement (and the store rolls the
// whole transaction back), so SQLite keeps no statement journal of the
// pages the statement changes, which under a default ABORT it copies for
// every statement of a long transaction.
func (s *Store) insertInto(into string) string {
	if s.d.postgres() {
		return "INSERT INTO " + into
	}
	return "INSERT OR FAIL INTO " + into
}

// Errors used inside operations; fail adds the "sqlstore: op:" prefix.
func notFound(what string, id any) error {
	return fmt.Errorf("%w: %s %v", store.ErrNotFound, what, id)
}

func forbidden(why string) error { return fmt.Errorf("%w: %s", store.ErrForbidden, why) }

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", store.ErrInvalid, fmt.Sprintf(format, args...))
}

// Cursors are the last ID of the page, base64url-encoded so clients treat
// them as opaque.

func encodeCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(id, 10)))
}

func decodeCursor(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, invalid("bad page cursor")
	}
	id, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || id < 0 {
		return 0, invalid("bad page cursor")
	}
	return id, nil
}

func pageLimit(pr store.PageRequest) (int, error) {
	switch {
	case pr.Limit < 0:
		return 0, invalid("limit must not be negative")
	case pr.Limit == 0:
		return store.DefaultLimit, nil
	case pr.Limit > store.MaxLimit:
		return store.MaxLimit, nil
	}
	return pr.Limit, nil
}

// finishPage trims the extra row fetched to detect a following page.
func finishPage[T any](items []T, limit int, id func(T) int64) store.Page[T] {
	p := store.Page[T]{Items: items}
	if len(items) > limit {
		p.Items = items[:limit]
		p.Next = encodeCursor(id(p.Items[limit-1]))
	}
	if p.Items == nil {
		p.Items = []T{}
	}
	return p
}

// where builds a conjunction of conditions and their arguments.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// nullInt64 stores 0 as NULL for optional references.
func nullInt64(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Truncate(time.Microsecond)
}

func timePtr(nt sql.NullTime) *time.Time {
	if !nt.Valid {
		return nil
	}
	t := nt.Time.UTC()
	return &t
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("sqlstore: marshal %T: %v", v, err)) // only our own plain structs are marshalled
	}
	return string(b)
}

// pageSize is the page size of a new SQLite database. Bulk writes (a
// report's million findings, a feed's million indicators) go to the log
// and back to the file a page per system call; 16 KiB pages make a
// quarter of the calls of SQLite's 4 KiB default for the same bytes.
var pageSize = 16384

// createSQLite gives a database file that does not exist yet (or is
// empty) its page size and WAL mode, which SQLite fixes with the first
// write: the writer's DSN sets its pragmas in lexical order, journal_mode
// before page_size. An existing database keeps its page size.
func createSQLite(ctx context.Context, dsn string) error {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	var pages int
	if err := db.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		return err
	}
	if pages > 0 {
		return nil
	}
	if _, err := db.ExecContext(ctx, "PRAGMA page_size = "+strconv.Itoa(pageSize)); err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, "PRAGMA journal_mode = WAL")
	return err
}
