package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// notifyStore is a store with the Notifications part.
type notifyStore interface {
	store.Store
	store.Notifications
}

// testNotify covers store.Notifications: preferences and webhooks with
// tenancy and audit, the delivery log (enqueue dedup, claim, attempts,
// retry and failure, listing by subtree), digest findings and marks, and
// escalation steps recorded once.
func testNotify(t *testing.T, s store.Store) {
	ns, ok := any(s).(notifyStore)
	if !ok {
		t.Skipf("%T does not implement store.Notifications", s)
	}
	f := newFixture(t, s)
	for _, part := range []struct {
		name string
		fn   func(t *testing.T, f *fixture, ns notifyStore)
	}{
		{"Prefs", testNotifyPrefs},
		{"Webhooks", testNotifyWebhooks},
		{"Deliveries", testNotifyDeliveries},
		{"Digest", testNotifyDigest},
		{"Escalation", testNotifyEscalation},
	} {
		t.Run(part.name, func(t *testing.T) { part.fn(t, f, ns) })
	}
}

func testNotifyPrefs(t *testing.T, f *fixture, ns notifyStore) {
	ctx := f.ctx
	np, err := ns.GetNotifyPrefs(ctx, as(auth.RoleViewer, f.a1), f.a1.ID)
	must(t, err, "default prefs")
	if np.AlertMinSeverity != finding.Critical || !np.AlertKEV || np.DigestPeriod != store.DigestDaily || !np.BusinessDaysOnly || !np.Has(store.ChannelEmail) {
		t.Fatalf("defaults: %+v", np)
	}
	_, err = ns.GetNotifyPrefs(ctx, as(auth.RoleViewer, f.b), f.a1.ID)
	wantErr(t, err, store.ErrNotFound, "prefs outside the subtree")

	np.DigestPeriod, np.DigestWeekday, np.DigestHour = store.DigestWeekly, time.Wednesday, 9
	np.AlertMinSeverity, np.Channels, np.Language = finding.High, []store.Channel{store.ChannelEmail, store.ChannelWebhook, store.ChannelEmail}, "EN"
	wantErr(t, ns.SetNotifyPrefs(ctx, as(auth.RoleViewer, f.a1), &np), store.ErrForbidden, "viewer sets prefs")
	wantErr(t, ns.SetNotifyPrefs(ctx, as(auth.RoleOrgAdmin, f.b), &np), store.ErrNotFound, "foreign admin sets prefs")
	must(t, ns.SetNotifyPrefs(ctx, as(auth.RoleOrgMember, f.a1), &np), "member sets prefs")
	got, err := ns.GetNotifyPrefs(ctx, as(auth.RoleViewer, f.a), f.a1.ID)
	must(t, err, "get prefs")
	if got.DigestPeriod != store.DigestWeekly || got.DigestWeekday != time.Wednesday || got.DigestHour != 9 || got.Language != "en" ||
		got.AlertMinSeverity != finding.High || len(got.Channels) != 2 || got.UpdatedAt.IsZero() {
		t.Fatalf("stored prefs: %+v", got)
	}
	bad := got
	bad.DigestWeekday = time.Saturday
	wantErr(t, ns.SetNotifyPrefs(ctx, sys, &bad), store.ErrInvalid, "weekly on Saturday with business days only")
	bad = got
	bad.Channels = []store.Channel{"pigeon"}
	wantErr(t, ns.SetNotifyPrefs(ctx, sys, &bad), store.ErrInvalid, "unknown channel")
	entries, err := f.s.ListAudit(ctx, sys, store.AuditFilter{ObjectType: "notify_prefs", ObjectID: f.a1.ID})
	must(t, err, "audit")
	if len(entries.Items) != 1 || entries.Items[0].Action != "notify.prefs.update" {
		t.Fatalf("audit of prefs: %+v", entries.Items)
	}
}

func testNotifyWebhooks(t *testing.T, f *fixture, ns notifyStore) {
	ctx := f.ctx
	w := store.Webhook{OrgID: f.b1.ID, URL: "https://hooks.example.vn/rampart", Secret: "s3cret-s3cret-s3cret", Enabled: true, Events: []string{store.NotifyAlert}}
	wantErr(t, ns.CreateWebhook(ctx, as(auth.RoleViewer, f.b1), &w), store.ErrForbidden, "viewer creates webhook")
	wantErr(t, ns.CreateWebhook(ctx, as(auth.RoleOrgAdmin, f.a), &w), store.ErrNotFound, "foreign admin creates webhook")
	bad := w
	bad.URL = "ftp://x"
	wantErr(t, ns.CreateWebhook(ctx, sys, &bad), store.ErrInvalid, "ftp webhook")
	bad = w
	bad.Secret = "short"
	wantErr(t, ns.CreateWebhook(ctx, sys, &bad), store.ErrInvalid, "short secret")
	must(t, ns.CreateWebhook(ctx, as(auth.RoleOrgAdmin, f.b), &w), "create webhook")
	if w.ID == 0 || !w.Wants(store.NotifyAlert) || w.Wants(store.NotifyDigest) {
		t.Fatalf("created webhook: %+v", w)
	}
	list, err := ns.ListWebhooks(ctx, as(auth.RoleViewer, f.b1), f.b1.ID)
	must(t, err, "list webhooks")
	if len(list) != 1 || list[0].Secret != "" || list[0].URL != w.URL {
		t.Fatalf("listed webhooks (secret must be blank): %+v", list)
	}
	_, err = ns.ListWebhooks(ctx, as(auth.RoleViewer, f.a), f.b1.ID)
	wantErr(t, err, store.ErrNotFound, "list foreign webhooks")

	upd := store.Webhook{ID: w.ID, URL: "https://hooks.example.vn/v2", Enabled: false}
	must(t, ns.UpdateWebhook(ctx, as(auth.RoleOrgMember, f.b1), &upd), "update webhook")
	targets, err := ns.NotifyTargets(ctx)
	must(t, err, "targets")
	var found bool
	for _, tg := range targets {
		for _, h := range tg.Webhooks {
			if h.ID == w.ID {
				found = true
				if h.Secret != w.Secret || h.URL != upd.URL || h.Enabled || len(h.Events) != 0 {
					t.Fatalf("webhook after update (secret kept): %+v", h)
				}
			}
		}
	}
	if !found {
		t.Fatal("NotifyTargets misses the webhook's organization")
	}
	wantErr(t, ns.DeleteWebhook(ctx, as(auth.RoleOrgAdmin, f.a), w.ID), store.ErrNotFound, "foreign delete")
	entries, err := f.s.ListAudit(ctx, sys, store.AuditFilter{ObjectType: "webhook", ObjectID: w.ID})
	must(t, err, "audit")
	for _, e := range entries.Items {
		if strings.Contains(string(e.Before)+string(e.After), "s3cret") {
			t.Fatalf("audit entry %s leaks the secret: %s %s", e.Action, e.Before, e.After)
		}
	}
	must(t, ns.DeleteWebhook(ctx, sys, w.ID), "delete webhook")
	list, err = ns.ListWebhooks(ctx, sys, f.b1.ID)
	must(t, err, "list after delete")
	if len(list) != 0 {
		t.Fatalf("webhook survived delete: %+v", list)
	}
}

func testNotifyDeliveries(t *testing.T, f *fixture, ns notifyStore) {
	ctx := f.ctx
	t0 := time.Now().UTC().Truncate(time.Second)
	mk := func(key string, o org.Organization) *store.Delivery {
		return &store.Delivery{Key: key, OrgID: o.ID, Kind: store.NotifyAlert, Channel: store.ChannelEmail, ContactID: 99,
			Recipient: "soc@" + strings.ToLower(o.Code) + ".vn", Subject: "Cảnh báo", Payload: []byte(`{"x":"Lỗ hổng"}`), NextAttemptAt: &t0}
	}
	d1, d2, dup := mk("del/a1/1", f.a1), mk("del/b1/1", f.b1), mk("del/a1/1", f.a1)
	must(t, ns.EnqueueDeliveries(ctx, []*store.Delivery{d1, d2}), "enqueue")
	must(t, ns.EnqueueDeliveries(ctx, []*store.Delivery{dup}), "enqueue duplicate")
	if d1.ID == 0 || d2.ID == 0 || dup.ID != 0 || d1.State != store.DeliveryPending {
		t.Fatalf("enqueue ids %d %d dup %d", d1.ID, d2.ID, dup.ID)
	}
	wantErr(t, ns.EnqueueDeliveries(ctx, []*store.Delivery{{Key: "x"}}), store.ErrInvalid, "delivery without recipient")

	due, err := ns.DueDeliveries(ctx, t0.Add(-time.Second), 10)
	must(t, err, "due before")
	if len(due) != 0 {
		t.Fatalf("due before their time: %d", len(due))
	}
	due, err = ns.DueDeliveries(ctx, t0, 10)
	must(t, err, "due")
	if len(due) != 2 || string(due[0].Payload) != `{"x":"Lỗ hổng"}` {
		t.Fatalf("due deliveries: %+v", due)
	}
	lease := t0.Add(10 * time.Minute)
	c, ok, err := ns.ClaimDelivery(ctx, d1.ID, t0, lease)
	must(t, err, "claim")
	if !ok || c.Attempts != 1 || c.NextAttemptAt == nil || !c.NextAttemptAt.Equal(lease) || c.Subject != "Cảnh báo" {
		t.Fatalf("claim: ok %v %+v", ok, c)
	}
	if _, ok, err := ns.ClaimDelivery(ctx, d1.ID, t0, lease); err != nil || ok {
		t.Fatalf("second claim inside the lease: ok %v err %v", ok, err)
	}
	retryAt := t0.Add(time.Minute)
	must(t, ns.RecordAttempt(ctx, store.DeliveryAttempt{DeliveryID: d1.ID, Attempt: 1, At: t0, Error: "451 try later"}, store.DeliveryPending, &retryAt), "attempt 1")
	wantErr(t, ns.RecordAttempt(ctx, store.DeliveryAttempt{DeliveryID: d1.ID, Attempt: 2, At: t0}, store.DeliveryPending, nil), store.ErrInvalid, "pending without next")
	if _, ok, _ := ns.ClaimDelivery(ctx, d1.ID, retryAt, retryAt.Add(time.Minute)); !ok {
		t.Fatal("claim at the retry time failed")
	}
	must(t, ns.RecordAttempt(ctx, store.DeliveryAttempt{DeliveryID: d1.ID, Attempt: 2, At: retryAt, Error: "550 no such user"}, store.DeliveryFailed, nil), "attempt 2")
	if _, ok, _ := ns.ClaimDelivery(ctx, d2.ID, t0, lease); !ok {
		t.Fatal("claim d2")
	}
	must(t, ns.RecordAttempt(ctx, store.DeliveryAttempt{DeliveryID: d2.ID, Attempt: 1, At: t0, OK: true}, store.DeliverySent, nil), "d2 sent")

	due, err = ns.DueDeliveries(ctx, t0.Add(time.Hour), 10)
	must(t, err, "due after")
	if len(due) != 0 {
		t.Fatalf("sent or failed deliveries still due: %+v", due)
	}
	page, err := ns.ListDeliveries(ctx, as(auth.RoleViewer, f.a), store.DeliveryFilter{})
	must(t, err, "list A")
	if len(page.Items) != 1 || page.Items[0].ID != d1.ID || page.Items[0].State != store.DeliveryFailed ||
		page.Items[0].Attempts != 2 || page.Items[0].LastError != "550 no such user" || page.Items[0].Payload != nil {
		t.Fatalf("A's log: %+v", page.Items)
	}
	page, err = ns.ListDeliveries(ctx, sys, store.DeliveryFilter{State: store.DeliverySent})
	must(t, err, "list sent")
	if len(page.Items) != 1 || page.Items[0].ID != d2.ID || page.Items[0].SentAt == nil {
		t.Fatalf("sent: %+v", page.Items)
	}
	all := all(t, func(after string) (store.Page[store.Delivery], error) {
		return ns.ListDeliveries(ctx, sys, store.DeliveryFilter{PageRequest: store.PageRequest{Limit: 1, After: after}})
	})
	if len(all) != 2 || all[0].ID < all[1].ID {
		t.Fatalf("paged log not newest first: %+v", all)
	}
	att, err := ns.DeliveryAttempts(ctx, as(auth.RoleViewer, f.a1), d1.ID)
	must(t, err, "attempts")
	if len(att) != 2 || att[0].Attempt != 1 || att[0].OK || att[0].Error != "451 try later" || att[1].Attempt != 2 {
		t.Fatalf("attempts: %+v", att)
	}
	_, err = ns.DeliveryAttempts(ctx, as(auth.RoleViewer, f.b), d1.ID)
	wantErr(t, err, store.ErrNotFound, "foreign attempts")
}

func testNotifyDigest(t *testing.T, f *fixture, ns notifyStore) {
	ctx := f.ctx
	fs := any(ns).(store.Findings)
	o := f.org(t, sys, f.nat.ID, "DG", org.KindMinistry)
	child := f.org(t, sys, o.ID, "DG1", org.KindAgency)
	a := f.asset(t, sys, child, asset.KindIPv4, "10.77.0.1")
	base := time.Now().UTC().Add(-40 * 24 * time.Hour).Truncate(time.Second)
	rec := func(job string, at time.Time, covered []store.Coverage, seen ...store.Finding) {
		t.Helper()
		_, err := fs.RecordFindings(ctx, store.FindingBatch{JobID: job, At: at, Policy: finding.DefaultPolicy, Covered: covered, Seen: seen})
		must(t, err, "record "+job)
	}
	old := seen(a, "tls.old", "10.77.0.1:443", "", finding.High)       // due base+30d
	crit := seen(a, "tls.crit", "10.77.0.1:443", "", finding.Critical) // due base+15d
	gone := seen(a, "tls.gone", "10.77.0.1:443", "", finding.Medium)   // fixed later
	flap := seen(a, "tls.flap", "10.77.0.1:443", "", finding.Low)      // fixed, then reopened
	rec("j1", base, nil, old, crit, gone, flap)
	cov := []store.Coverage{cover(a, "10.77.0.1:443", "tls.old", "tls.crit", "tls.gone", "tls.flap", "tls.new")}
	now := base.Add(31 * 24 * time.Hour)
	since := now.Add(-24 * time.Hour)
	rec("j2", since.Add(-time.Hour), cov, old, crit, gone) // flap fixed before the window
	fresh := seen(a, "tls.new", "10.77.0.1:443", "", finding.Info)
	rec("j3", since.Add(time.Hour), cov, old, crit, flap, fresh) // gone fixed, flap reopened, fresh new

	d, err := ns.DigestFindings(ctx, store.DigestQuery{OrgID: o.ID, Since: since, Now: now, DueBefore: now.Add(7 * 24 * time.Hour)})
	must(t, err, "digest findings")
	want := map[store.DigestSection]string{
		store.SectionOverdue: "tls.crit", store.SectionDueSoon: "", store.SectionFixed: "tls.gone",
		store.SectionReopened: "tls.flap", store.SectionNew: "tls.new",
	}
	// old is due at base+30d, one day before now: overdue too.
	if d.Counts[store.SectionOverdue] != 2 || d.Total() != 5 {
		t.Fatalf("digest counts %v", d.Counts)
	}
	for sec, check := range want {
		if check == "" {
			continue
		}
		var ok bool
		for _, x := range d.Items[sec] {
			ok = ok || x.Check == check
		}
		if !ok {
			t.Errorf("section %s misses %s: %+v", sec, check, d.Items[sec])
		}
	}
	if o := d.Orgs[child.ID]; o.Code != "DG1" || o.Name == "" {
		t.Errorf("digest orgs: %+v", d.Orgs)
	}
	if d.Items[store.SectionOverdue][0].Check != "tls.crit" {
		t.Errorf("overdue not most severe first: %s", d.Items[store.SectionOverdue][0].Check)
	}
	d2, err := ns.DigestFindings(ctx, store.DigestQuery{OrgID: o.ID, Since: since, Now: now, DueBefore: now.Add(7 * 24 * time.Hour), Limit: 1})
	must(t, err, "digest limited")
	if len(d2.Items[store.SectionOverdue]) != 1 || d2.Counts[store.SectionOverdue] != 2 {
		t.Fatalf("limit: %d listed, %d counted", len(d2.Items[store.SectionOverdue]), d2.Counts[store.SectionOverdue])
	}
	other, err := ns.DigestFindings(ctx, store.DigestQuery{OrgID: f.b.ID, Since: since, Now: now, DueBefore: now})
	must(t, err, "other org")
	if other.Total() != 0 {
		t.Fatalf("another subtree's digest lists %v", other.Counts)
	}

	m, err := ns.DigestMark(ctx, "contact:1")
	must(t, err, "empty mark")
	if m.Period != "" {
		t.Fatalf("mark before any digest: %+v", m)
	}
	dl := &store.Delivery{Key: "digest/contact:1/2025-01-06", OrgID: o.ID, Kind: store.NotifyDigest, Channel: store.ChannelEmail, Recipient: "a@b.vn"}
	ok, err := ns.MarkDigest(ctx, store.DigestMark{Recipient: "contact:1", Period: "2025-01-06", WindowEnd: now}, []*store.Delivery{dl})
	must(t, err, "mark")
	if !ok || dl.ID == 0 {
		t.Fatalf("first mark: %v %d", ok, dl.ID)
	}
	again := &store.Delivery{Key: "digest/contact:1/2025-01-06#2", OrgID: o.ID, Kind: store.NotifyDigest, Channel: store.ChannelEmail, Recipient: "a@b.vn"}
	ok, err = ns.MarkDigest(ctx, store.DigestMark{Recipient: "contact:1", Period: "2025-01-06", WindowEnd: now}, []*store.Delivery{again})
	must(t, err, "mark again")
	if ok || again.ID != 0 {
		t.Fatalf("same period marked twice: %v %d", ok, again.ID)
	}
	m, err = ns.DigestMark(ctx, "contact:1")
	must(t, err, "mark")
	if m.Period != "2025-01-06" || !m.WindowEnd.Equal(now) {
		t.Fatalf("mark: %+v", m)
	}
	ok, err = ns.MarkDigest(ctx, store.DigestMark{Recipient: "contact:1", Period: "2025-01-07", WindowEnd: now.Add(24 * time.Hour)}, nil)
	must(t, err, "next period")
	if !ok {
		t.Fatal("next period refused")
	}
}

func testNotifyEscalation(t *testing.T, f *fixture, ns notifyStore) {
	ctx := f.ctx
	fs := any(ns).(store.Findings)
	o := f.org(t, sys, f.a11.ID, "ES", org.KindUnit)
	a := f.asset(t, sys, o, asset.KindIPv4, "10.78.0.1")
	base := time.Now().UTC().Add(-60 * 24 * time.Hour).Truncate(time.Second)
	x := seen(a, "http.esc", "10.78.0.1:80", "", finding.Critical)
	_, err := fs.RecordFindings(ctx, store.FindingBatch{JobID: "e1", At: base, Policy: finding.DefaultPolicy, Seen: []store.Finding{x}})
	must(t, err, "record")
	cands, err := ns.EscalationCandidates(ctx, base.Add(20*24*time.Hour))
	must(t, err, "candidates")
	var c *store.EscalationCandidate
	for i := range cands {
		if cands[i].Finding.Key == x.Key {
			c = &cands[i]
		}
	}
	if c == nil || c.Level != 0 || c.Org.Path != o.Path || c.Org.Code != o.Code || c.Finding.DueAt == nil {
		t.Fatalf("candidate: %+v", c)
	}
	step := store.EscalationStep{FindingID: c.Finding.ID, DueAt: *c.Finding.DueAt, Level: 1, OrgID: o.ParentID, At: base.Add(30 * 24 * time.Hour)}
	dl := &store.Delivery{Key: "esc/1", OrgID: o.ParentID, Kind: store.NotifyEscalation, Channel: store.ChannelEmail, Recipient: "x@y.vn"}
	ok, err := ns.RecordEscalation(ctx, []store.EscalationStep{step}, []*store.Delivery{dl})
	must(t, err, "escalate")
	if !ok || dl.ID == 0 {
		t.Fatalf("first escalation: %v %d", ok, dl.ID)
	}
	dl2 := &store.Delivery{Key: "esc/2", OrgID: o.ParentID, Kind: store.NotifyEscalation, Channel: store.ChannelEmail, Recipient: "x@y.vn"}
	ok, err = ns.RecordEscalation(ctx, []store.EscalationStep{step}, []*store.Delivery{dl2})
	must(t, err, "escalate again")
	if ok || dl2.ID != 0 {
		t.Fatalf("level escalated twice: %v %d", ok, dl2.ID)
	}
	cands, err = ns.EscalationCandidates(ctx, base.Add(20*24*time.Hour))
	must(t, err, "candidates")
	for _, c := range cands {
		if c.Finding.Key == x.Key && c.Level != 1 {
			t.Fatalf("level after escalation: %d", c.Level)
		}
	}
}
