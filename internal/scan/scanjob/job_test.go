package scanjob_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
)

func TestJobValidate(t *testing.T) {
	for _, j := range []scanjob.Job{{ID: "", Type: "ping", Region: "a"}, {ID: "1", Type: "Ping", Region: "a"}, {ID: "1", Type: "ping", Region: "a.b"}} {
		if err := j.Validate(); !errors.Is(err, scanjob.ErrInvalidJob) {
			t.Errorf("%+v: %v", j, err)
		}
	}
	if err := (scanjob.Job{ID: "1", Type: scanjob.JobPortscan, Region: "hanoi-1"}).Validate(); err != nil {
		t.Errorf("valid job refused: %v", err)
	}
}

func TestTargetOf(t *testing.T) {
	cases := []struct {
		a    asset.Asset
		want string
	}{
		{asset.Asset{Kind: asset.KindURL, Value: "https://portal.a.gov.vn:8443/app"}, "portal.a.gov.vn"},
		{asset.Asset{Kind: asset.KindCIDR, Value: "192.0.2.0/30"}, "192.0.2.0/30"},
		{asset.Asset{Kind: asset.KindDomain, Value: "a.gov.vn"}, "a.gov.vn"},
	}
	for _, c := range cases {
		if got := scanjob.TargetOf(c.a); got != c.want {
			t.Errorf("TargetOf(%s %s) = %q, want %q", c.a.Kind, c.a.Value, got, c.want)
		}
	}
}

// TestFindingWire pins the JSON of a finding in a result: workers and the
// platform may run different builds during an upgrade.
func TestFindingWire(t *testing.T) {
	f := scanjob.FindingOut{Check: "tls.cert-expired", Family: "tls", Severity: "high", Target: "192.0.2.1:443", IP: "192.0.2.1",
		Title: "Certificate expired", Evidence: scanjob.Evidence{Response: "notAfter=2026-01-02", Fields: map[string]string{"cn": "a.gov.vn"}}}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"check":"tls.cert-expired","family":"tls","severity":"high","target":"192.0.2.1:443","ip":"192.0.2.1","title":"Certificate expired","evidence":{"response":"notAfter=2026-01-02","fields":{"cn":"a.gov.vn"}}}`
	if string(b) != want {
		t.Fatalf("finding JSON:\n got %s\nwant %s", b, want)
	}
	if b, _ := json.Marshal(scanjob.FindingOut{}); string(b) != `{"check":"","family":"","severity":"","target":"","title":"","evidence":{}}` {
		t.Fatalf("empty finding JSON: %s", b)
	}
}
