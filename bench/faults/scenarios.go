package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// requestAll asks for a scan of every asset, one request each.
func requestAll(ctx context.Context, c *client, assets []assetJSON) error {
	for _, a := range assets {
		if _, err := c.scan(ctx, a.ID, ""); err != nil {
			return fmt.Errorf("faults: scan asset %s: %w", a.Value, err)
		}
	}
	return nil
}

// verify reads the platform's results for the lab and checks them.
func verify(ctx context.Context, c *client, assets []assetJSON) (results, error) {
	res, err := c.collect(ctx, assets)
	if err != nil {
		return res, fmt.Errorf("faults: read results: %w", err)
	}
	if p := res.check(assets); p != "" {
		return res, errors.New(p)
	}
	return res, nil
}

func allDone(js []jobJSON) error {
	if n := countState(js, "done"); n != len(js) {
		return fmt.Errorf("%d of %d jobs done: %s", n, len(js), summary(js))
	}
	return nil
}

// secs writes a duration in seconds, or milliseconds under one second.
func secs(d time.Duration) string {
	if d < time.Second {
		return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
}

// workerKill is scenario a: kill -9 a worker with jobs running; they are
// redelivered after the ack wait and finish on the other worker.
func (r *runner) workerKill(ctx context.Context) (string, error) {
	dsn, drop, err := r.storeDSN(ctx)
	if err != nil {
		return "", err
	}
	defer drop()
	p, err := r.newPlatform(ctx, "a", dsn, "")
	if err != nil {
		return "", err
	}
	defer p.down()
	assets, err := p.up(ctx, 2, r.ackWait)
	if err != nil {
		return "", err
	}
	if err := requestAll(ctx, p.api, assets); err != nil {
		return "", err
	}
	// Wait for w1 to be running jobs, then kill it.
	js, err := p.api.waitJobs(ctx, 60*time.Second, func(js []jobJSON) bool {
		for _, j := range js {
			if j.State == "running" && j.Worker == "w1" {
				return true
			}
		}
		return false
	})
	if err != nil {
		return "", fmt.Errorf("w1 never ran a job: %w", err)
	}
	var victims []string
	for _, j := range js {
		if j.State == "running" && j.Worker == "w1" {
			victims = append(victims, j.ID)
		}
	}
	p.workers["w1"].kill9()
	killed := time.Now()
	js, err = p.api.waitJobs(ctx, 120*time.Second, finished)
	if err != nil {
		return "", err
	}
	recovered := time.Since(killed)
	// When did the last of the killed worker's jobs finish? The listing
	// has no finish time to the millisecond; the wait above bounds it.
	byID := map[string]jobJSON{}
	for _, j := range js {
		byID[j.ID] = j
	}
	moved := 0
	for _, id := range victims {
		j := byID[id]
		if j.State != "done" {
			return "", fmt.Errorf("job %s of the killed worker ended %s (%s)", id, j.State, j.Error)
		}
		if j.Worker == "w2" {
			moved++
		}
	}
	detail := fmt.Sprintf("%d jobs running on w1 at the kill, %d finished on w2; all %d jobs done %s after the kill (ack wait %s)",
		len(victims), moved, len(js), secs(recovered), r.ackWait)
	if err := allDone(js); err != nil {
		return detail, err
	}
	if moved != len(victims) {
		return detail, fmt.Errorf("%d of the killed worker's jobs finished elsewhere than w2", len(victims)-moved)
	}
	res, err := verify(ctx, p.api, assets)
	return detail + "; " + res.String(), err
}

// serveKill is scenario b: serve is killed with -9 while it answers a
// scan request for a whole organization (a burst of job creations, one
// transaction each, as in the review's 3b), and restarted. Every job of an
// accepted request, and every job stored before the kill whose answer was
// lost, must end done; the client that saw an error retries with the same
// Idempotency-Key and gets the stored jobs back, no second set. The kill
// lands when the first job of the request shows in the listing; if the
// request was answered first, or nothing was stored, it tries again (at
// most three rounds).
func (r *runner) serveKill(ctx context.Context) (string, error) {
	dsn, drop, err := r.storeDSN(ctx)
	if err != nil {
		return "", err
	}
	defer drop()
	p, err := r.newPlatform(ctx, "b", dsn, "")
	if err != nil {
		return "", err
	}
	defer p.down()
	assets, err := p.up(ctx, 4, r.ackWait)
	if err != nil {
		return "", err
	}
	var rounds []string
	var restarts, settles []time.Duration
	accepted, lost, storedLost, retried, dups := 0, 0, 0, 0, 0
	for round := 1; round <= 3; round++ {
		prev, err := p.api.jobs(ctx)
		if err != nil {
			return "", err
		}
		old := map[string]bool{}
		for _, j := range prev {
			old[j.ID] = true
		}
		key := fmt.Sprintf("faults-b-%d", round)
		type answer struct {
			jobs []jobJSON
			err  error
		}
		ans := make(chan answer, 1)
		go func() {
			js, err := p.api.scanOrg(ctx, assets[0].OrgID, key)
			ans <- answer{js, err}
		}()
		// Kill at the first sign of the request's jobs, or once it is
		// answered.
		var a answer
		answeredFirst := false
	watch:
		for {
			select {
			case a = <-ans:
				answeredFirst = true
				break watch
			default:
			}
			if js, err := p.api.jobs(ctx); err == nil && len(js) > len(prev) {
				break watch
			}
		}
		p.serve.kill9()
		if !answeredFirst {
			a = <-ans
		}
		if ae := (*apiError)(nil); errors.As(a.err, &ae) {
			return "", fmt.Errorf("round %d: the request was refused, not cut off: %w", round, a.err)
		}
		restart, err := p.startServe(ctx)
		if err != nil {
			return "", err
		}
		restarts = append(restarts, restart)
		back := time.Now()
		js, err := p.api.waitJobs(ctx, 120*time.Second, finished)
		if err != nil {
			return "", err
		}
		settles = append(settles, time.Since(back))
		var stored []jobJSON
		for _, j := range js {
			if !old[j.ID] {
				stored = append(stored, j)
			}
		}
		if err := allDone(stored); err != nil {
			return "", fmt.Errorf("round %d: stuck after the restart: %w", round, err)
		}
		if a.err == nil {
			accepted++
			for _, j := range a.jobs {
				if j.State != "queued" && j.State != "done" && j.State != "running" {
					return "", fmt.Errorf("round %d: accepted job %s %s", round, j.ID, j.State)
				}
			}
			if len(a.jobs) != len(stored) {
				return "", fmt.Errorf("round %d: accepted %d jobs, %d stored", round, len(a.jobs), len(stored))
			}
			rounds = append(rounds, fmt.Sprintf("answered (%d jobs)", len(a.jobs)))
			continue
		}
		// The client saw an error: it retries with the same key.
		lost++
		storedLost += len(stored)
		again, err := p.api.scanOrg(ctx, assets[0].OrgID, key)
		if err != nil {
			return "", fmt.Errorf("round %d: retry: %w", round, err)
		}
		retried++
		js, err = p.api.waitJobs(ctx, 120*time.Second, finished)
		if err != nil {
			return "", err
		}
		perAsset := map[int64]int{}
		var mine []jobJSON
		for _, j := range js {
			if !old[j.ID] {
				perAsset[j.AssetID]++
				mine = append(mine, j)
			}
		}
		for _, n := range perAsset {
			dups += n - 1
		}
		if err := allDone(mine); err != nil {
			return "", fmt.Errorf("round %d after the retry: %w", round, err)
		}
		if len(again) != len(assets) || len(perAsset) != len(assets) {
			return "", fmt.Errorf("round %d: retry answered %d jobs, %d assets have one", round, len(again), len(perAsset))
		}
		rounds = append(rounds, fmt.Sprintf("cut off with %d of %d jobs stored", len(stored), len(assets)))
		if len(stored) > 0 && len(stored) < len(assets) {
			break // the review's case: killed half way through
		}
	}
	detail := fmt.Sprintf("organization scan of %d assets, serve killed mid-request: %s; restart %s; every job done %s after the restart, stuck 0; retries with the same Idempotency-Key %d, duplicate jobs %d",
		len(assets), strings.Join(rounds, ", "), joinSecs(restarts), joinSecs(settles), retried, dups)
	if dups > 0 {
		return detail, fmt.Errorf("%d duplicate jobs", dups)
	}
	if storedLost == 0 {
		detail += " (the kill never fell between a stored job and its answer)"
	}
	res, err := verify(ctx, p.api, assets)
	return detail + "; " + res.String(), err
}

func joinSecs(ds []time.Duration) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = secs(d)
	}
	return strings.Join(s, ", ")
}

// natsKill is scenario c: an external nats-server is killed with jobs in
// flight; scan requests during the outage answer 202 queued at once, and
// every job runs once NATS is back.
func (r *runner) natsKill(ctx context.Context) (string, error) {
	if r.natsServer == "" {
		return "", fmt.Errorf("%w: no nats-server binary (install nats-server or give -nats-server)", errSkip)
	}
	dsn, drop, err := r.storeDSN(ctx)
	if err != nil {
		return "", err
	}
	defer drop()
	port, err := freePort()
	if err != nil {
		return "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	storeDir := filepath.Join(r.work, "c-nats")
	startNATS := func() (*proc, error) {
		n, err := r.procs.start("c-nats-server", r.natsServer, []string{"-a", "127.0.0.1", "-p", strconv.Itoa(port), "-js", "-sd", storeDir}, baseEnv())
		if err != nil {
			return nil, err
		}
		return n, waitTCP(addr, 15*time.Second)
	}
	nats, err := startNATS()
	if err != nil {
		return "", err
	}
	p, err := r.newPlatform(ctx, "c", dsn, "nats://"+addr)
	if err != nil {
		return "", err
	}
	defer p.down()
	assets, err := p.up(ctx, 2, r.ackWait)
	if err != nil {
		return "", err
	}
	half := len(assets) / 2
	if err := requestAll(ctx, p.api, assets[:half]); err != nil {
		return "", err
	}
	if _, err := p.api.waitJobs(ctx, 60*time.Second, func(js []jobJSON) bool { return countState(js, "running") > 0 }); err != nil {
		return "", fmt.Errorf("no job started: %w", err)
	}
	nats.kill9()
	down := time.Now()
	var slowest time.Duration
	for _, a := range assets[half:] {
		t := time.Now()
		js, err := p.api.scan(ctx, a.ID, "")
		d := time.Since(t)
		slowest = max(slowest, d)
		if err != nil {
			return "", fmt.Errorf("POST /api/v1/scans with NATS down (%s): %w", secs(d), err)
		}
		if len(js) != 1 || js[0].State != "queued" {
			return "", fmt.Errorf("POST /api/v1/scans with NATS down answered %+v", js)
		}
	}
	time.Sleep(r.natsDown)
	if _, err := startNATS(); err != nil {
		return "", err
	}
	up := time.Now()
	js, err := p.api.waitJobs(ctx, 120*time.Second, finished)
	if err != nil {
		return "", err
	}
	detail := fmt.Sprintf("NATS down %s; %d requests during the outage answered 202 queued (slowest %s); every job done %s after NATS came back",
		secs(up.Sub(down)), len(assets)-half, secs(slowest), secs(time.Since(up)))
	if err := allDone(js); err != nil {
		return detail, err
	}
	if len(js) != len(assets) {
		return detail, fmt.Errorf("%d jobs for %d assets", len(js), len(assets))
	}
	res, err := verify(ctx, p.api, assets)
	return detail + "; " + res.String(), err
}

// dbOutage is scenario d: PostgreSQL is cut off (through a proxy) while
// jobs run, for longer than the results consumer's old redelivery budget;
// the results wait, and ingestion resumes within 5 s of its return.
func (r *runner) dbOutage(ctx context.Context) (string, error) {
	base, drop, err := newSchema(ctx, r.dsn)
	if err != nil {
		return "", err
	}
	defer drop()
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	target := u.Host
	if _, _, err := net.SplitHostPort(target); err != nil {
		target = net.JoinHostPort(target, "5432")
	}
	px, err := startProxy(target)
	if err != nil {
		return "", err
	}
	defer px.close()
	dsn, err := viaProxy(base, px.addr())
	if err != nil {
		return "", err
	}
	p, err := r.newPlatform(ctx, "d", dsn, "")
	if err != nil {
		return "", err
	}
	defer p.down()
	assets, err := p.up(ctx, 2, r.ackWait)
	if err != nil {
		return "", err
	}
	if err := requestAll(ctx, p.api, assets); err != nil {
		return "", err
	}
	if _, err := p.api.waitJobs(ctx, 60*time.Second, func(js []jobJSON) bool { return countState(js, "running") > 0 }); err != nil {
		return "", fmt.Errorf("no job started: %w", err)
	}
	// Give the relay a moment to hand every job to NATS.
	time.Sleep(time.Second)
	before, err := p.api.jobs(ctx)
	if err != nil {
		return "", err
	}
	doneAtCut := countState(before, "done")
	px.cut()
	cutAt := time.Now()
	time.Sleep(r.outage)
	px.restore()
	back := time.Now()
	var resumed time.Duration
	js, err := p.api.waitJobs(ctx, 120*time.Second, func(js []jobJSON) bool {
		if resumed == 0 && countState(js, "done") > doneAtCut {
			resumed = time.Since(back)
		}
		return finished(js)
	})
	if err != nil {
		return "", err
	}
	detail := fmt.Sprintf("database cut %s with %d of %d jobs done; ingestion resumed %s after it came back, every job done %s after",
		secs(back.Sub(cutAt)), doneAtCut, len(assets), secs(resumed), secs(time.Since(back)))
	if err := allDone(js); err != nil {
		return detail, err
	}
	if resumed > 5*time.Second {
		return detail, fmt.Errorf("ingestion resumed after %s (goal 5 s)", secs(resumed))
	}
	res, err := verify(ctx, p.api, assets)
	return detail + "; " + res.String(), err
}
