package scan_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/scan"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
	"github.com/rampart-cert/rampart/internal/store"
)

// addrScope covers everything and knows each organization's addresses.
type addrScope map[int64][]string

func (addrScope) Lookup(target string) (asset.Match, error) {
	return asset.Match{AssetID: 1, OrgID: 1, Target: target}, nil
}

func (s addrScope) OrgAddrs(orgID int64) []string { return s[orgID] }

// TestF6JobCarriesOrgAddrs: a job carries its organization's own
// addresses (and the platform's approved ranges from Defaults), never
// another organization's, so the worker can refuse whatever else a name
// leads to.
func TestF6JobCarriesOrgAddrs(t *testing.T) {
	sc := addrScope{7: {"127.42.6.2", "198.51.100.0/28"}, 8: {"192.0.2.9"}}
	s := scan.NewScheduler(nil, nil, sc, nil, scan.SchedulerConfig{Region: "hn",
		Defaults: scanjob.PortscanParams{AllowedAddrs: []string{"203.0.113.0/24"}, AllowInternal: true}})
	j, err := s.Job(asset.Asset{ID: 70, OrgID: 7, Kind: asset.KindHostname, Value: "in.f6.test"}, store.ScanPolicy{}, "manual", "t", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var p scanjob.PortscanParams
	if err := json.Unmarshal(j.Params, &p); err != nil {
		t.Fatal(err)
	}
	want := []string{"203.0.113.0/24", "127.42.6.2", "198.51.100.0/28"}
	if !slices.Equal(p.AllowedAddrs, want) || !p.AllowInternal {
		t.Fatalf("params %+v, want allowed %v and internal", p, want)
	}
	// The defaults are not shared between jobs.
	j, err = s.Job(asset.Asset{ID: 80, OrgID: 8, Kind: asset.KindHostname, Value: "b.test"}, store.ScanPolicy{}, "manual", "t", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p = scanjob.PortscanParams{}
	_ = json.Unmarshal(j.Params, &p)
	if want := []string{"203.0.113.0/24", "192.0.2.9"}; !slices.Equal(p.AllowedAddrs, want) {
		t.Fatalf("org 8 allowed %v, want %v", p.AllowedAddrs, want)
	}
}
