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
	"strconv"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/org"
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
