package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/store"
)

// needIntelAdmin is the rule for the hub's administration: the system, or
// a platform-wide principal who triages (platform administrators,
// analysts).
func needIntelAdmin(p auth.Principal) error {
	if p.System || (p.SeesAll() && p.Can(auth.PermTriage)) {
		return nil
	}
	return forbidden("the threat-intelligence hub is run by platform administrators and analysts")
}

// micros is how indicator times are stored: microseconds since 1970, 0
// for unset.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

// usec truncates a time to what the store keeps, so a record merged into
// a loaded indicator compares equal when nothing changed.
func usec(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}

// encodeLabels writes labels as a JSON array of strings, as
// encoding/json would (invalid UTF-8 as U+FFFD), without its reflection:
// it runs once per indicator written.
func encodeLabels(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	const hex = "0123456789abcdef"
	b := make([]byte, 0, 16*len(l))
	b = append(b, '[')
	for i, s := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		if plainJSON(s) {
			b = append(b, s...)
			b = append(b, '"')
			continue
		}
		for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
			switch {
			case r == '"' || r == '\\':
				b = append(b, '\\', byte(r))
			case r < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[r>>4], hex[r&15])
			default:
				b = utf8.AppendRune(b, r)
			}
		}
		b = append(b, '"')
	}
	return string(append(b, ']'))
}

// plainJSON reports whether s is printable ASCII that a JSON string holds
// as it is (no quote or backslash).
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func decodeLabels(s string) []string {
	if s == "" || s == "[]" {
		return nil
	}
	var l []string
	_ = json.Unmarshal([]byte(s), &l)
	return l
}

func tlpOfRank(r int) intel.TLP {
	if r < 0 || r >= len(intel.TLPs) {
		return intel.TLPRed
	}
	return intel.TLPs[r]
}

// checkRecord refuses a record that Normalize did not produce.
func checkRecord(i int, r *intel.Record) error {
	switch {
	case !r.Kind.Valid():
		return invalid("record %d: kind %q", i, r.Kind)
	case r.Value == "" || len(r.Value) > 4096:
		return invalid("record %d: value empty or longer than 4096 bytes", i)
	case r.Feed == "" || len(r.Feed) > 200:
		return invalid("record %d: feed name empty or longer than 200 bytes", i)
	case r.Confidence < 0 || r.Confidence > 100:
		return invalid("record %d: confidence %d", i, r.Confidence)
	case !slices.Contains(intel.TLPs, r.TLP):
		return invalid("record %d: TLP %q (normalize the record first)", i, r.TLP)
	case !slices.Contains(intel.Categories, r.Category):
		return invalid("record %d: category %q", i, r.Category)
	case r.LastSeen.IsZero():
		return invalid("record %d: no last seen (normalize the record first)", i)
	case r.TLP != intel.TLPRed && !r.Recipients.Empty():
		return invalid("record %d: recipients on a record marked %s (only TLP:RED names recipients)", i, r.TLP)
	}
	return nil
}

type ikey struct {
	kind  intel.Kind
	value string
}

// planned is one indicator of an apply: as loaded (zero id: new) and as
// merged.
type planned struct {
	id      int64
	ind     intel.Indicator
	created int64
	isNew   bool
	hash    int64 // valueHash of its kind and value
	row     bool  // the indicator row changes
	// recipients: the indicator's recipients grew (TLP:RED).
	recipients bool
	sources    []int32 // indexes into ind.Sources that change
	// onRow: the indicator's only source is kept on its row (src_feed,
	// src_ext) rather than in intel_sources; wasOnRow: it was, as loaded.
	onRow, wasOnRow bool
}

// Bulk statement sizes: rows per multi-row statement, values per IN list.
const (
	applyRows = 400
	applyIn   = 500
)

// ApplyIndicators merges records into indicators in one transaction.
func (s *Store) ApplyIndicators(ctx context.Context, p auth.Principal, records []intel.Record) (store.ApplySummary, error) {
	b, err := s.PrepareIndicators(p, records)
	if err != nil {
		return store.ApplySummary{}, err
	}
	return s.ApplyPreparedIndicators(ctx, p, b)
}

// prepared is a batch ready to apply: the records checked and grouped by
// value, and each value merged as if it were new (merged[j] for order[j]),
// which it is in a bulk import; a value found stored is merged again from
// the records in the transaction. A batch that names recipients is not
// merged ahead (the transaction drops the recipients that do not exist).
type prepared struct {
	records []intel.Record
	names   map[string]bool
	named   bool // some record names recipients
	g       grouped
	merged  []planned
	// rank is each value's place in the order of the hashes, the order
	// new rows take their IDs in.
	rank    []int32
	applied bool
}

func (b *prepared) Len() int { return len(b.records) }

// PrepareIndicators checks and groups records and merges each value as
// new: the part of an apply that needs no transaction (store.IndicatorPreparer).
func (s *Store) PrepareIndicators(p auth.Principal, records []intel.Record) (store.PreparedIndicators, error) {
	const op = "apply indicators"
	if err := needIntelAdmin(p); err != nil {
		return nil, s.fail(op, err)
	}
	b := &prepared{records: records, names: map[string]bool{}}
	for i := range records {
		r := &records[i]
		if err := checkRecord(i, r); err != nil {
			return nil, s.fail(op, err)
		}
		b.names[r.Feed] = true
		b.named = b.named || !r.Recipients.Empty()
	}
	b.g = groupRecords(records, valueHash)
	n := len(b.g.order)
	byHash := make([]int32, n)
	for j := range byHash {
		byHash[j] = int32(j)
	}
	slices.SortFunc(byHash, func(x, y int32) int { return cmp.Compare(b.g.hashes[x], b.g.hashes[y]) })
	b.rank = make([]int32, n)
	for r, j := range byHash {
		b.rank[j] = int32(r)
	}
	if b.named {
		return b, nil
	}
	// New indicators come from slabs: one source each, usually. Fewer
	// objects, less for the collector to trace.
	b.merged = make([]planned, n)
	srcSlab, idxSlab := make([]intel.Source, n), make([]int32, n)
	for j := range b.merged {
		pl := &b.merged[j]
		pl.ind.Sources, pl.sources = srcSlab[j:j:j+1], idxSlab[j:j:j+1]
		pl.planNew(records, b.g, j, [2]map[int64]bool{})
	}
	return b, nil
}

// planNew makes pl the plan of value j as a new indicator: its records
// merged, every source and the row to write.
func (pl *planned) planNew(records []intel.Record, g grouped, j int, missing [2]map[int64]bool) {
	pl.hash = g.hashes[j]
	mergeChain(&pl.ind, records, g, j, missing)
	for k := range pl.ind.Sources {
		pl.sources = append(pl.sources, int32(k))
	}
	pl.isNew, pl.row = true, true
	pl.recipients = !pl.ind.Recipients.Empty()
}

// mergeChain merges the records of value j into in, their times cut to
// the microsecond the store keeps (a record merged into what was loaded
// then compares equal when nothing changed), without the recipients in
// missing.
func mergeChain(in *intel.Indicator, records []intel.Record, g grouped, j int, missing [2]map[int64]bool) {
	for i := g.chains[j].first; i >= 0; i = g.next[i] {
		r := records[i]
		r.FirstSeen, r.LastSeen, r.ValidUntil = usec(r.FirstSeen), usec(r.LastSeen), usec(r.ValidUntil)
		if missing[0] != nil || missing[1] != nil {
			r.Recipients = withoutMissing(r.Recipients, missing)
		}
		in.Merge(r)
	}
}

// ApplyPreparedIndicators applies a batch PrepareIndicators made, in one
// transaction.
func (s *Store) ApplyPreparedIndicators(ctx context.Context, p auth.Principal, pb store.PreparedIndicators) (store.ApplySummary, error) {
	const op = "apply indicators"
	var sum store.ApplySummary
	if err := needIntelAdmin(p); err != nil {
		return sum, s.fail(op, err)
	}
	b, ok := pb.(*prepared)
	if !ok || b == nil {
		return sum, s.fail(op, invalid("a batch this store did not prepare"))
	}
	if b.applied {
		return sum, s.fail(op, invalid("a prepared batch applied twice"))
	}
	b.applied = true
	records, g := b.records, b.g
	order, hashes := g.order, g.hashes
	if len(records) == 0 {
		return sum, nil
	}
	// What the batch holds is the transaction's to change: it is never
	// applied again, and the records go back to the caller.
	defer func() { b.records, b.merged = nil, nil }()
	sum.Records = len(records)
	var (
		from    int64   // the stamp when the transaction began
		written []int64 // hashes of the indicators it inserted
	)
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		// The counters' row lock serializes appliers on PostgreSQL, so no
		// two transactions insert the same value and stamps commit in
		// order.
		var seq, nextID int64
		if err := tx.QueryRowContext(ctx, "SELECT seq, next_id FROM intel_seq WHERE id = 1"+s.d.forUpdate()).Scan(&seq, &nextID); err != nil {
			return err
		}
		from = seq
		if err := s.catchUp(ctx, tx, seq); err != nil {
			return err
		}
		feeds, err := s.feedIDs(ctx, tx, b.names)
		if err != nil {
			return err
		}
		// Recipients that do not exist are dropped: a RED record then
		// reaches fewer, never more (a feed's stale ID must not fail its
		// run; the API checks them first and says so).
		var missing [2]map[int64]bool
		if b.named {
			if missing, err = s.missingRecipients(ctx, tx, records); err != nil {
				return err
			}
		}
		plans, err := s.loadPlans(ctx, tx, order, hashes, feeds)
		if err != nil {
			return err
		}
		if err := s.loadRecipients(ctx, tx, plans); err != nil {
			return err
		}
		stamp := micros(now())
		var changed []*planned
		// New rows take IDs and stamps in the order of their hashes: the
		// table and both indexes then grow in order within the batch,
		// which SQLite does at a fraction of the cost of scattered
		// inserts into the hash index.
		freshAt := make([]*planned, len(order))
		nFresh := 0
		for ki, k := range order {
			pl := plans[k]
			if pl == nil {
				if b.merged != nil {
					pl = &b.merged[ki] // merged as new ahead of the transaction
				} else {
					pl = &planned{}
					pl.planNew(records, g, ki, missing)
				}
				pl.created = stamp
				s.placeSources(pl)
				freshAt[b.rank[ki]] = pl
				nFresh++
				continue
			}
			pl.hash = hashes[ki]
			before := pl.ind
			before.Sources = slices.Clone(pl.ind.Sources)
			before.Labels = slices.Clone(pl.ind.Labels)
			before.Recipients.Orgs = slices.Clone(pl.ind.Recipients.Orgs)
			before.Recipients.Users = slices.Clone(pl.ind.Recipients.Users)
			mergeChain(&pl.ind, records, g, ki, missing)
			pl.recipients = !pl.ind.Recipients.Equal(before.Recipients)
			// New recipients are a change: the indicator reaches someone
			// new, who reads it after its new stamp.
			pl.row = !sameRow(&before, &pl.ind) || pl.recipients
			for j := range pl.ind.Sources {
				if !sourceIn(before.Sources, pl.ind.Sources[j]) {
					pl.sources = append(pl.sources, int32(j))
				}
			}
			s.placeSources(pl)
			if !pl.row && len(pl.sources) == 0 {
				sum.Unchanged++
				continue
			}
			changed = append(changed, pl)
		}
		fresh := make([]*planned, 0, nFresh)
		for _, pl := range freshAt {
			if pl != nil {
				fresh = append(fresh, pl)
			}
		}
		sum.New, sum.Updated = len(fresh), len(changed)
		upserts := append(changed, fresh...)
		for _, pl := range upserts {
			if pl.isNew {
				pl.id, nextID = nextID, nextID+1
				written = append(written, pl.hash)
			}
			seq++
			pl.ind.ID = seq // the row's new stamp, until written
		}
		sum.Seq = seq
		if len(upserts) == 0 {
			return nil
		}
		if err := s.writeIndicators(ctx, tx, upserts, feeds, stamp); err != nil {
			return err
		}
		if err := s.writeSources(ctx, tx, upserts, feeds); err != nil {
			return err
		}
		if b.named {
			if err := s.writeRecipients(ctx, tx, upserts); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, s.q("UPDATE intel_seq SET seq = ?, next_id = ? WHERE id = 1"), seq, nextID)
		return err
	})
	if err != nil {
		return store.ApplySummary{}, s.fail(op, err)
	}
	s.seen.added(written, from, sum.Seq)
	return sum, nil
}

// grouped is records grouped by value: chains[j] of the value order[j]
// (of hash hashes[j]) starts at first and goes on through next (-1 ends
// it), up to last.
type grouped struct {
	order  []ikey
	hashes []int64
	chains []chain
	next   []int32
}

type chain struct{ first, last int32 }

// groupRecords groups records by value, in the order values first come.
// Values are found by their hash, a map of integers being much faster
// than one of kind and value; the rare values whose hash an earlier value
// has are found by kind and value.
func groupRecords(records []intel.Record, hash func(intel.Kind, string) int64) grouped {
	// A batch is mostly values of their own: room for all of them.
	g := grouped{next: make([]int32, len(records)), order: make([]ikey, 0, len(records)),
		hashes: make([]int64, 0, len(records)), chains: make([]chain, 0, len(records))}
	byHash := make(map[int64]int32, len(records)) // index in order
	var spill map[ikey]int32                      // values whose hash another has
	for i := range records {
		r := &records[i]
		k := ikey{r.Kind, r.Value}
		h := hash(k.kind, k.value)
		g.next[i] = -1
		j, ok := byHash[h]
		if ok && g.order[j] != k {
			j, ok = spill[k]
			if !ok {
				if spill == nil {
					spill = map[ikey]int32{}
				}
				spill[k] = int32(len(g.order))
			}
		} else if !ok {
			byHash[h] = int32(len(g.order))
		}
		if ok {
			g.next[g.chains[j].last] = int32(i)
			g.chains[j].last = int32(i)
			continue
		}
		g.order = append(g.order, k)
		g.hashes = append(g.hashes, h)
		g.chains = append(g.chains, chain{int32(i), int32(i)})
	}
	return g
}

// sameRow compares what the indicator row holds.
func sameRow(a, b *intel.Indicator) bool {
	return a.Category == b.Category && a.Confidence == b.Confidence && a.TLP == b.TLP &&
		a.FirstSeen.Equal(b.FirstSeen) && a.LastSeen.Equal(b.LastSeen) && a.ValidUntil.Equal(b.ValidUntil) &&
		slices.Equal(a.Labels, b.Labels)
}

// sourceIn reports whether list holds src unchanged.
func sourceIn(list []intel.Source, src intel.Source) bool {
	for _, o := range list {
		if o.Feed == src.Feed {
			return o.ExternalID == src.ExternalID && o.Confidence == src.Confidence && o.TLP == src.TLP &&
				o.FirstSeen.Equal(src.FirstSeen) && o.LastSeen.Equal(src.LastSeen) && o.ValidUntil.Equal(src.ValidUntil)
		}
	}
	return false
}

// feedRefs maps feed names to IDs and back.
type feedRefs struct {
	id   map[string]int64
	name map[int64]string
}

// feedIDs returns every feed's ID by name, creating the named ones that
// are missing (no location: run on demand).
func (s *Store) feedIDs(ctx context.Context, tx *sql.Tx, names map[string]bool) (feedRefs, error) {
	f := feedRefs{id: map[string]int64{}, name: map[int64]string{}}
	load := func() error {
		rows, err := tx.QueryContext(ctx, "SELECT id, name FROM intel_feeds")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var n string
			if err := rows.Scan(&id, &n); err != nil {
				return err
			}
			f.id[n], f.name[id] = id, n
		}
		return rows.Err()
	}
	if err := load(); err != nil {
		return f, err
	}
	at := now()
	for n := range names {
		if _, ok := f.id[n]; ok {
			continue
		}
		var id int64
		err := tx.QueryRowContext(ctx, s.q(`INSERT INTO intel_feeds (name, enabled, created_at, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id`), n, false, at, at).Scan(&id)
		if err != nil {
			return f, fmt.Errorf("create feed %q: %w", n, err)
		}
		f.id[n], f.name[id] = id, n
	}
	return f, nil
}

// loadPlans reads the stored indicators among keys, with their sources.
func (s *Store) loadPlans(ctx context.Context, tx *sql.Tx, keys []ikey, keyHashes []int64, feeds feedRefs) (map[ikey]*planned, error) {
	plans := map[ikey]*planned{}
	var (
		want   map[ikey]bool
		hashes []int64
	)
	for i, k := range keys {
		if h := keyHashes[i]; s.seen.mayHave(h) {
			if want == nil {
				want = map[ikey]bool{}
			}
			want[k] = true
			hashes = append(hashes, h) // a hash twice only asks twice
		}
	}
	byID := map[int64]*planned{}
	for len(hashes) > 0 {
		n := min(len(hashes), applyIn)
		cond, args := s.inInts("vhash", hashes[:n])
		hashes = hashes[n:]
		rows, err := tx.QueryContext(ctx, s.q(`SELECT id, kind, value, category, confidence, tlp, first_seen, last_seen, valid_until, labels, created,
			src_feed, src_ext FROM intel_indicators WHERE `+cond), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			pl := &planned{}
			var (
				kind, value, cat, labels, ext string
				conf, tlp                     int
				first, last, valid, cr, feed  int64
			)
			if err := rows.Scan(&pl.id, &kind, &value, &cat, &conf, &tlp, &first, &last, &valid, &labels, &cr, &feed, &ext); err != nil {
				rows.Close()
				return nil, err
			}
			k := ikey{intel.Kind(kind), value}
			if !want[k] {
				continue // another value with the same hash
			}
			pl.created = cr
			pl.ind = intel.Indicator{Kind: k.kind, Value: value, Category: intel.Category(cat), Confidence: conf, TLP: tlpOfRank(tlp),
				FirstSeen: fromMicros(first), LastSeen: fromMicros(last), ValidUntil: fromMicros(valid), Labels: decodeLabels(labels)}
			if feed != 0 {
				pl.wasOnRow = true
				pl.ind.Sources = []intel.Source{{Feed: feeds.name[feed], ExternalID: ext, Confidence: conf, TLP: pl.ind.TLP,
					FirstSeen: pl.ind.FirstSeen, LastSeen: pl.ind.LastSeen, ValidUntil: pl.ind.ValidUntil}}
			}
			plans[k] = pl
			byID[pl.id] = pl
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	ids := make([]int64, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	for len(ids) > 0 {
		n := min(len(ids), applyIn)
		cond, args := s.inInts("indicator_id", ids[:n])
		ids = ids[n:]
		rows, err := tx.QueryContext(ctx, s.q(`SELECT indicator_id, feed_id, external_id, confidence, tlp, first_seen, last_seen, valid_until
			FROM intel_sources WHERE `+cond+" ORDER BY indicator_id, feed_id"), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var (
				id, feed           int64
				ext                string
				conf, tlp          int
				first, last, valid int64
			)
			if err := rows.Scan(&id, &feed, &ext, &conf, &tlp, &first, &last, &valid); err != nil {
				rows.Close()
				return nil, err
			}
			pl := byID[id]
			pl.ind.Sources = append(pl.ind.Sources, intel.Source{Feed: feeds.name[feed], ExternalID: ext, Confidence: conf, TLP: tlpOfRank(tlp),
				FirstSeen: fromMicros(first), LastSeen: fromMicros(last), ValidUntil: fromMicros(valid)})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return plans, nil
}

// writeIndicators inserts new rows and rewrites changed ones (by ID),
// stamping each with its new seq (held in ind.ID until here). New rows go
// in plain INSERTs, which SQLite does faster than upserts.
func (s *Store) writeIndicators(ctx context.Context, tx *sql.Tx, ups []*planned, feeds feedRefs, stamp int64) error {
	const head = `INSERT INTO intel_indicators (id, seq, vhash, kind, value, category, confidence, tlp, first_seen, last_seen, valid_until, labels,
		src_feed, src_ext, created, modified) VALUES `
	const tail = ` ON CONFLICT (id) DO UPDATE SET category = excluded.category, confidence = excluded.confidence, tlp = excluded.tlp,
		first_seen = excluded.first_seen, last_seen = excluded.last_seen, valid_until = excluded.valid_until, labels = excluded.labels,
		seq = excluded.seq, src_feed = excluded.src_feed, src_ext = excluded.src_ext, modified = excluded.modified`
	var fresh, changed []*planned
	for _, pl := range ups {
		if pl.isNew {
			fresh = append(fresh, pl)
		} else {
			changed = append(changed, pl)
		}
	}
	// created and modified are the batch's stamp, written as literals
	// (a changed row keeps its created: the upsert does not set it).
	lit := strconv.FormatInt(stamp, 10)
	if !s.d.postgres() && consecutive(fresh) {
		if err := s.insertFresh(ctx, tx, fresh, feeds, lit); err != nil {
			return err
		}
		fresh = nil
	}
	for _, part := range []struct {
		rows []*planned
		tail string
	}{{fresh, ""}, {changed, tail}} {
		rows := part.rows
		rb := newRowBoxes(feeds)
		err := s.bulk(ctx, tx, len(rows), "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "+lit+", "+lit+")", head, part.tail, func(dst []any, i int) []any {
			pl := rows[i]
			return rb.indicatorRow(append(dst, pl.id, pl.ind.ID), pl)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// consecutive reports whether new rows have consecutive IDs and stamps,
// as ApplyIndicators hands them out.
func consecutive(fresh []*planned) bool {
	for i, pl := range fresh {
		if pl.id != fresh[0].id+int64(i) || pl.ind.ID != fresh[0].ind.ID+int64(i) {
			return false
		}
	}
	return true
}

// insertFresh inserts new rows with consecutive IDs and stamps on SQLite
// binding twelve values a row rather than fourteen (each bound value costs the
// SQLite driver a lock and a call): a statement's first two values are
// its first row's ID and stamp, which the other rows add their place to.
// Only those two are numbered: the driver looks each parameter's name up
// in a list of the statement's named ones, so naming them all would make
// binding quadratic.
func (s *Store) insertFresh(ctx context.Context, tx *sql.Tx, fresh []*planned, feeds feedRefs, lit string) error {
	const per = 12
	rb := newRowBoxes(feeds)
	row := ", ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, " + lit + ", " + lit + ")"
	stmt := func(n int) string {
		b := make([]byte, 0, (len(row)+24)*n+200)
		// ?1 and ?2 come first, so the unnumbered parameters count on from 3.
		// OR FAIL: no statement journal (see Store.insertInto).
		b = append(b, `INSERT OR FAIL INTO intel_indicators (id, seq, vhash, kind, value, category, confidence, tlp, first_seen, last_seen, valid_until, labels,
			src_feed, src_ext, created, modified) VALUES `...)
		for k := range n {
			if k > 0 {
				b = append(b, ", "...)
			}
			b = fmt.Appendf(b, "(?1 + %d, ?2 + %d", k, k)
			b = append(b, row...)
		}
		return string(b)
	}
	return s.bulkChunks(ctx, tx, len(fresh), per, stmt, func(dst []any, first int) []any {
		return append(dst, fresh[first].id, fresh[first].ind.ID)
	}, func(dst []any, i int) []any {
		return rb.indicatorRow(dst, fresh[i])
	})
}

// placeSources decides where a merged indicator's sources are kept. On
// SQLite, an only source that says what the row says stays on the row
// (src_feed, src_ext): a new indicator then writes no intel_sources row.
// An indicator whose source was on the row and no longer can be (a second
// source, or one that differs from the row) writes all its sources to
// intel_sources, and its row says it keeps none. One whose sources are in
// intel_sources keeps them there.
func (s *Store) placeSources(pl *planned) {
	single := !s.d.postgres() && len(pl.ind.Sources) == 1 && sourceIsRow(&pl.ind, &pl.ind.Sources[0])
	switch {
	case pl.isNew:
		pl.onRow = single
	case !pl.wasOnRow:
		return
	case single:
		pl.onRow = true
		pl.row = pl.row || len(pl.sources) > 0 // the source lives in the row
	default:
		pl.row = true // src_feed becomes 0
		pl.sources = pl.sources[:0]
		for j := range pl.ind.Sources {
			pl.sources = append(pl.sources, int32(j))
		}
		return
	}
	if pl.onRow {
		pl.sources = pl.sources[:0]
	}
}

// writeSources inserts or rewrites the sources that changed and are kept
// in intel_sources (see placeSources): those of new indicators in plain
// INSERTs, the others as upserts.
func (s *Store) writeSources(ctx context.Context, tx *sql.Tx, ups []*planned, feeds feedRefs) error {
	type ref struct{ pl, src int32 }
	var fresh, changed []ref
	for i, pl := range ups {
		for _, j := range pl.sources {
			if pl.isNew {
				fresh = append(fresh, ref{int32(i), j})
			} else {
				changed = append(changed, ref{int32(i), j})
			}
		}
	}
	const cols = `INSERT INTO intel_sources (indicator_id, feed_id, external_id, confidence, tlp, first_seen, last_seen, valid_until) `
	const tail = ` ON CONFLICT (indicator_id, feed_id) DO UPDATE SET external_id = excluded.external_id, confidence = excluded.confidence,
		tlp = excluded.tlp, first_seen = excluded.first_seen, last_seen = excluded.last_seen, valid_until = excluded.valid_until`
	for _, part := range []struct {
		refs []ref
		tail string
	}{{changed, tail}, {fresh, ""}} {
		refs := part.refs
		err := s.bulk(ctx, tx, len(refs), "(?, ?, ?, ?, ?, ?, ?, ?)", cols+"VALUES ", part.tail, func(dst []any, i int) []any {
			pl := ups[refs[i].pl]
			src := &pl.ind.Sources[refs[i].src]
			return append(dst, pl.id, feeds.id[src.Feed], src.ExternalID, src.Confidence, src.TLP.Rank(),
				micros(src.FirstSeen), micros(src.LastSeen), micros(src.ValidUntil))
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// sourceIsRow reports whether src holds what in's row holds.
func sourceIsRow(in *intel.Indicator, src *intel.Source) bool {
	return src.Confidence == in.Confidence && src.TLP == in.TLP && micros(src.FirstSeen) == micros(in.FirstSeen) &&
		micros(src.LastSeen) == micros(in.LastSeen) && micros(src.ValidUntil) == micros(in.ValidUntil)
}
