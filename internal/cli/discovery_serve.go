package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/rampart-cert/rampart/internal/config"
	"github.com/rampart-cert/rampart/internal/discovery"
	"github.com/rampart-cert/rampart/internal/discovery/ct"
	"github.com/rampart-cert/rampart/internal/discovery/dnsdisc"
	"github.com/rampart-cert/rampart/internal/discovery/routing"
	demolab "github.com/rampart-cert/rampart/internal/lab"
	"github.com/rampart-cert/rampart/internal/scope"
	"github.com/rampart-cert/rampart/internal/store"
)

// demoLab is the demo lab, as serve holds it.
type demoLab = demolab.Lab

// startDiscovery runs discovery jobs in this process (the control plane:
// see internal/discovery/jobs.go) until ctx ends, as the discovery:
// section of the configuration says (discoveryConfig). Analysts' sweeps
// get their scan jobs from sweeper (the scheduler). With the demo lab,
// its CT log is followed too and a run over the whole constituency is
// queued at start and daily (unless the file sets an interval), so the
// console shows the lab's unregistered names waiting for their owners.
func startDiscovery(ctx context.Context, st store.Store, guard *scope.Guard, rec discovery.Recorder, sweeper discovery.Sweeper, c config.Config, lab *demolab.Lab, log *slog.Logger) (*discovery.Service, error) {
	cfg, err := discoveryConfig(c, Version)
	if err != nil {
		return nil, err
	}
	if lab != nil {
		cfg.CTLogURLs = append(cfg.CTLogURLs, discovery.CTLogConfig{URL: lab.CTLogURL(), Key: lab.CTLogKey()})
		cfg.Dial = lab.Dial
		if cfg.Every == 0 {
			cfg.Every = 24 * time.Hour
		}
	}
	svc := discovery.NewService(discovery.ServiceDeps{Store: st, Scope: guard, Findings: rec, Sweeper: sweeper, Invalidate: guard.Invalidate, Config: cfg, Logger: log})
	go svc.Loop(ctx)
	return svc, nil
}

// discoveryConfig turns the discovery: section (validated by config) into
// the service's configuration: the sources, the resolver (the section's,
// else the scanner's, else the system's) with its rate, the CT logs (listed
// and from a log list file), the CT directory, the routing files (read at
// each run) and the interval of the national run.
func discoveryConfig(c config.Config, version string) (discovery.Config, error) {
	d := config.DiscoveryConfig{}
	if c.Discovery != nil {
		d = *c.Discovery
	}
	names := d.Sources
	if len(names) == 0 {
		names = config.DefaultDiscoverySources()
	}
	srcs, err := discovery.ParseSources(strings.Join(names, ","))
	if err != nil {
		return discovery.Config{}, err
	}
	cfg := discovery.Config{Options: discovery.Options{Sources: srcs, UserAgent: c.ScannerUserAgent(version)},
		CTLimit: uint64(d.CTLimit), CTDir: d.CTDir, Every: d.Interval}
	resolver := d.Resolver
	if resolver == "" {
		resolver = c.Scanner.Resolver
	}
	if resolver == "" {
		if cc, err := mdns.ClientConfigFromFile("/etc/resolv.conf"); err == nil && len(cc.Servers) > 0 {
			resolver = net.JoinHostPort(cc.Servers[0], cc.Port)
		}
	}
	if resolver != "" {
		rate := d.Rate
		if rate <= 0 {
			rate = 200
		}
		cfg.Resolver = &dnsdisc.Resolver{Server: resolver, Limiter: dnsdisc.NewLimiter(rate, max(1, int(rate/10)))}
	}
	for _, l := range d.CTLogs {
		cfg.CTLogURLs = append(cfg.CTLogURLs, discovery.CTLogConfig{URL: l.URL, Key: l.Key})
	}
	if d.CTLogList != "" {
		logs, err := readLogList(d.CTLogList)
		if err != nil {
			return discovery.Config{}, err
		}
		cfg.CTLogURLs = append(cfg.CTLogURLs, logs...)
	}
	if len(d.Routing) > 0 {
		files := d.Routing
		cfg.LoadRouting = func(context.Context) (*routing.Table, error) {
			t := routing.NewTable()
			for _, p := range files {
				if err := loadRouting(p, t); err != nil {
					return nil, err
				}
			}
			return t, nil
		}
	}
	return cfg, nil
}

// readLogList reads a v3 log list file: the logs that still serve entries
// (usable, qualified, read-only), with their keys.
func readLogList(path string) ([]discovery.CTLogConfig, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("discovery: ct_log_list: %w", err)
	}
	defer f.Close()
	logs, err := ct.ParseLogList(f)
	if err != nil {
		return nil, fmt.Errorf("discovery: ct_log_list %s: %w", path, err)
	}
	var out []discovery.CTLogConfig
	for _, l := range logs {
		switch l.State {
		case "usable", "qualified", "readonly", "":
			out = append(out, discovery.CTLogConfig{URL: l.URL, Key: l.Key})
		}
	}
	return out, nil
}
