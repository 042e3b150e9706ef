package scan_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/scan"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
	"github.com/rampart-cert/rampart/internal/store"
)

// A job tries default passwords only when its organization's scan policy
// opts in; the platform's defaults cannot turn it on for the others.
func TestJobCredentialsFromPolicy(t *testing.T) {
	s := scan.NewScheduler(nil, nil, addrScope{}, nil, scan.SchedulerConfig{Region: "hn",
		Defaults: scanjob.PortscanParams{Credentials: true}})
	for _, optIn := range []bool{false, true} {
		j, err := s.Job(asset.Asset{ID: 70, OrgID: 7, Kind: asset.KindIPv4, Value: "192.0.2.7"}, store.ScanPolicy{Credentials: optIn}, "manual", "t", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		var p scanjob.PortscanParams
		if err := json.Unmarshal(j.Params, &p); err != nil {
			t.Fatal(err)
		}
		if p.Credentials != optIn {
			t.Errorf("policy credentials %v: job says %v", optIn, p.Credentials)
		}
	}
}
