package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/engine"
	"github.com/rampart-cert/rampart/internal/probe/fingerprint"
	"github.com/rampart-cert/rampart/internal/probe/portscan"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
	"github.com/rampart-cert/rampart/internal/target"
)

// PortscanWorker runs portscan jobs on a worker. Every probe is checked
// against the job's own asset and exclusions, so a worker needs no
// database to stay in scope.
type PortscanWorker struct {
	Checks   *check.Registry
	Prober   *fingerprint.Prober
	CheckEnv *check.Env
	Resolver target.Resolver
	// Limits applied on top of a job's params (a worker's own ceiling).
	MaxRate int
}

// Register adds the portscan job type to a registry.
func (w *PortscanWorker) Register(r *Registry) { r.Register(scanjob.JobPortscan, w.Handle) }

// Handle runs one portscan job.
func (w *PortscanWorker) Handle(ctx context.Context, j scanjob.Job) (json.RawMessage, error) {
	var p scanjob.PortscanParams
	if err := json.Unmarshal(j.Params, &p); err != nil {
		return nil, Permanent(fmt.Errorf("worker: job %s: bad params: %w", j.ID, err))
	}
	ports, err := target.ParsePorts(p.Ports)
	if err != nil {
		return nil, Permanent(fmt.Errorf("worker: job %s: ports: %w", j.ID, err))
	}
	allow, err := jobScope(j, p)
	if err != nil {
		return nil, Permanent(err)
	}
	cfg := engine.Config{
		Ports:    ports,
		Scan:     portscan.Config{Rate: p.Rate, PerHostRate: p.PerHostRate, Concurrency: p.Concurrency, Retries: p.Retries},
		Prober:   w.Prober,
		CheckEnv: w.CheckEnv,
		Resolver: w.Resolver,
		Allow:    allow,
		Names:    []string{},
		URLs:     []string{},
	}
	if p.TimeoutMS > 0 {
		cfg.Scan.Timeout = time.Duration(p.TimeoutMS) * time.Millisecond
	}
	if w.MaxRate > 0 && (cfg.Scan.Rate == 0 || cfg.Scan.Rate > w.MaxRate) {
		cfg.Scan.Rate = w.MaxRate
	}
	switch p.AssetKind {
	case asset.KindDomain, asset.KindMailDomain:
		cfg.Names = []string{p.AssetValue}
	case asset.KindHostname:
		// A host name is not a zone or a mail domain: only whether its
		// name dangles is asked.
		cfg.Names = []string{p.AssetValue}
		cfg.DomainCheck = func(c check.Check) bool { return c.Meta().ID == "dns.dangling-cname" }
	case asset.KindURL:
		cfg.URLs = []string{p.AssetValue}
	}
	if w.Checks != nil {
		cfg.Checks = w.Checks.Select(p.Checks)
	}
	sink := &jobSink{}
	sum, err := engine.Run(ctx, []string{j.Target}, cfg, sink)
	if err != nil {
		// Cancelled (shutdown) or broken: let the job come back.
		return nil, fmt.Errorf("worker: job %s: %w", j.ID, err)
	}
	res := sink.result(p.Ports, sum)
	return json.Marshal(res)
}

// jobScope allows exactly what the job's asset covers, minus exclusions.
func jobScope(j scanjob.Job, p scanjob.PortscanParams) (func(target.Target) error, error) {
	b := asset.NewBuilder()
	entry := asset.Entry{AssetID: max(j.AssetID, 1), OrgID: max(j.OrgID, 1), Kind: p.AssetKind, Value: p.AssetValue}
	urlHost := ""
	if p.AssetKind == asset.KindURL {
		urlHost = scanjob.TargetOf(asset.Asset{Kind: asset.KindURL, Value: p.AssetValue})
	} else if err := b.Add(entry); err != nil {
		return nil, fmt.Errorf("worker: job %s: asset: %w", j.ID, err)
	}
	ix := b.Build()
	ex := asset.NewBuilder()
	for i, e := range p.Exclusions {
		kind := exclusionKind(e)
		v, err := asset.Normalize(kind, e)
		if err != nil {
			continue
		}
		if kind == asset.KindHostname {
			kind = asset.KindDomain // an excluded name excludes its subdomains
		}
		_ = ex.Add(asset.Entry{AssetID: int64(i + 1), OrgID: 1, Kind: kind, Value: v})
	}
	exIx := ex.Build()
	return func(t target.Target) error {
		if _, ok := exIx.LookupAddr(t.Addr); ok {
			return fmt.Errorf("%w: %s is excluded by its owner", engine.ErrOutOfScope, t.Addr)
		}
		if t.Name != "" {
			if _, ok := exIx.LookupName(t.Name); ok {
				return fmt.Errorf("%w: %s is excluded by its owner", engine.ErrOutOfScope, t.Name)
			}
			if _, ok := ix.LookupName(t.Name); ok || (urlHost != "" && strings.EqualFold(t.Name, urlHost)) {
				return nil
			}
		}
		if _, ok := ix.LookupAddr(t.Addr); ok {
			return nil
		}
		if urlHost != "" && t.Addr.String() == urlHost {
			return nil
		}
		return fmt.Errorf("%w: %s is not covered by asset %s", engine.ErrOutOfScope, t.Addr, p.AssetValue)
	}, nil
}

// exclusionKind guesses the asset kind of an exclusion entry.
func exclusionKind(e string) asset.Kind {
	switch {
	case strings.Contains(e, "/"):
		return asset.KindCIDR
	case strings.Contains(e, ":"):
		return asset.KindIPv6
	}
	if _, err := netip.ParseAddr(e); err == nil {
		return asset.KindIPv4
	}
	return asset.KindHostname
}

// jobSink collects a job's results.
type jobSink struct {
	mu       sync.Mutex
	open     []scanjob.OpenPort
	findings []scanjob.FindingOut
	covered  []scanjob.CoverageOut
}

func (s *jobSink) Port(p engine.Port) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.open = append(s.open, scanjob.OpenPort{IP: p.IP.String(), Port: int(p.Port), Host: p.Host, Service: p.Service.Service,
		Product: p.Service.Product, Version: p.Service.Version, CPE: p.Service.CPE, TLS: p.Service.TLS, Banner: p.Service.Banner,
		Cert: certSummary(p.Service.Extra)})
}

func ipOf(t check.Target) string {
	if t.Kind == check.TargetService {
		return t.Addr.Addr().String()
	}
	return ""
}

func (s *jobSink) Finding(t check.Target, r check.Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fam, _, _ := strings.Cut(r.Check, ".")
	s.findings = append(s.findings, scanjob.FindingOut{Check: r.Check, Family: fam, Severity: string(r.Severity), Target: FindingTarget(t),
		Host: t.Host, IP: ipOf(t), Subject: r.Subject, Title: r.Title, Evidence: scanjob.Evidence(r.Evidence), CVE: r.CVE, KEV: r.KEV})
}

func (s *jobSink) Covered(t check.Target, checks []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.covered = append(s.covered, scanjob.CoverageOut{Target: FindingTarget(t), IP: ipOf(t), Checks: checks})
}

func (s *jobSink) Problem(string, error) {}

// FindingTarget is the stable text of a check target for finding keys:
// "ip:port" for services (the name may resolve elsewhere tomorrow), the
// name for domains, the URL for web applications.
func FindingTarget(t check.Target) string {
	switch t.Kind {
	case check.TargetService:
		return t.Addr.String()
	case check.TargetDomain:
		return t.Host
	}
	return t.URL
}

func (s *jobSink) result(ports string, sum engine.Summary) scanjob.PortscanResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	sort.Slice(s.open, func(i, j int) bool {
		if s.open[i].IP != s.open[j].IP {
			return s.open[i].IP < s.open[j].IP
		}
		return s.open[i].Port < s.open[j].Port
	})
	res := scanjob.PortscanResult{Ports: ports, Open: s.open, Findings: s.findings, Covered: s.covered,
		Stats: scanjob.ScanStats{Hosts: sum.Hosts, Probed: sum.Probed, Open: sum.Open, ElapsedMS: sum.Elapsed.Milliseconds(), Rate: sum.Rate}}
	for _, a := range sum.Reached {
		res.Hosts = append(res.Hosts, a.String())
	}
	// A single host that refused connections (RST) answered too, so its
	// ports that stopped listening can be marked closed. With several
	// hosts the scanner's totals do not say which one answered.
	if len(res.Hosts) == 0 && sum.Hosts == 1 && sum.Closed > 0 && len(sum.Targets) == 1 {
		res.Hosts = append(res.Hosts, sum.Targets[0].String())
	}
	res.Unreachable = len(res.Hosts) == 0 && len(s.covered) == 0
	return res
}

// certSummary keeps the certificate and TLS details a fingerprint saw
// ("tls.cert.subject", "tls.version", ...) as a JSON object for the
// observation; nil when there are none.
func certSummary(extra map[string]string) json.RawMessage {
	m := map[string]string{}
	for k, v := range extra {
		if strings.HasPrefix(k, "tls.") {
			m[strings.TrimPrefix(k, "tls.")] = v
		}
	}
	if len(m) == 0 {
		return nil
	}
	b, _ := json.Marshal(m)
	return b
}
