package cli

import (
	"log/slog"
	"net"
	"path/filepath"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/all"
	"github.com/rampart-cert/rampart/internal/check/vuln"
	"github.com/rampart-cert/rampart/internal/check/web"
	"github.com/rampart-cert/rampart/internal/config"
	"github.com/rampart-cert/rampart/internal/probe/fingerprint"
	"github.com/rampart-cert/rampart/internal/scan"
	"github.com/rampart-cert/rampart/internal/vulndb"
)

// jobRegistry builds the job handlers a worker runs: the built-in ping and
// portscan with every check family, the templates in <data>/templates and
// the vulnerability database in <data>/vulndb when present.
func jobRegistry(c config.Config, log *slog.Logger, maxRate int) *scan.Registry {
	reg := scan.NewRegistry()
	checks, errs := all.Registry(templatesDir(c))
	for _, e := range errs {
		log.Warn("template not loaded", "err", e)
	}
	env := &check.Env{UserAgent: c.ScannerUserAgent(Version), Timeout: 5 * time.Second, Now: time.Now,
		Resolver: net.DefaultResolver, Extra: map[string]any{web.ExtraKey: web.NewMemoryBaselines()}}
	db, err := vulndb.Load(filepath.Join(c.Data, "vulndb"))
	if err != nil {
		log.Info("no vulnerability database loaded; vuln.known-cve finds nothing until `rampart vulndb import`", "err", err)
		db = vulndb.NewDB()
	}
	env.Extra[vuln.ExtraKey] = db
	w := &scan.PortscanWorker{Checks: checks, Prober: fingerprint.New(nil, fingerprint.Options{UserAgent: env.UserAgent}),
		CheckEnv: env, Resolver: net.DefaultResolver, MaxRate: maxRate}
	w.Register(reg)
	return reg
}

// templatesDir is where an operator drops check templates.
func templatesDir(c config.Config) string {
	return filepath.Join(c.Data, "templates")
}
