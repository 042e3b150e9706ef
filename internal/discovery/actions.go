package discovery

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/store"
)

// What people do with discovery, and who may: the one place that says
// it. The API and the console are thin faces over these methods. The
// store enforces tenancy (a candidate or an organization outside the
// principal's subtree is not found) and audits every decision, run and
// sweep.

// FindingRef is the reference of the findings pending candidates raise.
const FindingRef = "candidates"

// MaxSweep bounds the candidates one sweep scans.
const MaxSweep = 200

// national reports whether p is the national level that runs discovery:
// the platform, its administrators and its analysts.
func national(p auth.Principal) bool {
	return p.System || p.Role == auth.RolePlatformAdmin || p.Role == auth.RoleAnalyst
}

// MayDecide reports whether p may confirm or reject candidates: an
// administrator of the organization they were proposed to or of one
// above it (the store finds only the candidates of p's subtree), or the
// national level's administrators. Members, viewers and analysts may
// not: confirming registers an asset that is then scanned.
func MayDecide(p auth.Principal) error {
	if p.System || p.Role == auth.RolePlatformAdmin || p.Role == auth.RoleOrgAdmin {
		return nil
	}
	return fmt.Errorf("%w: discovery: confirming or rejecting a discovered asset is for its organization's administrators or the level above", store.ErrForbidden)
}

// MayRun reports whether p may queue a discovery run: over the whole
// constituency (orgID 0) the national level (platform administrators and
// analysts); over one organization's verified scope also the
// administrators of that organization or of one above it.
func MayRun(p auth.Principal, orgID int64) error {
	if national(p) || (orgID != 0 && p.Role == auth.RoleOrgAdmin) {
		return nil
	}
	if orgID == 0 {
		return fmt.Errorf("%w: discovery: a run over the whole constituency is the national level's", store.ErrForbidden)
	}
	return fmt.Errorf("%w: discovery: a run is queued by the organization's administrators or the national level", store.ErrForbidden)
}

// MaySweep reports whether p may scan candidates nobody has confirmed:
// the national level only (platform administrators and analysts), and
// always explicitly, with a reason (Sweep).
func MaySweep(p auth.Principal) error {
	if national(p) {
		return nil
	}
	return fmt.Errorf("%w: discovery: only the national level sweeps unconfirmed candidates", store.ErrForbidden)
}

// QueueRun queues a discovery run over one organization's verified scope
// (and its subtree's), or over the whole constituency with orgID 0;
// sources empty means the configured ones.
func (s *Service) QueueRun(ctx context.Context, p auth.Principal, orgID int64, sources []string) (store.DiscoveryJob, error) {
	if err := MayRun(p, orgID); err != nil {
		return store.DiscoveryJob{}, err
	}
	j := store.DiscoveryJob{OrgID: orgID}
	for _, x := range sources {
		src := Source(strings.ToLower(strings.TrimSpace(x)))
		if !src.Valid() {
			return j, fmt.Errorf("%w: discovery: unknown source %q (want ct, axfr, wordlist, nsec, rdns, certs, links or routing)", store.ErrInvalid, x)
		}
		if !slices.Contains(j.Sources, string(src)) {
			j.Sources = append(j.Sources, string(src))
		}
	}
	err := s.d.Store.CreateDiscoveryJob(ctx, p, &j)
	return j, err
}

// endFinding closes the finding of a decided candidate at once through
// the findings service: its owner answered it.
func (s *Service) endFinding(ctx context.Context, c store.Candidate, why string) error {
	if s.d.Findings == nil {
		return nil
	}
	_, err := s.d.Findings.Record(ctx, finding.Batch{Source: finding.SourceDiscovery, Ref: FindingRef,
		JobID: "decide-" + strconv.FormatInt(c.ID, 10), At: s.d.Now().UTC(),
		Ended: []finding.Coverage{endedOf(c, why)}})
	return err
}

// endedOf is what ends a candidate's finding.
func endedOf(c store.Candidate, why string) finding.Coverage {
	return finding.Coverage{AssetID: c.AssetID, OrgID: c.OrgID, Target: c.Value, Checks: []string{FindingKind}, Reason: why}
}

// decisionNote is the history's reason for a decided candidate's
// finding.
func decisionNote(c store.Candidate) string {
	verb := "rejected"
	if c.State == store.CandidateConfirmed {
		verb = "confirmed"
	}
	note := "candidate " + verb + " by " + c.DecidedBy
	if c.Reason != "" {
		note += ": " + c.Reason
	}
	return note
}

// Sweeper builds the scan job of a sweep (the scan scheduler).
type Sweeper interface {
	SweepJob(cover asset.Asset, kind asset.Kind, value string, addrs []string, pol store.ScanPolicy, by string, now time.Time) (store.ScanJob, error)
	// Wake hands the stored jobs to the workers without waiting.
	Wake()
}

// Sweeps reports whether this service can sweep (it has the scan
// scheduler).
func (s *Service) Sweeps() bool { return s.d.Sweeper != nil }

// ErrNoSweeper means this process cannot queue scans.
var ErrNoSweeper = errors.New("discovery: scanning is not enabled on this server")

// Swept is one candidate a sweep queued a scan of.
type Swept struct {
	CandidateID int64  `json:"candidate_id"`
	Value       string `json:"value"`
	JobID       string `json:"job_id"`
	Region      string `json:"region"`
}

// Sweep is a national analyst's explicit scan of pending candidates that
// nobody has confirmed, the one exception to "nothing discovered is
// scanned before its owner confirms it". Each candidate gets a scan job
// of the asset that covers it (its results go to the organization it was
// proposed to, on that asset), scoped to the candidate alone; the store
// records each with who and why in the audit log. Every candidate is
// checked before any job is stored: one that is not pending, unknown or
// in a blackout window refuses the whole sweep.
func (s *Service) Sweep(ctx context.Context, p auth.Principal, ids []int64, reason string) ([]Swept, error) {
	if err := MaySweep(p); err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	switch {
	case s.d.Sweeper == nil:
		return nil, ErrNoSweeper
	case len(ids) == 0:
		return nil, fmt.Errorf("%w: discovery: a sweep names its candidates", store.ErrInvalid)
	case len(ids) > MaxSweep:
		return nil, fmt.Errorf("%w: discovery: at most %d candidates per sweep", store.ErrInvalid, MaxSweep)
	case reason == "":
		return nil, fmt.Errorf("%w: discovery: a sweep needs a reason (it scans what no owner confirmed)", store.ErrInvalid)
	}
	now := s.d.Now()
	jobs := make([]store.ScanJob, 0, len(ids))
	var out []Swept
	seen := map[int64]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		c, err := s.d.Store.GetCandidate(ctx, p, id)
		if err != nil {
			return nil, err
		}
		if c.State != store.CandidatePending {
			return nil, fmt.Errorf("%w: discovery: candidate %d is %s, not pending", store.ErrConflict, id, c.State)
		}
		cover, err := s.d.Store.GetAsset(ctx, auth.SystemPrincipal, c.AssetID)
		if err != nil {
			return nil, fmt.Errorf("discovery: candidate %d: covering asset: %w", id, err)
		}
		pol, err := s.d.Store.GetScanPolicy(ctx, auth.SystemPrincipal, c.OrgID)
		if err != nil {
			return nil, err
		}
		j, err := s.d.Sweeper.SweepJob(cover, c.Kind, c.Value, c.Addresses, pol, p.Name, now)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, j)
		out = append(out, Swept{CandidateID: id, Value: c.Value, JobID: j.ID, Region: j.Region})
	}
	for i := range jobs {
		if err := s.d.Store.SweepCandidate(ctx, p, out[i].CandidateID, reason, &jobs[i]); err != nil {
			if i > 0 {
				s.d.Sweeper.Wake()
			}
			return out[:i], err
		}
	}
	s.d.Sweeper.Wake()
	return out, nil
}
