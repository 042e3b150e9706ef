package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/storetest"
)

const defaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

func openSQLite(t testing.TB) *Store {
	t.Helper()
	return openSQLiteAt(t, filepath.Join(t.TempDir(), "rampart.db"))
}

// openSQLiteAt opens and migrates the SQLite store at path (several
// stores may share one file), closed when the test ends.
func openSQLiteAt(t testing.TB, path string) *Store {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, "sqlite", path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// postgresDSN returns the server to test against, skipping (or failing, in
// CI) when it does not answer.
func postgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("RAMPART_TEST_POSTGRES")
	if dsn == "" {
		dsn = defaultPostgresDSN
	}
	c, err := newPGConnector(dsn)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		var conn interface{ Close() error }
		conn, err = c.Connect(ctx)
		if err == nil {
			conn.Close()
		}
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("postgres at %s: %v", redact(dsn), err)
		}
		t.Skipf("postgres at %s is not reachable (%v); set RAMPART_TEST_POSTGRES or start it", redact(dsn), err)
	}
	return dsn
}

func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxx")
		}
		return u.String()
	}
	return dsn
}

// withSearchPath points a DSN at one schema.
func withSearchPath(dsn, schema string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

// openPostgres returns a store in a fresh schema of its own, dropped when
// t ends, so test runs (and parallel tests) never see each other's rows.
func openPostgres(t testing.TB) *Store {
	t.Helper()
	dsn := postgresDSN(t)
	schema := newSchema(t, dsn)
	ctx := context.Background()
	s, err := Open(ctx, "postgres", withSearchPath(dsn, schema), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

func newSchema(t testing.TB, dsn string) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	schema := "rampart_test_" + hex.EncodeToString(b)
	c, err := newPGConnector(dsn)
	if err != nil {
		t.Fatal(err)
	}
	admin := sql.OpenDB(c)
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		admin.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	return schema
}

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openSQLite(t) })
}

func TestPostgres(t *testing.T) {
	postgresDSN(t)
	storetest.Run(t, func(t *testing.T) store.Store { return openPostgres(t) })
}

// eachDriver runs a driver-specific test on both engines.
func eachDriver(t *testing.T, fn func(t *testing.T, open func(testing.TB) *Store)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, openSQLite) })
	t.Run("postgres", func(t *testing.T) {
		postgresDSN(t)
		fn(t, openPostgres)
	})
}

func TestAuditLogIsAppendOnly(t *testing.T) {
	eachDriver(t, func(t *testing.T, open func(testing.TB) *Store) {
		s := open(t)
		ctx := context.Background()
		o := newOrg("ROOT")
		if err := s.CreateOrg(ctx, sysP, &o); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{"UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"} {
			if _, err := s.DB().ExecContext(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: err = %v, want append-only refusal", q, err)
			}
		}
	})
}

func TestMigrateFromSeveralProcesses(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "shared.db")
		migrateConcurrently(t, func() (*Store, error) { return Open(context.Background(), "sqlite", path, nil) })
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := postgresDSN(t)
		dsn = withSearchPath(dsn, newSchema(t, dsn))
		migrateConcurrently(t, func() (*Store, error) { return Open(context.Background(), "postgres", dsn, nil) })
	})
}

// migrateConcurrently opens several stores (as separate processes would)
// and migrates them at once.
func migrateConcurrently(t *testing.T, open func() (*Store, error)) {
	const n = 4
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		s, err := open()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.Migrate(context.Background())
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	s, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var applied int
	if err := s.DB().QueryRow("SELECT COUNT(*) FROM schema_migrations").Scan(&applied); err != nil {
		t.Fatal(err)
	}
	ms, _ := s.migrations()
	if applied != len(ms) {
		t.Fatalf("%d migrations recorded, want %d", applied, len(ms))
	}
}

func TestErrorsArePrefixed(t *testing.T) {
	s := openSQLite(t)
	_, err := s.GetOrg(context.Background(), sysP, 42)
	if !errors.Is(err, store.ErrNotFound) || !strings.HasPrefix(err.Error(), "sqlstore: get organization: ") {
		t.Fatalf("err = %v", err)
	}
	_, err = Open(context.Background(), "oracle", "x", nil)
	if !errors.Is(err, store.ErrInvalid) || !strings.HasPrefix(err.Error(), "sqlstore: ") {
		t.Fatalf("open unknown driver: %v", err)
	}
	_, err = Open(context.Background(), "sqlite", ":memory:", nil)
	if !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("open :memory:: %v", err)
	}
}

func TestRebind(t *testing.T) {
	d := dialect{name: "postgres"}
	if got := d.rebind("a = ? AND b IN (?, ?)"); got != "a = $1 AND b IN ($2, $3)" {
		t.Fatal(got)
	}
	if got := (dialect{name: "sqlite"}).rebind("a = ?"); got != "a = ?" {
		t.Fatal(got)
	}
	if got := likeArg(`50%_off\`); got != `%50\%\_off\\%` {
		t.Fatal(got)
	}
}

func TestCursor(t *testing.T) {
	for _, id := range []int64{1, 42, 1 << 40} {
		got, err := decodeCursor(encodeCursor(id))
		if err != nil || got != id {
			t.Fatalf("cursor %d: %d %v", id, got, err)
		}
	}
	for _, bad := range []string{"!!", "LTE", "YWJj"} {
		if _, err := decodeCursor(bad); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("cursor %q: %v", bad, err)
		}
	}
}
