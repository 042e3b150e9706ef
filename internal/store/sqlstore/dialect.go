package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/rampart-cert/rampart/internal/store"
)

// dialect holds every difference between the two engines. Queries are
// written once with "?" placeholders and standard SQL that both engines
// accept (INSERT ... RETURNING, ON CONFLICT, ||, substr, LIMIT); the few
// places that differ ask the dialect.
//
//	                 SQLite                      PostgreSQL
//	placeholders     ?                           $1, $2, ...
//	substring match  LIKE (ASCII case-folding)   ILIKE
//	row locks        none (one writer)           SELECT ... FOR UPDATE
//	org tree lock    none (one writer)           pg_advisory_xact_lock
//	bool, json       INTEGER 0/1, TEXT           BOOLEAN, JSONB
//	migrate lock     BEGIN IMMEDIATE             pg_advisory_lock
//	error codes      extended result codes       SQLSTATE
type dialect struct {
	name string // "sqlite" or "postgres"
}

func (d dialect) postgres() bool { return d.name == "postgres" }

// rebind turns "?" placeholders into "$n" for PostgreSQL. Queries never
// carry a literal "?" inside a string.
func (d dialect) rebind(q string) string {
	if !d.postgres() || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// forUpdate locks the rows a write transaction reads before changing them.
// SQLite needs none: its writes are serialized by one connection.
func (d dialect) forUpdate() string {
	if d.postgres() {
		return " FOR UPDATE"
	}
	return ""
}

// like is a case-insensitive substring condition on col with one argument
// made by likeArg. SQLite's LIKE folds ASCII letters only.
func (d dialect) like(col string) string {
	if d.postgres() {
		return col + ` ILIKE ? ESCAPE '\'`
	}
	return col + ` LIKE ? ESCAPE '\'`
}

// likeArg makes the pattern "%s%" with LIKE wildcards in s escaped.
func likeArg(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// lockOrgTree serializes changes to the organization tree on PostgreSQL,
// where a concurrent create under a moving subtree could otherwise miss the
// path rewrite. The lock ends with the transaction.
func (d dialect) lockOrgTree(ctx context.Context, tx *sql.Tx) error {
	if !d.postgres() {
		return nil
	}
	_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext('rampart.orgtree'))")
	return err
}

// classify maps a driver error to a store sentinel, or nil if it is none
// of them.
func (d dialect) classify(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	if unavailable(err) {
		return store.ErrUnavailable
	}
	if code := pgErrorCode(err); code != "" {
		switch code {
		case "23505", "23503": // unique_violation, foreign_key_violation
			return store.ErrConflict
		case "23514", "23502", "22001", "22P02": // check, not null, too long, bad text
			return store.ErrInvalid
		}
		return nil
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY,
			sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return store.ErrConflict
		case sqlite3.SQLITE_CONSTRAINT_CHECK, sqlite3.SQLITE_CONSTRAINT_NOTNULL:
			return store.ErrInvalid
		}
	}
	return nil
}
