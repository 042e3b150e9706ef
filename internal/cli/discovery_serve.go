package cli

import (
	"context"
	"log/slog"
	"time"

	"github.com/rampart-cert/rampart/internal/config"
	"github.com/rampart-cert/rampart/internal/discovery"
	"github.com/rampart-cert/rampart/internal/discovery/dnsdisc"
	demolab "github.com/rampart-cert/rampart/internal/lab"
	"github.com/rampart-cert/rampart/internal/scope"
	"github.com/rampart-cert/rampart/internal/store"
)

// demoLab is the demo lab, as serve holds it.
type demoLab = demolab.Lab

// startDiscovery runs discovery jobs in this process (the control plane:
// see internal/discovery/jobs.go) until ctx ends. Queries go to the
// scanner's resolver. With the demo lab, its CT log is followed and a run
// over the whole constituency is queued at start and daily, so the
// console shows the lab's unregistered names waiting for their owners.
func startDiscovery(ctx context.Context, st store.Store, guard *scope.Guard, rec discovery.Recorder, c config.Config, lab *demolab.Lab, log *slog.Logger) *discovery.Service {
	cfg := discovery.Config{Options: discovery.Options{
		Sources:   []discovery.Source{discovery.SourceCT, discovery.SourceAXFR, discovery.SourceWordlist, discovery.SourceNSEC, discovery.SourceCerts, discovery.SourceRouting},
		UserAgent: c.ScannerUserAgent(Version),
	}}
	if c.Scanner.Resolver != "" {
		cfg.Resolver = &dnsdisc.Resolver{Server: c.Scanner.Resolver, Limiter: dnsdisc.NewLimiter(200, 20)}
	}
	if lab != nil {
		cfg.CTLogURLs = []discovery.CTLogConfig{{URL: lab.CTLogURL(), Key: lab.CTLogKey()}}
		cfg.Dial = lab.Dial
		cfg.Every = 24 * time.Hour
	}
	svc := discovery.NewService(discovery.ServiceDeps{Store: st, Scope: guard, Findings: rec, Invalidate: guard.Invalidate, Config: cfg, Logger: log})
	go svc.Loop(ctx)
	return svc
}
