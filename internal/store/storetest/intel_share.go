package storetest

import (
	"slices"
	"testing"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// testIntelRecipients: TLP:RED records name recipients; they are stored,
// merged as a union, returned by every read, and refused when they do
// not exist or the record is not RED.
func testIntelRecipients(t *testing.T, f *fixture) {
	ctx, s := t.Context(), f.s
	u := auth.User{Name: "red-reader", Role: auth.RoleOrgMember, OrgID: f.b1.ID, PasswordHash: "h"}
	must(t, s.CreateUser(ctx, sys, &u), "create user")

	red := func(value, feed string, r intel.Recipients) intel.Record {
		return rec(t, intel.KindDomain, value, feed, func(x *intel.Record) { x.TLP, x.Recipients = intel.TLPRed, r })
	}
	sum := apply(t, s, red("red-one.example", "red-a", intel.Recipients{Orgs: []int64{f.a1.ID}, Users: []int64{u.ID}}))
	in := find(t, s, intel.KindDomain, "red-one.example")
	if !slices.Equal(in.Recipients.Orgs, []int64{f.a1.ID}) || !slices.Equal(in.Recipients.Users, []int64{u.ID}) {
		t.Fatalf("recipients after apply: %+v", in.Recipients)
	}
	// The same recipients again change nothing; a new one is a change.
	if again := apply(t, s, red("red-one.example", "red-a", intel.Recipients{Orgs: []int64{f.a1.ID}, Users: []int64{u.ID}})); again.Unchanged != 1 {
		t.Fatalf("same recipients again: %+v", again)
	}
	more := apply(t, s, red("red-one.example", "red-b", intel.Recipients{Orgs: []int64{f.b.ID}}))
	if more.Updated != 1 || more.Seq <= sum.Seq {
		t.Fatalf("a new recipient: %+v", more)
	}
	in = find(t, s, intel.KindDomain, "red-one.example")
	if want := []int64{f.a1.ID, f.b.ID}; !slices.Equal(in.Recipients.Orgs, want) {
		t.Fatalf("recipient orgs %v, want the union %v", in.Recipients.Orgs, want)
	}
	// A less restricted source does not take recipients away.
	apply(t, s, rec(t, intel.KindDomain, "red-one.example", "red-c", nil))
	if in = find(t, s, intel.KindDomain, "red-one.example"); in.TLP != intel.TLPRed || len(in.Recipients.Orgs) != 2 {
		t.Fatalf("after a GREEN source: %+v", in)
	}
	// Every read returns them.
	got, err := s.GetIndicator(ctx, sys, in.ID)
	must(t, err, "get")
	pg, err := s.ListIndicators(ctx, sys, store.IndicatorFilter{Query: "red-one.example"})
	must(t, err, "list")
	var each store.StoredIndicator
	must(t, s.EachIndicator(ctx, sys, store.IndicatorFilter{Query: "red-one.example"}, func(si store.StoredIndicator) error { each = si; return nil }), "each")
	for what, r := range map[string]intel.Recipients{"get": got.Recipients, "list": pg.Items[0].Recipients, "each": each.Recipients} {
		if !r.Equal(in.Recipients) {
			t.Errorf("%s: recipients %+v, want %+v", what, r, in.Recipients)
		}
	}

	// Recipients that do not exist are dropped: the indicator reaches
	// fewer, never more.
	apply(t, s, red("red-three.example", "red-a", intel.Recipients{Orgs: []int64{1 << 40, f.a1.ID}, Users: []int64{1 << 40}}))
	if r := find(t, s, intel.KindDomain, "red-three.example").Recipients; !slices.Equal(r.Orgs, []int64{f.a1.ID}) || len(r.Users) != 0 {
		t.Fatalf("unknown recipients kept: %+v", r)
	}
	amber := rec(t, intel.KindDomain, "red-two.example", "red-a", nil)
	amber.Recipients = intel.Recipients{Orgs: []int64{f.a1.ID}}
	_, err = s.ApplyIndicators(ctx, sys, []intel.Record{amber})
	wantErr(t, err, store.ErrInvalid, "recipients on a GREEN record")
	if _, err := s.FindIndicator(ctx, sys, store.IndicatorKey{Kind: intel.KindDomain, Value: "red-two.example"}); err == nil {
		t.Fatal("a refused apply stored something")
	}
}

// testIntelConcerning: IndicatorsConcerning returns an organization's
// sightings, its early warnings' indicators (AddConcerns) and the RED
// indicators naming it, in Seq order, paged, for that organization only.
func testIntelConcerning(t *testing.T, f *fixture) {
	ctx, s := t.Context(), f.s
	// Organizations of its own: the other parts' sightings are not here.
	c := f.org(t, sys, f.nat.ID, "CONC", org.KindMinistry)
	c1 := f.org(t, sys, c.ID, "CONC1", org.KindAgency)
	apply(t, s,
		rec(t, intel.KindIPv4, "203.0.113.1", "conc", nil),
		rec(t, intel.KindIPv4, "203.0.113.2", "conc", func(r *intel.Record) { r.TLP = intel.TLPAmberStrict }),
		rec(t, intel.KindIPv4, "203.0.113.3", "conc", nil),
		rec(t, intel.KindIPv4, "203.0.113.4", "conc", func(r *intel.Record) {
			r.TLP, r.Recipients = intel.TLPRed, intel.Recipients{Orgs: []int64{c1.ID}}
		}),
		rec(t, intel.KindIPv4, "203.0.113.5", "conc", nil),
	)
	id := func(v string) int64 { return find(t, s, intel.KindIPv4, v).ID }
	key := func(v string) store.IndicatorKey { return store.IndicatorKey{Kind: intel.KindIPv4, Value: v} }

	_, err := s.AddConcerns(ctx, as(auth.RoleOrgAdmin, c1), []store.Concern{{OrgID: c1.ID, Key: key("203.0.113.1")}})
	wantErr(t, err, store.ErrForbidden, "a member adds concerns")
	n, err := s.AddConcerns(ctx, sys, []store.Concern{
		{OrgID: c1.ID, Key: key("203.0.113.2")}, {OrgID: c1.ID, Key: key("203.0.113.2")},
		{OrgID: c1.ID, Key: key("203.0.113.1")}, {OrgID: f.a1.ID, Key: key("203.0.113.5")},
		{OrgID: c1.ID, Key: key("203.0.113.99")}, // not held: skipped
	})
	must(t, err, "add concerns")
	if n != 3 {
		t.Fatalf("AddConcerns added %d, want 3", n)
	}
	_, err = s.RecordSighting(ctx, sys, store.Sighting{IndicatorID: id("203.0.113.3"), OrgID: c1.ID})
	must(t, err, "sighting")
	// A sighting of what already concerns it is listed once.
	_, err = s.RecordSighting(ctx, sys, store.Sighting{IndicatorID: id("203.0.113.1"), OrgID: c1.ID})
	must(t, err, "sighting of a concern")

	list := func(p auth.Principal, cf store.ConcernFilter) []string {
		t.Helper()
		var out []string
		cf.Limit = 2
		for {
			pg, err := s.IndicatorsConcerning(ctx, p, cf)
			must(t, err, "indicators concerning")
			for _, si := range pg.Items {
				out = append(out, si.Value)
			}
			if pg.Next == "" {
				return out
			}
			cf.After = pg.Next
		}
	}
	want := []string{"203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"}
	if got := list(sys, store.ConcernFilter{OrgID: c1.ID}); !slices.Equal(got, want) {
		t.Fatalf("concerning B1: %v, want %v", got, want)
	}
	if got := list(sys, store.ConcernFilter{OrgID: c.ID}); len(got) != 0 {
		t.Fatalf("B's parent is concerned by %v; only B1 is", got)
	}
	if got := list(sys, store.ConcernFilter{OrgID: f.a1.ID}); !slices.Equal(got, []string{"red-one.example", "red-three.example", "203.0.113.5"}) { // the RED ones name A1
		t.Fatalf("concerning A1: %v", got)
	}
	if got := list(sys, store.ConcernFilter{OrgID: c1.ID, MaxTLP: intel.TLPAmber}); !slices.Equal(got, []string{"203.0.113.1", "203.0.113.3"}) {
		t.Fatalf("concerning B1 up to AMBER: %v", got)
	}
	if got := list(sys, store.ConcernFilter{OrgID: c1.ID, AfterSeq: find(t, s, intel.KindIPv4, "203.0.113.2").Seq}); !slices.Equal(got, want[2:]) {
		t.Fatalf("concerning B1 after a stamp: %v", got)
	}
	if got := list(sys, store.ConcernFilter{OrgID: c1.ID, TLP: intel.TLPAmberStrict}); !slices.Equal(got, []string{"203.0.113.2"}) {
		t.Fatalf("concerning B1 marked AMBER+STRICT: %v", got)
	}
	if got := list(sys, store.ConcernFilter{OrgID: c1.ID, IndicatorID: id("203.0.113.2")}); !slices.Equal(got, []string{"203.0.113.2"}) {
		t.Fatalf("one indicator: %v", got)
	}
	if got := list(sys, store.ConcernFilter{OrgID: c1.ID, IndicatorID: id("203.0.113.5")}); len(got) != 0 {
		t.Fatalf("A1's indicator concerns B1: %v", got)
	}
	pg, err := s.IndicatorsConcerning(ctx, sys, store.ConcernFilter{OrgID: c1.ID, IndicatorID: id("203.0.113.4")})
	must(t, err, "red one")
	if len(pg.Items) != 1 || !slices.Equal(pg.Items[0].Recipients.Orgs, []int64{c1.ID}) {
		t.Fatalf("the RED one comes with its recipients: %+v", pg.Items)
	}
	// A member reads its own organization's, limited as ListIndicators
	// limits it; another subtree's is not found.
	if got := list(as(auth.RoleViewer, c), store.ConcernFilter{OrgID: c1.ID}); !slices.Equal(got, []string{"203.0.113.1", "203.0.113.3"}) {
		t.Fatalf("B's viewer reads %v", got)
	}
	_, err = s.IndicatorsConcerning(ctx, as(auth.RoleViewer, f.a), store.ConcernFilter{OrgID: c1.ID})
	wantErr(t, err, store.ErrNotFound, "another subtree's")
	_, err = s.IndicatorsConcerning(ctx, as(auth.RoleWorker, c1), store.ConcernFilter{OrgID: c1.ID})
	wantErr(t, err, store.ErrForbidden, "a worker")
}
