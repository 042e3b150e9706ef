package store

import (
	"context"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
)

// DecisionState is where a national decision stands.
type DecisionState string

// The states. Pending and active are live: at most one live decision per
// value.
const (
	DecisionPending  DecisionState = "pending"  // waits for an analyst's approval
	DecisionActive   DecisionState = "active"   // enforced by bouncers and in the blocklists
	DecisionExpired  DecisionState = "expired"  // its time ran out
	DecisionRejected DecisionState = "rejected" // an analyst refused it
	DecisionDeleted  DecisionState = "deleted"  // an analyst lifted it
)

// Live reports whether a decision in state s is pending or active.
func (s DecisionState) Live() bool { return s == DecisionPending || s == DecisionActive }

// Decision scopes and type, as the store keeps them (the CrowdSec Local
// API spells the scopes "Ip" and "Range").
const (
	ScopeIP    = "ip"
	ScopeRange = "range"
	TypeBan    = "ban"
)

// Decision origins.
const (
	OriginCorrelation = "rampart-correlation" // the correlator of sensors' detections
	OriginAnalyst     = "analyst"             // a person, through the API or the console
)

// DecisionEvidence is what one sensor of one organization saw of the
// decision's source: how many detections of which kinds, first and last.
type DecisionEvidence struct {
	Org    string    `json:"org"`    // organization code
	Sensor string    `json:"sensor"` // sensor name
	Kinds  []string  `json:"kinds"`  // detection kinds, sorted
	Count  uint64    `json:"count"`  // events the detections aggregated
	First  time.Time `json:"first"`
	Last   time.Time `json:"last"`
	Target string    `json:"target,omitempty"` // the member address last attacked
	Detail string    `json:"detail,omitempty"` // the last detection's line for people
}

// Decision is a national decision to block one address (scope ip) or
// network (scope range) until a time.
type Decision struct {
	ID       int64         `json:"id"`
	UUID     string        `json:"uuid"`
	Value    string        `json:"value"` // canonical: "203.0.113.7", "198.51.100.0/24"
	Scope    string        `json:"scope"` // ScopeIP or ScopeRange
	Type     string        `json:"type"`  // TypeBan
	Origin   string        `json:"origin"`
	Scenario string        `json:"scenario"` // what was seen: "rampart/ssh-bruteforce+port-scan"
	Reason   string        `json:"reason"`   // why it waits for approval, or who decided it
	Rule     string        `json:"rule"`     // the policy rule that held it pending, if any
	Names    []string      `json:"names,omitempty"`
	State    DecisionState `json:"state"`
	// Evidence: distinct organizations, detections (events aggregated),
	// first and last seen, and one entry per organization and sensor.
	Orgs        int                `json:"orgs"`
	Detections  uint64             `json:"detections"`
	FirstSeen   *time.Time         `json:"first_seen,omitempty"`
	LastSeen    *time.Time         `json:"last_seen,omitempty"`
	Evidence    []DecisionEvidence `json:"evidence"`
	CreatedAt   time.Time          `json:"created_at"`
	UpdatedAt   time.Time          `json:"updated_at"`
	Until       time.Time          `json:"until"`
	ActivatedAt *time.Time         `json:"activated_at,omitempty"`
	DecidedBy   string             `json:"decided_by,omitempty"`
	DecidedAt   *time.Time         `json:"decided_at,omitempty"`
	Note        string             `json:"note,omitempty"`
	Seq         int64              `json:"seq"`
}

// DecisionFilter narrows ListDecisions (newest first).
type DecisionFilter struct {
	PageRequest
	State DecisionState // "" every state
	Query string        // substring of the value
}

// Bouncer is an enforcement point that pulls decisions with its own key.
type Bouncer struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	OrgID     int64      `json:"org_id,omitempty"`
	KeyHash   string     `json:"-"` // SHA-256 (hex) of the key; the key is shown once
	KeyPrefix string     `json:"key_prefix"`
	CreatedAt time.Time  `json:"created_at"`
	CreatedBy string     `json:"created_by"`
	LastPull  *time.Time `json:"last_pull,omitempty"`
	LastAddr  string     `json:"last_addr,omitempty"`
	Agent     string     `json:"agent,omitempty"` // its User-Agent
	Cursor    int64      `json:"cursor"`          // the change stamp it has
	Pulls     int64      `json:"pulls"`
	// LastNew and LastDeleted count the decisions of its last pull that
	// brought any; TotalNew and TotalDeleted every pull's.
	LastNew      int   `json:"last_new"`
	LastDeleted  int   `json:"last_deleted"`
	TotalNew     int64 `json:"total_new"`
	TotalDeleted int64 `json:"total_deleted"`
}

// BouncerPull is what one pull of a bouncer took.
type BouncerPull struct {
	At      time.Time
	Cursor  int64
	New     int
	Deleted int
	Addr    string
	Agent   string
}

// Decisions keeps national decisions and the bouncers that pull them.
// Like MonitorState it is not part of Store: the decision service and
// its faces assert it on the store they are given.
//
// Decisions are national: reading them needs a platform-wide principal
// (auth.Principal.SeesAll) and, for writes, auth.PermReviewIntel;
// anything else is ErrNotFound (reads) or ErrForbidden (writes). Every
// write by a person (decide, delete, bouncer create or delete) appends
// an audit entry in its transaction; the correlator's writes (system
// principal) are audited too. The machine calls (changes, active list,
// expiry, bouncer lookup and pulls) take no principal.
type Decisions interface {
	// ApplyDecision records d for its value: when a live decision of the
	// value exists, its Until becomes the later of the two, d's evidence
	// (counts are increments since the previous call) is merged into it
	// and the live one is returned with created false; its state does not
	// change. When a rejected or deleted decision of the value has an
	// Until still ahead, nothing is written and that one is returned (an
	// analyst's refusal holds until then). Otherwise d is inserted in
	// d.State (pending or active) and returned with created true.
	ApplyDecision(ctx context.Context, p auth.Principal, d Decision) (Decision, bool, error)
	GetDecision(ctx context.Context, p auth.Principal, id int64) (Decision, error)
	ListDecisions(ctx context.Context, p auth.Principal, f DecisionFilter) (Page[Decision], error)
	// DecideDecision approves (pending → active; Until at least until)
	// or rejects (pending → rejected) a pending decision, with a note;
	// another state is ErrConflict.
	DecideDecision(ctx context.Context, p auth.Principal, id int64, approve bool, until time.Time, note string) (Decision, error)
	// DeleteDecision lifts a live decision (→ deleted); an ended one is
	// ErrConflict.
	DeleteDecision(ctx context.Context, p auth.Principal, id int64, note string) (Decision, error)
	// ExpireDecisions ends the live decisions whose Until is not after
	// now and returns how many.
	ExpireDecisions(ctx context.Context, now time.Time) (int, error)
	// DecisionChanges returns the decisions whose change stamp is above
	// after, in stamp order (at most 1,000,000).
	DecisionChanges(ctx context.Context, after int64) ([]Decision, error)
	// ActiveDecisions returns the active decisions with Until after now,
	// and the change stamp they are current to.
	ActiveDecisions(ctx context.Context, now time.Time) ([]Decision, int64, error)
	// DecisionsSeq returns the latest change stamp.
	DecisionsSeq(ctx context.Context) (int64, error)

	// CreateBouncer stores b (Name, KeyHash, KeyPrefix, OrgID set); a
	// taken name or key is ErrConflict.
	CreateBouncer(ctx context.Context, p auth.Principal, b *Bouncer) error
	ListBouncers(ctx context.Context, p auth.Principal) ([]Bouncer, error)
	// DeleteBouncer removes a bouncer by ID; its key stops working.
	DeleteBouncer(ctx context.Context, p auth.Principal, id int64) error
	// BouncerForKey finds a bouncer by its key's hash (ErrNotFound).
	BouncerForKey(ctx context.Context, hash string) (Bouncer, error)
	// RecordPull stores a bouncer's pull: its cursor, counts and last
	// address.
	RecordPull(ctx context.Context, id int64, pull BouncerPull) error
}
