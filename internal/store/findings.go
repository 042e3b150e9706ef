package store

import (
	"context"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
)

// Finding is one problem on one asset (the domain type).
type Finding = finding.Finding

// FindingEvent is one entry of a finding's history.
type FindingEvent = finding.HistoryEntry

// FindingFilter narrows ListFindings.
type FindingFilter struct {
	PageRequest
	OrgID       int64 // this organization's subtree
	AssetID     int64
	Severity    finding.Severity // exactly this severity
	MinSeverity finding.Severity // this severity or worse
	State       finding.State    // exactly this state; "active" is not a state: use Active
	Active      bool             // open, acknowledged or reopened
	Check       string           // a check ID, or a family prefix ending in "." ("tls.")
	KEV         *bool
	Overdue     bool      // active and past due at Now
	Now         time.Time // for Overdue; zero means time.Now()
	Query       string    // substring of target or title
	// WaiverPending: an owner's request to accept the risk or mark a
	// false positive awaits a decision.
	WaiverPending bool
	// Sort is the order: "" (or SortID) ascending ID; SortLikelihood the
	// most likely to be exploited first (finding.Likelihood: KEV, then
	// EPSS, then severity; newest first among equals).
	Sort string
}

// The orders of FindingFilter.Sort.
const (
	SortID         = "id"
	SortLikelihood = "likelihood"
)

// Coverage says what a source examined (finding.Coverage).
type Coverage = finding.Coverage

// FindingBatch is what one report of a source saw, for RecordFindings
// (finding.Batch).
type FindingBatch = finding.Batch

// ChangeKind says what happened to a finding.
type ChangeKind = finding.ChangeKind

// The change kinds; the notifier reacts to these.
const (
	ChangeNew      = finding.ChangeNew
	ChangeReopened = finding.ChangeReopened
	ChangeFixed    = finding.ChangeFixed
)

// FindingChange is one finding whose state moved.
type FindingChange = finding.Change

// OrgDebt is the compliance debt of one organization's subtree.
type OrgDebt struct {
	OrgID      int64                    `json:"org_id"`
	Active     int                      `json:"active"`      // open, acknowledged, reopened
	Overdue    int                      `json:"overdue"`     // active and past due
	KEV        int                      `json:"kev"`         // active KEV-listed
	Weighted   float64                  `json:"weighted"`    // sum of finding.DebtWeight of overdue findings
	BySeverity map[finding.Severity]int `json:"by_severity"` // active, by severity
}

// Findings keeps findings and their history.
//
// RecordFindings, ExpireAcceptances and WorstForAsset are the platform's
// own (system principal); the rest follow tenancy. Changing a finding's
// state needs auth.PermTriage in its organization's subtree.
type Findings interface {
	// RecordFindings applies one report of a source in one transaction,
	// idempotently (a replayed batch changes nothing), as
	// finding.Reconcile decides; every state move is kept in the history
	// with the job ID, and every change's event goes to the Outbox in the
	// same transaction. It returns the changes (new, reopened, fixed).
	RecordFindings(ctx context.Context, b FindingBatch) ([]FindingChange, error)

	GetFinding(ctx context.Context, p auth.Principal, id int64) (Finding, error)
	ListFindings(ctx context.Context, p auth.Principal, f FindingFilter) (Page[Finding], error)
	FindingHistory(ctx context.Context, p auth.Principal, id int64) ([]FindingEvent, error)
	// TransitionFinding applies a person's action (finding.Next decides
	// what is allowed) and records it in the history; request-verify sets
	// VerifyRequestedAt. Errors wrap finding.ErrTransition or
	// finding.ErrInvalid for refused actions.
	TransitionFinding(ctx context.Context, p auth.Principal, id int64, t finding.Transition) (Finding, error)

	// ExpireAcceptances reopens risk acceptances and false positives whose
	// Until passed, and returns how many.
	ExpireAcceptances(ctx context.Context, now time.Time) (int, error)
	// ExpireStale fixes the active findings of sources closed by expiry
	// (finding.Source.Closure) not reported for longer than ttl(source),
	// as finding.Stale decides, and returns how many.
	ExpireStale(ctx context.Context, ttl func(finding.Source) time.Duration, now time.Time) (int, error)
	// WorstForAsset returns the worst severity among the asset's active
	// findings ("" when none) and whether any is KEV-listed.
	WorstForAsset(ctx context.Context, assetID int64) (finding.Severity, bool, error)
	// Debt returns the compliance debt of each organization p sees,
	// each rolled up over its subtree, at now.
	Debt(ctx context.Context, p auth.Principal, now time.Time) ([]OrgDebt, error)
}
