package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"
)

func TestSharedValues(t *testing.T) {
	// Columns 1 and 3 of 4 shared: ?1 and ?2; the first row numbers the
	// others, the later rows leave them to SQLite.
	got := sharedValues(4, 3, 1<<1|1<<3)
	want := "(?3, ?1, ?4, ?2), (?, ?1, ?, ?2), (?, ?1, ?, ?2)"
	if got != want {
		t.Errorf("sharedValues = %q, want %q", got, want)
	}
	if got := sharedValues(2, 2, 0); got != "(?1, ?2), (?, ?)" {
		t.Errorf("nothing shared: %q", got)
	}
	at := time.Date(2026, 12, 8, 1, 2, 3, 4000, time.UTC)
	vals := []any{"a", int64(1), at, nil, []byte("x"), 1.5,
		"b", int64(1), at, nil, []byte("x"), 2.5}
	if m := sharedColumns(vals, 6); m != 1<<1|1<<2|1<<3|1<<4 {
		t.Errorf("sharedColumns = %b", m)
	}
	// The same instant in another location is stored as other text.
	if sameValue(at, at.In(time.FixedZone("ICT", 7*3600))) || sameValue(int64(1), 1) || sameValue([]byte(nil), []byte(nil)) {
		t.Error("sameValue took different values for the same")
	}
	if m := sharedColumns(vals[:6], 6); m != 0 {
		t.Errorf("one row shares %b", m)
	}
	if args := sharedArgs(nil, vals, 6, 1<<1|1<<3); fmt.Sprint(args) != fmt.Sprint([]any{int64(1), nil, "a", at, []byte("x"), 1.5, "b", at, []byte("x"), 2.5}) {
		t.Errorf("sharedArgs = %v", args)
	}
}

// Rows written with shared values read back as rows written one by one,
// over several statements of differing shapes, with the result of each.
func TestSharedInsert(t *testing.T) {
	s := openSQLite(t)
	ctx := context.Background()
	if _, err := s.DB().ExecContext(ctx, "CREATE TABLE shared_t (id INTEGER PRIMARY KEY, a TEXT, b INTEGER, c TIMESTAMP, d TEXT, e BLOB)"); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 8, 1, 2, 3, 4000, time.UTC)
	n := batchRows*2 + 7
	row := func(i int) []any {
		d := any(nil)
		if i >= batchRows { // the second statement's rows differ in d
			d = fmt.Sprint("d", i)
		}
		return []any{fmt.Sprint("a", i), int64(i / (2 * batchRows)), at, d, []byte("blob")}
	}
	var ranges [][2]int
	var lastIDs []int64
	err := s.write(ctx, "test", func(tx *sql.Tx) error {
		return s.sharedInsert(ctx, tx, "shared_t (a, b, c, d, e) VALUES ", 5, n,
			func(i int, dst []any) []any { return append(dst, row(i)...) },
			func(res sql.Result, lo, hi int) error {
				id, err := res.LastInsertId()
				ranges, lastIDs = append(ranges, [2]int{lo, hi}), append(lastIDs, id)
				return err
			})
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ranges) != fmt.Sprintf("[[0 %d] [%d %d] [%d %d]]", batchRows, batchRows, 2*batchRows, 2*batchRows, n) ||
		fmt.Sprint(lastIDs) != fmt.Sprint([]int64{batchRows, 2 * batchRows, int64(n)}) {
		t.Fatalf("statements %v, last IDs %v", ranges, lastIDs)
	}
	rows, err := s.DB().QueryContext(ctx, "SELECT id, a, b, c, d, e FROM shared_t ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	i := 0
	for ; rows.Next(); i++ {
		var (
			id   int64
			a    string
			b    int64
			c    time.Time
			d    sql.NullString
			e    []byte
			want = row(i)
		)
		if err := rows.Scan(&id, &a, &b, &c, &d, &e); err != nil {
			t.Fatal(err)
		}
		wantD, _ := want[3].(string)
		if id != int64(i+1) || a != want[0] || b != want[1] || !c.Equal(at) || d.String != wantD || d.Valid != (want[3] != nil) || string(e) != "blob" {
			t.Fatalf("row %d: %d %q %d %v %v %q, want %v", i, id, a, b, c, d, e, want)
		}
	}
	if err := rows.Err(); err != nil || i != n {
		t.Fatalf("%d rows (%v)", i, err)
	}
}
