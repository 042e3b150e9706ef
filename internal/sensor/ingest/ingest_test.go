package ingest_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/findings"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/queue/natsq"
	"github.com/rampart-cert/rampart/internal/scope"
	"github.com/rampart-cert/rampart/internal/sensor"
	"github.com/rampart-cert/rampart/internal/sensor/ingest"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

var sys = auth.SystemPrincipal

// platform is a real store, scope, findings service and embedded NATS
// with the ingester consuming, and organizations A (198.51.100.0/24, with
// A1 below it owning 198.51.100.128/25) and B (192.0.2.0/24).
type platform struct {
	st       *sqlstore.Store
	q        *natsq.Queue
	dir      string
	ing      *ingest.Ingester
	corr     *correlator
	a, a1, b org.Organization
}

type correlator struct {
	mu   sync.Mutex
	seen []sensor.Detection
}

func (c *correlator) Observe(_ context.Context, d sensor.Detection) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen = append(c.seen, d)
	return nil
}

func (c *correlator) all() []sensor.Detection {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]sensor.Detection(nil), c.seen...)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func newPlatform(t *testing.T) *platform {
	t.Helper()
	ctx := t.Context()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "r.db"), log)
	must(t, err)
	t.Cleanup(func() { st.Close() })
	must(t, st.Migrate(ctx))
	p := &platform{st: st, dir: t.TempDir(), corr: &correlator{}}
	p.a = org.Organization{Code: "A", Name: "Tổ chức A", Kind: org.KindMinistry}
	must(t, st.CreateOrg(ctx, sys, &p.a))
	p.a1 = org.Organization{Code: "A.ONE", Name: "Tổ chức A1", Kind: org.KindAgency, ParentID: p.a.ID}
	must(t, st.CreateOrg(ctx, sys, &p.a1))
	p.b = org.Organization{Code: "B", Name: "Tổ chức B", Kind: org.KindMinistry}
	must(t, st.CreateOrg(ctx, sys, &p.b))
	for _, a := range []asset.Asset{
		{OrgID: p.a.ID, Kind: asset.KindCIDR, Value: "198.51.100.0/25"},
		{OrgID: p.a1.ID, Kind: asset.KindCIDR, Value: "198.51.100.128/25"},
		{OrgID: p.b.ID, Kind: asset.KindCIDR, Value: "192.0.2.0/24"},
	} {
		must(t, st.CreateAsset(ctx, sys, &a))
	}
	guard := scope.New(st, time.Second, log)
	must(t, guard.Refresh(ctx))
	svc := findings.New(findings.Deps{Store: st, Scope: guard, Logger: log})
	p.q, err = natsq.Open(ctx, natsq.Options{DataDir: p.dir, Logger: log})
	must(t, err)
	t.Cleanup(func() { p.q.Close() })
	p.ing = ingest.New(ingest.Deps{Store: st, Orgs: st, Findings: svc, Scope: guard, Correlator: p.corr, Logger: log})
	c, err := p.ing.Start(ctx, p.q)
	must(t, err)
	t.Cleanup(c.Stop)
	return p
}

// sensorJS connects as a sensor issued for org and returns its JetStream
// publisher.
func (p *platform) sensorJS(t *testing.T, name, org string) jetstream.JetStream {
	t.Helper()
	seed, _, err := natsq.IssueEdge(p.dir, natsq.EdgeSensor, name, org)
	must(t, err)
	creds := filepath.Join(t.TempDir(), name+".nk")
	must(t, os.WriteFile(creds, seed, 0o600))
	var lastErr error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		nc, err := natsq.ConnectEdge(p.q.ClientURL(), creds)
		if err != nil {
			lastErr = err
			continue
		}
		t.Cleanup(nc.Close)
		js, err := jetstream.New(nc)
		must(t, err)
		return js
	}
	t.Fatalf("sensor %s not admitted: %v", name, lastErr)
	return nil
}

func report(id string, ds ...sensor.WireDetection) []byte {
	r := &sensor.Report{ID: id, Sent: time.Now().UTC(), Stats: sensor.Stats{Started: time.Now().UTC(), Events: map[string]uint64{"eve": 42}, Rates: map[string]float64{"eve": 2}}, Detections: ds}
	b, err := sensor.EncodeReport(r)
	if err != nil {
		panic(err)
	}
	return b
}

func brute(src, dst string, n uint64) sensor.WireDetection {
	t := time.Now().UTC().Truncate(time.Second)
	return sensor.WireDetection{Kind: sensor.DetectSSHBruteForce, Source: netip.MustParseAddr(src), Target: netip.MustParseAddr(dst), Port: 22, Count: n, First: t.Add(-time.Minute), Last: t, Detail: "failed SSH logins"}
}

// sensorFindings waits until the store holds want sensor findings.
func (p *platform) sensorFindings(t *testing.T, want int, check func([]store.Finding) bool) []store.Finding {
	t.Helper()
	var got []store.Finding
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		pg, err := p.st.ListFindings(t.Context(), sys, store.FindingFilter{Check: "sensor."})
		must(t, err)
		got = pg.Items
		if len(got) == want && (check == nil || check(got)) {
			return got
		}
	}
	t.Fatalf("sensor findings: %d, want %d: %+v", len(got), want, got)
	return nil
}

func evidenceOf(t *testing.T, f store.Finding) map[string]any {
	t.Helper()
	var ev map[string]any
	must(t, json.Unmarshal(f.Evidence, &ev))
	return ev
}

// TestReportsBecomeFindings: a sensor's detections become findings of
// its organization (or the one below it owning the address), repeated
// detections one finding with a growing count; the correlator hears of
// each detection with the organization from the subject.
func TestReportsBecomeFindings(t *testing.T) {
	p := newPlatform(t)
	js := p.sensorJS(t, "gw1", "A")
	ctx := t.Context()
	_, err := js.Publish(ctx, "rampart.sensor.A.gw1.detections", report("r1", brute("203.0.113.7", "198.51.100.10", 40), brute("203.0.113.8", "198.51.100.200", 5)))
	must(t, err)
	got := p.sensorFindings(t, 2, nil)
	byOrg := map[int64]store.Finding{}
	for _, f := range got {
		byOrg[f.OrgID] = f
	}
	fa, fa1 := byOrg[p.a.ID], byOrg[p.a1.ID]
	if fa.Check != "sensor.ssh-bruteforce" || fa.Target != "198.51.100.10" || fa.Subject != "203.0.113.7" || fa1.Target != "198.51.100.200" {
		t.Fatalf("findings: %+v", got)
	}
	// Again: the same finding, its count grown.
	_, err = js.Publish(ctx, "rampart.sensor.A.gw1.detections", report("r2", brute("203.0.113.7", "198.51.100.10", 15)))
	must(t, err)
	p.sensorFindings(t, 2, func(fs []store.Finding) bool {
		for _, f := range fs {
			if f.ID == fa.ID {
				return evidenceOf(t, f)["count"] == float64(55) && evidenceOf(t, f)["reports"] == float64(2)
			}
		}
		return false
	})
	// The same report delivered again counts once.
	_, err = js.Publish(ctx, "rampart.sensor.A.gw1.detections", report("r2", brute("203.0.113.7", "198.51.100.10", 15)))
	must(t, err)
	for deadline := time.Now().Add(10 * time.Second); p.ing.Counts().Duplicates < 1; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no duplicate seen: %+v", p.ing.Counts())
		}
	}
	ds, err := p.st.ListSensorDetections(ctx, sys, store.SensorDetectionFilter{Kind: sensor.DetectSSHBruteForce})
	must(t, err)
	for _, d := range ds {
		if d.Source == "203.0.113.7" && d.Count != 55 {
			t.Errorf("after a redelivery the count is %d, want 55", d.Count)
		}
	}
	seen := p.corr.all()
	if len(seen) != 3 {
		t.Fatalf("correlator saw %d detections, want 3", len(seen))
	}
	for _, d := range seen {
		if d.Org != "A" || d.Sensor != "gw1" {
			t.Errorf("correlator got %+v", d)
		}
	}
	sensors, err := p.st.ListSensors(ctx, sys)
	must(t, err)
	if len(sensors) != 1 || sensors[0].OrgCode != "A" || sensors[0].Stats.Events["eve"] != 42 || sensors[0].Reports != 2 {
		t.Errorf("registry: %+v", sensors)
	}
}

// TestSensorCannotSpoof: a sensor of A cannot publish as B's sensor,
// and a payload naming another organization is refused.
func TestSensorCannotSpoof(t *testing.T) {
	p := newPlatform(t)
	jsA := p.sensorJS(t, "gw1", "A")
	p.sensorJS(t, "gw2", "B")
	ctx := t.Context()
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := jsA.Publish(short, "rampart.sensor.B.gw2.detections", report("spoof", brute("203.0.113.7", "192.0.2.10", 500))); err == nil {
		t.Error("sensor of A published on B's subject")
	}
	spoof := []byte(`{"v":1,"id":"s2","org":"B","sensor":"gw2","sent":"2026-12-07T10:00:00Z","stats":{"started":"2026-12-07T10:00:00Z"}}`)
	_, err := jsA.Publish(ctx, "rampart.sensor.A.gw1.detections", spoof)
	must(t, err)
	// A real report after them, to know they were processed.
	_, err = jsA.Publish(ctx, "rampart.sensor.A.gw1.detections", report("ok", brute("203.0.113.7", "198.51.100.10", 1)))
	must(t, err)
	got := p.sensorFindings(t, 1, nil)
	if got[0].OrgID != p.a.ID {
		t.Errorf("finding for org %d, want A", got[0].OrgID)
	}
	if c := p.ing.Counts(); c.Rejected != 1 || c.Reports != 1 {
		t.Errorf("counts %+v, want 1 rejected and 1 report", c)
	}
	sensors, err := p.st.ListSensors(ctx, sys)
	must(t, err)
	if len(sensors) != 1 || sensors[0].OrgCode != "A" {
		t.Errorf("registry: %+v", sensors)
	}
}
