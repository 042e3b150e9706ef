package natsq

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/rampart-cert/rampart/internal/queue"
)

// joinEmbedded opens a second connection to owner's embedded server over
// TCP, as another platform process on the host would: with the platform's
// credentials.
func joinEmbedded(t testing.TB, owner *Queue) *Queue {
	t.Helper()
	q, err := Open(testCtx(t), Options{URL: owner.ClientURL(), Creds: owner.PlatformCredentials(), Name: "test-" + t.Name(), Logger: testLogger()})
	if err != nil {
		t.Fatalf("join embedded: %v", err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

const (
	testBucket       = "RAMPART_TEST_BASELINES"
	testRegionBucket = "RAMPART_TEST_HEARTBEATS"
)

// platformWithWorker starts an embedded server and issues a worker of
// region hanoi, returning the worker's seed file.
func platformWithWorker(t *testing.T) (owner *Queue, dir, creds string) {
	t.Helper()
	dir = t.TempDir()
	owner, err := Open(testCtx(t), Options{DataDir: dir, Name: "platform", Logger: testLogger(), WorkerBuckets: []string{testBucket}, WorkerRegionBuckets: []string{testRegionBucket}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { owner.Close() })
	creds = issue(t, dir, "hanoi-1", "hanoi")
	return owner, dir, creds
}

func issue(t *testing.T, dir, name, region string) string {
	t.Helper()
	seed, w, err := IssueWorker(dir, name, region)
	if err != nil {
		t.Fatal(err)
	}
	if w.Name != name || w.Region != region || !nkeys.IsValidPublicUserKey(w.PublicKey) {
		t.Fatalf("IssueWorker = %+v", w)
	}
	path := filepath.Join(t.TempDir(), name+".nk")
	if err := os.WriteFile(path, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// openWorker connects as a worker; the server may take up to workerPoll
// to admit a key issued after it started.
func openWorker(t *testing.T, url, creds string) *Queue {
	t.Helper()
	q, err := Open(testCtx(t), Options{URL: url, Creds: creds, Name: "worker", Logger: testLogger(), SkipStreamSetup: true})
	if err != nil {
		t.Fatalf("open as worker: %v", err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

// rawConn is a bare nats.go connection whose asynchronous errors (the
// server's permission violations) arrive on errs.
func rawConn(t *testing.T, url string, opts ...nats.Option) (*nats.Conn, chan error, error) {
	t.Helper()
	errs := make(chan error, 16)
	opts = append(opts, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case errs <- err:
		default:
		}
	}), nats.Timeout(2*time.Second))
	nc, err := nats.Connect(url, opts...)
	if err == nil {
		t.Cleanup(nc.Close)
	}
	return nc, errs, err
}

func isAuthError(err error) bool {
	return errors.Is(err, nats.ErrAuthorization) || err != nil && strings.Contains(strings.ToLower(err.Error()), "authorization")
}

// TestEmbeddedRefusesUnauthenticated is F5 of the December 2026 review:
// the embedded server admits no client without a known key.
func TestEmbeddedRefusesUnauthenticated(t *testing.T) {
	owner := openEmbedded(t, t.TempDir())
	defer owner.Close()
	url := owner.ClientURL()

	if _, _, err := rawConn(t, url); !isAuthError(err) {
		t.Errorf("connect without credentials: %v, want an authorization violation", err)
	}
	if _, _, err := rawConn(t, strings.Replace(url, "nats://", "nats://user:pass@", 1)); !isAuthError(err) {
		t.Errorf("connect with a made-up user: %v, want an authorization violation", err)
	}
	stranger, _ := nkeys.CreateUser()
	pub, _ := stranger.PublicKey()
	if _, _, err := rawConn(t, url, nkeyOption(stranger, pub)); !isAuthError(err) {
		t.Errorf("connect with an unknown key: %v, want an authorization violation", err)
	}
	// The platform's own key, from the data dir, is admitted.
	opts, err := credsOptions(owner.PlatformCredentials())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := rawConn(t, url, opts...); err != nil {
		t.Errorf("connect with the platform's key: %v", err)
	}
	fi, err := os.Stat(owner.PlatformCredentials())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("platform seed file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
}

// TestPlatformKeyKept: a restarted server keeps its platform key, so
// processes holding the file keep working.
func TestPlatformKeyKept(t *testing.T) {
	dir := t.TempDir()
	q := openEmbedded(t, dir)
	first, _ := os.ReadFile(PlatformCredentials(dir))
	q.Close()
	q = openEmbedded(t, dir)
	defer q.Close()
	second, _ := os.ReadFile(PlatformCredentials(dir))
	if len(first) == 0 || string(first) != string(second) {
		t.Error("platform key changed across restarts")
	}
}

// TestWorkerPermissions runs a worker credential against the real
// server: it takes its region's jobs, publishes results and uses the
// shared buckets, and nothing else.
func TestWorkerPermissions(t *testing.T) {
	owner, _, creds := platformWithWorker(t)
	ctx := testCtx(t)
	if _, err := owner.KeyValue(ctx, testBucket); err != nil { // the platform creates buckets
		t.Fatal(err)
	}
	if _, err := owner.KeyValue(ctx, testRegionBucket); err != nil {
		t.Fatal(err)
	}
	if err := owner.Publish(ctx, "rampart.jobs.hanoi.scan", []byte("job-h"), "job-h", nil); err != nil {
		t.Fatal(err)
	}
	if err := owner.Publish(ctx, "rampart.jobs.hue.scan", []byte("job-x"), "job-x", nil); err != nil {
		t.Fatal(err)
	}
	w := openWorker(t, owner.ClientURL(), creds)

	// Its region's jobs, through its region's durable.
	got := make(chan string, 4)
	c, err := w.Consume(ctx, queue.ConsumerConfig{Stream: queue.StreamJobs, Durable: "worker-hanoi", FilterSubject: "rampart.jobs.hanoi.>", AckWait: 5 * time.Second},
		func(ctx context.Context, m *queue.Message) error {
			got <- string(m.Data)
			// Results, published with an acknowledgement.
			return w.Publish(ctx, "rampart.results.scan", []byte("result-of-"+string(m.Data)), "r-"+m.ID, nil)
		})
	if err != nil {
		t.Fatalf("worker consuming its region's jobs: %v", err)
	}
	select {
	case j := <-got:
		if j != "job-h" {
			t.Errorf("worker got %q", j)
		}
	case <-ctx.Done():
		t.Fatal("worker got no job")
	}
	waitStreamPending(t, owner, queue.StreamResults, "rampart.results.scan", 1)
	waitStreamPending(t, owner, queue.StreamJobs, "rampart.jobs.hanoi.>", 0) // acknowledged
	c.Stop()

	// Shared state in the buckets it was given.
	kv, err := w.KeyValue(ctx, testBucket)
	if err != nil {
		t.Fatalf("worker opening its bucket: %v", err)
	}
	if err := kv.Put(ctx, "web/a", []byte("v")); err != nil {
		t.Fatalf("worker kv put: %v", err)
	}
	if v, ok, err := kv.Get(ctx, "web/a"); err != nil || !ok || string(v) != "v" {
		t.Fatalf("worker kv get: %q %v %v", v, ok, err)
	}
	if err := kv.Delete(ctx, "web/a"); err != nil {
		t.Fatalf("worker kv delete: %v", err)
	}
	// Heartbeats: its region's keys only, write only.
	hb, err := w.KeyValue(ctx, testRegionBucket)
	if err != nil {
		t.Fatalf("worker opening the heartbeats: %v", err)
	}
	if err := hb.Put(ctx, "hanoi.w1", []byte("alive")); err != nil {
		t.Fatalf("worker heartbeat: %v", err)
	}
	if err := hb.Delete(ctx, "hanoi.w1"); err != nil {
		t.Fatalf("worker heartbeat delete: %v", err)
	}

	// The server drops what a user may not publish, so refused requests
	// time out (the client logs the violation).
	short := func() context.Context {
		c, cancel := context.WithTimeout(ctx, time.Second)
		t.Cleanup(cancel)
		return c
	}
	// Refused: publishing a job (the forged job of F5), other regions'
	// jobs, its durable with another filter, results, events, other
	// buckets, stream management.
	if err := w.Publish(short(), "rampart.jobs.hanoi.portscan", []byte("forged"), "forged-1", nil); err == nil {
		t.Error("worker published a job")
	}
	if err := w.Publish(short(), "rampart.events.finding.opened", []byte("forged"), "forged-2", nil); err == nil {
		t.Error("worker published an event")
	}
	noop := func(context.Context, *queue.Message) error { return nil }
	for _, cc := range []queue.ConsumerConfig{
		{Stream: queue.StreamJobs, Durable: "worker-hue", FilterSubject: "rampart.jobs.hue.>"},
		{Stream: queue.StreamJobs, Durable: "worker-hanoi", FilterSubject: "rampart.jobs.hue.>"},
		{Stream: queue.StreamJobs, Durable: "worker-hanoi", FilterSubject: "rampart.jobs.>"},
		{Stream: queue.StreamResults, Durable: "ingester", FilterSubject: "rampart.results.>"},
		{Stream: queue.StreamEvents, Durable: "spy", FilterSubject: "rampart.events.>"},
	} {
		if c, err := w.Consume(short(), cc, noop); err == nil {
			c.Stop()
			t.Errorf("worker consumed %s/%s %s", cc.Stream, cc.Durable, cc.FilterSubject)
		}
	}
	if err := hb.Put(short(), "hue.w1", []byte("spoofed")); err == nil {
		t.Error("worker wrote another region's heartbeat")
	}
	if _, _, err := hb.Get(short(), "hanoi.w1"); err == nil {
		t.Error("worker read the heartbeats")
	}
	if _, err := w.KeyValue(short(), "RAMPART_OTHER"); err == nil {
		t.Error("worker opened a bucket it was not given")
	}
	if err := w.DeleteKeyValue(short(), testBucket); err == nil {
		t.Error("worker deleted a bucket")
	}
	if err := w.DeleteConsumer(short(), queue.StreamJobs, "worker-hanoi"); err == nil {
		t.Error("worker deleted a consumer")
	}
	if _, err := w.Pending(short(), queue.StreamResults, ""); err == nil {
		t.Error("worker read the results stream's state")
	}
	if err := w.ensureStreams(short()); err == nil {
		t.Error("worker updated the streams")
	}
	waitStreamPending(t, owner, queue.StreamJobs, "rampart.jobs.hue.>", 1) // untouched
	if n, _ := owner.Pending(ctx, queue.StreamJobs, "rampart.jobs.hanoi.>"); n != 0 {
		t.Errorf("%d jobs in hanoi after the forged publish", n)
	}

	// Plain subscriptions: only its own inbox.
	opts, err := credsOptions(creds)
	if err != nil {
		t.Fatal(err)
	}
	nc, errs, err := rawConn(t, owner.ClientURL(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	for _, subj := range []string{"rampart.results.>", "rampart.jobs.hue.>", "rampart.jobs.hanoi.>", "rampart.events.>", "_INBOX.>", "$JS.ACK.>", ">"} {
		if _, err := nc.SubscribeSync(subj); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-errs:
			if !errors.Is(err, nats.ErrPermissionViolation) {
				t.Errorf("subscribe %s: %v, want a permission violation", subj, err)
			}
		case <-time.After(2 * time.Second):
			t.Errorf("worker subscribed to %s", subj)
		}
	}
	// Plain publishes to jobs are dropped by the server too.
	if err := nc.Publish("rampart.jobs.hanoi.portscan", []byte("forged")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		if !errors.Is(err, nats.ErrPermissionViolation) {
			t.Errorf("plain publish of a job: %v, want a permission violation", err)
		}
	case <-time.After(2 * time.Second):
		t.Error("worker published a job with a plain publish")
	}
}

func waitStreamPending(t *testing.T, q *Queue, stream, filter string, want uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := q.Pending(testCtx(t), stream, filter)
		if err == nil && n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Pending(%s, %s) = %d, %v; want %d", stream, filter, n, err, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRevokedWorkerRefused: revoking a worker cuts its connection and
// refuses it from then on; other workers stay.
func TestRevokedWorkerRefused(t *testing.T) {
	owner, dir, creds := platformWithWorker(t)
	other := issue(t, dir, "hanoi-2", "hanoi")
	opts, err := credsOptions(creds)
	if err != nil {
		t.Fatal(err)
	}
	// Issued after the server started: admitted within workerPoll.
	var nc *nats.Conn
	deadline := time.Now().Add(3 * workerPoll)
	for {
		nc, _, err = rawConn(t, owner.ClientURL(), append(opts, nats.NoReconnect())...)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("issued worker not admitted: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	stays := openWorker(t, owner.ClientURL(), other)

	if _, err := RevokeWorker(dir, "hanoi-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := RevokeWorker(dir, "hanoi-1"); !errors.Is(err, ErrUnknownWorker) {
		t.Errorf("revoking twice: %v, want ErrUnknownWorker", err)
	}
	deadline = time.Now().Add(3 * workerPoll)
	for !nc.IsClosed() {
		if time.Now().After(deadline) {
			t.Fatal("revoked worker still connected")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, _, err := rawConn(t, owner.ClientURL(), opts...); !isAuthError(err) {
		t.Errorf("revoked worker connecting: %v, want an authorization violation", err)
	}
	if stays.nc.Status() != nats.CONNECTED {
		t.Errorf("the other worker: %v", stays.nc.Status())
	}
	ws, err := Workers(dir)
	if err != nil || len(ws) != 1 || ws[0].Name != "hanoi-2" {
		t.Errorf("Workers = %+v, %v", ws, err)
	}
}

// TestWorkerCredentialsAtStart: a worker issued before the server starts
// is admitted at once; a name is issued once.
func TestWorkerCredentialsAtStart(t *testing.T) {
	dir := t.TempDir()
	creds := issue(t, dir, "hue-1", "hue")
	if _, _, err := IssueWorker(dir, "hue-1", "hue"); !errors.Is(err, ErrWorkerExists) {
		t.Errorf("issuing a name twice: %v, want ErrWorkerExists", err)
	}
	for _, bad := range [][2]string{{"", "hue"}, {"Hue", "hue"}, {"a b", "hue"}, {"x", ""}, {"x", "hue.>"}, {"x", "a*"}} {
		if _, _, err := IssueWorker(dir, bad[0], bad[1]); !errors.Is(err, queue.ErrInvalid) {
			t.Errorf("IssueWorker(%q, %q): %v, want ErrInvalid", bad[0], bad[1], err)
		}
	}
	owner := openEmbedded(t, dir)
	defer owner.Close()
	w := openWorker(t, owner.ClientURL(), creds)
	if err := w.Publish(testCtx(t), "rampart.results.ping", []byte("x"), "", nil); err != nil {
		t.Errorf("worker publishing a result: %v", err)
	}
}

func TestCredsFileErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.nk")
	os.WriteFile(bad, []byte("not a seed\n"), 0o600)
	big := filepath.Join(dir, "big.nk")
	os.WriteFile(big, make([]byte, maxCredsFile+1), 0o600)
	acct, _ := nkeys.CreateAccount()
	aseed, _ := acct.Seed()
	account := filepath.Join(dir, "account.nk")
	os.WriteFile(account, aseed, 0o600)
	for _, p := range []string{bad, big, account} {
		if _, err := credsOptions(p); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("%s: %v, want ErrBadCredentials", filepath.Base(p), err)
		}
	}
	if _, err := Open(testCtx(t), Options{URL: "nats://127.0.0.1:1", Creds: filepath.Join(dir, "missing.nk")}); err == nil || !strings.HasPrefix(err.Error(), "natsq: ") {
		t.Errorf("missing creds file: %v", err)
	}
}

// TestNoListen: the embedded server without a listener serves its own
// process only.
func TestNoListen(t *testing.T) {
	q, err := Open(testCtx(t), Options{DataDir: t.TempDir(), NoListen: true, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if q.ClientURL() != "" {
		t.Errorf("ClientURL = %q, want empty", q.ClientURL())
	}
	if err := q.Ping(testCtx(t)); err != nil {
		t.Error(err)
	}
}

// TestDocumentedClusterConfig runs the external-cluster configuration of
// docs/nats.md on a real server: the platform user sets up and queues,
// the worker user takes its region's jobs and nothing more.
func TestDocumentedClusterConfig(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "nats.md"))
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(string(doc), "```\naccounts {")
	if start < 0 {
		t.Fatal("no accounts block in docs/nats.md")
	}
	block := string(doc[start+4:])
	block = block[:strings.Index(block, "```")]

	dir := t.TempDir()
	seedOf := func(name string) (path, pub string) {
		kp, _ := nkeys.CreateUser()
		seed, _ := kp.Seed()
		pub, _ = kp.PublicKey()
		path = filepath.Join(dir, name+".nk")
		if err := os.WriteFile(path, seed, 0o600); err != nil {
			t.Fatal(err)
		}
		return path, pub
	}
	platformCreds, platformPub := seedOf("platform")
	workerCreds, workerPub := seedOf("worker")
	sensorCreds, sensorPub := seedOf("sensor")
	block = strings.NewReplacer("UPLATFORM_PUBLIC_KEY", platformPub, "UWORKER_PUBLIC_KEY", workerPub, "USENSOR_PUBLIC_KEY", sensorPub).Replace(block)
	conf := filepath.Join(dir, "nats.conf")
	cfg := "listen: 127.0.0.1:-1\njetstream { store_dir: " + strconv.Quote(filepath.Join(dir, "js")) + " }\n" + block
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	sopts, err := server.ProcessConfigFile(conf)
	if err != nil {
		t.Fatalf("docs/nats.md configuration: %v", err)
	}
	sopts.NoSigs = true
	// The documented sensor is what the embedded server gives one.
	found := false
	for _, u := range sopts.Nkeys {
		if u.Nkey != sensorPub {
			continue
		}
		found = true
		want := EdgePermissions(Edge{Role: EdgeSensor, Name: "gw1", Org: "MOH", PublicKey: sensorPub})
		if !slices.Equal(u.Permissions.Publish.Allow, want.Publish.Allow) || !slices.Equal(u.Permissions.Subscribe.Allow, want.Subscribe.Allow) {
			t.Errorf("docs/nats.md's sensor: %+v %+v\nEdgePermissions: %+v %+v", u.Permissions.Publish, u.Permissions.Subscribe, want.Publish, want.Subscribe)
		}
	}
	if !found {
		t.Error("no sensor user in docs/nats.md")
	}
	srv, err := server.NewServer(sopts)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	url := srv.ClientURL()
	ctx := testCtx(t)

	if _, _, err := rawConn(t, url); !isAuthError(err) {
		t.Errorf("anonymous client: %v, want an authorization violation", err)
	}
	platform, err := Open(ctx, Options{URL: url, Creds: platformCreds, Name: "platform", Logger: testLogger()})
	if err != nil {
		t.Fatalf("platform user: %v", err)
	}
	defer platform.Close()
	for _, b := range []string{"RAMPART_WEB_BASELINES", "RAMPART_WORKERS"} {
		if _, err := platform.KeyValue(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := platform.Publish(ctx, "rampart.jobs.hanoi.scan", []byte("job"), "job-1", nil); err != nil {
		t.Fatal(err)
	}

	w := openWorker(t, url, workerCreds)
	got := make(chan struct{}, 1)
	c, err := w.Consume(ctx, queue.ConsumerConfig{Stream: queue.StreamJobs, Durable: "worker-hanoi", FilterSubject: "rampart.jobs.hanoi.>"},
		func(ctx context.Context, m *queue.Message) error {
			got <- struct{}{}
			return w.Publish(ctx, "rampart.results.scan", []byte("r"), "r-1", nil)
		})
	if err != nil {
		t.Fatalf("worker user consuming: %v", err)
	}
	defer c.Stop()
	<-got
	waitStreamPending(t, platform, queue.StreamJobs, "rampart.jobs.hanoi.>", 0)
	waitStreamPending(t, platform, queue.StreamResults, "rampart.results.>", 1)
	kv, err := w.KeyValue(ctx, "RAMPART_WEB_BASELINES")
	if err != nil {
		t.Fatalf("worker user opening the baselines: %v", err)
	}
	if err := kv.Put(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := kv.Get(ctx, "k"); !ok || err != nil {
		t.Fatalf("worker kv get: %v %v", ok, err)
	}
	hb, err := w.KeyValue(ctx, "RAMPART_WORKERS")
	if err != nil {
		t.Fatalf("worker user opening the heartbeats: %v", err)
	}
	if err := hb.Put(ctx, "hanoi.w1", []byte("alive")); err != nil {
		t.Fatalf("worker user heartbeat: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := w.Publish(short, "rampart.jobs.hanoi.scan", []byte("forged"), "forged", nil); err == nil {
		t.Error("worker user queued a job")
	}
	// The sensor user publishes its reports, not another's.
	sq := openWorker(t, url, sensorCreds)
	if err := sq.Publish(ctx, "rampart.sensor.MOH.gw1.detections", []byte("{}"), "s-1", nil); err != nil {
		t.Errorf("sensor user publishing its report: %v", err)
	}
	shortS, cancelS := context.WithTimeout(ctx, time.Second)
	defer cancelS()
	if err := sq.Publish(shortS, "rampart.sensor.MOE.gw1.detections", []byte("{}"), "s-2", nil); err == nil {
		t.Error("sensor user published for another organization")
	}
	short2, cancel2 := context.WithTimeout(ctx, time.Second)
	defer cancel2()
	if c2, err := w.Consume(short2, queue.ConsumerConfig{Stream: queue.StreamResults, Durable: "spy", FilterSubject: "rampart.results.>"}, func(context.Context, *queue.Message) error { return nil }); err == nil {
		c2.Stop()
		t.Error("worker user read results")
	}
}
