package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/rampart-cert/rampart/internal/auth"
)

// scope is the part of the tree a principal acts on. It is resolved from
// the database at the start of every call, from the principal's OrgID: the
// OrgPath it carries may be stale (its organization moved or was deleted),
// and tenancy follows the tree as it is now. A principal whose organization
// is unknown, or who has none and is not platform-wide, sees nothing.
type scope struct {
	all  bool   // platform-wide role or the system
	path string // subtree root path; "" with all == false means nothing
}

func (s *Store) scopeOf(ctx context.Context, q querier, p auth.Principal) (scope, error) {
	if p.SeesAll() {
		return scope{all: true}, nil
	}
	if p.OrgID <= 0 {
		return scope{}, nil
	}
	var path string
	err := q.QueryRowContext(ctx, s.q("SELECT path FROM orgs WHERE id = ?"), p.OrgID).Scan(&path)
	if errors.Is(err, sql.ErrNoRows) {
		return scope{}, nil
	}
	if err != nil {
		return scope{}, err
	}
	return scope{path: path}, nil
}

// none reports whether the scope is empty.
func (sc scope) none() bool { return !sc.all && sc.path == "" }

// contains reports whether an organization with the given path is inside.
func (sc scope) contains(path string) bool {
	return sc.all || (sc.path != "" && strings.HasPrefix(path, sc.path))
}

// cond is an SQL condition restricting a path column to the scope. It is a
// range rather than LIKE so that both engines use the index on the column:
// paths hold only digits and '/', which sort below '~'.
func (sc scope) cond(col string) (string, []any) {
	switch {
	case sc.all:
		return "1 = 1", nil
	case sc.path == "":
		return "1 = 0", nil
	}
	return col + " >= ? AND " + col + " < ?", []any{sc.path, sc.path + "~"}
}

// subtreeRange is the same range for an arbitrary root path.
func subtreeRange(col, root string) (string, []any) {
	return scope{path: root}.cond(col)
}

// isOwnRoot reports whether path is the root of a non-global scope: the
// principal's own organization, which it may edit but not move or delete.
func (sc scope) isOwnRoot(path string) bool { return !sc.all && path == sc.path }
