package monitor

import (
	"context"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/store"
)

// scan records one finished scan job of asset assetID that saw open.
func (w *world) scan(t *testing.T, id string, assetID int64, at time.Time, open ...store.Observation) {
	t.Helper()
	ctx := context.Background()
	j := store.ScanJob{ID: id, AssetID: assetID, Type: "portscan"}
	must(t, w.st.CreateScanJob(ctx, sys, &j))
	for i := range open {
		open[i].IP = "192.0.2.7"
	}
	must(t, w.st.RecordScan(ctx, store.ScanReport{JobID: id, AssetID: assetID, At: at, Hosts: []string{"192.0.2.7"},
		Ports: []int{22, 80, 443, 3389, 8443}, Open: open}))
	must(t, w.st.SetJobState(ctx, id, store.JobDone, "w", "", nil))
}

func TestNewRDPPort(t *testing.T) {
	w := newWorld(t)
	w.now = time.Now().UTC()
	a := w.assets["192.0.2.7"]
	m := w.monitor(t, Config{})
	ctx := context.Background()

	// The first scan is the asset's baseline, SSH included.
	w.scan(t, "j1", a.ID, time.Now().Add(-time.Minute), store.Observation{Port: 22, Service: "ssh"}, store.Observation{Port: 80, Service: "http"})
	must(t, m.ExposureRound(ctx))
	if fs := w.findings(t, "monitor."); len(fs) != 0 {
		t.Fatalf("the first scan is no change: %+v", fs)
	}

	// The next scan finds RDP, and a web server on 8443.
	w.scan(t, "j2", a.ID, time.Now().Add(time.Second), store.Observation{Port: 22, Service: "ssh"}, store.Observation{Port: 80, Service: "http"},
		store.Observation{Port: 3389, Service: "rdp", Product: "Microsoft Terminal Services"}, store.Observation{Port: 8443, Service: "https"})
	w.advance(time.Minute)
	must(t, m.ExposureRound(ctx))
	rdp := w.findings(t, "monitor.new-exposure")
	if len(rdp) != 1 || rdp[0].OrgID != w.byt.ID || rdp[0].AssetID != a.ID || rdp[0].Severity != finding.High ||
		rdp[0].Target != "192.0.2.7:3389" || rdp[0].Subject != "rdp" {
		t.Fatalf("new exposure: %+v", rdp)
	}
	if ev := decode[ExposureEvidence](t, rdp[0].Evidence); ev.Class != "remote-admin" || ev.JobID != "j2" || ev.Product != "Microsoft Terminal Services" {
		t.Fatalf("evidence %+v", ev)
	}
	svc := w.findings(t, "monitor.new-service")
	if len(svc) != 1 || svc[0].Severity != finding.Info || svc[0].Target != "192.0.2.7:8443" {
		t.Fatalf("new service: %+v", svc)
	}

	// Another round with nothing new reports the open RDP again.
	w.advance(time.Minute)
	must(t, m.ExposureRound(ctx))
	if again := w.findings(t, "monitor.new-exposure"); !again[0].LastSeen.After(rdp[0].LastSeen) {
		t.Fatal("an RDP port still open was not reported again")
	}
	// A monitor restarted from the store goes on where it stopped.
	m2 := w.monitor(t, Config{})
	w.advance(time.Minute)
	must(t, m2.ExposureRound(ctx))
	if n := len(w.findings(t, "monitor.")); n != 2 {
		t.Fatalf("after a restart: %d findings", n)
	}

	// RDP closed: no longer reported (its finding expires).
	w.scan(t, "j3", a.ID, time.Now().Add(2*time.Second), store.Observation{Port: 22, Service: "ssh"}, store.Observation{Port: 80, Service: "http"})
	w.advance(time.Minute)
	must(t, m2.ExposureRound(ctx))
	closed := w.findings(t, "monitor.new-exposure")
	if closed[0].LastSeen.Equal(w.now) {
		t.Fatal("a closed RDP port is still reported")
	}
}

func TestClassifyExposure(t *testing.T) {
	for _, c := range []struct {
		o    store.Observation
		sens bool
		sev  finding.Severity
	}{
		{store.Observation{Port: 3389, Service: "rdp"}, true, finding.High},
		{store.Observation{Port: 13389, Service: "rdp"}, true, finding.High}, // by name, on any port
		{store.Observation{Port: 3389}, true, finding.High},                  // unnamed: by port
		{store.Observation{Port: 3389, Service: "http"}, false, ""},          // the fingerprint said web
		{store.Observation{Port: 22, Service: "ssh"}, true, finding.Medium},
		{store.Observation{Port: 6379, Service: "unknown"}, true, finding.High},
		{store.Observation{Port: 27017, Service: "mongodb"}, true, finding.High},
		{store.Observation{Port: 443, Service: "https"}, false, ""},
	} {
		s, ok := classify(c.o)
		if ok != c.sens || ok && s.severity != c.sev {
			t.Errorf("%+v: %v %+v", c.o, ok, s)
		}
	}
}
