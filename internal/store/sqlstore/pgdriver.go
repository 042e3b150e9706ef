package sqlstore

import (
	"context"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// This file adapts one pgx.Conn to database/sql, so the store runs the same
// *sql.DB code on both engines. pgx's own stdlib package would do it, but it
// imports pgxpool and with it jackc/puddle, which this module does not
// require; the adapter needs only pgx and pgconn, and database/sql pools the
// connections. Every pgx.Conn keeps pgx's prepared-statement cache, so
// repeated queries are parsed once per connection.

// pgConnector opens pgx connections for sql.OpenDB.
type pgConnector struct {
	cfg *pgx.ConnConfig
}

func newPGConnector(dsn string) (*pgConnector, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	return &pgConnector{cfg: cfg}, nil
}

func (c *pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, c.cfg.Copy())
	if err != nil {
		return nil, err
	}
	return &pgConn{conn: conn}, nil
}

func (c *pgConnector) Driver() driver.Driver { return pgDriver{c: c} }

type pgDriver struct{ c *pgConnector }

func (d pgDriver) Open(string) (driver.Conn, error) { return d.c.Connect(context.Background()) }

// pgConn is one database/sql connection.
type pgConn struct {
	conn *pgx.Conn
}

var (
	_ driver.Conn               = (*pgConn)(nil)
	_ driver.ConnBeginTx        = (*pgConn)(nil)
	_ driver.ExecerContext      = (*pgConn)(nil)
	_ driver.QueryerContext     = (*pgConn)(nil)
	_ driver.ConnPrepareContext = (*pgConn)(nil)
	_ driver.Pinger             = (*pgConn)(nil)
	_ driver.SessionResetter    = (*pgConn)(nil)
	_ driver.Validator          = (*pgConn)(nil)
)

// Raw exposes the pgx connection (through sql.Conn.Raw) for COPY.
func (c *pgConn) Raw() *pgx.Conn { return c.conn }

func (c *pgConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// PrepareContext does not round-trip: pgx prepares and caches the statement
// on first use.
func (c *pgConn) PrepareContext(_ context.Context, query string) (driver.Stmt, error) {
	return &pgStmt{c: c, query: query}, nil
}

func (c *pgConn) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.conn.Close(ctx)
}

func (c *pgConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *pgConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	var o pgx.TxOptions
	switch opts.Isolation {
	case driver.IsolationLevel(0): // default
	case 2: // sql.LevelReadCommitted
		o.IsoLevel = pgx.ReadCommitted
	case 4: // sql.LevelRepeatableRead
		o.IsoLevel = pgx.RepeatableRead
	case 6: // sql.LevelSerializable
		o.IsoLevel = pgx.Serializable
	default:
		return nil, fmt.Errorf("pgx adapter: unsupported isolation level %d", opts.Isolation)
	}
	if opts.ReadOnly {
		o.AccessMode = pgx.ReadOnly
	}
	tx, err := c.conn.BeginTx(ctx, o)
	if err != nil {
		return nil, err
	}
	return pgTx{tx: tx}, nil
}

func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	tag, err := c.conn.Exec(ctx, query, plainArgs(args)...)
	if err != nil {
		return nil, err
	}
	return pgResult(tag.RowsAffected()), nil
}

func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := c.conn.Query(ctx, query, plainArgs(args)...)
	if err != nil {
		return nil, err
	}
	// Surface errors such as a syntax error now rather than at Next.
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			rows.Close()
			return nil, err
		}
		return &pgRows{rows: rows, done: true}, nil
	}
	return &pgRows{rows: rows, primed: true}, nil
}

func (c *pgConn) Ping(ctx context.Context) error {
	if c.conn.IsClosed() {
		return driver.ErrBadConn
	}
	return c.conn.Ping(ctx)
}

func (c *pgConn) ResetSession(context.Context) error {
	if c.conn.IsClosed() {
		return driver.ErrBadConn
	}
	return nil
}

func (c *pgConn) IsValid() bool { return !c.conn.IsClosed() }

func plainArgs(nv []driver.NamedValue) []any {
	out := make([]any, len(nv))
	for i, v := range nv {
		out[i] = v.Value
	}
	return out
}

type pgStmt struct {
	c     *pgConn
	query string
}

func (s *pgStmt) Close() error  { return nil }
func (s *pgStmt) NumInput() int { return -1 }
func (s *pgStmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), named(args))
}
func (s *pgStmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), named(args))
}
func (s *pgStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.c.ExecContext(ctx, s.query, args)
}
func (s *pgStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.c.QueryContext(ctx, s.query, args)
}

func named(args []driver.Value) []driver.NamedValue {
	out := make([]driver.NamedValue, len(args))
	for i, a := range args {
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	return out
}

type pgTx struct{ tx pgx.Tx }

// database/sql rolls back itself when the transaction's context ends, so
// Commit and Rollback run to completion on their own context.
func (t pgTx) Commit() error   { return t.tx.Commit(context.Background()) }
func (t pgTx) Rollback() error { return t.tx.Rollback(context.Background()) }

type pgResult int64

func (r pgResult) LastInsertId() (int64, error) {
	return 0, errors.New("pgx adapter: LastInsertId is not supported, use RETURNING")
}
func (r pgResult) RowsAffected() (int64, error) { return int64(r), nil }

// The OIDs whose values are passed through as raw JSON text.
const (
	oidJSON  = 114
	oidJSONB = 3802
)

type pgRows struct {
	rows   pgx.Rows
	primed bool // Next was already called once and returned true
	done   bool
}

func (r *pgRows) Columns() []string {
	fds := r.rows.FieldDescriptions()
	out := make([]string, len(fds))
	for i, fd := range fds {
		out[i] = fd.Name
	}
	return out
}

func (r *pgRows) Close() error {
	r.rows.Close()
	return r.rows.Err()
}

func (r *pgRows) Next(dest []driver.Value) error {
	if r.done {
		return io.EOF
	}
	if r.primed {
		r.primed = false
	} else if !r.rows.Next() {
		r.done = true
		if err := r.rows.Err(); err != nil {
			return err
		}
		return io.EOF
	}
	raw := r.rows.RawValues()
	fds := r.rows.FieldDescriptions()
	if fastValues(fds, raw, dest) {
		return nil
	}
	vals, err := r.rows.Values()
	if err != nil {
		return err
	}
	for i, v := range vals {
		if v != nil && (fds[i].DataTypeOID == oidJSON || fds[i].DataTypeOID == oidJSONB) {
			b := raw[i]
			if fds[i].DataTypeOID == oidJSONB && fds[i].Format == pgx.BinaryFormatCode && len(b) > 0 {
				b = b[1:] // binary jsonb starts with a version byte
			}
			dest[i] = append([]byte(nil), b...)
			continue
		}
		dest[i] = driverValue(v)
	}
	return nil
}

// More type OIDs decoded without pgx's generic Values: a listing or a
// dashboard reads thousands of rows of these, and Values boxes each column
// through its type registry.
const (
	oidBool        = 16
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidText        = 25
	oidFloat8      = 701
	oidVarchar     = 1043
	oidTimestamptz = 1184
)

// pgEpoch is PostgreSQL's zero time for binary timestamps.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// fastValues decodes a row whose columns are all of the plain types above
// in binary format (or NULL) straight into dest. It reports false, having
// written nothing that matters, for anything else, and Values decodes it.
func fastValues(fds []pgconn.FieldDescription, raw [][]byte, dest []driver.Value) bool {
	for i, fd := range fds {
		if raw[i] == nil {
			continue
		}
		if fd.Format != pgx.BinaryFormatCode && fd.DataTypeOID != oidText && fd.DataTypeOID != oidVarchar {
			return false
		}
		b := raw[i]
		switch fd.DataTypeOID {
		case oidBool, oidInt2, oidInt4, oidInt8, oidFloat8, oidTimestamptz:
			if fd.Format != pgx.BinaryFormatCode {
				return false
			}
		}
		switch fd.DataTypeOID {
		case oidBool:
			if len(b) != 1 {
				return false
			}
		case oidInt2:
			if len(b) != 2 {
				return false
			}
		case oidInt4:
			if len(b) != 4 {
				return false
			}
		case oidInt8, oidFloat8, oidTimestamptz:
			if len(b) != 8 {
				return false
			}
			if fd.DataTypeOID == oidTimestamptz {
				us := int64(binary.BigEndian.Uint64(b))
				if us == math.MaxInt64 || us == math.MinInt64 { // ±infinity
					return false
				}
			}
		case oidText, oidVarchar:
		default:
			return false
		}
	}
	for i, fd := range fds {
		b := raw[i]
		if b == nil {
			dest[i] = nil
			continue
		}
		switch fd.DataTypeOID {
		case oidBool:
			dest[i] = b[0] != 0
		case oidInt2:
			dest[i] = int64(int16(binary.BigEndian.Uint16(b)))
		case oidInt4:
			dest[i] = int64(int32(binary.BigEndian.Uint32(b)))
		case oidInt8:
			dest[i] = int64(binary.BigEndian.Uint64(b))
		case oidFloat8:
			dest[i] = math.Float64frombits(binary.BigEndian.Uint64(b))
		case oidTimestamptz:
			dest[i] = pgEpoch.Add(time.Duration(int64(binary.BigEndian.Uint64(b))) * time.Microsecond).In(time.Local)
		case oidText, oidVarchar:
			dest[i] = string(b)
		}
	}
	return true
}

// driverValue narrows what pgx decodes to the types database/sql expects.
func driverValue(v any) driver.Value {
	switch x := v.(type) {
	case nil, int64, float64, bool, []byte, string, time.Time:
		return x
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case float32:
		return float64(x)
	case fmt.Stringer:
		return x.String()
	default:
		return fmt.Sprint(x)
	}
}

// pgErrorCode returns the SQLSTATE of a PostgreSQL error, or "".
func pgErrorCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}
