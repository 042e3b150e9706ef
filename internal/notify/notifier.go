package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/events"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/queue"
	"github.com/rampart-cert/rampart/internal/store"
)

// Store is what the notifier needs from the state. When it also
// implements store.Deadlines, Run emits the deadline events on each tick.
type Store interface {
	store.Notifications
	store.AlertQueue
}

// Options configure a Notifier. Zero values take the defaults noted.
type Options struct {
	Mailer     Mailer       // nil: e-mail deliveries fail (and are retried) until one is set
	HTTPClient *http.Client // webhooks; nil: a client with a 10s timeout that does not follow redirects
	ConsoleURL string       // linked from messages; empty: no link
	Logger     *slog.Logger
	Now        func() time.Time // the clock; nil: time.Now
	// Reports renders an organization's report as PDF; when set, weekly
	// digests and Monday's daily digest carry it (see ReportPDFs).
	Reports ReportSource

	Tick          time.Duration // how often Run works; 0: 30s
	AlertWindow   time.Duration // alerts batch this long per recipient; 0: 1 minute
	EscalateAfter int           // days overdue before the parent hears, and between levels; 0: 14
	DueSoon       time.Duration // "due soon" horizon of digests; 0: 7 days
	ListLimit     int           // findings listed per digest section; 0: 50

	MaxAttempts int           // attempts before a delivery is failed; 0: 6
	RetryBase   time.Duration // wait after the first failure, doubling; 0: 1 minute
	RetryMax    time.Duration // longest wait between attempts; 0: 1 hour
	Lease       time.Duration // how long a claimed delivery is held before it is retried; 0: 10 minutes
}

func (o *Options) defaults() {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Tick, 30*time.Second)
	def(&o.AlertWindow, time.Minute)
	def(&o.DueSoon, 7*24*time.Hour)
	def(&o.RetryBase, time.Minute)
	def(&o.RetryMax, time.Hour)
	def(&o.Lease, 10*time.Minute)
	if o.EscalateAfter <= 0 {
		o.EscalateAfter = 14
	}
	if o.ListLimit <= 0 {
		o.ListLimit = 50
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 6
	}
}

// Notifier sends digests, alerts and escalations and retries deliveries.
// Its methods are safe for concurrent use; several notifiers may share a
// store (digest periods and escalation steps are claimed in the store,
// deliveries are leased).
type Notifier struct {
	st   Store
	opts Options

	// targets caches NotifyTargets for HandleChanges, which runs for
	// every batch of events.
	mu        sync.Mutex
	targets   map[int64]store.NotifyTarget // by organization
	targetsAt time.Time                    // when loaded, by the wall clock

	wake chan struct{} // Run delivers at once (Remind)
}

// New returns a notifier over st.
func New(st Store, o Options) *Notifier {
	o.defaults()
	return &Notifier{st: st, opts: o, wake: make(chan struct{}, 1)}
}

// Run works every Options.Tick until ctx ends: flushes alert batches,
// sends due digests and escalations, retries deliveries; between ticks it
// delivers what Remind enqueues at once. Errors are logged, never fatal.
// It returns ctx's error.
func (n *Notifier) Run(ctx context.Context) error {
	t := time.NewTicker(n.opts.Tick)
	defer t.Stop()
	for {
		n.tick(ctx)
	wait:
		for {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
				break wait
			case <-n.wake:
				if err := n.Retry(ctx, n.opts.Now()); err != nil && ctx.Err() == nil {
					n.opts.Logger.Error("notify: retries", "err", err)
				}
			}
		}
	}
}

func (n *Notifier) tick(ctx context.Context) {
	now := n.opts.Now()
	steps := []struct {
		name string
		fn   func(context.Context, time.Time) error
	}{{"alerts", n.FlushAlerts}, {"digests", n.SendDue}, {"escalations", n.Escalate}, {"retries", n.Retry}, {"alert pruning", n.pruneAlerts}}
	if d, ok := n.st.(store.Deadlines); ok {
		// Deadline events go out through the outbox like every finding
		// event; they feed the consumers, not this notifier's alerts.
		mark := func(ctx context.Context, now time.Time) error { _, err := d.MarkDeadlines(ctx, now); return err }
		steps = append([]struct {
			name string
			fn   func(context.Context, time.Time) error
		}{{"deadlines", mark}}, steps...)
	}
	for _, step := range steps {
		if err := step.fn(ctx, now); err != nil && ctx.Err() == nil {
			n.opts.Logger.Error("notify: "+step.name, "err", err)
		}
	}
}

// SendDigestsNow sends the digests due now (rampart notify digest --now).
func (n *Notifier) SendDigestsNow(ctx context.Context) error {
	return n.SendDue(ctx, n.opts.Now())
}

// recipients of one kind in a target: its contacts (e-mail channel) and
// webhooks subscribed to kind (webhook channel).
func recipients(t store.NotifyTarget, kind string) (contacts []org.Contact, hooks []store.Webhook) {
	if t.Prefs.Has(store.ChannelEmail) {
		for _, c := range t.Contacts {
			if c.Email != "" {
				contacts = append(contacts, c)
			}
		}
	}
	if t.Prefs.Has(store.ChannelWebhook) {
		for _, w := range t.Webhooks {
			if w.Wants(kind) {
				hooks = append(hooks, w)
			}
		}
	}
	return contacts, hooks
}

func contactLang(t store.NotifyTarget, c org.Contact) string {
	if c.Language == "vi" || c.Language == "en" {
		return c.Language
	}
	return lang(t.Prefs.Language)
}

func contactKey(c org.Contact) string   { return "contact:" + strconv.FormatInt(c.ID, 10) }
func webhookKey(w store.Webhook) string { return "webhook:" + strconv.FormatInt(w.ID, 10) }

// SendDue sends every digest due at now that was not sent for its period
// yet, then delivers what is due. Calling it again in the same period
// sends nothing.
func (n *Notifier) SendDue(ctx context.Context, now time.Time) error {
	targets, err := n.st.NotifyTargets(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, t := range targets {
		if err := n.digestTarget(ctx, t, now); err != nil {
			errs = append(errs, fmt.Errorf("digest %s: %w", t.Org.Code, err))
		}
	}
	errs = append(errs, n.Retry(ctx, now))
	return errors.Join(errs...)
}

func (n *Notifier) digestTarget(ctx context.Context, t store.NotifyTarget, now time.Time) error {
	contacts, hooks := recipients(t, store.NotifyDigest)
	if len(contacts)+len(hooks) == 0 {
		return nil
	}
	period, _, ok := duePeriod(t.Prefs, now, "en")
	if !ok {
		return nil
	}
	// One query per window: recipients added later have a different
	// window start, so cache by it.
	cache := map[time.Time]store.DigestFindings{}
	findings := func(since time.Time) (store.DigestFindings, error) {
		if d, ok := cache[since]; ok {
			return d, nil
		}
		d, err := n.st.DigestFindings(ctx, store.DigestQuery{OrgID: t.Org.ID, Since: since, Now: now, DueBefore: now.Add(n.opts.DueSoon), Limit: n.opts.ListLimit})
		if err == nil {
			cache[since] = d
		}
		return d, err
	}
	// A digest that carries the report goes out even with nothing to list.
	withReport := n.reportDue(t, now)
	pdfs := map[string]*Attachment{} // by language; nil: no report
	one := func(recipient string, always bool, build func(d store.DigestFindings) (*store.Delivery, error)) error {
		mark, err := n.st.DigestMark(ctx, recipient)
		if err != nil || mark.Period == period {
			return err
		}
		since := firstWindowStart(t.Prefs, now)
		if mark.Period != "" && mark.WindowEnd.Before(now) {
			since = mark.WindowEnd
		}
		d, err := findings(since.UTC().Truncate(time.Microsecond))
		if err != nil {
			return err
		}
		var ds []*store.Delivery
		if d.Total() > 0 || always {
			dl, err := build(d)
			if err != nil {
				return err
			}
			ds = append(ds, dl)
		}
		_, err = n.st.MarkDigest(ctx, store.DigestMark{Recipient: recipient, Period: period, WindowEnd: now}, ds)
		return err
	}
	var errs []error
	for _, c := range contacts {
		errs = append(errs, one(contactKey(c), withReport, func(d store.DigestFindings) (*store.Delivery, error) {
			l := contactLang(t, c)
			_, label, _ := duePeriod(t.Prefs, now, l)
			var pdf *Attachment
			if withReport {
				var ok bool
				if pdf, ok = pdfs[l]; !ok {
					pdf = n.reportAttachment(ctx, t, l, period, now)
					pdfs[l] = pdf
				}
			}
			m, err := n.digestMail(t, c, l, label, d, pdf, now)
			if err != nil {
				return nil, err
			}
			key := "digest/" + contactKey(c) + "/" + period
			return n.mailDelivery(key, store.NotifyDigest, t.Org.ID, c, m, now)
		}))
	}
	for _, w := range hooks {
		errs = append(errs, one(webhookKey(w), false, func(d store.DigestFindings) (*store.Delivery, error) {
			key := "digest/" + webhookKey(w) + "/" + period
			ev := event{Event: store.NotifyDigest, Period: period, Counts: map[string]int{}}
			for s, c := range d.Counts {
				ev.Counts[string(s)] = c
			}
			for _, s := range store.DigestSections {
				for _, f := range d.Items[s] {
					ev.Findings = append(ev.Findings, eventFinding(f, string(s)))
				}
			}
			return n.hookDelivery(key, t, w, ev, now)
		}))
	}
	return errors.Join(errs...)
}

func (n *Notifier) digestMail(t store.NotifyTarget, c org.Contact, l, label string, d store.DigestFindings, pdf *Attachment, now time.Time) (Mail, error) {
	name := orgName(t.Org, l)
	v := view{Lang: l, Title: tr(l, "digest.title"), Greeting: tr(l, "greeting", c.Name), Intro: tr(l, "digest.intro", name, label)}
	if pdf != nil {
		v.Details = []string{tr(l, "report.attached", name, pdf.Name)}
	}
	for _, s := range store.DigestSections {
		if d.Counts[s] == 0 {
			continue
		}
		vs := viewSection{Title: tr(l, "section."+string(s)), Count: d.Counts[s]}
		for _, f := range d.Items[s] {
			orgLabel := ""
			if f.OrgID != t.Org.ID {
				if o, ok := d.Orgs[f.OrgID]; ok {
					orgLabel = orgName(o, l) + " (" + o.Code + ")"
				} else {
					orgLabel = tr(l, "org") + " #" + strconv.FormatInt(f.OrgID, 10)
				}
			}
			vs.Items = append(vs.Items, item(l, f, now, orgLabel))
		}
		if more := d.Counts[s] - len(d.Items[s]); more > 0 {
			vs.More = tr(l, "more", more)
		}
		v.Sections = append(v.Sections, vs)
	}
	v.Summary = tr(l, "summary.counts", d.Total())
	if d.Total() == 0 {
		v.Summary = tr(l, "summary.none")
	}
	v.Footer, v.Link = footer(l, n.opts.ConsoleURL)
	m, err := render(tr(l, "digest.subject", name, label), v)
	if pdf != nil {
		m.Attachments = []Attachment{*pdf}
	}
	return m, err
}

// event is the JSON body of a webhook.
type event struct {
	ID        string         `json:"id"`
	Event     string         `json:"event"`
	CreatedAt time.Time      `json:"created_at"`
	Org       eventOrg       `json:"org"`
	Period    string         `json:"period,omitempty"`
	Counts    map[string]int `json:"counts,omitempty"`
	Findings  []eventItem    `json:"findings"`
}

type eventOrg struct {
	ID     int64  `json:"id"`
	Code   string `json:"code"`
	Name   string `json:"name"`
	NameEN string `json:"name_en"`
}

type eventItem struct {
	ID       int64      `json:"id"`
	OrgID    int64      `json:"org_id"`
	Section  string     `json:"section,omitempty"` // digest section, alert change kind or escalation level
	Check    string     `json:"check"`
	Severity string     `json:"severity"`
	Title    string     `json:"title"`
	Target   string     `json:"target"`
	State    string     `json:"state"`
	KEV      bool       `json:"kev"`
	CVE      []string   `json:"cve"`
	DueAt    *time.Time `json:"due_at,omitempty"`
}

func eventFinding(f store.Finding, section string) eventItem {
	cve := f.CVE
	if cve == nil {
		cve = []string{}
	}
	return eventItem{ID: f.ID, OrgID: f.OrgID, Section: section, Check: f.Check, Severity: string(f.Severity), Title: f.Title,
		Target: f.Target, State: string(f.State), KEV: f.KEV, CVE: cve, DueAt: f.DueAt}
}

// messageID is a stable Message-ID for a delivery key, so a resent mail
// is recognisably the same message.
func messageID(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:12]) + "@rampart"
}

// mailDelivery makes the delivery of m to c, due at now (the notifier's
// clock, not the store's).
func (n *Notifier) mailDelivery(key, kind string, orgID int64, c org.Contact, m Mail, now time.Time) (*store.Delivery, error) {
	m.To, m.ToName, m.MessageID = c.Email, c.Name, messageID(key)
	payload, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return &store.Delivery{Key: key, OrgID: orgID, Kind: kind, Channel: store.ChannelEmail, ContactID: c.ID,
		Recipient: c.Email, Subject: m.Subject, Payload: payload, NextAttemptAt: &now}, nil
}

func (n *Notifier) hookDelivery(key string, t store.NotifyTarget, w store.Webhook, ev event, now time.Time) (*store.Delivery, error) {
	ev.ID, ev.CreatedAt = key, now.UTC()
	ev.Org = eventOrg{ID: t.Org.ID, Code: t.Org.Code, Name: t.Org.Name, NameEN: t.Org.NameEN}
	if ev.Findings == nil {
		ev.Findings = []eventItem{}
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	return &store.Delivery{Key: key, OrgID: t.Org.ID, Kind: ev.Event, Channel: store.ChannelWebhook, WebhookID: w.ID,
		Recipient: w.URL, Subject: ev.Event + " " + t.Org.Code, Payload: body, NextAttemptAt: &now}, nil
}

// alerts reports whether a change alerts at once under prefs.
func alerts(p store.NotifyPrefs, c store.FindingChange) bool {
	if c.Kind != store.ChangeNew && c.Kind != store.ChangeReopened {
		return false
	}
	return c.Finding.Severity.AtLeast(p.AlertMinSeverity) || (p.AlertKEV && c.Finding.KEV)
}

// Durable is the name of the notifier's consumer of finding events.
// Notifiers sharing it (several serve processes) share the work.
const Durable = "notifier"

// Consume takes finding events from q on the durable consumer Durable
// until ctx ends or the consumer is stopped: HandleChanges stores the
// alert-worthy ones before each is acknowledged, in batches.
func (n *Notifier) Consume(ctx context.Context, q queue.Queue) (queue.Consumer, error) {
	// An alert lists findings: the brief changes carry all it shows.
	return events.ConsumeFindingBatches(ctx, q, events.ConsumeOptions{Durable: Durable, Brief: true, Logger: n.opts.Logger}, n.HandleChanges)
}

// targetsTTL is how long HandleChanges trusts its copy of the
// organizations' preferences, contacts and webhooks.
const targetsTTL = 5 * time.Second

// notifyTargets returns the notify targets by organization, from a copy
// at most targetsTTL old.
func (n *Notifier) notifyTargets(ctx context.Context) (map[int64]store.NotifyTarget, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.targets != nil && time.Since(n.targetsAt) < targetsTTL {
		return n.targets, nil
	}
	targets, err := n.st.NotifyTargets(ctx)
	if err != nil {
		return nil, err
	}
	byOrg := make(map[int64]store.NotifyTarget, len(targets))
	for _, t := range targets {
		byOrg[t.Org.ID] = t
	}
	n.targets, n.targetsAt = byOrg, time.Now()
	return byOrg, nil
}

// HandleChanges queues, in the store, the changes that alert at once,
// one per recipient (contact or webhook), keyed by the change's EventID so
// a redelivered event adds nothing; FlushAlerts (or Run) sends them
// batched per recipient. It returns only once they are stored: it is the
// handler of the notifier's events consumer, which acknowledges an event
// after it returns nil, so an alert survives a crash at any point.
func (n *Notifier) HandleChanges(ctx context.Context, changes []store.FindingChange) error {
	var byOrg map[int64]store.NotifyTarget
	now := n.opts.Now()
	var queued []store.QueuedAlert
	for _, ch := range changes {
		if ch.Kind != store.ChangeNew && ch.Kind != store.ChangeReopened {
			continue
		}
		if byOrg == nil {
			var err error
			if byOrg, err = n.notifyTargets(ctx); err != nil {
				return fmt.Errorf("notify: alerts: %w", err)
			}
		}
		t, ok := byOrg[ch.Finding.OrgID]
		if !ok || !alerts(t.Prefs, ch) {
			continue
		}
		contacts, hooks := recipients(t, store.NotifyAlert)
		// An alert lists the finding, never its evidence: leave it out of
		// the stored change (it may be large).
		ch.Finding.Evidence = nil
		id := ch.EventID()
		add := func(key string) {
			queued = append(queued, store.QueuedAlert{Recipient: key, OrgID: t.Org.ID, EventID: id, Change: ch, QueuedAt: now})
		}
		for _, c := range contacts {
			add(contactKey(c))
		}
		for _, w := range hooks {
			add(webhookKey(w))
		}
	}
	if _, err := n.st.QueueAlerts(ctx, queued); err != nil {
		return fmt.Errorf("notify: alerts: %w", err)
	}
	return nil
}

// alertRetention is how long sent alerts stay in the store to deduplicate
// redelivered events: longer than the events stream keeps them.
const alertRetention = 8 * 24 * time.Hour

func (n *Notifier) pruneAlerts(ctx context.Context, now time.Time) error {
	_, err := n.st.PruneAlerts(ctx, now.Add(-alertRetention))
	return err
}

// recipient is one contact or webhook of a target.
type recipient struct {
	target  store.NotifyTarget
	contact *org.Contact
	webhook *store.Webhook
}

// FlushAlerts sends every alert batch whose oldest finding was queued at
// least Options.AlertWindow before now: one message per recipient, with
// each finding once (its latest change). The batch is marked sent in the
// transaction that enqueues its delivery, so it goes out once, even with
// several notifiers. The alerts of a recipient that no longer takes
// alerts (removed, disabled, channel turned off) are dropped.
func (n *Notifier) FlushAlerts(ctx context.Context, now time.Time) error {
	due, err := n.st.DueAlerts(ctx, now.Add(-n.opts.AlertWindow))
	if err != nil || len(due) == 0 {
		return err
	}
	targets, err := n.st.NotifyTargets(ctx)
	if err != nil {
		return err
	}
	byKey := map[string]recipient{}
	for _, t := range targets {
		contacts, hooks := recipients(t, store.NotifyAlert)
		for i := range contacts {
			byKey[contactKey(contacts[i])] = recipient{target: t, contact: &contacts[i]}
		}
		for i := range hooks {
			byKey[webhookKey(hooks[i])] = recipient{target: t, webhook: &hooks[i]}
		}
	}
	var errs []error
	for start := 0; start < len(due); {
		end := start + 1
		for end < len(due) && due[end].Recipient == due[start].Recipient {
			end++
		}
		if err := n.sendBatch(ctx, due[start:end], byKey, now); err != nil {
			errs = append(errs, err)
		}
		start = end
	}
	return errors.Join(append(errs, n.Retry(ctx, now))...)
}

// sendBatch turns one recipient's waiting alerts into one delivery.
func (n *Notifier) sendBatch(ctx context.Context, batch []store.QueuedAlert, byKey map[string]recipient, now time.Time) error {
	key := batch[0].Recipient
	ids := make([]int64, len(batch))
	first := batch[0].QueuedAt
	latest := map[int64]store.FindingChange{} // by finding: the last change queued wins
	for i, a := range batch {
		ids[i] = a.ID
		if a.QueuedAt.Before(first) {
			first = a.QueuedAt
		}
		latest[a.Change.Finding.ID] = a.Change
	}
	r, ok := byKey[key]
	if !ok {
		n.opts.Logger.Warn("notify: alerts dropped: the recipient no longer takes alerts", "recipient", key, "alerts", len(batch))
		_, err := n.st.SendAlerts(ctx, ids, nil, now)
		return err
	}
	fs := make([]store.Finding, 0, len(latest))
	kinds := map[int64]store.ChangeKind{}
	for id, ch := range latest {
		fs = append(fs, ch.Finding)
		kinds[id] = ch.Kind
	}
	slices.SortFunc(fs, severityFirst)
	// The key names the batch by its recipient, its start and its first
	// alert, so the same batch always makes the same delivery.
	dkey := "alert/" + key + "/" + first.UTC().Format("20060102T150405.000000000") + "-" + strconv.FormatInt(batch[0].ID, 10)
	var (
		d   *store.Delivery
		err error
	)
	if r.contact != nil {
		l := contactLang(r.target, *r.contact)
		name := orgName(r.target.Org, l)
		v := view{Lang: l, Title: tr(l, "alert.title"), Greeting: tr(l, "greeting", r.contact.Name), Intro: tr(l, "alert.intro", name)}
		vs := viewSection{Count: len(fs)}
		for _, f := range fs {
			sec := tr(l, "section.new")
			if kinds[f.ID] == store.ChangeReopened {
				sec = tr(l, "section.reopened")
			}
			it := item(l, f, now, "")
			it.Notes = append([]string{sec}, it.Notes...)
			vs.Items = append(vs.Items, it)
		}
		vs.Title = tr(l, "alert.title")
		v.Sections = []viewSection{vs}
		v.Footer, v.Link = footer(l, n.opts.ConsoleURL)
		var m Mail
		m, err = render(tr(l, "alert.subject", alertCount(fs), name), v)
		if err == nil {
			d, err = n.mailDelivery(dkey, store.NotifyAlert, r.target.Org.ID, *r.contact, m, now)
		}
	} else {
		ev := event{Event: store.NotifyAlert}
		for _, f := range fs {
			ev.Findings = append(ev.Findings, eventFinding(f, string(kinds[f.ID])))
		}
		d, err = n.hookDelivery(dkey, r.target, *r.webhook, ev, now)
	}
	if err != nil {
		return err
	}
	_, err = n.st.SendAlerts(ctx, ids, []*store.Delivery{d}, now)
	return err
}

// ancestors returns the IDs of the organizations above the one with path
// p, nearest first ("/1/7/42/" gives 7, 1).
func ancestors(p string) []int64 {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	var out []int64
	for i := len(parts) - 2; i >= 0; i-- {
		if id, err := strconv.ParseInt(parts[i], 10, 64); err == nil {
			out = append(out, id)
		}
	}
	return out
}

// escalated is one finding to report to one ancestor.
type escalated struct {
	c     store.EscalationCandidate
	level int
}

// Escalate reports findings overdue by EscalateAfter days to their
// parent's contacts, by twice that to the grandparent's, and so on; each
// level once per overdue episode. An ancestor without contacts or webhooks
// still has its step recorded (the log then shows nobody was told).
func (n *Notifier) Escalate(ctx context.Context, now time.Time) error {
	step := time.Duration(n.opts.EscalateAfter) * 24 * time.Hour
	cands, err := n.st.EscalationCandidates(ctx, now.Add(-step))
	if err != nil || len(cands) == 0 {
		return err
	}
	byAncestor := map[int64][]escalated{}
	for _, c := range cands {
		if c.Finding.DueAt == nil {
			continue
		}
		up := ancestors(c.Org.Path)
		level := min(int(now.Sub(*c.Finding.DueAt)/step), len(up))
		for l := c.Level + 1; l <= level; l++ {
			byAncestor[up[l-1]] = append(byAncestor[up[l-1]], escalated{c: c, level: l})
		}
	}
	if len(byAncestor) == 0 {
		return nil
	}
	targets, err := n.st.NotifyTargets(ctx)
	if err != nil {
		return err
	}
	byOrg := make(map[int64]store.NotifyTarget, len(targets))
	for _, t := range targets {
		byOrg[t.Org.ID] = t
	}
	ids := make([]int64, 0, len(byAncestor))
	for id := range byAncestor {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var errs []error
	for _, anc := range ids {
		items := byAncestor[anc]
		t, ok := byOrg[anc]
		if !ok {
			t = store.NotifyTarget{Org: org.Organization{ID: anc}, Prefs: store.DefaultNotifyPrefs(anc)}
		}
		steps := make([]store.EscalationStep, 0, len(items))
		for _, e := range items {
			steps = append(steps, store.EscalationStep{FindingID: e.c.Finding.ID, DueAt: *e.c.Finding.DueAt, Level: e.level, OrgID: anc, At: now})
		}
		sig := sha256.New()
		for _, s := range steps {
			fmt.Fprintf(sig, "%d/%d/%d;", s.FindingID, s.DueAt.Unix(), s.Level)
		}
		batch := hex.EncodeToString(sig.Sum(nil)[:8])
		ds, err := n.escalationDeliveries(t, items, batch, now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, err := n.st.RecordEscalation(ctx, steps, ds); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(append(errs, n.Retry(ctx, now))...)
}

func (n *Notifier) escalationDeliveries(t store.NotifyTarget, items []escalated, batch string, now time.Time) ([]*store.Delivery, error) {
	contacts, hooks := recipients(t, store.NotifyEscalation)
	var ds []*store.Delivery
	for _, c := range contacts {
		l := contactLang(t, c)
		name := orgName(t.Org, l)
		v := view{Lang: l, Title: tr(l, "escalation.title"), Greeting: tr(l, "greeting", c.Name), Intro: tr(l, "escalation.intro", name)}
		vs := viewSection{Title: tr(l, "section.overdue"), Count: len(items)}
		fs := make([]escalated, len(items))
		copy(fs, items)
		slices.SortFunc(fs, func(a, b escalated) int { return severityFirst(a.c.Finding, b.c.Finding) })
		for _, e := range fs {
			vs.Items = append(vs.Items, item(l, e.c.Finding, now, orgName(e.c.Org, l)+" ("+e.c.Org.Code+")"))
		}
		v.Sections = []viewSection{vs}
		v.Footer, v.Link = footer(l, n.opts.ConsoleURL)
		m, err := render(tr(l, "escalation.subject", len(items), name), v)
		if err != nil {
			return nil, err
		}
		d, err := n.mailDelivery("escalation/"+contactKey(c)+"/"+batch, store.NotifyEscalation, t.Org.ID, c, m, now)
		if err != nil {
			return nil, err
		}
		ds = append(ds, d)
	}
	for _, w := range hooks {
		ev := event{Event: store.NotifyEscalation}
		for _, e := range items {
			ev.Findings = append(ev.Findings, eventFinding(e.c.Finding, "level-"+strconv.Itoa(e.level)))
		}
		d, err := n.hookDelivery("escalation/"+webhookKey(w)+"/"+batch, t, w, ev, now)
		if err != nil {
			return nil, err
		}
		ds = append(ds, d)
	}
	return ds, nil
}

// Retry sends every delivery due at now (new ones and retries): it claims
// each, sends it, and records the attempt; a failure is retried after
// RetryBase·2^(attempt-1) (at most RetryMax), and after MaxAttempts the
// delivery is failed.
func (n *Notifier) Retry(ctx context.Context, now time.Time) error {
	var hooks map[int64]store.Webhook
	for {
		due, err := n.st.DueDeliveries(ctx, now, 100)
		if err != nil {
			return err
		}
		for _, d := range due {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			claimed, ok, err := n.st.ClaimDelivery(ctx, d.ID, now, now.Add(n.opts.Lease))
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			if claimed.Channel == store.ChannelWebhook && hooks == nil {
				targets, err := n.st.NotifyTargets(ctx)
				if err != nil {
					return err
				}
				hooks = map[int64]store.Webhook{}
				for _, t := range targets {
					for _, w := range t.Webhooks {
						hooks[w.ID] = w
					}
				}
			}
			sendErr := n.send(ctx, claimed, hooks, now)
			a := store.DeliveryAttempt{DeliveryID: claimed.ID, Attempt: claimed.Attempts, At: now, OK: sendErr == nil}
			state, next := store.DeliverySent, (*time.Time)(nil)
			if sendErr != nil {
				a.Error = sendErr.Error()
				if claimed.Attempts >= n.opts.MaxAttempts {
					state = store.DeliveryFailed
					n.opts.Logger.Warn("notify: delivery failed for good", "key", claimed.Key, "to", claimed.Recipient, "attempts", claimed.Attempts, "err", sendErr)
				} else {
					state = store.DeliveryPending
					wait := n.opts.RetryBase << (claimed.Attempts - 1)
					if wait > n.opts.RetryMax || wait <= 0 {
						wait = n.opts.RetryMax
					}
					t := now.Add(wait)
					next = &t
				}
			}
			if err := n.st.RecordAttempt(ctx, a, state, next); err != nil {
				return err
			}
		}
		if len(due) < 100 {
			return nil
		}
	}
}

func (n *Notifier) send(ctx context.Context, d store.Delivery, hooks map[int64]store.Webhook, now time.Time) error {
	switch d.Channel {
	case store.ChannelEmail:
		if n.opts.Mailer == nil {
			return fmt.Errorf("%w: no mail server configured", ErrSend)
		}
		var m Mail
		if err := json.Unmarshal(d.Payload, &m); err != nil {
			return fmt.Errorf("%w: payload: %v", ErrSend, err)
		}
		m.To = d.Recipient
		return n.opts.Mailer.Send(ctx, m)
	case store.ChannelWebhook:
		w, ok := hooks[d.WebhookID]
		if !ok || !w.Enabled {
			return fmt.Errorf("%w: webhook %d was removed or disabled", ErrSend, d.WebhookID)
		}
		return postWebhook(ctx, n.opts.HTTPClient, w.URL, w.Secret, d.Key, d.Kind, d.Payload, now)
	}
	return fmt.Errorf("%w: unknown channel %q", ErrSend, d.Channel)
}
