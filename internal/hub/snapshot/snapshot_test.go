package snapshot_test

import (
	"bytes"
	"strconv"

	"context"
	"github.com/nats-io/nats.go/jetstream"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/hub/snapshot"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/queue/natsq"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

var sys = auth.SystemPrincipal

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// recorder is a Handler keeping what it was told.
type recorder struct {
	mu        sync.Mutex
	entries   map[snapshot.Key]snapshot.Entry
	version   int64
	full      int
	deltas    int
	connected bool
	allow     []string
}

func (r *recorder) Apply(s *snapshot.Snapshot) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.entries = map[snapshot.Key]snapshot.Entry{}
	for _, e := range s.Entries {
		r.entries[e.Key()] = e
	}
	r.version, r.allow = s.Version, slices.Clone(s.Allow)
	r.full++
}

func (r *recorder) ApplyDelta(d *snapshot.Delta) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range d.Remove {
		delete(r.entries, k)
	}
	for _, e := range d.Add {
		r.entries[e.Key()] = e
	}
	r.version = d.Version
	r.deltas++
}

func (r *recorder) State(connected bool, version int64, at time.Time) {
	r.mu.Lock()
	r.connected = connected
	r.mu.Unlock()
}

func (r *recorder) has(kind intel.Kind, v string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.entries[snapshot.Key{Kind: kind, Value: v}]
	return ok
}

func (r *recorder) counts() (full, deltas int, version int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.full, r.deltas, r.version
}

func waitFor(t *testing.T, within time.Duration, what string, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > within {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

type world struct {
	st  *sqlstore.Store
	q   *natsq.Queue
	pub *snapshot.Publisher
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := t.Context()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "r.db"), log)
	must(t, err)
	t.Cleanup(func() { st.Close() })
	must(t, st.Migrate(ctx))
	o := org.Organization{Code: "MOH", Name: "Bộ Y tế", Kind: org.KindMinistry}
	must(t, st.CreateOrg(ctx, sys, &o))
	must(t, st.CreateAsset(ctx, sys, &asset.Asset{OrgID: o.ID, Kind: asset.KindDomain, Value: "moh.gov.example"}))
	q, err := natsq.Open(ctx, natsq.Options{DataDir: t.TempDir(), NoListen: true, Logger: log})
	must(t, err)
	t.Cleanup(func() { q.Close() })
	w := &world{st: st, q: q}
	w.add(t,
		intel.Record{Kind: intel.KindDomain, Value: "evil.example", Feed: "urlhaus", Category: intel.CategoryMalware, TLP: intel.TLPClear, Confidence: 90},
		intel.Record{Kind: intel.KindDomain, Value: "amber.example", Feed: "partner", TLP: intel.TLPAmber},
		intel.Record{Kind: intel.KindDomain, Value: "portal.moh.gov.example", Feed: "urlhaus", TLP: intel.TLPGreen},
		intel.Record{Kind: intel.KindIPv4, Value: "203.0.113.5", Feed: "feodo", Category: intel.CategoryC2, TLP: intel.TLPGreen},
	)
	pub, err := snapshot.NewPublisher(snapshot.Options{Conn: q.Conn(), Store: st, Logger: log, Poll: 20 * time.Millisecond, Quiet: 20 * time.Millisecond,
		Allow: []string{"good.example"},
		DNS:   snapshot.Policy{Lists: []snapshot.ListRule{{Name: "malware", Action: snapshot.ActionRedirect, Categories: []intel.Category{intel.CategoryMalware}}}}})
	must(t, err)
	w.pub = pub
	go pub.Run(ctx)
	return w
}

func (w *world) add(t *testing.T, recs ...intel.Record) {
	t.Helper()
	for i := range recs {
		must(t, recs[i].Normalize(time.Now()))
	}
	_, err := w.st.ApplyIndicators(t.Context(), sys, recs)
	must(t, err)
}

func follow(t *testing.T, ctx context.Context, w *world, dir string, h snapshot.Handler) chan error {
	done := make(chan error, 1)
	go func() {
		done <- snapshot.FollowWith(ctx, w.q.Conn(), dir, h, snapshot.FollowOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	}()
	return done
}

func TestPublishAndFollow(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	r := &recorder{}
	ctx, cancel := context.WithCancel(t.Context())
	done := follow(t, ctx, w, dir, r)
	waitFor(t, 5*time.Second, "first snapshot", func() bool { return r.has(intel.KindDomain, "evil.example") })
	if !r.has(intel.KindIPv4, "203.0.113.5") {
		t.Error("the address indicator is missing")
	}
	if r.has(intel.KindDomain, "amber.example") {
		t.Error("a TLP:AMBER indicator left for the edges")
	}
	if r.has(intel.KindDomain, "portal.moh.gov.example") {
		t.Error("the guard let a registered asset through")
	}
	if r.allow[0] != "good.example" {
		t.Errorf("allow = %v", r.allow)
	}
	waitFor(t, 5*time.Second, "connected", func() bool { r.mu.Lock(); defer r.mu.Unlock(); return r.connected })

	// A new indicator reaches the follower as a delta (the speed is
	// BenchmarkChangeToFollower's).
	start := time.Now()
	w.add(t, intel.Record{Kind: intel.KindDomain, Value: "new-c2.example", Feed: "feodo", Category: intel.CategoryC2, TLP: intel.TLPGreen})
	waitFor(t, 5*time.Second, "delta", func() bool { return r.has(intel.KindDomain, "new-c2.example") })
	t.Logf("indicator to follower: %s", time.Since(start))
	if _, deltas, _ := r.counts(); deltas == 0 {
		t.Error("the change came as a whole snapshot, not a delta")
	}
	cancel()
	must(t, <-done)

	// A follower restarted on the same cache has the list before any
	// fetch.
	b, err := os.ReadFile(filepath.Join(dir, snapshot.CacheFile))
	must(t, err)
	if len(b) == 0 {
		t.Fatal("empty cache")
	}
	r2 := &recorder{}
	ctx2, cancel2 := context.WithCancel(t.Context())
	defer cancel2()
	// The cache is read synchronously, before Follow subscribes.
	done2 := follow(t, ctx2, w, dir, r2)
	waitFor(t, 5*time.Second, "cached list", func() bool { return r2.has(intel.KindDomain, "new-c2.example") })
	cancel2()
	must(t, <-done2)
}

func TestGapRefetches(t *testing.T) {
	w := newWorld(t)
	r := &recorder{}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := follow(t, ctx, w, t.TempDir(), r)
	waitFor(t, 5*time.Second, "first snapshot", func() bool { return r.has(intel.KindDomain, "evil.example") })
	full, _, v := r.counts()
	// A delta that does not follow is not applied.
	b, _ := snapshot.EncodeDelta(&snapshot.Delta{Version: v + 1, Prev: v - 1, Add: []snapshot.Entry{{Kind: intel.KindDomain, Value: "bogus.example"}}})
	must(t, w.q.Conn().Publish(snapshot.DeltaSubject, b))
	// A version the follower missed: the bucket holds it, and the next
	// delta shows the gap; the follower fetches it whole.
	cur := *w.pub.Current()
	missed := cur
	missed.Version = v + 10
	missed.Entries = append(slices.Clone(cur.Entries), snapshot.Entry{Kind: intel.KindDomain, Value: "missed.example"})
	snapshot.SortEntries(missed.Entries)
	putObject(t, w, &missed)
	b, _ = snapshot.EncodeDelta(&snapshot.Delta{Version: v + 11, Prev: v + 10})
	must(t, w.q.Conn().Publish(snapshot.DeltaSubject, b))
	waitFor(t, 5*time.Second, "refetch", func() bool { f, _, _ := r.counts(); return f > full && r.has(intel.KindDomain, "missed.example") })
	if r.has(intel.KindDomain, "bogus.example") {
		t.Error("a delta that did not follow was applied")
	}
	cancel()
	must(t, <-done)
}

func putObject(t *testing.T, w *world, s *snapshot.Snapshot) {
	t.Helper()
	js, err := jetstream.New(w.q.Conn())
	must(t, err)
	obs, err := js.ObjectStore(t.Context(), snapshot.Bucket)
	must(t, err)
	var buf bytes.Buffer
	must(t, snapshot.WriteSnapshot(&buf, s))
	_, err = obs.Put(t.Context(), jetstream.ObjectMeta{Name: snapshot.ObjectName, Metadata: map[string]string{"version": strconv.FormatInt(s.Version, 10)}}, &buf)
	must(t, err)
}

func TestRemovalAndReview(t *testing.T) {
	w := newWorld(t)
	r := &recorder{}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := follow(t, ctx, w, t.TempDir(), r)
	waitFor(t, 5*time.Second, "first snapshot", func() bool { return r.has(intel.KindDomain, "evil.example") })
	// Registering the listed name as an asset takes it off at once.
	o, err := w.st.GetOrg(t.Context(), sys, 1)
	must(t, err)
	must(t, w.st.CreateAsset(t.Context(), sys, &asset.Asset{OrgID: o.ID, Kind: asset.KindHostname, Value: "evil.example"}))
	waitFor(t, 5*time.Second, "removal", func() bool { return !r.has(intel.KindDomain, "evil.example") })
	cancel()
	must(t, <-done)
}

// TestIncrementalMatchesFull: changes read by stamp (a TLP raised by a
// second source, a new name, a category changed) leave the follower with
// what a full build gives.
func TestIncrementalMatchesFull(t *testing.T) {
	w := newWorld(t)
	r := &recorder{}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := follow(t, ctx, w, t.TempDir(), r)
	waitFor(t, 5*time.Second, "first snapshot", func() bool { return r.has(intel.KindDomain, "evil.example") })
	w.add(t,
		intel.Record{Kind: intel.KindDomain, Value: "evil.example", Feed: "partner", TLP: intel.TLPAmber}, // now AMBER: leaves
		intel.Record{Kind: intel.KindDomain, Value: "inc.example", Feed: "feodo", Category: intel.CategoryC2, TLP: intel.TLPGreen},
		intel.Record{Kind: intel.KindIPv4, Value: "203.0.113.5", Feed: "feodo", Category: intel.CategoryScanner, TLP: intel.TLPGreen, Confidence: 99},
	)
	waitFor(t, 5*time.Second, "changes", func() bool {
		return !r.has(intel.KindDomain, "evil.example") && r.has(intel.KindDomain, "inc.example")
	})
	// The publisher may send a delta before it keeps the snapshot the
	// delta leads to: compare against that snapshot, not the one before.
	holds := func(s *snapshot.Snapshot, kind intel.Kind, value string) bool {
		return s != nil && slices.ContainsFunc(s.Entries, func(e snapshot.Entry) bool { return e.Kind == kind && e.Value == value })
	}
	waitFor(t, 5*time.Second, "the publisher's snapshot after the changes", func() bool {
		cur := w.pub.Current()
		return !holds(cur, intel.KindDomain, "evil.example") && holds(cur, intel.KindDomain, "inc.example") && holds(cur, intel.KindIPv4, "203.0.113.5")
	})
	// A full build over the same store finds nothing to change.
	want := w.pub.Current()
	w.pub.Invalidate()
	time.Sleep(400 * time.Millisecond)
	if got := w.pub.Current(); got.Version != want.Version {
		t.Fatalf("a full build changed the incremental result: %+v", snapshot.Diff(want, got))
	}
	r.mu.Lock()
	if len(r.entries) != len(want.Entries) {
		t.Errorf("follower has %d entries, publisher %d", len(r.entries), len(want.Entries))
	}
	for _, e := range want.Entries {
		if r.entries[e.Key()] != e {
			t.Errorf("%v: follower %+v, publisher %+v", e.Key(), r.entries[e.Key()], e)
		}
	}
	if e := r.entries[snapshot.Key{Kind: intel.KindIPv4, Value: "203.0.113.5"}]; e.Confidence != 99 {
		t.Errorf("changed entry %+v", e)
	}
	r.mu.Unlock()
	cancel()
	must(t, <-done)
}
