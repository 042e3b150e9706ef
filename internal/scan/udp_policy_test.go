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

// A scheduled job scans UDP only when its organization's scan policy turns
// UDP on: off by default.
func TestJobUDPFromPolicy(t *testing.T) {
	s := scan.NewScheduler(nil, nil, addrScope{}, nil, scan.SchedulerConfig{Region: "hn"})
	for _, on := range []bool{false, true} {
		j, err := s.Job(asset.Asset{ID: 71, OrgID: 7, Kind: asset.KindIPv4, Value: "192.0.2.8"}, store.ScanPolicy{UDP: on}, "manual", "t", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		var p scanjob.PortscanParams
		if err := json.Unmarshal(j.Params, &p); err != nil {
			t.Fatal(err)
		}
		if p.UDP != on || p.UDPPorts != "" {
			t.Errorf("policy udp %v: job says %v %q", on, p.UDP, p.UDPPorts)
		}
	}
}
