package worker

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/engine"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
	"github.com/rampart-cert/rampart/internal/target"
)

// TestJobScopeVirtualHosts: a job's virtual hosts are in scope as names;
// an address one leads to only by the usual rules; what an owner
// excluded stays out.
func TestJobScopeVirtualHosts(t *testing.T) {
	p := scanjob.PortscanParams{AssetKind: asset.KindIPv4, AssetValue: "203.0.113.5", AllowedAddrs: []string{"203.0.113.0/28"},
		Exclusions: []string{"old.a.gov.vn"}, VirtualHosts: []string{"www.a.gov.vn", "Shop.A.gov.vn.", "old.a.gov.vn"}}
	allow, err := jobScope(scanjob.Job{ID: "j", AssetID: 1, OrgID: 1}, p)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tgt target.Target
		ok  bool
	}{
		{target.Target{Name: "www.a.gov.vn"}, true},
		{target.Target{Name: "shop.a.gov.vn"}, true},
		{target.Target{Name: "other.a.gov.vn"}, false},
		{target.Target{Name: "old.a.gov.vn"}, false},
		{target.Target{Name: "www.a.gov.vn", Addr: netip.MustParseAddr("203.0.113.5")}, true},
		{target.Target{Name: "www.a.gov.vn", Addr: netip.MustParseAddr("203.0.113.9")}, true},
		{target.Target{Name: "www.a.gov.vn", Addr: netip.MustParseAddr("198.51.100.1")}, false},
		{target.Target{Addr: netip.MustParseAddr("203.0.113.9")}, false},
	} {
		if err := allow(c.tgt); (err == nil) != c.ok || (err != nil && !errors.Is(err, engine.ErrOutOfScope)) {
			t.Errorf("%+v: %v, want ok=%v", c.tgt, err, c.ok)
		}
	}
	// A result under a virtual host carries the name in its subject; the
	// address's own result does not.
	s := &jobSink{vhosts: map[string]bool{"www.a.gov.vn": true}}
	svc := check.Target{Kind: check.TargetService, Addr: netip.MustParseAddrPort("203.0.113.5:443")}
	if got := s.subject(svc, "cn"); got != "cn" {
		t.Errorf("address subject %q", got)
	}
	svc.Host = "WWW.a.gov.vn"
	if got := s.subject(svc, "cn"); got != "www.a.gov.vn cn" {
		t.Errorf("virtual host subject %q", got)
	}
	if got := s.subject(svc, ""); got != "www.a.gov.vn" {
		t.Errorf("virtual host subject %q", got)
	}
}
