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

const candCols = "c.id, c.org_id, c.asset_id, c.kind, c.value, c.sources, c.addresses, c.evidence, c.state, c.first_seen, c.last_seen, " +
	"c.decided_at, c.decided_by, c.reason, c.registered_asset_id, o.code, o.path"

const candFrom = " FROM discovery_candidates c JOIN orgs o ON o.id = c.org_id"

// Bounds of what a candidate keeps.
const (
	maxCandEvidence  = 2000
	maxCandAddresses = 32
	maxCandSources   = 16
)

func scanCandidate(sc scanner) (store.Candidate, string, error) {
	var (
		c                 store.Candidate
		covering, reg     sql.NullInt64
		kind, state, path string
		sources, addrs    string
		decided           sql.NullTime
	)
	err := sc.Scan(&c.ID, &c.OrgID, &covering, &kind, &c.Value, &sources, &addrs, &c.Evidence, &state, &c.FirstSeen, &c.LastSeen,
		&decided, &c.DecidedBy, &c.Reason, &reg, &c.OrgCode, &path)
	if err != nil {
		return c, "", err
	}
	c.AssetID, c.RegisteredAssetID = covering.Int64, reg.Int64
	c.Kind, c.State = asset.Kind(kind), store.CandidateState(state)
	c.FirstSeen, c.LastSeen = c.FirstSeen.UTC(), c.LastSeen.UTC()
	c.DecidedAt = timePtr(decided)
	_ = json.Unmarshal([]byte(sources), &c.Sources)
	_ = json.Unmarshal([]byte(addrs), &c.Addresses)
	if c.Sources == nil {
		c.Sources = []string{}
	}
	if c.Addresses == nil {
		c.Addresses = []string{}
	}
	return c, path, nil
}

// prepareCandidate checks and normalizes one proposed candidate.
func prepareCandidate(c *store.Candidate) error {
	switch c.Kind {
	case asset.KindHostname, asset.KindIPv4, asset.KindIPv6, asset.KindCIDR:
	default:
		return invalid("candidate kind %q: want hostname, ipv4, ipv6 or cidr", c.Kind)
	}
	v, err := asset.Normalize(c.Kind, c.Value)
	if err != nil {
		return fmt.Errorf("%w: candidate %q: %w", store.ErrInvalid, c.Value, err)
	}
	c.Value = v
	if c.OrgID <= 0 {
		return invalid("candidate %s has no organization", c.Value)
	}
	c.Sources = mergeStrings(nil, c.Sources, maxCandSources)
	c.Addresses = mergeStrings(nil, c.Addresses, maxCandAddresses)
	c.Evidence = strings.ToValidUTF8(strings.TrimSpace(c.Evidence), "?")
	if len(c.Evidence) > maxCandEvidence {
		c.Evidence = c.Evidence[:maxCandEvidence]
	}
	return nil
}

// mergeStrings returns the sorted union of a and b, at most limit items.
func mergeStrings(a, b []string, limit int) []string {
	out := make([]string, 0, len(a)+len(b))
	for _, s := range append(slices.Clone(a), b...) {
		if s = strings.TrimSpace(s); s != "" && len(s) <= 253 {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// ProposeCandidates upserts candidates for the platform.
func (s *Store) ProposeCandidates(ctx context.Context, p auth.Principal, cs []store.Candidate, at time.Time) ([]store.Candidate, []bool, error) {
	const op = "propose candidates"
	if !p.System {
		return nil, nil, s.fail(op, forbidden("only the platform proposes candidates"))
	}
	at = at.UTC().Truncate(time.Microsecond)
	out := make([]store.Candidate, len(cs))
	isNew := make([]bool, len(cs))
	for i := range cs {
		c := cs[i]
		if err := prepareCandidate(&c); err != nil {
			return nil, nil, s.fail(op, err)
		}
		out[i] = c
	}
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		for i := range out {
			c := &out[i]
			cur, _, err := scanCandidate(tx.QueryRowContext(ctx, s.q("SELECT "+candCols+candFrom+
				" WHERE c.org_id = ? AND c.kind = ? AND c.value = ?"+s.d.forUpdate()), c.OrgID, string(c.Kind), c.Value))
			switch {
			case errors.Is(err, sql.ErrNoRows):
				c.State, c.FirstSeen, c.LastSeen = store.CandidatePending, at, at
				err = tx.QueryRowContext(ctx, s.q(`INSERT INTO discovery_candidates (org_id, asset_id, kind, value, sources, addresses, evidence, state, first_seen, last_seen)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
					c.OrgID, nullInt64(c.AssetID), string(c.Kind), c.Value, mustJSON(c.Sources), mustJSON(c.Addresses), c.Evidence,
					string(c.State), at, at).Scan(&c.ID)
				if err != nil {
					if s.d.classify(err) == store.ErrNotFound || strings.Contains(strings.ToLower(err.Error()), "foreign key") {
						return fmt.Errorf("%w: candidate %s: organization %d or asset %d does not exist", store.ErrInvalid, c.Value, c.OrgID, c.AssetID)
					}
					return err
				}
				isNew[i] = true
			case err != nil:
				return err
			default:
				c.ID, c.State, c.FirstSeen = cur.ID, cur.State, cur.FirstSeen
				c.DecidedAt, c.DecidedBy, c.Reason, c.RegisteredAssetID = cur.DecidedAt, cur.DecidedBy, cur.Reason, cur.RegisteredAssetID
				c.Sources = mergeStrings(cur.Sources, c.Sources, maxCandSources)
				c.Addresses = mergeStrings(cur.Addresses, c.Addresses, maxCandAddresses)
				c.LastSeen = at
				if cur.LastSeen.After(at) {
					c.LastSeen = cur.LastSeen
				}
				if c.AssetID == 0 {
					c.AssetID = cur.AssetID
				}
				if _, err := tx.ExecContext(ctx, s.q(`UPDATE discovery_candidates SET asset_id = ?, sources = ?, addresses = ?, evidence = ?, last_seen = ? WHERE id = ?`),
					nullInt64(c.AssetID), mustJSON(c.Sources), mustJSON(c.Addresses), c.Evidence, c.LastSeen, c.ID); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, isNew, nil
}

// GetCandidate returns one candidate in the principal's subtree.
func (s *Store) GetCandidate(ctx context.Context, p auth.Principal, id int64) (store.Candidate, error) {
	const op = "get candidate"
	if err := needRead(p); err != nil {
		return store.Candidate{}, s.fail(op, err)
	}
	sc, err := s.scopeOf(ctx, s.r, p)
	if err != nil {
		return store.Candidate{}, s.fail(op, err)
	}
	c, path, err := scanCandidate(s.r.QueryRowContext(ctx, s.q("SELECT "+candCols+candFrom+" WHERE c.id = ?"), id))
	if errors.Is(err, sql.ErrNoRows) || err == nil && !sc.contains(path) {
		return store.Candidate{}, s.fail(op, notFound("candidate", id))
	}
	return c, s.fail(op, err)
}

// ListCandidates lists candidates in the principal's subtree.
func (s *Store) ListCandidates(ctx context.Context, p auth.Principal, f store.CandidateFilter) (store.Page[store.Candidate], error) {
	const op = "list candidates"
	var page store.Page[store.Candidate]
	if err := needRead(p); err != nil {
		return page, s.fail(op, err)
	}
	limit, after, sc, err := s.listStart(ctx, p, f.PageRequest)
	if err != nil {
		return page, s.fail(op, err)
	}
	state := f.State
	if state == "" {
		state = store.CandidatePending
	}
	if state != store.CandidatePending && state != store.CandidateConfirmed && state != store.CandidateRejected {
		return page, s.fail(op, invalid("candidate state %q: want pending, confirmed or rejected", state))
	}
	var w where
	w.add("c.state = ?", string(state))
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
	if q := strings.TrimSpace(f.Query); q != "" {
		w.add(s.d.like("c.value"), likeArg(q))
	}
	if after > 0 {
		w.add("c.id > ?", after)
	}
	scan := func(sc scanner) (store.Candidate, error) { c, _, err := scanCandidate(sc); return c, err }
	items, err := queryAll(ctx, s.r, scan, s.q("SELECT "+candCols+candFrom+w.String()+" ORDER BY c.id LIMIT ?"), append(w.args, limit+1)...)
	if err != nil {
		return page, s.fail(op, err)
	}
	return finishPage(items, limit, func(c store.Candidate) int64 { return c.ID }), nil
}

// DecideCandidate confirms (registering the asset) or rejects a candidate.
func (s *Store) DecideCandidate(ctx context.Context, p auth.Principal, id int64, d store.CandidateDecision) (store.Candidate, error) {
	const op = "decide candidate"
	var out store.Candidate
	d.Reason = strings.TrimSpace(d.Reason)
	if len(d.Reason) > asset.MaxEvidence {
		return out, s.fail(op, invalid("reason longer than %d bytes", asset.MaxEvidence))
	}
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		sc, err := s.scopeOf(ctx, tx, p)
		if err != nil {
			return err
		}
		cur, path, err := scanCandidate(tx.QueryRowContext(ctx, s.q("SELECT "+candCols+candFrom+" WHERE c.id = ?"+s.d.forUpdate()), id))
		if errors.Is(err, sql.ErrNoRows) || err == nil && !sc.contains(path) {
			return notFound("candidate", id)
		}
		if err != nil {
			return err
		}
		if !p.Can(auth.PermWriteAssets) {
			return forbidden("deciding about discovered assets needs " + string(auth.PermWriteAssets))
		}
		if cur.State != store.CandidatePending {
			return fmt.Errorf("%w: candidate %d is %s, not pending", store.ErrConflict, id, cur.State)
		}
		t := now()
		c := cur
		c.DecidedAt, c.DecidedBy, c.Reason = &t, p.Name, d.Reason
		action := "discovery.reject"
		c.State = store.CandidateRejected
		if d.Confirm {
			action = "discovery.confirm"
			c.State = store.CandidateConfirmed
			if c.RegisteredAssetID, err = s.registerCandidate(ctx, tx, p, cur, d.VerifiedBy, path, t); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE discovery_candidates SET state = ?, decided_at = ?, decided_by = ?, reason = ?, registered_asset_id = ? WHERE id = ?`),
			string(c.State), t, c.DecidedBy, c.Reason, nullInt64(c.RegisteredAssetID), id); err != nil {
			return err
		}
		out = c
		return s.audit(ctx, tx, p, change{orgID: c.OrgID, orgPath: path, action: action, objType: "discovery_candidate", objID: id, before: cur, after: c})
	})
	return out, err
}

// registerCandidate creates the asset of a confirmed candidate in tx, or
// returns the organization's existing asset with that value.
func (s *Store) registerCandidate(ctx context.Context, tx *sql.Tx, p auth.Principal, c store.Candidate, verifiedBy, orgPath string, t time.Time) (int64, error) {
	var existing int64
	err := tx.QueryRowContext(ctx, s.q("SELECT id FROM assets WHERE org_id = ? AND kind = ? AND value = ?"), c.OrgID, string(c.Kind), c.Value).Scan(&existing)
	if err == nil {
		return existing, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	a := asset.Asset{OrgID: c.OrgID, Kind: c.Kind, Value: c.Value, Tags: []string{"discovery"},
		Notes: "Found by discovery (" + strings.Join(c.Sources, ", ") + "); confirmed by " + p.Name + "."}
	if err := prepareAsset(&a); err != nil {
		return 0, err
	}
	initialState(p, &a, t)
	if verifiedBy != "" && a.State != asset.StateVerified {
		// Inside the organization's proven scope: verified, while the
		// covering asset still is and still belongs to it.
		var state string
		var owner int64
		err := tx.QueryRowContext(ctx, s.q("SELECT state, org_id FROM assets WHERE id = ?"), c.AssetID).Scan(&state, &owner)
		if err == nil && state == string(asset.StateVerified) && owner == c.OrgID {
			a.State, a.VerifyToken, a.VerifiedAt, a.VerifiedBy = asset.StateVerified, "", &t, verifiedBy
		} else if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return 0, err
		}
	}
	err = tx.QueryRowContext(ctx, s.q(`INSERT INTO assets (org_id, kind, value, criticality, security_level, tags, notes, created_at, updated_at,
		state, verify_token, verified_at, verified_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		a.OrgID, string(a.Kind), a.Value, string(a.Criticality), a.SecurityLevel, tagsJSON(a.Tags), a.Notes, t, t,
		string(a.State), a.VerifyToken, nullTime(a.VerifiedAt), a.VerifiedBy).Scan(&a.ID)
	if err != nil {
		return 0, err
	}
	a.CreatedAt, a.UpdatedAt = t, t
	if err := s.openClaims(ctx, tx, p, t, a); err != nil {
		return 0, err
	}
	if a.State == asset.StateClaimed {
		ev := "Discovery: " + c.Evidence
		if len(ev) > asset.MaxEvidence {
			ev = ev[:asset.MaxEvidence]
		}
		if _, err := tx.ExecContext(ctx, s.q("UPDATE asset_claims SET evidence = ? WHERE asset_id = ?"), ev, a.ID); err != nil {
			return 0, err
		}
	}
	if err := s.bumpAssetsVersion(ctx, tx); err != nil {
		return 0, err
	}
	return a.ID, s.audit(ctx, tx, p, change{orgID: a.OrgID, orgPath: orgPath, action: "asset.create", objType: "asset", objID: a.ID, after: a})
}

// CTPosition returns where a log was last read.
func (s *Store) CTPosition(ctx context.Context, logURL string) (uint64, uint64, error) {
	var next, size int64
	err := s.r.QueryRowContext(ctx, s.q("SELECT next_index, tree_size FROM discovery_ct_positions WHERE log_url = ?"), logURL).Scan(&next, &size)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, s.fail("ct position", err)
	}
	return uint64(next), uint64(size), nil
}

// SetCTPosition records where reading a log stopped.
func (s *Store) SetCTPosition(ctx context.Context, logURL string, next, treeSize uint64) error {
	if logURL == "" || len(logURL) > 2048 || next > 1<<62 || treeSize > 1<<62 {
		return s.fail("set ct position", invalid("log URL and position"))
	}
	return s.write(ctx, "set ct position", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO discovery_ct_positions (log_url, next_index, tree_size, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (log_url) DO UPDATE SET next_index = excluded.next_index, tree_size = excluded.tree_size, updated_at = excluded.updated_at`),
			logURL, int64(next), int64(treeSize), now())
		return err
	})
}
