package natsq

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/queue"
	"github.com/rampart-cert/rampart/internal/queue/queuetest"
)

// externalURL is the shared NATS server the suite also runs against.
func externalURL() string {
	if u := os.Getenv("RAMPART_TEST_NATS_URL"); u != "" {
		return u
	}
	return "nats://127.0.0.1:4222"
}

func testLogger() *slog.Logger {
	if os.Getenv("RAMPART_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func openEmbedded(t testing.TB, dir string) *Queue {
	t.Helper()
	q, err := Open(testCtx(t), Options{DataDir: dir, Name: "test-embedded", Logger: testLogger()})
	if err != nil {
		t.Fatalf("Open embedded: %v", err)
	}
	return q
}

func openURL(t testing.TB, url string) *Queue {
	t.Helper()
	q, err := Open(testCtx(t), Options{URL: url, Name: "test-" + t.Name(), Logger: testLogger()})
	if err != nil {
		t.Fatalf("Open %s: %v", url, err)
	}
	return q
}

// kill drops the connection without draining, as a dead process would.
func kill(t *testing.T, q queue.Queue) {
	q.(*Queue).nc.Close()
}

// TestConformanceEmbedded runs the suite on embedded servers: the first
// Open in each test starts a server on its own data dir, later ones join
// it over TCP through ClientURL with the platform's credentials.
func TestConformanceEmbedded(t *testing.T) {
	var mu sync.Mutex
	owners := map[*testing.T]*Queue{}
	queuetest.Run(t, queuetest.Harness{
		Open: func(t *testing.T) queue.Queue {
			mu.Lock()
			owner := owners[t]
			mu.Unlock()
			if owner == nil {
				owner = openEmbedded(t, t.TempDir())
				mu.Lock()
				owners[t] = owner
				mu.Unlock()
				return owner
			}
			return joinEmbedded(t, owner)
		},
		Kill: kill,
	})
}

// TestConformanceExternal runs the suite on the machine's NATS server. It
// skips when the server is down, unless CI=true, where that fails.
func TestConformanceExternal(t *testing.T) {
	url := externalURL()
	if err := reachable(url); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("external NATS %s unreachable in CI: %v", url, err)
		}
		t.Skipf("external NATS %s unreachable: %v", url, err)
	}
	queuetest.Run(t, queuetest.Harness{
		Open: func(t *testing.T) queue.Queue { return openURL(t, url) },
		Kill: kill,
	})
}

func reachable(url string) error {
	addr := strings.TrimPrefix(strings.Split(url, ",")[0], "nats://")
	if at := strings.LastIndex(addr, "@"); at >= 0 {
		addr = addr[at+1:]
	}
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

func publishN(t testing.TB, q *Queue, prefix string, n int) {
	t.Helper()
	ctx := testCtx(t)
	for i := range n {
		if err := q.Publish(ctx, "rampart.jobs.hanoi.scan", []byte(fmt.Sprint(i)), fmt.Sprintf("%s-%d", prefix, i), nil); err != nil {
			t.Fatalf("Publish %d: %v", i, err)
		}
	}
}

// drain consumes until want distinct message IDs were seen and returns them.
func drain(t *testing.T, q *Queue, durable string, want int) map[string]int {
	t.Helper()
	var mu sync.Mutex
	seen := map[string]int{}
	c, err := q.Consume(testCtx(t), queue.ConsumerConfig{
		Stream: queue.StreamJobs, Durable: durable, FilterSubject: "rampart.jobs.hanoi.>", AckWait: 2 * time.Second, Concurrency: 4,
	}, func(_ context.Context, m *queue.Message) error {
		mu.Lock()
		seen[m.ID]++
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatalf("Consume: %v", err)
	}
	defer c.Stop()
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n >= want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d of %d messages", n, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.Stop()
	mu.Lock()
	defer mu.Unlock()
	return seen
}

func waitPending(t *testing.T, q *Queue, filter string, want uint64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := q.Pending(testCtx(t), queue.StreamJobs, filter)
		if err == nil && n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Pending(%s) = %d, %v; want %d", filter, n, err, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRestartKeepsMessages closes the embedded queue (and its server) and
// reopens the data dir: every published message is still there.
func TestRestartKeepsMessages(t *testing.T) {
	dir := t.TempDir()
	q := openEmbedded(t, dir)
	const n = 50
	publishN(t, q, "restart", n)
	if err := q.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	q = openEmbedded(t, dir)
	defer q.Close()
	waitPending(t, q, "rampart.jobs.hanoi.>", n)
	seen := drain(t, q, "w", n)
	if len(seen) != n {
		t.Fatalf("after restart got %d distinct messages, want %d", len(seen), n)
	}
	waitPending(t, q, "", 0)

	// The reopened queue reopens again.
	if err := q.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	q = openEmbedded(t, dir)
	if err := q.Ping(testCtx(t)); err != nil {
		t.Fatalf("Ping after second reopen: %v", err)
	}
	q.Close()
}

const (
	crashDirEnv = "RAMPART_NATSQ_CRASH_DIR"
	crashN      = 40
	crashAcked  = 10
)

// TestCrashChild is the child half of TestCrashKeepsMessages: it publishes,
// acknowledges some messages, reports, and waits to be killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("helper process for TestCrashKeepsMessages")
	}
	q := openEmbedded(t, dir)
	publishN(t, q, "crash", crashN)
	ctx := context.Background()
	var mu sync.Mutex
	var acked []string
	_, err := q.Consume(ctx, queue.ConsumerConfig{
		Stream: queue.StreamJobs, Durable: "w", FilterSubject: "rampart.jobs.hanoi.>", AckWait: time.Minute,
	}, func(ctx context.Context, m *queue.Message) error {
		mu.Lock()
		if len(acked) < crashAcked {
			acked = append(acked, m.ID)
			mu.Unlock()
			return nil
		}
		mu.Unlock()
		select {} // mid-scan when the process is killed
	})
	if err != nil {
		t.Fatal(err)
	}
	// Acked messages leave the work queue once the server confirmed them.
	waitPending(t, q, "", crashN-crashAcked)
	mu.Lock()
	fmt.Printf("READY %s\n", strings.Join(acked, " "))
	mu.Unlock()
	time.Sleep(time.Minute)
	t.Fatal("not killed")
}

// TestCrashKeepsMessages kills -9 a process running the embedded queue
// after its publishes were acknowledged, then reopens its data dir.
func TestCrashKeepsMessages(t *testing.T) {
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("in the child")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()

	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "READY") {
				lines <- sc.Text()
				break
			}
		}
		_, _ = io.Copy(io.Discard, out)
		close(lines)
	}()
	var ready string
	select {
	case ready = <-lines:
	case <-time.After(30 * time.Second):
		t.Fatal("child never got ready")
	}
	if ready == "" {
		t.Fatal("child exited before getting ready")
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = cmd.Wait()

	acked := map[string]bool{}
	for _, id := range strings.Fields(strings.TrimPrefix(ready, "READY")) {
		acked[id] = true
	}
	if len(acked) != crashAcked {
		t.Fatalf("child reported %d acked, want %d: %q", len(acked), crashAcked, ready)
	}

	q := openEmbedded(t, dir)
	defer q.Close()
	waitPending(t, q, "rampart.jobs.hanoi.>", crashN-crashAcked)
	seen := drain(t, q, "w", crashN-crashAcked)
	for id := range seen {
		if acked[id] {
			t.Errorf("acknowledged message %s came back after the crash", id)
		}
	}
	for i := range crashN {
		id := fmt.Sprintf("crash-%d", i)
		if !acked[id] && seen[id] == 0 {
			t.Errorf("message %s lost in the crash", id)
		}
	}
}

// TestOpenConcurrently opens many connections at once on one server: the
// stream setup must be idempotent.
func TestOpenConcurrently(t *testing.T) {
	owner := openEmbedded(t, t.TempDir())
	defer owner.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			q, err := Open(testCtx(t), Options{URL: owner.ClientURL(), Creds: owner.PlatformCredentials(), Logger: testLogger()})
			if err != nil {
				errs <- err
				return
			}
			errs <- q.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestOpenOptions(t *testing.T) {
	ctx := testCtx(t)
	if _, err := Open(ctx, Options{}); !errors.Is(err, queue.ErrInvalid) {
		t.Errorf("embedded without DataDir: %v, want ErrInvalid", err)
	}
	if _, err := Open(ctx, Options{DataDir: t.TempDir(), Replicas: 3}); !errors.Is(err, queue.ErrInvalid) {
		t.Errorf("embedded with 3 replicas: %v, want ErrInvalid", err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err := Open(short, Options{URL: "nats://127.0.0.1:1", Logger: testLogger()})
	if err == nil || !strings.HasPrefix(err.Error(), "natsq: ") {
		t.Errorf("unreachable URL: %v", err)
	}

	// Port 0 means random, not nats-server's 4222.
	q, err := Open(ctx, Options{DataDir: t.TempDir(), ListenPort: 0, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if !q.Embedded() || !strings.HasPrefix(q.ClientURL(), "nats://127.0.0.1:") || strings.HasSuffix(q.ClientURL(), ":4222") {
		t.Errorf("ClientURL = %q, want 127.0.0.1 on a random port", q.ClientURL())
	}
}

func TestDataDirLocked(t *testing.T) {
	dir := t.TempDir()
	q := openEmbedded(t, dir)
	_, err := Open(testCtx(t), Options{DataDir: dir, Logger: testLogger()})
	if !errors.Is(err, ErrDataDirInUse) {
		t.Errorf("second Open on a data dir in use: %v, want ErrDataDirInUse", err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	q = openEmbedded(t, dir) // free again after Close
	q.Close()
}

func TestPublishReservedHeader(t *testing.T) {
	q := openEmbedded(t, t.TempDir())
	defer q.Close()
	err := q.Publish(testCtx(t), "rampart.jobs.hanoi.scan", nil, "", map[string]string{"Nats-Msg-Id": "x"})
	if !errors.Is(err, queue.ErrInvalid) {
		t.Errorf("reserved header: %v, want ErrInvalid", err)
	}
	err = q.Publish(testCtx(t), "elsewhere.subject", nil, "", nil)
	if err == nil || !strings.HasPrefix(err.Error(), "natsq: ") {
		t.Errorf("subject outside the streams: %v, want a natsq error", err)
	}
}

func TestBackOff(t *testing.T) {
	tests := []struct {
		ackWait    time.Duration
		maxDeliver int
		want       []time.Duration
	}{
		{time.Second, 10, []time.Duration{1e9, 2e9, 4e9, 8e9, 16e9}},
		{time.Second, -1, []time.Duration{1e9, 2e9, 4e9, 8e9, 16e9}},
		{time.Second, 3, []time.Duration{1e9, 2e9}},
		{time.Second, 2, nil},
		{time.Second, 1, nil},
		{10 * time.Minute, 10, []time.Duration{10 * time.Minute, 15 * time.Minute, 15 * time.Minute, 15 * time.Minute, 15 * time.Minute}},
		{time.Hour, 10, []time.Duration{time.Hour, time.Hour, time.Hour, time.Hour, time.Hour}},
	}
	for _, tt := range tests {
		got := backOff(tt.ackWait, tt.maxDeliver)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("backOff(%s, %d) = %v, want %v", tt.ackWait, tt.maxDeliver, got, tt.want)
		}
	}
}

func TestNakDelay(t *testing.T) {
	for attempt, want := range map[int]time.Duration{0: time.Second, 1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 9: 256 * time.Second, 10: nakMax, 100: nakMax} {
		if got := nakDelay(attempt); got != want {
			t.Errorf("nakDelay(%d) = %s, want %s", attempt, got, want)
		}
	}
}

func TestRedactURL(t *testing.T) {
	got := redactURL("nats://u:p@10.0.0.1:4222,nats://10.0.0.2:4222,tok@h:1")
	want := "nats://redacted@10.0.0.1:4222,nats://10.0.0.2:4222,redacted@h:1"
	if got != want {
		t.Errorf("redactURL = %q, want %q", got, want)
	}
}

func BenchmarkPublish(b *testing.B) {
	q := openEmbedded(b, b.TempDir())
	defer q.Close()
	ctx := context.Background()
	data := make([]byte, 256)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := q.Publish(ctx, "rampart.events.bench", data, fmt.Sprint(i), nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRoundTrip(b *testing.B) {
	q := openEmbedded(b, b.TempDir())
	defer q.Close()
	ctx := context.Background()
	got := make(chan struct{}, 1024)
	c, err := q.Consume(ctx, queue.ConsumerConfig{
		Stream: queue.StreamJobs, Durable: "bench", FilterSubject: "rampart.jobs.bench.>", Concurrency: 8,
	}, func(context.Context, *queue.Message) error {
		got <- struct{}{}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Stop()
	data := make([]byte, 256)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := q.Publish(ctx, "rampart.jobs.bench.scan", data, fmt.Sprint(i), nil); err != nil {
			b.Fatal(err)
		}
		<-got
	}
}

// TestMaxDeliverGivesUp: after MaxDeliver failed attempts the message is no
// longer delivered but stays in the work queue, counted by Pending.
func TestMaxDeliverGivesUp(t *testing.T) {
	t.Parallel()
	q := openEmbedded(t, t.TempDir())
	defer q.Close()
	var mu sync.Mutex
	var attempts []int
	c, err := q.Consume(testCtx(t), queue.ConsumerConfig{
		Stream: queue.StreamJobs, Durable: "w", FilterSubject: "rampart.jobs.hanoi.>", AckWait: time.Second, MaxDeliver: 2,
	}, func(_ context.Context, m *queue.Message) error {
		mu.Lock()
		attempts = append(attempts, m.Attempt)
		mu.Unlock()
		return errors.New("always fails")
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	publishN(t, q, "poison", 1)
	time.Sleep(3500 * time.Millisecond) // nak delay 1s, then nothing more
	mu.Lock()
	got := fmt.Sprint(attempts)
	mu.Unlock()
	if got != "[1 2]" {
		t.Errorf("attempts = %s, want [1 2]", got)
	}
	waitPending(t, q, "rampart.jobs.hanoi.>", 1)
}

// TestUnlimitedDeliveriesOnOlderServers: a consumer that never gives up
// (MaxDeliver -1) starts on the shared server too, whose version may refuse
// a back-off schedule with unlimited deliveries (nats-server before 2.10),
// and still receives its messages.
func TestUnlimitedDeliveriesOnOlderServers(t *testing.T) {
	q := openURL(t, externalURL())
	defer q.Close()
	subject := fmt.Sprintf("rampart.jobs.unlimited%d.>", time.Now().UnixNano())
	got := make(chan struct{}, 1)
	c, err := q.Consume(testCtx(t), queue.ConsumerConfig{
		Stream: queue.StreamJobs, Durable: fmt.Sprintf("unlimited%d", time.Now().UnixNano()), FilterSubject: subject,
		AckWait: time.Second, MaxDeliver: -1,
	}, func(_ context.Context, m *queue.Message) error {
		select {
		case got <- struct{}{}:
		default:
		}
		return nil
	})
	if err != nil {
		t.Fatalf("consumer with unlimited deliveries: %v", err)
	}
	defer c.Stop()
	if err := q.Publish(testCtx(t), strings.TrimSuffix(subject, ">")+"x", []byte("1"), "", nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("message not delivered")
	}
}
