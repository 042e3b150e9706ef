package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/store"
)

const indicatorCols = `i.id, i.kind, i.value, i.category, i.confidence, i.tlp, i.first_seen, i.last_seen, i.valid_until, i.labels, i.seq, i.created, i.modified, i.sightings`

func scanIndicator(sc scanner) (store.StoredIndicator, error) {
	var (
		si                          store.StoredIndicator
		kind, cat, labels           string
		tlp                         int
		first, last, valid, cr, mod int64
		sightings                   int64
	)
	in := &si.Indicator
	if err := sc.Scan(&in.ID, &kind, &in.Value, &cat, &in.Confidence, &tlp, &first, &last, &valid, &labels, &si.Seq, &cr, &mod, &sightings); err != nil {
		return si, err
	}
	in.Kind, in.Category, in.TLP = intel.Kind(kind), intel.Category(cat), tlpOfRank(tlp)
	in.FirstSeen, in.LastSeen, in.ValidUntil = fromMicros(first), fromMicros(last), fromMicros(valid)
	in.Labels = decodeLabels(labels)
	in.Sightings = int(sightings)
	si.Created, si.Modified = fromMicros(cr), fromMicros(mod)
	return si, nil
}

// maxTLPFor is the strictest marking p may read: everything for
// platform-wide principals, CLEAR and GREEN for the rest.
func maxTLPFor(p auth.Principal) int {
	if p.SeesAll() {
		return intel.TLPRed.Rank()
	}
	return intel.TLPGreen.Rank()
}

func needReadFeeds(p auth.Principal) error {
	if !p.Can(auth.PermReadFeeds) {
		return forbidden("reading indicators needs " + string(auth.PermReadFeeds))
	}
	return nil
}

// indicatorWhere builds the conditions of a filter for p.
func (s *Store) indicatorWhere(ctx context.Context, p auth.Principal, f store.IndicatorFilter) (where, error) {
	var w where
	limit := maxTLPFor(p)
	if f.MaxTLP != "" {
		t, err := intel.ParseTLP(string(f.MaxTLP))
		if err != nil {
			return w, invalid("max TLP: %v", err)
		}
		limit = min(limit, t.Rank())
	}
	if limit < intel.TLPRed.Rank() {
		w.add("i.tlp <= ?", limit)
	}
	if f.Kind != "" {
		if !f.Kind.Valid() {
			return w, invalid("kind %q", f.Kind)
		}
		w.add("i.kind = ?", string(f.Kind))
	}
	if f.Category != "" {
		w.add("i.category = ?", string(f.Category))
	}
	if f.Feed != "" {
		// The source kept on the row, else a probe of the sources'
		// primary key per indicator: an index of sources by feed would
		// cost every import more than this filter saves.
		w.add(`(i.src_feed = (SELECT d.id FROM intel_feeds d WHERE d.name = ?)
			OR EXISTS (SELECT 1 FROM intel_sources c WHERE c.indicator_id = i.id AND c.feed_id = (SELECT d.id FROM intel_feeds d WHERE d.name = ?)))`, f.Feed, f.Feed)
	}
	if f.Label != "" {
		b, _ := json.Marshal(strings.ToLower(strings.TrimSpace(f.Label)))
		w.add("i.labels LIKE ? ESCAPE '\\'", likeArg(string(b)))
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		w.add(s.d.like("i.value"), likeArg(q))
	}
	if f.MinConfidence > 0 {
		w.add("i.confidence >= ?", f.MinConfidence)
	}
	if f.Active {
		at := f.Now
		if at.IsZero() {
			at = time.Now()
		}
		w.add("(i.valid_until = 0 OR i.valid_until > ?)", micros(at))
	}
	if f.AfterSeq > 0 {
		w.add("i.seq > ?", f.AfterSeq)
	}
	if !f.ChangedSince.IsZero() {
		w.add("i.modified >= ?", micros(f.ChangedSince))
	}
	return w, nil
}

// GetIndicator returns one indicator with its sources.
func (s *Store) GetIndicator(ctx context.Context, p auth.Principal, id int64) (store.StoredIndicator, error) {
	return s.oneIndicator(ctx, p, "get indicator", "i.id = ?", id)
}

// FindIndicator returns the indicator of a kind and value, with its sources.
func (s *Store) FindIndicator(ctx context.Context, p auth.Principal, k store.IndicatorKey) (store.StoredIndicator, error) {
	return s.oneIndicator(ctx, p, "find indicator", "i.vhash = ? AND i.kind = ? AND i.value = ?", valueHash(k.Kind, k.Value), string(k.Kind), k.Value)
}

func (s *Store) oneIndicator(ctx context.Context, p auth.Principal, op, cond string, args ...any) (store.StoredIndicator, error) {
	if err := needReadFeeds(p); err != nil {
		return store.StoredIndicator{}, s.fail(op, err)
	}
	args = append(args, maxTLPFor(p))
	si, err := scanIndicator(s.r.QueryRowContext(ctx, s.q("SELECT "+indicatorCols+" FROM intel_indicators i WHERE "+cond+" AND i.tlp <= ?"), args...))
	if errors.Is(err, sql.ErrNoRows) {
		return si, s.fail(op, notFound("indicator", args[0]))
	}
	if err != nil {
		return si, s.fail(op, err)
	}
	items := []store.StoredIndicator{si}
	if err := s.fillSources(ctx, items); err != nil {
		return si, s.fail(op, err)
	}
	if err := s.fillRecipients(ctx, s.r, items); err != nil {
		return si, s.fail(op, err)
	}
	return items[0], nil
}

// fillSources reads the sources of items.
func (s *Store) fillSources(ctx context.Context, items []store.StoredIndicator) error {
	if len(items) == 0 {
		return nil
	}
	at := make(map[int64]int, len(items))
	ids := make([]any, 0, len(items))
	for i, it := range items {
		at[it.ID] = i
		ids = append(ids, it.ID)
	}
	for len(ids) > 0 {
		n := min(len(ids), applyIn)
		chunk := ids[:n]
		ids = ids[n:]
		rows, err := s.r.QueryContext(ctx, s.q(`SELECT c.indicator_id, d.name, c.external_id, c.confidence, c.tlp, c.first_seen, c.last_seen, c.valid_until
			FROM intel_source_rows c JOIN intel_feeds d ON d.id = c.feed_id WHERE c.indicator_id IN (`+placeholders(n, 1)+`) ORDER BY c.indicator_id, d.name`), chunk...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var (
				id                 int64
				src                intel.Source
				tlp                int
				first, last, valid int64
			)
			if err := rows.Scan(&id, &src.Feed, &src.ExternalID, &src.Confidence, &tlp, &first, &last, &valid); err != nil {
				rows.Close()
				return err
			}
			src.TLP = tlpOfRank(tlp)
			src.FirstSeen, src.LastSeen, src.ValidUntil = fromMicros(first), fromMicros(last), fromMicros(valid)
			it := &items[at[id]]
			it.Sources = append(it.Sources, src)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// ListIndicators returns one page in Seq order.
func (s *Store) ListIndicators(ctx context.Context, p auth.Principal, f store.IndicatorFilter) (store.Page[store.StoredIndicator], error) {
	const op = "list indicators"
	var page store.Page[store.StoredIndicator]
	if err := needReadFeeds(p); err != nil {
		return page, s.fail(op, err)
	}
	limit, after, err := pageStart(f.PageRequest)
	if err != nil {
		return page, s.fail(op, err)
	}
	w, err := s.indicatorWhere(ctx, p, f)
	if err != nil {
		return page, s.fail(op, err)
	}
	dir := " ORDER BY i.seq"
	if f.Newest {
		dir += " DESC"
		if after > 0 {
			w.add("i.seq < ?", after)
		}
	} else if after > 0 {
		w.add("i.seq > ?", after)
	}
	items, err := queryAll(ctx, s.r, scanIndicator, s.q("SELECT "+indicatorCols+" FROM intel_indicators i"+w.String()+dir+" LIMIT ?"), append(w.args, limit+1)...)
	if err != nil {
		return page, s.fail(op, err)
	}
	page = finishPage(items, limit, func(si store.StoredIndicator) int64 { return si.Seq })
	if err := s.fillRecipients(ctx, s.r, page.Items); err != nil {
		return page, s.fail(op, err)
	}
	if f.Sources {
		if err := s.fillSources(ctx, page.Items); err != nil {
			return page, s.fail(op, err)
		}
	}
	return page, nil
}

// EachIndicator streams indicators in Seq order, a page at a time so no
// read transaction stays open while fn works.
func (s *Store) EachIndicator(ctx context.Context, p auth.Principal, f store.IndicatorFilter, fn func(store.StoredIndicator) error) error {
	const op = "each indicator"
	if err := needReadFeeds(p); err != nil {
		return s.fail(op, err)
	}
	w, err := s.indicatorWhere(ctx, p, f)
	if err != nil {
		return s.fail(op, err)
	}
	const chunk = 5000
	after := f.AfterSeq
	for {
		ww := where{conds: append([]string(nil), w.conds...), args: append([]any(nil), w.args...)}
		ww.add("i.seq > ?", after)
		items, err := queryAll(ctx, s.r, scanIndicator, s.q("SELECT "+indicatorCols+" FROM intel_indicators i"+ww.String()+" ORDER BY i.seq LIMIT "+strconv.Itoa(chunk)), ww.args...)
		if err != nil {
			return s.fail(op, err)
		}
		if f.Sources {
			if err := s.fillSources(ctx, items); err != nil {
				return s.fail(op, err)
			}
		}
		if err := s.fillRecipients(ctx, s.r, items); err != nil {
			return s.fail(op, err)
		}
		for _, it := range items {
			if err := fn(it); err != nil {
				return err
			}
		}
		if len(items) < chunk {
			return nil
		}
		after = items[len(items)-1].Seq
	}
}

// IntelSeq returns the highest change stamp handed out.
func (s *Store) IntelSeq(ctx context.Context) (int64, error) {
	var seq int64
	if err := s.r.QueryRowContext(ctx, "SELECT seq FROM intel_seq WHERE id = 1").Scan(&seq); err != nil {
		return 0, s.fail("intel seq", err)
	}
	return seq, nil
}

// RecordSighting adds sightings of an indicator by an organization.
func (s *Store) RecordSighting(ctx context.Context, p auth.Principal, sg store.Sighting) (store.Sighting, error) {
	const op = "record sighting"
	if !p.Can(auth.PermTriage) && !p.Can(auth.PermSendSensor) {
		return sg, s.fail(op, forbidden("recording a sighting needs "+string(auth.PermTriage)+" or "+string(auth.PermSendSensor)))
	}
	if sg.Count == 0 {
		sg.Count = 1
	}
	if sg.Count < 0 || sg.Count > 1_000_000_000 {
		return sg, s.fail(op, invalid("count %d", sg.Count))
	}
	at := usec(sg.LastSeen)
	if at.IsZero() {
		at = now()
	}
	first := usec(sg.FirstSeen)
	if first.IsZero() || first.After(at) {
		first = at
	}
	var out store.Sighting
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		sc, err := s.scopeOf(ctx, tx, p)
		if err != nil {
			return err
		}
		if _, err := s.loadOrg(ctx, tx, sc, sg.OrgID, false); err != nil {
			return err
		}
		var exists int
		if err := tx.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM intel_indicators WHERE id = ?"), sg.IndicatorID).Scan(&exists); err != nil {
			return err
		}
		if exists == 0 {
			return notFound("indicator", sg.IndicatorID)
		}
		out = store.Sighting{IndicatorID: sg.IndicatorID, OrgID: sg.OrgID}
		if _, err := tx.ExecContext(ctx, s.q("UPDATE intel_indicators SET sightings = sightings + ? WHERE id = ?"), sg.Count, sg.IndicatorID); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, s.q(`INSERT INTO intel_sightings (indicator_id, org_id, n, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (indicator_id, org_id) DO UPDATE SET n = intel_sightings.n + excluded.n,
				first_seen = CASE WHEN excluded.first_seen < intel_sightings.first_seen THEN excluded.first_seen ELSE intel_sightings.first_seen END,
				last_seen = CASE WHEN excluded.last_seen > intel_sightings.last_seen THEN excluded.last_seen ELSE intel_sightings.last_seen END
			RETURNING n, first_seen, last_seen`), sg.IndicatorID, sg.OrgID, sg.Count, first, at).Scan(&out.Count, &out.FirstSeen, &out.LastSeen)
	})
	if err != nil {
		return store.Sighting{}, s.fail(op, err)
	}
	out.FirstSeen, out.LastSeen = out.FirstSeen.UTC(), out.LastSeen.UTC()
	return out, nil
}

// ListSightings returns the sightings of organizations in p's subtree,
// in the order they were first recorded.
func (s *Store) ListSightings(ctx context.Context, p auth.Principal, f store.SightingFilter) (store.Page[store.Sighting], error) {
	const op = "list sightings"
	var page store.Page[store.Sighting]
	if !p.Can(auth.PermReadFeeds) && !p.Can(auth.PermReadRegistry) {
		return page, s.fail(op, forbidden("reading sightings needs "+string(auth.PermReadFeeds)))
	}
	limit, after, sc, err := s.listStart(ctx, p, f.PageRequest)
	if err != nil {
		return page, s.fail(op, err)
	}
	var w where
	switch {
	case f.OrgID != 0:
		o, err := s.loadOrg(ctx, s.r, sc, f.OrgID, false)
		if err != nil {
			return page, s.fail(op, err)
		}
		cond, args := subtreeRange("path", o.Path)
		w.add("g.org_id IN (SELECT id FROM orgs WHERE "+cond+")", args...)
	case !sc.all:
		cond, args := sc.cond("path")
		w.add("g.org_id IN (SELECT id FROM orgs WHERE "+cond+")", args...)
	}
	if f.IndicatorID != 0 {
		w.add("g.indicator_id = ?", f.IndicatorID)
	}
	if after > 0 {
		w.add("g.id > ?", after)
	}
	type row struct {
		id int64
		g  store.Sighting
	}
	rows, err := queryAll(ctx, s.r, func(sc scanner) (row, error) {
		var r row
		err := sc.Scan(&r.id, &r.g.IndicatorID, &r.g.OrgID, &r.g.Count, &r.g.FirstSeen, &r.g.LastSeen)
		r.g.FirstSeen, r.g.LastSeen = r.g.FirstSeen.UTC(), r.g.LastSeen.UTC()
		return r, err
	}, s.q("SELECT g.id, g.indicator_id, g.org_id, g.n, g.first_seen, g.last_seen FROM intel_sightings g"+w.String()+" ORDER BY g.id LIMIT ?"), append(w.args, limit+1)...)
	if err != nil {
		return page, s.fail(op, err)
	}
	rp := finishPage(rows, limit, func(r row) int64 { return r.id })
	page.Next = rp.Next
	page.Items = make([]store.Sighting, len(rp.Items))
	for i, r := range rp.Items {
		page.Items[i] = r.g
	}
	return page, nil
}
