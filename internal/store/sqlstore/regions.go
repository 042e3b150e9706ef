package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

var _ store.Regions = (*Store)(nil)

// regionsOf reads a regions column (a JSON array); never nil.
func regionsOf(col string) ([]string, error) {
	var rs []string
	if col != "" {
		if err := json.Unmarshal([]byte(col), &rs); err != nil {
			return nil, fmt.Errorf("regions: %w", err)
		}
	}
	if rs == nil {
		rs = []string{}
	}
	return rs, nil
}

// regionsJSON is the column value of regions.
func regionsJSON(rs []string) string {
	if rs == nil {
		rs = []string{}
	}
	return mustJSON(rs)
}

// routeOf returns o's effective route: the nearest organization on its
// path, itself first, that names regions.
func (s *Store) routeOf(ctx context.Context, q querier, o org.Organization) (org.Route, error) {
	if len(o.Regions) > 0 {
		return org.InheritRoute([]org.Organization{o}), nil
	}
	ids := org.PathIDs(o.Path)
	if len(ids) <= 1 {
		return org.InheritRoute([]org.Organization{o}), nil
	}
	ancestors := ids[:len(ids)-1]
	args := make([]any, len(ancestors))
	for i, id := range ancestors {
		args[i] = id
	}
	rows, err := q.QueryContext(ctx, s.q("SELECT id, regions, cross_check FROM orgs WHERE id IN ("+placeholders(len(args), 1)+")"), args...)
	if err != nil {
		return org.Route{}, err
	}
	defer rows.Close()
	byID := map[int64]org.Organization{}
	for rows.Next() {
		var (
			a       org.Organization
			regions string
		)
		if err := rows.Scan(&a.ID, &regions, &a.CrossCheck); err != nil {
			return org.Route{}, err
		}
		if a.Regions, err = regionsOf(regions); err != nil {
			return org.Route{}, fmt.Errorf("organization %d: %w", a.ID, err)
		}
		byID[a.ID] = a
	}
	if err := rows.Err(); err != nil {
		return org.Route{}, err
	}
	chain := make([]org.Organization, 0, len(ids))
	for _, id := range ancestors {
		if a, ok := byID[id]; ok {
			chain = append(chain, a)
		}
	}
	return org.InheritRoute(append(chain, o)), nil
}

// mayRoute checks that p may set the route of an organization at path:
// routing is decided from above (see store.Regions).
func mayRoute(p auth.Principal, sc scope, path string) error {
	if !p.Can(auth.PermWriteOrgs) {
		return forbidden("choosing where scans run needs " + string(auth.PermWriteOrgs))
	}
	if sc.isOwnRoot(path) {
		return forbidden("an organization administrator cannot choose the regions that scan its own organization; its parent's administrators can")
	}
	return nil
}

// SetOrgRegions replaces an organization's regions and cross-check setting.
func (s *Store) SetOrgRegions(ctx context.Context, p auth.Principal, orgID int64, regions []string, crossCheck bool) (org.Organization, error) {
	const op = "set organization regions"
	rs, err := org.NormalizeRegions(regions)
	if err != nil {
		return org.Organization{}, s.fail(op, fmt.Errorf("%w: %w", store.ErrInvalid, err))
	}
	var out org.Organization
	err = s.write(ctx, op, func(tx *sql.Tx) error {
		sc, err := s.scopeOf(ctx, tx, p)
		if err != nil {
			return err
		}
		cur, err := s.loadOrg(ctx, tx, sc, orgID, true)
		if err != nil {
			return err
		}
		if err := mayRoute(p, sc, cur.Path); err != nil {
			return err
		}
		out = cur
		if slices.Equal(cur.Regions, rs) && cur.CrossCheck == crossCheck {
			return nil
		}
		out.Regions, out.CrossCheck, out.UpdatedAt = rs, crossCheck, now()
		if _, err := tx.ExecContext(ctx, s.q("UPDATE orgs SET regions = ?, cross_check = ?, updated_at = ? WHERE id = ?"),
			regionsJSON(rs), crossCheck, out.UpdatedAt, orgID); err != nil {
			return err
		}
		type route struct {
			Regions    []string `json:"regions"`
			CrossCheck bool     `json:"cross_check"`
		}
		return s.audit(ctx, tx, p, change{orgID: cur.ID, orgPath: cur.Path, action: "org.regions", objType: "org", objID: cur.ID,
			before: route{cur.Regions, cur.CrossCheck}, after: route{rs, crossCheck}})
	})
	return out, err
}

// SetAssetRegions replaces an asset's own regions.
func (s *Store) SetAssetRegions(ctx context.Context, p auth.Principal, assetID int64, regions []string) (asset.Asset, error) {
	const op = "set asset regions"
	rs, err := org.NormalizeRegions(regions)
	if err != nil {
		return asset.Asset{}, s.fail(op, fmt.Errorf("%w: %w", store.ErrInvalid, err))
	}
	var out asset.Asset
	err = s.write(ctx, op, func(tx *sql.Tx) error {
		sc, err := s.scopeOf(ctx, tx, p)
		if err != nil {
			return err
		}
		cur, path, err := s.loadAsset(ctx, tx, sc, assetID, true)
		if err != nil {
			return err
		}
		if err := mayRoute(p, sc, path); err != nil {
			return err
		}
		out = cur
		if slices.Equal(cur.Regions, rs) {
			return nil
		}
		out.Regions, out.UpdatedAt = rs, now()
		if _, err := tx.ExecContext(ctx, s.q("UPDATE assets SET regions = ?, updated_at = ? WHERE id = ?"),
			regionsJSON(rs), out.UpdatedAt, assetID); err != nil {
			return err
		}
		type route struct {
			Regions []string `json:"regions"`
		}
		return s.audit(ctx, tx, p, change{orgID: cur.OrgID, orgPath: path, action: "asset.regions", objType: "asset", objID: cur.ID,
			before: route{cur.Regions}, after: route{rs}})
	})
	return out, err
}

// QueuedRegions lists the regions of queued jobs.
func (s *Store) QueuedRegions(ctx context.Context) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, s.q("SELECT DISTINCT region FROM scan_jobs WHERE state = ? ORDER BY region"), string(store.JobQueued))
	if err != nil {
		return nil, s.fail("queued regions", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return nil, s.fail("queued regions", err)
		}
		out = append(out, r)
	}
	return out, s.fail("queued regions", rows.Err())
}

// SetWaitingReason sets the reason of the queued jobs of region.
func (s *Store) SetWaitingReason(ctx context.Context, region, reason string) (int64, error) {
	const op = "set waiting reason"
	reason = strings.TrimSpace(reason)
	if len(reason) > maxWaitingReason {
		reason = reason[:maxWaitingReason]
	}
	var n int64
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q("UPDATE scan_jobs SET waiting_reason = ? WHERE state = ? AND region = ? AND waiting_reason <> ?"),
			reason, string(store.JobQueued), region, reason)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
