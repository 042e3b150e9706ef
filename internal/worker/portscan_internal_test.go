package worker

import (
	"encoding/json"
	"errors"
	"net/netip"
	"testing"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/engine"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
	"github.com/rampart-cert/rampart/internal/target"
)

func TestJobScope(t *testing.T) {
	pub := []string{"203.0.113.0/28", "2001:db8::5"}
	cases := []struct {
		kind     asset.Kind
		value    string
		excl     []string
		allowed  []string
		internal bool
		tgt      target.Target
		ok       bool
	}{
		{asset.KindCIDR, "192.0.2.0/30", nil, nil, false, target.Target{Addr: netip.MustParseAddr("192.0.2.1")}, true},
		{asset.KindCIDR, "192.0.2.0/30", nil, nil, false, target.Target{Addr: netip.MustParseAddr("192.0.2.9")}, false},
		{asset.KindCIDR, "192.0.2.0/30", []string{"192.0.2.2"}, nil, false, target.Target{Addr: netip.MustParseAddr("192.0.2.2")}, false},
		// A name's address must be among the organization's (F6).
		{asset.KindDomain, "a.gov.vn", nil, pub, false, target.Target{Addr: netip.MustParseAddr("203.0.113.5"), Name: "www.a.gov.vn"}, true},
		{asset.KindDomain, "a.gov.vn", nil, nil, false, target.Target{Addr: netip.MustParseAddr("203.0.113.5"), Name: "www.a.gov.vn"}, false},
		{asset.KindDomain, "a.gov.vn", nil, pub, false, target.Target{Addr: netip.MustParseAddr("203.0.113.99"), Name: "www.a.gov.vn"}, false},
		{asset.KindDomain, "a.gov.vn", nil, pub, false, target.Target{Name: "a.gov.vn"}, true},
		{asset.KindDomain, "a.gov.vn", nil, pub, false, target.Target{Name: "b.gov.vn"}, false},
		{asset.KindDomain, "a.gov.vn", []string{"test.a.gov.vn"}, pub, false, target.Target{Addr: netip.MustParseAddr("203.0.113.5"), Name: "x.test.a.gov.vn"}, false},
		{asset.KindDomain, "a.gov.vn", nil, pub, false, target.Target{Addr: netip.MustParseAddr("203.0.113.5"), Name: "b.gov.vn"}, false},
		{asset.KindHostname, "h.a.gov.vn", nil, pub, false, target.Target{Addr: netip.MustParseAddr("2001:db8::5"), Name: "h.a.gov.vn"}, true},
		{asset.KindURL, "https://portal.a.gov.vn/app", nil, pub, false, target.Target{Addr: netip.MustParseAddr("203.0.113.5"), Name: "portal.a.gov.vn"}, true},
		{asset.KindURL, "https://portal.a.gov.vn/app", nil, nil, false, target.Target{Addr: netip.MustParseAddr("203.0.113.5"), Name: "portal.a.gov.vn"}, false},
		{asset.KindHostname, "mail.a.gov.vn", nil, pub, false, target.Target{Addr: netip.MustParseAddr("203.0.113.6")}, false},
		// Internal addresses through a name only when the job allows them,
		// and even then only the organization's own.
		{asset.KindHostname, "in.a.gov.vn", nil, []string{"10.0.0.0/24"}, false, target.Target{Addr: netip.MustParseAddr("10.0.0.7"), Name: "in.a.gov.vn"}, false},
		{asset.KindHostname, "in.a.gov.vn", nil, []string{"10.0.0.0/24"}, true, target.Target{Addr: netip.MustParseAddr("10.0.0.7"), Name: "in.a.gov.vn"}, true},
		{asset.KindHostname, "in.a.gov.vn", nil, []string{"10.0.0.0/24"}, true, target.Target{Addr: netip.MustParseAddr("127.0.0.1"), Name: "in.a.gov.vn"}, false},
		{asset.KindHostname, "in.a.gov.vn", nil, []string{"0.0.0.0/0"}, false, target.Target{Addr: netip.MustParseAddr("169.254.169.254"), Name: "in.a.gov.vn"}, false},
		// The job's own address asset stays in scope, special or not.
		{asset.KindIPv4, "127.0.0.9", nil, nil, false, target.Target{Addr: netip.MustParseAddr("127.0.0.9")}, true},
	}
	for _, c := range cases {
		allow, err := jobScope(scanjob.Job{ID: "j", AssetID: 1, OrgID: 1}, scanjob.PortscanParams{AssetKind: c.kind, AssetValue: c.value,
			Exclusions: c.excl, AllowedAddrs: c.allowed, AllowInternal: c.internal})
		if err != nil {
			t.Fatal(err)
		}
		err = allow(c.tgt)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, engine.ErrOutOfScope)) {
			t.Errorf("%s %s excl %v allowed %v target %+v: %v, want ok=%v", c.kind, c.value, c.excl, c.allowed, c.tgt, err, c.ok)
		}
	}
}

func TestResultReachability(t *testing.T) {
	silent := engine.Summary{}
	silent.Hosts, silent.TimedOut = 1, 1000
	silent.Targets = []netip.Addr{netip.MustParseAddr("192.0.2.1")}
	if r := (&jobSink{}).result("top1000", silent); !r.Unreachable || len(r.Hosts) != 0 {
		t.Fatalf("silent host: %+v", r)
	}
	refusing := silent
	refusing.TimedOut, refusing.Closed = 0, 1000
	if r := (&jobSink{}).result("top1000", refusing); r.Unreachable || len(r.Hosts) != 1 {
		t.Fatalf("refusing host: %+v", r)
	}
	s := &jobSink{}
	s.Covered(checkTarget(), []string{"dns.spf-missing"})
	if r := s.result("top1000", silent); r.Unreachable {
		t.Fatalf("a covered check target means something answered: %+v", r)
	}
}

func checkTarget() check.Target { return check.Target{Kind: check.TargetDomain, Host: "a.gov.vn"} }

func TestCertSummary(t *testing.T) {
	if certSummary(map[string]string{"http.server": "nginx"}) != nil {
		t.Fatal("summary without TLS facts")
	}
	got := string(certSummary(map[string]string{"tls.version": "TLS 1.3", "tls.cert.subject.cn": "a.gov.vn", "http.title": "x"}))
	if got != `{"cert.subject.cn":"a.gov.vn","version":"TLS 1.3"}` {
		t.Fatalf("summary = %s", got)
	}
}

// TestEvidenceWire: the evidence a worker sends is the JSON the check
// wrote, field for field (the conversion guards the fields, this the tags).
func TestEvidenceWire(t *testing.T) {
	for _, e := range []check.Evidence{{}, {Request: "GET / HTTP/1.1", Response: "200", Fields: map[string]string{"server": "nginx"}}} {
		want, _ := json.Marshal(e)
		got, _ := json.Marshal(scanjob.Evidence(e))
		if string(got) != string(want) {
			t.Errorf("evidence on the wire %s, check wrote %s", got, want)
		}
	}
}
