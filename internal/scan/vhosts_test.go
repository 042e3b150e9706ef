package scan_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/scan"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
	"github.com/rampart-cert/rampart/internal/store"
)

// namedScope covers everything, and knows each organization's addresses
// and names.
type namedScope struct {
	addrs, names map[int64][]string
}

func (namedScope) Lookup(target string) (asset.Match, error) {
	return asset.Match{AssetID: 1, OrgID: 1, Target: target}, nil
}
func (s namedScope) OrgAddrs(orgID int64) []string { return s.addrs[orgID] }
func (s namedScope) OrgNames(orgID int64) []string { return s.names[orgID] }

func paramsOf(t *testing.T, j store.ScanJob) scanjob.PortscanParams {
	t.Helper()
	var p scanjob.PortscanParams
	if err := json.Unmarshal(j.Params, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestJobsOfAddressesCarryTheNames: the job of an organization's address
// or network carries the organization's verified names as virtual hosts
// (never another organization's); the job of a name carries none (the
// other names are checked by their own jobs and by the addresses').
func TestJobsOfAddressesCarryTheNames(t *testing.T) {
	sc := namedScope{addrs: map[int64][]string{7: {"127.42.15.1"}}, names: map[int64][]string{7: {"a.gov.vn", "www.a.gov.vn"}, 8: {"b.gov.vn"}}}
	s := scan.NewScheduler(nil, nil, sc, nil, scan.SchedulerConfig{Region: "hn"})
	for _, c := range []struct {
		a    asset.Asset
		want []string
	}{
		{asset.Asset{ID: 70, OrgID: 7, Kind: asset.KindIPv4, Value: "127.42.15.1"}, []string{"a.gov.vn", "www.a.gov.vn"}},
		{asset.Asset{ID: 71, OrgID: 7, Kind: asset.KindCIDR, Value: "127.42.15.0/30"}, []string{"a.gov.vn", "www.a.gov.vn"}},
		{asset.Asset{ID: 72, OrgID: 7, Kind: asset.KindHostname, Value: "www.a.gov.vn"}, nil},
		{asset.Asset{ID: 73, OrgID: 7, Kind: asset.KindDomain, Value: "a.gov.vn"}, nil},
		{asset.Asset{ID: 80, OrgID: 8, Kind: asset.KindIPv6, Value: "2001:db8::1"}, []string{"b.gov.vn"}},
	} {
		j, err := s.Job(c.a, store.ScanPolicy{}, "manual", "t", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if got := paramsOf(t, j).VirtualHosts; !slices.Equal(got, c.want) {
			t.Errorf("%s %s: virtual hosts %v, want %v", c.a.Kind, c.a.Value, got, c.want)
		}
	}
}

// TestSweepJob: a sweep's job is the covering asset's, scoped to the
// candidate alone (a host name, not its subdomains), with the addresses
// discovery saw allowed besides the organization's; exclusions and the
// blackout window hold.
func TestSweepJob(t *testing.T) {
	sc := namedScope{addrs: map[int64][]string{7: {"127.42.15.1"}}, names: map[int64][]string{7: {"a.gov.vn"}}}
	s := scan.NewScheduler(nil, nil, sc, nil, scan.SchedulerConfig{Region: "hn", Checks: []string{"dns", "http"}})
	cover := asset.Asset{ID: 73, OrgID: 7, Kind: asset.KindDomain, Value: "a.gov.vn"}
	now := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	pol := store.ScanPolicy{Exclusions: []string{"old.a.gov.vn"}, Credentials: true}
	j, err := s.SweepJob(cover, asset.KindHostname, "Forgotten.A.gov.vn.", []string{"127.42.15.9", "not an address"}, pol, "analyst", now)
	if err != nil {
		t.Fatal(err)
	}
	p := paramsOf(t, j)
	if j.AssetID != 73 || j.OrgID != 7 || j.Reason != scan.SweepReason || j.Target != "forgotten.a.gov.vn" || j.Region != "hn" || j.Dispatch == nil ||
		!strings.HasPrefix(j.ID, "a73-sweep-") {
		t.Fatalf("job %+v", j)
	}
	if p.AssetKind != asset.KindHostname || p.AssetValue != "forgotten.a.gov.vn" || !slices.Equal(p.AllowedAddrs, []string{"127.42.15.1", "127.42.15.9"}) ||
		!slices.Equal(p.Exclusions, pol.Exclusions) || len(p.VirtualHosts) != 0 || !slices.Equal(p.Checks, []string{"dns", "http"}) || p.Credentials {
		t.Fatalf("params %+v", p)
	}
	// Two candidates swept at once get two jobs.
	j2, err := s.SweepJob(cover, asset.KindHostname, "other.a.gov.vn", nil, pol, "analyst", now)
	if err != nil || j2.ID == j.ID {
		t.Fatalf("second job %q (first %q): %v", j2.ID, j.ID, err)
	}
	// An address candidate allows nothing more than itself.
	j3, err := s.SweepJob(asset.Asset{ID: 74, OrgID: 7, Kind: asset.KindASN, Value: "AS64500"}, asset.KindCIDR, "198.51.100.0/24", []string{"192.0.2.1"}, pol, "analyst", now)
	if err != nil {
		t.Fatal(err)
	}
	if p := paramsOf(t, j3); p.AssetKind != asset.KindCIDR || p.AssetValue != "198.51.100.0/24" || !slices.Equal(p.AllowedAddrs, []string{"127.42.15.1"}) {
		t.Fatalf("network sweep params %+v", p)
	}
	if _, err := s.SweepJob(cover, asset.KindDomain, "a.gov.vn", nil, pol, "analyst", now); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("a domain sweep: %v", err)
	}
	if _, err := s.SweepJob(cover, asset.KindHostname, "not a name!", nil, pol, "analyst", now); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("a bad name: %v", err)
	}
	// 03:00 UTC is 10:00 in Hanoi: inside a 09:00-11:00 blackout.
	pol.Blackouts = []store.Window{{Days: []int{int(time.Monday)}, Start: "09:00", End: "11:00"}}
	if _, err := s.SweepJob(cover, asset.KindHostname, "forgotten.a.gov.vn", nil, pol, "analyst", now); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a sweep in a blackout: %v", err)
	}
}
