package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

// nationalAnalyst reports whether p acts for the national level on
// discovery: the platform, its administrators and its analysts.
func nationalAnalyst(p auth.Principal) bool { return national(p) || p.Role == auth.RoleAnalyst }

// sweepRecord is what the audit log keeps of a sweep.
type sweepRecord struct {
	Candidate string `json:"candidate"`
	Reason    string `json:"reason"`
	JobID     string `json:"job_id"`
	Target    string `json:"target"`
	Region    string `json:"region"`
}

// SweepCandidate stores the scan job of an explicit sweep of a pending
// candidate, audited with who and why.
func (s *Store) SweepCandidate(ctx context.Context, p auth.Principal, id int64, reason string, j *store.ScanJob) error {
	const op = "sweep candidate"
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return s.fail(op, invalid("a sweep needs a reason"))
	}
	if len(reason) > asset.MaxEvidence {
		return s.fail(op, invalid("reason longer than %d bytes", asset.MaxEvidence))
	}
	if err := prepareJob(j); err != nil {
		return s.fail(op, err)
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
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
		if !nationalAnalyst(p) {
			return forbidden("sweeping discovered candidates is the national level's (platform admins and analysts)")
		}
		if cur.State != store.CandidatePending {
			return fmt.Errorf("%w: candidate %d is %s, not pending", store.ErrConflict, id, cur.State)
		}
		if j.OrgID != cur.OrgID || j.AssetID != cur.AssetID {
			return invalid("the sweep job of candidate %d must be of organization %d and asset %d", id, cur.OrgID, cur.AssetID)
		}
		j.RequestedBy, _ = actorOf(p)
		inserted, err := s.insertScanJob(ctx, tx, sc, j)
		if err != nil {
			return err
		}
		if !inserted {
			return fmt.Errorf("%w: scan job id %q is taken", store.ErrConflict, j.ID)
		}
		return s.audit(ctx, tx, p, change{orgID: cur.OrgID, orgPath: path, action: "discovery.sweep", objType: "discovery_candidate", objID: id,
			after: sweepRecord{Candidate: cur.Value, Reason: reason, JobID: j.ID, Target: j.Target, Region: j.Region}})
	})
}
