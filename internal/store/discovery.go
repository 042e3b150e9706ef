package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
)

// CandidateState is where a discovered candidate stands.
type CandidateState string

// The candidate states.
const (
	CandidatePending   CandidateState = "pending"   // proposed to the owner; nothing scans it
	CandidateConfirmed CandidateState = "confirmed" // the owner said it is theirs: it became an asset
	CandidateRejected  CandidateState = "rejected"  // the owner said it is not theirs; never proposed again
)

// Candidate is something discovery found that an organization's verified
// domain, network or AS number covers, proposed to that organization.
type Candidate struct {
	ID    int64 `json:"id"`
	OrgID int64 `json:"org_id"`
	// AssetID is the organization's asset that covers the candidate (the
	// domain it is under, the network or AS number it came from).
	AssetID   int64          `json:"asset_id"`
	Kind      asset.Kind     `json:"kind"`  // hostname, ipv4, ipv6 or cidr
	Value     string         `json:"value"` // normalized as an asset value
	Sources   []string       `json:"sources"`
	Addresses []string       `json:"addresses"`
	Evidence  string         `json:"evidence,omitempty"` // the latest source's
	State     CandidateState `json:"state"`
	FirstSeen time.Time      `json:"first_seen"`
	LastSeen  time.Time      `json:"last_seen"`
	DecidedAt *time.Time     `json:"decided_at,omitempty"`
	DecidedBy string         `json:"decided_by,omitempty"`
	Reason    string         `json:"reason,omitempty"`
	// RegisteredAssetID is the asset a confirmation created (or found).
	RegisteredAssetID int64  `json:"registered_asset_id,omitempty"`
	OrgCode           string `json:"org_code,omitempty"`
}

// CandidateFilter narrows ListCandidates.
type CandidateFilter struct {
	PageRequest
	OrgID int64          // this organization's subtree
	State CandidateState // "" means pending
	Query string         // substring of the value
}

// CandidateDecision is an owner's answer about a candidate.
type CandidateDecision struct {
	Confirm bool
	Reason  string
	// VerifiedBy, when set on a confirmation, registers the new asset
	// verified at once with this VerifiedBy (the caller found it inside
	// the organization's proven scope, e.g. a name under its verified
	// domain). The store honours it only while the covering asset is
	// still verified and the organization's; otherwise, and when it is
	// empty, the new asset is a claim like any other.
	VerifiedBy string
}

// DiscoveryJob is one run of discovery, queued and run by the platform.
type DiscoveryJob struct {
	ID          int64           `json:"id"`
	OrgID       int64           `json:"org_id,omitempty"` // 0: the whole constituency
	Sources     []string        `json:"sources"`
	State       JobState        `json:"state"` // queued, running, done, failed
	RequestedBy string          `json:"requested_by"`
	CreatedAt   time.Time       `json:"created_at"`
	StartedAt   *time.Time      `json:"started_at,omitempty"`
	FinishedAt  *time.Time      `json:"finished_at,omitempty"`
	LeaseUntil  *time.Time      `json:"-"`
	Progress    json.RawMessage `json:"progress,omitempty"`
	Error       string          `json:"error,omitempty"`
}

// DiscoveryJobFilter narrows ListDiscoveryJobs.
type DiscoveryJobFilter struct {
	PageRequest
	State JobState
}

// Discovery keeps discovered candidates, discovery runs and where each
// Certificate Transparency log was last read.
//
// Candidates are written by the platform (auth.SystemPrincipal) and read
// and decided by the owning organization's people under the usual tenancy
// rules: a candidate belongs to the organization it was proposed to.
type Discovery interface {
	// ProposeCandidates stores candidates (system only), keyed by
	// (organization, kind, value), in one transaction. A new one is
	// pending, first and last seen at; one seen again moves LastSeen,
	// merges Sources and Addresses and takes the new Evidence, whatever
	// its state: a rejected candidate stays rejected, so a name the owner
	// disowned is never proposed again. It returns the stored candidates,
	// in the order given, and which of them are new.
	ProposeCandidates(ctx context.Context, p auth.Principal, cs []Candidate, at time.Time) (stored []Candidate, isNew []bool, err error)
	GetCandidate(ctx context.Context, p auth.Principal, id int64) (Candidate, error)
	// ListCandidates lists candidates in the principal's subtree, by ID.
	ListCandidates(ctx context.Context, p auth.Principal, f CandidateFilter) (Page[Candidate], error)
	// DecideCandidate confirms or rejects a pending candidate; it needs
	// auth.PermWriteAssets on its organization. A confirmation registers
	// the candidate as an asset of the organization in the same
	// transaction (see CandidateDecision.VerifiedBy for its state), or
	// links the asset the organization already has with that value. A
	// candidate not pending is ErrConflict. Audited as
	// "discovery.confirm" or "discovery.reject".
	DecideCandidate(ctx context.Context, p auth.Principal, id int64, d CandidateDecision) (Candidate, error)
	// SweepCandidate stores the scan job of a national analyst's explicit
	// sweep of a pending candidate (the only scan of something nobody
	// confirmed): the national level only (platform admins and
	// analysts), with a reason. j must be of the candidate's
	// organization and covering asset (its results are that asset's); it
	// is stored with its Dispatch message and audited as
	// "discovery.sweep" (who, why, the job) in one transaction. A
	// candidate not pending is ErrConflict.
	SweepCandidate(ctx context.Context, p auth.Principal, id int64, reason string, j *ScanJob) error

	// CTPosition is where the platform stopped reading a log (system
	// only); zeros for a log never read.
	CTPosition(ctx context.Context, logURL string) (next, treeSize uint64, err error)
	// SetCTPosition records where reading a log stopped (system only).
	SetCTPosition(ctx context.Context, logURL string, next, treeSize uint64) error

	// CreateDiscoveryJob queues a run: for one organization (needs
	// auth.PermWriteAssets on it, or an analyst) or, with OrgID 0, for
	// the whole constituency (the national level only: platform admins
	// and analysts).
	CreateDiscoveryJob(ctx context.Context, p auth.Principal, j *DiscoveryJob) error
	// ClaimDiscoveryJob takes the oldest queued job, or a running one
	// whose lease ran out (its runner died), marks it running with a lease
	// until now+lease and returns it; false when there is none (system
	// only).
	ClaimDiscoveryJob(ctx context.Context, now time.Time, lease time.Duration) (DiscoveryJob, bool, error)
	// UpdateDiscoveryJob records a running job's progress and extends its
	// lease, or finishes it (state done or failed, with errMsg) (system
	// only). A finished job is left alone.
	UpdateDiscoveryJob(ctx context.Context, id int64, state JobState, progress json.RawMessage, errMsg string, leaseUntil time.Time) error
	// ListDiscoveryJobs lists runs the principal may see: the national
	// level all, others their subtree's, newest first.
	ListDiscoveryJobs(ctx context.Context, p auth.Principal, f DiscoveryJobFilter) (Page[DiscoveryJob], error)
}
