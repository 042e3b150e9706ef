package store

import (
	"context"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
)

// Answer is an organization's answer to one control of a framework.
type Answer string

// The answers. An unanswered control has no ControlAnswer row.
const (
	AnswerImplemented    Answer = "implemented"
	AnswerPartial        Answer = "partial"
	AnswerNotImplemented Answer = "not-implemented"
	AnswerNotApplicable  Answer = "not-applicable"
)

// Answers lists every answer, best first.
var Answers = []Answer{AnswerImplemented, AnswerPartial, AnswerNotImplemented, AnswerNotApplicable}

// Valid reports whether a is one of Answers.
func (a Answer) Valid() bool {
	for _, v := range Answers {
		if a == v {
			return true
		}
	}
	return false
}

// AssessmentState is where a questionnaire is.
type AssessmentState string

// The questionnaire states: a draft takes answers and evidence; a submitted
// one is locked until an administrator reopens it (back to draft).
const (
	AssessmentDraft     AssessmentState = "draft"
	AssessmentSubmitted AssessmentState = "submitted"
)

// MaxEvidenceSize caps one evidence file (10 MiB); MaxEvidenceFiles caps the
// files of one questionnaire.
const (
	MaxEvidenceSize  = 10 << 20
	MaxEvidenceFiles = 200
)

// Campaign asks a set of organizations to assess themselves against one
// framework by a deadline.
//
// The targets are resolved when the campaign is created and kept: either
// the listed TargetOrgIDs, or every organization of TargetRoot's subtree
// (narrowed to TargetKinds when given). An organization created later is
// not a target.
type Campaign struct {
	ID        int64     `json:"id"`
	OwnerOrg  int64     `json:"owner_org_id"` // the organization that runs it (its subtree bounds the targets)
	Framework string    `json:"framework"`    // a framework ID, e.g. "baseline"
	Title     string    `json:"title"`
	Deadline  time.Time `json:"deadline"`
	// Target selection, used by CreateCampaign only: TargetOrgIDs, or
	// TargetRoot with optional TargetKinds. After creation Targets holds
	// the resolved organization IDs in ascending order.
	TargetRoot   int64      `json:"target_root,omitempty"`
	TargetKinds  []org.Kind `json:"target_kinds,omitempty"`
	TargetOrgIDs []int64    `json:"target_org_ids,omitempty"`
	Targets      []int64    `json:"targets"`
	CreatedBy    string     `json:"created_by"`
	CreatedAt    time.Time  `json:"created_at"`
}

// CampaignFilter narrows ListCampaigns.
type CampaignFilter struct {
	PageRequest
	Framework string
}

// ControlAnswer is the answer to one control.
type ControlAnswer struct {
	ControlID string    `json:"control_id"`
	Answer    Answer    `json:"answer"`
	Comment   string    `json:"comment,omitempty"`
	UpdatedBy string    `json:"updated_by,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// EvidenceFile is a document attached to one control of a questionnaire,
// kept in the database. Data is filled by GetEvidence only.
type EvidenceFile struct {
	ID           int64     `json:"id"`
	AssessmentID int64     `json:"assessment_id"`
	ControlID    string    `json:"control_id"`
	Name         string    `json:"name"`
	ContentType  string    `json:"content_type"`
	Size         int64     `json:"size"`
	SHA256       string    `json:"sha256"` // hex, computed by the store
	UploadedBy   string    `json:"uploaded_by"`
	UploadedAt   time.Time `json:"uploaded_at"`
	Data         []byte    `json:"-"`
}

// Assessment is one questionnaire: one organization, one framework, one
// campaign (CampaignID 0 for a self-assessment outside any campaign).
type Assessment struct {
	ID          int64           `json:"id"`
	OrgID       int64           `json:"org_id"`
	Framework   string          `json:"framework"`
	CampaignID  int64           `json:"campaign_id,omitempty"`
	Level       int             `json:"level"` // the security level assessed (1-5): which controls apply
	State       AssessmentState `json:"state"`
	SubmittedAt *time.Time      `json:"submitted_at,omitempty"`
	SubmittedBy string          `json:"submitted_by,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
	// Answers (by control ID order) and Evidence (metadata, no Data) are
	// filled by GetAssessment and CampaignAssessments, not by listings.
	Answers  []ControlAnswer `json:"answers,omitempty"`
	Evidence []EvidenceFile  `json:"evidence,omitempty"`
}

// AssessmentFilter narrows ListAssessments.
type AssessmentFilter struct {
	PageRequest
	OrgID      int64 // this organization's subtree
	CampaignID int64
	Framework  string
	State      AssessmentState
}

// TargetStatus is where one target organization of a campaign stands.
type TargetStatus struct {
	OrgID        int64           `json:"org_id"`
	AssessmentID int64           `json:"assessment_id,omitempty"` // 0: not started
	State        AssessmentState `json:"state,omitempty"`         // "" when not started
	Answered     int             `json:"answered"`
	SubmittedAt  *time.Time      `json:"submitted_at,omitempty"`
	UpdatedAt    *time.Time      `json:"updated_at,omitempty"`
}

// Submitted reports whether the target has submitted.
func (t TargetStatus) Submitted() bool { return t.State == AssessmentSubmitted }

// Reminder records that the targets in OrgIDs were reminded of a
// campaign. Error is the notifier's failure, empty when it accepted.
type Reminder struct {
	ID         int64     `json:"id"`
	CampaignID int64     `json:"campaign_id"`
	OrgIDs     []int64   `json:"org_ids"`
	At         time.Time `json:"at"`
	Actor      string    `json:"actor"`
	Error      string    `json:"error,omitempty"`
}

// Assessments keeps campaigns, self-assessment questionnaires, their
// answers and evidence files, and campaign reminders.
//
// The store does not know frameworks: it checks that answers are well
// formed, the caller (package assess) that control IDs exist in the
// framework and apply at the level.
//
// Permissions, over the tenancy rules of the package comment:
//   - reading needs auth.PermReadRegistry. A campaign is visible to those
//     who see its owner organization and to those whose subtree holds one
//     of its targets; CampaignStatus and CampaignAssessments return only
//     the targets in the caller's subtree.
//   - creating a campaign, reopening a submitted questionnaire of a
//     campaign and recording reminders need auth.PermWriteOrgs over the
//     campaign's owner organization; every target must lie in the owner's
//     subtree. Reopening a questionnaire outside a campaign needs
//     auth.PermWriteOrgs over the assessed organization's parent (an
//     organization cannot unlock its own submission), or a platform-wide
//     administrator.
//   - answering, evidence and submitting need auth.PermWriteAssets over the
//     assessed organization.
//
// A submitted questionnaire refuses answers and evidence changes with
// ErrConflict. Every write appends an audit entry (evidence entries carry
// the metadata, never the file).
type Assessments interface {
	// CreateCampaign resolves c's targets (ErrInvalid when there are none,
	// or when a listed organization is outside the owner's subtree) and
	// stores it, setting ID, Targets, CreatedBy and CreatedAt. OwnerOrg 0
	// means the principal's organization.
	CreateCampaign(ctx context.Context, p auth.Principal, c *Campaign) error
	GetCampaign(ctx context.Context, p auth.Principal, id int64) (Campaign, error)
	// ListCampaigns lists visible campaigns, newest first.
	ListCampaigns(ctx context.Context, p auth.Principal, f CampaignFilter) (Page[Campaign], error)
	// CampaignStatus returns one row per target in the caller's subtree,
	// in organization ID order.
	CampaignStatus(ctx context.Context, p auth.Principal, campaignID int64) ([]TargetStatus, error)
	// CampaignAssessments returns the questionnaires (with answers and
	// evidence metadata) of the targets in the caller's subtree.
	CampaignAssessments(ctx context.Context, p auth.Principal, campaignID int64) ([]Assessment, error)

	// OpenAssessment returns the questionnaire of (a.OrgID, a.Framework,
	// a.CampaignID), creating it as a draft at a.Level when there is none
	// (created reports which). For a campaign, the organization must be
	// one of its targets and the framework the campaign's (ErrInvalid).
	OpenAssessment(ctx context.Context, p auth.Principal, a Assessment) (got Assessment, created bool, err error)
	GetAssessment(ctx context.Context, p auth.Principal, id int64) (Assessment, error)
	// ListAssessments lists questionnaires without answers, by ID.
	ListAssessments(ctx context.Context, p auth.Principal, f AssessmentFilter) (Page[Assessment], error)
	// SaveAnswers upserts answers by control ID (an empty Answer deletes
	// the control's answer) and sets UpdatedBy and UpdatedAt.
	SaveAnswers(ctx context.Context, p auth.Principal, assessmentID int64, answers []ControlAnswer) error
	// AddEvidence stores e (Data at most MaxEvidenceSize bytes, else
	// ErrInvalid), setting ID, Size, SHA256, UploadedBy and UploadedAt.
	AddEvidence(ctx context.Context, p auth.Principal, e *EvidenceFile) error
	// GetEvidence returns one file with its Data.
	GetEvidence(ctx context.Context, p auth.Principal, id int64) (EvidenceFile, error)
	DeleteEvidence(ctx context.Context, p auth.Principal, id int64) error
	// SubmitAssessment locks a draft (ErrConflict when already submitted).
	SubmitAssessment(ctx context.Context, p auth.Principal, id int64, at time.Time) (Assessment, error)
	// ReopenAssessment turns a submitted questionnaire back into a draft,
	// recording reason in the audit log.
	ReopenAssessment(ctx context.Context, p auth.Principal, id int64, reason string) (Assessment, error)

	// RecordReminder stores r, setting ID and Actor (At defaults to now).
	RecordReminder(ctx context.Context, p auth.Principal, r *Reminder) error
	// ListReminders returns a campaign's reminders, oldest first.
	ListReminders(ctx context.Context, p auth.Principal, campaignID int64) ([]Reminder, error)
}
