package intelweb_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/intel/stix"
	"github.com/rampart-cert/rampart/internal/intelweb"
	"github.com/rampart-cert/rampart/internal/taxii"
)

// values reads every object of a collection as p, following next, and
// returns the indicator values in order.
func (w *world) values(b *intelweb.TAXII, p auth.Principal, coll string, limit int) ([]string, error) {
	byID := map[string]string{}
	for v, in := range w.ind {
		byID[stix.IndicatorID(in.Kind, v)] = v
	}
	var out []string
	q := taxii.Query{Limit: limit}
	for range 100 {
		pg, err := b.Objects(context.Background(), p, coll, q)
		if err != nil {
			return out, err
		}
		for _, o := range pg.Objects {
			out = append(out, byID[o.ID])
		}
		if !pg.More {
			return out, nil
		}
		q.After = pg.Next
	}
	w.t.Fatal("more than 100 pages")
	return nil, nil
}

func TestTAXIICollectionsByAudience(t *testing.T) {
	w := newWorld(t)
	b := intelweb.NewTAXII(w.st)
	ctx := context.Background()
	a := w.principal("A", auth.RoleOrgMember)
	cs, err := b.Collections(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	want := []string{}
	for _, tl := range intel.TLPs {
		want = append(want, taxii.NationalCollectionID(tl))
	}
	want = append(want, taxii.OrgCollectionID(w.orgs["A"].ID))
	if !slices.Equal(ids, want) {
		t.Errorf("A's member sees collections %v, want the national ones and A's own", ids)
	}
	analyst := auth.Principal{UserID: 9999, Role: auth.RoleAnalyst, Name: "analyst"}
	cs, _ = b.Collections(ctx, analyst)
	if len(cs) != len(intel.TLPs)+3 {
		t.Errorf("the analyst sees %d collections, want %d (national and every organization's)", len(cs), len(intel.TLPs)+3)
	}
	worker := auth.Principal{TokenID: 9, Role: auth.RoleWorker, OrgID: w.orgs["A"].ID}
	if cs, _ := b.Collections(ctx, worker); len(cs) != 0 {
		t.Errorf("a worker sees %d collections", len(cs))
	}
}

func TestTAXIIVisibilityByTLP(t *testing.T) {
	w := newWorld(t)
	b := intelweb.NewTAXII(w.st)
	a := w.principal("A", auth.RoleViewer)
	bm := w.principal("B", auth.RoleOrgMember)
	analyst := auth.Principal{UserID: 9999, Role: auth.RoleAnalyst, Name: "analyst"}
	orgA := taxii.OrgCollectionID(w.orgs["A"].ID)
	orgB := "org-" + strconv.FormatInt(w.orgs["B"].ID, 10) // the alias works too
	national := func(tl intel.TLP) string { return taxii.NationalCollectionID(tl) }
	cases := []struct {
		name string
		p    auth.Principal
		coll string
		want []string // sorted
		err  error
	}{
		// A's collection: the AMBER+STRICT early warning on its range.
		{"A reads its own", a, orgA, []string{"198.51.100.7"}, nil},
		{"B cannot open A's", bm, orgA, nil, taxii.ErrNotFound},
		{"B reads its own and the RED naming it", bm, orgB, []string{"203.0.113.9", "red.example.org"}, nil},
		{"the analyst reads A's", analyst, orgA, []string{"198.51.100.7"}, nil},
		// National, up to AMBER: CLEAR, GREEN, AMBER for every member.
		{"A national amber", a, national(intel.TLPAmber), []string{"10.0.0.0/8", "203.0.113.5", "203.0.113.6", "a.example.vn", "phish.example.net"}, nil},
		// Up to AMBER+STRICT: only the strict ones that concern the reader.
		{"A national strict", a, national(intel.TLPAmberStrict), []string{"10.0.0.0/8", "198.51.100.7", "203.0.113.5", "203.0.113.6", "a.example.vn", "phish.example.net"}, nil},
		{"B national strict", bm, national(intel.TLPAmberStrict), []string{"10.0.0.0/8", "203.0.113.5", "203.0.113.6", "203.0.113.9", "a.example.vn", "phish.example.net"}, nil},
		// RED reaches its recipients only: B (named) in its own
		// collection and the national RED one, Alice of A (named) in the
		// national RED one; not A's collection, not Carol of A, not the
		// analyst, and evil.example.com (RED, naming nobody) no one.
		{"A national red", a, national(intel.TLPRed), []string{"10.0.0.0/8", "198.51.100.7", "203.0.113.5", "203.0.113.6", "a.example.vn", "phish.example.net"}, nil},
		{"analyst national red", analyst, national(intel.TLPRed), []string{"10.0.0.0/8", "198.51.100.7", "203.0.113.5", "203.0.113.6", "203.0.113.9", "a.example.vn", "phish.example.net"}, nil},
		{"B national red", bm, national(intel.TLPRed), []string{"10.0.0.0/8", "203.0.113.5", "203.0.113.6", "203.0.113.9", "a.example.vn", "phish.example.net", "red.example.org"}, nil},
		{"B national strict holds no red", bm, national(intel.TLPAmberStrict), []string{"10.0.0.0/8", "203.0.113.5", "203.0.113.6", "203.0.113.9", "a.example.vn", "phish.example.net"}, nil},
		{"Alice national red", w.user("alice"), national(intel.TLPRed), []string{"10.0.0.0/8", "198.51.100.7", "203.0.113.5", "203.0.113.6", "a.example.vn", "phish.example.net", "red.example.org"}, nil},
		{"Carol national red", w.user("carol"), national(intel.TLPRed), []string{"10.0.0.0/8", "198.51.100.7", "203.0.113.5", "203.0.113.6", "a.example.vn", "phish.example.net"}, nil},
		{"Alice reads A's without red", w.user("alice"), orgA, []string{"198.51.100.7"}, nil},
		{"the analyst reads B's without red", analyst, orgB, []string{"203.0.113.9"}, nil},
		{"B's feed token reads B's red", auth.Principal{TokenID: 5, OrgID: w.orgs["B"].ID, Role: auth.RoleFeedConsumer, Name: "siem"}, orgB, []string{"203.0.113.9", "red.example.org"}, nil},
		{"A national green", a, national(intel.TLPGreen), []string{"10.0.0.0/8", "203.0.113.5", "a.example.vn", "phish.example.net"}, nil},
	}
	for _, c := range cases {
		for _, limit := range []int{1, 2, 100} {
			got, err := w.values(b, c.p, c.coll, limit)
			if !errors.Is(err, c.err) {
				t.Errorf("%s (limit %d): error %v, want %v", c.name, limit, err, c.err)
				continue
			}
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("%s (limit %d): %v, want %v", c.name, limit, got, c.want)
			}
		}
	}
}

func TestTAXIIPagesInChangeOrder(t *testing.T) {
	w := newWorld(t)
	b := intelweb.NewTAXII(w.st)
	ctx := context.Background()
	analyst := auth.Principal{UserID: 9999, Role: auth.RoleAnalyst, Name: "analyst"}
	coll := taxii.NationalCollectionID(intel.TLPAmber)
	first, err := b.Objects(ctx, analyst, coll, taxii.Query{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !first.More || len(first.Objects) != 2 || first.Next != first.Objects[1].Position() {
		t.Fatalf("first page: more %v, %d objects, next %v", first.More, len(first.Objects), first.Next)
	}
	// A change after the first page: the indicator comes again, as a
	// new version, after everything seen so far.
	r := intel.Record{Kind: intel.KindIPv4, Value: "203.0.113.5", Feed: "second-feed", TLP: intel.TLPGreen, Confidence: 90, LastSeen: now}
	if err := r.Normalize(now); err != nil {
		t.Fatal(err)
	}
	if _, err := w.st.ApplyIndicators(ctx, auth.SystemPrincipal, []intel.Record{r}); err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	q := taxii.Query{Limit: 2, After: first.Next}
	for _, o := range first.Objects {
		seqs = append(seqs, o.Seq)
	}
	var last taxii.Object
	for {
		pg, err := b.Objects(ctx, analyst, coll, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range pg.Objects {
			seqs = append(seqs, o.Seq)
			last = o
		}
		if !pg.More {
			break
		}
		q.After = pg.Next
	}
	if !slices.IsSorted(seqs) || len(slices.Compact(slices.Clone(seqs))) != len(seqs) || len(seqs) != 6 {
		t.Errorf("positions not strictly increasing: %v", seqs)
	}
	if last.ID != stix.IndicatorID(intel.KindIPv4, "203.0.113.5") || !last.Version.Equal(now) {
		t.Errorf("the changed indicator is not last as its new version: %s %v", last.ID, last.Version)
	}
	// added_after past everything returns nothing; match[type] of another type nothing.
	pg, _ := b.Objects(ctx, analyst, coll, taxii.Query{Limit: 10, AddedAfter: last.DateAdded})
	if len(pg.Objects) != 0 {
		t.Errorf("added_after the last date added: %d objects", len(pg.Objects))
	}
	pg, _ = b.Objects(ctx, analyst, coll, taxii.Query{Limit: 10, Types: []string{"malware"}})
	if len(pg.Objects) != 0 {
		t.Errorf("match[type]=malware: %d objects", len(pg.Objects))
	}
	one := stix.IndicatorID(intel.KindIPv4, "203.0.113.6")
	pg, _ = b.Objects(ctx, analyst, coll, taxii.Query{Limit: 10, IDs: []string{one}})
	if len(pg.Objects) != 1 || pg.Objects[0].ID != one {
		t.Errorf("match[id]: %v", pg.Objects)
	}
}

func TestConcerning(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	for code, want := range map[string][]int64{
		"A":  {w.ind["198.51.100.7"].ID},
		"B":  {w.ind["203.0.113.9"].ID, w.ind["red.example.org"].ID},
		"VN": nil, // a parent is not the organization concerned
	} {
		set, err := intelweb.Concerning(ctx, w.st, w.orgs[code].ID)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for id := range set {
			got = append(got, id)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", code, got, want)
		}
	}
}

func TestHideSubmitters(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a := w.principal("A", auth.RoleOrgMember)
	own, err := intelweb.PushFeed(ctx, w.st, a)
	if err != nil || own != "push:a" {
		t.Fatalf("A's push feed %q %v", own, err)
	}
	if f, _ := intelweb.PushFeed(ctx, w.st, auth.Principal{Role: auth.RoleAnalyst}); f != "push:national" {
		t.Errorf("national push feed %q", f)
	}
	src := func() []intel.Source {
		return []intel.Source{{Feed: "push:a", ExternalID: "a-1"}, {Feed: "push:b", ExternalID: "b-1"}, {Feed: "urlhaus", ExternalID: "u-1"}}
	}
	got := src()
	intelweb.HideSubmitters(a, own, got)
	if want := []intel.Source{{Feed: "push:a", ExternalID: "a-1"}, {Feed: "push"}, {Feed: "urlhaus", ExternalID: "u-1"}}; !slices.Equal(got, want) {
		t.Errorf("member sees %v, want %v", got, want)
	}
	got = src()
	intelweb.HideSubmitters(auth.Principal{Role: auth.RoleAnalyst}, "push:national", got)
	if !slices.Equal(got, src()) {
		t.Errorf("the analyst sees %v", got)
	}
	for feed, hidden := range map[string]bool{"push:b": true, "push:a": false, "urlhaus": false, "": false} {
		if intelweb.HidesFeed(a, own, feed) != hidden {
			t.Errorf("HidesFeed(%q) = %v", feed, !hidden)
		}
	}
	if intelweb.HidesFeed(auth.Principal{Role: auth.RoleAnalyst}, "push:national", "push:b") {
		t.Error("the analyst may not filter by a member's push feed")
	}
}
