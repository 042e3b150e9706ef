package store

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/org"
)

// Channel is a way to reach an organization.
type Channel string

// The channels.
const (
	ChannelEmail   Channel = "email"   // mail to each contact
	ChannelWebhook Channel = "webhook" // a signed JSON POST to each enabled webhook
)

// DigestPeriod is how often an organization's contacts get a digest.
type DigestPeriod string

// The digest periods.
const (
	DigestDaily  DigestPeriod = "daily"
	DigestWeekly DigestPeriod = "weekly"
)

// Notification kinds: what a delivery carries and what a webhook may
// subscribe to.
const (
	NotifyDigest     = "digest"     // the periodic summary
	NotifyAlert      = "alert"      // new or reopened findings at or above the threshold, batched
	NotifyEscalation = "escalation" // overdue findings of a descendant organization
	NotifyReminder   = "reminder"   // an assessment campaign's reminder
)

// NotifyKinds lists every notification kind.
var NotifyKinds = []string{NotifyDigest, NotifyAlert, NotifyEscalation, NotifyReminder}

// NotifyPrefs is how an organization wants to hear about its findings.
// Hours and weekdays are in Vietnam's time (UTC+7, no daylight saving).
type NotifyPrefs struct {
	OrgID int64 `json:"org_id"`
	// Language is used for contacts that have none ("vi" or "en").
	Language string    `json:"language"`
	Channels []Channel `json:"channels"`
	// AlertMinSeverity is the lowest severity that alerts at once; a
	// KEV-listed finding alerts at any severity when AlertKEV is set.
	AlertMinSeverity finding.Severity `json:"alert_min_severity"`
	AlertKEV         bool             `json:"alert_kev"`
	DigestPeriod     DigestPeriod     `json:"digest_period"`
	DigestWeekday    time.Weekday     `json:"digest_weekday"` // weekly: the day it goes out
	DigestHour       int              `json:"digest_hour"`    // 0..23
	// BusinessDaysOnly sends digests Monday to Friday only; a daily digest
	// on Monday covers the weekend.
	BusinessDaysOnly bool      `json:"business_days_only"`
	UpdatedAt        time.Time `json:"updated_at,omitzero"`
}

// DefaultNotifyPrefs are the preferences of an organization that set none:
// Vietnamese, e-mail, critical or KEV-listed findings alert at once, a daily
// digest at 08:00 on business days.
func DefaultNotifyPrefs(orgID int64) NotifyPrefs {
	return NotifyPrefs{
		OrgID: orgID, Language: "vi", Channels: []Channel{ChannelEmail},
		AlertMinSeverity: finding.Critical, AlertKEV: true,
		DigestPeriod: DigestDaily, DigestWeekday: time.Monday, DigestHour: 8, BusinessDaysOnly: true,
	}
}

// Has reports whether the preferences enable channel c.
func (p NotifyPrefs) Has(c Channel) bool { return slices.Contains(p.Channels, c) }

// Validate reports the first problem, wrapped in ErrInvalid.
func (p *NotifyPrefs) Validate() error {
	p.Language = strings.ToLower(strings.TrimSpace(p.Language))
	if p.Language == "" {
		p.Language = "vi"
	}
	switch {
	case p.Language != "vi" && p.Language != "en":
		return fmt.Errorf("%w: language %q must be vi or en", ErrInvalid, p.Language)
	case !p.AlertMinSeverity.Valid():
		return fmt.Errorf("%w: alert_min_severity %q is not a severity", ErrInvalid, p.AlertMinSeverity)
	case p.DigestPeriod != DigestDaily && p.DigestPeriod != DigestWeekly:
		return fmt.Errorf("%w: digest_period %q must be daily or weekly", ErrInvalid, p.DigestPeriod)
	case p.DigestWeekday < time.Sunday || p.DigestWeekday > time.Saturday:
		return fmt.Errorf("%w: digest_weekday %d must be 0 (Sunday) to 6", ErrInvalid, p.DigestWeekday)
	case p.DigestPeriod == DigestWeekly && p.BusinessDaysOnly && (p.DigestWeekday == time.Saturday || p.DigestWeekday == time.Sunday):
		return fmt.Errorf("%w: a weekly digest on business days only must go out Monday to Friday", ErrInvalid)
	case p.DigestHour < 0 || p.DigestHour > 23:
		return fmt.Errorf("%w: digest_hour %d must be 0..23", ErrInvalid, p.DigestHour)
	}
	seen := map[Channel]bool{}
	out := []Channel{}
	for _, c := range p.Channels {
		if c != ChannelEmail && c != ChannelWebhook {
			return fmt.Errorf("%w: channel %q must be email or webhook", ErrInvalid, c)
		}
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	p.Channels = out
	return nil
}

// Webhook is an HTTP endpoint of an organization that receives signed
// notifications. Secret keys the HMAC-SHA256 signature of each body; the
// tenancy-scoped reads return it empty (it is write-only through the API),
// NotifyTargets returns it for the notifier.
type Webhook struct {
	ID        int64     `json:"id"`
	OrgID     int64     `json:"org_id"`
	URL       string    `json:"url"`
	Secret    string    `json:"secret,omitempty"`
	Enabled   bool      `json:"enabled"`
	Events    []string  `json:"events"` // NotifyKinds it receives; empty: all
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Wants reports whether the webhook receives notifications of kind.
func (w Webhook) Wants(kind string) bool {
	return w.Enabled && (len(w.Events) == 0 || slices.Contains(w.Events, kind))
}

// Validate reports the first problem, wrapped in ErrInvalid.
func (w *Webhook) Validate() error {
	w.URL = strings.TrimSpace(w.URL)
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: webhook url %q must be an http or https URL", ErrInvalid, w.URL)
	}
	if len(w.Secret) < 16 {
		return fmt.Errorf("%w: webhook secret must be at least 16 characters", ErrInvalid)
	}
	if w.Events == nil {
		w.Events = []string{}
	}
	for _, e := range w.Events {
		if !slices.Contains(NotifyKinds, e) {
			return fmt.Errorf("%w: webhook event %q must be one of %s", ErrInvalid, e, strings.Join(NotifyKinds, ", "))
		}
	}
	return nil
}

// DeliveryState is where a delivery is.
type DeliveryState string

// The delivery states.
const (
	DeliveryPending DeliveryState = "pending" // to be sent, or to be retried at NextAttemptAt
	DeliverySent    DeliveryState = "sent"    // accepted by the mail server or the webhook (2xx)
	DeliveryFailed  DeliveryState = "failed"  // gave up after the last attempt; stays visible
)

// Delivery is one message to one recipient on one channel, and what
// became of it. Key is unique: enqueuing the same key twice stores it
// once, and it is the idempotency key webhooks receive.
type Delivery struct {
	ID        int64   `json:"id"`
	Key       string  `json:"key"`
	OrgID     int64   `json:"org_id"` // whose notification it is (the recipient's organization)
	Kind      string  `json:"kind"`   // NotifyDigest, NotifyAlert, NotifyEscalation
	Channel   Channel `json:"channel"`
	ContactID int64   `json:"contact_id,omitempty"`
	WebhookID int64   `json:"webhook_id,omitempty"`
	Recipient string  `json:"recipient"` // the e-mail address or the URL
	Subject   string  `json:"subject"`
	// Payload is what is sent, opaque to the store: the rendered mail, or
	// the exact webhook body (so every retry signs the same bytes).
	Payload       json.RawMessage `json:"payload,omitempty"`
	State         DeliveryState   `json:"state"`
	Attempts      int             `json:"attempts"`
	NextAttemptAt *time.Time      `json:"next_attempt_at,omitempty"`
	LastError     string          `json:"last_error,omitempty"`
	CreatedAt     time.Time       `json:"created_at"`
	UpdatedAt     time.Time       `json:"updated_at"`
	SentAt        *time.Time      `json:"sent_at,omitempty"`
}

// DeliveryAttempt is one try to send a delivery.
type DeliveryAttempt struct {
	ID         int64     `json:"id"`
	DeliveryID int64     `json:"delivery_id"`
	Attempt    int       `json:"attempt"` // 1, 2, ...
	At         time.Time `json:"at"`
	OK         bool      `json:"ok"`
	Error      string    `json:"error,omitempty"`
}

// DeliveryFilter narrows ListDeliveries.
type DeliveryFilter struct {
	PageRequest
	OrgID   int64 // this organization's subtree
	State   DeliveryState
	Kind    string
	Channel Channel
}

// DigestSection is the part of a digest a finding is listed in; each
// finding is listed once, in the first section that applies, in this
// order: fixed, reopened, new, overdue, due soon.
type DigestSection string

// The digest sections.
const (
	SectionFixed    DigestSection = "fixed"    // fixed inside the window
	SectionReopened DigestSection = "reopened" // reopened inside the window, still active
	SectionNew      DigestSection = "new"      // first seen inside the window, still active
	SectionOverdue  DigestSection = "overdue"  // active and past due
	SectionDueSoon  DigestSection = "due-soon" // active and due before DueBefore
)

// DigestSections lists the sections in the order a digest shows them.
var DigestSections = []DigestSection{SectionNew, SectionReopened, SectionOverdue, SectionDueSoon, SectionFixed}

// DigestQuery asks what a digest of one organization's subtree lists for
// the window (Since, Now].
type DigestQuery struct {
	OrgID     int64
	Since     time.Time
	Now       time.Time
	DueBefore time.Time // due soon: active, not overdue, due at or before this
	Limit     int       // findings listed per section (most severe first); counts are complete
}

// DigestFindings is the answer to a DigestQuery.
type DigestFindings struct {
	Items  map[DigestSection][]Finding `json:"items"`
	Counts map[DigestSection]int       `json:"counts"`
	// Orgs are the organizations of the listed findings (ID, code and
	// names), so a digest of a subtree says whose each finding is.
	Orgs map[int64]org.Organization `json:"orgs"`
}

// Total is the number of findings over every section.
func (d DigestFindings) Total() int {
	n := 0
	for _, c := range d.Counts {
		n += c
	}
	return n
}

// NotifyTarget is an organization that can be notified: its preferences
// (defaults when it set none), contacts and webhooks (secrets included).
type NotifyTarget struct {
	Org      org.Organization `json:"org"`
	Prefs    NotifyPrefs      `json:"prefs"`
	Contacts []org.Contact    `json:"contacts"`
	Webhooks []Webhook        `json:"webhooks"`
}

// DigestMark is what was last sent to one digest recipient ("contact:12",
// "webhook:3"): the period's key and the end of the window it covered, the
// start of the next window.
type DigestMark struct {
	Recipient string    `json:"recipient"`
	Period    string    `json:"period"`
	WindowEnd time.Time `json:"window_end"`
}

// EscalationCandidate is an active overdue finding with its organization
// (whose Path gives the ancestors to escalate to) and the highest
// escalation level already recorded for its current due date (0: none).
type EscalationCandidate struct {
	Finding Finding          `json:"finding"`
	Org     org.Organization `json:"org"`
	Level   int              `json:"level"`
}

// EscalationStep records that a finding, overdue since DueAt, was reported
// to the organization Level steps above its own (1: the parent).
type EscalationStep struct {
	FindingID int64     `json:"finding_id"`
	DueAt     time.Time `json:"due_at"`
	Level     int       `json:"level"`
	OrgID     int64     `json:"org_id"` // the organization told
	At        time.Time `json:"at"`
}

// Notifications keeps notification preferences, webhooks, the delivery
// log and the notifier's bookkeeping (digest marks, escalation steps).
//
// The preference, webhook and log methods follow tenancy: reads need
// auth.PermReadRegistry and see the principal's subtree; changes need
// auth.PermWriteAssets (like contacts) and append audit entries (a
// webhook's secret never enters the audit log). The rest are the
// platform's own (the notifier, acting as the system) and take no
// principal.
//
// Nothing in the delivery log is deleted: a delivery ends sent or failed
// and every attempt is kept.
type Notifications interface {
	// GetNotifyPrefs returns the organization's preferences, or the
	// defaults when it set none.
	GetNotifyPrefs(ctx context.Context, p auth.Principal, orgID int64) (NotifyPrefs, error)
	// SetNotifyPrefs validates and stores the preferences of np.OrgID.
	SetNotifyPrefs(ctx context.Context, p auth.Principal, np *NotifyPrefs) error

	// CreateWebhook validates and stores w, setting ID and times.
	CreateWebhook(ctx context.Context, p auth.Principal, w *Webhook) error
	// ListWebhooks returns the organization's webhooks, secrets blanked.
	ListWebhooks(ctx context.Context, p auth.Principal, orgID int64) ([]Webhook, error)
	// UpdateWebhook changes URL, events, enabled and, when w.Secret is
	// not empty, the secret. The organization cannot change.
	UpdateWebhook(ctx context.Context, p auth.Principal, w *Webhook) error
	DeleteWebhook(ctx context.Context, p auth.Principal, id int64) error

	// ListDeliveries returns the delivery log of the principal's subtree,
	// newest first (keyset on descending ID). Payloads are left out.
	ListDeliveries(ctx context.Context, p auth.Principal, f DeliveryFilter) (Page[Delivery], error)
	// DeliveryAttempts returns every attempt of one delivery, oldest first.
	DeliveryAttempts(ctx context.Context, p auth.Principal, deliveryID int64) ([]DeliveryAttempt, error)

	// NotifyTargets returns every organization that has contacts or
	// webhooks, in ID order, with preferences, contacts and webhooks.
	NotifyTargets(ctx context.Context) ([]NotifyTarget, error)
	// DigestFindings lists what a digest of q.OrgID's subtree shows.
	DigestFindings(ctx context.Context, q DigestQuery) (DigestFindings, error)
	// DigestMark returns the last digest sent to recipient, or the zero
	// mark (empty Period) if none was.
	DigestMark(ctx context.Context, recipient string) (DigestMark, error)
	// MarkDigest records m and enqueues ds (possibly none: an empty
	// digest is recorded but not sent) in one transaction, unless the
	// recipient's mark already has m.Period: then it stores nothing and
	// returns false. That makes a digest period go out once, even with
	// several notifiers running.
	MarkDigest(ctx context.Context, m DigestMark, ds []*Delivery) (bool, error)

	// EnqueueDeliveries stores new deliveries as pending, due at their
	// NextAttemptAt (nil: now), setting ID, State and times. A delivery
	// whose Key is already stored is skipped and keeps ID 0.
	EnqueueDeliveries(ctx context.Context, ds []*Delivery) error
	// DueDeliveries returns up to limit pending deliveries due at now,
	// oldest due first, with payloads.
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]Delivery, error)
	// ClaimDelivery takes a due pending delivery for one attempt: it
	// counts the attempt and moves NextAttemptAt to leaseUntil, so a
	// sender that dies mid-send leaves the delivery to be retried once the
	// lease ends (at-least-once). It returns false when the delivery is
	// no longer pending and due (someone else claimed it).
	ClaimDelivery(ctx context.Context, id int64, now, leaseUntil time.Time) (Delivery, bool, error)
	// RecordAttempt logs the outcome of attempt a and moves the delivery
	// to state: sent, pending again at next (a retry), or failed.
	RecordAttempt(ctx context.Context, a DeliveryAttempt, state DeliveryState, next *time.Time) error

	// EscalationCandidates returns active findings due at or before
	// dueBefore, in ID order.
	EscalationCandidates(ctx context.Context, dueBefore time.Time) ([]EscalationCandidate, error)
	// RecordEscalation stores the steps and enqueues ds in one
	// transaction. If any step is already recorded it stores nothing and
	// returns false (another notifier did it).
	RecordEscalation(ctx context.Context, steps []EscalationStep, ds []*Delivery) (bool, error)
}

// QueuedAlert is one alert-worthy finding change waiting, for one
// recipient, for that recipient's batch to go out. Its Change reads back
// with what an alert shows and what its EventID is made of (kind, time,
// action; the finding's ID, key, organization, check, severity, target,
// title, CVE, KEV, state, due date); the store need not keep the rest
// (evidence, first and last seen).
type QueuedAlert struct {
	ID        int64         `json:"id"`
	Recipient string        `json:"recipient"` // "contact:12", "webhook:3"
	OrgID     int64         `json:"org_id"`    // the recipient's organization
	EventID   string        `json:"event_id"`  // Change.EventID(): queuing the same event twice stores it once
	Change    FindingChange `json:"change"`
	QueuedAt  time.Time     `json:"queued_at"` // the notifier's clock
}

// AlertQueue keeps the notifier's alert batches in the database, so an
// event acknowledged on the queue is never lost to a crash before its
// alert goes out. The platform's own (no tenancy).
type AlertQueue interface {
	// QueueAlerts stores alerts in one transaction and returns how many
	// were new: an alert whose (Recipient, EventID) is stored already,
	// waiting or sent, is skipped.
	QueueAlerts(ctx context.Context, alerts []QueuedAlert) (int, error)
	// DueAlerts returns the waiting alerts of every recipient whose oldest
	// waiting alert was queued at or before firstBefore, ordered by
	// recipient, then ID.
	DueAlerts(ctx context.Context, firstBefore time.Time) ([]QueuedAlert, error)
	// SendAlerts marks the alerts ids sent at now and enqueues ds (none:
	// the recipient is gone and the alerts are dropped) in one
	// transaction, unless one of them is no longer waiting (another
	// notifier sent it): then it stores nothing and returns false.
	SendAlerts(ctx context.Context, ids []int64, ds []*Delivery, now time.Time) (bool, error)
	// PruneAlerts deletes alerts sent before before, and returns how
	// many. Keep them as long as the events stream keeps events, so a
	// redelivered event still finds its alert sent.
	PruneAlerts(ctx context.Context, before time.Time) (int, error)
}
