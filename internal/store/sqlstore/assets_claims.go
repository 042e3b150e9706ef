package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

// national reports whether p registers assets verified at once: the
// platform itself or a platform administrator.
func national(p auth.Principal) bool {
	return p.System || p.Role == auth.RolePlatformAdmin
}

// initialState sets the ownership fields of a new asset registered by p.
func initialState(p auth.Principal, a *asset.Asset, t time.Time) {
	if national(p) {
		a.State, a.VerifyToken, a.VerifiedAt, a.VerifiedBy = asset.StateVerified, "", &t, asset.VerifiedByNational+":"+p.Name
		return
	}
	a.State, a.VerifyToken, a.VerifiedAt, a.VerifiedBy = asset.StateClaimed, asset.NewVerifyToken(), nil, ""
}

// keepOrReclaim carries cur's ownership fields over to a, its update by p,
// unless someone below the national level changes what the asset is or
// who owns it: then it is a new claim. It reports whether it is.
func keepOrReclaim(p auth.Principal, cur asset.Asset, a *asset.Asset) bool {
	a.State, a.VerifyToken, a.VerifiedAt, a.VerifiedBy = cur.State, cur.VerifyToken, cur.VerifiedAt, cur.VerifiedBy
	if national(p) || (a.OrgID == cur.OrgID && a.Kind == cur.Kind && a.Value == cur.Value) {
		return false
	}
	a.State, a.VerifyToken, a.VerifiedAt, a.VerifiedBy = asset.StateClaimed, asset.NewVerifyToken(), nil, ""
	return true
}

// openClaims writes the request rows of the claimed assets among as.
func (s *Store) openClaims(ctx context.Context, tx *sql.Tx, p auth.Principal, t time.Time, as ...asset.Asset) error {
	for _, a := range as {
		if a.State != asset.StateClaimed {
			continue
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO asset_claims (asset_id, requested_by, requested_at) VALUES (?, ?, ?)`),
			a.ID, p.Name, t); err != nil {
			return err
		}
	}
	return nil
}

// reopenClaim starts a fresh request for an asset that became a claim again.
func (s *Store) reopenClaim(ctx context.Context, tx *sql.Tx, p auth.Principal, t time.Time, id int64) error {
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO asset_claims (asset_id, requested_by, requested_at) VALUES (?, ?, ?)
		ON CONFLICT (asset_id) DO UPDATE SET requested_by = excluded.requested_by, requested_at = excluded.requested_at,
			checked_at = NULL, check_result = '', reason = ''`), id, p.Name, t)
	return err
}

const claimCols = "c.requested_by, c.requested_at, c.evidence, c.checked_at, c.check_result, c.reason, o.code, o.path"

func scanClaim(sc scanner) (store.ClaimView, error) {
	var (
		v       store.ClaimView
		checked sql.NullTime
	)
	a, err := scanAsset(sc, &v.Claim.RequestedBy, &v.Claim.RequestedAt, &v.Claim.Evidence, &checked, &v.Claim.CheckResult, &v.Claim.Reason, &v.OrgCode, &v.OrgPath)
	if err != nil {
		return v, err
	}
	v.Asset = a
	v.Claim.AssetID = a.ID
	v.Claim.RequestedAt = v.Claim.RequestedAt.UTC()
	v.Claim.CheckedAt = timePtr(checked)
	return v, nil
}

const claimFrom = " FROM assets a JOIN asset_claims c ON c.asset_id = a.id JOIN orgs o ON o.id = a.org_id"

// GetClaim returns the claim behind a claimed or rejected asset.
func (s *Store) GetClaim(ctx context.Context, p auth.Principal, assetID int64) (store.ClaimView, error) {
	const op = "get claim"
	if err := needRead(p); err != nil {
		return store.ClaimView{}, s.fail(op, err)
	}
	sc, err := s.scopeOf(ctx, s.r, p)
	if err != nil {
		return store.ClaimView{}, s.fail(op, err)
	}
	v, err := scanClaim(s.r.QueryRowContext(ctx, s.q("SELECT "+assetColsA+", "+claimCols+claimFrom+" WHERE a.id = ? AND a.state <> 'verified'"), assetID))
	if errors.Is(err, sql.ErrNoRows) || err == nil && !sc.contains(v.OrgPath) {
		return store.ClaimView{}, s.fail(op, notFound("claim", assetID))
	}
	return v, s.fail(op, err)
}

// ListClaims lists claims in the principal's subtree.
func (s *Store) ListClaims(ctx context.Context, p auth.Principal, f store.ClaimFilter) (store.Page[store.ClaimView], error) {
	const op = "list claims"
	var page store.Page[store.ClaimView]
	if err := needRead(p); err != nil {
		return page, s.fail(op, err)
	}
	limit, after, sc, err := s.listStart(ctx, p, f.PageRequest)
	if err != nil {
		return page, s.fail(op, err)
	}
	state := f.State
	if state == "" {
		state = asset.StateClaimed
	}
	if state != asset.StateClaimed && state != asset.StateRejected {
		return page, s.fail(op, invalid("claim state %q: want claimed or rejected", state))
	}
	var w where
	w.add("a.state = ?", string(state))
	switch {
	case sc.none():
		w.add("1 = 0")
	case !sc.all:
		cond, args := sc.cond("o.path")
		w.add(cond, args...)
	}
	if f.OrgID != 0 {
		o, err := s.loadOrg(ctx, s.r, sc, f.OrgID, false)
		if err != nil {
			return page, s.fail(op, err)
		}
		cond, args := subtreeRange("o.path", o.Path)
		w.add(cond, args...)
	}
	if f.Decidable && !national(p) {
		if p.Role != auth.RoleOrgAdmin || sc.path == "" {
			w.add("1 = 0")
		} else {
			w.add("o.path <> ?", sc.path) // strictly below: never one's own claims
		}
	}
	if after > 0 {
		w.add("a.id > ?", after)
	}
	items, err := queryAll(ctx, s.r, scanClaim, s.q("SELECT "+assetColsA+", "+claimCols+claimFrom+w.String()+" ORDER BY a.id LIMIT ?"), append(w.args, limit+1)...)
	if err != nil {
		return page, s.fail(op, err)
	}
	return finishPage(items, limit, func(v store.ClaimView) int64 { return v.Asset.ID }), nil
}

// SetClaimEvidence stores the claimant's evidence text.
func (s *Store) SetClaimEvidence(ctx context.Context, p auth.Principal, assetID int64, evidence string) error {
	const op = "set claim evidence"
	evidence = strings.TrimSpace(evidence)
	if len(evidence) > asset.MaxEvidence {
		return s.fail(op, invalid("evidence longer than %d bytes", asset.MaxEvidence))
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		sc, err := s.scopeOf(ctx, tx, p)
		if err != nil {
			return err
		}
		cur, path, err := s.loadAsset(ctx, tx, sc, assetID, true)
		if err != nil {
			return err
		}
		if !p.Can(auth.PermWriteAssets) {
			return forbidden("editing assets needs " + string(auth.PermWriteAssets))
		}
		if cur.State != asset.StateClaimed {
			return fmt.Errorf("%w: asset %d is %s, not a pending claim", store.ErrConflict, assetID, cur.State)
		}
		var before string
		if err := tx.QueryRowContext(ctx, s.q("SELECT evidence FROM asset_claims WHERE asset_id = ?"), assetID).Scan(&before); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q("UPDATE asset_claims SET evidence = ? WHERE asset_id = ?"), evidence, assetID); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, change{orgID: cur.OrgID, orgPath: path, action: "asset.claim-evidence", objType: "asset", objID: assetID,
			before: map[string]string{"evidence": before}, after: map[string]string{"evidence": evidence}})
	})
}

// DecideClaim approves or rejects a claimed asset.
func (s *Store) DecideClaim(ctx context.Context, p auth.Principal, assetID int64, approve bool, by, reason string) (asset.Asset, error) {
	const op = "decide claim"
	var out asset.Asset
	reason = strings.TrimSpace(reason)
	if len(reason) > asset.MaxEvidence {
		return out, s.fail(op, invalid("reason longer than %d bytes", asset.MaxEvidence))
	}
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		sc, err := s.scopeOf(ctx, tx, p)
		if err != nil {
			return err
		}
		cur, path, err := s.loadAsset(ctx, tx, sc, assetID, true)
		if err != nil {
			return err
		}
		if !p.Can(auth.PermWriteAssets) {
			return forbidden("deciding claims needs " + string(auth.PermWriteAssets))
		}
		if !national(p) && (p.Role != auth.RoleOrgAdmin || sc.isOwnRoot(path)) {
			return forbidden("a claim is decided by an admin of a parent organization or the national level")
		}
		if cur.State != asset.StateClaimed {
			return fmt.Errorf("%w: asset %d is %s, not a pending claim", store.ErrConflict, assetID, cur.State)
		}
		t := now()
		a := cur
		action := "asset.approve"
		if approve {
			a.State, a.VerifiedAt, a.VerifiedBy = asset.StateVerified, &t, by
		} else {
			action = "asset.reject"
			a.State, a.VerifiedAt, a.VerifiedBy = asset.StateRejected, &t, p.Name
		}
		a.UpdatedAt = t
		if _, err := tx.ExecContext(ctx, s.q("UPDATE assets SET state = ?, verified_at = ?, verified_by = ?, updated_at = ? WHERE id = ?"),
			string(a.State), nullTime(a.VerifiedAt), a.VerifiedBy, t, assetID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q("UPDATE asset_claims SET reason = ? WHERE asset_id = ?"), reason, assetID); err != nil {
			return err
		}
		if err := s.bumpAssetsVersion(ctx, tx); err != nil {
			return err
		}
		out = a
		return s.audit(ctx, tx, p, change{orgID: a.OrgID, orgPath: path, action: action, objType: "asset", objID: assetID, before: cur, after: a})
	})
	return out, err
}

// RecordProof stores an automatic proof check.
func (s *Store) RecordProof(ctx context.Context, assetID int64, token, method string, ok bool, result string, at time.Time) (asset.Asset, error) {
	const op = "record proof"
	var out asset.Asset
	if len(result) > 1000 {
		result = result[:1000]
	}
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		cur, path, err := s.loadAsset(ctx, tx, scope{all: true}, assetID, true)
		if err != nil {
			return err
		}
		if cur.State != asset.StateClaimed {
			return fmt.Errorf("%w: asset %d is %s, not a pending claim", store.ErrConflict, assetID, cur.State)
		}
		at := at.UTC().Truncate(time.Microsecond)
		if !ok || cur.VerifyToken != token {
			if ok {
				result = "the token changed while it was checked"
			}
			_, err := tx.ExecContext(ctx, s.q("UPDATE asset_claims SET checked_at = ?, check_result = ? WHERE asset_id = ?"), at, result, assetID)
			out = cur
			return err
		}
		a := cur
		a.State, a.VerifiedAt, a.VerifiedBy, a.UpdatedAt = asset.StateVerified, &at, method, at
		if _, err := tx.ExecContext(ctx, s.q("UPDATE assets SET state = ?, verified_at = ?, verified_by = ?, updated_at = ? WHERE id = ?"),
			string(a.State), at, method, at, assetID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q("UPDATE asset_claims SET checked_at = ?, check_result = '' WHERE asset_id = ?"), at, assetID); err != nil {
			return err
		}
		if err := s.bumpAssetsVersion(ctx, tx); err != nil {
			return err
		}
		out = a
		return s.audit(ctx, tx, auth.SystemPrincipal, change{orgID: a.OrgID, orgPath: path, action: "asset.verify", objType: "asset", objID: assetID, before: cur, after: a})
	})
	return out, err
}

// DueClaims lists claims to check again.
func (s *Store) DueClaims(ctx context.Context, before time.Time, limit int) ([]asset.Asset, error) {
	const op = "due claims"
	n, err := pageLimit(store.PageRequest{Limit: limit})
	if err != nil {
		return nil, s.fail(op, err)
	}
	items, err := queryAll(ctx, s.r, func(sc scanner) (asset.Asset, error) { return scanAsset(sc) },
		s.q("SELECT "+assetColsA+" FROM assets a JOIN asset_claims c ON c.asset_id = a.id WHERE a.state = 'claimed' AND (c.checked_at IS NULL OR c.checked_at < ?)"+
			" ORDER BY CASE WHEN c.checked_at IS NULL THEN 0 ELSE 1 END, c.checked_at, a.id LIMIT ?"),
		before.UTC().Truncate(time.Microsecond), n)
	return items, s.fail(op, err)
}
