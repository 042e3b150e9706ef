package hub_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/hub"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/store"
)

// An early warning links the owner to the indicator it names, so the
// owner's collection lists it (store.Intel.IndicatorsConcerning).
func TestImportRecordsConcerns(t *testing.T) {
	w := newWorld(t, false)
	ctx := t.Context()
	run, err := w.hub.Import(ctx, hub.ImportRequest{Format: store.FeedCSV, Preset: "plain-ip", Feed: "drop", TLP: intel.TLPAmberStrict},
		strings.NewReader("198.123.245.134\n203.0.113.77\n"))
	must(t, err)
	if run.Hits != 1 {
		t.Fatalf("run %+v: want one hit on A's address", run)
	}
	for o, want := range map[int64][]string{w.a.ID: {"198.123.245.134"}, w.b.ID: nil} {
		pg, err := w.st.IndicatorsConcerning(ctx, sys, store.ConcernFilter{OrgID: o})
		must(t, err)
		var got []string
		for _, si := range pg.Items {
			got = append(got, si.Value)
		}
		if !slices.Equal(got, want) {
			t.Errorf("organization %d: %v, want %v", o, got, want)
		}
	}
}

// A sighting of an indicator the reporter may not know of (AMBER+STRICT
// that does not concern its organization, RED that does not name it) is
// answered word for word as a sighting of a value the hub does not hold,
// and records nothing.
func TestSightingHidesWhatTheReporterMayNotKnow(t *testing.T) {
	w := newWorld(t, false)
	ctx := t.Context()
	rec := func(v string, tlp intel.TLP, r intel.Recipients) intel.Record {
		x := intel.Record{Kind: intel.KindIPv4, Value: v, Feed: "partner", TLP: tlp, Confidence: 70, Recipients: r}
		must(t, x.Normalize(w.now))
		return x
	}
	_, err := w.st.ApplyIndicators(ctx, sys, []intel.Record{
		rec("203.0.113.1", intel.TLPAmber, intel.Recipients{}),
		rec("203.0.113.2", intel.TLPAmberStrict, intel.Recipients{}),
		rec("203.0.113.3", intel.TLPAmberStrict, intel.Recipients{}),
		rec("203.0.113.4", intel.TLPRed, intel.Recipients{Orgs: []int64{w.b.ID}}),
		rec("203.0.113.5", intel.TLPRed, intel.Recipients{Orgs: []int64{w.a.ID}}),
		rec("203.0.113.6", intel.TLPRed, intel.Recipients{}),
	})
	must(t, err)
	// 203.0.113.3 concerns A: an early warning of A's named it.
	_, err = w.st.AddConcerns(ctx, sys, []store.Concern{{OrgID: w.a.ID, Key: store.IndicatorKey{Kind: intel.KindIPv4, Value: "203.0.113.3"}}})
	must(t, err)

	member := auth.Principal{UserID: 41, Name: "member@A", Role: auth.RoleOrgMember, OrgID: w.a.ID, OrgPath: w.a.Path}
	sensor := auth.Principal{TokenID: 42, Name: "sensor@A", Role: auth.RoleSensor, OrgID: w.a.ID, OrgPath: w.a.Path}
	sight := func(p auth.Principal, v string) error {
		_, err := w.hub.RecordSighting(ctx, p, hub.Sighting{Kind: intel.KindIPv4, Value: v, OrgID: w.a.ID})
		return err
	}
	for _, p := range []auth.Principal{member, sensor} {
		absent := sight(p, "203.0.113.250")
		if !errors.Is(absent, store.ErrNotFound) {
			t.Fatalf("%s: a value the hub does not hold: %v", p.Name, absent)
		}
		for v, known := range map[string]bool{
			"203.0.113.1": true,  // AMBER: every member
			"203.0.113.2": false, // AMBER+STRICT concerning nobody
			"203.0.113.3": true,  // AMBER+STRICT concerning A
			"203.0.113.4": false, // RED for B
			"203.0.113.5": true,  // RED for A
			"203.0.113.6": false, // RED for nobody
		} {
			err := sight(p, v)
			switch {
			case known && err != nil:
				t.Errorf("%s, %s: %v", p.Name, v, err)
			case !known && strings.ReplaceAll(err.Error(), v, "X") != strings.ReplaceAll(absent.Error(), "203.0.113.250", "X"):
				t.Errorf("%s, %s: %q differs from the answer for an absent value %q", p.Name, v, err, absent)
			}
		}
	}
	// Nothing was recorded of the hidden ones.
	pg, err := w.st.ListSightings(ctx, sys, store.SightingFilter{OrgID: w.a.ID})
	must(t, err)
	var seen []string
	for _, s := range pg.Items {
		in, err := w.st.GetIndicator(ctx, sys, s.IndicatorID)
		must(t, err)
		seen = append(seen, in.Value)
	}
	slices.Sort(seen)
	if want := []string{"203.0.113.1", "203.0.113.3", "203.0.113.5"}; !slices.Equal(seen, want) {
		t.Errorf("sightings recorded of %v, want %v", seen, want)
	}
}
