package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

// Rows per multi-row statement in an import. Both engines take far more
// parameters than batchRows × 10 (SQLite 32766, PostgreSQL 65535).
const batchRows = 500

type assetKey struct {
	org   int64
	kind  asset.Kind
	value string
}

// ImportAssets upserts rows keyed by (organization, kind, value) in one
// transaction.
//
//   - Each row names its organization by OrgID or, when that is zero, by
//     OrgCode; one outside the principal's subtree fails that row with
//     "organization X not found".
//   - Each asset goes through Asset.Prepare; a failure is that row's error.
//   - The same (organization, kind, value) twice in one import is refused
//     at the second line ("duplicate of line N") rather than merged, so
//     Created + Updated + Unchanged always equals Rows.
//   - A row equal to the stored asset (criticality, security level, tags,
//     notes) is Unchanged: nothing is written, not even updated_at, and no
//     audit entry. Every created or updated asset gets its own entry.
//
// The first bad row, in input order, is returned as *store.ImportError and
// nothing is stored. A concurrent writer adding one of the same keys makes
// the import fail with ErrConflict; retrying it is safe.
func (s *Store) ImportAssets(ctx context.Context, p auth.Principal, rows []store.ImportRow) (store.ImportSummary, error) {
	const op = "import assets"
	sum := store.ImportSummary{Rows: len(rows)}
	if !p.Can(auth.PermWriteAssets) {
		return sum, s.fail(op, forbidden("importing assets needs "+string(auth.PermWriteAssets)))
	}
	if len(rows) == 0 {
		return sum, nil
	}
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		sc, err := s.scopeOf(ctx, tx, p)
		if err != nil {
			return err
		}
		orgs, err := s.importOrgs(ctx, tx, sc, rows)
		if err != nil {
			return err
		}

		// Prepare every row and catch duplicates, in input order.
		prepared := make([]asset.Asset, len(rows))
		lineOf := make(map[assetKey]int, len(rows))
		orgIDs := map[int64]bool{}
		for i, r := range rows {
			line := r.Line
			if line == 0 {
				line = i + 1
			}
			a := r.Asset
			var o importOrg
			var ok bool
			if a.OrgID != 0 {
				o, ok = orgs.byID[a.OrgID]
			} else {
				o, ok = orgs.byCode[strings.ToUpper(strings.TrimSpace(r.OrgCode))]
			}
			if !ok {
				name := r.OrgCode
				if a.OrgID != 0 {
					name = fmt.Sprint(a.OrgID)
				}
				if strings.TrimSpace(name) == "" {
					return &store.ImportError{Line: line, Reason: "organization is required", Err: store.ErrInvalid}
				}
				return &store.ImportError{Line: line, Reason: fmt.Sprintf("organization %s not found", name), Err: store.ErrNotFound}
			}
			a.OrgID = o.id
			a.ID = 0
			if err := a.Prepare(); err != nil {
				return &store.ImportError{Line: line, Reason: err.Error(), Err: fmt.Errorf("%w: %w", store.ErrInvalid, err)}
			}
			k := assetKey{a.OrgID, a.Kind, a.Value}
			if prev, dup := lineOf[k]; dup {
				return &store.ImportError{Line: line, Reason: fmt.Sprintf("duplicate of line %d: %s %s in organization %s", prev, a.Kind, a.Value, o.code), Err: store.ErrInvalid}
			}
			lineOf[k] = line
			prepared[i] = a
			orgIDs[a.OrgID] = true
		}

		existing, err := s.existingAssets(ctx, tx, orgIDs)
		if err != nil {
			return err
		}
		t := now()
		var creates, updates []asset.Asset
		var befores []asset.Asset
		for _, a := range prepared {
			cur, ok := existing[assetKey{a.OrgID, a.Kind, a.Value}]
			switch {
			case !ok:
				a.CreatedAt, a.UpdatedAt = t, t
				initialState(p, &a, t)
				creates = append(creates, a)
			case cur.Criticality == a.Criticality && cur.SecurityLevel == a.SecurityLevel &&
				cur.Notes == a.Notes && slices.Equal(cur.Tags, a.Tags):
				sum.Unchanged++
			default:
				a.ID, a.CreatedAt, a.UpdatedAt = cur.ID, cur.CreatedAt, t
				a.State, a.VerifyToken, a.VerifiedAt, a.VerifiedBy = cur.State, cur.VerifyToken, cur.VerifiedAt, cur.VerifiedBy
				updates = append(updates, a)
				befores = append(befores, cur)
			}
		}
		if err := s.insertAssets(ctx, tx, creates); err != nil {
			return err
		}
		if err := s.openClaims(ctx, tx, p, t, creates...); err != nil {
			return err
		}
		if err := s.updateAssets(ctx, tx, updates); err != nil {
			return err
		}
		sum.Created, sum.Updated = len(creates), len(updates)
		if len(creates)+len(updates) == 0 {
			return nil
		}
		if err := s.bumpAssetsVersion(ctx, tx); err != nil {
			return err
		}
		changes := make([]change, 0, len(creates)+len(updates))
		for _, a := range creates {
			changes = append(changes, change{orgID: a.OrgID, orgPath: orgs.pathOf[a.OrgID], action: "asset.create", objType: "asset", objID: a.ID, after: a})
		}
		for i, a := range updates {
			changes = append(changes, change{orgID: a.OrgID, orgPath: orgs.pathOf[a.OrgID], action: "asset.update", objType: "asset", objID: a.ID, before: befores[i], after: a})
		}
		return s.auditBatch(ctx, tx, p, t, changes)
	})
	if err != nil {
		return store.ImportSummary{Rows: len(rows)}, err
	}
	return sum, nil
}

type importOrg struct {
	id         int64
	code, path string
}

type importOrgs struct {
	byID   map[int64]importOrg
	byCode map[string]importOrg
	pathOf map[int64]string
}

// importOrgs resolves the organizations the rows name, keeping only those
// in the principal's subtree.
func (s *Store) importOrgs(ctx context.Context, tx *sql.Tx, sc scope, rows []store.ImportRow) (importOrgs, error) {
	res := importOrgs{byID: map[int64]importOrg{}, byCode: map[string]importOrg{}, pathOf: map[int64]string{}}
	codeSet, idSet := map[string]bool{}, map[int64]bool{}
	for _, r := range rows {
		if r.Asset.OrgID != 0 {
			idSet[r.Asset.OrgID] = true
		} else if c := strings.ToUpper(strings.TrimSpace(r.OrgCode)); c != "" {
			codeSet[c] = true
		}
	}
	add := func(q string, keys []any) error {
		for len(keys) > 0 {
			n := min(len(keys), batchRows)
			query := "SELECT id, code, path FROM orgs WHERE " + q + " IN (" + placeholders(n, 1) + ")"
			rs, err := tx.QueryContext(ctx, s.q(query), keys[:n]...)
			if err != nil {
				return err
			}
			for rs.Next() {
				var o importOrg
				if err := rs.Scan(&o.id, &o.code, &o.path); err != nil {
					rs.Close()
					return err
				}
				if sc.contains(o.path) {
					res.byID[o.id], res.byCode[o.code], res.pathOf[o.id] = o, o, o.path
				}
			}
			rs.Close()
			if err := rs.Err(); err != nil {
				return err
			}
			keys = keys[n:]
		}
		return nil
	}
	codes := make([]any, 0, len(codeSet))
	for c := range codeSet {
		codes = append(codes, c)
	}
	ids := make([]any, 0, len(idSet))
	for id := range idSet {
		ids = append(ids, id)
	}
	if err := add("code", codes); err != nil {
		return res, err
	}
	return res, add("id", ids)
}

// existingAssets loads the stored assets of the given organizations, so
// each row is classified without a query of its own.
func (s *Store) existingAssets(ctx context.Context, tx *sql.Tx, orgIDs map[int64]bool) (map[assetKey]asset.Asset, error) {
	out := map[assetKey]asset.Asset{}
	for id := range orgIDs {
		rs, err := tx.QueryContext(ctx, s.q("SELECT "+assetCols+" FROM assets WHERE org_id = ?"), id)
		if err != nil {
			return nil, err
		}
		for rs.Next() {
			a, err := scanAsset(rs)
			if err != nil {
				rs.Close()
				return nil, err
			}
			out[assetKey{a.OrgID, a.Kind, a.Value}] = a
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// placeholders returns n groups of k "?" each: "(?, ?), (?, ?)" for k > 1,
// "?, ?" for k == 1.
func placeholders(n, k int) string {
	one := "?"
	if k > 1 {
		one = "(" + strings.TrimSuffix(strings.Repeat("?, ", k), ", ") + ")"
	}
	var b strings.Builder
	b.Grow(n * (len(one) + 2))
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(one)
	}
	return b.String()
}

// batches runs exec over items in groups of batchRows, preparing the
// full-size statement once.
func batches[T any](ctx context.Context, tx *sql.Tx, items []T, stmtFor func(n int) string,
	run func(st *sql.Stmt, chunk []T) error) error {
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	for len(items) > 0 {
		n := min(len(items), batchRows)
		var st *sql.Stmt
		var err error
		if n == batchRows {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, stmtFor(n)); err != nil {
					return err
				}
			}
			st = full
		} else {
			if st, err = tx.PrepareContext(ctx, stmtFor(n)); err != nil {
				return err
			}
			defer st.Close()
		}
		if err := run(st, items[:n]); err != nil {
			return err
		}
		items = items[n:]
	}
	return nil
}

// insertAssets inserts new assets in multi-row statements and sets their IDs.
func (s *Store) insertAssets(ctx context.Context, tx *sql.Tx, as []asset.Asset) error {
	const cols = 13
	idx := make(map[assetKey]int, len(as))
	for i, a := range as {
		idx[assetKey{a.OrgID, a.Kind, a.Value}] = i
	}
	stmt := func(n int) string {
		return s.q("INSERT INTO assets (org_id, kind, value, criticality, security_level, tags, notes, created_at, updated_at, state, verify_token, verified_at, verified_by) VALUES " +
			placeholders(n, cols) + " RETURNING id, org_id, kind, value")
	}
	return batches(ctx, tx, as, stmt, func(st *sql.Stmt, chunk []asset.Asset) error {
		args := make([]any, 0, len(chunk)*cols)
		for _, a := range chunk {
			args = append(args, a.OrgID, string(a.Kind), a.Value, string(a.Criticality), a.SecurityLevel, tagsJSON(a.Tags), a.Notes, a.CreatedAt, a.UpdatedAt,
				string(a.State), a.VerifyToken, nullTime(a.VerifiedAt), a.VerifiedBy)
		}
		rs, err := st.QueryContext(ctx, args...)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var (
				id, orgID   int64
				kind, value string
			)
			if err := rs.Scan(&id, &orgID, &kind, &value); err != nil {
				return err
			}
			if i, ok := idx[assetKey{orgID, asset.Kind(kind), value}]; ok {
				as[i].ID = id
			}
		}
		return rs.Err()
	})
}

func (s *Store) updateAssets(ctx context.Context, tx *sql.Tx, as []asset.Asset) error {
	if len(as) == 0 {
		return nil
	}
	st, err := tx.PrepareContext(ctx, s.q("UPDATE assets SET criticality = ?, security_level = ?, tags = ?, notes = ?, updated_at = ? WHERE id = ?"))
	if err != nil {
		return err
	}
	defer st.Close()
	for _, a := range as {
		if _, err := st.ExecContext(ctx, string(a.Criticality), a.SecurityLevel, tagsJSON(a.Tags), a.Notes, a.UpdatedAt, a.ID); err != nil {
			return err
		}
	}
	return nil
}

// auditBatch appends many entries with multi-row inserts.
func (s *Store) auditBatch(ctx context.Context, tx *sql.Tx, p auth.Principal, t time.Time, cs []change) error {
	const cols = 10
	stmt := func(n int) string { return s.q(auditInsert + placeholders(n, cols)) }
	return batches(ctx, tx, cs, stmt, func(st *sql.Stmt, chunk []change) error {
		args := make([]any, 0, len(chunk)*cols)
		for _, c := range chunk {
			args = append(args, auditArgs(t, p, c)...)
		}
		_, err := st.ExecContext(ctx, args...)
		return err
	})
}
