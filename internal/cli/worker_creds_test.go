package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rampart-cert/rampart/internal/queue/natsq"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
)

// runCmd runs one rampart command in-process and returns its exit code
// and output.
func runCmd(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb syncBuffer
	e := &Env{Stdout: &out, Stderr: &errb, Stdin: strings.NewReader(""), Getenv: func(k string) string { return env[k] }}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code = Run(ctx, args, e)
	return code, out.String(), errb.String()
}

func natsURLOf(t *testing.T, serveLog *syncBuffer) string {
	t.Helper()
	m := regexp.MustCompile(`client_url=(nats://\S+)`).FindStringSubmatch(serveLog.String())
	if m == nil {
		t.Fatalf("no embedded NATS URL in the log:\n%s", serveLog.String())
	}
	return m[1]
}

// issueWorker runs `rampart worker credentials` and returns the file.
func issueWorker(t *testing.T, env map[string]string, name, region string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), name+".nk")
	if code, out, errs := runCmd(t, env, "worker", "credentials", name, "--region", region, "--out", file); code != 0 {
		t.Fatalf("worker credentials: exit %d\n%s%s", code, out, errs)
	}
	return file
}

// TestServeNATSRefusesUnauthenticated is the test of F5 (December 2026
// review): `rampart serve`'s embedded NATS refuses a client without
// credentials, as it refuses made-up ones; the platform's key from the
// data directory gets in.
func TestServeNATSRefusesUnauthenticated(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"RAMPART_DATA": dir}
	_, stderr, _ := serve(t, env, "--no-scheduler", "--no-worker")
	url := natsURLOf(t, stderr)
	if !strings.HasPrefix(url, "nats://127.0.0.1:") {
		t.Errorf("embedded NATS at %s, want loopback by default", url)
	}

	for _, u := range []string{url, strings.Replace(url, "nats://", "nats://guest:guest@", 1), strings.Replace(url, "nats://", "nats://s3cret-token@", 1)} {
		nc, err := nats.Connect(u, nats.Timeout(2*time.Second))
		if err == nil {
			nc.Close()
			t.Fatalf("connected to serve's NATS as %s without a key", u)
		}
		if !errors.Is(err, nats.ErrAuthorization) && !strings.Contains(strings.ToLower(err.Error()), "authorization") {
			t.Errorf("connect %s: %v, want an authorization violation", u, err)
		}
	}

	creds := natsq.PlatformCredentials(filepath.Join(dir, "nats"))
	if fi, err := os.Stat(creds); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("platform key %s: %v (want mode 0600)", creds, err)
	}
	if !strings.Contains(stderr.String(), "platform_credentials="+creds) {
		t.Errorf("serve does not log where its NATS key is")
	}
	q, err := natsq.Open(context.Background(), natsq.Options{URL: url, Creds: creds, Name: "test"})
	if err != nil {
		t.Fatalf("platform key refused: %v", err)
	}
	q.Close()
}

// TestRemoteWorkerCredentials issues a worker credential with the command
// line, runs `rampart worker` with it against serve's embedded NATS, and
// revokes it.
func TestRemoteWorkerCredentials(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"RAMPART_DATA": dir, "RAMPART_LOG_LEVEL": "debug"} // the ingester logs results at debug
	_, serveLog, _ := serve(t, env, "--no-scheduler", "--no-worker")
	url := natsURLOf(t, serveLog)

	creds := issueWorker(t, env, "hn-1", "hanoi")
	if fi, err := os.Stat(creds); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v (want mode 0600)", err)
	}
	if code, out, _ := runCmd(t, env, "worker", "list"); code != 0 || !strings.Contains(out, "hn-1") || !strings.Contains(out, "hanoi") {
		t.Errorf("worker list: %d %s", code, out)
	}
	if code, _, errs := runCmd(t, env, "worker", "credentials", "hn-1", "--region", "hanoi"); code == 0 || !strings.Contains(errs, "already registered") {
		t.Errorf("issuing a name twice: %d %s", code, errs)
	}
	// The seed goes to stdout without --out.
	if code, out, _ := runCmd(t, env, "worker", "credentials", "--region", "hue", "hue-1"); code != 0 || !strings.Contains(out, "\nSU") {
		t.Errorf("credentials to stdout: %d %q", code, out)
	}
	// A worker started for another region than its key's fails at once.
	if code, _, errs := runCmd(t, map[string]string{}, "worker", "--nats", url, "--nats-creds", creds, "--region", "hue", "--data", t.TempDir()); code != 2 || !strings.Contains(errs, "another region") {
		t.Errorf("worker with the wrong region: %d %s", code, errs)
	}

	// The worker takes its region's jobs.
	var wout syncBuffer
	wctx, stopWorker := context.WithCancel(context.Background())
	wdone := make(chan int, 1)
	go func() {
		wdone <- Run(wctx, []string{"worker", "--nats", url, "--nats-creds", creds, "--region", "hanoi", "--data", t.TempDir(), "--log-level", "debug"},
			&Env{Stdout: &wout, Stderr: &wout, Getenv: func(string) string { return "" }})
	}()
	t.Cleanup(func() {
		stopWorker()
		<-wdone
	})
	platform, err := natsq.Open(context.Background(), natsq.Options{URL: url, Creds: natsq.PlatformCredentials(filepath.Join(dir, "nats")), Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer platform.Close()
	jobID := fmt.Sprintf("remote-%d", time.Now().UnixNano())
	if err := scanjob.Publish(context.Background(), platform, scanjob.Job{ID: jobID, Type: "ping", Region: "hanoi", Params: json.RawMessage(`{"n":1}`)}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			t.Logf("worker log:\n%s", wout.String())
		}
	}()
	waitLog(t, serveLog, "job="+jobID, 30*time.Second)

	// With its key, the worker may not queue a job (the forged job of F5).
	as, err := natsq.Open(context.Background(), natsq.Options{URL: url, Creds: creds, Name: "forger", SkipStreamSetup: true})
	if err != nil {
		t.Fatal(err)
	}
	defer as.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := as.Publish(ctx, scanjob.JobSubject("hanoi", "portscan"), []byte(`{}`), "forged", nil); err == nil {
		t.Error("a worker's key queued a job")
	}

	// Revoked: cut off, and refused from then on.
	if code, out, errs := runCmd(t, env, "worker", "revoke", "hn-1"); code != 0 || !strings.Contains(out, "revoked worker hn-1") {
		t.Fatalf("worker revoke: %d %s %s", code, out, errs)
	}
	waitLog(t, &wout, "disconnected", 10*time.Second)
	opts := []nats.Option{nats.Timeout(2 * time.Second)}
	if o, err := natsOptionFromSeedFile(creds); err == nil {
		opts = append(opts, o)
	} else {
		t.Fatal(err)
	}
	if nc, err := nats.Connect(url, opts...); err == nil {
		nc.Close()
		t.Error("revoked worker connected")
	}
	if code, out, _ := runCmd(t, env, "worker", "list"); code != 0 || strings.Contains(out, "hn-1") {
		t.Errorf("worker list after revoke: %d %s", code, out)
	}
}

func natsOptionFromSeedFile(path string) (nats.Option, error) {
	return nats.NkeyOptionFromSeed(path)
}

func waitLog(t *testing.T, log *syncBuffer, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(log.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the log within %s:\n%s", want, within, log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWorkerCredentialsNeedEmbeddedNATS: with an external NATS the
// cluster's configuration holds the users, not the data directory.
func TestWorkerCredentialsNeedEmbeddedNATS(t *testing.T) {
	env := map[string]string{"RAMPART_DATA": t.TempDir(), "RAMPART_NATS": "nats://u:secret@127.0.0.1:4222"}
	code, _, errs := runCmd(t, env, "worker", "credentials", "w", "--region", "hanoi")
	if code != 2 || !strings.Contains(errs, "docs/nats.md") || strings.Contains(errs, "secret") {
		t.Errorf("credentials with an external NATS: %d %s", code, errs)
	}
	if code, _, errs := runCmd(t, map[string]string{"RAMPART_DATA": t.TempDir()}, "worker", "revoke", "nobody"); code != 1 || !strings.Contains(errs, "unknown worker") {
		t.Errorf("revoking an unknown worker: %d %s", code, errs)
	}
	if code, _, _ := runCmd(t, map[string]string{}, "worker", "credentials"); code != 2 {
		t.Errorf("credentials without a name: %d", code)
	}
}
