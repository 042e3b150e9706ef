package blocklist

import (
	"bytes"
	"slices"
	"testing"

	"github.com/rampart-cert/rampart/internal/intel"
)

// An updated list renders exactly as a list built from the indicators as
// they are after the changes, in every format.
func TestUpdateIsBuildOfTheResult(t *testing.T) {
	base := sample()
	g := &Guard{MaxPrefix4: 16, MaxPrefix6: 32}
	old, _ := Build(base, g)

	changed := base[0]
	changed.Confidence, changed.LastSeen = 40, testNow
	added := ind(intel.KindDomain, "new-bad.example", intel.TLPGreen, 70, intel.CategoryPhishing, 0)
	addedIP := ind(intel.KindIPv4, "192.0.2.200", intel.TLPClear, 90, intel.CategoryC2, 0)
	held := ind(intel.KindIPv4, "10.1.2.3", intel.TLPClear, 90, intel.CategoryC2, 0) // private: the guard holds it
	held.ID = 77
	dropped := base[1]
	changes := []Change{{Indicator: changed}, {Indicator: added}, {Indicator: addedIP}, {Indicator: held}, {Indicator: dropped, Drop: true}}
	got, review := old.Update(changes, g)
	if len(review) != 1 || review[0].IndicatorID != 77 {
		t.Fatalf("review %+v, want the private address", review)
	}

	var after []intel.Indicator
	for i, in := range base {
		switch i {
		case 0:
			after = append(after, changed)
		case 1: // dropped
		default:
			after = append(after, in)
		}
	}
	after = append(after, added, addedIP)
	want, _ := Build(after, g)
	if got.Len() != want.Len() || got.Serial != want.Serial {
		t.Fatalf("updated: %d entries, serial %d; built: %d, %d", got.Len(), got.Serial, want.Len(), want.Serial)
	}
	c := &Consumer{MaxTLP: intel.TLPAmberStrict}
	for _, f := range Formats {
		var a, b bytes.Buffer
		if _, err := got.Render(&a, f, c, testNow); err != nil {
			t.Fatal(err)
		}
		if _, err := want.Render(&b, f, c, testNow); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("%s: updated list renders\n%s\nbuilt list renders\n%s", f, a.String(), b.String())
		}
	}
	// The old list is unchanged.
	if again, _ := Build(base, g); old.Len() != again.Len() || !slices.Equal(old.addrs, again.addrs) {
		t.Error("Update changed the list it was called on")
	}
}
