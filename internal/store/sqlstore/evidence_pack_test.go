package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// packFixture is a SQLite store at path with one organization owning a
// /16, and a batch recorder.
type packFixture struct {
	t    *testing.T
	s    *Store
	a    asset.Asset
	path string
}

func newPackFixture(t *testing.T) *packFixture {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "rampart.db")
	s := openSQLiteAt(t, path)
	o := org.Organization{Code: "VN", Name: "VN", Kind: org.KindNational}
	if err := s.CreateOrg(ctx, sysP, &o); err != nil {
		t.Fatal(err)
	}
	a := asset.Asset{OrgID: o.ID, Kind: asset.KindCIDR, Value: "10.64.0.0/16"}
	if err := s.CreateAsset(ctx, sysP, &a); err != nil {
		t.Fatal(err)
	}
	return &packFixture{t: t, s: s, a: a, path: path}
}

func (fx *packFixture) record(job string, at time.Time, seen []finding.Finding) []finding.Change {
	fx.t.Helper()
	ch, err := fx.s.RecordFindings(context.Background(), store.FindingBatch{Source: finding.SourceIntel, Ref: "shadowserver:scan_snmp", JobID: job,
		At: at, Policy: finding.DefaultPolicy, Seen: seen})
	if err != nil {
		fx.t.Fatal(err)
	}
	return ch
}

func (fx *packFixture) warnings(from, n int) []finding.Finding {
	seen := make([]finding.Finding, n)
	for i := range seen {
		seen[i] = benchWarning(fx.a, from+i)
	}
	return seen
}

// A large batch's evidence is stored packed, a fraction of its size, and
// reads back byte for byte, through this store and through another that
// opens the file afresh (its dictionary loaded from the table).
func TestPackedEvidenceRoundTrip(t *testing.T) {
	ctx := context.Background()
	fx := newPackFixture(t)
	seen := fx.warnings(0, 300)
	ch := fx.record("run-1", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), seen)
	if len(ch) != len(seen) {
		t.Fatalf("%d changes for %d new findings", len(ch), len(seen))
	}
	var blobs, texts, packedBytes, plainBytes int
	rows, err := fx.s.r.QueryContext(ctx, "SELECT typeof(evidence), length(CAST(evidence AS BLOB)) FROM findings")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var typ string
		var n int
		if err := rows.Scan(&typ, &n); err != nil {
			t.Fatal(err)
		}
		if typ == "blob" {
			blobs++
			packedBytes += n
		} else {
			texts++
		}
	}
	rows.Close()
	for _, f := range seen {
		plainBytes += len(f.Evidence)
	}
	if blobs != len(seen) || texts != 0 {
		t.Fatalf("%d packed and %d plain evidence; want all %d packed", blobs, texts, len(seen))
	}
	if packedBytes*3 > plainBytes {
		t.Errorf("packed evidence is %d bytes for %d of JSON: want a third or less", packedBytes, plainBytes)
	}
	var dicts int
	if err := fx.s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM finding_evidence_dicts").Scan(&dicts); err != nil || dicts != 1 {
		t.Fatalf("%d dictionaries (%v), want 1", dicts, err)
	}
	want := map[string][]byte{}
	for _, c := range ch {
		want[c.Finding.Key] = c.Finding.Evidence
	}
	check := func(s *Store) {
		t.Helper()
		page, err := s.ListFindings(ctx, sysP, store.FindingFilter{PageRequest: store.PageRequest{Limit: 1000}})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != len(seen) {
			t.Fatalf("listed %d findings, want %d", len(page.Items), len(seen))
		}
		for _, f := range page.Items {
			if !bytes.Equal(f.Evidence, want[f.Key]) {
				t.Fatalf("finding %d evidence %s, want %s", f.ID, f.Evidence, want[f.Key])
			}
		}
		one, err := s.GetFinding(ctx, sysP, page.Items[7].ID)
		if err != nil || !bytes.Equal(one.Evidence, want[one.Key]) {
			t.Fatalf("get: %s, %v", one.Evidence, err)
		}
	}
	check(fx.s)
	other, err := Open(ctx, "sqlite", fx.path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	check(other)

	// The next batch of the run reuses its dictionary; the same findings
	// seen again by a later run with new evidence are refreshed packed.
	fx.record("run-1", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), fx.warnings(300, 100))
	again := fx.warnings(0, 300)
	for i := range again {
		again[i].Evidence = json.RawMessage(strings.Replace(string(again[i].Evidence), `"tlp":"GREEN"`, `"tlp":"AMBER"`, 1))
	}
	fx.record("run-2", time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), again)
	if err := fx.s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM finding_evidence_dicts").Scan(&dicts); err != nil || dicts != 2 {
		t.Fatalf("%d dictionaries (%v), want 2 (one a run)", dicts, err)
	}
	page, err := other.ListFindings(ctx, sysP, store.FindingFilter{PageRequest: store.PageRequest{Limit: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	amber := 0
	for _, f := range page.Items {
		if !json.Valid(f.Evidence) {
			t.Fatalf("finding %d: evidence %q is not JSON", f.ID, f.Evidence)
		}
		if bytes.Contains(f.Evidence, []byte(`"tlp":"AMBER"`)) {
			amber++
		}
	}
	if len(page.Items) != 400 || amber != 300 {
		t.Fatalf("%d findings, %d with the second run's evidence; want 400 and 300", len(page.Items), amber)
	}
}

// A small batch keeps its evidence as JSON text.
func TestSmallBatchEvidencePlain(t *testing.T) {
	fx := newPackFixture(t)
	fx.record("run-1", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), fx.warnings(0, packMin-1))
	var blobs int
	if err := fx.s.r.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM findings WHERE typeof(evidence) <> 'text'").Scan(&blobs); err != nil || blobs != 0 {
		t.Fatalf("%d findings with packed evidence (%v), want none", blobs, err)
	}
}

// Packed evidence that is damaged, or whose dictionary is gone or is not
// the one it names, is an error of that finding, not a crash or garbage.
func TestPackedEvidenceDamage(t *testing.T) {
	ctx := context.Background()
	fx := newPackFixture(t)
	ch := fx.record("run-1", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), fx.warnings(0, 100))
	id := ch[0].Finding.ID
	var blob []byte
	if err := fx.s.r.QueryRowContext(ctx, "SELECT evidence FROM findings WHERE id = ?", id).Scan(&blob); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		v    []byte
		want string
	}{
		{"truncated head", blob[:6], "truncated"},
		{"cut block", blob[:len(blob)-5], "packed evidence"},
		{"unknown dictionary", append(append([]byte(packMagic), binary.LittleEndian.AppendUint64(nil, 42)...), blob[packHead:]...), "missing"},
		{"huge claim", append(append([]byte{}, blob[:packHead]...), 0xff, 0xff, 0xff, 0xff, 0x0f), "packed evidence"},
	} {
		if _, err := fx.s.w.ExecContext(ctx, "UPDATE findings SET evidence = ? WHERE id = ?", tc.v, id); err != nil {
			t.Fatal(err)
		}
		_, err := fx.s.GetFinding(ctx, sysP, id)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
	// A dictionary row whose bytes are not the ones hashed is refused.
	if _, err := fx.s.w.ExecContext(ctx, "UPDATE findings SET evidence = ? WHERE id = ?", blob, id); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.s.w.ExecContext(ctx, "UPDATE finding_evidence_dicts SET dict = CAST('not the dictionary' AS BLOB)"); err != nil {
		t.Fatal(err)
	}
	other, err := Open(ctx, "sqlite", fx.path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.GetFinding(ctx, sysP, id); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("a replaced dictionary: got %v", err)
	}
}

// A batch's new findings open with one finding_openings row per run of
// IDs instead of a finding_events row each, and their history reads the
// same: the opening first (with the finding's evidence until it is seen
// again), then what followed.
func TestOpeningsHistory(t *testing.T) {
	ctx := context.Background()
	fx := newPackFixture(t)
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	ch := fx.record("run-1", at, fx.warnings(0, 300))
	var events, openings int
	if err := fx.s.r.QueryRowContext(ctx, "SELECT (SELECT COUNT(*) FROM finding_events), (SELECT COUNT(*) FROM finding_openings)").Scan(&events, &openings); err != nil {
		t.Fatal(err)
	}
	if events != 0 || openings != 1 {
		t.Fatalf("%d history rows and %d opening rows; want 0 and 1", events, openings)
	}
	for _, c := range []finding.Change{ch[0], ch[150], ch[299]} {
		h, err := fx.s.FindingHistory(ctx, sysP, c.Finding.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != 1 {
			t.Fatalf("finding %d: history %+v, want one opening", c.Finding.ID, h)
		}
		e := h[0]
		if e.FindingID != c.Finding.ID || !e.At.Equal(at) || e.Action != finding.ActionSeen || e.From != "" || e.To != finding.StateOpen ||
			e.JobID != "run-1" || e.Actor != "intel:shadowserver:scan_snmp" || !bytes.Equal(e.Evidence, c.Finding.Evidence) {
			t.Fatalf("finding %d: opening %+v", c.Finding.ID, e)
		}
	}
	// Seen again, then acknowledged: the opening stays first, without
	// the evidence the finding now holds.
	next := at.Add(24 * time.Hour)
	again := fx.warnings(0, 1)
	again[0].Evidence = json.RawMessage(`{"feed":"bench","seen":"2026-12-02T00:00:00Z"}`)
	fx.record("run-2", next, again)
	id := ch[0].Finding.ID
	if _, err := fx.s.TransitionFinding(ctx, sysP, id, finding.Transition{Action: finding.ActionAcknowledge, By: "an@example.vn", At: next.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	h, err := fx.s.FindingHistory(ctx, sysP, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) < 2 || h[0].JobID != "run-1" || h[0].Evidence != nil || h[len(h)-1].Action != finding.ActionAcknowledge {
		t.Fatalf("history after more: %+v", h)
	}
	// A finding outside every run has no synthesized opening.
	if _, err := fx.s.FindingHistory(ctx, sysP, ch[299].Finding.ID+1000); err == nil {
		t.Fatal("history of a finding that does not exist")
	}
}

func TestOpeningRuns(t *testing.T) {
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	open := func(id int64) finding.HistoryEntry {
		return finding.HistoryEntry{FindingID: id, At: at, Actor: "intel:x", Action: finding.ActionSeen, To: finding.StateOpen, JobID: "j"}
	}
	var evs []finding.HistoryEntry
	for id := int64(1); id <= 10; id++ { // a run
		evs = append(evs, open(id))
	}
	evs = append(evs, finding.HistoryEntry{FindingID: 11, At: at, Actor: "intel:x", Action: finding.ActionSeen, From: finding.StateFixed, To: finding.StateReopened})
	for id := int64(20); id < 25; id++ { // too short
		evs = append(evs, open(id))
	}
	for id := int64(30); id < 40; id++ { // a gap at 35 splits it
		if id != 35 {
			evs = append(evs, open(id))
		}
	}
	withEvidence := open(50)
	withEvidence.Evidence = json.RawMessage(`{}`)
	evs = append(evs, withEvidence)
	runs, rest := openingRuns(evs)
	if len(runs) != 1 || runs[0].first != 1 || runs[0].last != 10 {
		t.Fatalf("runs %+v", runs)
	}
	var ids []int64
	for _, e := range rest {
		ids = append(ids, e.FindingID)
	}
	if fmt.Sprint(ids) != "[11 20 21 22 23 24 30 31 32 33 34 36 37 38 39 50]" {
		t.Fatalf("left %v", ids)
	}
	if runs, rest := openingRuns(evs[10:]); runs != nil || len(rest) != len(evs)-10 {
		t.Fatalf("no run: %v, %d left", runs, len(rest))
	}
}

// The events of a large batch are encoded while its rows go in, with the
// IDs SQLite is about to give them: each event names its finding's ID.
func TestPredictedIDsInEvents(t *testing.T) {
	ctx := context.Background()
	fx := newPackFixture(t)
	fx.record("run-0", time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), fx.warnings(1000, 3)) // IDs 1-3 taken
	if _, err := fx.s.w.ExecContext(ctx, "UPDATE sqlite_sequence SET seq = 41 WHERE name = 'findings'"); err != nil {
		t.Fatal(err)
	}
	ch := fx.record("run-1", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), fx.warnings(0, 2*encodeInBackground))
	stored := map[string]int64{}
	rows, err := fx.s.r.QueryContext(ctx, "SELECT key, id FROM findings")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		var id int64
		if err := rows.Scan(&k, &id); err != nil {
			t.Fatal(err)
		}
		stored[k] = id
	}
	rows.Close()
	for _, c := range ch {
		if c.Finding.ID != stored[c.Finding.Key] || c.Finding.ID <= 41 {
			t.Fatalf("change of %s has ID %d, stored %d", c.Finding.Key, c.Finding.ID, stored[c.Finding.Key])
		}
	}
	msgs, err := fx.s.OutboxPending(ctx, 10000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range msgs {
		var ev struct {
			Finding struct {
				ID  int64  `json:"id"`
				Key string `json:"key"`
			} `json:"finding"`
		}
		if err := json.Unmarshal(m.Data, &ev); err != nil || ev.Finding.Key == "" {
			continue
		}
		if ev.Finding.ID != stored[ev.Finding.Key] {
			t.Fatalf("event %s names finding %d, stored as %d", m.MsgID, ev.Finding.ID, stored[ev.Finding.Key])
		}
		n++
	}
	if n < len(ch) {
		t.Fatalf("%d events checked, want at least %d", n, len(ch))
	}
}

func FuzzUnpackEvidence(f *testing.F) {
	s := &Store{pack: newPacker(nil)}
	raw := bytes.Repeat([]byte(`{"feed":"x","seen":"2026-12-01T00:00:00Z","detail":{"port":"161"}}`), 4)
	h, pd := s.pack.dictFor(packRun{"intel", "x", "j"}, []finding.Finding{{Evidence: raw}})
	j := &packJob{seen: []finding.Finding{{Key: "k", Evidence: raw[:70]}}, h: h, pd: pd, out: make([][]byte, 1)}
	j.work()
	f.Add(j.out[0])
	f.Add([]byte(`{"plain":true}`))
	f.Add([]byte(packMagic))
	f.Fuzz(func(t *testing.T, v []byte) {
		out, err := s.unpackEvidence(string(v))
		if err == nil && !bytes.HasPrefix(v, []byte(packMagic)) && !bytes.Equal(out, v) {
			t.Fatalf("plain evidence changed: %q → %q", v, out)
		}
		if len(out) > maxPackedEvidence {
			t.Fatalf("%d bytes out", len(out))
		}
	})
}

// A new database gets pageSize; one that exists keeps its own. The
// writer keeps its temporary files in memory.
func TestNewDatabasePageSize(t *testing.T) {
	ctx := context.Background()
	fx := newPackFixture(t)
	var got int
	if err := fx.s.r.QueryRowContext(ctx, "PRAGMA page_size").Scan(&got); err != nil || got != pageSize {
		t.Fatalf("page size %d (%v), want %d", got, err, pageSize)
	}
	// The writer's statement journals stay in memory (2: MEMORY).
	if err := fx.s.w.QueryRowContext(ctx, "PRAGMA temp_store").Scan(&got); err != nil || got != 2 {
		t.Fatalf("writer's temp_store %d (%v), want 2", got, err)
	}
	old := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "PRAGMA page_size = 4096; CREATE TABLE kept (x INTEGER)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := Open(ctx, "sqlite", old, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.r.QueryRowContext(ctx, "PRAGMA page_size").Scan(&got); err != nil || got != 4096 {
		t.Fatalf("an existing database's page size became %d (%v)", got, err)
	}
}

// dictEncoder writes blocks s2.Dict.Decode reads back as they were, and
// shorter than S2's own when the dictionary holds what they say.
func FuzzDictEncoder(f *testing.F) {
	ev := []byte(`{"feed":"shadowserver:scan_snmp","seen":"2026-12-01T00:00:00Z","tlp":"AMBER","indicator":{"kind":"ipv4","value":"10.64.0.1"},"detail":{"port":"161"}}`)
	f.Add(ev, bytes.Replace(ev, []byte("10.64.0.1"), []byte("10.64.3.77"), 1))
	f.Add([]byte("0123456789abcdef"), []byte("0123456789abcdef0123456789abcdef"))
	f.Add(bytes.Repeat([]byte("ab"), 40000), bytes.Repeat([]byte("ab"), 70000))
	f.Add([]byte("abcdefghijklmnopqrstuvwxyz"), []byte{})
	f.Fuzz(func(t *testing.T, dict, src []byte) {
		if len(dict) < s2.MinDictSize || len(dict) > s2.MaxDictSize {
			return
		}
		d := s2.MakeDict(dict, nil)
		if d == nil {
			return
		}
		block := newDictEncoder(dict).encode(nil, src)
		got, err := d.Decode(nil, block)
		if err != nil || !bytes.Equal(got, src) {
			t.Fatalf("decoded %q (%v), want %q", got, err, src)
		}
	})
}

// warningsAndDict returns n early warnings and a dictionary of the
// first's evidence, as a batch makes it.
func warningsAndDict(n int) ([]finding.Finding, []byte) {
	fx := &packFixture{a: asset.Asset{ID: 1, OrgID: 1}}
	seen := fx.warnings(0, n)
	var dict []byte
	for _, f := range seen[:6] {
		dict = append(dict, f.Evidence...)
	}
	return seen, dict[:packDictBytes]
}

func TestDictEncoderRatio(t *testing.T) {
	seen, dict := warningsAndDict(200)
	e, d := newDictEncoder(dict), s2.MakeDict(dict, nil)
	var in, ours, theirs int
	for _, f := range seen[10:] {
		in += len(f.Evidence)
		ours += len(e.encode(nil, f.Evidence))
		theirs += len(d.Encode(nil, f.Evidence))
	}
	t.Logf("%d bytes of evidence: %d packed here, %d by s2.Dict.Encode", in, ours, theirs)
	if ours*4 > in || ours > theirs*3/2 {
		t.Fatalf("%d bytes of evidence packed to %d (s2: %d)", in, ours, theirs)
	}
}

func BenchmarkPackEvidence(b *testing.B) {
	seen, dict := warningsAndDict(1000)
	e := newDictEncoder(dict)
	buf := make([]byte, 0, 4096)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		buf = e.encode(buf[:0], seen[i%len(seen)].Evidence)
	}
}
