package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
)

// JobState is where a scan job is.
type JobState string

// The job states.
const (
	JobQueued      JobState = "queued"      // published, no worker has it yet
	JobRunning     JobState = "running"     // a worker started it
	JobDone        JobState = "done"        // results stored
	JobFailed      JobState = "failed"      // the job itself failed (bad target, internal error)
	JobUnreachable JobState = "unreachable" // nothing answered: observations and findings left as they were
)

// ScanJob is one scan of one asset (or a part of it), from request to
// stored results.
type ScanJob struct {
	ID          string          `json:"id"` // also the queue message ID
	OrgID       int64           `json:"org_id"`
	AssetID     int64           `json:"asset_id"`
	Type        string          `json:"type"`   // job type: "portscan", ...
	Region      string          `json:"region"` // vantage point
	Reason      string          `json:"reason"` // "schedule", "manual", "verify"
	Target      string          `json:"target"` // what the worker probes (IP, CIDR, name, URL)
	Params      json.RawMessage `json:"params,omitempty"`
	State       JobState        `json:"state"`
	RequestedBy string          `json:"requested_by"`
	Error       string          `json:"error,omitempty"`
	Stats       json.RawMessage `json:"stats,omitempty"` // hosts, probes, open, elapsed
	Worker      string          `json:"worker,omitempty"`
	// WaitingReason says why a queued job is not running yet, such as no
	// live worker in its region; empty once a worker starts it.
	WaitingReason string     `json:"waiting_reason,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	StartedAt     *time.Time `json:"started_at,omitempty"`
	FinishedAt    *time.Time `json:"finished_at,omitempty"`

	// Dispatch, when set, builds the message that hands the job to its
	// workers. CreateScanJob calls it with the job as it is about to be
	// stored and writes the message to the outbox in the same transaction
	// (never for a job already stored), so a stored job is always
	// published, by the relay, and a job that was not stored never is.
	Dispatch func(ScanJob) (OutboxMessage, error) `json:"-"`
}

// JobFilter narrows ListScanJobs.
type JobFilter struct {
	PageRequest
	OrgID   int64 // with its subtree
	AssetID int64
	State   JobState
	Region  string
}

// Observation is one thing a scan saw on the network: an open (or formerly
// open) port with what answers there. Observations are never deleted: a
// port that closes is marked closed, so history stays.
type Observation struct {
	ID        int64           `json:"id"`
	OrgID     int64           `json:"org_id"`
	AssetID   int64           `json:"asset_id"`
	IP        string          `json:"ip"`
	Port      int             `json:"port"`
	Proto     string          `json:"proto"`          // "tcp" or "udp"
	Host      string          `json:"host,omitempty"` // the name it was reached by, if any
	State     string          `json:"state"`          // "open" or "closed"
	Service   string          `json:"service,omitempty"`
	Product   string          `json:"product,omitempty"`
	Version   string          `json:"version,omitempty"`
	CPE       string          `json:"cpe,omitempty"`
	TLS       bool            `json:"tls"`
	Banner    string          `json:"banner,omitempty"`
	Cert      json.RawMessage `json:"cert,omitempty"` // certificate summary, when TLS
	FirstSeen time.Time       `json:"first_seen"`
	LastSeen  time.Time       `json:"last_seen"`
	ClosedAt  *time.Time      `json:"closed_at,omitempty"`
	JobID     string          `json:"job_id"` // the last job that saw or closed it
}

// ObservationFilter narrows ListObservations.
type ObservationFilter struct {
	PageRequest
	OrgID   int64 // with its subtree
	AssetID int64
	IP      string
	Port    int
	Service string
	State   string // "open" (default when empty: all), "closed"
}

// ScanReport is what one finished job saw, for RecordScan.
type ScanReport struct {
	JobID   string
	OrgID   int64
	AssetID int64
	At      time.Time
	// Hosts are the addresses the job probed and reached; ports of these
	// hosts in Ports that are not in Open get closed.
	Hosts []string
	Ports []int // the TCP port set probed
	Open  []Observation
	// UDPPorts is the UDP port set probed, empty when the job ran no UDP
	// scan; UDPHosts are the addresses that scan covered (those the job
	// reached over TCP or UDP). Their udp observations on UDPPorts that
	// are not in Open get closed; a TCP-only report closes no udp one.
	UDPHosts []string
	UDPPorts []int
}

// ScanPolicy is an organization's scanning rules.
type ScanPolicy struct {
	// Exclusions are targets never to probe: IPs, CIDRs or names (a name
	// excludes its subdomains too).
	Exclusions []string `json:"exclusions"`
	// Blackouts are weekly windows, in Asia/Ho_Chi_Minh time, when no scan
	// of the organization starts.
	Blackouts []Window `json:"blackouts"`
	// Credentials lets the organization's scans try a few empty and
	// default passwords per service (svc.default-credentials); off unless
	// the organization opts in.
	Credentials bool `json:"credentials"`
	// UDP makes the organization's scheduled scans scan the listed UDP
	// ports too and run the UDP checks; off unless the organization turns
	// it on (one-shot scans ask with rampart scan --udp).
	UDP bool `json:"udp"`
	// Ports is the TCP port list the organization's scans probe, as for
	// --ports (22,80,8000-8100, top100, top1000, all); empty: the
	// platform's default. An asset's ScanProfile may override it, as it
	// may Families, Rate, UDP and Credentials.
	Ports string `json:"ports"`
	// Families are the check families the organization's scans run (tls,
	// http, svc, ...); empty: every family.
	Families []string `json:"families"`
	// Rate is the probes per second of one of the organization's scan
	// jobs; 0: the platform's default. A worker's own ceiling still
	// applies.
	Rate int `json:"rate"`
	// Route is where the organization's scans run, inherited down the
	// tree (org.InheritRoute). It is read only here: GetScanPolicy fills
	// it, SetScanPolicy ignores it; Regions.SetOrgRegions changes it.
	Route org.Route `json:"route"`
}

// Window is a weekly time window. Days are 0 (Sunday) to 6; Start and End
// are "HH:MM"; an End before Start runs past midnight.
type Window struct {
	Days  []int  `json:"days"`
	Start string `json:"start"`
	End   string `json:"end"`
}

// DueAsset is an asset the scheduler may scan, with its scan state.
type DueAsset struct {
	AssetID    int64      `json:"asset_id"`
	OrgID      int64      `json:"org_id"`
	LastScanAt *time.Time `json:"last_scan_at,omitempty"`
	NextScanAt *time.Time `json:"next_scan_at,omitempty"`
}

// Scans keeps scan jobs, observations and scan policies.
//
// Job and observation writes come from the platform (the scheduler, the
// ingester) acting as auth.SystemPrincipal, or from people asking for a
// scan (they need auth.PermWriteAssets on the asset's organization). Reads
// follow the usual tenancy rules.
type Scans interface {
	// CreateScanJob stores j in state queued; j.ID must be set and unique
	// (a second create with the same ID is a no-op that returns nil, so a
	// republished schedule never duplicates a job).
	CreateScanJob(ctx context.Context, p auth.Principal, j *ScanJob) error
	GetScanJob(ctx context.Context, p auth.Principal, id string) (ScanJob, error)
	ListScanJobs(ctx context.Context, p auth.Principal, f JobFilter) (Page[ScanJob], error)
	// SetJobState moves a job (system only). Finished states set
	// FinishedAt; running sets StartedAt and Worker. A job already
	// finished is left alone (redelivery safe).
	SetJobState(ctx context.Context, id string, state JobState, worker, errMsg string, stats json.RawMessage) error

	// RecordScan upserts what a job saw, in one transaction, idempotently:
	// an (asset, ip, port, proto) seen again moves LastSeen (and reopens a
	// closed one); open observations of the reported Hosts on Ports that
	// the report does not list become closed. Replaying the same report
	// changes nothing.
	RecordScan(ctx context.Context, r ScanReport) error
	ListObservations(ctx context.Context, p auth.Principal, f ObservationFilter) (Page[Observation], error)

	GetScanPolicy(ctx context.Context, p auth.Principal, orgID int64) (ScanPolicy, error)
	// SetScanPolicy needs auth.PermWriteAssets on the organization.
	SetScanPolicy(ctx context.Context, p auth.Principal, orgID int64, sp ScanPolicy) error

	// DueAssets lists up to limit assets whose NextScanAt is unset or not
	// after now, oldest first (system only).
	DueAssets(ctx context.Context, now time.Time, limit int) ([]DueAsset, error)
	// SetAssetSchedule records when an asset was last scanned and when it
	// is next due (system only).
	SetAssetSchedule(ctx context.Context, assetID int64, last, next time.Time) error

	// RecordJobPart notes that part (1-based) of total of a job's result
	// has been applied and returns how many distinct parts of that split
	// are applied now; a part recorded twice counts once (system only).
	RecordJobPart(ctx context.Context, jobID string, part, total int) (int, error)
	// SetJobIngestError records that a job's results could not be applied
	// (errMsg, and one more failure), or clears both when errMsg is empty;
	// an unknown job is ErrNotFound (system only).
	SetJobIngestError(ctx context.Context, jobID, errMsg string) error
	// ListIngestProblems lists up to limit jobs in the principal's subtree
	// whose results could not be applied yet, most failures first.
	ListIngestProblems(ctx context.Context, p auth.Principal, limit int) ([]IngestProblem, error)
	// KeepOrphanResult keeps a result for a job the store does not know,
	// instead of dropping it; the same MsgID twice is kept once (system
	// only).
	KeepOrphanResult(ctx context.Context, r OrphanResult) error
	// ListOrphanResults returns how many results are kept aside and up to
	// limit of them, newest first, without their data. Orphans belong to
	// no organization: only platform-wide roles see them (others get 0).
	ListOrphanResults(ctx context.Context, p auth.Principal, limit int) (int, []OrphanResult, error)
}

// IngestProblem is a job whose results reached the platform but could not
// be applied: the ingester keeps retrying, and says so here.
type IngestProblem struct {
	JobID    string   `json:"job_id"`
	OrgID    int64    `json:"org_id"`
	AssetID  int64    `json:"asset_id"`
	State    JobState `json:"state"`
	Error    string   `json:"error"`
	Failures int      `json:"failures"`
}

// OrphanResult is a result for a job this database does not know (a
// restored older database, two platforms sharing one NATS account), kept
// aside for an operator.
type OrphanResult struct {
	ID         int64     `json:"id"`
	MsgID      string    `json:"msg_id"`
	JobID      string    `json:"job_id"`
	Type       string    `json:"type"`
	Region     string    `json:"region,omitempty"`
	Worker     string    `json:"worker,omitempty"`
	Data       []byte    `json:"-"`
	ReceivedAt time.Time `json:"received_at"`
}

// StaleJobs finds and repairs queued jobs that nothing will hand to a
// worker: jobs stored before jobs went through the outbox, or whose
// publish message left the outbox and then the queue without the job
// running (a wiped or restored NATS store). The scan reaper uses it; it
// is the platform's own (system only, no tenancy), like Outbox.
//
// A job's publish message in the outbox has the message ID JobMsgID(ID).
type StaleJobs interface {
	// StaleQueuedJobs lists up to limit jobs in state queued that were
	// created before `before` and have no publish message in the outbox,
	// oldest first.
	StaleQueuedJobs(ctx context.Context, before time.Time, limit int) ([]ScanJob, error)
	// RequeueScanJob writes the publish message of job id (built by
	// dispatch from the stored job) to the outbox again, in one
	// transaction with a check that the job is still queued and has no
	// publish message there already, and reports whether it wrote one. So
	// two reapers, or a reaper and a relay, never queue it twice. An
	// unknown job is ErrNotFound.
	RequeueScanJob(ctx context.Context, id string, dispatch func(ScanJob) (OutboxMessage, error)) (bool, error)
	// FailQueuedJob moves job id to failed with reason as its error, if it
	// is still queued and has no publish message in the outbox, and
	// reports whether it did. An unknown job is ErrNotFound.
	FailQueuedJob(ctx context.Context, id, reason string) (bool, error)
}

// JobMsgID is the message ID of job id's publish message (the queue
// deduplicates on it); it matches scanjob.Encode.
func JobMsgID(id string) string { return "job-" + id }
