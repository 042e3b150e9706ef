package store

import (
	"context"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/intel"
)

// The threat-intelligence hub's state: indicators and their sources,
// sightings, feeds and their runs, the analysts' review queue, blocklist
// consumers and the owners' feedback on early warnings. The early warnings
// themselves are findings (source intel) and live with the findings.
//
// Who may do what:
//   - Intelligence administration (applying records, feeds and their runs,
//     the review queue, consumers, feedback) belongs to the national level:
//     the system, or a platform-wide principal with auth.PermTriage
//     (platform administrators and analysts). Others get ErrForbidden.
//     Feeds, reviews, consumers and feedback are read under the same rule.
//   - Indicators are read with auth.PermReadFeeds. Platform-wide
//     principals see every marking; everyone else sees TLP CLEAR and GREEN
//     only, whatever the filter asks (finer sharing, such as a per-organization
//     collection, is a service's decision over the system's view).
//   - Sightings are organization data: recording one needs
//     auth.PermTriage or auth.PermSendSensor and the organization in the
//     principal's subtree; reading returns only sightings of organizations
//     in the subtree (platform-wide: all). Out-of-subtree organizations are
//     ErrNotFound.
//
// Writes of feeds, consumers and review decisions append an audit entry;
// ApplyIndicators is bulk ingestion and is audited once per run by
// RecordFeedRun instead.

// IndicatorKey names one indicator: its kind and normalized value.
type IndicatorKey struct {
	Kind  intel.Kind `json:"kind"`
	Value string     `json:"value"`
}

// StoredIndicator is an indicator with its place in the change order. Seq
// grows every time the indicator changes (a new source, a later sighting
// by a feed, a stricter marking): a reader that remembers the highest Seq
// it saw and asks for those after it misses nothing and sees nothing twice
// (TAXII added_after, blocklist and matcher updates). Modified is when it
// last changed.
type StoredIndicator struct {
	intel.Indicator
	Seq      int64     `json:"seq"`
	Created  time.Time `json:"created"`
	Modified time.Time `json:"modified"`
}

// ApplySummary is what ApplyIndicators changed.
type ApplySummary struct {
	Records   int `json:"records"`   // records applied
	New       int `json:"new"`       // indicators created
	Updated   int `json:"updated"`   // indicators that changed
	Unchanged int `json:"unchanged"` // indicators the records left as they were
	// Seq is the highest change stamp after the call (0 when nothing
	// changed and nothing was stored before).
	Seq int64 `json:"seq"`
}

// PreparedIndicators is a batch of records a store made ready to apply
// (IndicatorPreparer): checked, grouped by value and merged as if every
// value were new, work that needs no transaction.
type PreparedIndicators interface {
	// Len is the number of records.
	Len() int
}

// IndicatorPreparer is a store that splits ApplyIndicators in two, so an
// import prepares its next batch while the store writes the last one:
// ApplyPreparedIndicators(ctx, p, PrepareIndicators(p, records)) does what
// ApplyIndicators(ctx, p, records) does. A prepared batch is applied once,
// and its records are not changed until it has been.
type IndicatorPreparer interface {
	PrepareIndicators(p auth.Principal, records []intel.Record) (PreparedIndicators, error)
	ApplyPreparedIndicators(ctx context.Context, p auth.Principal, b PreparedIndicators) (ApplySummary, error)
}

// Add adds o to s.
func (s *ApplySummary) Add(o ApplySummary) {
	s.Records += o.Records
	s.New += o.New
	s.Updated += o.Updated
	s.Unchanged += o.Unchanged
	s.Seq = max(s.Seq, o.Seq)
}

// IndicatorFilter narrows ListIndicators and EachIndicator. Pages follow
// Seq: ascending by default (the page cursor is the last Seq), descending
// with Newest.
type IndicatorFilter struct {
	PageRequest
	Kind          intel.Kind
	Category      intel.Category
	Feed          string    // with a source of this feed
	Label         string    // carrying exactly this label
	Query         string    // substring of the value, case-insensitive
	MinConfidence int       // confidence at least this
	MaxTLP        intel.TLP // marked at most this ("" any the principal may see)
	Active        bool      // still valid at Now (no valid-until, or a later one)
	Now           time.Time // for Active; zero means time.Now()
	AfterSeq      int64     // changed after this stamp (Seq > AfterSeq)
	ChangedSince  time.Time // modified at or after this time
	Newest        bool      // most recently changed first
	// Sources fills Indicator.Sources (one more query per page).
	Sources bool
}

// Sighting is one organization's report of having seen an indicator.
type Sighting struct {
	IndicatorID int64     `json:"indicator_id"`
	OrgID       int64     `json:"org_id"`
	Count       int       `json:"count"`
	FirstSeen   time.Time `json:"first_seen"`
	LastSeen    time.Time `json:"last_seen"`
}

// SightingFilter narrows ListSightings; one of IndicatorID and OrgID is
// usually set.
type SightingFilter struct {
	PageRequest // cursor: the organization ID with IndicatorID, else the indicator ID
	IndicatorID int64
	OrgID       int64 // this organization's subtree
}

// Concern says that an indicator concerns an organization: an early
// warning of the organization's assets named it.
type Concern struct {
	OrgID int64        `json:"org_id"`
	Key   IndicatorKey `json:"key"`
}

// ConcernFilter narrows IndicatorsConcerning. Pages follow Seq, ascending
// (the cursor is the last Seq).
type ConcernFilter struct {
	PageRequest
	// OrgID is the organization (itself, not its descendants); required.
	OrgID        int64
	IndicatorID  int64     // only this indicator (is it one of them?)
	MaxTLP       intel.TLP // marked at most this ("" any the principal may see)
	TLP          intel.TLP // marked exactly this ("" any)
	AfterSeq     int64     // changed after this stamp
	ChangedSince time.Time // modified at or after this time
}

// Feed formats the hub knows; a TAXII feed polls a collection.
const (
	FeedSTIX         = "stix"
	FeedMISP         = "misp"
	FeedCSV          = "csv"
	FeedShadowserver = "shadowserver"
	FeedTAXII        = "taxii"
)

// FeedFormats lists the formats in the order the console offers them.
var FeedFormats = []string{FeedSTIX, FeedMISP, FeedCSV, FeedShadowserver, FeedTAXII}

// MaxFeedRejections bounds the rejections a feed keeps from its last run.
const MaxFeedRejections = 100

// Feed is one source of indicators: configured (a location polled on an
// interval) or only named by imports (no location, interval zero).
type Feed struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`   // what sources and findings name it by: "urlhaus", "misp:circl"
	Format string `json:"format"` // one of FeedFormats; "" for a feed only named by pushes
	Preset string `json:"preset,omitempty"`
	// Options are the format's own settings as JSON (a CSV column map, a
	// TAXII collection and credentials reference …).
	Options  string        `json:"options,omitempty"`
	Location string        `json:"location,omitempty"` // a file, a directory or an http(s) URL
	Interval time.Duration `json:"interval"`           // 0: run on demand only
	Enabled  bool          `json:"enabled"`
	TLP      intel.TLP     `json:"tlp"`     // the marking of records that carry none
	Analyst  string        `json:"analyst"` // who answers for the feed and reads its feedback
	// The last run.
	LastRun    *time.Time        `json:"last_run,omitempty"`
	LastOK     *time.Time        `json:"last_ok,omitempty"`
	LastError  string            `json:"last_error,omitempty"`
	Failures   int               `json:"failures"` // runs failed in a row
	Records    int               `json:"records"`
	New        int               `json:"new"`
	Updated    int               `json:"updated"`
	Rejected   int               `json:"rejected"`
	Hits       int               `json:"hits"` // early warnings reported
	Rejections []intel.Rejection `json:"rejections,omitempty"`
	// Feedback counts owners' disputes of this feed's early warnings.
	Feedback  int       `json:"feedback"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// FeedRun is the outcome of one run of a feed, for RecordFeedRun.
type FeedRun struct {
	At         time.Time // when it ended
	Err        string    // "" when it succeeded
	Records    int
	New        int
	Updated    int
	Rejected   int
	Hits       int
	Rejections []intel.Rejection // the first MaxFeedRejections are kept
}

// ReviewState is where an item of the review queue stands.
type ReviewState string

// The review states. An indicator the blocklist guard holds back waits as
// pending; approved means an analyst lets it be exported anyway, rejected
// that it stays out of every blocklist.
const (
	ReviewPending  ReviewState = "pending"
	ReviewApproved ReviewState = "approved"
	ReviewRejected ReviewState = "rejected"
)

// Review is one indicator held back from blocklists, with why.
type Review struct {
	ID          int64       `json:"id"`
	IndicatorID int64       `json:"indicator_id"`
	Kind        intel.Kind  `json:"kind"`
	Value       string      `json:"value"`
	Reason      string      `json:"reason"` // "would block MOH's portal"
	State       ReviewState `json:"state"`
	Note        string      `json:"note,omitempty"` // the decider's words
	DecidedBy   string      `json:"decided_by,omitempty"`
	DecidedAt   *time.Time  `json:"decided_at,omitempty"`
	CreatedAt   time.Time   `json:"created_at"`
	UpdatedAt   time.Time   `json:"updated_at"`
}

// ReviewFilter narrows ListReviews (newest first; cursor the last ID).
type ReviewFilter struct {
	PageRequest
	State       ReviewState
	IndicatorID int64
}

// Consumer is one blocklist consumer: a firewall, resolver or router that
// fetches lists with its own key and filters.
type Consumer struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	KeyHash string `json:"-"`                // SHA-256 (hex) of the consumer's key; the key is shown once
	OrgID   int64  `json:"org_id,omitempty"` // the member it serves, if any
	// Filters: no kinds means every kind the format can carry.
	Kinds         []intel.Kind  `json:"kinds,omitempty"`
	MinConfidence int           `json:"min_confidence"`
	MaxTLP        intel.TLP     `json:"max_tlp"`
	MaxAge        time.Duration `json:"max_age"` // last seen within; 0: any
	Formats       []string      `json:"formats,omitempty"`
	Enabled       bool          `json:"enabled"`
	LastUsedAt    *time.Time    `json:"last_used_at,omitempty"`
	CreatedAt     time.Time     `json:"created_at"`
	UpdatedAt     time.Time     `json:"updated_at"`
}

// Feedback is an owner's dispute of an early warning (a false positive
// marked or requested), kept for the analyst who answers for the feed.
type Feedback struct {
	ID        int64     `json:"id"`
	EventID   string    `json:"event_id"` // the finding event it came from; recording twice is a no-op
	Feed      string    `json:"feed"`
	FindingID int64     `json:"finding_id"`
	OrgID     int64     `json:"org_id"`
	Kind      string    `json:"kind"` // the finding kind
	Target    string    `json:"target"`
	Subject   string    `json:"subject,omitempty"`
	Action    string    `json:"action"` // false-positive, request-false-positive …
	Reason    string    `json:"reason,omitempty"`
	Actor     string    `json:"actor"`
	At        time.Time `json:"at"`
}

// Intel keeps the hub's state. Methods follow the rules above.
type Intel interface {
	// ApplyIndicators merges normalized records (intel.Record.Normalize)
	// into indicators as intel.Indicator.Merge does, in one transaction:
	// all records or none. Records of the same value merge in order; a
	// feed named by a record that is not stored yet is created (no
	// location, run on demand). Only indicators and sources that change
	// are written; each changed indicator gets a new Seq. A record that is
	// not normalized is ErrInvalid. Recipients (TLP:RED) that do not exist
	// are dropped (the record reaches fewer, never more); they are
	// returned in StoredIndicator.Recipients by every read.
	ApplyIndicators(ctx context.Context, p auth.Principal, records []intel.Record) (ApplySummary, error)
	GetIndicator(ctx context.Context, p auth.Principal, id int64) (StoredIndicator, error)
	// FindIndicator finds an indicator by kind and normalized value.
	FindIndicator(ctx context.Context, p auth.Principal, key IndicatorKey) (StoredIndicator, error)
	ListIndicators(ctx context.Context, p auth.Principal, f IndicatorFilter) (Page[StoredIndicator], error)
	// EachIndicator streams every indicator the filter selects in Seq
	// order (Limit, After and Newest are ignored), for matchers, blocklists
	// and exports. fn's error stops it and is returned.
	EachIndicator(ctx context.Context, p auth.Principal, f IndicatorFilter, fn func(StoredIndicator) error) error
	// IntelSeq returns the highest change stamp handed out.
	IntelSeq(ctx context.Context) (int64, error)

	// RecordSighting adds s.Count (at least 1) sightings by s.OrgID,
	// widening the first and last seen, and returns the stored total.
	RecordSighting(ctx context.Context, p auth.Principal, s Sighting) (Sighting, error)
	ListSightings(ctx context.Context, p auth.Principal, f SightingFilter) (Page[Sighting], error)

	// IndicatorsConcerning pages through the indicators that concern
	// one organization itself, in Seq order, with their recipients: those
	// it reported seeing (RecordSighting), those its early warnings named
	// (AddConcerns) and the TLP:RED ones naming it a recipient. It is one
	// indexed query a page, whatever the number of indicators. It needs
	// auth.PermReadFeeds and the organization in p's subtree
	// (ErrNotFound otherwise); markings are limited as for ListIndicators.
	IndicatorsConcerning(ctx context.Context, p auth.Principal, f ConcernFilter) (Page[StoredIndicator], error)
	// AddConcerns records that indicators concern organizations; a key
	// the hub holds no indicator of (a report row routed, not kept) is
	// skipped, a concern stored before changes nothing. It returns how
	// many were new. Intelligence administration only.
	AddConcerns(ctx context.Context, p auth.Principal, cs []Concern) (int, error)

	// CreateFeed stores f (Name unique: ErrConflict) and sets its ID.
	CreateFeed(ctx context.Context, p auth.Principal, f *Feed) error
	// UpdateFeed changes a feed's configuration (not its name or its run
	// results).
	UpdateFeed(ctx context.Context, p auth.Principal, f *Feed) error
	GetFeed(ctx context.Context, p auth.Principal, id int64) (Feed, error)
	GetFeedByName(ctx context.Context, p auth.Principal, name string) (Feed, error)
	// ListFeeds returns every feed by name.
	ListFeeds(ctx context.Context, p auth.Principal) ([]Feed, error)
	// DeleteFeed removes a feed that no indicator names as a source
	// (ErrConflict otherwise), with its feedback.
	DeleteFeed(ctx context.Context, p auth.Principal, id int64) error
	// RecordFeedRun stores the outcome of a run on the named feed: last
	// run, last success or error, counts, rejections, and the failures in
	// a row (reset by a success).
	RecordFeedRun(ctx context.Context, p auth.Principal, feed string, r FeedRun) (Feed, error)

	// QueueReview holds an indicator back for an analyst. An indicator
	// has one review: queuing it again with the same reason changes
	// nothing (a decision stands); with another reason it waits again as
	// pending. created reports a new or re-opened review.
	QueueReview(ctx context.Context, p auth.Principal, indicatorID int64, reason string) (r Review, created bool, err error)
	// DecideReview approves or rejects a review (pending or decided
	// before), recording who and when.
	DecideReview(ctx context.Context, p auth.Principal, id int64, approve bool, note string) (Review, error)
	GetReview(ctx context.Context, p auth.Principal, id int64) (Review, error)
	ListReviews(ctx context.Context, p auth.Principal, f ReviewFilter) (Page[Review], error)

	// CreateConsumer stores c (Name and KeyHash unique: ErrConflict).
	CreateConsumer(ctx context.Context, p auth.Principal, c *Consumer) error
	// UpdateConsumer changes name, organization, filters, formats and
	// whether it is enabled; an empty KeyHash keeps the key.
	UpdateConsumer(ctx context.Context, p auth.Principal, c *Consumer) error
	GetConsumer(ctx context.Context, p auth.Principal, id int64) (Consumer, error)
	ListConsumers(ctx context.Context, p auth.Principal) ([]Consumer, error)
	DeleteConsumer(ctx context.Context, p auth.Principal, id int64) error
	// ConsumerForKey finds an enabled consumer by its key's hash, with no
	// principal (the consumer authenticates with it); it sets LastUsedAt
	// at most once a minute. Unknown or disabled is ErrNotFound.
	ConsumerForKey(ctx context.Context, keyHash string) (Consumer, error)

	// AddFeedback stores an owner's dispute for the named feed and reports
	// whether it was new (false for an EventID seen before, or a feed that
	// no longer exists). It is the platform's own (system principal).
	AddFeedback(ctx context.Context, fb Feedback) (bool, error)
	// ListFeedback returns a feed's feedback, newest first.
	ListFeedback(ctx context.Context, p auth.Principal, feedID int64, pr PageRequest) (Page[Feedback], error)
}
