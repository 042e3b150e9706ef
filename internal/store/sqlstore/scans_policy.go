package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

// Bounds of a scan policy.
const (
	maxExclusions = 1000
	maxBlackouts  = 50
)

// normalizePolicy checks sp and puts it in canonical form: exclusions
// normalized as IPs, CIDRs or host names (asset.Normalize), duplicates
// dropped in first-seen order; window days sorted without duplicates.
// Slices are never nil, so the policy marshals as [] rather than null.
func normalizePolicy(sp store.ScanPolicy) (store.ScanPolicy, error) {
	out := store.ScanPolicy{Exclusions: []string{}, Blackouts: []store.Window{}, Credentials: sp.Credentials, UDP: sp.UDP, Rate: sp.Rate}
	var err error
	if out.Ports, err = store.NormalizePorts(sp.Ports); err != nil {
		return out, err
	}
	if out.Families, err = store.NormalizeFamilies(sp.Families); err != nil {
		return out, err
	}
	if len(out.Families) == 0 {
		out.Families = nil // every family, as an unset policy
	}
	if err := store.CheckRate(sp.Rate); err != nil {
		return out, err
	}
	if len(sp.Exclusions) > maxExclusions {
		return out, invalid("a scan policy has at most %d exclusions, not %d", maxExclusions, len(sp.Exclusions))
	}
	if len(sp.Blackouts) > maxBlackouts {
		return out, invalid("a scan policy has at most %d blackout windows, not %d", maxBlackouts, len(sp.Blackouts))
	}
	seen := map[string]bool{}
	for i, e := range sp.Exclusions {
		v, err := asset.Normalize(exclusionKind(e), e)
		if err != nil {
			return out, fmt.Errorf("%w: exclusion %d: %w", store.ErrInvalid, i+1, err)
		}
		if !seen[v] {
			seen[v] = true
			out.Exclusions = append(out.Exclusions, v)
		}
	}
	for i, w := range sp.Blackouts {
		if len(w.Days) == 0 {
			return out, invalid("blackout window %d has no days", i+1)
		}
		days := slices.Clone(w.Days)
		for _, d := range days {
			if d < 0 || d > 6 {
				return out, invalid("blackout window %d: day %d is not 0 (Sunday) to 6", i+1, d)
			}
		}
		slices.Sort(days)
		days = slices.Compact(days)
		start, err := clockMinutes(w.Start)
		if err != nil {
			return out, invalid("blackout window %d: start: %v", i+1, err)
		}
		end, err := clockMinutes(w.End)
		if err != nil {
			return out, invalid("blackout window %d: end: %v", i+1, err)
		}
		if start == end {
			return out, invalid("blackout window %d starts and ends at %s", i+1, w.Start)
		}
		out.Blackouts = append(out.Blackouts, store.Window{Days: days, Start: w.Start, End: w.End})
	}
	return out, nil
}

// exclusionKind guesses the asset kind an exclusion is written as, so
// asset.Normalize checks it and explains a refusal in its terms: a '/'
// makes a CIDR, a ':' an IPv6 address, an all-digit last label an IPv4
// address, anything else a host name (which excludes its subdomains too).
func exclusionKind(v string) asset.Kind {
	v = strings.TrimSuffix(strings.TrimSpace(v), ".")
	switch {
	case strings.Contains(v, "/"):
		return asset.KindCIDR
	case strings.Contains(v, ":"):
		return asset.KindIPv6
	}
	last := v[strings.LastIndexByte(v, '.')+1:]
	if last != "" && strings.Trim(last, "0123456789") == "" {
		return asset.KindIPv4
	}
	return asset.KindHostname
}

// clockMinutes parses "HH:MM", 00:00 to 23:59, exactly.
func clockMinutes(s string) (int, error) {
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	digit := func(c byte) bool { return '0' <= c && c <= '9' }
	if !digit(s[0]) || !digit(s[1]) || !digit(s[3]) || !digit(s[4]) {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	h, m := int(s[0]-'0')*10+int(s[1]-'0'), int(s[3]-'0')*10+int(s[4]-'0')
	if h > 23 || m > 59 {
		return 0, fmt.Errorf("%q is not a time of day 00:00-23:59", s)
	}
	return h*60 + m, nil
}

// loadPolicy reads an organization's policy; none stored is the empty one.
func (s *Store) loadPolicy(ctx context.Context, q querier, orgID int64, lock bool) (store.ScanPolicy, error) {
	sp := store.ScanPolicy{Exclusions: []string{}, Blackouts: []store.Window{}}
	query := "SELECT exclusions, blackouts, credentials, udp, ports, families, rate FROM scan_policies WHERE org_id = ?"
	if lock {
		query += s.d.forUpdate()
	}
	var ex, bo, fams []byte
	err := q.QueryRowContext(ctx, s.q(query), orgID).Scan(&ex, &bo, &sp.Credentials, &sp.UDP, &sp.Ports, &fams, &sp.Rate)
	if errors.Is(err, sql.ErrNoRows) {
		return sp, nil
	}
	if err != nil {
		return sp, err
	}
	if err := json.Unmarshal(ex, &sp.Exclusions); err != nil {
		return sp, fmt.Errorf("scan policy of organization %d: exclusions: %w", orgID, err)
	}
	if err := json.Unmarshal(bo, &sp.Blackouts); err != nil {
		return sp, fmt.Errorf("scan policy of organization %d: blackouts: %w", orgID, err)
	}
	if err := json.Unmarshal(fams, &sp.Families); err != nil {
		return sp, fmt.Errorf("scan policy of organization %d: families: %w", orgID, err)
	}
	if len(sp.Families) == 0 {
		sp.Families = nil
	}
	if sp.Exclusions == nil {
		sp.Exclusions = []string{}
	}
	if sp.Blackouts == nil {
		sp.Blackouts = []store.Window{}
	}
	return sp, nil
}

// GetScanPolicy returns an organization's scan policy, the empty policy
// when none was set. It needs auth.PermReadRegistry or auth.PermReadScope
// (the policy says what not to probe) and the organization in the subtree.
// Its Route is the organization's effective route, inherited from the
// nearest organization up the tree that names regions (ancestors outside
// the principal's subtree included: only region names are read).
func (s *Store) GetScanPolicy(ctx context.Context, p auth.Principal, orgID int64) (store.ScanPolicy, error) {
	const op = "get scan policy"
	if !p.Can(auth.PermReadRegistry) && !p.Can(auth.PermReadScope) {
		return store.ScanPolicy{}, s.fail(op, forbidden("reading a scan policy needs "+string(auth.PermReadRegistry)+" or "+string(auth.PermReadScope)))
	}
	sc, err := s.scopeOf(ctx, s.r, p)
	if err != nil {
		return store.ScanPolicy{}, s.fail(op, err)
	}
	o, err := s.loadOrg(ctx, s.r, sc, orgID, false)
	if err != nil {
		return store.ScanPolicy{}, s.fail(op, err)
	}
	sp, err := s.loadPolicy(ctx, s.r, orgID, false)
	if err != nil {
		return sp, s.fail(op, err)
	}
	sp.Route, err = s.routeOf(ctx, s.r, o)
	return sp, s.fail(op, err)
}

// SetScanPolicy replaces an organization's scan policy after normalizing
// it (see normalizePolicy; a bad entry is ErrInvalid saying which). It
// needs the organization in the subtree and auth.PermWriteAssets, and is
// audited as "scanpolicy.update" on object type "scan_policy" with the
// organization's id, before and after. Setting the policy already stored
// writes nothing.
func (s *Store) SetScanPolicy(ctx context.Context, p auth.Principal, orgID int64, sp store.ScanPolicy) error {
	const op = "set scan policy"
	norm, err := normalizePolicy(sp)
	if err != nil {
		return s.fail(op, err)
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		sc, err := s.scopeOf(ctx, tx, p)
		if err != nil {
			return err
		}
		o, err := s.loadOrg(ctx, tx, sc, orgID, false)
		if err != nil {
			return err
		}
		if !p.Can(auth.PermWriteAssets) {
			return forbidden("changing a scan policy needs " + string(auth.PermWriteAssets))
		}
		cur, err := s.loadPolicy(ctx, tx, orgID, true)
		if err != nil {
			return err
		}
		after := mustJSON(norm)
		if mustJSON(cur) == after {
			return nil
		}
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO scan_policies (org_id, exclusions, blackouts, credentials, udp, ports, families, rate, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (org_id) DO UPDATE SET exclusions = excluded.exclusions, blackouts = excluded.blackouts, credentials = excluded.credentials, udp = excluded.udp,
				ports = excluded.ports, families = excluded.families, rate = excluded.rate, updated_at = excluded.updated_at`),
			orgID, mustJSON(norm.Exclusions), mustJSON(norm.Blackouts), norm.Credentials, norm.UDP, norm.Ports, mustJSON(familiesOrEmpty(norm.Families)), norm.Rate, now())
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, p, change{orgID: o.ID, orgPath: o.Path, action: "scanpolicy.update", objType: "scan_policy", objID: o.ID, before: cur, after: norm})
	})
}

// DueAssets lists up to limit assets (0 means store.DefaultLimit, capped
// at store.MaxLimit) with no schedule or whose next scan is not after at:
// never scanned first (no schedule row, or no last scan), then by next
// scan time, oldest first, then by asset id. System only: it takes no
// principal and sees every organization.
func (s *Store) DueAssets(ctx context.Context, at time.Time, limit int) ([]store.DueAsset, error) {
	const op = "due assets"
	n, err := pageLimit(store.PageRequest{Limit: limit})
	if err != nil {
		return nil, s.fail(op, err)
	}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT a.id, a.org_id, sc.last_scan_at, sc.next_scan_at
		FROM assets a LEFT JOIN asset_schedule sc ON sc.asset_id = a.id
		WHERE a.state = 'verified' AND (sc.next_scan_at IS NULL OR sc.next_scan_at <= ?)
		ORDER BY CASE WHEN sc.last_scan_at IS NULL THEN 0 ELSE 1 END,
			CASE WHEN sc.next_scan_at IS NULL THEN 0 ELSE 1 END, sc.next_scan_at, a.id
		LIMIT ?`), at.UTC().Truncate(time.Microsecond), n)
	if err != nil {
		return nil, s.fail(op, err)
	}
	defer rows.Close()
	out := []store.DueAsset{}
	for rows.Next() {
		var (
			d          store.DueAsset
			last, next sql.NullTime
		)
		if err := rows.Scan(&d.AssetID, &d.OrgID, &last, &next); err != nil {
			return nil, s.fail(op, err)
		}
		d.LastScanAt, d.NextScanAt = timePtr(last), timePtr(next)
		out = append(out, d)
	}
	return out, s.fail(op, rows.Err())
}

// SetAssetSchedule records an asset's last and next scan times; a zero
// time stores "none" (a zero last: never scanned; a zero next: due now).
// An unknown asset is ErrNotFound. System only; no audit entry.
func (s *Store) SetAssetSchedule(ctx context.Context, assetID int64, last, next time.Time) error {
	const op = "set asset schedule"
	return s.write(ctx, op, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM assets WHERE id = ?"), assetID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return notFound("asset", assetID)
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO asset_schedule (asset_id, last_scan_at, next_scan_at) VALUES (?, ?, ?)
			ON CONFLICT (asset_id) DO UPDATE SET last_scan_at = excluded.last_scan_at, next_scan_at = excluded.next_scan_at`),
			assetID, timeArg(last), timeArg(next))
		return err
	})
}
