package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// Review tests of the indicator store's row sources (migration 0031) and
// of prepared batches: every stored indicator is compared with what
// intel.Indicator.Merge makes of the records applied, and the store's own
// bookkeeping (where sources are kept, the IDs and stamps of new rows) is
// checked after every batch.

// reviewModel is what the records applied so far should have made.
type reviewModel struct {
	recs    []intel.Record // applied, for checkMerged
	ind     map[store.IndicatorKey]*intel.Indicator
	moved   map[store.IndicatorKey]bool // sources left the row (SQLite)
	missing map[int64]bool              // organizations named that do not exist
}

func newReviewModel() *reviewModel {
	return &reviewModel{ind: map[store.IndicatorKey]*intel.Indicator{}, moved: map[store.IndicatorKey]bool{}, missing: map[int64]bool{}}
}

func (m *reviewModel) apply(recs []intel.Record) {
	m.recs = append(m.recs, recs...)
	for _, r := range recs {
		k := store.IndicatorKey{Kind: r.Kind, Value: r.Value}
		if m.ind[k] == nil {
			m.ind[k] = &intel.Indicator{}
		}
		r.FirstSeen, r.LastSeen, r.ValidUntil = usec(r.FirstSeen), usec(r.LastSeen), usec(r.ValidUntil)
		var orgs []int64
		for _, o := range r.Recipients.Orgs {
			if !m.missing[o] {
				orgs = append(orgs, o)
			}
		}
		r.Recipients = intel.Recipients{Orgs: orgs}
		r.Labels = slices.Clone(r.Labels)
		m.ind[k].Merge(r)
	}
}

// check compares every stored indicator with the model (its row, its
// recipients and, through checkMerged, its sources and where they are
// kept).
func (m *reviewModel) check(t *testing.T, s *Store, step string) {
	t.Helper()
	ctx := context.Background()
	var count int
	if err := s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM intel_indicators").Scan(&count); err != nil {
		t.Fatal(err)
	}
	if count != len(m.ind) {
		t.Fatalf("%s: %d indicators stored, want %d", step, count, len(m.ind))
	}
	for k, w := range m.ind {
		got, err := s.FindIndicator(ctx, sysP, k)
		if err != nil {
			t.Fatalf("%s: %s: %v", step, k.Value, err)
		}
		if got.Category != w.Category || got.Confidence != w.Confidence || got.TLP != w.TLP || !got.FirstSeen.Equal(w.FirstSeen) ||
			!got.LastSeen.Equal(w.LastSeen) || !got.ValidUntil.Equal(w.ValidUntil) || !slices.Equal(got.Labels, w.Labels) {
			t.Errorf("%s: %s: row %s %d %s %v %v %v %v, want %s %d %s %v %v %v %v", step, k.Value,
				got.Category, got.Confidence, got.TLP, got.FirstSeen, got.LastSeen, got.ValidUntil, got.Labels,
				w.Category, w.Confidence, w.TLP, w.FirstSeen, w.LastSeen, w.ValidUntil, w.Labels)
		}
		gotOrgs, wantOrgs := slices.Sorted(slices.Values(got.Recipients.Orgs)), slices.Sorted(slices.Values(w.Recipients.Orgs))
		if !slices.Equal(gotOrgs, wantOrgs) {
			t.Errorf("%s: %s: recipients %v, want %v", step, k.Value, gotOrgs, wantOrgs)
		}
	}
	// The sources, and where they are kept.
	checkMerged(t, s, step, m.recs, m.moved)
}

// maxIndicatorID is the highest indicator ID stored (0: none).
func maxIndicatorID(t *testing.T, s *Store) int64 {
	t.Helper()
	var id int64
	if err := s.r.QueryRowContext(context.Background(), "SELECT COALESCE(MAX(id), 0) FROM intel_indicators").Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// applied runs apply, which applies recs to s, and checks what s then
// holds.
func (m *reviewModel) applied(t *testing.T, s *Store, step string, recs []intel.Record, apply func() (store.ApplySummary, error)) store.ApplySummary {
	t.Helper()
	before := maxIndicatorID(t, s)
	sum, err := apply()
	if err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	if sum.Records != len(recs) {
		t.Errorf("%s: %d records applied, want %d", step, sum.Records, len(recs))
	}
	m.apply(recs)
	checkFreshOrder(t, s, step, before, sum)
	m.check(t, s, step)
	return sum
}

// checkFreshOrder checks the rows a batch created (IDs above after): as
// many as it says, with consecutive IDs and stamps, in the order of their
// hashes, stamped after every row the batch changed.
func checkFreshOrder(t *testing.T, s *Store, step string, after int64, sum store.ApplySummary) {
	t.Helper()
	rows, err := s.r.QueryContext(context.Background(), s.q("SELECT id, vhash, seq FROM intel_indicators WHERE id > ? ORDER BY id"), after)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type row struct{ id, hash, seq int64 }
	var got []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.hash, &r.seq); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != sum.New {
		t.Fatalf("%s: %d new rows, the summary says %d", step, len(got), sum.New)
	}
	for i, r := range got {
		if r.id != got[0].id+int64(i) || r.seq != got[0].seq+int64(i) {
			t.Errorf("%s: new row %d: id %d seq %d, not consecutive from %d %d", step, i, r.id, r.seq, got[0].id, got[0].seq)
		}
		if i > 0 && r.hash < got[i-1].hash {
			t.Errorf("%s: new row %d (id %d) has a lower hash than the one before", step, i, r.id)
		}
	}
	if len(got) > 0 && got[len(got)-1].seq != sum.Seq {
		t.Errorf("%s: the last new row's stamp is %d, the batch's %d", step, got[len(got)-1].seq, sum.Seq)
	}
}

// reviewBatches makes n batches of records over a small set of values
// and three feeds. Most records are a value's main feed seeing it again
// later with what it said before (its source stays on the row); the rest
// come from other feeds, name a value twice in a batch, or change the
// confidence, the marking, the times, the external ID or the labels.
// Every fourth batch is TLP:RED and names the organizations in orgs.
func reviewBatches(seed uint64, n int, orgs []int64) [][]intel.Record {
	rnd := rand.New(rand.NewPCG(seed, 7))
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	const values = 240
	var out [][]intel.Record
	for b := range n {
		red := b%4 == 3
		var recs []intel.Record
		for range 40 + rnd.IntN(80) {
			v := rnd.IntN(values)
			// What the value's main feed always says.
			r := intel.Record{Feed: "rv-a", Confidence: 50 + v%3*20, TLP: intel.TLPs[v%3], Category: intel.CategoryMalware,
				FirstSeen:  at.Add(time.Duration(v) * time.Minute).Add(time.Duration(v) * time.Nanosecond),
				ExternalID: fmt.Sprintf("ext-%d", v)}
			r.LastSeen = r.FirstSeen.Add(time.Duration(b) * time.Hour)
			if v%4 == 0 {
				r.ValidUntil = r.LastSeen.Add(72 * time.Hour)
			}
			switch v % 3 {
			case 0:
				r.Kind, r.Value = intel.KindIPv4, fmt.Sprintf("203.0.113.%d", v)
			case 1:
				r.Kind, r.Value = intel.KindDomain, fmt.Sprintf("rv-%d.bad.example", v)
			default:
				r.Kind, r.Value = intel.KindURL, fmt.Sprintf("http://rv-%d.bad.example/x", v)
			}
			switch rnd.IntN(24) {
			case 0, 1:
				r.Feed, r.ExternalID = "rv-b", ""
			case 2:
				r.Feed = "rv-c"
			case 3:
				r.Confidence = []int{40, 60, 80, 100}[rnd.IntN(4)]
			case 4:
				r.TLP = intel.TLPAmberStrict
			case 5:
				r.FirstSeen = r.FirstSeen.Add(-time.Duration(1+rnd.IntN(5)) * time.Hour)
			case 6:
				r.LastSeen = r.LastSeen.Add(-time.Duration(1+rnd.IntN(5)) * time.Hour)
			case 7:
				r.ValidUntil = r.LastSeen.Add(time.Duration(1+rnd.IntN(72)) * time.Hour)
			case 8:
				r.ExternalID = "ext-renamed"
			case 9:
				r.Labels = []string{[]string{"malware:emotet", "actor:x", "tag:y"}[rnd.IntN(3)]}
			case 10:
				r.Category = intel.CategoryC2
			}
			if red && rnd.IntN(3) == 0 {
				r.TLP = intel.TLPRed
				r.Recipients = intel.Recipients{Orgs: []int64{orgs[rnd.IntN(len(orgs))]}}
			}
			recs = append(recs, r)
		}
		out = append(out, recs)
	}
	return out
}

// reviewOrgs creates two organizations and returns their IDs and one
// that does not exist.
func reviewOrgs(t *testing.T, s *Store) []int64 {
	t.Helper()
	var ids []int64
	for _, code := range []string{"RVA", "RVB"} {
		o := org.Organization{Code: code, Name: "Tổ chức " + code, Kind: org.KindMinistry}
		if err := s.CreateOrg(context.Background(), sysP, &o); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, o.ID)
	}
	return append(ids, 987654)
}

// The hub's pattern: each batch is prepared before the one before it is
// applied, so values the last batch stores are merged as new ahead and
// must be merged again in the transaction. Applied that way, or one call
// at a time, on SQLite and on PostgreSQL, the store holds what Merge makes
// of the records, keeps each source in one place, and numbers new rows in
// the order of their hashes.
func TestReviewPreparedAheadMatchesMerge(t *testing.T) {
	for _, tc := range []struct {
		name    string
		open    func(testing.TB) *Store
		prepare bool
	}{{"sqlite/prepared", openSQLite, true}, {"sqlite/apply", openSQLite, false},
		{"postgres/prepared", openPostgres, true}, {"postgres/apply", openPostgres, false}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := tc.open(t)
			orgs := reviewOrgs(t, s)
			m := newReviewModel()
			m.missing[orgs[2]] = true
			batches := reviewBatches(42, 24, orgs)
			var next store.PreparedIndicators
			prep := func(i int) store.PreparedIndicators {
				b, err := s.PrepareIndicators(sysP, batches[i])
				if err != nil {
					t.Fatalf("prepare %d: %v", i, err)
				}
				return b
			}
			if tc.prepare {
				next = prep(0)
			}
			for i, recs := range batches {
				m.applied(t, s, fmt.Sprintf("batch %d", i), recs, func() (store.ApplySummary, error) {
					if !tc.prepare {
						return s.ApplyIndicators(ctx, sysP, recs)
					}
					cur := next
					if i+1 < len(batches) {
						next = prep(i + 1)
					}
					return s.ApplyPreparedIndicators(ctx, sysP, cur)
				})
				if t.Failed() {
					t.FailNow()
				}
			}
		})
	}
}

// A new value named by two feeds in one batch, and a value named twice
// by one feed, in a batch prepared ahead: the first keeps both sources in
// intel_sources, the second its source on the row when it says what the
// row says.
func TestReviewSameValueTwiceInOneBatch(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(testing.TB) *Store
	}{{"sqlite", openSQLite}, {"postgres", openPostgres}} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.open(t)
			at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
			rec := func(v, feed string, conf int, last time.Time) intel.Record {
				return intel.Record{Kind: intel.KindIPv4, Value: v, Feed: feed, Confidence: conf, TLP: intel.TLPGreen,
					Category: intel.CategoryMalware, FirstSeen: at, LastSeen: last, ExternalID: "id-" + feed}
			}
			recs := []intel.Record{
				rec("198.51.100.1", "two-a", 60, at), rec("198.51.100.1", "two-b", 80, at.Add(time.Hour)),
				rec("198.51.100.2", "two-a", 60, at), rec("198.51.100.2", "two-a", 80, at.Add(time.Hour)),
				rec("198.51.100.3", "two-a", 80, at.Add(time.Hour)), rec("198.51.100.3", "two-a", 60, at),
			}
			b, err := s.PrepareIndicators(sysP, recs)
			if err != nil {
				t.Fatal(err)
			}
			sum, err := s.ApplyPreparedIndicators(context.Background(), sysP, b)
			if err != nil || sum.New != 3 {
				t.Fatalf("apply: %+v, %v; want 3 new", sum, err)
			}
			m := newReviewModel()
			m.apply(recs)
			m.check(t, s, "one batch")
			// .1 has two sources; .3's source says 60 (the last record), its row 80.
			for _, v := range []string{"198.51.100.1", "198.51.100.3"} {
				if !m.moved[store.IndicatorKey{Kind: intel.KindIPv4, Value: v}] {
					t.Errorf("%s: its sources should be in intel_sources", v)
				}
			}
			if m.moved[store.IndicatorKey{Kind: intel.KindIPv4, Value: "198.51.100.2"}] {
				t.Error("198.51.100.2: one source that says what the row says should stay on the row")
			}
		})
	}
}

// reviewSeeded is a SQLite store holding n indicators from feed, all
// seen at the time it returns, and their records.
func reviewSeeded(t *testing.T, n int, feed string) (*Store, time.Time, []intel.Record) {
	t.Helper()
	s := openSQLite(t)
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	recs := benchRecords(n, feed, at)
	if _, err := s.ApplyIndicators(context.Background(), sysP, recs); err != nil {
		t.Fatal(err)
	}
	return s, at, recs
}

// A transaction that fails after its batch was prepared (here on the
// second source of a new value, after the indicator rows were written)
// stores nothing, leaves the records as they were and the filter of
// stored values sound: the same records applied again are all new and
// read back as merged; the prepared batch cannot be applied again.
func TestReviewFailedApplyAfterPrepare(t *testing.T) {
	ctx := context.Background()
	s, at, first := reviewSeeded(t, 50, "fail-a")
	m := newReviewModel()
	m.apply(first)
	var seq0 int64
	if err := s.r.QueryRowContext(ctx, "SELECT seq FROM intel_seq WHERE id = 1").Scan(&seq0); err != nil {
		t.Fatal(err)
	}

	// 0-19 again from a second feed (their sources move), 50-99 new, one
	// of them from both feeds with the external ID the trigger refuses.
	var recs []intel.Record
	for _, r := range first[:20] {
		r.Feed, r.ExternalID = "fail-b", "b"
		recs = append(recs, r)
	}
	more := benchRecords(100, "fail-a", at.Add(time.Hour))[50:]
	recs = append(recs, more...)
	boom := more[7]
	boom.Feed, boom.ExternalID = "fail-b", "boom"
	recs = append(recs, boom)
	kept := slices.Clone(recs)
	for i := range kept {
		kept[i].Labels = slices.Clone(kept[i].Labels)
	}

	if _, err := s.w.ExecContext(ctx, `CREATE TRIGGER review_fail BEFORE INSERT ON intel_sources WHEN NEW.external_id = 'boom'
		BEGIN SELECT RAISE(ABORT, 'review: refused'); END`); err != nil {
		t.Fatal(err)
	}
	b, err := s.PrepareIndicators(sysP, recs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyPreparedIndicators(ctx, sysP, b); err == nil {
		t.Fatal("the trigger did not fail the apply")
	}
	if _, err := s.ApplyPreparedIndicators(ctx, sysP, b); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("a failed prepared batch applied again: %v, want ErrInvalid", err)
	}
	for i := range recs {
		if !slices.Equal(recs[i].Labels, kept[i].Labels) || recs[i].Value != kept[i].Value || recs[i].Feed != kept[i].Feed ||
			!recs[i].LastSeen.Equal(kept[i].LastSeen) || recs[i].ExternalID != kept[i].ExternalID {
			t.Fatalf("record %d changed by the failed apply: %+v, was %+v", i, recs[i], kept[i])
		}
	}
	var seq int64
	if err := s.r.QueryRowContext(ctx, "SELECT seq FROM intel_seq WHERE id = 1").Scan(&seq); err != nil {
		t.Fatal(err)
	}
	if seq != seq0 {
		t.Errorf("the failed apply moved the stamp from %d to %d", seq0, seq)
	}
	m.check(t, s, "after the failed apply")

	if _, err := s.w.ExecContext(ctx, "DROP TRIGGER review_fail"); err != nil {
		t.Fatal(err)
	}
	sum := m.applied(t, s, "applied again", recs, func() (store.ApplySummary, error) { return s.ApplyIndicators(ctx, sysP, recs) })
	if sum.New != 50 || sum.Updated != 20 {
		t.Errorf("applied again: %+v, want 50 new and 20 updated", sum)
	}
}

// Two stores on one SQLite file: one prepares a batch, the other stores
// some of its values (their sources on the row) before the first applies
// it. The values the other stored are found and merged, not inserted
// twice, and their sources move to intel_sources.
func TestReviewPreparedAcrossStores(t *testing.T) {
	ctx := context.Background()
	one := openSQLite(t)
	var path string
	if err := one.r.QueryRowContext(ctx, "SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&path); err != nil {
		t.Fatal(err)
	}
	two, err := Open(ctx, "sqlite", path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { two.Close() })
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	seed := benchRecords(10, "across-a", at)
	if _, err := one.ApplyIndicators(ctx, sysP, seed); err != nil { // one's filter is loaded
		t.Fatal(err)
	}
	fromB := benchRecords(300, "across-b", at.Add(time.Hour))
	b, err := one.PrepareIndicators(sysP, fromB)
	if err != nil {
		t.Fatal(err)
	}
	fromA := benchRecords(200, "across-a", at)[100:]
	if _, err := two.ApplyIndicators(ctx, sysP, fromA); err != nil {
		t.Fatal(err)
	}
	m := newReviewModel()
	m.apply(seed)
	m.apply(fromA)
	sum := m.applied(t, one, "read by one", fromB, func() (store.ApplySummary, error) { return one.ApplyPreparedIndicators(ctx, sysP, b) })
	if sum.New != 190 || sum.Updated != 110 {
		t.Errorf("%+v, want 190 new (300 less the 110 stored) and 110 updated", sum)
	}
	m.check(t, two, "read by two")
}

// A database from before migration 0031 keeps every source in
// intel_sources, the only one of a new indicator included. Such a source
// stays there when its feed sees the value again (it is not copied onto
// the row, which the view would then read twice), and a second feed adds
// its own beside it.
func TestReviewSourcesStoredBefore0031(t *testing.T) {
	ctx := context.Background()
	s, at, old := reviewSeeded(t, 30, "old-a")
	// What the store wrote before 0031: the source in intel_sources.
	for _, q := range []string{
		`INSERT INTO intel_sources (indicator_id, feed_id, external_id, confidence, tlp, first_seen, last_seen, valid_until)
			SELECT id, src_feed, src_ext, confidence, tlp, first_seen, last_seen, valid_until FROM intel_indicators WHERE src_feed <> 0`,
		"UPDATE intel_indicators SET src_feed = 0, src_ext = ''",
	} {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	m := newReviewModel()
	m.apply(old)
	for k := range m.ind {
		m.moved[k] = true
	}
	m.check(t, s, "as stored before 0031")
	var later []intel.Record
	for _, r := range old {
		r.LastSeen = at.Add(time.Hour)
		later = append(later, r)
	}
	for _, r := range old[:10] {
		r.Feed, r.LastSeen = "old-b", at.Add(2*time.Hour)
		later = append(later, r)
	}
	sum := m.applied(t, s, "seen again", later, func() (store.ApplySummary, error) { return s.ApplyIndicators(ctx, sysP, later) })
	if sum.Updated != 30 || sum.New != 0 {
		t.Errorf("%+v, want 30 updated", sum)
	}
}
