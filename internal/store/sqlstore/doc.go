// Package sqlstore implements store.Store on SQL: SQLite (modernc.org/sqlite,
// pure Go, for the single-binary default) and PostgreSQL (pgx, for scaling
// out). One implementation serves both engines; the differences live in
// dialect.go and in the per-engine migration files.
//
// # Opening
//
//	s, err := sqlstore.Open(ctx, "sqlite", "/var/lib/rampart/rampart.db", logger)
//	s, err := sqlstore.Open(ctx, "postgres", "postgres://rampart@db/rampart", logger)
//	...
//	err = s.Migrate(ctx) // Open never migrates
//
// # SQLite
//
// The file runs in WAL mode with busy_timeout, foreign_keys on and
// synchronous=NORMAL. Writes go through a pool of exactly one connection and
// begin IMMEDIATE, so writers in this process queue in Go instead of meeting
// SQLITE_BUSY, and other processes wait on busy_timeout; reads use a
// separate query_only pool and run concurrently with the writer. Times are
// stored as UTC text, booleans as 0/1, JSON as TEXT. LIKE folds ASCII
// letters only, so a Query filter on Vietnamese names is case-sensitive for
// letters outside ASCII.
//
// # PostgreSQL
//
// The database/sql pool holds pgx connections through a small adapter in
// pgdriver.go (pgx's stdlib package would pull in pgxpool and puddle, which
// this module does not require). Write transactions lock the rows they
// change (SELECT ... FOR UPDATE); changes to the organization tree also take
// a transaction-scoped advisory lock so that path rewrites never race with
// inserts under a moving subtree. Migrations hold pg_advisory_lock keyed by
// the current schema. A trigger refuses UPDATE, DELETE and TRUNCATE on
// audit_log. Organization paths use the "C" collation so prefix ranges use
// the index. Set the schema with the DSN's search_path parameter.
//
// # Tenancy
//
// Every call resolves the principal's subtree from the database by its
// OrgID (not from the OrgPath it carries, which may be stale): organizations
// whose materialized path starts with the principal's organization's path,
// queried as the range path >= p AND path < p||'~' that both engines
// answer from an index. Platform-wide principals (platform-admin, analyst,
// the system) see everything; a principal with no organization, or whose
// organization is unknown or deleted, sees nothing. Then:
//
//   - an object outside the subtree is store.ErrNotFound, for reads and
//     writes alike, so its existence does not leak;
//   - a write inside the subtree without the permission is
//     store.ErrForbidden;
//   - creating a root organization, moving one to the top, or creating
//     users and tokens without an organization needs a platform-wide
//     principal;
//   - an organization administrator may rename its own organization but not
//     move or delete it: a move needs the old and the new parent inside the
//     subtree, and the new parent outside the moved subtree (else
//     store.ErrInvalid);
//   - users and tokens also need auth.PermManageUsers and MayGrant of their
//     role; a user may read themselves, change their own password and TOTP
//     secret, and list and revoke their own tokens.
//
// Every successful write appends an audit entry in its transaction, with the
// object before and after as JSON (users and tokens without hashes or
// secrets). Audit entries record the path of their organization at the
// time, so a subtree keeps the history of organizations deleted from it.
//
// Listings page by keyset on id (ascending; the audit log newest first);
// the cursor is the last id, base64url-encoded.
package sqlstore
