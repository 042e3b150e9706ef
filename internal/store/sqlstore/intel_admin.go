package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/store"
)

// The review queue and the blocklist consumers.

const reviewCols = `r.id, r.indicator_id, i.kind, i.value, r.reason, r.state, r.note, r.decided_by, r.decided_at, r.created_at, r.updated_at`

const reviewFrom = ` FROM intel_reviews r JOIN intel_indicators i ON i.id = r.indicator_id`

func scanReview(sc scanner) (store.Review, error) {
	var (
		r            store.Review
		kind, state  string
		decidedAt    sql.NullTime
		created, upd time.Time
	)
	if err := sc.Scan(&r.ID, &r.IndicatorID, &kind, &r.Value, &r.Reason, &state, &r.Note, &r.DecidedBy, &decidedAt, &created, &upd); err != nil {
		return r, err
	}
	r.Kind, r.State = intel.Kind(kind), store.ReviewState(state)
	r.DecidedAt = timePtr(decidedAt)
	r.CreatedAt, r.UpdatedAt = created.UTC(), upd.UTC()
	return r, nil
}

// QueueReview holds an indicator back for an analyst.
func (s *Store) QueueReview(ctx context.Context, p auth.Principal, indicatorID int64, reason string) (store.Review, bool, error) {
	const op = "queue review"
	var (
		out, before store.Review
		created     bool
	)
	if err := needIntelAdmin(p); err != nil {
		return out, false, s.fail(op, err)
	}
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 1000 {
		return out, false, s.fail(op, invalid("a review needs a reason of at most 1000 bytes"))
	}
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		cur, err := scanReview(tx.QueryRowContext(ctx, s.q("SELECT "+reviewCols+reviewFrom+" WHERE r.indicator_id = ?"+s.d.forUpdate()), indicatorID))
		at := now()
		switch {
		case errors.Is(err, sql.ErrNoRows):
			var n int
			if err := tx.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM intel_indicators WHERE id = ?"), indicatorID).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return notFound("indicator", indicatorID)
			}
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO intel_reviews (indicator_id, reason, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`),
				indicatorID, reason, string(store.ReviewPending), at, at); err != nil {
				return err
			}
			created = true
		case err != nil:
			return err
		case cur.Reason == reason:
			out = cur
			return nil
		default:
			before = cur
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE intel_reviews SET reason = ?, state = ?, note = '', decided_by = '', decided_at = NULL, updated_at = ? WHERE id = ?`),
				reason, string(store.ReviewPending), at, cur.ID); err != nil {
				return err
			}
			created = true
		}
		out, err = scanReview(tx.QueryRowContext(ctx, s.q("SELECT "+reviewCols+reviewFrom+" WHERE r.indicator_id = ?"), indicatorID))
		if err != nil {
			return err
		}
		if before.ID == 0 {
			return s.audit(ctx, tx, p, change{action: "intel.review.create", objType: "intel_review", objID: out.ID, after: out})
		}
		return s.audit(ctx, tx, p, change{action: "intel.review.reopen", objType: "intel_review", objID: out.ID, before: before, after: out})
	})
	if err != nil {
		return store.Review{}, false, s.fail(op, err)
	}
	return out, created, nil
}

// DecideReview approves or rejects a review.
func (s *Store) DecideReview(ctx context.Context, p auth.Principal, id int64, approve bool, note string) (store.Review, error) {
	const op = "decide review"
	var out store.Review
	if err := needIntelAdmin(p); err != nil {
		return out, s.fail(op, err)
	}
	if len(note) > 2000 {
		return out, s.fail(op, invalid("a note is at most 2000 bytes"))
	}
	state := store.ReviewRejected
	if approve {
		state = store.ReviewApproved
	}
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		cur, err := scanReview(tx.QueryRowContext(ctx, s.q("SELECT "+reviewCols+reviewFrom+" WHERE r.id = ?"+s.d.forUpdate()), id))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("review", id)
		}
		if err != nil {
			return err
		}
		at := now()
		by, _ := actorOf(p)
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE intel_reviews SET state = ?, note = ?, decided_by = ?, decided_at = ?, updated_at = ? WHERE id = ?`),
			string(state), strings.TrimSpace(note), by, at, at, id); err != nil {
			return err
		}
		out, err = scanReview(tx.QueryRowContext(ctx, s.q("SELECT "+reviewCols+reviewFrom+" WHERE r.id = ?"), id))
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, p, change{action: "intel.review.decide", objType: "intel_review", objID: id, before: cur, after: out})
	})
	if err != nil {
		return store.Review{}, s.fail(op, err)
	}
	return out, nil
}

// GetReview returns one review.
func (s *Store) GetReview(ctx context.Context, p auth.Principal, id int64) (store.Review, error) {
	const op = "get review"
	if err := needIntelAdmin(p); err != nil {
		return store.Review{}, s.fail(op, err)
	}
	r, err := scanReview(s.r.QueryRowContext(ctx, s.q("SELECT "+reviewCols+reviewFrom+" WHERE r.id = ?"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, s.fail(op, notFound("review", id))
	}
	return r, s.fail(op, err)
}

// ListReviews returns reviews newest first.
func (s *Store) ListReviews(ctx context.Context, p auth.Principal, f store.ReviewFilter) (store.Page[store.Review], error) {
	const op = "list reviews"
	var page store.Page[store.Review]
	if err := needIntelAdmin(p); err != nil {
		return page, s.fail(op, err)
	}
	limit, after, err := pageStart(f.PageRequest)
	if err != nil {
		return page, s.fail(op, err)
	}
	var w where
	if f.State != "" {
		w.add("r.state = ?", string(f.State))
	}
	if f.IndicatorID != 0 {
		w.add("r.indicator_id = ?", f.IndicatorID)
	}
	if after > 0 {
		w.add("r.id < ?", after)
	}
	items, err := queryAll(ctx, s.r, scanReview, s.q("SELECT "+reviewCols+reviewFrom+w.String()+" ORDER BY r.id DESC LIMIT ?"), append(w.args, limit+1)...)
	if err != nil {
		return page, s.fail(op, err)
	}
	return finishPage(items, limit, func(r store.Review) int64 { return r.ID }), nil
}

const consumerCols = `id, name, key_hash, org_id, kinds, min_confidence, max_tlp, max_age_s, formats, enabled, last_used_at, created_at, updated_at`

func scanConsumer(sc scanner) (store.Consumer, error) {
	var (
		c              store.Consumer
		org            sql.NullInt64
		kinds, formats string
		tlp            string
		maxAge         int64
		used           sql.NullTime
	)
	if err := sc.Scan(&c.ID, &c.Name, &c.KeyHash, &org, &kinds, &c.MinConfidence, &tlp, &maxAge, &formats, &c.Enabled, &used, &c.CreatedAt, &c.UpdatedAt); err != nil {
		return c, err
	}
	c.OrgID = org.Int64
	c.MaxTLP = intel.TLP(tlp)
	c.MaxAge = time.Duration(maxAge) * time.Second
	_ = json.Unmarshal([]byte(kinds), &c.Kinds)
	_ = json.Unmarshal([]byte(formats), &c.Formats)
	c.LastUsedAt = timePtr(used)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, nil
}

var keyHashPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{64}$`) })

var formatPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`) })

// checkConsumer validates a consumer; needKey requires a key hash.
func checkConsumer(c *store.Consumer, needKey bool) error {
	c.Name = strings.TrimSpace(c.Name)
	if c.Name == "" || len(c.Name) > 200 || strings.ContainsAny(c.Name, "\r\n\t") {
		return invalid("consumer name must be 1 to 200 characters on one line")
	}
	if (needKey || c.KeyHash != "") && !keyHashPattern().MatchString(c.KeyHash) {
		return invalid("consumer key hash must be a hex SHA-256")
	}
	for _, k := range c.Kinds {
		if !k.Valid() {
			return invalid("consumer kind %q", k)
		}
	}
	slices.Sort(c.Kinds)
	c.Kinds = slices.Compact(c.Kinds)
	for i, f := range c.Formats {
		c.Formats[i] = strings.ToLower(strings.TrimSpace(f))
		if !formatPattern().MatchString(c.Formats[i]) {
			return invalid("consumer format %q", f)
		}
	}
	slices.Sort(c.Formats)
	c.Formats = slices.Compact(c.Formats)
	if c.MinConfidence < 0 || c.MinConfidence > 100 {
		return invalid("consumer minimum confidence %d is outside 0-100", c.MinConfidence)
	}
	if c.MaxAge < 0 {
		return invalid("consumer maximum age must not be negative")
	}
	if c.MaxTLP == "" {
		c.MaxTLP = intel.TLPGreen
	}
	t, err := intel.ParseTLP(string(c.MaxTLP))
	if err != nil {
		return invalid("consumer TLP: %v", err)
	}
	c.MaxTLP = t
	if c.Kinds == nil {
		c.Kinds = []intel.Kind{}
	}
	if c.Formats == nil {
		c.Formats = []string{}
	}
	return nil
}

// CreateConsumer stores a new consumer.
func (s *Store) CreateConsumer(ctx context.Context, p auth.Principal, c *store.Consumer) error {
	const op = "create consumer"
	if err := needIntelAdmin(p); err != nil {
		return s.fail(op, err)
	}
	if err := checkConsumer(c, true); err != nil {
		return s.fail(op, err)
	}
	at := now()
	return s.write(ctx, op, func(tx *sql.Tx) error {
		if c.OrgID != 0 {
			if _, err := s.loadOrg(ctx, tx, scope{all: true}, c.OrgID, false); err != nil {
				return err
			}
		}
		err := tx.QueryRowContext(ctx, s.q(`INSERT INTO intel_consumers (name, key_hash, org_id, kinds, min_confidence, max_tlp, max_age_s, formats, enabled, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			c.Name, c.KeyHash, nullInt64(c.OrgID), mustJSON(c.Kinds), c.MinConfidence, string(c.MaxTLP), int64(c.MaxAge/time.Second),
			mustJSON(c.Formats), c.Enabled, at, at).Scan(&c.ID)
		if err != nil {
			return err
		}
		c.CreatedAt, c.UpdatedAt = at, at
		return s.audit(ctx, tx, p, change{orgID: c.OrgID, action: "intel.consumer.create", objType: "intel_consumer", objID: c.ID, after: c})
	})
}

// UpdateConsumer changes a consumer; an empty KeyHash keeps the key.
func (s *Store) UpdateConsumer(ctx context.Context, p auth.Principal, c *store.Consumer) error {
	const op = "update consumer"
	if err := needIntelAdmin(p); err != nil {
		return s.fail(op, err)
	}
	if err := checkConsumer(c, false); err != nil {
		return s.fail(op, err)
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		old, err := scanConsumer(tx.QueryRowContext(ctx, s.q("SELECT "+consumerCols+" FROM intel_consumers WHERE id = ?"+s.d.forUpdate()), c.ID))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("consumer", c.ID)
		}
		if err != nil {
			return err
		}
		if c.OrgID != 0 {
			if _, err := s.loadOrg(ctx, tx, scope{all: true}, c.OrgID, false); err != nil {
				return err
			}
		}
		if c.KeyHash == "" {
			c.KeyHash = old.KeyHash
		}
		at := now()
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE intel_consumers SET name = ?, key_hash = ?, org_id = ?, kinds = ?, min_confidence = ?, max_tlp = ?, max_age_s = ?,
			formats = ?, enabled = ?, updated_at = ? WHERE id = ?`),
			c.Name, c.KeyHash, nullInt64(c.OrgID), mustJSON(c.Kinds), c.MinConfidence, string(c.MaxTLP), int64(c.MaxAge/time.Second),
			mustJSON(c.Formats), c.Enabled, at, c.ID); err != nil {
			return err
		}
		upd, err := scanConsumer(tx.QueryRowContext(ctx, s.q("SELECT "+consumerCols+" FROM intel_consumers WHERE id = ?"), c.ID))
		if err != nil {
			return err
		}
		*c = upd
		return s.audit(ctx, tx, p, change{orgID: c.OrgID, action: "intel.consumer.update", objType: "intel_consumer", objID: c.ID, before: old, after: upd})
	})
}

// GetConsumer returns one consumer.
func (s *Store) GetConsumer(ctx context.Context, p auth.Principal, id int64) (store.Consumer, error) {
	const op = "get consumer"
	if err := needIntelAdmin(p); err != nil {
		return store.Consumer{}, s.fail(op, err)
	}
	c, err := scanConsumer(s.r.QueryRowContext(ctx, s.q("SELECT "+consumerCols+" FROM intel_consumers WHERE id = ?"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, s.fail(op, notFound("consumer", id))
	}
	return c, s.fail(op, err)
}

// ListConsumers returns every consumer by name.
func (s *Store) ListConsumers(ctx context.Context, p auth.Principal) ([]store.Consumer, error) {
	const op = "list consumers"
	if err := needIntelAdmin(p); err != nil {
		return nil, s.fail(op, err)
	}
	out, err := queryAll(ctx, s.r, scanConsumer, "SELECT "+consumerCols+" FROM intel_consumers ORDER BY name")
	if err != nil {
		return nil, s.fail(op, err)
	}
	if out == nil {
		out = []store.Consumer{}
	}
	return out, nil
}

// DeleteConsumer removes a consumer.
func (s *Store) DeleteConsumer(ctx context.Context, p auth.Principal, id int64) error {
	const op = "delete consumer"
	if err := needIntelAdmin(p); err != nil {
		return s.fail(op, err)
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		old, err := scanConsumer(tx.QueryRowContext(ctx, s.q("SELECT "+consumerCols+" FROM intel_consumers WHERE id = ?"+s.d.forUpdate()), id))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("consumer", id)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q("DELETE FROM intel_consumers WHERE id = ?"), id); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, change{orgID: old.OrgID, action: "intel.consumer.delete", objType: "intel_consumer", objID: id, before: old})
	})
}

// ConsumerForKey finds an enabled consumer by its key's hash.
func (s *Store) ConsumerForKey(ctx context.Context, keyHash string) (store.Consumer, error) {
	const op = "consumer for key"
	c, err := scanConsumer(s.r.QueryRowContext(ctx, s.q("SELECT "+consumerCols+" FROM intel_consumers WHERE key_hash = ?"), keyHash))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !c.Enabled) {
		return store.Consumer{}, s.fail(op, notFound("consumer", "by key"))
	}
	if err != nil {
		return c, s.fail(op, err)
	}
	at := now()
	if c.LastUsedAt == nil || at.Sub(*c.LastUsedAt) >= time.Minute {
		err := s.write(ctx, op, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, s.q("UPDATE intel_consumers SET last_used_at = ? WHERE id = ?"), at, c.ID)
			return err
		})
		if err != nil {
			return c, err
		}
		c.LastUsedAt = &at
	}
	return c, nil
}
