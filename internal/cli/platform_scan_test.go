package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/store"
)

type apiClient struct {
	t     *testing.T
	base  string
	token string
}

func (a apiClient) call(method, path string, body any, out any) int {
	a.t.Helper()
	var code int
	var text string
	if method == "GET" {
		code, text = get(a.t, a.base+path, a.token)
	} else {
		code, text = post(a.t, a.base+path, a.token, body)
	}
	if out != nil && code < 300 {
		if err := json.Unmarshal([]byte(text), out); err != nil {
			a.t.Fatalf("%s %s: %v: %s", method, path, err, text)
		}
	}
	return code
}

// waitJob polls until the job reaches one of the states.
func (a apiClient) waitJob(id string, within time.Duration, states ...store.JobState) store.ScanJob {
	a.t.Helper()
	if len(states) == 0 {
		states = []store.JobState{store.JobDone, store.JobFailed, store.JobUnreachable}
	}
	deadline := time.Now().Add(within)
	for {
		var j store.ScanJob
		a.call("GET", "/api/v1/scans/"+id, nil, &j)
		for _, s := range states {
			if j.State == s {
				return j
			}
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("job %s still %q after %s", id, j.State, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (a apiClient) scanAsset(assetID int64) string {
	a.t.Helper()
	var req struct {
		Items []store.ScanJob `json:"items"`
	}
	if code := a.call("POST", "/api/v1/scans", map[string]any{"asset_id": assetID}, &req); code != 202 || len(req.Items) != 1 {
		a.t.Fatalf("scan request: %d %+v", code, req)
	}
	return req.Items[0].ID
}

func (a apiClient) registerHost(ip string) (orgID, assetID int64) {
	a.t.Helper()
	var org, as struct{ ID int64 }
	a.call("POST", "/api/v1/orgs", map[string]any{"code": "LAB", "name": "Phòng thí nghiệm", "kind": "agency"}, &org)
	if a.call("POST", "/api/v1/assets", map[string]any{"org_id": org.ID, "kind": "ipv4", "value": ip}, &as) != 201 {
		a.t.Fatal("create asset")
	}
	deadline := time.Now().Add(10 * time.Second)
	for a.call("GET", "/api/v1/scope?target="+ip, nil, nil) != 200 {
		if time.Now().After(deadline) {
			a.t.Fatalf("scope never covered %s", ip)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return org.ID, as.ID
}

func (a apiClient) observations(assetID int64) map[int]store.Observation {
	a.t.Helper()
	var obs store.Page[store.Observation]
	a.call("GET", fmt.Sprintf("/api/v1/observations?asset_id=%d&limit=1000", assetID), nil, &obs)
	out := map[int]store.Observation{}
	for _, o := range obs.Items {
		if _, dup := out[o.Port]; dup {
			a.t.Fatalf("port %d observed twice: %+v", o.Port, obs.Items)
		}
		out[o.Port] = o
	}
	return out
}

// TestPlatformScanLifecycle runs the real platform end to end: a requested
// scan of a registered loopback host stores its open ports with services
// and its findings; the owner acknowledges one, stops the service and asks
// for verification: the rescan marks the port closed (history kept) and the
// finding fixed; the service comes back and the finding is reopened.
func TestPlatformScanLifecycle(t *testing.T) {
	redisPort, webPort := lab(t, "127.66.1.1")
	stopRedis := closeOnDemand(t, "127.66.1.1", redisPort)
	token := "automation-token-0123456789abcdefghijkl"
	env := map[string]string{"RAMPART_DATA": t.TempDir(), "RAMPART_ADMIN_TOKEN": token,
		"RAMPART_SCANNER_PORTS": fmt.Sprintf("%d,%d,1-40", redisPort, webPort)}
	base, _, _ := serve(t, env, "--no-scheduler")
	a := apiClient{t, base, token}
	_, assetID := a.registerHost("127.66.1.1")

	if j := a.waitJob(a.scanAsset(assetID), 90*time.Second); j.State != store.JobDone {
		t.Fatalf("first scan: %+v", j)
	}
	obs := a.observations(assetID)
	if len(obs) != 2 || obs[redisPort].Service != "redis" || obs[webPort].Product != "nginx" || obs[webPort].State != "open" {
		t.Fatalf("observations after the first scan: %+v", obs)
	}
	first := obs[redisPort].FirstSeen
	redis := a.finding("svc.redis-unauthenticated")
	if redis.State != finding.StateOpen || redis.Severity != finding.Critical || redis.DueAt == nil {
		t.Fatalf("redis finding: %+v", redis)
	}
	if git := a.finding("http.exposed-git"); git.State != finding.StateOpen {
		t.Fatalf(".git finding: %+v", git)
	}
	a.transition(redis.ID, map[string]any{"action": "acknowledge", "reason": "password coming"})

	// The owner fixes it and asks for verification.
	stopRedis()
	a.transition(redis.ID, map[string]any{"action": "request-verify"})
	a.waitVerify(assetID)
	obs = a.observations(assetID)
	if obs[redisPort].State != "closed" || obs[redisPort].ClosedAt == nil || !obs[redisPort].FirstSeen.Equal(first) {
		t.Fatalf("stopped redis not marked closed (history kept): %+v", obs[redisPort])
	}
	if obs[webPort].State != "open" {
		t.Fatalf("web port: %+v", obs[webPort])
	}
	if f := a.findingByID(redis.ID); f.State != finding.StateFixed || f.FixedAt == nil {
		t.Fatalf("after verification: %+v", f)
	}
	if git := a.finding("http.exposed-git"); git.State != finding.StateOpen {
		t.Fatalf(".git finding changed: %+v", git)
	}

	// The service comes back: the same finding reopens.
	ln, err := net.Listen("tcp", fmt.Sprintf("127.66.1.1:%d", redisPort))
	if err != nil {
		t.Fatal(err)
	}
	go serveRedis(ln)
	if j := a.waitJob(a.scanAsset(assetID), 90*time.Second); j.State != store.JobDone {
		t.Fatalf("third scan: %+v", j)
	}
	if f := a.findingByID(redis.ID); f.State != finding.StateReopened {
		t.Fatalf("redis back: %+v", f)
	}

	// Every service stops (the host still answers, refusing connections):
	// the ports close and their findings are fixed. (A host that does not
	// answer at all leaves everything as it was: see scan's ingester tests.)
	ln.Close()
	labMu.Lock()
	labClosers[fmt.Sprintf("127.66.1.1:%d", webPort)].Close()
	labMu.Unlock()
	if j := a.waitJob(a.scanAsset(assetID), 90*time.Second); j.State != store.JobDone {
		t.Fatalf("scan of a host with no service: %+v", j)
	}
	if git := a.finding("http.exposed-git"); git.State != finding.StateFixed {
		t.Fatalf(".git finding after the web server stopped: %+v", git)
	}
	if f := a.findingByID(redis.ID); f.State != finding.StateFixed {
		t.Fatalf("redis finding after it stopped again: %+v", f)
	}
	var hist struct {
		Items []store.FindingEvent `json:"items"`
	}
	a.call("GET", fmt.Sprintf("/api/v1/findings/%d/history", redis.ID), nil, &hist)
	var steps []string
	for _, ev := range hist.Items {
		steps = append(steps, string(ev.To))
	}
	if got := strings.Join(steps, ","); !strings.Contains(got, "open,acknowledged") || !strings.Contains(got, "fixed") || !strings.Contains(got, "reopened") {
		t.Fatalf("history: %s", got)
	}
}

func (a apiClient) finding(check string) store.Finding {
	a.t.Helper()
	var page store.Page[store.Finding]
	a.call("GET", "/api/v1/findings?check="+check, nil, &page)
	if len(page.Items) != 1 {
		a.t.Fatalf("findings of %s: %+v", check, page.Items)
	}
	return page.Items[0]
}

func (a apiClient) findingByID(id int64) store.Finding {
	a.t.Helper()
	var f store.Finding
	if a.call("GET", fmt.Sprintf("/api/v1/findings/%d", id), nil, &f) != 200 {
		a.t.Fatalf("finding %d", id)
	}
	return f
}

func (a apiClient) transition(id int64, body map[string]any) {
	a.t.Helper()
	if code := a.call("POST", fmt.Sprintf("/api/v1/findings/%d/transition", id), body, nil); code != 200 {
		a.t.Fatalf("transition %v: %d", body, code)
	}
}

// waitVerify waits for the asset's verification job to finish.
func (a apiClient) waitVerify(assetID int64) {
	a.t.Helper()
	var jobs store.Page[store.ScanJob]
	a.call("GET", fmt.Sprintf("/api/v1/scans?asset_id=%d", assetID), nil, &jobs)
	for _, j := range jobs.Items {
		if j.Reason == "verify" {
			if got := a.waitJob(j.ID, 90*time.Second); got.State != store.JobDone {
				a.t.Fatalf("verification job: %+v", got)
			}
			return
		}
	}
	a.t.Fatalf("no verification job: %+v", jobs.Items)
}

// closeOnDemand wraps lab's redis listener: the returned func makes the port
// refuse connections from then on.
func closeOnDemand(t *testing.T, ip string, port int) func() {
	return func() {
		labMu.Lock()
		defer labMu.Unlock()
		if c := labClosers[fmt.Sprintf("%s:%d", ip, port)]; c != nil {
			c.Close()
		}
	}
}

// TestWorkerKilledMidScan kills a worker process with SIGKILL in the middle
// of a scan: the job comes back to another worker, completes, and stores
// each open port once.
func TestWorkerKilledMidScan(t *testing.T) {
	redisPort, webPort := lab(t, "127.66.2.1")
	token := "automation-token-0123456789abcdefghijkl"
	dir := t.TempDir()
	env := map[string]string{"RAMPART_DATA": dir, "RAMPART_ADMIN_TOKEN": token,
		"RAMPART_SCANNER_PORTS": fmt.Sprintf("1-1500,%d,%d", redisPort, webPort)}
	base, stderr, _ := serve(t, env, "--no-scheduler", "--no-worker")
	m := regexp.MustCompile(`client_url=(nats://\S+)`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no NATS URL in the log")
	}
	a := apiClient{t, base, token}
	_, assetID := a.registerHost("127.66.2.1")

	// A slow worker (100 probes/s: about 15 s for this scan).
	slow := startWorker(t, m[1], "--nats-creds", issueWorker(t, env, "slow", "default"), "--rate", "100", "--ack-wait", "2s")
	id := a.scanAsset(assetID)
	a.waitJob(id, 30*time.Second, store.JobRunning)
	time.Sleep(1500 * time.Millisecond)
	if err := slow.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	slow.Wait()
	if j := a.waitJob(id, 5*time.Second, store.JobRunning, store.JobQueued); j.State == store.JobDone {
		t.Fatal("job done by a killed worker")
	}
	// A second worker finishes it.
	startWorker(t, m[1], "--nats-creds", issueWorker(t, env, "second", "default"), "--ack-wait", "2s")
	j := a.waitJob(id, 90*time.Second)
	if j.State != store.JobDone {
		t.Fatalf("job after the worker died: %+v", j)
	}
	obs := a.observations(assetID)
	if len(obs) != 2 || obs[redisPort].State != "open" || obs[webPort].State != "open" {
		t.Fatalf("observations: %+v", obs)
	}
}

// startWorker runs `rampart worker` as a separate process (this test
// binary, re-executed) so it can be killed for real.
func startWorker(t *testing.T, natsURL string, args ...string) *exec.Cmd {
	t.Helper()
	all := append([]string{"worker", "--nats", natsURL, "--data", t.TempDir()}, args...)
	enc, _ := json.Marshal(all)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "RAMPART_CLI_CHILD="+string(enc))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if testing.Verbose() {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd
}

// TestMain lets this test binary act as the rampart command for child
// processes.
func TestMain(m *testing.M) {
	if args := os.Getenv("RAMPART_CLI_CHILD"); args != "" {
		var a []string
		if err := json.Unmarshal([]byte(args), &a); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(Main(a, &Env{Stdout: os.Stdout, Stderr: os.Stderr, Stdin: os.Stdin}))
	}
	os.Exit(m.Run())
}

var _ = net.Listen
var _ = strings.Contains

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
