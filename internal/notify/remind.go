package notify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// KindReminder is the delivery kind of a campaign reminder (the store's
// NotifyKinds list the finding notifications webhooks subscribe to;
// reminders go to contacts by e-mail only).
const KindReminder = "reminder"

// ErrNoRecipients is returned by Remind when none of the organizations
// has a contact with an e-mail address, so nobody could be reminded.
var ErrNoRecipients = errors.New("notify: no contact to remind")

// Remind enqueues one reminder mail per contact (with an e-mail address)
// of each organization in orgIDs, in the contact's language, asking it to
// submit its self-assessment for campaign c before the deadline. It is
// assess.Reminders.
//
// A campaign reminder is a request from the level above, not a finding
// notification: it goes to every contact whatever channels the
// organization chose for its findings. The delivery key is
// (campaign, organization, contact, day in Vietnam), so reminding twice
// on the same day sends once. Remind returns once the reminders are in the
// delivery log; Run sends them at once (without Run, the next Retry does),
// and a failed send is retried like any delivery and stays visible in the
// log. Organizations without such a contact are logged; if none of them
// has one, Remind returns ErrNoRecipients.
func (n *Notifier) Remind(ctx context.Context, orgIDs []int64, c store.Campaign) error {
	if len(orgIDs) == 0 {
		return nil
	}
	targets, err := n.st.NotifyTargets(ctx)
	if err != nil {
		return fmt.Errorf("notify: remind: %w", err)
	}
	byOrg := make(map[int64]store.NotifyTarget, len(targets))
	for _, t := range targets {
		byOrg[t.Org.ID] = t
	}
	now := n.opts.Now()
	day := now.In(vietnam).Format("2006-01-02")
	ids := slices.Clone(orgIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var (
		ds          []*store.Delivery
		unreachable []string
	)
	for _, id := range ids {
		t := byOrg[id] // absent: no contacts
		reached := false
		for _, ct := range t.Contacts {
			if ct.Email == "" {
				continue
			}
			m, err := n.reminderMail(t, ct, c, now)
			if err != nil {
				return err
			}
			key := fmt.Sprintf("reminder/campaign:%d/org:%d/%s/%s", c.ID, id, contactKey(ct), day)
			d, err := n.mailDelivery(key, KindReminder, id, ct, m, now)
			if err != nil {
				return err
			}
			ds = append(ds, d)
			reached = true
		}
		if !reached {
			unreachable = append(unreachable, strconv.FormatInt(id, 10))
		}
	}
	if len(unreachable) > 0 {
		n.opts.Logger.Warn("notify: remind: organizations without a contact with an e-mail address", "campaign", c.ID, "orgs", strings.Join(unreachable, ","))
	}
	if len(ds) == 0 {
		return fmt.Errorf("%w: organizations %s have no contact with an e-mail address", ErrNoRecipients, strings.Join(unreachable, ", "))
	}
	if err := n.st.EnqueueDeliveries(ctx, ds); err != nil {
		return fmt.Errorf("notify: remind: %w", err)
	}
	n.wakeUp()
	return nil
}

// reminderMail renders the reminder of campaign c to contact ct of t.
func (n *Notifier) reminderMail(t store.NotifyTarget, ct org.Contact, c store.Campaign, now time.Time) (Mail, error) {
	l := contactLang(t, ct)
	name := orgName(t.Org, l)
	deadline := c.Deadline.In(vietnam)
	v := view{Lang: l, Title: tr(l, "reminder.title"), Greeting: tr(l, "greeting", ct.Name), Intro: tr(l, "reminder.intro", name, c.Title)}
	v.Details = []string{
		tr(l, "reminder.campaign", c.Title),
		tr(l, "reminder.deadline", deadline.Format("15:04 02/01/2006")),
	}
	// Whole days in Vietnam between today and the deadline's day.
	local := now.In(vietnam)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC)
	dday := time.Date(deadline.Year(), deadline.Month(), deadline.Day(), 0, 0, 0, 0, time.UTC)
	switch days := int(dday.Sub(today).Hours() / 24); {
	case now.After(c.Deadline) && days < 0:
		v.Details = append(v.Details, tr(l, "reminder.overdue", -days))
	case now.After(c.Deadline):
		v.Details = append(v.Details, tr(l, "reminder.passed"))
	case days == 0:
		v.Details = append(v.Details, tr(l, "reminder.today"))
	default:
		v.Details = append(v.Details, tr(l, "reminder.left", days))
	}
	link := ""
	if n.opts.ConsoleURL != "" {
		link = strings.TrimRight(n.opts.ConsoleURL, "/") + "/campaigns/" + strconv.FormatInt(c.ID, 10)
	}
	v.StepsTitle = tr(l, "reminder.todo")
	if link != "" {
		v.Steps = append(v.Steps, tr(l, "reminder.step.open.link", link))
	} else {
		v.Steps = append(v.Steps, tr(l, "reminder.step.open"))
	}
	v.Steps = append(v.Steps, tr(l, "reminder.step.answer"), tr(l, "reminder.step.submit", deadline.Format("02/01/2006")))
	v.Summary = tr(l, "reminder.ignore")
	v.Footer = tr(l, "footer")
	if link != "" {
		v.Link = tr(l, "reminder.link", link)
	}
	return render(tr(l, "reminder.subject", c.Title, deadline.Format("02/01/2006")), v)
}

// wakeUp asks Run to deliver at once rather than at its next tick.
func (n *Notifier) wakeUp() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}
