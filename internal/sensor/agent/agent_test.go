package agent_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/findings"
	"github.com/rampart-cert/rampart/internal/hub/snapshot"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/queue"
	"github.com/rampart-cert/rampart/internal/queue/natsq"
	"github.com/rampart-cert/rampart/internal/scope"
	"github.com/rampart-cert/rampart/internal/sensor"
	"github.com/rampart-cert/rampart/internal/sensor/agent"
	"github.com/rampart-cert/rampart/internal/sensor/ingest"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

var sys = auth.SystemPrincipal

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// eveAlert is one Suricata EVE alert line (severity 1).
func eveAlert(at time.Time, src, dst string, port int) string {
	return fmt.Sprintf(`{"timestamp":"%s","flow_id":1,"event_type":"alert","src_ip":"%s","src_port":40000,"dest_ip":"%s","dest_port":%d,"proto":"TCP","alert":{"action":"allowed","gid":1,"signature_id":2024468,"rev":3,"signature":"ET WEB_SPECIFIC_APPS OGNL Expression Injection (CVE-2017-9791)","category":"Attempted User Privilege Gain","severity":1}}`,
		at.UTC().Format("2006-01-02T15:04:05.000000+0000"), src, dst, port)
}

// eveFlow is one EVE flow record.
func eveFlow(at time.Time, src, dst string, port int) string {
	ts := at.UTC().Format("2006-01-02T15:04:05.000000+0000")
	return fmt.Sprintf(`{"timestamp":"%s","flow_id":2,"event_type":"flow","src_ip":"%s","src_port":51000,"dest_ip":"%s","dest_port":%d,"proto":"TCP","flow":{"pkts_toserver":1,"pkts_toclient":1,"bytes_toserver":60,"bytes_toclient":54,"start":"%s","end":"%s","age":0,"state":"closed","reason":"timeout","alerted":false}}`,
		ts, src, dst, port, ts, ts)
}

func appendLines(t *testing.T, path string, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	must(t, err)
	_, err = f.WriteString(strings.Join(lines, "\n") + "\n")
	must(t, err)
	must(t, f.Close())
}

func issue(t *testing.T, dir, name, code string) string {
	t.Helper()
	seed, _, err := natsq.IssueEdge(dir, natsq.EdgeSensor, name, code)
	must(t, err)
	creds := filepath.Join(t.TempDir(), name+".nk")
	must(t, os.WriteFile(creds, seed, 0o600))
	return creds
}

func runAgent(t *testing.T, cfg agent.Config) *agent.Agent {
	t.Helper()
	a, err := agent.New(cfg)
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
	})
	return a
}

func waitFor(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !ok(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestSensorEndToEnd: a sensor of organization A reading an EVE file,
// over the embedded NATS with its own credential, becomes findings of A
// and of A only, and its registry entry counts its events.
func TestSensorEndToEnd(t *testing.T) {
	ctx := t.Context()
	log := quiet()
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "r.db"), log)
	must(t, err)
	defer st.Close()
	must(t, st.Migrate(ctx))
	a := org.Organization{Code: "A", Name: "Tổ chức A", Kind: org.KindMinistry}
	b := org.Organization{Code: "B", Name: "Tổ chức B", Kind: org.KindMinistry}
	must(t, st.CreateOrg(ctx, sys, &a))
	must(t, st.CreateOrg(ctx, sys, &b))
	for _, x := range []asset.Asset{{OrgID: a.ID, Kind: asset.KindCIDR, Value: "198.51.100.0/24"}, {OrgID: b.ID, Kind: asset.KindCIDR, Value: "192.0.2.0/24"}} {
		must(t, st.CreateAsset(ctx, sys, &x))
	}
	guard := scope.New(st, time.Second, log)
	must(t, guard.Refresh(ctx))
	dir := t.TempDir()
	q, err := natsq.Open(ctx, natsq.Options{DataDir: dir, Logger: log})
	must(t, err)
	defer q.Close()
	ing := ingest.New(ingest.Deps{Store: st, Orgs: st, Findings: findings.New(findings.Deps{Store: st, Scope: guard, Logger: log}), Scope: guard, Logger: log})
	c, err := ing.Start(ctx, q)
	must(t, err)
	defer c.Stop()

	// The hub's snapshot, as its publisher leaves it: one listed address.
	js, err := jetstream.New(q.Conn())
	must(t, err)
	obs, err := js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: snapshot.Bucket})
	must(t, err)
	var snap bytes.Buffer
	must(t, snapshot.WriteSnapshot(&snap, &snapshot.Snapshot{Version: 7, Built: time.Now().UTC(),
		Entries: []snapshot.Entry{{Kind: intel.KindIPv4, Value: "45.1.2.3", Category: intel.CategoryC2, Confidence: 90}}}))
	_, err = obs.Put(ctx, jetstream.ObjectMeta{Name: snapshot.ObjectName, Metadata: map[string]string{"version": "7"}}, &snap)
	must(t, err)

	eveFile := filepath.Join(t.TempDir(), "eve.json")
	now := time.Now()
	var lines []string
	for i := range 3 {
		lines = append(lines, eveAlert(now.Add(time.Duration(i)*time.Second), "203.0.113.7", "198.51.100.10", 8080))
	}
	for port := 1; port <= 40; port++ { // a port scan of one member host
		lines = append(lines, eveFlow(now, "203.0.113.9", "198.51.100.20", port))
	}
	// An alert against B's address seen by A's sensor is A's business.
	lines = append(lines, eveAlert(now, "203.0.113.66", "192.0.2.5", 443))
	appendLines(t, eveFile, lines...)

	ag := runAgent(t, agent.Config{NATS: q.ClientURL(), Creds: issue(t, dir, "gw1", "A"), EVE: eveFile, FromStart: true,
		Internal: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}, BufferDir: t.TempDir(),
		Flush: 100 * time.Millisecond, Heartbeat: 200 * time.Millisecond, Logger: log})
	if ag.Name() != "gw1" || ag.Org() != "A" {
		t.Fatalf("agent is %s of %s", ag.Name(), ag.Org())
	}
	// Once the sensor holds the hub's indicators, an internal host talks
	// to the listed address.
	waitFor(t, "the indicators", 20*time.Second, func() bool { return ag.Stats().Indicators == 1 })
	hit := eveFlow(now, "198.51.100.30", "45.1.2.3", 443)
	appendLines(t, eveFile, hit)
	lines = append(lines, hit)
	var fs []store.Finding
	waitFor(t, "the sensor's findings", 20*time.Second, func() bool {
		pg, err := st.ListFindings(ctx, sys, store.FindingFilter{Check: "sensor."})
		must(t, err)
		fs = pg.Items
		kinds := map[string]bool{}
		for _, f := range fs {
			kinds[f.Check] = true
		}
		return kinds["sensor.ids-alert"] && kinds["sensor.port-scan"] && kinds["sensor.indicator-hit"]
	})
	for _, f := range fs {
		if f.OrgID != a.ID {
			t.Errorf("finding %s %s for organization %d, want A (%d)", f.Check, f.Target, f.OrgID, a.ID)
		}
		if f.Check == "sensor.port-scan" && (f.Subject != "203.0.113.9" || f.Target != "198.51.100.20") {
			t.Errorf("port scan finding: %+v", f)
		}
		if f.Check == "sensor.indicator-hit" && (f.Subject != "45.1.2.3" || f.Target != "198.51.100.30") {
			t.Errorf("indicator hit finding: %+v", f)
		}
	}
	waitFor(t, "the registry's event count", 10*time.Second, func() bool {
		ss, err := st.ListSensors(ctx, sys)
		must(t, err)
		return len(ss) == 1 && ss[0].OrgCode == "A" && ss[0].Stats.Events["eve"] == uint64(len(lines))
	})
}

// freePort is a TCP port of 127.0.0.1 free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestSensorBuffersWhileNATSIsDown: with the platform's NATS gone the
// sensor keeps its reports on disk, under a tiny cap dropping the
// oldest; when NATS is back it sends the rest in order, and what it
// received plus what the sensor says it dropped is exactly what it made.
func TestSensorBuffersWhileNATSIsDown(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	open := func() *natsq.Queue {
		q, err := natsq.Open(t.Context(), natsq.Options{DataDir: dir, ListenPort: port, Logger: quiet()})
		must(t, err)
		return q
	}
	q := open()
	eveFile := filepath.Join(t.TempDir(), "eve.json")
	appendLines(t, eveFile) // exists, empty
	ag := runAgent(t, agent.Config{NATS: q.ClientURL(), Creds: issue(t, dir, "gw1", "A"), EVE: eveFile,
		BufferDir: t.TempDir(), BufferMax: 4 << 10, Flush: 20 * time.Millisecond, Heartbeat: 100 * time.Millisecond, Logger: quiet()})
	waitFor(t, "the sensor to connect", 10*time.Second, ag.Connected)

	t0 := time.Now()
	appendLines(t, eveFile, eveAlert(t0, "203.0.113.1", "198.51.100.10", 80))
	waitFor(t, "the first report", 10*time.Second, func() bool { return ag.Sent() >= 1 })

	q.Close()
	waitFor(t, "the sensor to notice", 10*time.Second, func() bool { return !ag.Connected() })
	// Offline: many reports, far more than 4 KiB.
	for i := range 60 {
		var lines []string
		for k := range 5 {
			lines = append(lines, eveAlert(t0.Add(time.Duration(i)*time.Second), fmt.Sprintf("203.0.%d.%d", 114+i/200, 1+(i*5+k)%250), "198.51.100.10", 80))
		}
		appendLines(t, eveFile, lines...)
		time.Sleep(25 * time.Millisecond)
	}
	waitFor(t, "drops", 10*time.Second, func() bool { return ag.Buffered().DroppedReports > 0 })
	time.Sleep(200 * time.Millisecond) // the last flushes
	if b := ag.Buffered(); b.Bytes > 4<<10 {
		t.Errorf("buffer holds %d bytes under a 4 KiB cap", b.Bytes)
	}

	q = open()
	defer q.Close()
	waitFor(t, "the buffer to drain", 20*time.Second, func() bool { return ag.Connected() && ag.Buffered().Records == 0 })
	made, madeDets := ag.Made()
	drops := ag.Buffered()

	// Everything the stream got, in the order it got it.
	var (
		mu       sync.Mutex
		ids      = map[string]bool{}
		sent     []time.Time
		dets     uint64
		latest   sensor.Stats
		latestAt time.Time
	)
	c, err := q.Consume(t.Context(), queue.ConsumerConfig{Stream: queue.StreamSensors, Durable: "test", FilterSubject: "rampart.sensor.>"}, func(_ context.Context, m *queue.Message) error {
		r, err := sensor.DecodeReport(m.Data)
		if err != nil {
			t.Errorf("report: %v", err)
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		if strings.HasSuffix(m.Subject, ".stats") {
			if r.Sent.After(latestAt) {
				latest, latestAt = r.Stats, r.Sent
			}
			return nil
		}
		if !ids[r.ID] {
			ids[r.ID] = true
			sent = append(sent, r.Sent)
			dets += uint64(len(r.Detections))
		}
		return nil
	})
	must(t, err)
	defer c.Stop()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		made, madeDets = ag.Made()
		drops = ag.Buffered()
		mu.Lock()
		done := uint64(len(ids))+drops.DroppedReports == made && latest.DroppedReports == drops.DroppedReports && drops.Records == 0
		state := fmt.Sprintf("made %d, received %d, dropped %d, told %d dropped, %d waiting", made, len(ids), drops.DroppedReports, latest.DroppedReports, drops.Records)
		mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for every report: %s", state)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if dets+drops.DroppedDetections != madeDets {
		t.Errorf("received %d detections and dropped %d of %d", dets, drops.DroppedDetections, madeDets)
	}
	if latest.DroppedDetections != drops.DroppedDetections || latest.DroppedBytes != drops.DroppedBytes {
		t.Errorf("the platform was told %+v, the buffer dropped %+v", latest, drops)
	}
	for i := 1; i < len(sent); i++ {
		if sent[i].Before(sent[i-1]) {
			t.Fatalf("reports out of order: %v after %v", sent[i], sent[i-1])
		}
	}
	t.Logf("made %d reports (%d detections): %d received, %d dropped (%d detections, %d bytes)", made, madeDets, len(ids), drops.DroppedReports, drops.DroppedDetections, drops.DroppedBytes)
}
