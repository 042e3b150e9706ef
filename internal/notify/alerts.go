package notify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/rampart-cert/rampart/internal/events"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/queue"
	"github.com/rampart-cert/rampart/internal/store"
)

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
