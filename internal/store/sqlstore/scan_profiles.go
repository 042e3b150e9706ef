package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

// familiesOrEmpty stores "every family" as [] rather than null.
func familiesOrEmpty(f []string) []string {
	if f == nil {
		return []string{}
	}
	return f
}

// loadProfile reads an asset's scan profile; none stored is the zero one.
func (s *Store) loadProfile(ctx context.Context, q querier, assetID int64, lock bool) (store.ScanProfile, error) {
	var pr store.ScanProfile
	query := "SELECT ports, families, rate, udp, credentials FROM asset_scan_profiles WHERE asset_id = ?"
	if lock {
		query += s.d.forUpdate()
	}
	var (
		ports     sql.NullString
		fams      []byte
		rate      sql.NullInt64
		udp, cred sql.NullBool
	)
	err := q.QueryRowContext(ctx, s.q(query), assetID).Scan(&ports, &fams, &rate, &udp, &cred)
	if errors.Is(err, sql.ErrNoRows) {
		return pr, nil
	}
	if err != nil {
		return pr, err
	}
	if ports.Valid {
		pr.Ports = &ports.String
	}
	if fams != nil {
		f := []string{}
		if err := json.Unmarshal(fams, &f); err != nil {
			return pr, fmt.Errorf("scan profile of asset %d: families: %w", assetID, err)
		}
		if f == nil {
			f = []string{}
		}
		pr.Families = &f
	}
	if rate.Valid {
		r := int(rate.Int64)
		pr.Rate = &r
	}
	if udp.Valid {
		pr.UDP = &udp.Bool
	}
	if cred.Valid {
		pr.Credentials = &cred.Bool
	}
	return pr, nil
}

// GetAssetScanProfile returns an asset's scan profile, the zero profile
// when it overrides nothing. It needs auth.PermReadRegistry or
// auth.PermReadScope and the asset in the principal's subtree.
func (s *Store) GetAssetScanProfile(ctx context.Context, p auth.Principal, assetID int64) (store.ScanProfile, error) {
	const op = "get asset scan profile"
	if !p.Can(auth.PermReadRegistry) && !p.Can(auth.PermReadScope) {
		return store.ScanProfile{}, s.fail(op, forbidden("reading a scan profile needs "+string(auth.PermReadRegistry)+" or "+string(auth.PermReadScope)))
	}
	sc, err := s.scopeOf(ctx, s.r, p)
	if err != nil {
		return store.ScanProfile{}, s.fail(op, err)
	}
	if _, _, err := s.loadAsset(ctx, s.r, sc, assetID, false); err != nil {
		return store.ScanProfile{}, s.fail(op, err)
	}
	pr, err := s.loadProfile(ctx, s.r, assetID, false)
	return pr, s.fail(op, err)
}

// SetAssetScanProfile replaces an asset's scan profile after normalizing
// it (store.ScanProfile.Normalize); the zero profile removes it. It needs
// the asset in the subtree and auth.PermWriteAssets, as SetScanPolicy
// does, and is audited as "scanprofile.create", "scanprofile.update" or "scanprofile.delete"
// on object type "asset_scan_profile" with the asset's id. Setting what
// is stored writes nothing.
func (s *Store) SetAssetScanProfile(ctx context.Context, p auth.Principal, assetID int64, pr store.ScanProfile) error {
	const op = "set asset scan profile"
	norm, err := pr.Normalize()
	if err != nil {
		return s.fail(op, err)
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		sc, err := s.scopeOf(ctx, tx, p)
		if err != nil {
			return err
		}
		a, path, err := s.loadAsset(ctx, tx, sc, assetID, false)
		if err != nil {
			return err
		}
		if !p.Can(auth.PermWriteAssets) {
			return forbidden("changing a scan profile needs " + string(auth.PermWriteAssets))
		}
		cur, err := s.loadProfile(ctx, tx, assetID, true)
		if err != nil {
			return err
		}
		if mustJSON(cur) == mustJSON(norm) {
			return nil
		}
		c := change{orgID: a.OrgID, orgPath: path, action: "scanprofile.update", objType: "asset_scan_profile", objID: a.ID, before: cur, after: norm}
		if cur.IsZero() {
			c.action, c.before = "scanprofile.create", nil
		}
		if norm.IsZero() {
			c.action, c.after = "scanprofile.delete", nil
			if _, err := tx.ExecContext(ctx, s.q("DELETE FROM asset_scan_profiles WHERE asset_id = ?"), assetID); err != nil {
				return err
			}
			return s.audit(ctx, tx, p, c)
		}
		var fams any
		if norm.Families != nil {
			fams = mustJSON(*norm.Families)
		}
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO asset_scan_profiles (asset_id, ports, families, rate, udp, credentials, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (asset_id) DO UPDATE SET ports = excluded.ports, families = excluded.families, rate = excluded.rate,
				udp = excluded.udp, credentials = excluded.credentials, updated_at = excluded.updated_at`),
			assetID, ptrArg(norm.Ports), fams, ptrArg(norm.Rate), ptrArg(norm.UDP), ptrArg(norm.Credentials), now())
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, p, c)
	})
}

// ptrArg is a nullable query argument: NULL for nil.
func ptrArg[T any](v *T) any {
	if v == nil {
		return nil
	}
	return *v
}
