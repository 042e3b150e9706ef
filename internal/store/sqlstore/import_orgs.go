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

// ImportOrgs upserts organizations keyed by code, in file order, in one
// transaction: all rows or none. A parent is named by code and must be
// stored already or come earlier in the file. An existing organization is
// updated (renamed, re-kinded or moved under the same rules as UpdateOrg)
// only when something differs; re-importing the same file changes nothing
// and writes no audit entry. Contacts (JSON) are upserted by email within
// their organization; contacts missing from the file are kept.
func (s *Store) ImportOrgs(ctx context.Context, p auth.Principal, rows []store.OrgImportRow) (store.ImportSummary, error) {
	const op = "import organizations"
	sum := store.ImportSummary{Rows: len(rows)}
	if !p.Can(auth.PermWriteOrgs) {
		return store.ImportSummary{}, s.fail(op, forbidden("importing organizations needs "+string(auth.PermWriteOrgs)))
	}
	lineErr := func(line int, err error, format string, args ...any) error {
		return &store.ImportError{Line: line, Reason: fmt.Sprintf(format, args...), Err: err}
	}
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		if err := s.d.lockOrgTree(ctx, tx); err != nil {
			return err
		}
		sc, err := s.scopeOf(ctx, tx, p)
		if err != nil {
			return err
		}
		// Every row is checked on its own first, so a bad row anywhere fails
		// the file before any row is compared with what is stored: which
		// line fails first tells nothing about codes outside the scope.
		seen := map[string]int{} // code → line, to refuse the same code twice
		for i := range rows {
			r := &rows[i]
			o := r.Org
			if err := prepareOrg(&o); err != nil {
				return lineErr(r.Line, store.ErrInvalid, "%s", reason(err))
			}
			if prev, dup := seen[o.Code]; dup {
				return lineErr(r.Line, store.ErrInvalid, "organization %s already appears on line %d", o.Code, prev)
			}
			seen[o.Code] = r.Line
			for _, c := range r.Contacts {
				c.Normalize()
				if err := c.Validate(); err != nil {
					return lineErr(r.Line, store.ErrInvalid, "contact %s: %s", c.Email, reason(err))
				}
			}
		}
		for i := range rows {
			r := &rows[i]
			o := r.Org
			_ = prepareOrg(&o) // checked above
			if r.ParentCode != "" {
				parent, err := s.orgByCodeTx(ctx, tx, sc, r.ParentCode)
				if err != nil {
					return lineErr(r.Line, err, "parent organization %s not found", strings.ToUpper(r.ParentCode))
				}
				o.ParentID = parent.ID
			}
			cur, err := s.orgByCodeTx(ctx, tx, sc, o.Code)
			switch {
			case errors.Is(err, store.ErrNotFound):
				if err := s.codeFree(ctx, tx, o.Code); err != nil {
					return lineErr(r.Line, err, "organization code %s is not available", o.Code)
				}
				if err := s.createOrgTx(ctx, tx, p, sc, &o); err != nil {
					return lineErr(r.Line, err, "%s", reason(err))
				}
				sum.Created++
			case err != nil:
				return err
			case cur.ParentID == o.ParentID && cur.Name == o.Name && cur.NameEN == o.NameEN && cur.Kind == o.Kind:
				o = cur
				sum.Unchanged++
			default:
				o.ID = cur.ID
				if err := s.updateOrgTx(ctx, tx, p, sc, cur, &o); err != nil {
					return lineErr(r.Line, err, "%s", reason(err))
				}
				sum.Updated++
			}
			for _, c := range r.Contacts {
				c.OrgID = o.ID
				if err := s.upsertContactTx(ctx, tx, p, o, c); err != nil {
					return lineErr(r.Line, err, "contact %s: %s", c.Email, reason(err))
				}
			}
		}
		return nil
	})
	if err != nil {
		return store.ImportSummary{}, s.fail(op, err)
	}
	return sum, nil
}

// reason is an error's message without the store's sentinel prefixes.
func reason(err error) string {
	msg := err.Error()
	for _, p := range []string{"store: forbidden: ", "store: invalid input: ", "store: not found: ", "store: conflict: ", "org: invalid organization: "} {
		msg = strings.ReplaceAll(msg, p, "")
	}
	return msg
}

// orgByCodeTx finds an organization by code inside sc.
func (s *Store) orgByCodeTx(ctx context.Context, tx *sql.Tx, sc scope, code string) (org.Organization, error) {
	code = strings.ToUpper(strings.TrimSpace(code))
	o, err := scanOrg(tx.QueryRowContext(ctx, s.q("SELECT "+orgCols+" FROM orgs WHERE code = ?"), code))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !sc.contains(o.Path)) {
		return org.Organization{}, notFound("organization", code)
	}
	return o, err
}

// codeFree reports ErrConflict when another subtree already uses code; the
// message does not say where, so codes outside the scope do not leak.
func (s *Store) codeFree(ctx context.Context, tx *sql.Tx, code string) error {
	var n int
	if err := tx.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM orgs WHERE code = ?"), code).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return store.ErrConflict
	}
	return nil
}

// upsertContactTx adds c to o, or updates the contact with the same email.
func (s *Store) upsertContactTx(ctx context.Context, tx *sql.Tx, p auth.Principal, o org.Organization, c org.Contact) error {
	c.Normalize()
	if err := c.Validate(); err != nil {
		return fmt.Errorf("%w: %w", store.ErrInvalid, err)
	}
	if !p.Can(auth.PermWriteAssets) {
		return forbidden("editing contacts needs " + string(auth.PermWriteAssets))
	}
	cur, err := scanContact(tx.QueryRowContext(ctx, s.q("SELECT "+contactCols+" FROM contacts WHERE org_id = ? AND email = ?"), o.ID, c.Email))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		c.CreatedAt = now()
		err = tx.QueryRowContext(ctx, s.q(`INSERT INTO contacts (org_id, name, email, phone, role, language, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			c.OrgID, c.Name, c.Email, c.Phone, c.Role, c.Language, c.CreatedAt).Scan(&c.ID)
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, p, change{orgID: o.ID, orgPath: o.Path, action: "contact.create", objType: "contact", objID: c.ID, after: c})
	case err != nil:
		return err
	case cur.Name == c.Name && cur.Phone == c.Phone && cur.Role == c.Role && cur.Language == c.Language:
		return nil
	}
	c.ID, c.CreatedAt = cur.ID, cur.CreatedAt
	if _, err := tx.ExecContext(ctx, s.q("UPDATE contacts SET name = ?, phone = ?, role = ?, language = ? WHERE id = ?"),
		c.Name, c.Phone, c.Role, c.Language, c.ID); err != nil {
		return err
	}
	return s.audit(ctx, tx, p, change{orgID: o.ID, orgPath: o.Path, action: "contact.update", objType: "contact", objID: c.ID, before: cur, after: c})
}
