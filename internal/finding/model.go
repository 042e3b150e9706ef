package finding

import (
	"encoding/json"
	"time"
)

// Source says where a finding came from, and so how it closes.
type Source string

// The sources. Each closes its findings its own way (see Source.Closure);
// a source never closes another source's finding.
const (
	SourceScan      Source = "scan"      // the platform's own scans: fixed by coverage (reached and not seen)
	SourceImport    Source = "import"    // third-party tool output: fixed by the next import of that tool over that target
	SourceIntel     Source = "intel"     // threat-intelligence feeds: fixed when no longer reported for a while
	SourceSensor    Source = "sensor"    // sensors at member gateways: by expiry
	SourceDNS       Source = "dns"       // protective DNS: by expiry
	SourceDiscovery Source = "discovery" // discovery of unregistered assets: by expiry
	SourceMonitor   Source = "monitor"   // monitoring of internet resources: by expiry
	SourceManual    Source = "manual"    // entered by a person: closed by a person
)

// Sources lists every source.
var Sources = []Source{SourceScan, SourceImport, SourceIntel, SourceSensor, SourceDNS, SourceDiscovery, SourceMonitor, SourceManual}

// Valid reports whether s is a known source.
func (s Source) Valid() bool {
	for _, v := range Sources {
		if s == v {
			return true
		}
	}
	return false
}

// Closure is how the findings of a source are closed.
type Closure string

// The closures.
const (
	ClosedByCoverage Closure = "coverage" // a later report over the same target that no longer sees it
	ClosedByExpiry   Closure = "expiry"   // not reported again within the source's time to live
	ClosedByPerson   Closure = "person"   // a person resolves it
)

// Closure returns how s's findings close: scans and imports by coverage
// (an import's coverage is the next import of the same tool), feeds,
// sensors, DNS, discovery and monitoring by expiry, manual findings by a
// person.
func (s Source) Closure() Closure {
	switch s {
	case SourceScan, SourceImport:
		return ClosedByCoverage
	case SourceManual:
		return ClosedByPerson
	}
	return ClosedByExpiry
}

// Finding is one problem on one asset, deduplicated by Key.
type Finding struct {
	ID      int64  `json:"id"`
	Key     string `json:"key"` // KeyOf(source, ref, asset, check, target, subject)
	OrgID   int64  `json:"org_id"`
	AssetID int64  `json:"asset_id"`
	// Source and SourceRef say who reported it: ("scan", ""), ("import",
	// "nuclei"), ("intel", "<feed>") …
	Source    Source          `json:"source"`
	SourceRef string          `json:"source_ref,omitempty"`
	Check     string          `json:"check"`  // the finding kind: "tls.cert-expired", "import.nuclei.cve-2021-41773"
	Family    string          `json:"family"` // "tls"
	Severity  Severity        `json:"severity"`
	Target    string          `json:"target"`            // "ip:port", a name or a URL
	Subject   string          `json:"subject,omitempty"` // a path, a cipher, a CVE
	Title     string          `json:"title"`
	Evidence  json.RawMessage `json:"evidence,omitempty"` // what the source saw, as JSON
	CVE       []string        `json:"cve"`
	KEV       bool            `json:"kev"`
	// EPSS is the exploit prediction score (0-1) of the finding's CVE, as
	// its evidence says (EPSSOf); 0 when unknown. The store keeps it in a
	// column so lists sort by exploit likelihood.
	EPSS  float64 `json:"epss,omitempty"`
	State State   `json:"state"`

	FirstSeen time.Time  `json:"first_seen"`
	LastSeen  time.Time  `json:"last_seen"`
	DueAt     *time.Time `json:"due_at,omitempty"` // from the policy; nil: no deadline
	// DueFrom is when the due date counts from: first seen, or when it
	// last reopened.
	DueFrom time.Time  `json:"-"`
	FixedAt *time.Time `json:"fixed_at,omitempty"`
	// Acceptance (risk-accepted, false-positive): until when, why, by whom.
	Until    *time.Time `json:"until,omitempty"`
	Reason   string     `json:"reason,omitempty"`
	Approver string     `json:"approver,omitempty"`
	// Waiver is a pending request by the owner to accept the risk or mark
	// a false positive, awaiting the level above.
	Waiver *Waiver `json:"waiver,omitempty"`
	// VerifyRequestedAt is set when the owner asks for a rescan.
	VerifyRequestedAt *time.Time `json:"verify_requested_at,omitempty"`
	LastJobID         string     `json:"last_job_id,omitempty"`
	UpdatedAt         time.Time  `json:"updated_at"`
}

// Waiver is an owner's request to accept a finding's risk or mark it a
// false positive, until a date, for a reason. It changes nothing until an
// approver above the owner approves it.
type Waiver struct {
	Action Action    `json:"action"` // accept-risk or false-positive
	Reason string    `json:"reason"`
	Until  time.Time `json:"until"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
}

// Overdue reports whether f counts as compliance debt at now.
func (f Finding) Overdue(now time.Time) bool {
	return f.State.Active() && f.DueAt != nil && now.After(*f.DueAt)
}

// HistoryEntry is one entry of a finding's history.
type HistoryEntry struct {
	ID        int64           `json:"id"`
	FindingID int64           `json:"finding_id"`
	At        time.Time       `json:"at"`
	Actor     string          `json:"actor"` // a person, or "scanner", "importer", "system"
	Action    Action          `json:"action"`
	From      State           `json:"from"`
	To        State           `json:"to"`
	Reason    string          `json:"reason,omitempty"`
	Until     *time.Time      `json:"until,omitempty"`
	JobID     string          `json:"job_id,omitempty"`
	Evidence  json.RawMessage `json:"evidence,omitempty"` // what the source saw, for its own entries
	// FindingKey names the finding of an entry planned before the finding
	// has an ID (a new finding); the store fills FindingID from it.
	FindingKey string `json:"-"`
}

// ChangeKind says what happened to a finding.
type ChangeKind string

// The change kinds, published as finding events.
const (
	ChangeNew        ChangeKind = "new"
	ChangeReopened   ChangeKind = "reopened"
	ChangeFixed      ChangeKind = "fixed"
	ChangeDueSoon    ChangeKind = "due-soon"
	ChangeOverdue    ChangeKind = "overdue"
	ChangeTransition ChangeKind = "transition" // a person's action (acknowledge, accept-risk …) or an expiry
)

// Change is one finding whose state moved, or that crossed a deadline.
type Change struct {
	Kind    ChangeKind `json:"kind"`
	Finding Finding    `json:"finding"`
	// At is when it happened (the result's time for a source's change).
	At time.Time `json:"at,omitzero"`
	// Action, From, To and Actor describe a transition.
	Action Action `json:"action,omitempty"`
	From   State  `json:"from,omitempty"`
	To     State  `json:"to,omitempty"`
	Actor  string `json:"actor,omitempty"`
}

// EventID is the change's idempotency key: the same change computed twice
// (a redelivered result, a retried transaction) has the same ID.
func (c Change) EventID() string {
	return string(c.Kind) + "/" + c.Finding.Key + "/" + c.At.UTC().Format("20060102T150405.000000Z") + "/" + string(c.Action)
}
