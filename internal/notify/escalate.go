package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

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
