package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SQLite binds every parameter of a statement on its own: database/sql
// converts it, the driver copies a string into C memory and formats a
// time as text. The rows of a bulk write share most of their values (one
// check, one source, one job, one set of dates), so sharedInsert binds a
// value that every row of a statement holds once, as a numbered parameter
// (?NNN) that each row names. A report of new findings then binds a
// quarter of the values it did.

// sharedInsert inserts n rows of ncols values each with "INSERT ... into
// VALUES ...", batchRows rows a statement. row appends the values of row
// i to dst and returns it. after, if not nil, is called with each
// statement's result and the range of rows [lo, hi) it inserted. SQLite
// only: PostgreSQL's placeholders are numbered by s.q.
func (s *Store) sharedInsert(ctx context.Context, tx *sql.Tx, into string, ncols, n int,
	row func(i int, dst []any) []any, after func(res sql.Result, lo, hi int) error) error {
	if ncols > 64 {
		return fmt.Errorf("shared insert: %d columns (at most 64)", ncols)
	}
	type shape struct {
		shared uint64 // bit c: column c is bound once
		rows   int
	}
	stmts := map[shape]*sql.Stmt{}
	defer func() {
		for _, st := range stmts {
			st.Close()
		}
	}()
	vals := make([]any, 0, min(n, batchRows)*ncols)
	var args []any
	for lo := 0; lo < n; lo += batchRows {
		hi := min(n, lo+batchRows)
		vals = vals[:0]
		for i := lo; i < hi; i++ {
			vals = row(i, vals)
		}
		if len(vals) != (hi-lo)*ncols {
			return fmt.Errorf("shared insert: %d values for %d rows of %d columns", len(vals), hi-lo, ncols)
		}
		sh := shape{sharedColumns(vals, ncols), hi - lo}
		st := stmts[sh]
		if st == nil {
			var err error
			if st, err = tx.PrepareContext(ctx, s.insertInto(into)+sharedValues(ncols, sh.rows, sh.shared)); err != nil {
				return err
			}
			stmts[sh] = st
		}
		args = sharedArgs(args[:0], vals, ncols, sh.shared)
		res, err := st.ExecContext(ctx, args...)
		if err != nil {
			return err
		}
		if after != nil {
			if err := after(res, lo, hi); err != nil {
				return err
			}
		}
	}
	return nil
}

// sharedColumns returns the columns (as bits) whose value is the same in
// every row of vals, rows of ncols values each. A single row shares none:
// it has nothing to share with.
func sharedColumns(vals []any, ncols int) uint64 {
	rows := len(vals) / ncols
	if rows < 2 {
		return 0
	}
	var mask uint64
	for c := range ncols {
		first := vals[c]
		same := true
		for r := 1; r < rows && same; r++ {
			same = sameValue(first, vals[r*ncols+c])
		}
		if same {
			mask |= 1 << c
		}
	}
	return mask
}

// sameValue reports whether a and b are the same value of one of the types
// the store binds, so that binding either stores the same. Two times are
// the same only with the same instant, location and monotonic reading (a
// time is stored as text in its location). Anything else is not.
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case int64:
		y, ok := b.(int64)
		return ok && x == y
	case int:
		y, ok := b.(int)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x == y
	case []byte:
		y, ok := b.([]byte)
		return ok && x != nil && y != nil && bytes.Equal(x, y)
	}
	return false
}

// sharedValues is the VALUES list of rows rows of ncols columns: a shared
// column is parameter ?k+1 for the k-th shared column in column order;
// the others are numbered after them, row by row.
//
// Only the first row numbers its parameters (?NNN); the later rows leave
// the unshared ones plain (?), which SQLite numbers one past the largest
// so far, the same numbers. A numbered parameter has a name that the
// driver looks up at every bind in a list of them all, so numbering
// thousands would make binding quadratic.
func sharedValues(ncols, rows int, shared uint64) string {
	k := 0
	slot := make([]int, ncols) // a shared column's parameter
	for c := range ncols {
		if shared&(1<<c) != 0 {
			k++
			slot[c] = k
		}
	}
	var b strings.Builder
	b.Grow(rows * ncols * 4)
	next := k + 1
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range ncols {
			if c > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('?')
			switch {
			case slot[c] > 0:
				b.WriteString(strconv.Itoa(slot[c]))
			case r == 0:
				b.WriteString(strconv.Itoa(next))
				next++
			}
		}
		b.WriteByte(')')
	}
	return b.String()
}

// sharedArgs appends the arguments of sharedValues' statement to dst: the
// shared columns' values once, then each row's others.
func sharedArgs(dst, vals []any, ncols int, shared uint64) []any {
	for c := range ncols {
		if shared&(1<<c) != 0 {
			dst = append(dst, vals[c])
		}
	}
	for i, v := range vals {
		if shared&(1<<(i%ncols)) == 0 {
			dst = append(dst, v)
		}
	}
	return dst
}
