package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

const orgCols = "id, parent_id, code, name, name_en, kind, path, created_at, updated_at, regions, cross_check"

type scanner interface{ Scan(dest ...any) error }

func scanOrg(sc scanner) (org.Organization, error) {
	var (
		o       org.Organization
		parent  sql.NullInt64
		kind    string
		regions string
	)
	err := sc.Scan(&o.ID, &parent, &o.Code, &o.Name, &o.NameEN, &kind, &o.Path, &o.CreatedAt, &o.UpdatedAt, &regions, &o.CrossCheck)
	if err == nil {
		o.Regions, err = regionsOf(regions)
	}
	o.ParentID = parent.Int64
	o.Kind = org.Kind(kind)
	o.CreatedAt, o.UpdatedAt = o.CreatedAt.UTC(), o.UpdatedAt.UTC()
	return o, err
}

// needRead checks the permission every registry read needs.
func needRead(p auth.Principal) error {
	if !p.Can(auth.PermReadRegistry) {
		return forbidden("reading the registry needs " + string(auth.PermReadRegistry))
	}
	return nil
}

// loadOrg reads one organization, locking it in a PostgreSQL write
// transaction when lock is set. Organizations outside sc are not found.
func (s *Store) loadOrg(ctx context.Context, q querier, sc scope, id int64, lock bool) (org.Organization, error) {
	query := "SELECT " + orgCols + " FROM orgs WHERE id = ?"
	if lock {
		query += s.d.forUpdate()
	}
	o, err := scanOrg(q.QueryRowContext(ctx, s.q(query), id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !sc.contains(o.Path)) {
		return org.Organization{}, notFound("organization", id)
	}
	return o, err
}

func prepareOrg(o *org.Organization) error {
	o.Normalize()
	if err := o.Validate(); err != nil {
		return fmt.Errorf("%w: %w", store.ErrInvalid, err)
	}
	return nil
}

// CreateOrg stores o under its parent, or as a root for platform-wide
// administrators only.
func (s *Store) CreateOrg(ctx context.Context, p auth.Principal, o *org.Organization) error {
	const op = "create organization"
	if err := prepareOrg(o); err != nil {
		return s.fail(op, err)
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		if err := s.d.lockOrgTree(ctx, tx); err != nil {
			return err
		}
		sc, err := s.scopeOf(ctx, tx, p)
		if err != nil {
			return err
		}
		return s.createOrgTx(ctx, tx, p, sc, o)
	})
}

// createOrgTx is CreateOrg inside a transaction that holds the tree lock.
func (s *Store) createOrgTx(ctx context.Context, tx *sql.Tx, p auth.Principal, sc scope, o *org.Organization) error {
	parentPath := ""
	if o.ParentID == 0 {
		if !sc.all || !p.Can(auth.PermWriteOrgs) {
			return forbidden("only platform administrators create root organizations")
		}
	} else {
		parent, err := s.loadOrg(ctx, tx, sc, o.ParentID, true)
		if err != nil {
			return fmt.Errorf("parent: %w", err)
		}
		if !p.Can(auth.PermWriteOrgs) {
			return forbidden("creating organizations needs " + string(auth.PermWriteOrgs))
		}
		parentPath = parent.Path
	}
	t := now()
	err := tx.QueryRowContext(ctx, s.q(`INSERT INTO orgs (parent_id, code, name, name_en, kind, path, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, '', ?, ?) RETURNING id`),
		nullInt64(o.ParentID), o.Code, o.Name, o.NameEN, string(o.Kind), t, t).Scan(&o.ID)
	if err != nil {
		return orgCodeConflict(s, err, o.Code)
	}
	o.Path = org.ChildPath(parentPath, o.ID)
	if _, err := tx.ExecContext(ctx, s.q("UPDATE orgs SET path = ? WHERE id = ?"), o.Path, o.ID); err != nil {
		return err
	}
	o.CreatedAt, o.UpdatedAt = t, t
	return s.audit(ctx, tx, p, change{orgID: o.ID, orgPath: o.Path, action: "org.create", objType: "org", objID: o.ID, after: o})
}

// orgCodeConflict turns a unique-key failure into the one answer every
// taken code gets, whoever uses it and wherever (no driver text, nothing
// about the other organization); other errors pass.
func orgCodeConflict(s *Store, err error, code string) error {
	if s.d.classify(err) == store.ErrConflict {
		return fmt.Errorf("%w: organization code %s is not available", store.ErrConflict, code)
	}
	return err
}

// GetOrg returns one organization in the principal's subtree.
func (s *Store) GetOrg(ctx context.Context, p auth.Principal, id int64) (org.Organization, error) {
	const op = "get organization"
	if err := needRead(p); err != nil {
		return org.Organization{}, s.fail(op, err)
	}
	sc, err := s.scopeOf(ctx, s.r, p)
	if err != nil {
		return org.Organization{}, s.fail(op, err)
	}
	o, err := s.loadOrg(ctx, s.r, sc, id, false)
	return o, s.fail(op, err)
}

// GetOrgByCode returns one organization by code (case-insensitive).
func (s *Store) GetOrgByCode(ctx context.Context, p auth.Principal, code string) (org.Organization, error) {
	const op = "get organization by code"
	if err := needRead(p); err != nil {
		return org.Organization{}, s.fail(op, err)
	}
	sc, err := s.scopeOf(ctx, s.r, p)
	if err != nil {
		return org.Organization{}, s.fail(op, err)
	}
	code = strings.ToUpper(strings.TrimSpace(code))
	o, err := scanOrg(s.r.QueryRowContext(ctx, s.q("SELECT "+orgCols+" FROM orgs WHERE code = ?"), code))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !sc.contains(o.Path)) {
		return org.Organization{}, s.fail(op, notFound("organization", code))
	}
	return o, s.fail(op, err)
}

// ListOrgs lists organizations in the principal's subtree in ID order.
func (s *Store) ListOrgs(ctx context.Context, p auth.Principal, f store.OrgFilter) (store.Page[org.Organization], error) {
	const op = "list organizations"
	var page store.Page[org.Organization]
	if err := needRead(p); err != nil {
		return page, s.fail(op, err)
	}
	limit, after, sc, err := s.listStart(ctx, p, f.PageRequest)
	if err != nil {
		return page, s.fail(op, err)
	}
	var w where
	cond, args := sc.cond("path")
	w.add(cond, args...)
	if f.Root != 0 {
		root, err := s.loadOrg(ctx, s.r, sc, f.Root, false)
		if err != nil {
			return page, s.fail(op, err)
		}
		cond, args := subtreeRange("path", root.Path)
		w.add(cond, args...)
	}
	if f.ParentID != 0 {
		w.add("parent_id = ?", f.ParentID)
	}
	if f.Kind != "" {
		w.add("kind = ?", string(f.Kind))
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		pat := likeArg(q)
		w.add("("+s.d.like("code")+" OR "+s.d.like("name")+" OR "+s.d.like("name_en")+")", pat, pat, pat)
	}
	if after > 0 {
		w.add("id > ?", after)
	}
	items, err := queryAll(ctx, s.r, scanOrg, s.q("SELECT "+orgCols+" FROM orgs"+w.String()+" ORDER BY id LIMIT ?"), append(w.args, limit+1)...)
	if err != nil {
		return page, s.fail(op, err)
	}
	return finishPage(items, limit, func(o org.Organization) int64 { return o.ID }), nil
}

// UpdateOrg changes code, names, kind and parent. A move needs the old and
// the new parent inside the principal's subtree, so an organization
// administrator may rename its own organization but not move it, nor change
// its code or kind (those are the parent's administrators' or platform
// administrators' to change: kind drives rankings, code imports and
// reports); moving to the top level needs a platform-wide administrator.
func (s *Store) UpdateOrg(ctx context.Context, p auth.Principal, o *org.Organization) error {
	const op = "update organization"
	if err := prepareOrg(o); err != nil {
		return s.fail(op, err)
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		if err := s.d.lockOrgTree(ctx, tx); err != nil {
			return err
		}
		sc, err := s.scopeOf(ctx, tx, p)
		if err != nil {
			return err
		}
		cur, err := s.loadOrg(ctx, tx, sc, o.ID, true)
		if err != nil {
			return err
		}
		return s.updateOrgTx(ctx, tx, p, sc, cur, o)
	})
}

// updateOrgTx is UpdateOrg inside a transaction that holds the tree lock;
// cur is the stored organization, already checked to be in scope.
func (s *Store) updateOrgTx(ctx context.Context, tx *sql.Tx, p auth.Principal, sc scope, cur org.Organization, o *org.Organization) error {
	if !p.Can(auth.PermWriteOrgs) {
		return forbidden("editing organizations needs " + string(auth.PermWriteOrgs))
	}
	o.Path = cur.Path
	if sc.isOwnRoot(cur.Path) && (o.Code != cur.Code || o.Kind != cur.Kind) {
		return forbidden("an organization administrator cannot change its own organization's code or kind; its parent's administrators can")
	}
	if o.ParentID != cur.ParentID {
		if sc.isOwnRoot(cur.Path) {
			return forbidden("an organization administrator cannot move its own organization")
		}
		parentPath := ""
		if o.ParentID == 0 {
			if !sc.all {
				return forbidden("only platform administrators create root organizations")
			}
		} else {
			parent, err := s.loadOrg(ctx, tx, sc, o.ParentID, true)
			if err != nil {
				return fmt.Errorf("new parent: %w", err)
			}
			if strings.HasPrefix(parent.Path, cur.Path) {
				return invalid("cannot move organization %d under itself or its descendant %d", cur.ID, parent.ID)
			}
			parentPath = parent.Path
		}
		o.Path = org.ChildPath(parentPath, o.ID)
		cond, args := subtreeRange("path", cur.Path)
		_, err := tx.ExecContext(ctx, s.q("UPDATE orgs SET path = ? || substr(path, ?) WHERE "+cond),
			append([]any{o.Path, len(cur.Path) + 1}, args...)...)
		if err != nil {
			return err
		}
	}
	o.CreatedAt, o.UpdatedAt = cur.CreatedAt, now()
	_, err := tx.ExecContext(ctx, s.q(`UPDATE orgs SET parent_id = ?, code = ?, name = ?, name_en = ?, kind = ?, updated_at = ? WHERE id = ?`),
		nullInt64(o.ParentID), o.Code, o.Name, o.NameEN, string(o.Kind), o.UpdatedAt, o.ID)
	if err != nil {
		return orgCodeConflict(s, err, o.Code)
	}
	return s.audit(ctx, tx, p, change{orgID: o.ID, orgPath: o.Path, action: "org.update", objType: "org", objID: o.ID, before: cur, after: o})
}

// DeleteOrg removes an organization that has no children, assets, users or
// tokens (ErrConflict otherwise); its contacts go with it. Nobody deletes
// the root of their own subtree.
func (s *Store) DeleteOrg(ctx context.Context, p auth.Principal, id int64) error {
	const op = "delete organization"
	return s.write(ctx, op, func(tx *sql.Tx) error {
		if err := s.d.lockOrgTree(ctx, tx); err != nil {
			return err
		}
		sc, err := s.scopeOf(ctx, tx, p)
		if err != nil {
			return err
		}
		cur, err := s.loadOrg(ctx, tx, sc, id, true)
		if err != nil {
			return err
		}
		if !p.Can(auth.PermWriteOrgs) {
			return forbidden("deleting organizations needs " + string(auth.PermWriteOrgs))
		}
		if sc.isOwnRoot(cur.Path) {
			return forbidden("an organization administrator cannot delete its own organization")
		}
		for _, dep := range []struct{ table, col, what string }{
			{"orgs", "parent_id", "child organizations"},
			{"assets", "org_id", "assets"},
			{"users", "org_id", "users"},
			{"tokens", "org_id", "tokens"},
		} {
			var n int
			if err := tx.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM (SELECT 1 FROM "+dep.table+" WHERE "+dep.col+" = ? LIMIT 1) x"), id).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return fmt.Errorf("%w: organization %d still has %s", store.ErrConflict, id, dep.what)
			}
		}
		if _, err := tx.ExecContext(ctx, s.q("DELETE FROM orgs WHERE id = ?"), id); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, change{orgID: cur.ID, orgPath: cur.Path, action: "org.delete", objType: "org", objID: cur.ID, before: cur})
	})
}

const contactCols = "id, org_id, name, email, phone, role, language, created_at"

func scanContact(sc scanner) (org.Contact, error) {
	var c org.Contact
	err := sc.Scan(&c.ID, &c.OrgID, &c.Name, &c.Email, &c.Phone, &c.Role, &c.Language, &c.CreatedAt)
	c.CreatedAt = c.CreatedAt.UTC()
	return c, err
}

// CreateContact adds a contact to an organization; it needs
// auth.PermWriteAssets (contacts are edited with the assets).
func (s *Store) CreateContact(ctx context.Context, p auth.Principal, c *org.Contact) error {
	const op = "create contact"
	c.Normalize()
	if err := c.Validate(); err != nil {
		return s.fail(op, fmt.Errorf("%w: %w", store.ErrInvalid, err))
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		sc, err := s.scopeOf(ctx, tx, p)
		if err != nil {
			return err
		}
		o, err := s.loadOrg(ctx, tx, sc, c.OrgID, false)
		if err != nil {
			return err
		}
		if !p.Can(auth.PermWriteAssets) {
			return forbidden("editing contacts needs " + string(auth.PermWriteAssets))
		}
		c.CreatedAt = now()
		err = tx.QueryRowContext(ctx, s.q(`INSERT INTO contacts (org_id, name, email, phone, role, language, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			c.OrgID, c.Name, c.Email, c.Phone, c.Role, c.Language, c.CreatedAt).Scan(&c.ID)
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, p, change{orgID: o.ID, orgPath: o.Path, action: "contact.create", objType: "contact", objID: c.ID, after: c})
	})
}

// ListContacts returns the contacts of one organization in ID order.
func (s *Store) ListContacts(ctx context.Context, p auth.Principal, orgID int64) ([]org.Contact, error) {
	const op = "list contacts"
	if err := needRead(p); err != nil {
		return nil, s.fail(op, err)
	}
	sc, err := s.scopeOf(ctx, s.r, p)
	if err != nil {
		return nil, s.fail(op, err)
	}
	if _, err := s.loadOrg(ctx, s.r, sc, orgID, false); err != nil {
		return nil, s.fail(op, err)
	}
	rows, err := s.r.QueryContext(ctx, s.q("SELECT "+contactCols+" FROM contacts WHERE org_id = ? ORDER BY id"), orgID)
	if err != nil {
		return nil, s.fail(op, err)
	}
	defer rows.Close()
	out := []org.Contact{}
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, s.fail(op, err)
		}
		out = append(out, c)
	}
	return out, s.fail(op, rows.Err())
}

// DeleteContact removes one contact.
func (s *Store) DeleteContact(ctx context.Context, p auth.Principal, id int64) error {
	const op = "delete contact"
	return s.write(ctx, op, func(tx *sql.Tx) error {
		sc, err := s.scopeOf(ctx, tx, p)
		if err != nil {
			return err
		}
		c, err := scanContact(tx.QueryRowContext(ctx, s.q("SELECT "+contactCols+" FROM contacts WHERE id = ?"+s.d.forUpdate()), id))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("contact", id)
		}
		if err != nil {
			return err
		}
		o, err := s.loadOrg(ctx, tx, sc, c.OrgID, false)
		if err != nil {
			return notFound("contact", id)
		}
		if !p.Can(auth.PermWriteAssets) {
			return forbidden("editing contacts needs " + string(auth.PermWriteAssets))
		}
		if _, err := tx.ExecContext(ctx, s.q("DELETE FROM contacts WHERE id = ?"), id); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, change{orgID: o.ID, orgPath: o.Path, action: "contact.delete", objType: "contact", objID: c.ID, before: c})
	})
}
