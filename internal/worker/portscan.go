package worker

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/dns"
	"github.com/rampart-cert/rampart/internal/check/mail"
	"github.com/rampart-cert/rampart/internal/check/svc"
	"github.com/rampart-cert/rampart/internal/engine"
	"github.com/rampart-cert/rampart/internal/probe/fingerprint"
	"github.com/rampart-cert/rampart/internal/probe/portscan"
	"github.com/rampart-cert/rampart/internal/probe/udpscan"
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
	// Internal lets addresses reached through names be private or
	// special-purpose even when a job does not say so (a worker of an
	// internal deployment).
	Internal bool
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
	p.AllowInternal = p.AllowInternal || w.Internal
	g, err := newJobGuard(j, p)
	if err != nil {
		return nil, Permanent(err)
	}
	cfg := engine.Config{
		Ports:    ports,
		Scan:     portscan.Config{Rate: p.Rate, PerHostRate: p.PerHostRate, Concurrency: p.Concurrency, Retries: p.Retries},
		Prober:   w.Prober,
		CheckEnv: jobEnv(w.CheckEnv, g, p.Credentials),
		Resolver: w.Resolver,
		Allow:    g.allow,
		Names:    []string{},
		URLs:     []string{},
		// The organization's other names, checked on the scanned
		// addresses they resolve to (the guard admits each as a name).
		VirtualHosts: slices.Clone(p.VirtualHosts),
	}
	if p.TimeoutMS > 0 {
		cfg.Scan.Timeout = time.Duration(p.TimeoutMS) * time.Millisecond
	}
	if w.MaxRate > 0 && (cfg.Scan.Rate == 0 || cfg.Scan.Rate > w.MaxRate) {
		cfg.Scan.Rate = w.MaxRate
	}
	if p.UDP {
		cfg.UDPPorts = udpscan.DefaultPorts
		if p.UDPPorts != "" {
			if cfg.UDPPorts, err = target.ParsePorts(p.UDPPorts); err != nil {
				return nil, Permanent(fmt.Errorf("worker: job %s: udp ports: %w", j.ID, err))
			}
		}
		cfg.UDPScan = udpscan.Config{Rate: min(cmp.Or(cfg.Scan.Rate, defaultUDPRate), defaultUDPRate), PerHostRate: p.PerHostRate}
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
	sink := &jobSink{vhosts: g.vhosts}
	sum, err := engine.Run(ctx, []string{j.Target}, cfg, sink)
	if err != nil {
		// Cancelled (shutdown) or broken: let the job come back.
		return nil, fmt.Errorf("worker: job %s: %w", j.ID, err)
	}
	res := sink.result(p.Ports, sum)
	if p.UDP {
		res.UDPPorts = portSpec(cfg.UDPPorts)
	}
	return json.Marshal(res)
}

// jobEnv is the worker's check environment for one job: the checks that
// connect to addresses they found themselves (dns.zone-transfer to name
// servers, the mail check) ask the job's scope first, in every mode. A
// filter the worker was configured with (workerOptions.AllowDNS: name
// servers the deployment approves, such as the demo lab's) admits an
// address as well.
func jobEnv(base *check.Env, g *jobGuard, credentials bool) *check.Env {
	env := &check.Env{}
	if base != nil {
		*env = *base
	}
	env.Extra = make(map[string]any, len(env.Extra)+2)
	if base != nil {
		maps.Copy(env.Extra, base.Extra)
	}
	var dopts dns.Options
	switch o := env.Extra[dns.Family].(type) {
	case dns.Options:
		dopts = o
	case *dns.Options:
		if o != nil {
			dopts = *o
		}
	}
	approved := dopts.AllowAddr
	dopts.AllowAddr = func(a netip.Addr) bool { return g.allowAddr(a) || (approved != nil && approved(a)) }
	env.Extra[dns.Family] = dopts
	env.Extra[mail.Family] = mail.Options{AllowAddr: g.allowAddr}
	env.Extra[svc.Family] = svc.Options{Credentials: credentials} // only when the job says the scan policy opts in
	return env
}

// jobScope returns the scope guard of a job (the engine's Allow); see
// newJobGuard for the rules.
func jobScope(j scanjob.Job, p scanjob.PortscanParams) (func(target.Target) error, error) {
	g, err := newJobGuard(j, p)
	if err != nil {
		return nil, err
	}
	return g.allow, nil
}

// jobGuard is the scope of one job, built from what travels with it (the
// worker asks no database). The rules (security F4, F6):
//
//   - nothing the organization excluded is touched, by address or name;
//   - an address the job's own ipv4, ipv6 or cidr asset covers (or a URL
//     asset's literal host) is in scope;
//   - a name is in scope when the job's asset covers it (a domain covers
//     its subdomains; a URL asset its own host), or when it is one of the
//     job's VirtualHosts (names the organization registered and verified,
//     which the scheduler puts in the jobs of its addresses);
//   - an address reached through a name (the asset's name resolved, a
//     name server of its zone, a mail host) is in scope only when it is
//     in the job's AllowedAddrs, the organization's own verified address
//     assets and its approved hosting ranges (strict: a name's DNS alone
//     never puts an address in scope), and, unless the job allows
//     internal addresses, it is not private, loopback, link-local,
//     multicast, unspecified or otherwise special-purpose.
type jobGuard struct {
	job      string
	value    string
	ix       *asset.Index // the job's own asset (not a URL)
	urlHost  string       // a URL asset's host
	ex       *asset.Index // the organization's exclusions
	allowed  []netip.Prefix
	internal bool
	vhosts   map[string]bool // the job's VirtualHosts, lower case
}

// newJobGuard builds the guard of job j with params p.
func newJobGuard(j scanjob.Job, p scanjob.PortscanParams) (*jobGuard, error) {
	g := &jobGuard{job: j.ID, value: p.AssetValue, internal: p.AllowInternal, vhosts: map[string]bool{}}
	for _, n := range p.VirtualHosts {
		if n = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(n)), "."); n != "" {
			g.vhosts[n] = true
		}
	}
	b := asset.NewBuilder()
	entry := asset.Entry{AssetID: max(j.AssetID, 1), OrgID: max(j.OrgID, 1), Kind: p.AssetKind, Value: p.AssetValue}
	if p.AssetKind == asset.KindURL {
		g.urlHost = scanjob.TargetOf(asset.Asset{Kind: asset.KindURL, Value: p.AssetValue})
	} else if err := b.Add(entry); err != nil {
		return nil, fmt.Errorf("worker: job %s: asset: %w", j.ID, err)
	}
	g.ix = b.Build()
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
	g.ex = ex.Build()
	for _, v := range p.AllowedAddrs {
		if pr, err := netip.ParsePrefix(v); err == nil {
			g.allowed = append(g.allowed, pr.Masked())
		} else if a, err := netip.ParseAddr(v); err == nil {
			a = a.Unmap()
			g.allowed = append(g.allowed, netip.PrefixFrom(a, a.BitLen()))
		}
		// A value that does not parse allows nothing.
	}
	return g, nil
}

// allow is the engine's Allow: t.Addr is zero when only the name is asked
// (before the domain or URL checks of a name run).
func (g *jobGuard) allow(t target.Target) error {
	if t.Addr.IsValid() {
		if _, ok := g.ex.LookupAddr(t.Addr); ok {
			return fmt.Errorf("%w: %s is excluded by its owner", engine.ErrOutOfScope, t.Addr)
		}
		if g.direct(t.Addr) {
			return nil
		}
	}
	if t.Name == "" {
		return fmt.Errorf("%w: %s is not covered by asset %s", engine.ErrOutOfScope, t.Addr, g.value)
	}
	if _, ok := g.ex.LookupName(t.Name); ok {
		return fmt.Errorf("%w: %s is excluded by its owner", engine.ErrOutOfScope, t.Name)
	}
	if _, ok := g.ix.LookupName(t.Name); !ok && (g.urlHost == "" || !strings.EqualFold(t.Name, g.urlHost)) && !g.vhost(t.Name) {
		return fmt.Errorf("%w: %s is not covered by asset %s", engine.ErrOutOfScope, t.Name, g.value)
	}
	if !t.Addr.IsValid() {
		return nil
	}
	if err := g.reachable(t.Addr); err != nil {
		return fmt.Errorf("%s (through %s): %w", t.Addr, t.Name, err)
	}
	return nil
}

// vhost reports whether name is one of the job's virtual hosts.
func (g *jobGuard) vhost(name string) bool {
	return g.vhosts[strings.TrimSuffix(strings.ToLower(name), ".")]
}

// direct reports whether the job's own asset covers address a.
func (g *jobGuard) direct(a netip.Addr) bool {
	if _, ok := g.ix.LookupAddr(a); ok {
		return true
	}
	return g.urlHost != "" && a.String() == g.urlHost
}

// reachable says whether an address found through DNS (a resolved name,
// a name server, a mail host) may be contacted.
func (g *jobGuard) reachable(a netip.Addr) error {
	a = a.Unmap()
	if _, ok := g.ex.LookupAddr(a); ok {
		return fmt.Errorf("%w: %s is excluded by its owner", engine.ErrOutOfScope, a)
	}
	if g.direct(a) {
		return nil
	}
	if !g.internal && special(a) {
		return fmt.Errorf("%w: %s is a private or special-purpose address and the job allows none", engine.ErrOutOfScope, a)
	}
	for _, p := range g.allowed {
		if p.Contains(a) {
			return nil
		}
	}
	return fmt.Errorf("%w: %s is not among the organization's addresses", engine.ErrOutOfScope, a)
}

// allowAddr is reachable as a filter, for the checks that connect to
// addresses they found themselves (zone transfer, mail).
func (g *jobGuard) allowAddr(a netip.Addr) bool { return g.reachable(a) == nil }

// specialRanges are the special-purpose ranges (RFC 6890 and friends) the
// standard library's predicates do not name.
var specialRanges = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("100::/64"),
}

// special reports whether a is an address no public service lives on:
// private, loopback, link-local, multicast, unspecified, shared (CGNAT),
// benchmarking or reserved. Documentation ranges are left to the allow
// list (nothing answers there).
func special(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsGlobalUnicast() || a.IsPrivate() {
		return true
	}
	for _, p := range specialRanges {
		if p.Contains(a) {
			return true
		}
	}
	return false
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
	vhosts   map[string]bool // the job's virtual hosts (see Finding)
	mu       sync.Mutex
	open     []scanjob.OpenPort
	findings []scanjob.FindingOut
	covered  []scanjob.CoverageOut
}

// defaultUDPRate caps a job's UDP probes per second (retries included).
const defaultUDPRate = 5000

func (s *jobSink) Port(p engine.Port) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.Proto == check.ProtoUDP {
		// An observation too, proto "udp"; the ingester closes it when a
		// later UDP scan of the job's UDP ports no longer hears it.
		s.open = append(s.open, scanjob.OpenPort{IP: p.IP.String(), Port: int(p.Port), Proto: check.ProtoUDP, Host: p.Host,
			Service: p.Service.Service, Product: p.Service.Product, Version: p.Service.Version, CPE: p.Service.CPE,
			Banner: p.Service.Banner})
		return
	}
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
		Host: t.Host, IP: ipOf(t), Subject: s.subject(t, r.Subject), Title: r.Title, Evidence: scanjob.Evidence(r.Evidence), CVE: r.CVE, KEV: r.KEV})
}

// subject is a result's subject in its finding's key. A service's target
// is its "ip:port" whatever name it was checked under, so the result of a
// web check run under one of the job's virtual hosts carries that name in
// its subject: two names on one address with the same problem are two
// findings, and the address's coverage (its "ip:port") still closes both.
func (s *jobSink) subject(t check.Target, subject string) string {
	if t.Kind != check.TargetService || t.Host == "" || !s.vhosts[strings.ToLower(t.Host)] {
		return subject
	}
	h := strings.ToLower(t.Host)
	if subject == "" {
		return h
	}
	return h + " " + subject
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
		if t.Proto == check.ProtoUDP {
			return t.Addr.String() + "/udp"
		}
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
		if s.open[i].Port != s.open[j].Port {
			return s.open[i].Port < s.open[j].Port
		}
		return s.open[i].Proto < s.open[j].Proto
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
	res.Unreachable = len(res.Hosts) == 0 && len(s.covered) == 0 && len(s.open) == 0
	return res
}

// portSpec writes ports as a spec ParsePorts reads back ("53,69,123").
func portSpec(ports []uint16) string {
	var b strings.Builder
	for i, p := range ports {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(p)))
	}
	return b.String()
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
