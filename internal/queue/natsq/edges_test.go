package natsq

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rampart-cert/rampart/internal/queue"
)

func issueEdge(t *testing.T, dir string, role EdgeRole, name, org string) string {
	t.Helper()
	seed, e, err := IssueEdge(dir, role, name, org)
	if err != nil {
		t.Fatal(err)
	}
	if e.Role != role || e.Name != name || e.Org != org || e.PublicKey == "" {
		t.Fatalf("IssueEdge = %+v", e)
	}
	path := filepath.Join(t.TempDir(), name+".nk")
	if err := os.WriteFile(path, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// expectViolation waits for the server's permission violation on errs.
func expectViolation(t *testing.T, errs chan error, what string) {
	t.Helper()
	select {
	case err := <-errs:
		if !errors.Is(err, nats.ErrPermissionViolation) {
			t.Errorf("%s: %v, want a permission violation", what, err)
		}
	case <-time.After(2 * time.Second):
		t.Errorf("%s: allowed", what)
	}
}

// TestSensorPermissions runs a sensor credential against the real
// embedded server: it publishes for its own organization and name, reads
// the hub's announcements and snapshot, and nothing else.
func TestSensorPermissions(t *testing.T) {
	dir := t.TempDir()
	ctx := testCtx(t)
	owner, err := Open(ctx, Options{DataDir: dir, Name: "platform", Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	creds := issueEdge(t, dir, EdgeSensor, "gw1", "MOH.HN")
	issueEdge(t, dir, EdgeSensor, "gw2", "MOE")
	if _, _, err := IssueEdge(dir, EdgeSensor, "gw1", "MOE"); !errors.Is(err, ErrEdgeExists) {
		t.Errorf("second sensor gw1: %v, want ErrEdgeExists", err)
	}
	snapshot := bytes.Repeat([]byte("203.0.113.7\n"), 100_000) // more than one chunk
	if _, err := owner.PutObject(ctx, IntelSnapshotBucket, "current", nil, bytes.NewReader(snapshot)); err != nil {
		t.Fatal(err)
	}
	if err := owner.Publish(ctx, "rampart.jobs.hanoi.scan", []byte("job"), "job-1", nil); err != nil {
		t.Fatal(err)
	}

	s := openWorker(t, owner.ClientURL(), creds) // SkipStreamSetup: an edge connects as a worker does

	// Its own subject, through JetStream with an acknowledgement.
	if err := s.Publish(ctx, "rampart.sensor.MOH~HN.gw1.detections", []byte(`{}`), "d-1", nil); err != nil {
		t.Fatalf("sensor publishing its detections: %v", err)
	}
	waitStreamPending(t, owner, queue.StreamSensors, "rampart.sensor.MOH~HN.gw1.>", 1)
	// The snapshot, read whole.
	r, _, err := s.GetObject(ctx, IntelSnapshotBucket, "current")
	if err != nil {
		t.Fatalf("sensor reading the snapshot: %v", err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(got, snapshot) {
		t.Fatalf("sensor read %d bytes of the snapshot (%v), want %d", len(got), err, len(snapshot))
	}

	short := func() context.Context {
		c, cancel := context.WithTimeout(ctx, time.Second)
		t.Cleanup(cancel)
		return c
	}
	// Refused: another organization's subject, another sensor's, jobs,
	// results, events; consuming anything; writing the snapshot.
	for _, subj := range []string{
		"rampart.sensor.MOE.gw2.detections",
		"rampart.sensor.MOE.gw1.detections",
		"rampart.sensor.MOH~HN.gw2.detections",
		"rampart.sensor.MOH.HN.gw1.detections",
		"rampart.jobs.hanoi.scan",
		"rampart.results.scan",
		"rampart.events.finding.opened",
		"rampart.dns.gw1.queries",
	} {
		if err := s.Publish(short(), subj, []byte(`{}`), "", nil); err == nil {
			t.Errorf("sensor published on %s", subj)
		}
	}
	noop := func(context.Context, *queue.Message) error { return nil }
	for _, cc := range []queue.ConsumerConfig{
		{Stream: queue.StreamJobs, Durable: "worker-hanoi", FilterSubject: "rampart.jobs.hanoi.>"},
		{Stream: queue.StreamSensors, Durable: "spy", FilterSubject: "rampart.sensor.>"},
		{Stream: queue.StreamResults, Durable: "spy", FilterSubject: "rampart.results.>"},
	} {
		if c, err := s.Consume(short(), cc, noop); err == nil {
			c.Stop()
			t.Errorf("sensor consumed %s %s", cc.Stream, cc.FilterSubject)
		}
	}
	if _, err := s.PutObject(short(), IntelSnapshotBucket, "current", nil, strings.NewReader("forged")); err == nil {
		t.Error("sensor wrote the snapshot")
	}
	if err := s.DeleteObject(short(), IntelSnapshotBucket, "current"); err == nil {
		t.Error("sensor deleted the snapshot")
	}
	if _, err := s.Pending(short(), queue.StreamSensors, ""); err == nil {
		t.Error("sensor read the sensors stream's state")
	}
	waitStreamPending(t, owner, queue.StreamJobs, "rampart.jobs.hanoi.>", 1) // untouched
	waitStreamPending(t, owner, queue.StreamSensors, "", 1)                  // only its own report

	// Plain subscriptions: the hub's announcements and its inbox only.
	opts, err := credsOptions(creds)
	if err != nil {
		t.Fatal(err)
	}
	nc, errs, err := rawConn(t, owner.ClientURL(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	intel, err := nc.SubscribeSync("rampart.intel.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := owner.nc.Publish("rampart.intel.delta", []byte("delta-1")); err != nil {
		t.Fatal(err)
	}
	if m, err := intel.NextMsg(5 * time.Second); err != nil || string(m.Data) != "delta-1" {
		t.Fatalf("sensor reading rampart.intel.delta: %v", err)
	}
	for _, subj := range []string{"rampart.sensor.>", "rampart.jobs.>", "rampart.results.>", "rampart.events.>", "rampart.dns.>", "_INBOX.>", ">"} {
		if _, err := nc.SubscribeSync(subj); err != nil {
			t.Fatal(err)
		}
		expectViolation(t, errs, "subscribe "+subj)
	}
	if err := nc.Publish("rampart.sensor.MOE.gw2.detections", []byte("spoofed")); err != nil {
		t.Fatal(err)
	}
	expectViolation(t, errs, "plain publish for another organization")
}

// TestResolverPermissions: a resolver publishes under rampart.dns.<name>
// only, and may read the hub's announcements.
func TestResolverPermissions(t *testing.T) {
	dir := t.TempDir()
	owner, err := Open(testCtx(t), Options{DataDir: dir, Name: "platform", Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	creds := issueEdge(t, dir, EdgeResolver, "r1", "")
	opts, err := credsOptions(creds)
	if err != nil {
		t.Fatal(err)
	}
	var nc *nats.Conn
	var errs chan error
	deadline := time.Now().Add(10 * time.Second) // admitted within workerPoll
	for {
		nc, errs, err = rawConn(t, owner.ClientURL(), opts...)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	mine, err := owner.nc.SubscribeSync("rampart.dns.>")
	if err != nil {
		t.Fatal(err)
	}
	owner.nc.Flush()
	if err := nc.Publish("rampart.dns.r1.queries", []byte("q")); err != nil {
		t.Fatal(err)
	}
	if m, err := mine.NextMsg(5 * time.Second); err != nil || m.Subject != "rampart.dns.r1.queries" {
		t.Fatalf("resolver publish: %v", err)
	}
	for _, subj := range []string{"rampart.dns.r2.queries", "rampart.sensor.MOE.gw2.detections", "rampart.results.dns"} {
		if err := nc.Publish(subj, []byte("x")); err != nil {
			t.Fatal(err)
		}
		expectViolation(t, errs, "resolver publish on "+subj)
	}

	// Revoked: cut off within the poll, refused from then on.
	if _, err := RevokeEdge(dir, EdgeResolver, "r1"); err != nil {
		t.Fatal(err)
	}
	if _, err := RevokeEdge(dir, EdgeResolver, "r1"); !errors.Is(err, ErrUnknownEdge) {
		t.Errorf("second revoke: %v, want ErrUnknownEdge", err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for nc.IsConnected() || nc.IsReconnecting() {
		if time.Now().After(deadline) {
			t.Fatal("revoked resolver still connected")
		}
		if nc.IsReconnecting() {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, _, err := rawConn(t, owner.ClientURL(), opts...); !isAuthError(err) {
		t.Errorf("revoked resolver connecting: %v, want an authorization violation", err)
	}
}

func TestIssueEdgeRefusesBadNames(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		role      EdgeRole
		name, org string
	}{
		{EdgeSensor, "gw1", ""},        // a sensor needs its organization
		{EdgeSensor, "gw.1", "MOH"},    // a dot would be a subject token
		{EdgeSensor, "gw1", "MOH HN"},  // not an organization code
		{EdgeSensor, "gw1", "moh"},     // codes are upper case
		{EdgeSensor, "gw1", "MOH.*"},   // a wildcard
		{EdgeSensor, "GW1", "MOH"},     // names are lower case
		{EdgeResolver, "r>", ""},       // a wildcard
		{EdgeRole("worker"), "w1", ""}, // not an edge role
		{EdgeSensor, strings.Repeat("a", 65), "MOH"},
	} {
		if _, _, err := IssueEdge(dir, c.role, c.name, c.org); !errors.Is(err, queue.ErrInvalid) {
			t.Errorf("IssueEdge(%s, %q, %q): %v, want ErrInvalid", c.role, c.name, c.org, err)
		}
	}
	if es, err := Edges(dir); err != nil || len(es) != 0 {
		t.Errorf("Edges = %v, %v; want none", es, err)
	}
}

func TestEdgeOfCreds(t *testing.T) {
	dir := t.TempDir()
	creds := issueEdge(t, dir, EdgeSensor, "gw-1", "MOH.HN.")
	e, err := EdgeOfCreds(creds)
	if err != nil {
		t.Fatal(err)
	}
	es, _ := Edges(dir)
	if len(es) != 1 || e.Role != EdgeSensor || e.Name != "gw-1" || e.Org != "MOH.HN." || e.PublicKey != es[0].PublicKey {
		t.Errorf("EdgeOfCreds = %+v, registered %+v", e, es)
	}
	if e.Subject() != "rampart.sensor.MOH~HN~.gw-1" {
		t.Errorf("Subject = %q", e.Subject())
	}
	r := issueEdge(t, dir, EdgeResolver, "r1", "")
	if e, err := EdgeOfCreds(r); err != nil || e.Role != EdgeResolver || e.Name != "r1" || e.Org != "" {
		t.Errorf("EdgeOfCreds(resolver) = %+v, %v", e, err)
	}
	w := issue(t, dir, "w1", "hanoi")
	if _, err := EdgeOfCreds(w); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("EdgeOfCreds(worker) = %v, want ErrBadCredentials", err)
	}
}
