package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/intel"
)

// Bulk writing for the hub's imports: multi-row statements in chunks,
// IN lists, and the hash indicators are found by.

// bulk runs a multi-row statement over rows in chunks of applyRows: head
// and tail surround the VALUES list, each row written as row ("(?, ?,
// 7)": placeholders and literals the whole statement shares), args
// appends row i's values. The full-size statement is prepared once.
//
// The arguments of the next chunk are built on another goroutine while
// the database runs the current one: boxing a million rows' values is a
// fifth of an import's time, and the writer is the import's bottleneck.
// args must therefore only read what it is given.
func (s *Store) bulk(ctx context.Context, tx *sql.Tx, rows int, row, head, tail string, args func(dst []any, i int) []any) error {
	stmt := func(n int) string {
		return s.q(head + strings.TrimSuffix(strings.Repeat(row+", ", n), ", ") + tail)
	}
	return s.bulkChunks(ctx, tx, rows, strings.Count(row, "?"), stmt, nil, args)
}

// bulkChunks is bulk with the statement of n rows made by stmt (ready for
// the driver), per values a row, and lead, when not nil, appending the
// values a chunk's statement starts with, given its first row.
func (s *Store) bulkChunks(ctx context.Context, tx *sql.Tx, rows, per int, stmt func(n int) string,
	lead func(dst []any, first int) []any, args func(dst []any, i int) []any) error {
	if rows == 0 {
		return nil
	}
	type chunk struct {
		n   int
		buf []any
	}
	const depth = 2 // chunks built ahead
	ready, free, stop := make(chan chunk, depth), make(chan []any, depth+1), make(chan struct{})
	for range depth + 1 {
		free <- make([]any, 0, applyRows*per+2)
	}
	go func() {
		defer close(ready)
		for start := 0; start < rows; start += applyRows {
			var buf []any
			select {
			case buf = <-free:
			case <-stop:
				return
			}
			n := min(applyRows, rows-start)
			buf = buf[:0]
			if lead != nil {
				buf = lead(buf, start)
			}
			for i := start; i < start+n; i++ {
				buf = args(buf, i)
			}
			ready <- chunk{n, buf}
		}
	}()
	defer func() {
		close(stop)
		for range ready { // let the builder finish before returning
		}
	}()
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	for c := range ready {
		if c.n == applyRows {
			if full == nil {
				st, err := tx.PrepareContext(ctx, stmt(c.n))
				if err != nil {
					return err
				}
				full = st
			}
			if _, err := full.ExecContext(ctx, c.buf...); err != nil {
				return err
			}
		} else if _, err := tx.ExecContext(ctx, stmt(c.n), c.buf...); err != nil {
			return err
		}
		clear(c.buf) // drop references to the rows written
		free <- c.buf
	}
	return nil
}

// inInts is "col is one of vals": an IN list on SQLite, one array
// parameter on PostgreSQL (see findingsWhereIn).
func (s *Store) inInts(col string, vals []int64) (string, []any) {
	if !s.d.postgres() {
		args := make([]any, len(vals))
		for i, v := range vals {
			args[i] = v
		}
		return col + " IN (" + placeholders(len(vals), 1) + ")", args
	}
	b := make([]byte, 0, len(vals)*12+2)
	b = append(b, '{')
	for i, v := range vals {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, v, 10)
	}
	return col + " = ANY(CAST(? AS BIGINT[]))", []any{string(append(b, '}'))}
}

// valueHash is an indicator's vhash: 64-bit FNV-1a of its kind, a zero
// byte and its value.
func valueHash(k intel.Kind, v string) int64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	for i := 0; i < len(k); i++ {
		h = (h ^ uint64(k[i])) * prime
	}
	h *= prime // the zero byte
	for i := 0; i < len(v); i++ {
		h = (h ^ uint64(v[i])) * prime
	}
	return int64(h)
}

// rowBoxes turns an indicator row's values into the driver's arguments,
// sharing the boxes of values that repeat from row to row (kinds,
// categories, a feed's ID, its rows' labels and times): boxing a value
// allocates, and the collector then runs on the core the parser needs.
// One rowBoxes serves one goroutine.
type rowBoxes struct {
	kinds  map[intel.Kind]any
	cats   map[intel.Category]any
	feeds  feedRefs
	feed   string // the feed of feedID
	feedID any
	labels []string // the labels of labelsJSON
	json   any
	micros [3]struct {
		v   int64
		box any
	}
}

func newRowBoxes(feeds feedRefs) *rowBoxes {
	return &rowBoxes{kinds: map[intel.Kind]any{}, cats: map[intel.Category]any{}, feeds: feeds}
}

func (rb *rowBoxes) kind(k intel.Kind) any { return boxOnce(rb.kinds, k) }

func (rb *rowBoxes) category(c intel.Category) any { return boxOnce(rb.cats, c) }

// boxOnce returns the box of s as a plain string, made on its first use.
func boxOnce[S ~string](boxes map[S]any, s S) any {
	b, ok := boxes[s]
	if !ok {
		b = string(s)
		boxes[s] = b
	}
	return b
}

// time boxes column i's time, as micros, reusing the last box of the
// column when it is the same.
func (rb *rowBoxes) time(i int, t time.Time) any {
	v := micros(t)
	m := &rb.micros[i]
	if m.box == nil || m.v != v {
		m.v, m.box = v, v
	}
	return m.box
}

// labelsJSON is encodeLabels(l), boxed.
func (rb *rowBoxes) labelsJSON(l []string) any {
	if rb.json == nil || !slices.Equal(rb.labels, l) {
		rb.labels, rb.json = l, encodeLabels(l)
	}
	return rb.json
}

// source is what an indicator row's src_feed and src_ext hold, boxed: its
// only source when that is kept on the row, else 0 and "".
func (rb *rowBoxes) source(pl *planned) (any, any) {
	if !pl.onRow {
		return int64(0), ""
	}
	src := &pl.ind.Sources[0]
	if rb.feedID == nil || rb.feed != src.Feed {
		rb.feed, rb.feedID = src.Feed, rb.feeds.id[src.Feed]
	}
	return rb.feedID, src.ExternalID
}

// indicatorRow appends an indicator row's values but its ID and stamp:
// vhash, kind, value, category, confidence, tlp, first_seen, last_seen,
// valid_until, labels, src_feed and src_ext.
func (rb *rowBoxes) indicatorRow(dst []any, pl *planned) []any {
	in := &pl.ind
	feed, ext := rb.source(pl)
	return append(dst, pl.hash, rb.kind(in.Kind), in.Value, rb.category(in.Category), int64(in.Confidence), int64(in.TLP.Rank()),
		rb.time(0, in.FirstSeen), rb.time(1, in.LastSeen), rb.time(2, in.ValidUntil), rb.labelsJSON(in.Labels), feed, ext)
}
