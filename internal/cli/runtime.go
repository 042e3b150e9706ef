package cli

import (
	"crypto/x509"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/assess"
	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/all"
	"github.com/rampart-cert/rampart/internal/check/dns"
	"github.com/rampart-cert/rampart/internal/check/vuln"
	"github.com/rampart-cert/rampart/internal/check/website"
	"github.com/rampart-cert/rampart/internal/config"
	"github.com/rampart-cert/rampart/internal/finding/catalog"
	"github.com/rampart-cert/rampart/internal/probe/fingerprint"
	"github.com/rampart-cert/rampart/internal/target"
	"github.com/rampart-cert/rampart/internal/vulndb"
	"github.com/rampart-cert/rampart/internal/worker"
)

// workerOptions are a worker's own settings beside the configuration.
type workerOptions struct {
	MaxRate int            // ceiling on probes per second (0: as jobs ask)
	Roots   *x509.CertPool // trusted CAs for TLS checks (nil: the system's)
	// AllowDNS, when set, approves name-server addresses the zone
	// transfer check may contact beyond each job's scope (the demo's lab
	// name server, which hosts every lab zone). Every job's own scope
	// applies in all modes: an address its organization owns, or one of
	// its approved hosting ranges (see internal/worker).
	AllowDNS func(netip.Addr) bool
	// Baselines keeps the defacement check's page baselines (see
	// platformBaselines); nil keeps them in this process's memory.
	Baselines website.Baselines
}

// jobRegistry builds the job handlers a worker runs: the built-in ping and
// portscan with every check family, the shipped templates and those in
// <data>/templates, and the vulnerability database in <data>/vulndb when
// present.
func jobRegistry(c config.Config, log *slog.Logger, checks *check.Registry, o workerOptions) *worker.Registry {
	reg := worker.NewRegistry()
	env := &check.Env{UserAgent: c.ScannerUserAgent(Version), Timeout: 5 * time.Second, Now: time.Now,
		Roots: o.Roots, Extra: map[string]any{website.ExtraKey: o.baselines(), "dns": dns.Options{AllowAddr: o.AllowDNS}}}
	var resolver target.Resolver = net.DefaultResolver
	env.Resolver = net.DefaultResolver
	if c.Scanner.Resolver != "" {
		r := target.NewResolver(c.Scanner.Resolver)
		resolver, env.Resolver, env.DNSServer = r, r, c.Scanner.Resolver
	}
	db, err := vulndb.Load(filepath.Join(c.Data, "vulndb"))
	if err != nil {
		log.Info("no vulnerability database loaded; vuln.known-cve finds nothing until `rampart vulndb import`", "err", err)
		db = vulndb.NewDB()
	}
	env.Extra[vuln.ExtraKey] = db
	w := &worker.PortscanWorker{Checks: checks, Prober: fingerprint.New(nil, fingerprint.Options{UserAgent: env.UserAgent, Dial: nil}),
		CheckEnv: env, Resolver: resolver, MaxRate: o.MaxRate, Internal: c.InternalDeployment}
	w.Register(reg)
	return reg
}

// templatesDir is where an operator drops check templates.
func templatesDir(c config.Config) string {
	return filepath.Join(c.Data, "templates")
}

// frameworksDir is where a national control framework is dropped beside
// the shipped baseline; "" when the directory does not exist.
func frameworksDir(c config.Config) string {
	dir := filepath.Join(c.Data, "frameworks")
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return ""
	}
	return dir
}

// catalogs are the check registry (built-in checks and templates), the
// finding catalog (every check's kind and those of the other sources) and
// the control frameworks, loaded once per process.
type catalogs struct {
	Checks     *check.Registry
	Kinds      *catalog.Catalog
	Frameworks *assess.Catalog
}

// loadCatalogs reads the shipped checks and templates with those in
// <data>/templates, and the baseline framework with those in
// <data>/frameworks. A broken template is logged and left out; a broken
// framework is an error.
func loadCatalogs(c config.Config, log *slog.Logger) (catalogs, error) {
	checks, errs := all.Registry(templatesDir(c))
	for _, e := range errs {
		log.Warn("template not loaded", "err", e)
	}
	fw, err := assess.NewCatalog(frameworksDir(c), checks.Catalog())
	if err != nil {
		return catalogs{}, err
	}
	return catalogs{Checks: checks, Kinds: checks.Catalog(), Frameworks: fw}, nil
}

// checkIDs lists every check ID of a registry.
func checkIDs(r *check.Registry) []string {
	var ids []string
	for _, ch := range r.All() {
		ids = append(ids, ch.Meta().ID)
	}
	return ids
}

// platformCheck reports whether a platform check looks for what an
// imported result reports: a check whose ID ends in the tool's rule ID
// ("template.cve-2021-41773" for Nuclei's "CVE-2021-41773"), or any CVE
// when the known-vulnerable-version check runs. Such an import asks for a
// verification scan of its asset.
func platformCheck(r *check.Registry) func(rule string, cves []string) bool {
	ids := map[string]bool{}
	for _, ch := range r.All() {
		id := ch.Meta().ID
		ids[id] = true
		if _, name, ok := strings.Cut(id, "."); ok {
			ids["."+name] = true
		}
	}
	return func(rule string, cves []string) bool {
		rule = strings.ToLower(strings.TrimSpace(rule))
		if rule != "" && (ids[rule] || ids["."+rule]) {
			return true
		}
		return len(cves) > 0 && ids["vuln.known-cve"]
	}
}
