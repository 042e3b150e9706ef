package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/store"
)

// The threat-intelligence hub's state (store.Intel).

// The parts share one store and run in order: List first, while the
// store holds only its indicators; the others use values of their own.
func testIntel(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	for _, part := range []struct {
		name string
		fn   func(*testing.T, *fixture)
	}{
		{"List", testIntelList}, {"Apply", testIntelApply}, {"Sightings", testIntelSightings}, {"Feeds", testIntelFeeds},
		{"Reviews", testIntelReviews}, {"Consumers", testIntelConsumers}, {"Feedback", testIntelFeedback},
		{"ConcurrentApply", testIntelConcurrentApply}, {"Recipients", testIntelRecipients}, {"Concerning", testIntelConcerning},
	} {
		if !t.Run(part.name, func(t *testing.T) { part.fn(t, f) }) {
			return
		}
	}
}

var intelT0 = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

// rec makes a normalized record.
func rec(t *testing.T, kind intel.Kind, value, feed string, mod func(*intel.Record)) intel.Record {
	t.Helper()
	r := intel.Record{Kind: kind, Value: value, Feed: feed, Confidence: 50, TLP: intel.TLPGreen, FirstSeen: intelT0, LastSeen: intelT0}
	if mod != nil {
		mod(&r)
	}
	must(t, r.Normalize(intelT0), "normalize "+value)
	return r
}

func apply(t *testing.T, s store.Store, recs ...intel.Record) store.ApplySummary {
	t.Helper()
	sum, err := s.ApplyIndicators(t.Context(), sys, recs)
	must(t, err, "apply indicators")
	return sum
}

func find(t *testing.T, s store.Store, kind intel.Kind, value string) store.StoredIndicator {
	t.Helper()
	in, err := s.FindIndicator(t.Context(), sys, store.IndicatorKey{Kind: kind, Value: value})
	must(t, err, "find "+value)
	return in
}

func testIntelApply(t *testing.T, f *fixture) {
	ctx, s := t.Context(), f.s
	analyst := auth.Principal{Name: "analyst", Role: auth.RoleAnalyst}

	sum, err := s.ApplyIndicators(ctx, analyst, []intel.Record{
		rec(t, intel.KindIPv4, "198.51.100.7", "feed-a", func(r *intel.Record) { r.Labels = []string{"malware:mirai"} }),
		rec(t, intel.KindDomain, "Evil.Example", "feed-a", nil),
		// The same value twice in one batch merges in order.
		rec(t, intel.KindIPv4, "198.51.100.7", "feed-a", func(r *intel.Record) { r.LastSeen = intelT0.Add(time.Hour) }),
	})
	must(t, err, "analyst applies")
	if sum.Records != 3 || sum.New != 2 || sum.Updated != 0 || sum.Unchanged != 0 || sum.Seq < 2 {
		t.Fatalf("first apply %+v", sum)
	}
	ip := find(t, s, intel.KindIPv4, "198.51.100.7")
	if len(ip.Sources) != 1 || ip.Sources[0].Feed != "feed-a" || !ip.LastSeen.Equal(intelT0.Add(time.Hour)) ||
		!slices.Equal(ip.Labels, []string{"malware:mirai"}) || ip.Seq <= 0 || ip.Created.IsZero() || ip.Modified.IsZero() {
		t.Fatalf("indicator after first apply: %+v", ip)
	}
	if d := find(t, s, intel.KindDomain, "evil.example"); d.Value != "evil.example" || d.TLP != intel.TLPGreen || d.Category != intel.CategoryBlocklist {
		t.Fatalf("domain %+v", d)
	}

	// The same records again change nothing and take no stamp.
	seq, err := s.IntelSeq(ctx)
	must(t, err, "seq")
	if seq != sum.Seq {
		t.Fatalf("IntelSeq %d, summary %d", seq, sum.Seq)
	}
	again := apply(t, s, rec(t, intel.KindIPv4, "198.51.100.7", "feed-a", func(r *intel.Record) {
		r.Labels = []string{"malware:mirai"}
		r.LastSeen = intelT0.Add(time.Hour)
	}))
	if again.New != 0 || again.Updated != 0 || again.Unchanged != 1 {
		t.Fatalf("same record again: %+v", again)
	}
	if got := find(t, s, intel.KindIPv4, "198.51.100.7"); got.Seq != ip.Seq {
		t.Fatalf("unchanged indicator took a new seq: %d → %d", ip.Seq, got.Seq)
	}

	// A second feed: one indicator, two sources; the strictest marking,
	// highest confidence, specific category, union of labels.
	sum = apply(t, s, rec(t, intel.KindIPv4, "198.51.100.7", "feed-b", func(r *intel.Record) {
		r.TLP, r.Confidence, r.Category = intel.TLPAmber, 90, intel.CategoryC2
		r.Labels = []string{"actor:apt-x"}
		r.ExternalID = "indicator--1"
		r.FirstSeen = intelT0.Add(-24 * time.Hour)
	}))
	if sum.Updated != 1 || sum.New != 0 {
		t.Fatalf("second feed: %+v", sum)
	}
	ip2 := find(t, s, intel.KindIPv4, "198.51.100.7")
	if len(ip2.Sources) != 2 || ip2.TLP != intel.TLPAmber || ip2.Confidence != 90 || ip2.Category != intel.CategoryC2 ||
		!slices.Equal(ip2.Labels, []string{"actor:apt-x", "malware:mirai"}) || !ip2.FirstSeen.Equal(intelT0.Add(-24*time.Hour)) || ip2.Seq <= ip.Seq {
		t.Fatalf("merged indicator %+v", ip2)
	}
	var b intel.Source
	for _, src := range ip2.Sources {
		if src.Feed == "feed-b" {
			b = src
		}
	}
	if b.ExternalID != "indicator--1" || b.Confidence != 90 || b.TLP != intel.TLPAmber {
		t.Fatalf("source of feed-b %+v", b)
	}
	if got, err := s.GetIndicator(ctx, sys, ip2.ID); err != nil || got.Value != ip2.Value || len(got.Sources) != 2 {
		t.Fatalf("get by ID: %+v, %v", got, err)
	}
	// Feeds named by records exist, to run on demand.
	fb, err := s.GetFeedByName(ctx, sys, "feed-b")
	must(t, err, "feed created by records")
	if fb.Enabled || fb.Location != "" || fb.Interval != 0 {
		t.Fatalf("feed created by records %+v", fb)
	}

	// A bad record refuses the whole batch.
	bad := rec(t, intel.KindIPv4, "198.51.100.8", "feed-a", nil)
	bad.TLP = "PURPLE"
	_, err = s.ApplyIndicators(ctx, sys, []intel.Record{rec(t, intel.KindIPv4, "198.51.100.9", "feed-a", nil), bad})
	wantErr(t, err, store.ErrInvalid, "unnormalized record")
	if _, err := s.FindIndicator(ctx, sys, store.IndicatorKey{Kind: intel.KindIPv4, Value: "198.51.100.9"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused batch stored part of itself: %v", err)
	}
	// Only the national level applies.
	_, err = s.ApplyIndicators(ctx, as(auth.RoleOrgAdmin, f.a), []intel.Record{rec(t, intel.KindIPv4, "198.51.100.10", "x", nil)})
	wantErr(t, err, store.ErrForbidden, "org admin applies")
	if _, err := s.FindIndicator(ctx, sys, store.IndicatorKey{Kind: intel.KindIPv4, Value: "nope"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing indicator: %v", err)
	}
}

func testIntelList(t *testing.T, f *fixture) {
	ctx, s := t.Context(), f.s
	var recs []intel.Record
	for i := range 25 {
		tlp := intel.TLPGreen
		if i%5 == 0 {
			tlp = intel.TLPRed
		}
		recs = append(recs, rec(t, intel.KindIPv4, fmt.Sprintf("203.0.113.%d", i), "list-a", func(r *intel.Record) {
			r.TLP, r.Confidence = tlp, 10+i*3
			if i%2 == 0 {
				r.Category = intel.CategoryScanner
			}
			if i == 7 {
				r.Labels = []string{"campaign:storm_1"}
			}
			if i == 8 {
				r.ValidUntil = intelT0.Add(time.Hour)
			}
		}))
	}
	recs = append(recs, rec(t, intel.KindDomain, "phish.example", "list-b", nil), rec(t, intel.KindURL, "http://phish.example/login", "list-b", nil))
	apply(t, s, recs...)

	list := func(p auth.Principal, fl store.IndicatorFilter) []store.StoredIndicator {
		t.Helper()
		return all(t, func(after string) (store.Page[store.StoredIndicator], error) {
			fl.PageRequest = store.PageRequest{Limit: 4, After: after}
			return s.ListIndicators(ctx, p, fl)
		})
	}
	got := list(sys, store.IndicatorFilter{})
	if len(got) != 27 {
		t.Fatalf("all indicators: %d", len(got))
	}
	for i := 1; i < len(got); i++ {
		if got[i].Seq <= got[i-1].Seq {
			t.Fatalf("pages out of seq order at %d", i)
		}
	}
	newest := list(sys, store.IndicatorFilter{Newest: true})
	if len(newest) != 27 || newest[0].Seq != got[26].Seq {
		t.Fatalf("newest first: %d items, first seq %d", len(newest), newest[0].Seq)
	}
	for _, tc := range []struct {
		name string
		fl   store.IndicatorFilter
		want int
	}{
		{"kind", store.IndicatorFilter{Kind: intel.KindURL}, 1},
		{"category", store.IndicatorFilter{Category: intel.CategoryScanner}, 13},
		{"feed", store.IndicatorFilter{Feed: "list-b"}, 2},
		{"label", store.IndicatorFilter{Label: "campaign:storm_1"}, 1},
		{"query", store.IndicatorFilter{Query: "PHISH"}, 2},
		{"confidence", store.IndicatorFilter{MinConfidence: 70}, 5},
		{"tlp", store.IndicatorFilter{MaxTLP: intel.TLPAmber}, 22},
		{"active", store.IndicatorFilter{Active: true, Now: intelT0.Add(2 * time.Hour)}, 26},
		{"after seq", store.IndicatorFilter{AfterSeq: got[24].Seq}, 2},
		{"changed since", store.IndicatorFilter{ChangedSince: time.Now().Add(time.Hour)}, 0},
	} {
		if n := len(list(sys, tc.fl)); n != tc.want {
			t.Errorf("filter %s: %d indicators, want %d", tc.name, n, tc.want)
		}
	}
	// A member sees CLEAR and GREEN only, whatever it asks for.
	viewer := as(auth.RoleViewer, f.a)
	if n := len(list(viewer, store.IndicatorFilter{MaxTLP: intel.TLPRed})); n != 22 {
		t.Fatalf("viewer sees %d indicators, want 22", n)
	}
	red := find(t, s, intel.KindIPv4, "203.0.113.5")
	if _, err := s.GetIndicator(ctx, viewer, red.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("viewer reads a RED indicator: %v", err)
	}
	if _, err := s.ListIndicators(ctx, as(auth.RoleSensor, f.a), store.IndicatorFilter{}); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("sensor lists indicators: %v", err)
	}
	withSources, err := s.ListIndicators(ctx, sys, store.IndicatorFilter{Feed: "list-b", Sources: true})
	must(t, err, "list with sources")
	if len(withSources.Items) != 2 || len(withSources.Items[0].Sources) != 1 {
		t.Fatalf("sources not filled: %+v", withSources.Items)
	}
	var each []int64
	must(t, s.EachIndicator(ctx, sys, store.IndicatorFilter{Kind: intel.KindIPv4}, func(in store.StoredIndicator) error {
		each = append(each, in.Seq)
		return nil
	}), "each")
	if len(each) != 25 || !slices.IsSorted(each) {
		t.Fatalf("each: %v", each)
	}
	stop := errors.New("stop")
	if err := s.EachIndicator(ctx, sys, store.IndicatorFilter{}, func(store.StoredIndicator) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("each does not return fn's error: %v", err)
	}
}

func testIntelSightings(t *testing.T, f *fixture) {
	ctx, s := t.Context(), f.s
	apply(t, s, rec(t, intel.KindIPv4, "192.0.2.50", "sight", nil), rec(t, intel.KindIPv4, "192.0.2.51", "sight", nil))
	in := find(t, s, intel.KindIPv4, "192.0.2.50")
	other := find(t, s, intel.KindIPv4, "192.0.2.51")

	memberA1 := as(auth.RoleOrgMember, f.a1)
	g, err := s.RecordSighting(ctx, memberA1, store.Sighting{IndicatorID: in.ID, OrgID: f.a11.ID, Count: 2, LastSeen: intelT0})
	must(t, err, "member records a sighting in its subtree")
	if g.Count != 2 || !g.FirstSeen.Equal(intelT0) {
		t.Fatalf("sighting %+v", g)
	}
	g, err = s.RecordSighting(ctx, memberA1, store.Sighting{IndicatorID: in.ID, OrgID: f.a11.ID, FirstSeen: intelT0.Add(-time.Hour), LastSeen: intelT0.Add(time.Hour)})
	must(t, err, "second sighting")
	if g.Count != 3 || !g.FirstSeen.Equal(intelT0.Add(-time.Hour)) || !g.LastSeen.Equal(intelT0.Add(time.Hour)) {
		t.Fatalf("accumulated sighting %+v", g)
	}
	_, err = s.RecordSighting(ctx, memberA1, store.Sighting{IndicatorID: in.ID, OrgID: f.b1.ID})
	wantErr(t, err, store.ErrNotFound, "sighting for another subtree")
	_, err = s.RecordSighting(ctx, as(auth.RoleViewer, f.a1), store.Sighting{IndicatorID: in.ID, OrgID: f.a1.ID})
	wantErr(t, err, store.ErrForbidden, "viewer records a sighting")
	_, err = s.RecordSighting(ctx, sys, store.Sighting{IndicatorID: 1 << 40, OrgID: f.a1.ID})
	wantErr(t, err, store.ErrNotFound, "sighting of no indicator")
	_, err = s.RecordSighting(ctx, as(auth.RoleSensor, f.b), store.Sighting{IndicatorID: other.ID, OrgID: f.b1.ID})
	must(t, err, "sensor of B")

	if got := find(t, s, intel.KindIPv4, "192.0.2.50"); got.Sightings != 3 {
		t.Fatalf("indicator counts %d sightings, want 3", got.Sightings)
	}
	list := func(p auth.Principal, fl store.SightingFilter) []store.Sighting {
		return all(t, func(after string) (store.Page[store.Sighting], error) {
			fl.PageRequest = store.PageRequest{Limit: 1, After: after}
			return s.ListSightings(ctx, p, fl)
		})
	}
	if n := len(list(sys, store.SightingFilter{})); n != 2 {
		t.Fatalf("system sees %d sightings, want 2", n)
	}
	if got := list(as(auth.RoleViewer, f.a), store.SightingFilter{}); len(got) != 1 || got[0].OrgID != f.a11.ID {
		t.Fatalf("A's viewer sees %+v", got)
	}
	if got := list(as(auth.RoleViewer, f.b), store.SightingFilter{IndicatorID: in.ID}); len(got) != 0 {
		t.Fatalf("B's viewer sees A's sighting: %+v", got)
	}
	if got := list(sys, store.SightingFilter{OrgID: f.b.ID}); len(got) != 1 || got[0].IndicatorID != other.ID {
		t.Fatalf("B's subtree: %+v", got)
	}
	if _, err := s.ListSightings(ctx, as(auth.RoleViewer, f.b), store.SightingFilter{OrgID: f.a.ID}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("B's viewer names A: %v", err)
	}
}

func testIntelFeeds(t *testing.T, f *fixture) {
	ctx, s := t.Context(), f.s
	admin := auth.Principal{Name: "admin", Role: auth.RolePlatformAdmin}
	fd := store.Feed{Name: "urlhaus", Format: store.FeedCSV, Preset: "urlhaus", Location: "https://urlhaus.example/csv", Interval: time.Hour, Enabled: true, Analyst: "an"}
	must(t, s.CreateFeed(ctx, admin, &fd), "create feed")
	if fd.ID == 0 || fd.TLP != intel.TLPAmber {
		t.Fatalf("created %+v", fd)
	}
	dup := store.Feed{Name: "urlhaus", Format: store.FeedCSV}
	wantErr(t, s.CreateFeed(ctx, admin, &dup), store.ErrConflict, "duplicate name")
	for name, bad := range map[string]store.Feed{
		"format":   {Name: "x", Format: "xml"},
		"interval": {Name: "x", Format: store.FeedCSV, Location: "/f", Interval: time.Second},
		"location": {Name: "x", Format: store.FeedCSV, Interval: time.Hour},
		"tlp":      {Name: "x", Format: store.FeedCSV, TLP: "PURPLE"},
		"options":  {Name: "x", Format: store.FeedCSV, Options: "{"},
		"name":     {Name: " "},
	} {
		wantErr(t, s.CreateFeed(ctx, admin, &bad), store.ErrInvalid, "bad "+name)
	}
	viewer := as(auth.RoleOrgAdmin, f.a)
	other := store.Feed{Name: "mine", Format: store.FeedCSV}
	wantErr(t, s.CreateFeed(ctx, viewer, &other), store.ErrForbidden, "org admin creates a feed")
	if _, err := s.ListFeeds(ctx, viewer); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("org admin lists feeds: %v", err)
	}

	fd.Interval, fd.Enabled, fd.TLP = 2*time.Hour, false, intel.TLPGreen
	fd.Name = "renamed" // the name stays
	must(t, s.UpdateFeed(ctx, admin, &fd), "update")
	if fd.Name != "urlhaus" || fd.Interval != 2*time.Hour || fd.Enabled || fd.TLP != intel.TLPGreen {
		t.Fatalf("updated %+v", fd)
	}
	missing := store.Feed{ID: 1 << 40, Name: "x"}
	wantErr(t, s.UpdateFeed(ctx, admin, &missing), store.ErrNotFound, "update missing")

	rejections := make([]intel.Rejection, store.MaxFeedRejections+20)
	for i := range rejections {
		rejections[i] = intel.Rejection{Where: fmt.Sprintf("line %d", i+2), Reason: "not an address"}
	}
	at := intelT0.Add(time.Hour)
	run, err := s.RecordFeedRun(ctx, admin, "urlhaus", store.FeedRun{At: at, Records: 10, New: 4, Updated: 3, Rejected: 120, Hits: 2, Rejections: rejections})
	must(t, err, "record run")
	if run.LastRun == nil || !run.LastRun.Equal(at) || run.LastOK == nil || run.Records != 10 || run.New != 4 || run.Updated != 3 ||
		run.Rejected != 120 || run.Hits != 2 || len(run.Rejections) != store.MaxFeedRejections || run.Rejections[0].Where != "line 2" || run.Failures != 0 {
		t.Fatalf("after a good run %+v", run)
	}
	for i := 1; i <= 2; i++ {
		run, err = s.RecordFeedRun(ctx, admin, "urlhaus", store.FeedRun{At: at.Add(time.Duration(i) * time.Minute), Err: "fetch: 503"})
		must(t, err, "record failed run")
		if run.Failures != i || run.LastError != "fetch: 503" || !run.LastOK.Equal(at) || run.Records != 10 {
			t.Fatalf("after failure %d: %+v", i, run)
		}
	}
	run, err = s.RecordFeedRun(ctx, admin, "urlhaus", store.FeedRun{At: at.Add(time.Hour), Records: 1})
	must(t, err, "record run")
	if run.Failures != 0 || run.LastError != "" || len(run.Rejections) != 0 {
		t.Fatalf("a success clears the failures: %+v", run)
	}
	if _, err := s.RecordFeedRun(ctx, admin, "pushed-only", store.FeedRun{Records: 3}); err != nil {
		t.Fatalf("run of a feed named only now: %v", err)
	}
	feeds, err := s.ListFeeds(ctx, admin)
	must(t, err, "list feeds")
	var names []string
	for _, x := range feeds {
		if x.Name == "pushed-only" || x.Name == "urlhaus" {
			names = append(names, x.Name)
		}
	}
	if !slices.Equal(names, []string{"pushed-only", "urlhaus"}) || !slices.IsSortedFunc(feeds, func(a, b store.Feed) int { return strings.Compare(a.Name, b.Name) }) {
		t.Fatalf("feeds %v", names)
	}
	got, err := s.GetFeed(ctx, admin, fd.ID)
	must(t, err, "get feed")
	if got.Analyst != "an" || got.Preset != "urlhaus" {
		t.Fatalf("get %+v", got)
	}
	wantAudit(t, auditOf(t, s, "intel_feed", fd.ID), "admin", "intel.feed.create", "intel.feed.update", "intel.feed.run", "intel.feed.run", "intel.feed.run", "intel.feed.run")

	// A feed that is the source of indicators stays.
	apply(t, s, rec(t, intel.KindIPv4, "192.0.2.1", "urlhaus", nil))
	wantErr(t, s.DeleteFeed(ctx, admin, fd.ID), store.ErrConflict, "delete a feed with indicators")
	empty := store.Feed{Name: "empty"}
	must(t, s.CreateFeed(ctx, admin, &empty), "create empty")
	must(t, s.DeleteFeed(ctx, admin, empty.ID), "delete empty")
	if _, err := s.GetFeed(ctx, admin, empty.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted feed: %v", err)
	}
}

func testIntelReviews(t *testing.T, f *fixture) {
	ctx, s := t.Context(), f.s
	apply(t, s, rec(t, intel.KindDomain, "portal.moh.example", "rev", nil), rec(t, intel.KindCIDR, "10.0.0.0/8", "rev", nil))
	d := find(t, s, intel.KindDomain, "portal.moh.example")
	n := find(t, s, intel.KindCIDR, "10.0.0.0/8")
	analyst := auth.Principal{Name: "ana", Role: auth.RoleAnalyst}

	r, created, err := s.QueueReview(ctx, sys, d.ID, "would block MOH's portal")
	must(t, err, "queue")
	if !created || r.State != store.ReviewPending || r.Kind != intel.KindDomain || r.Value != "portal.moh.example" {
		t.Fatalf("queued %+v %v", r, created)
	}
	r2, created, err := s.QueueReview(ctx, sys, d.ID, "would block MOH's portal")
	must(t, err, "queue again")
	if created || r2.ID != r.ID {
		t.Fatalf("queued twice: %+v %v", r2, created)
	}
	_, _, err = s.QueueReview(ctx, sys, n.ID, "wider than /16")
	must(t, err, "queue range")

	dec, err := s.DecideReview(ctx, analyst, r.ID, true, "the portal was compromised; block it")
	must(t, err, "approve")
	if dec.State != store.ReviewApproved || dec.DecidedBy != "ana" || dec.DecidedAt == nil || dec.Note == "" {
		t.Fatalf("decided %+v", dec)
	}
	// The decision stands for the same reason, and waits again for another.
	if r3, created, _ := s.QueueReview(ctx, sys, d.ID, "would block MOH's portal"); created || r3.State != store.ReviewApproved {
		t.Fatalf("same reason reopened a decision: %+v", r3)
	}
	r4, created, err := s.QueueReview(ctx, sys, d.ID, "covers a registered hostname")
	must(t, err, "queue with a new reason")
	if !created || r4.State != store.ReviewPending || r4.DecidedAt != nil || r4.ID != r.ID {
		t.Fatalf("new reason: %+v %v", r4, created)
	}
	pending := all(t, func(after string) (store.Page[store.Review], error) {
		return s.ListReviews(ctx, analyst, store.ReviewFilter{State: store.ReviewPending, PageRequest: store.PageRequest{Limit: 1, After: after}})
	})
	if len(pending) != 2 || pending[0].ID < pending[1].ID {
		t.Fatalf("pending reviews newest first: %+v", pending)
	}
	if got, err := s.GetReview(ctx, analyst, r.ID); err != nil || got.Reason != "covers a registered hostname" {
		t.Fatalf("get review %+v %v", got, err)
	}
	_, err = s.DecideReview(ctx, as(auth.RoleOrgAdmin, f.a), r.ID, true, "")
	wantErr(t, err, store.ErrForbidden, "org admin decides")
	_, err = s.DecideReview(ctx, analyst, 1<<40, false, "")
	wantErr(t, err, store.ErrNotFound, "decide missing")
	wantAudit(t, auditOf(t, s, "intel_review", r.ID), "", "intel.review.create", "intel.review.decide", "intel.review.reopen")
	_, _, err = s.QueueReview(ctx, sys, 1<<40, "x")
	wantErr(t, err, store.ErrNotFound, "review of no indicator")
	_, _, err = s.QueueReview(ctx, sys, d.ID, "  ")
	wantErr(t, err, store.ErrInvalid, "review without reason")
}

func testIntelConsumers(t *testing.T, f *fixture) {
	ctx, s := t.Context(), f.s
	hash := func(c byte) string {
		return fmt.Sprintf("%064x", []byte{c})[:62] + "0" + string("0123456789abcdef"[c%16])
	}
	c := store.Consumer{Name: "fw-a", KeyHash: hash(1), OrgID: f.a.ID, Kinds: []intel.Kind{intel.KindIPv4, intel.KindCIDR, intel.KindIPv4},
		MinConfidence: 60, MaxTLP: intel.TLPAmber, MaxAge: 30 * 24 * time.Hour, Formats: []string{"nftables", "Plain"}, Enabled: true}
	must(t, s.CreateConsumer(ctx, sys, &c), "create consumer")
	if c.ID == 0 || len(c.Kinds) != 2 || !slices.Equal(c.Formats, []string{"nftables", "plain"}) {
		t.Fatalf("created %+v", c)
	}
	dupKey := store.Consumer{Name: "other", KeyHash: hash(1)}
	wantErr(t, s.CreateConsumer(ctx, sys, &dupKey), store.ErrConflict, "same key")
	for name, bad := range map[string]store.Consumer{
		"key":        {Name: "x", KeyHash: "abc"},
		"kind":       {Name: "x", KeyHash: hash(2), Kinds: []intel.Kind{"bogus"}},
		"confidence": {Name: "x", KeyHash: hash(2), MinConfidence: 101},
		"format":     {Name: "x", KeyHash: hash(2), Formats: []string{"../x"}},
	} {
		wantErr(t, s.CreateConsumer(ctx, sys, &bad), store.ErrInvalid, "bad "+name)
	}
	noOrg := store.Consumer{Name: "x", KeyHash: hash(3), OrgID: 1 << 40}
	wantErr(t, s.CreateConsumer(ctx, sys, &noOrg), store.ErrNotFound, "consumer of no organization")
	mine := store.Consumer{Name: "mine", KeyHash: hash(4)}
	wantErr(t, s.CreateConsumer(ctx, as(auth.RoleOrgAdmin, f.a), &mine), store.ErrForbidden, "org admin creates a consumer")

	got, err := s.ConsumerForKey(ctx, hash(1))
	must(t, err, "consumer for key")
	if got.ID != c.ID || got.LastUsedAt == nil || got.MaxAge != 30*24*time.Hour || got.MaxTLP != intel.TLPAmber {
		t.Fatalf("for key %+v", got)
	}
	if _, err := s.ConsumerForKey(ctx, hash(9)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown key: %v", err)
	}
	c.Enabled, c.KeyHash = false, ""
	must(t, s.UpdateConsumer(ctx, sys, &c), "disable, keep key")
	if c.KeyHash != hash(1) || c.Enabled {
		t.Fatalf("updated %+v", c)
	}
	if _, err := s.ConsumerForKey(ctx, hash(1)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("disabled consumer: %v", err)
	}
	list, err := s.ListConsumers(ctx, sys)
	must(t, err, "list")
	if len(list) != 1 || list[0].Name != "fw-a" {
		t.Fatalf("consumers %+v", list)
	}
	must(t, s.DeleteConsumer(ctx, sys, c.ID), "delete")
	if _, err := s.GetConsumer(ctx, sys, c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted consumer: %v", err)
	}
	wantAudit(t, auditOf(t, s, "intel_consumer", c.ID), "system", "intel.consumer.create", "intel.consumer.update", "intel.consumer.delete")
}

func testIntelFeedback(t *testing.T, f *fixture) {
	ctx, s := t.Context(), f.s
	fd := store.Feed{Name: "fb-feed", Format: store.FeedCSV}
	must(t, s.CreateFeed(ctx, sys, &fd), "feed")
	fb := store.Feedback{EventID: "transition/k1/20261201T080000.000000Z/false-positive", Feed: "fb-feed", FindingID: 7, OrgID: f.a.ID,
		Kind: intel.FindingBlocklisted, Target: "192.0.2.9", Action: "false-positive", Reason: "our NAT gateway, shared", Actor: "alice", At: intelT0}
	added, err := s.AddFeedback(ctx, fb)
	must(t, err, "add feedback")
	if !added {
		t.Fatal("first feedback not added")
	}
	if added, err = s.AddFeedback(ctx, fb); err != nil || added {
		t.Fatalf("same event twice: %v %v", added, err)
	}
	fb.EventID, fb.Feed = "other", "no-such-feed"
	if added, err = s.AddFeedback(ctx, fb); err != nil || added {
		t.Fatalf("feedback for an unknown feed: %v %v", added, err)
	}
	page, err := s.ListFeedback(ctx, sys, fd.ID, store.PageRequest{})
	must(t, err, "list feedback")
	if len(page.Items) != 1 || page.Items[0].Reason != "our NAT gateway, shared" || page.Items[0].Feed != "fb-feed" || !page.Items[0].At.Equal(intelT0) {
		t.Fatalf("feedback %+v", page.Items)
	}
	got, err := s.GetFeed(ctx, sys, fd.ID)
	must(t, err, "feed")
	if got.Feedback != 1 {
		t.Fatalf("feed counts %d feedback", got.Feedback)
	}
	if _, err := s.ListFeedback(ctx, as(auth.RoleOrgAdmin, f.a), fd.ID, store.PageRequest{}); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("org admin reads feedback: %v", err)
	}
}

// testIntelConcurrentApply applies overlapping batches from several
// writers: every value is one indicator and every stamp is used once.
func testIntelConcurrentApply(t *testing.T, f *fixture) {
	ctx, s := t.Context(), f.s
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Go(func() {
			var recs []intel.Record
			for i := range 50 {
				recs = append(recs, rec(t, intel.KindIPv4, fmt.Sprintf("100.64.0.%d", i), fmt.Sprintf("writer-%d", w), nil))
			}
			for range 3 {
				if _, err := s.ApplyIndicators(ctx, sys, recs); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	n := 0
	must(t, s.EachIndicator(ctx, sys, store.IndicatorFilter{Query: "100.64.0.", Sources: true}, func(in store.StoredIndicator) error {
		n++
		if seen[in.Seq] {
			return fmt.Errorf("seq %d twice", in.Seq)
		}
		seen[in.Seq] = true
		if len(in.Sources) != 4 {
			return fmt.Errorf("%s has %d sources, want 4", in.Value, len(in.Sources))
		}
		return nil
	}), "each")
	if n != 50 {
		t.Fatalf("%d indicators, want 50", n)
	}
}
