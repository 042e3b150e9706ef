package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// Notifications: preferences and webhooks (tenancy, audited like
// contacts), the delivery log (tenancy by the delivery's organization,
// joined by id so the log follows moves of the tree), and the notifier's
// own bookkeeping (system calls). The delivery log and its attempts are
// append-and-update only: nothing here deletes from them.

var _ store.Notifications = (*Store)(nil)

func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// needWriteNotify checks the permission that changes preferences and webhooks.
func needWriteNotify(p auth.Principal) error {
	if !p.Can(auth.PermWriteAssets) {
		return forbidden("editing notification settings needs " + string(auth.PermWriteAssets))
	}
	return nil
}

const prefsCols = "org_id, language, channels, alert_min_severity, alert_kev, digest_period, digest_weekday, digest_hour, business_days, updated_at"

func scanPrefs(sc scanner) (store.NotifyPrefs, error) {
	var (
		np            store.NotifyPrefs
		channels, sev string
		period        string
		weekday, hour int
	)
	err := sc.Scan(&np.OrgID, &np.Language, &channels, &sev, &np.AlertKEV, &period, &weekday, &hour, &np.BusinessDaysOnly, &np.UpdatedAt)
	if err != nil {
		return np, err
	}
	np.AlertMinSeverity, np.DigestPeriod = finding.Severity(sev), store.DigestPeriod(period)
	np.DigestWeekday, np.DigestHour = time.Weekday(weekday), hour
	np.UpdatedAt = np.UpdatedAt.UTC()
	if err := json.Unmarshal([]byte(channels), &np.Channels); err != nil {
		return np, fmt.Errorf("notify prefs %d: channels: %w", np.OrgID, err)
	}
	if np.Channels == nil {
		np.Channels = []store.Channel{}
	}
	return np, nil
}

func (s *Store) loadPrefs(ctx context.Context, q querier, orgID int64) (store.NotifyPrefs, bool, error) {
	np, err := scanPrefs(q.QueryRowContext(ctx, s.q("SELECT "+prefsCols+" FROM notify_prefs WHERE org_id = ?"), orgID))
	if errors.Is(err, sql.ErrNoRows) {
		return store.DefaultNotifyPrefs(orgID), false, nil
	}
	return np, err == nil, err
}

// GetNotifyPrefs returns an organization's preferences or the defaults.
func (s *Store) GetNotifyPrefs(ctx context.Context, p auth.Principal, orgID int64) (store.NotifyPrefs, error) {
	const op = "get notification preferences"
	if err := needRead(p); err != nil {
		return store.NotifyPrefs{}, s.fail(op, err)
	}
	sc, err := s.scopeOf(ctx, s.r, p)
	if err != nil {
		return store.NotifyPrefs{}, s.fail(op, err)
	}
	if _, err := s.loadOrg(ctx, s.r, sc, orgID, false); err != nil {
		return store.NotifyPrefs{}, s.fail(op, err)
	}
	np, _, err := s.loadPrefs(ctx, s.r, orgID)
	return np, s.fail(op, err)
}

// SetNotifyPrefs stores an organization's preferences.
func (s *Store) SetNotifyPrefs(ctx context.Context, p auth.Principal, np *store.NotifyPrefs) error {
	const op = "set notification preferences"
	if err := np.Validate(); err != nil {
		return s.fail(op, err)
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		sc, err := s.scopeOf(ctx, tx, p)
		if err != nil {
			return err
		}
		o, err := s.loadOrg(ctx, tx, sc, np.OrgID, false)
		if err != nil {
			return err
		}
		if err := needWriteNotify(p); err != nil {
			return err
		}
		before, existed, err := s.loadPrefs(ctx, tx, np.OrgID)
		if err != nil {
			return err
		}
		np.UpdatedAt = now()
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO notify_prefs (`+prefsCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (org_id) DO UPDATE SET language = excluded.language, channels = excluded.channels,
			alert_min_severity = excluded.alert_min_severity, alert_kev = excluded.alert_kev,
			digest_period = excluded.digest_period, digest_weekday = excluded.digest_weekday,
			digest_hour = excluded.digest_hour, business_days = excluded.business_days, updated_at = excluded.updated_at`),
			np.OrgID, np.Language, mustJSON(np.Channels), string(np.AlertMinSeverity), np.AlertKEV, string(np.DigestPeriod),
			int(np.DigestWeekday), np.DigestHour, np.BusinessDaysOnly, np.UpdatedAt)
		if err != nil {
			return err
		}
		c := change{orgID: o.ID, orgPath: o.Path, action: "notify.prefs.update", objType: "notify_prefs", objID: o.ID, after: np}
		if existed {
			c.before = before
		}
		return s.audit(ctx, tx, p, c)
	})
}

const webhookCols = "id, org_id, url, secret, enabled, events, created_at, updated_at"

func scanWebhook(sc scanner) (store.Webhook, error) {
	var (
		w      store.Webhook
		events string
	)
	if err := sc.Scan(&w.ID, &w.OrgID, &w.URL, &w.Secret, &w.Enabled, &events, &w.CreatedAt, &w.UpdatedAt); err != nil {
		return w, err
	}
	w.CreatedAt, w.UpdatedAt = w.CreatedAt.UTC(), w.UpdatedAt.UTC()
	if err := json.Unmarshal([]byte(events), &w.Events); err != nil {
		return w, fmt.Errorf("webhook %d: events: %w", w.ID, err)
	}
	if w.Events == nil {
		w.Events = []string{}
	}
	return w, nil
}

// webhookSecretLabel binds sealed webhook secrets to their column.
const webhookSecretLabel = "webhooks.secret"

// sealWebhookSecret is how a webhook's HMAC key is stored: sealed when the
// store has a SecretBox (security F15), so a copy of the database alone
// does not let anyone sign as the platform.
func (s *Store) sealWebhookSecret(secret string) string {
	if s.box == nil || secret == "" {
		return secret
	}
	return s.box.Seal(secret, webhookSecretLabel)
}

func (s *Store) openWebhookSecret(stored string) (string, error) {
	if !auth.IsSealed(stored) {
		return stored, nil
	}
	if s.box == nil {
		return "", fmt.Errorf("%w: webhook secret is sealed and the store has no secret key", store.ErrInvalid)
	}
	return s.box.Open(stored, webhookSecretLabel)
}

// redacted is a webhook as the audit log and API readers see it.
func redacted(w store.Webhook) store.Webhook {
	w.Secret = ""
	return w
}

// CreateWebhook stores a webhook of an organization.
func (s *Store) CreateWebhook(ctx context.Context, p auth.Principal, w *store.Webhook) error {
	const op = "create webhook"
	if err := w.Validate(); err != nil {
		return s.fail(op, err)
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		sc, err := s.scopeOf(ctx, tx, p)
		if err != nil {
			return err
		}
		o, err := s.loadOrg(ctx, tx, sc, w.OrgID, false)
		if err != nil {
			return err
		}
		if err := needWriteNotify(p); err != nil {
			return err
		}
		t := now()
		err = tx.QueryRowContext(ctx, s.q(`INSERT INTO webhooks (org_id, url, secret, enabled, events, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`), w.OrgID, w.URL, s.sealWebhookSecret(w.Secret), w.Enabled, mustJSON(w.Events), t, t).Scan(&w.ID)
		if err != nil {
			return err
		}
		w.CreatedAt, w.UpdatedAt = t, t
		return s.audit(ctx, tx, p, change{orgID: o.ID, orgPath: o.Path, action: "webhook.create", objType: "webhook", objID: w.ID, after: redacted(*w)})
	})
}

// ListWebhooks returns an organization's webhooks with secrets blanked.
func (s *Store) ListWebhooks(ctx context.Context, p auth.Principal, orgID int64) ([]store.Webhook, error) {
	const op = "list webhooks"
	if err := needRead(p); err != nil {
		return nil, s.fail(op, err)
	}
	sc, err := s.scopeOf(ctx, s.r, p)
	if err != nil {
		return nil, s.fail(op, err)
	}
	if _, err := s.loadOrg(ctx, s.r, sc, orgID, false); err != nil {
		return nil, s.fail(op, err)
	}
	out, err := s.webhooks(ctx, s.r, "org_id = ?", orgID)
	for i := range out {
		out[i] = redacted(out[i])
	}
	return out, s.fail(op, err)
}

func (s *Store) webhooks(ctx context.Context, q querier, cond string, args ...any) ([]store.Webhook, error) {
	rows, err := q.QueryContext(ctx, s.q("SELECT "+webhookCols+" FROM webhooks WHERE "+cond+" ORDER BY id"), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.Webhook{}
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// loadWebhook reads one webhook in scope with its organization.
func (s *Store) loadWebhook(ctx context.Context, tx *sql.Tx, sc scope, id int64) (store.Webhook, org.Organization, error) {
	w, err := scanWebhook(tx.QueryRowContext(ctx, s.q("SELECT "+webhookCols+" FROM webhooks WHERE id = ?"+s.d.forUpdate()), id))
	if errors.Is(err, sql.ErrNoRows) {
		return w, org.Organization{}, notFound("webhook", id)
	}
	if err != nil {
		return w, org.Organization{}, err
	}
	o, err := s.loadOrg(ctx, tx, sc, w.OrgID, false)
	if err != nil {
		return w, o, notFound("webhook", id)
	}
	return w, o, nil
}

// UpdateWebhook changes a webhook; an empty Secret keeps the stored one.
func (s *Store) UpdateWebhook(ctx context.Context, p auth.Principal, w *store.Webhook) error {
	const op = "update webhook"
	return s.write(ctx, op, func(tx *sql.Tx) error {
		sc, err := s.scopeOf(ctx, tx, p)
		if err != nil {
			return err
		}
		cur, o, err := s.loadWebhook(ctx, tx, sc, w.ID)
		if err != nil {
			return err
		}
		if err := needWriteNotify(p); err != nil {
			return err
		}
		if w.Secret == "" {
			if w.Secret, err = s.openWebhookSecret(cur.Secret); err != nil {
				return err
			}
		}
		w.OrgID = cur.OrgID
		if err := w.Validate(); err != nil {
			return err
		}
		w.CreatedAt, w.UpdatedAt = cur.CreatedAt, now()
		_, err = tx.ExecContext(ctx, s.q("UPDATE webhooks SET url = ?, secret = ?, enabled = ?, events = ?, updated_at = ? WHERE id = ?"),
			w.URL, s.sealWebhookSecret(w.Secret), w.Enabled, mustJSON(w.Events), w.UpdatedAt, w.ID)
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, p, change{orgID: o.ID, orgPath: o.Path, action: "webhook.update", objType: "webhook", objID: w.ID, before: redacted(cur), after: redacted(*w)})
	})
}

// DeleteWebhook removes a webhook; its deliveries stay in the log.
func (s *Store) DeleteWebhook(ctx context.Context, p auth.Principal, id int64) error {
	const op = "delete webhook"
	return s.write(ctx, op, func(tx *sql.Tx) error {
		sc, err := s.scopeOf(ctx, tx, p)
		if err != nil {
			return err
		}
		cur, o, err := s.loadWebhook(ctx, tx, sc, id)
		if err != nil {
			return err
		}
		if err := needWriteNotify(p); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q("DELETE FROM webhooks WHERE id = ?"), id); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, change{orgID: o.ID, orgPath: o.Path, action: "webhook.delete", objType: "webhook", objID: id, before: redacted(cur)})
	})
}

const deliveryCols = "d.id, d.key, d.org_id, d.kind, d.channel, d.contact_id, d.webhook_id, d.recipient, d.subject, d.state, d.attempts, " +
	"d.next_attempt_at, d.last_error, d.created_at, d.updated_at, d.sent_at"

func scanDelivery(sc scanner, extra ...any) (store.Delivery, error) {
	var (
		d                store.Delivery
		channel, state   string
		contact, webhook sql.NullInt64
		next, sent       sql.NullTime
	)
	dest := append([]any{&d.ID, &d.Key, &d.OrgID, &d.Kind, &channel, &contact, &webhook, &d.Recipient, &d.Subject, &state, &d.Attempts,
		&next, &d.LastError, &d.CreatedAt, &d.UpdatedAt, &sent}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return d, err
	}
	d.Channel, d.State = store.Channel(channel), store.DeliveryState(state)
	d.ContactID, d.WebhookID = contact.Int64, webhook.Int64
	d.NextAttemptAt, d.SentAt = timePtr(next), timePtr(sent)
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return d, nil
}

// ListDeliveries returns the delivery log of the principal's subtree.
func (s *Store) ListDeliveries(ctx context.Context, p auth.Principal, f store.DeliveryFilter) (store.Page[store.Delivery], error) {
	const op = "list deliveries"
	var page store.Page[store.Delivery]
	if err := needRead(p); err != nil {
		return page, s.fail(op, err)
	}
	limit, after, sc, err := s.listStart(ctx, p, f.PageRequest)
	if err != nil {
		return page, s.fail(op, err)
	}
	var w where
	if !sc.all {
		cond, args := sc.cond("o.path")
		w.add(cond, args...)
	}
	if f.OrgID != 0 {
		root, err := s.loadOrg(ctx, s.r, sc, f.OrgID, false)
		if err != nil {
			return page, s.fail(op, err)
		}
		cond, args := subtreeRange("o.path", root.Path)
		w.add(cond, args...)
	}
	if f.State != "" {
		w.add("d.state = ?", string(f.State))
	}
	if f.Kind != "" {
		w.add("d.kind = ?", f.Kind)
	}
	if f.Channel != "" {
		w.add("d.channel = ?", string(f.Channel))
	}
	if after > 0 {
		w.add("d.id < ?", after)
	}
	rows, err := s.r.QueryContext(ctx, s.q("SELECT "+deliveryCols+" FROM notify_deliveries d LEFT JOIN orgs o ON o.id = d.org_id"+
		w.String()+" ORDER BY d.id DESC LIMIT ?"), append(w.args, limit+1)...)
	if err != nil {
		return page, s.fail(op, err)
	}
	defer rows.Close()
	var items []store.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return page, s.fail(op, err)
		}
		items = append(items, d)
	}
	if err := rows.Err(); err != nil {
		return page, s.fail(op, err)
	}
	return finishPage(items, limit, func(d store.Delivery) int64 { return d.ID }), nil
}

// DeliveryAttempts returns the attempts of one delivery in the principal's subtree.
func (s *Store) DeliveryAttempts(ctx context.Context, p auth.Principal, id int64) ([]store.DeliveryAttempt, error) {
	const op = "list delivery attempts"
	if err := needRead(p); err != nil {
		return nil, s.fail(op, err)
	}
	sc, err := s.scopeOf(ctx, s.r, p)
	if err != nil {
		return nil, s.fail(op, err)
	}
	var path sql.NullString
	err = s.r.QueryRowContext(ctx, s.q("SELECT o.path FROM notify_deliveries d LEFT JOIN orgs o ON o.id = d.org_id WHERE d.id = ?"), id).Scan(&path)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !sc.all && !sc.contains(path.String)) {
		return nil, s.fail(op, notFound("delivery", id))
	}
	if err != nil {
		return nil, s.fail(op, err)
	}
	rows, err := s.r.QueryContext(ctx, s.q("SELECT id, delivery_id, attempt, at, ok, error FROM notify_attempts WHERE delivery_id = ? ORDER BY id"), id)
	if err != nil {
		return nil, s.fail(op, err)
	}
	defer rows.Close()
	out := []store.DeliveryAttempt{}
	for rows.Next() {
		var a store.DeliveryAttempt
		if err := rows.Scan(&a.ID, &a.DeliveryID, &a.Attempt, &a.At, &a.OK, &a.Error); err != nil {
			return nil, s.fail(op, err)
		}
		a.At = a.At.UTC()
		out = append(out, a)
	}
	return out, s.fail(op, rows.Err())
}

// NotifyTargets returns every organization with contacts or webhooks.
func (s *Store) NotifyTargets(ctx context.Context) ([]store.NotifyTarget, error) {
	const op = "notify targets"
	rows, err := s.r.QueryContext(ctx, "SELECT "+orgCols+" FROM orgs WHERE id IN (SELECT org_id FROM contacts UNION SELECT org_id FROM webhooks) ORDER BY id")
	if err != nil {
		return nil, s.fail(op, err)
	}
	var out []store.NotifyTarget
	idx := map[int64]int{}
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			rows.Close()
			return nil, s.fail(op, err)
		}
		idx[o.ID] = len(out)
		out = append(out, store.NotifyTarget{Org: o, Prefs: store.DefaultNotifyPrefs(o.ID), Contacts: []org.Contact{}, Webhooks: []store.Webhook{}})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.fail(op, err)
	}
	rows, err = s.r.QueryContext(ctx, "SELECT "+prefsCols+" FROM notify_prefs")
	if err != nil {
		return nil, s.fail(op, err)
	}
	for rows.Next() {
		np, err := scanPrefs(rows)
		if err != nil {
			rows.Close()
			return nil, s.fail(op, err)
		}
		if i, ok := idx[np.OrgID]; ok {
			out[i].Prefs = np
		}
	}
	rows.Close()
	rows, err = s.r.QueryContext(ctx, "SELECT "+contactCols+" FROM contacts ORDER BY id")
	if err != nil {
		return nil, s.fail(op, err)
	}
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			rows.Close()
			return nil, s.fail(op, err)
		}
		if i, ok := idx[c.OrgID]; ok {
			out[i].Contacts = append(out[i].Contacts, c)
		}
	}
	rows.Close()
	hooks, err := s.webhooks(ctx, s.r, "1 = 1")
	if err != nil {
		return nil, s.fail(op, err)
	}
	for _, w := range hooks {
		secret, err := s.openWebhookSecret(w.Secret)
		if err != nil {
			// Another key, or none: the webhook cannot sign; it goes
			// disabled (its deliveries fail visibly), the rest go on.
			s.log.Error("sqlstore: webhook secret does not open; the webhook is skipped", "webhook", w.ID, "err", err)
			secret, w.Enabled = "", false
		}
		w.Secret = secret
		if i, ok := idx[w.OrgID]; ok {
			out[i].Webhooks = append(out[i].Webhooks, w)
		}
	}
	return out, nil
}

// DigestFindings lists a digest's findings: one query classifies each
// finding of the subtree into its first matching section.
func (s *Store) DigestFindings(ctx context.Context, q store.DigestQuery) (store.DigestFindings, error) {
	const op = "digest findings"
	out := store.DigestFindings{Items: map[store.DigestSection][]store.Finding{}, Counts: map[store.DigestSection]int{}, Orgs: map[int64]org.Organization{}}
	var path string
	if err := s.r.QueryRowContext(ctx, s.q("SELECT path FROM orgs WHERE id = ?"), q.OrgID).Scan(&path); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return out, s.fail(op, notFound("organization", q.OrgID))
		}
		return out, s.fail(op, err)
	}
	since, at, soon := utc(q.Since), utc(q.Now), utc(q.DueBefore)
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	section := `CASE
		WHEN f.state = 'fixed' AND f.fixed_at > ? AND f.fixed_at <= ? THEN 'fixed'
		WHEN ` + activeStates + ` AND EXISTS (SELECT 1 FROM finding_events e WHERE e.finding_id = f.id AND e.to_state = 'reopened' AND e.at > ? AND e.at <= ?) THEN 'reopened'
		WHEN ` + activeStates + ` AND f.first_seen > ? AND f.first_seen <= ? THEN 'new'
		WHEN ` + activeStates + ` AND f.due_at IS NOT NULL AND f.due_at <= ? THEN 'overdue'
		WHEN ` + activeStates + ` AND f.due_at IS NOT NULL AND f.due_at <= ? THEN 'due-soon'
		ELSE '' END`
	cond, args := subtreeRange("o.path", path)
	query := "SELECT * FROM (SELECT " + findingColsF + ", f.severity_rank AS sr, " + section + " AS section, o.code AS org_code, o.name AS org_name, o.name_en AS org_name_en FROM findings f JOIN orgs o ON o.id = f.org_id WHERE " +
		cond + " AND (f.state <> 'fixed' OR f.fixed_at > ?)) x WHERE section <> '' ORDER BY sr DESC, id"
	all := append([]any{since, at, since, at, since, at, at, soon}, args...)
	all = append(all, since)
	rows, err := s.r.QueryContext(ctx, s.q(query), all...)
	if err != nil {
		return out, s.fail(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			rank int
			sec  string
			o    org.Organization
		)
		r, err := s.scanFinding(rows, &rank, &sec, &o.Code, &o.Name, &o.NameEN)
		if err != nil {
			return out, s.fail(op, err)
		}
		ds := store.DigestSection(sec)
		out.Counts[ds]++
		if len(out.Items[ds]) < limit {
			out.Items[ds] = append(out.Items[ds], r.Finding)
			o.ID = r.OrgID
			out.Orgs[o.ID] = o
		}
	}
	return out, s.fail(op, rows.Err())
}

// DigestMark returns the last digest sent to recipient.
func (s *Store) DigestMark(ctx context.Context, recipient string) (store.DigestMark, error) {
	m := store.DigestMark{Recipient: recipient}
	err := s.r.QueryRowContext(ctx, s.q("SELECT period, window_end FROM notify_digests WHERE recipient = ?"), recipient).Scan(&m.Period, &m.WindowEnd)
	if errors.Is(err, sql.ErrNoRows) {
		return m, nil
	}
	m.WindowEnd = m.WindowEnd.UTC()
	return m, s.fail("digest mark", err)
}

// MarkDigest records a digest period and its deliveries together.
func (s *Store) MarkDigest(ctx context.Context, m store.DigestMark, ds []*store.Delivery) (bool, error) {
	fresh := false
	err := s.write(ctx, "mark digest", func(tx *sql.Tx) error {
		var period string
		err := tx.QueryRowContext(ctx, s.q("SELECT period FROM notify_digests WHERE recipient = ?"+s.d.forUpdate()), m.Recipient).Scan(&period)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case period == m.Period:
			return nil
		}
		t := now()
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO notify_digests (recipient, period, window_end, sent_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (recipient) DO UPDATE SET period = excluded.period, window_end = excluded.window_end, sent_at = excluded.sent_at`),
			m.Recipient, m.Period, utc(m.WindowEnd), t)
		if err != nil {
			return err
		}
		fresh = true
		return s.enqueueTx(ctx, tx, ds)
	})
	if err != nil {
		return false, err
	}
	return fresh, nil
}

// EnqueueDeliveries stores new pending deliveries, skipping known keys.
func (s *Store) EnqueueDeliveries(ctx context.Context, ds []*store.Delivery) error {
	return s.write(ctx, "enqueue deliveries", func(tx *sql.Tx) error { return s.enqueueTx(ctx, tx, ds) })
}

func (s *Store) enqueueTx(ctx context.Context, tx *sql.Tx, ds []*store.Delivery) error {
	t := now()
	for _, d := range ds {
		if d.Key == "" || d.Recipient == "" || d.Kind == "" || (d.Channel != store.ChannelEmail && d.Channel != store.ChannelWebhook) {
			return invalid("delivery needs a key, a kind, a channel and a recipient")
		}
		next := t
		if d.NextAttemptAt != nil {
			next = utc(*d.NextAttemptAt)
		}
		var id int64
		err := tx.QueryRowContext(ctx, s.q(`INSERT INTO notify_deliveries (key, org_id, kind, channel, contact_id, webhook_id, recipient, subject, payload,
			state, attempts, next_attempt_at, last_error, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, '', ?, ?)
			ON CONFLICT (key) DO NOTHING RETURNING id`),
			d.Key, d.OrgID, d.Kind, string(d.Channel), nullInt64(d.ContactID), nullInt64(d.WebhookID), d.Recipient, d.Subject,
			evidenceArg(d.Payload), next, t, t).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			d.ID = 0
			continue
		}
		if err != nil {
			return err
		}
		d.ID, d.State, d.Attempts, d.NextAttemptAt, d.CreatedAt, d.UpdatedAt = id, store.DeliveryPending, 0, &next, t, t
	}
	return nil
}

// DueDeliveries returns pending deliveries due at now, with payloads.
func (s *Store) DueDeliveries(ctx context.Context, at time.Time, limit int) ([]store.Delivery, error) {
	const op = "due deliveries"
	if limit <= 0 {
		limit = store.DefaultLimit
	}
	rows, err := s.r.QueryContext(ctx, s.q("SELECT "+deliveryCols+", d.payload FROM notify_deliveries d WHERE d.state = 'pending' AND d.next_attempt_at <= ? ORDER BY d.next_attempt_at, d.id LIMIT ?"),
		utc(at), limit)
	if err != nil {
		return nil, s.fail(op, err)
	}
	defer rows.Close()
	var out []store.Delivery
	for rows.Next() {
		var payload sql.NullString
		d, err := scanDelivery(rows, &payload)
		if err != nil {
			return nil, s.fail(op, err)
		}
		if payload.Valid {
			d.Payload = json.RawMessage(payload.String)
		}
		out = append(out, d)
	}
	return out, s.fail(op, rows.Err())
}

// ClaimDelivery takes a due delivery for one attempt.
func (s *Store) ClaimDelivery(ctx context.Context, id int64, at, leaseUntil time.Time) (store.Delivery, bool, error) {
	var (
		d  store.Delivery
		ok bool
	)
	err := s.write(ctx, "claim delivery", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q("UPDATE notify_deliveries SET attempts = attempts + 1, next_attempt_at = ?, updated_at = ? WHERE id = ? AND state = 'pending' AND next_attempt_at <= ?"),
			utc(leaseUntil), now(), id, utc(at))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		var payload sql.NullString
		d, err = scanDelivery(tx.QueryRowContext(ctx, s.q("SELECT "+deliveryCols+", d.payload FROM notify_deliveries d WHERE d.id = ?"), id), &payload)
		if err != nil {
			return err
		}
		if payload.Valid {
			d.Payload = json.RawMessage(payload.String)
		}
		ok = true
		return nil
	})
	return d, ok, err
}

// RecordAttempt logs one attempt and moves the delivery on.
func (s *Store) RecordAttempt(ctx context.Context, a store.DeliveryAttempt, state store.DeliveryState, next *time.Time) error {
	const op = "record delivery attempt"
	switch {
	case state == store.DeliveryPending && next == nil:
		return s.fail(op, invalid("a pending delivery needs its next attempt time"))
	case state != store.DeliveryPending && state != store.DeliverySent && state != store.DeliveryFailed:
		return s.fail(op, invalid("delivery state %q", state))
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		at := utc(a.At)
		if _, err := tx.ExecContext(ctx, s.q("INSERT INTO notify_attempts (delivery_id, attempt, at, ok, error) VALUES (?, ?, ?, ?, ?)"),
			a.DeliveryID, a.Attempt, at, a.OK, a.Error); err != nil {
			return err
		}
		var sent any
		if state == store.DeliverySent {
			sent = at
		}
		var nextArg any
		if state == store.DeliveryPending {
			nextArg = utc(*next)
		}
		res, err := tx.ExecContext(ctx, s.q("UPDATE notify_deliveries SET state = ?, next_attempt_at = ?, last_error = ?, sent_at = COALESCE(sent_at, ?), updated_at = ? WHERE id = ?"),
			string(state), nextArg, a.Error, sent, now(), a.DeliveryID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("delivery", a.DeliveryID)
		}
		return nil
	})
}

// EscalationCandidates returns active findings due at or before dueBefore
// with the highest level recorded for their current due date.
func (s *Store) EscalationCandidates(ctx context.Context, dueBefore time.Time) ([]store.EscalationCandidate, error) {
	const op = "escalation candidates"
	rows, err := s.r.QueryContext(ctx, s.q("SELECT "+findingColsF+", o.id, o.parent_id, o.code, o.name, o.name_en, o.kind, o.path, o.created_at, o.updated_at, (SELECT COALESCE(MAX(e.level), 0) FROM notify_escalations e WHERE e.finding_id = f.id AND e.due_at = f.due_at) "+
		"FROM findings f JOIN orgs o ON o.id = f.org_id WHERE "+activeStates+" AND f.due_at <= ? ORDER BY f.id"), utc(dueBefore))
	if err != nil {
		return nil, s.fail(op, err)
	}
	defer rows.Close()
	var out []store.EscalationCandidate
	for rows.Next() {
		var c store.EscalationCandidate
		var (
			parent sql.NullInt64
			kind   string
		)
		o := &c.Org
		r, err := s.scanFinding(rows, &o.ID, &parent, &o.Code, &o.Name, &o.NameEN, &kind, &o.Path, &o.CreatedAt, &o.UpdatedAt, &c.Level)
		if err != nil {
			return nil, s.fail(op, err)
		}
		o.ParentID, o.Kind = parent.Int64, org.Kind(kind)
		o.CreatedAt, o.UpdatedAt = o.CreatedAt.UTC(), o.UpdatedAt.UTC()
		c.Finding = r.Finding
		out = append(out, c)
	}
	return out, s.fail(op, rows.Err())
}

// RecordEscalation stores escalation steps with their deliveries.
func (s *Store) RecordEscalation(ctx context.Context, steps []store.EscalationStep, ds []*store.Delivery) (bool, error) {
	fresh := false
	err := s.write(ctx, "record escalation", func(tx *sql.Tx) error {
		for _, st := range steps {
			res, err := tx.ExecContext(ctx, s.q(`INSERT INTO notify_escalations (finding_id, due_at, level, org_id, at) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (finding_id, due_at, level) DO NOTHING`), st.FindingID, utc(st.DueAt), st.Level, st.OrgID, utc(st.At))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return errAlreadyEscalated
			}
		}
		fresh = true
		return s.enqueueTx(ctx, tx, ds)
	})
	if errors.Is(err, errAlreadyEscalated) {
		return false, nil
	}
	return fresh, err
}

var errAlreadyEscalated = errors.New("already escalated")
