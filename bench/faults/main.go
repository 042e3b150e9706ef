// Command faults runs the kill tests of the December 2026 reliability
// review against real processes built from this repository, and prints
// one line per scenario: PASS, FAIL or SKIP, the time to recover and the
// counts. It exits 1 if any scenario failed.
//
//	go run ./bench/faults                      # SQLite + embedded NATS
//	go run ./bench/faults -driver postgres     # 127.0.0.1:5432 db test, a fresh schema per platform
//	go run ./bench/faults -only a,d -outage 30s -keep
//
// It builds the rampart binary once, starts a lab of identical weak hosts
// on loopback addresses in this process, and for each scenario a fresh
// platform: `rampart serve --no-worker --no-scheduler` and two `rampart
// worker` processes (w1, w2) of region default:
//
//	a  kill -9 a worker mid-scan: its jobs finish on the other worker, and
//	   nothing is applied twice;
//	b  kill -9 serve during a burst of scan requests, restart it: every
//	   accepted request's job ends done, none stays queued or running, and
//	   a client's retry with the same Idempotency-Key makes no second job;
//	c  kill -9 NATS (an external nats-server started here): POST
//	   /api/v1/scans still answers 202 queued, and the job runs once NATS
//	   is back;
//	d  a PostgreSQL outage longer than the results' redelivery budget, made
//	   by a TCP proxy that cuts every connection for -outage: ingestion
//	   resumes within 5 s of the database coming back and no result is
//	   lost.
//
// Everything listens on loopback only. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// runner holds what every scenario shares.
type runner struct {
	work       string
	bin        string
	lab        *lab
	procs      *procs
	driver     string
	dsn        string
	outage     time.Duration
	natsDown   time.Duration
	natsServer string
	ackWait    time.Duration
}

// outcome is one scenario's line.
type outcome struct {
	id, title string
	status    string // PASS, FAIL, SKIP
	detail    string
}

func main() {
	driver := flag.String("driver", "sqlite", "store of the platforms of scenarios a-c: sqlite or postgres (scenario d always uses PostgreSQL)")
	dsn := flag.String("dsn", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL server; each platform gets a fresh schema, dropped at the end")
	outage := flag.Duration("outage", 20*time.Second, "scenario d: how long the database stays cut off")
	natsDown := flag.Duration("nats-down", 5*time.Second, "scenario c: how long NATS stays down after the requests made during the outage")
	natsServer := flag.String("nats-server", "", "nats-server binary for scenario c (default: built from the module's own nats-server dependency, the version serve embeds; 2.10 or later)")
	hosts := flag.Int("hosts", 10, "lab hosts (one asset, one scan job each)")
	ackWait := flag.Duration("ack-wait", 5*time.Second, "workers' --ack-wait: how soon a dead worker's job goes to the other")
	only := flag.String("only", "a,b,c,d", "scenarios to run, comma-separated")
	bin := flag.String("bin", "", "use this rampart binary instead of building ./cmd/rampart")
	keep := flag.Bool("keep", false, "keep the work directory (logs of every process) instead of removing it")
	flag.Parse()
	if *driver != "sqlite" && *driver != "postgres" {
		fmt.Fprintln(os.Stderr, "faults: -driver must be sqlite or postgres")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	work, err := os.MkdirTemp("", "rampart-faults-")
	if err != nil {
		fail(err)
	}
	r := &runner{work: work, procs: &procs{work: work}, driver: *driver, dsn: *dsn, outage: *outage, natsDown: *natsDown,
		natsServer: *natsServer, ackWait: *ackWait, bin: *bin}
	code := r.run(ctx, *hosts, strings.Split(*only, ","))
	r.procs.stopAll()
	if r.lab != nil {
		r.lab.close()
	}
	if *keep || code != 0 {
		fmt.Printf("logs: %s\n", work)
	} else {
		os.RemoveAll(work)
	}
	os.Exit(code)
}

func (r *runner) run(ctx context.Context, hosts int, only []string) int {
	t0 := time.Now()
	root, err := moduleRoot()
	if err != nil {
		fail(err)
	}
	built := "built"
	if r.bin == "" {
		r.bin = filepath.Join(r.work, "rampart")
		if err := goBuild(ctx, root, r.bin, "./cmd/rampart"); err != nil {
			fail(err)
		}
	} else if r.bin, err = filepath.Abs(r.bin); err != nil {
		fail(err)
	} else {
		built = "took"
	}
	if r.natsServer == "" && slices.Contains(only, "c") {
		// The NATS server of the module's own dependency: the version
		// serve embeds.
		r.natsServer = filepath.Join(r.work, "nats-server")
		if err := goBuild(ctx, root, r.natsServer, "github.com/nats-io/nats-server/v2"); err != nil {
			fail(err)
		}
	}
	fmt.Printf("%s rampart (and nats-server) in %.1f s; lab of %d hosts; store %s; work %s\n", built, time.Since(t0).Seconds(), hosts, r.driver, r.work)
	if r.lab, err = startLab(hosts); err != nil {
		fail(err)
	}
	fmt.Printf("lab: %s … %s, ports %v\n", r.lab.hosts[0], r.lab.hosts[len(r.lab.hosts)-1], labPorts)

	scenarios := []struct {
		id, title string
		fn        func(context.Context) (string, error)
	}{
		{"a", "kill -9 a worker mid-scan", r.workerKill},
		{"b", "kill -9 serve during a burst of scan requests", r.serveKill},
		{"c", "kill -9 NATS, scan requests while it is down", r.natsKill},
		{"d", "database cut off longer than the redelivery budget", r.dbOutage},
	}
	var outs []outcome
	for _, s := range scenarios {
		if !slices.Contains(only, s.id) {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		st := time.Now()
		detail, err := s.fn(ctx)
		o := outcome{id: s.id, title: s.title, status: "PASS", detail: detail}
		switch {
		case errors.Is(err, errSkip):
			o.status, o.detail = "SKIP", err.Error()
		case err != nil:
			o.status = "FAIL"
			o.detail = err.Error()
			if detail != "" {
				o.detail = detail + "; " + err.Error()
			}
		}
		o.detail += fmt.Sprintf(" [%.0f s]", time.Since(st).Seconds())
		fmt.Printf("%s %s %s: %s\n", o.status, o.id, o.title, o.detail)
		outs = append(outs, o)
	}
	code := 0
	for _, o := range outs {
		if o.status == "FAIL" {
			code = 1
		}
	}
	fmt.Printf("total %.0f s\n", time.Since(t0).Seconds())
	return code
}

// storeDSN is the database of a platform of scenarios a-c: "" (SQLite in
// its data directory) or a fresh PostgreSQL schema.
func (r *runner) storeDSN(ctx context.Context) (string, func(), error) {
	if r.driver == "sqlite" {
		return "", func() {}, nil
	}
	return newSchema(ctx, r.dsn)
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("faults: go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("faults: run from inside the rampart module (go run ./bench/faults)")
	}
	return filepath.Dir(mod), nil
}

// goBuild builds pkg into out from the module at root.
func goBuild(ctx context.Context, root, out, pkg string) error {
	build := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	build.Dir = root
	if b, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("faults: build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(2)
}
