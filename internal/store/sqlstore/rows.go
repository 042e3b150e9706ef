package sqlstore

import (
	"context"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

// queryAll runs a query and scans every row with scan, closing the rows.
func queryAll[T any](ctx context.Context, q querier, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// pageStart reads a page request: its limit and the ID it starts after.
func pageStart(pr store.PageRequest) (limit int, after int64, err error) {
	if limit, err = pageLimit(pr); err != nil {
		return 0, 0, err
	}
	after, err = decodeCursor(pr.After)
	return limit, after, err
}

// listStart is how every scoped listing begins: the page request and the
// principal's scope.
func (s *Store) listStart(ctx context.Context, p auth.Principal, pr store.PageRequest) (limit int, after int64, sc scope, err error) {
	if limit, after, err = pageStart(pr); err != nil {
		return 0, 0, scope{}, err
	}
	sc, err = s.scopeOf(ctx, s.r, p)
	return limit, after, sc, err
}
