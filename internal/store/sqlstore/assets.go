package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

const assetCols = "id, org_id, kind, value, criticality, security_level, tags, notes, created_at, updated_at, state, verify_token, verified_at, verified_by, regions"

// assetColsA is assetCols qualified with the alias a.
var assetColsA = "a." + strings.ReplaceAll(assetCols, ", ", ", a.")

func scanAsset(sc scanner, extra ...any) (asset.Asset, error) {
	var (
		a          asset.Asset
		kind, crit string
		tags       string
		state      string
		verifiedAt sql.NullTime
		regions    string
	)
	dest := append([]any{&a.ID, &a.OrgID, &kind, &a.Value, &crit, &a.SecurityLevel, &tags, &a.Notes, &a.CreatedAt, &a.UpdatedAt,
		&state, &a.VerifyToken, &verifiedAt, &a.VerifiedBy, &regions}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return a, err
	}
	var err error
	if a.Regions, err = regionsOf(regions); err != nil {
		return a, fmt.Errorf("asset %d: %w", a.ID, err)
	}
	a.Kind, a.Criticality, a.State = asset.Kind(kind), asset.Criticality(crit), asset.State(state)
	a.VerifiedAt = timePtr(verifiedAt)
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	if err := json.Unmarshal([]byte(tags), &a.Tags); err != nil {
		return a, fmt.Errorf("asset %d: tags: %w", a.ID, err)
	}
	if a.Tags == nil {
		a.Tags = []string{}
	}
	return a, nil
}

func tagsJSON(tags []string) string {
	if tags == nil {
		tags = []string{}
	}
	return mustJSON(tags)
}

func prepareAsset(a *asset.Asset) error {
	if err := a.Prepare(); err != nil {
		return fmt.Errorf("%w: %w", store.ErrInvalid, err)
	}
	return nil
}

func (s *Store) bumpAssetsVersion(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, "UPDATE counters SET value = value + 1 WHERE name = 'assets'")
	return err
}

// loadAsset reads one asset and its organization's path; assets outside
// sc are not found.
func (s *Store) loadAsset(ctx context.Context, q querier, sc scope, id int64, lock bool) (asset.Asset, string, error) {
	query := "SELECT " + assetCols + " FROM assets WHERE id = ?"
	if lock {
		query += s.d.forUpdate()
	}
	a, err := scanAsset(q.QueryRowContext(ctx, s.q(query), id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, "", notFound("asset", id)
	}
	if err != nil {
		return a, "", err
	}
	var path string
	if err := q.QueryRowContext(ctx, s.q("SELECT path FROM orgs WHERE id = ?"), a.OrgID).Scan(&path); err != nil {
		return a, "", err
	}
	if !sc.contains(path) {
		return asset.Asset{}, "", notFound("asset", id)
	}
	return a, path, nil
}

// CreateAsset prepares a and stores it in its organization.
func (s *Store) CreateAsset(ctx context.Context, p auth.Principal, a *asset.Asset) error {
	const op = "create asset"
	if err := prepareAsset(a); err != nil {
		return s.fail(op, err)
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		sc, err := s.scopeOf(ctx, tx, p)
		if err != nil {
			return err
		}
		o, err := s.loadOrg(ctx, tx, sc, a.OrgID, false)
		if err != nil {
			return err
		}
		if !p.Can(auth.PermWriteAssets) {
			return forbidden("editing assets needs " + string(auth.PermWriteAssets))
		}
		t := now()
		initialState(p, a, t)
		err = tx.QueryRowContext(ctx, s.q(`INSERT INTO assets (org_id, kind, value, criticality, security_level, tags, notes, created_at, updated_at,
			state, verify_token, verified_at, verified_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			a.OrgID, string(a.Kind), a.Value, string(a.Criticality), a.SecurityLevel, tagsJSON(a.Tags), a.Notes, t, t,
			string(a.State), a.VerifyToken, nullTime(a.VerifiedAt), a.VerifiedBy).Scan(&a.ID)
		if err != nil {
			if s.d.classify(err) == store.ErrConflict {
				return fmt.Errorf("%w: organization %d already has %s %s: %w", store.ErrConflict, a.OrgID, a.Kind, a.Value, err)
			}
			return err
		}
		a.CreatedAt, a.UpdatedAt = t, t
		if err := s.openClaims(ctx, tx, p, t, *a); err != nil {
			return err
		}
		if err := s.bumpAssetsVersion(ctx, tx); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, change{orgID: o.ID, orgPath: o.Path, action: "asset.create", objType: "asset", objID: a.ID, after: a})
	})
}

// GetAsset returns one asset in the principal's subtree.
func (s *Store) GetAsset(ctx context.Context, p auth.Principal, id int64) (asset.Asset, error) {
	const op = "get asset"
	if err := needRead(p); err != nil {
		return asset.Asset{}, s.fail(op, err)
	}
	sc, err := s.scopeOf(ctx, s.r, p)
	if err != nil {
		return asset.Asset{}, s.fail(op, err)
	}
	a, _, err := s.loadAsset(ctx, s.r, sc, id, false)
	return a, s.fail(op, err)
}

// assetWhere turns a filter into conditions on assets aliased a.
func (s *Store) assetWhere(ctx context.Context, sc scope, f store.AssetFilter) (where, error) {
	var w where
	switch {
	case f.OrgID != 0:
		o, err := s.loadOrg(ctx, s.r, sc, f.OrgID, false)
		if err != nil {
			return w, err
		}
		if f.Subtree {
			cond, args := subtreeRange("path", o.Path)
			w.add("a.org_id IN (SELECT id FROM orgs WHERE "+cond+")", args...)
		} else {
			w.add("a.org_id = ?", o.ID)
		}
	case sc.none():
		w.add("1 = 0")
	case !sc.all:
		cond, args := sc.cond("path")
		w.add("a.org_id IN (SELECT id FROM orgs WHERE "+cond+")", args...)
	}
	if f.Kind != "" {
		w.add("a.kind = ?", strings.ToLower(string(f.Kind)))
	}
	if f.Criticality != "" {
		w.add("a.criticality = ?", strings.ToLower(string(f.Criticality)))
	}
	if t := strings.ToLower(strings.TrimSpace(f.Tag)); t != "" {
		// Tags are stored as a JSON array; match the quoted element.
		w.add(s.d.like("a.tags"), likeArg(mustJSON(t)))
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		w.add(s.d.like("a.value"), likeArg(q))
	}
	return w, nil
}

// ListAssets lists assets in the principal's subtree in ID order.
func (s *Store) ListAssets(ctx context.Context, p auth.Principal, f store.AssetFilter) (store.Page[asset.Asset], error) {
	const op = "list assets"
	var page store.Page[asset.Asset]
	if err := needRead(p); err != nil {
		return page, s.fail(op, err)
	}
	limit, after, sc, err := s.listStart(ctx, p, f.PageRequest)
	if err != nil {
		return page, s.fail(op, err)
	}
	w, err := s.assetWhere(ctx, sc, f)
	if err != nil {
		return page, s.fail(op, err)
	}
	if after > 0 {
		w.add("a.id > ?", after)
	}
	items, err := queryAll(ctx, s.r, func(sc scanner) (asset.Asset, error) { return scanAsset(sc) }, s.q("SELECT "+assetColsA+" FROM assets a"+w.String()+" ORDER BY a.id LIMIT ?"), append(w.args, limit+1)...)
	if err != nil {
		return page, s.fail(op, err)
	}
	return finishPage(items, limit, func(a asset.Asset) int64 { return a.ID }), nil
}

// UpdateAsset changes an asset; moving it to another organization needs
// both in the principal's subtree.
func (s *Store) UpdateAsset(ctx context.Context, p auth.Principal, a *asset.Asset) error {
	const op = "update asset"
	if err := prepareAsset(a); err != nil {
		return s.fail(op, err)
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		sc, err := s.scopeOf(ctx, tx, p)
		if err != nil {
			return err
		}
		cur, path, err := s.loadAsset(ctx, tx, sc, a.ID, true)
		if err != nil {
			return err
		}
		if !p.Can(auth.PermWriteAssets) {
			return forbidden("editing assets needs " + string(auth.PermWriteAssets))
		}
		if a.OrgID != cur.OrgID {
			o, err := s.loadOrg(ctx, tx, sc, a.OrgID, false)
			if err != nil {
				return fmt.Errorf("new organization: %w", err)
			}
			path = o.Path
		}
		a.CreatedAt, a.UpdatedAt = cur.CreatedAt, now()
		reclaim := keepOrReclaim(p, cur, a)
		_, err = tx.ExecContext(ctx, s.q(`UPDATE assets SET org_id = ?, kind = ?, value = ?, criticality = ?, security_level = ?, tags = ?, notes = ?, updated_at = ?,
			state = ?, verify_token = ?, verified_at = ?, verified_by = ? WHERE id = ?`),
			a.OrgID, string(a.Kind), a.Value, string(a.Criticality), a.SecurityLevel, tagsJSON(a.Tags), a.Notes, a.UpdatedAt,
			string(a.State), a.VerifyToken, nullTime(a.VerifiedAt), a.VerifiedBy, a.ID)
		if err != nil {
			return err
		}
		if reclaim {
			if err := s.reopenClaim(ctx, tx, p, a.UpdatedAt, a.ID); err != nil {
				return err
			}
		}
		if err := s.bumpAssetsVersion(ctx, tx); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, change{orgID: a.OrgID, orgPath: path, action: "asset.update", objType: "asset", objID: a.ID, before: cur, after: a})
	})
}

// DeleteAsset removes one asset.
func (s *Store) DeleteAsset(ctx context.Context, p auth.Principal, id int64) error {
	const op = "delete asset"
	return s.write(ctx, op, func(tx *sql.Tx) error {
		sc, err := s.scopeOf(ctx, tx, p)
		if err != nil {
			return err
		}
		cur, path, err := s.loadAsset(ctx, tx, sc, id, true)
		if err != nil {
			return err
		}
		if !p.Can(auth.PermWriteAssets) {
			return forbidden("editing assets needs " + string(auth.PermWriteAssets))
		}
		if _, err := tx.ExecContext(ctx, s.q("DELETE FROM assets WHERE id = ?"), id); err != nil {
			return err
		}
		if err := s.bumpAssetsVersion(ctx, tx); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, change{orgID: cur.OrgID, orgPath: path, action: "asset.delete", objType: "asset", objID: id, before: cur})
	})
}

// EachAsset streams every asset the principal sees in ID order. It needs
// auth.PermReadRegistry or auth.PermReadScope (workers build the scope
// index with it). fn runs while the query is open; it may call the store.
func (s *Store) EachAsset(ctx context.Context, p auth.Principal, fn func(asset.Asset) error) error {
	const op = "each asset"
	if !p.Can(auth.PermReadRegistry) && !p.Can(auth.PermReadScope) {
		return s.fail(op, forbidden("reading assets needs "+string(auth.PermReadRegistry)+" or "+string(auth.PermReadScope)))
	}
	sc, err := s.scopeOf(ctx, s.r, p)
	if err != nil {
		return s.fail(op, err)
	}
	w, err := s.assetWhere(ctx, sc, store.AssetFilter{})
	if err != nil {
		return s.fail(op, err)
	}
	rows, err := s.r.QueryContext(ctx, s.q("SELECT "+assetColsA+" FROM assets a"+w.String()+" ORDER BY a.id"), w.args...)
	if err != nil {
		return s.fail(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		a, err := scanAsset(rows)
		if err != nil {
			return s.fail(op, err)
		}
		if err := fn(a); err != nil {
			return err
		}
	}
	return s.fail(op, rows.Err())
}

// AssetsVersion returns the counter bumped by every asset change.
func (s *Store) AssetsVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.r.QueryRowContext(ctx, "SELECT value FROM counters WHERE name = 'assets'").Scan(&v)
	return v, s.fail("assets version", err)
}
