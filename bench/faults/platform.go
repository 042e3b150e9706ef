package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// platform is one Rampart made of real processes: a serve (no in-process
// worker, no scheduler: scans run only when asked) and workers in region
// "default". Its data lives under dir; its database is SQLite there, or a
// fresh PostgreSQL schema; its NATS is serve's embedded one, listening on
// a fixed loopback port so workers find it again after a restart, or an
// external server at natsURL.
type platform struct {
	r       *runner
	name    string
	dir     string
	dsn     string // "" for SQLite
	natsURL string // "" for the embedded NATS
	natsEmb int    // the embedded NATS's port
	port    int    // serve's HTTP port
	serve   *proc
	workers map[string]*proc
	api     *client
}

// adminToken is the bootstrap token of every platform of the run.
const adminToken = "faults-bench-admin-token-0123456789abcdef"

func (r *runner) newPlatform(ctx context.Context, name, dsn, natsURL string) (*platform, error) {
	p := &platform{r: r, name: name, dir: filepath.Join(r.work, name), dsn: dsn, natsURL: natsURL, workers: map[string]*proc{}}
	if err := os.MkdirAll(p.dir, 0o750); err != nil {
		return nil, err
	}
	var err error
	if p.port, err = freePort(); err != nil {
		return nil, err
	}
	if natsURL == "" {
		if p.natsEmb, err = freePort(); err != nil {
			return nil, err
		}
	}
	p.api = newClient(fmt.Sprintf("http://127.0.0.1:%d", p.port), adminToken)
	return p, nil
}

func (p *platform) env() []string {
	env := append(baseEnv(),
		"RAMPART_INTERNAL_DEPLOYMENT=true", // the lab is on loopback
		"RAMPART_LOG_FORMAT=json",
		"RAMPART_ADMIN_PASSWORD=faults bench secret 2026 loopback",
		"RAMPART_ADMIN_TOKEN="+adminToken,
	)
	if p.natsURL == "" {
		env = append(env, "RAMPART_NATS_LISTEN="+fmt.Sprintf("127.0.0.1:%d", p.natsEmb))
	}
	return env
}

func (p *platform) serveArgs() []string {
	args := []string{"serve", "--data", filepath.Join(p.dir, "serve"), "--listen", fmt.Sprintf("127.0.0.1:%d", p.port), "--no-worker", "--no-scheduler"}
	if p.dsn != "" {
		args = append(args, "--database", p.dsn)
	}
	if p.natsURL != "" {
		args = append(args, "--nats", p.natsURL)
	}
	return args
}

// startServe starts (or restarts) serve and waits until /readyz is 200.
func (p *platform) startServe(ctx context.Context) (time.Duration, error) {
	t0 := time.Now()
	s, err := p.r.procs.start(p.name+"-serve", p.r.bin, p.serveArgs(), p.env())
	if err != nil {
		return 0, err
	}
	p.serve = s
	if err := waitReady(ctx, p.api.base+"/readyz", s, 90*time.Second); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// credentials issues worker keys on the embedded NATS (before serve
// starts, or while it runs: it admits them within seconds).
func (p *platform) credentials(ctx context.Context, names ...string) error {
	if p.natsURL != "" {
		return nil
	}
	for _, n := range names {
		cmd := exec.CommandContext(ctx, p.r.bin, "worker", "credentials", n, "--region", "default", "--out", p.credsFile(n), "--data", filepath.Join(p.dir, "serve"))
		cmd.Env = p.env()
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("faults: worker credentials %s: %v: %s", n, err, out)
		}
	}
	return nil
}

func (p *platform) credsFile(name string) string { return filepath.Join(p.dir, name+".nk") }

// startWorker starts a worker of region default taking conc jobs at once;
// a job without a sign of life for ackWait goes to another worker.
func (p *platform) startWorker(name string, conc int, ackWait time.Duration) error {
	nats := p.natsURL
	args := []string{"worker", "--region", "default", "--name", name, "--data", filepath.Join(p.dir, name),
		"--concurrency", strconv.Itoa(conc), "--ack-wait", ackWait.String()}
	if nats == "" {
		nats = fmt.Sprintf("nats://127.0.0.1:%d", p.natsEmb)
		args = append(args, "--nats-creds", p.credsFile(name))
	}
	args = append(args, "--nats", nats)
	w, err := p.r.procs.start(p.name+"-"+name, p.r.bin, args, p.env())
	if err != nil {
		return err
	}
	p.workers[name] = w
	return nil
}

// waitWorkers waits until the platform lists every named worker as live.
func (p *platform) waitWorkers(ctx context.Context, timeout time.Duration, names ...string) error {
	deadline := time.Now().Add(timeout)
	for {
		var r struct {
			Items []struct {
				Name string `json:"name"`
				Live bool   `json:"live"`
			} `json:"items"`
		}
		if err := p.api.do(ctx, "GET", "/api/v1/workers", nil, nil, &r, 200); err == nil {
			live := map[string]bool{}
			for _, w := range r.Items {
				live[w.Name] = w.Live
			}
			ok := true
			for _, n := range names {
				ok = ok && live[n]
			}
			if ok {
				return nil
			}
		}
		for _, n := range names {
			if w := p.workers[n]; w != nil && !w.alive() {
				return fmt.Errorf("faults: worker %s exited (see %s.log)", n, w.name)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("faults: workers %v not live after %v", names, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// up starts serve and two workers, w1 and w2, and registers one asset
// per lab host.
func (p *platform) up(ctx context.Context, conc int, ackWait time.Duration) ([]assetJSON, error) {
	if err := p.credentials(ctx, "w1", "w2"); err != nil {
		return nil, err
	}
	if _, err := p.startServe(ctx); err != nil {
		return nil, err
	}
	for _, w := range []string{"w1", "w2"} {
		if err := p.startWorker(w, conc, ackWait); err != nil {
			return nil, err
		}
	}
	if err := p.waitWorkers(ctx, 60*time.Second, "w1", "w2"); err != nil {
		return nil, err
	}
	return p.api.constituency(ctx, "FAULTS-"+p.name, p.r.lab.hosts)
}

// down stops the platform's processes (those still running).
func (p *platform) down() {
	for _, w := range p.workers {
		w.stop()
	}
	if p.serve != nil {
		p.serve.stop()
	}
}

// newSchema makes a fresh schema on the PostgreSQL server at dsn and
// returns a DSN that uses it; drop removes it.
func newSchema(ctx context.Context, dsn string) (string, func(), error) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, dsn)
	if err != nil {
		return "", nil, fmt.Errorf("%w: PostgreSQL at %s: %v", errSkip, redact(dsn), err)
	}
	defer conn.Close(context.Background())
	b := make([]byte, 5)
	rand.Read(b)
	schema := "rampart_faults_" + hex.EncodeToString(b)
	if _, err := conn.Exec(cctx, "CREATE SCHEMA "+schema); err != nil {
		return "", nil, fmt.Errorf("faults: create schema: %w", err)
	}
	drop := func() {
		dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if c, err := pgx.Connect(dctx, dsn); err == nil {
			_, _ = c.Exec(dctx, "DROP SCHEMA "+schema+" CASCADE")
			c.Close(dctx)
		}
	}
	u, err := url.Parse(dsn)
	if err != nil {
		drop()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// viaProxy rewrites dsn to connect through addr.
func viaProxy(dsn, addr string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", err
	}
	u.Host = addr
	return u.String(), nil
}

func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil {
		if u.User != nil {
			u.User = url.User(u.User.Username())
		}
		return u.String()
	}
	return "(unparsable DSN)"
}
