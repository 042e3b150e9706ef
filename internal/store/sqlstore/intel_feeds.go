package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/store"
)

var _ store.Intel = (*Store)(nil)

const feedCols = `f.id, f.name, f.format, f.preset, f.options, f.location, f.interval_s, f.enabled, f.tlp, f.analyst,
	f.last_run_at, f.last_ok_at, f.last_error, f.failures, f.n_records, f.n_new, f.n_updated, f.n_rejected, f.n_hits, f.rejections,
	(SELECT COUNT(*) FROM intel_feedback b WHERE b.feed_id = f.id), f.created_at, f.updated_at`

func scanFeed(sc scanner) (store.Feed, error) {
	var (
		f             store.Feed
		interval      int64
		tlp, rej      string
		lastRun, ok   sql.NullTime
		records, nNew int64
		upd, rj, hits int64
		fb            int64
	)
	err := sc.Scan(&f.ID, &f.Name, &f.Format, &f.Preset, &f.Options, &f.Location, &interval, &f.Enabled, &tlp, &f.Analyst,
		&lastRun, &ok, &f.LastError, &f.Failures, &records, &nNew, &upd, &rj, &hits, &rej, &fb, &f.CreatedAt, &f.UpdatedAt)
	if err != nil {
		return f, err
	}
	f.Interval = time.Duration(interval) * time.Second
	f.TLP = intel.TLP(tlp)
	f.LastRun, f.LastOK = timePtr(lastRun), timePtr(ok)
	f.Records, f.New, f.Updated, f.Rejected, f.Hits, f.Feedback = int(records), int(nNew), int(upd), int(rj), int(hits), int(fb)
	if rej != "" && rej != "[]" {
		_ = json.Unmarshal([]byte(rej), &f.Rejections)
	}
	f.CreatedAt, f.UpdatedAt = f.CreatedAt.UTC(), f.UpdatedAt.UTC()
	return f, nil
}

// checkFeed validates a feed's configuration.
func checkFeed(f *store.Feed) error {
	f.Name = strings.TrimSpace(f.Name)
	f.Format = strings.ToLower(strings.TrimSpace(f.Format))
	f.Location = strings.TrimSpace(f.Location)
	switch {
	case f.Name == "" || len(f.Name) > 200 || strings.ContainsAny(f.Name, "\r\n\t"):
		return invalid("feed name must be 1 to 200 characters on one line")
	case f.Format != "" && !slices.Contains(store.FeedFormats, f.Format):
		return invalid("feed format %q is not one of %s", f.Format, strings.Join(store.FeedFormats, ", "))
	case f.Interval < 0:
		return invalid("feed interval must not be negative")
	case f.Interval > 0 && f.Interval < time.Minute:
		return invalid("feed interval must be at least a minute")
	case f.Interval > 0 && f.Location == "":
		return invalid("a feed run on an interval needs a location")
	case f.Location != "" && f.Format == "":
		return invalid("a feed with a location needs a format")
	case len(f.Location) > 2000 || len(f.Options) > 64<<10 || len(f.Preset) > 200 || len(f.Analyst) > 200:
		return invalid("feed location, options, preset or analyst too long")
	case f.Options != "" && !json.Valid([]byte(f.Options)):
		return invalid("feed options are not JSON")
	}
	if f.TLP == "" {
		f.TLP = intel.TLPAmber
	}
	t, err := intel.ParseTLP(string(f.TLP))
	if err != nil {
		return invalid("feed TLP: %v", err)
	}
	f.TLP = t
	return nil
}

// CreateFeed stores a new feed.
func (s *Store) CreateFeed(ctx context.Context, p auth.Principal, f *store.Feed) error {
	const op = "create feed"
	if err := needIntelAdmin(p); err != nil {
		return s.fail(op, err)
	}
	if err := checkFeed(f); err != nil {
		return s.fail(op, err)
	}
	at := now()
	return s.write(ctx, op, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.q(`INSERT INTO intel_feeds (name, format, preset, options, location, interval_s, enabled, tlp, analyst, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			f.Name, f.Format, f.Preset, f.Options, f.Location, int64(f.Interval/time.Second), f.Enabled, string(f.TLP), f.Analyst, at, at).Scan(&f.ID)
		if err != nil {
			return err
		}
		f.CreatedAt, f.UpdatedAt = at, at
		return s.audit(ctx, tx, p, change{action: "intel.feed.create", objType: "intel_feed", objID: f.ID, after: f})
	})
}

// UpdateFeed changes a feed's configuration.
func (s *Store) UpdateFeed(ctx context.Context, p auth.Principal, f *store.Feed) error {
	const op = "update feed"
	if err := needIntelAdmin(p); err != nil {
		return s.fail(op, err)
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		old, err := scanFeed(tx.QueryRowContext(ctx, s.q("SELECT "+feedCols+" FROM intel_feeds f WHERE f.id = ?"+s.d.forUpdate()), f.ID))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("feed", f.ID)
		}
		if err != nil {
			return err
		}
		f.Name = old.Name
		if err := checkFeed(f); err != nil {
			return err
		}
		at := now()
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE intel_feeds SET format = ?, preset = ?, options = ?, location = ?, interval_s = ?, enabled = ?, tlp = ?, analyst = ?, updated_at = ?
			WHERE id = ?`), f.Format, f.Preset, f.Options, f.Location, int64(f.Interval/time.Second), f.Enabled, string(f.TLP), f.Analyst, at, f.ID); err != nil {
			return err
		}
		upd, err := scanFeed(tx.QueryRowContext(ctx, s.q("SELECT "+feedCols+" FROM intel_feeds f WHERE f.id = ?"), f.ID))
		if err != nil {
			return err
		}
		*f = upd
		return s.audit(ctx, tx, p, change{action: "intel.feed.update", objType: "intel_feed", objID: f.ID, before: feedConfig(old), after: feedConfig(upd)})
	})
}

// feedRunOf is what the audit log keeps of a feed's last run.
func feedRunOf(f store.Feed) map[string]any {
	return map[string]any{"last_run": f.LastRun, "last_ok": f.LastOK, "error": f.LastError, "failures": f.Failures,
		"records": f.Records, "new": f.New, "updated": f.Updated, "rejected": f.Rejected, "hits": f.Hits}
}

// feedConfig is what the audit log keeps of a feed: its configuration.
func feedConfig(f store.Feed) map[string]any {
	return map[string]any{"name": f.Name, "format": f.Format, "preset": f.Preset, "options": f.Options, "location": f.Location,
		"interval": f.Interval.String(), "enabled": f.Enabled, "tlp": f.TLP, "analyst": f.Analyst}
}

// GetFeed returns a feed by ID.
func (s *Store) GetFeed(ctx context.Context, p auth.Principal, id int64) (store.Feed, error) {
	return s.oneFeed(ctx, p, "get feed", "f.id = ?", id)
}

// GetFeedByName returns a feed by name.
func (s *Store) GetFeedByName(ctx context.Context, p auth.Principal, name string) (store.Feed, error) {
	return s.oneFeed(ctx, p, "get feed", "f.name = ?", name)
}

func (s *Store) oneFeed(ctx context.Context, p auth.Principal, op, cond string, arg any) (store.Feed, error) {
	if err := needIntelAdmin(p); err != nil {
		return store.Feed{}, s.fail(op, err)
	}
	f, err := scanFeed(s.r.QueryRowContext(ctx, s.q("SELECT "+feedCols+" FROM intel_feeds f WHERE "+cond), arg))
	if errors.Is(err, sql.ErrNoRows) {
		return f, s.fail(op, notFound("feed", arg))
	}
	return f, s.fail(op, err)
}

// ListFeeds returns every feed by name.
func (s *Store) ListFeeds(ctx context.Context, p auth.Principal) ([]store.Feed, error) {
	const op = "list feeds"
	if err := needIntelAdmin(p); err != nil {
		return nil, s.fail(op, err)
	}
	out, err := queryAll(ctx, s.r, scanFeed, "SELECT "+feedCols+" FROM intel_feeds f ORDER BY f.name")
	if err != nil {
		return nil, s.fail(op, err)
	}
	if out == nil {
		out = []store.Feed{}
	}
	return out, nil
}

// DeleteFeed removes a feed no indicator names.
func (s *Store) DeleteFeed(ctx context.Context, p auth.Principal, id int64) error {
	const op = "delete feed"
	if err := needIntelAdmin(p); err != nil {
		return s.fail(op, err)
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		old, err := scanFeed(tx.QueryRowContext(ctx, s.q("SELECT "+feedCols+" FROM intel_feeds f WHERE f.id = ?"+s.d.forUpdate()), id))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("feed", id)
		}
		if err != nil {
			return err
		}
		var used int
		if err := tx.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM (SELECT 1 FROM intel_source_rows WHERE feed_id = ? LIMIT 1) x"), id).Scan(&used); err != nil {
			return err
		}
		if used > 0 {
			return conflictf("feed %q is the source of indicators", old.Name)
		}
		if _, err := tx.ExecContext(ctx, s.q("DELETE FROM intel_feeds WHERE id = ?"), id); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, change{action: "intel.feed.delete", objType: "intel_feed", objID: id, before: feedConfig(old)})
	})
}

func conflictf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", store.ErrConflict, fmt.Sprintf(format, args...))
}

// RecordFeedRun stores a run's outcome on the named feed (created when
// missing).
func (s *Store) RecordFeedRun(ctx context.Context, p auth.Principal, name string, r store.FeedRun) (store.Feed, error) {
	const op = "record feed run"
	var out store.Feed
	if err := needIntelAdmin(p); err != nil {
		return out, s.fail(op, err)
	}
	if r.At.IsZero() {
		r.At = now()
	}
	at := r.At.UTC().Truncate(time.Microsecond)
	rej := r.Rejections
	if len(rej) > store.MaxFeedRejections {
		rej = rej[:store.MaxFeedRejections]
	}
	for i := range rej {
		rej[i].Where, rej[i].Reason = cut(rej[i].Where, 200), cut(rej[i].Reason, 500)
	}
	rejJSON := "[]"
	if len(rej) > 0 {
		rejJSON = mustJSON(rej)
	}
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		feeds, err := s.feedIDs(ctx, tx, map[string]bool{name: true})
		if err != nil {
			return err
		}
		id := feeds.id[name]
		old, err := scanFeed(tx.QueryRowContext(ctx, s.q("SELECT "+feedCols+" FROM intel_feeds f WHERE f.id = ?"+s.d.forUpdate()), id))
		if err != nil {
			return err
		}
		if r.Err == "" {
			_, err = tx.ExecContext(ctx, s.q(`UPDATE intel_feeds SET last_run_at = ?, last_ok_at = ?, last_error = '', failures = 0,
				n_records = ?, n_new = ?, n_updated = ?, n_rejected = ?, n_hits = ?, rejections = ?, updated_at = ? WHERE id = ?`),
				at, at, r.Records, r.New, r.Updated, r.Rejected, r.Hits, rejJSON, now(), id)
		} else {
			_, err = tx.ExecContext(ctx, s.q(`UPDATE intel_feeds SET last_run_at = ?, last_error = ?, failures = failures + 1, updated_at = ? WHERE id = ?`),
				at, cut(r.Err, 2000), now(), id)
		}
		if err != nil {
			return err
		}
		out, err = scanFeed(tx.QueryRowContext(ctx, s.q("SELECT "+feedCols+" FROM intel_feeds f WHERE f.id = ?"), id))
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, p, change{action: "intel.feed.run", objType: "intel_feed", objID: id, before: feedRunOf(old), after: feedRunOf(out)})
	})
	return out, s.fail(op, err)
}

// cut shortens s to at most n bytes, dropping a character cut in two.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// AddFeedback stores an owner's dispute, once per event.
func (s *Store) AddFeedback(ctx context.Context, fb store.Feedback) (bool, error) {
	const op = "add feedback"
	if fb.EventID == "" || fb.Feed == "" {
		return false, s.fail(op, invalid("feedback needs an event ID and a feed"))
	}
	if fb.At.IsZero() {
		fb.At = now()
	}
	added := false
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		var feed int64
		err := tx.QueryRowContext(ctx, s.q("SELECT id FROM intel_feeds WHERE name = ?"), fb.Feed).Scan(&feed)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`INSERT INTO intel_feedback (event_id, feed_id, finding_id, org_id, kind, target, subject, action, reason, actor, at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING`),
			cut(fb.EventID, 500), feed, fb.FindingID, fb.OrgID, cut(fb.Kind, 200), cut(fb.Target, 500), cut(fb.Subject, 500),
			cut(fb.Action, 100), cut(fb.Reason, 2000), cut(fb.Actor, 200), fb.At.UTC().Truncate(time.Microsecond))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		added = n > 0
		return err
	})
	return added, s.fail(op, err)
}

// ListFeedback returns a feed's feedback, newest first.
func (s *Store) ListFeedback(ctx context.Context, p auth.Principal, feedID int64, pr store.PageRequest) (store.Page[store.Feedback], error) {
	const op = "list feedback"
	var page store.Page[store.Feedback]
	if err := needIntelAdmin(p); err != nil {
		return page, s.fail(op, err)
	}
	limit, after, err := pageStart(pr)
	if err != nil {
		return page, s.fail(op, err)
	}
	w := where{}
	w.add("b.feed_id = ?", feedID)
	if after > 0 {
		w.add("b.id < ?", after)
	}
	items, err := queryAll(ctx, s.r, func(sc scanner) (store.Feedback, error) {
		var fb store.Feedback
		err := sc.Scan(&fb.ID, &fb.EventID, &fb.Feed, &fb.FindingID, &fb.OrgID, &fb.Kind, &fb.Target, &fb.Subject, &fb.Action, &fb.Reason, &fb.Actor, &fb.At)
		fb.At = fb.At.UTC()
		return fb, err
	}, s.q(`SELECT b.id, b.event_id, f.name, b.finding_id, b.org_id, b.kind, b.target, b.subject, b.action, b.reason, b.actor, b.at
		FROM intel_feedback b JOIN intel_feeds f ON f.id = b.feed_id`+w.String()+" ORDER BY b.id DESC LIMIT ?"), append(w.args, limit+1)...)
	if err != nil {
		return page, s.fail(op, err)
	}
	return finishPage(items, limit, func(fb store.Feedback) int64 { return fb.ID }), nil
}
