package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/rampart-cert/rampart/internal/api"
	"github.com/rampart-cert/rampart/internal/assess"
	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/config"
	"github.com/rampart-cert/rampart/internal/decision"
	"github.com/rampart-cert/rampart/internal/events"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/findings"
	"github.com/rampart-cert/rampart/internal/intelweb"
	"github.com/rampart-cert/rampart/internal/scan"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
	"github.com/rampart-cert/rampart/internal/scope"
	"github.com/rampart-cert/rampart/internal/scope/proof"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/transfer"
	"github.com/rampart-cert/rampart/internal/web"
	"github.com/rampart-cert/rampart/internal/worker"
)

func runServe(ctx context.Context, env *Env, args []string) error {
	fs, f := flags(env, "serve", true)
	noWorker := fs.Bool("no-worker", false, "do not run an in-process worker (jobs go to `rampart worker` processes)")
	noScheduler := fs.Bool("no-scheduler", false, "do not plan scans by cadence (scans run only when asked for)")
	requeueAfter := fs.Duration("requeue-queued-after", scan.DefaultRequeueAfter, "hand a job queued this long with no publish message anywhere to the workers again")
	failQueuedAfter := fs.Duration("fail-queued-after", scan.DefaultFailAfter, "fail, with the reason, a job that no worker took within this long (negative: never)")
	demoBase := fs.String("demo-base", "127.77.0.0", "with --demo: the base address of the lab (inside 127.77.0.0/16)")
	demo := fs.Bool("demo", false, "start with a sample constituency whose assets live on a built-in lab of weak services (127.77.0.0/16), and scan it")
	c, err := load(env, fs, f, args)
	if err != nil {
		return err
	}
	if *demo && c.AdminPassword == "" {
		c.AdminPassword = demoPassword
	}
	if *demo {
		// The lab lives on 127.77.0.0/16: members of the sample
		// constituency may claim and prove addresses there.
		c.InternalDeployment = true
	}
	log := logger(env, c)
	log.Info("starting rampart", "version", Version, "config", c.Redacted())

	st, err := openStoreWaiting(ctx, c, log, storeStartWait)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := bootstrap(ctx, st, c, env.Stdout, log); err != nil {
		return err
	}

	var wopts workerOptions
	var lab *demoLab
	if *demo {
		base, err := netip.ParseAddr(*demoBase)
		if err != nil {
			return fmt.Errorf("%w: --demo-base: %v", errUsage, err)
		}
		l, err := startDemo(ctx, st, &c, &wopts, base, log)
		if err != nil {
			return err
		}
		defer l.Close()
		lab = l
	}

	q, err := openQueue(ctx, c, "rampart-serve", log)
	if err != nil {
		return err
	}
	defer q.Close()
	if q.Embedded() {
		// Only known keys get in: the platform's (this file) and those of
		// workers issued with `rampart worker credentials`.
		log.Info("embedded NATS with JetStream", "client_url", q.ClientURL(), "store", c.Data+"/nats", "platform_credentials", q.PlatformCredentials())
	}

	guard := scope.New(st, 5*time.Second, log)
	if err := guard.Refresh(ctx); err != nil {
		return err
	}
	bg, cancelBG := context.WithCancel(ctx)
	defer cancelBG()
	go guard.Run(bg)
	// Ownership claims: the limits come from the configuration, proofs are
	// asked of the configured resolver, and pending claims are checked
	// again every 15 minutes.
	claims := scope.NewClaims(scope.ClaimsDeps{Store: st, Guard: guard, Logger: log,
		Prover: &proof.Checker{Resolver: c.Scanner.Resolver, Internal: c.InternalDeployment},
		Limits: asset.Limits{Internal: c.InternalDeployment, MaxIPv4Prefix: c.Claims.MaxIPv4Prefix, MaxIPv6Prefix: c.Claims.MaxIPv6Prefix}})
	go claims.Run(bg)
	go keepTrendWarm(bg, st, log)

	cats, err := loadCatalogs(c, log)
	if err != nil {
		return err
	}
	notifier, err := newNotifier(c, st, cats, log)
	if err != nil {
		return err
	}
	go notifier.Run(bg)
	// Finding events: the relay publishes what the store's outbox holds on
	// the queue; the notifier takes them on its durable consumer and keeps
	// its alert batches in the database.
	// Scan jobs go the same way: each job's publish message is written with
	// the job, and the scheduler wakes the relay.
	relay := events.NewRelay(st, q, events.RelayOptions{Logger: log})
	go relay.Run(bg)
	alerts, err := notifier.Consume(bg, q)
	if err != nil {
		return err
	}
	defer alerts.Stop()

	// Regions route work (F1): workers say they are alive in a bucket,
	// jobs go to a region of their asset's route with a live worker, and
	// queued jobs of a region without one say so.
	workers, err := scan.OpenWorkers(ctx, q, log)
	if err != nil {
		return err
	}
	go workers.Run(bg, st, 0)
	router, err := scan.NewRouter(workers, c.Region, "")
	if err != nil {
		return err
	}
	sched := scan.NewScheduler(st, q, guard, st, scan.SchedulerConfig{Region: c.Region, Router: router, Ports: c.Scanner.Ports, Logger: log, Wake: relay.Notify,
		// Polite by default: a target sees at most 500 connection attempts a
		// second from us, and one scan at most 5,000 in all.
		Defaults: scanjob.PortscanParams{Rate: 5000, PerHostRate: 500}})
	// The findings service is the one door for every source of findings
	// and for people's actions on them; the results ingester feeds it
	// scan results.
	expiry, _ := c.ExpiryDays()         // validated by load
	kindExpiry, _ := c.ExpiryKindDays() // validated by load
	svc := findings.New(findings.Deps{Store: st, Scheduler: sched, Scope: guard, Policy: finding.DefaultPolicy,
		PlatformCheck: platformCheck(cats.Checks), Expiry: expiry, KindExpiry: kindExpiry, Logger: log})
	go svc.Run(bg, 0)
	disc, err := startDiscovery(bg, st, guard, svc, sched, c, lab, log)
	if err != nil {
		return err
	}
	// Monitoring of internet resources: DNS, expiry, look-alikes, CT, BGP, exposure.
	if err := startMonitor(bg, st, svc, c, log); err != nil {
		return err
	}
	// The threat-intelligence hub: feeds on their interval, imports
	// through the queue, owners' disputes back to the feeds.
	if lab != nil {
		if err := startDemoFeed(ctx, st, lab, c.Data); err != nil {
			return err
		}
	}
	intelHub, stopIntel, err := startIntel(bg, st, svc, q, log)
	if err != nil {
		return err
	}
	defer stopIntel()
	ingester := scan.NewIngester(st, log)
	ingester.After = scan.FindingsHook(svc, checkIDs(cats.Checks))
	ing, err := ingester.Start(bg, q)
	if err != nil {
		return err
	}
	defer ing.Stop()
	// Sensors at members' gateways: their reports become early-warning
	// findings of their organization and go to the correlator, which
	// makes national decisions.
	_, stopSensors, err := startSensorIngest(bg, c, st, q, svc, guard, log)
	if err != nil {
		return err
	}
	defer stopSensors()
	if lab != nil && q.Embedded() {
		// Demo sensors at three members' gateways, attacked from one
		// address: detections within a minute, a national decision.
		stopDemoSensors, err := startDemoSensors(bg, c.Data, q.ClientURL(), lab, log)
		if err != nil {
			return err
		}
		defer stopDemoSensors()
	}

	if !*noScheduler {
		go sched.Run(bg)
	}
	// Jobs stuck in queued with no publish message (stored before the
	// outbox, or lost with a NATS store) are handed out again or failed.
	var reaper *scan.Reaper
	if sj, ok := st.(store.StaleJobs); ok {
		reaper = scan.NewReaper(sj, q, scan.ReaperConfig{RequeueAfter: *requeueAfter, FailAfter: *failQueuedAfter, Logger: log, Wake: relay.Notify})
		go reaper.Run(bg)
	}

	// The platform creates the buckets workers share: a worker's NATS
	// user may use them but not create them.
	baselines, err := platformBaselines(bg, q)
	if err != nil {
		return err
	}
	if !*noWorker {
		host, _ := os.Hostname()
		wopts.Baselines = baselines
		w, err := worker.Start(bg, q, jobRegistry(c, log, cats.Checks, wopts), worker.Config{Name: host + "/serve", Region: c.Region, Version: Version, Concurrency: workerConcurrency(*demo), Logger: log})
		if err != nil {
			return err
		}
		defer w.Stop()
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(ingestCollectors(ingester, st)...)
	if reaper != nil {
		reg.MustRegister(reaper.Collectors()...)
	}
	assessSvc := &assess.Service{Store: st, Frameworks: cats.Frameworks, Reminders: notifier}
	// One login throttle for both faces: a name and address locked out on
	// the API are locked out on the console too, and the other way round.
	throttle := auth.NewDefaultThrottle()
	// One gate for the imports of both faces (security review F10).
	importGate := transfer.NewGate(2)
	// TAXII 2.1 and the blocklists leave through the API's handler; one
	// blocklist cache for the API and the console (a review decided in
	// either rebuilds it).
	blocklists := intelweb.NewBlocklists(st, intelweb.BlocklistOptions{Logger: log})
	// The same lists as response policy zones over AXFR/IXFR, when the
	// configuration has an rpz: section.
	stopRPZ, err := startRPZ(bg, c, st, blocklists, reg, log)
	if err != nil {
		return err
	}
	defer stopRPZ()
	// Protective DNS: the intel snapshot `rampart dns` and `rampart
	// sensor` follow, and the resolvers' blocked-query reports become
	// findings of the asking organization.
	pdns, err := startProtectiveDNS(bg, st, svc, q, c, func(ctx context.Context) error { _, err := blocklists.List(ctx); return err }, log)
	if err != nil {
		return err
	}
	defer pdns.Stop()
	reg.MustRegister(pdns.Collectors()...)
	// National decisions: the analysts' service over the store, its
	// expiry sweeper; the API serves the CrowdSec bouncer endpoints
	// (/v1/) and the decisions' blocklists (/decisions/).
	decOpts, err := decision.OptionsFrom(c.Correlation)
	if err != nil {
		return err
	}
	var decisions *decision.Service
	if ds, ok := st.(decision.Store); ok {
		decisions = decision.NewService(ds, decOpts, nil, log)
		go decisions.Run(bg, 0)
	}
	srv := api.New(api.Deps{Decisions: decisions, Imports: importGate, Assess: assessSvc, Workers: workers, Store: st, Guard: guard, Claims: claims, Queue: q, Findings: svc, Logger: log, Registry: reg, Version: Version, Catalog: cats.Kinds,
		Throttle: throttle, MetricsPublic: c.MetricsPublic, Hub: intelHub, Blocklists: blocklists, PublicURL: c.PublicURL, Discovery: disc,
		ScannerInfo: api.ScannerInfo{Operator: operatorName(c), Contact: c.Scanner.Contact, UserAgent: c.ScannerUserAgent(Version)}})

	handler := srv.Handler()
	{
		console, err := web.New(web.Deps{Decisions: decisions, Imports: importGate, Store: st, Workers: workers, Dashboard: st, Guard: guard, Claims: claims, Findings: svc, Queue: q, Catalog: cats.Kinds, Assess: assessSvc, Throttle: throttle,
			Hub: intelHub, Blocklists: blocklists, Discovery: disc,
			Logger: log, Version: Version, SecureCookies: strings.HasPrefix(c.PublicURL, "https://")})
		if err != nil {
			return err
		}
		mux := http.NewServeMux()
		apiH := srv.Handler()
		for _, p := range []string{"/api/", "/healthz", "/readyz", "/metrics", "/scanner", "/taxii2/", "/taxii2", "/blocklists/", "/v1/", "/decisions/"} {
			mux.Handle(p, apiH)
		}
		mux.Handle("/", console.Handler())
		handler = mux
	}

	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Listen, err)
	}
	hs := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute, // imports can be large
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(env.Stdout, "Rampart is listening on http://%s (API under /api/v1)\n", ln.Addr())
	if *demo {
		fmt.Fprintf(env.Stdout, "Demo: open http://%s and log in as admin / %s — the lab is being scanned now; findings appear within a minute.\n", ln.Addr(), c.AdminPassword)
	}
	log.Info("listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	case <-ctx.Done():
		log.Info("shutting down")
	}
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	return nil
}

func runWorker(ctx context.Context, env *Env, args []string) error {
	if ok, err := workerAdmin(env, args); ok {
		return err
	}
	fs, f := flags(env, "worker", false)
	concurrency := fs.Int("concurrency", 4, "jobs to run at once")
	maxRate := fs.Int("rate", 0, "ceiling on connection attempts per second for this worker's scans (0: as each job asks)")
	ackWait := fs.Duration("ack-wait", 60*time.Second, "how long a job may go without a sign of life before another worker takes it")
	name := fs.String("name", "", "this worker's name in jobs, the console and GET /api/v1/workers (default: the host name and a short random suffix)")
	c, err := load(env, fs, f, args)
	if err != nil {
		return err
	}
	if c.NATS == "" {
		return fmt.Errorf("%w: worker needs --nats URL (or RAMPART_NATS): the NATS of the platform it works for", errUsage)
	}
	if r := credsRegion(c.NATSCreds); r != "" && r != c.Region {
		return fmt.Errorf("%w: --region %s: %w (%s): the platform lets this worker take %s's jobs only", errUsage, c.Region, errWrongRegion, r, r)
	}
	log := logger(env, c)
	q, err := openQueueAs(ctx, c, "rampart-worker-"+c.Region, true, log)
	if err != nil {
		return err
	}
	defer q.Close()
	if *name == "" {
		*name = defaultWorkerName()
	}
	cats, err := loadCatalogs(c, log)
	if err != nil {
		return err
	}
	baselines, err := platformBaselines(ctx, q)
	if err != nil {
		return err
	}
	w, err := worker.Start(ctx, q, jobRegistry(c, log, cats.Checks, workerOptions{MaxRate: *maxRate, Baselines: baselines}), worker.Config{Name: *name, Region: c.Region, Version: Version, Concurrency: *concurrency, AckWait: *ackWait, Logger: log})
	if err != nil {
		return err
	}
	log.Info("worker taking jobs", "name", *name, "region", c.Region, "nats", c.Redacted().NATS)
	<-ctx.Done()
	log.Info("worker stopping")
	w.Stop()
	return nil
}

func runMigrate(ctx context.Context, env *Env, args []string) error {
	fs, f := flags(env, "migrate", false)
	c, err := load(env, fs, f, args)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, c, logger(env, c))
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(env.Stdout, "database (%s) is up to date\n", st.Driver())
	return nil
}

func operatorName(c config.Config) string {
	if c.PublicURL != "" {
		return "Rampart (" + c.PublicURL + ")"
	}
	return "the national CERT's Rampart platform"
}

// keepTrendWarm keeps the dashboard's daily trend snapshot at start, a
// few seconds after every midnight in Hanoi (when a day ends) and every
// hour, so no page request pays for computing past days.
func keepTrendWarm(ctx context.Context, d store.Dashboard, log *slog.Logger) {
	for {
		start := time.Now()
		if err := d.SnapshotTrend(ctx, 90, start); err != nil && ctx.Err() == nil {
			log.Warn("dashboard trend snapshot", "err", err)
		} else {
			log.Debug("dashboard trend snapshot ready", "took", time.Since(start))
		}
		// Days end at midnight UTC+07:00 (Asia/Ho_Chi_Minh, no DST).
		next := time.Until(time.Now().Add(7 * time.Hour).Truncate(24 * time.Hour).Add(24*time.Hour - 7*time.Hour + 5*time.Second))
		t := time.NewTimer(min(next, time.Hour))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// workerConcurrency is how many jobs the in-process worker runs at once:
// the demo scans its whole lab at start, so it takes more at a time.
func workerConcurrency(demo bool) int {
	if demo {
		return 12
	}
	return 4
}
