package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
)

// Finding is one problem on one asset, deduplicated by Key.
type Finding struct {
	ID       int64            `json:"id"`
	Key      string           `json:"key"` // finding.Key(asset, check, target, subject)
	OrgID    int64            `json:"org_id"`
	AssetID  int64            `json:"asset_id"`
	Check    string           `json:"check"`  // "tls.cert-expired"
	Family   string           `json:"family"` // "tls"
	Severity finding.Severity `json:"severity"`
	Target   string           `json:"target"`            // "ip:port", a name or a URL
	Subject  string           `json:"subject,omitempty"` // a path, a cipher, a CVE
	Title    string           `json:"title"`
	Evidence json.RawMessage  `json:"evidence,omitempty"` // check.Evidence as JSON
	CVE      []string         `json:"cve"`
	KEV      bool             `json:"kev"`
	State    finding.State    `json:"state"`

	FirstSeen time.Time  `json:"first_seen"`
	LastSeen  time.Time  `json:"last_seen"`
	DueAt     *time.Time `json:"due_at,omitempty"` // from the policy; nil: no deadline
	FixedAt   *time.Time `json:"fixed_at,omitempty"`
	// Acceptance (risk-accepted, false-positive): until when, why, by whom.
	Until    *time.Time `json:"until,omitempty"`
	Reason   string     `json:"reason,omitempty"`
	Approver string     `json:"approver,omitempty"`
	// VerifyRequestedAt is set when the owner asks for a rescan.
	VerifyRequestedAt *time.Time `json:"verify_requested_at,omitempty"`
	LastJobID         string     `json:"last_job_id,omitempty"`
	UpdatedAt         time.Time  `json:"updated_at"`
}

// Overdue reports whether f counts as compliance debt at now.
func (f Finding) Overdue(now time.Time) bool {
	return f.State.Active() && f.DueAt != nil && now.After(*f.DueAt)
}

// FindingEvent is one entry of a finding's history.
type FindingEvent struct {
	ID        int64           `json:"id"`
	FindingID int64           `json:"finding_id"`
	At        time.Time       `json:"at"`
	Actor     string          `json:"actor"` // a person, or "scanner"
	Action    finding.Action  `json:"action"`
	From      finding.State   `json:"from"`
	To        finding.State   `json:"to"`
	Reason    string          `json:"reason,omitempty"`
	Until     *time.Time      `json:"until,omitempty"`
	JobID     string          `json:"job_id,omitempty"`
	Evidence  json.RawMessage `json:"evidence,omitempty"` // what the scan saw, for scanner events
}

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
}

// Coverage says what a job examined on one asset: these checks on this
// target. A finding of the asset with one of these checks on this target
// that the job did not see is fixed.
type Coverage struct {
	AssetID int64
	OrgID   int64
	Target  string
	Checks  []string
}

// FindingBatch is what one job saw, for RecordFindings.
type FindingBatch struct {
	JobID   string
	At      time.Time
	Policy  finding.Policy // due dates for new findings
	Covered []Coverage
	// Seen are the problems found; Key, OrgID, AssetID, Check, Family,
	// Severity, Target, Subject, Title, Evidence, CVE, KEV are set.
	Seen []Finding
}

// ChangeKind says what RecordFindings did to a finding.
type ChangeKind string

// The change kinds; the notifier reacts to these.
const (
	ChangeNew      ChangeKind = "new"
	ChangeReopened ChangeKind = "reopened"
	ChangeFixed    ChangeKind = "fixed"
)

// FindingChange is one finding whose state moved.
type FindingChange struct {
	Kind    ChangeKind `json:"kind"`
	Finding Finding    `json:"finding"`
}

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
	// RecordFindings applies one job's results in one transaction,
	// idempotently (a replayed batch changes nothing):
	//   - a seen key that is new is stored open, due by Policy;
	//   - a seen key that exists moves LastSeen and takes the new
	//     evidence and severity; a fixed one is reopened (due date
	//     restarts from now);
	//   - a stored active finding inside Covered (same asset, target and
	//     one of the checks) whose key was not seen becomes fixed;
	// every state move is kept in the history with the job ID. It returns
	// the changes (new, reopened, fixed).
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
	// WorstForAsset returns the worst severity among the asset's active
	// findings ("" when none) and whether any is KEV-listed.
	WorstForAsset(ctx context.Context, assetID int64) (finding.Severity, bool, error)
	// Debt returns the compliance debt of each organization p sees,
	// each rolled up over its subtree, at now.
	Debt(ctx context.Context, p auth.Principal, now time.Time) ([]OrgDebt, error)
}
