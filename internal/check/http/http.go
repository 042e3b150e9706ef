// Package http is the HTTP check family: transport security (HTTPS
// redirect, HSTS), browser security headers, version disclosure, files
// and pages a web server should not hand out (.git, .env, backups,
// directory listings, admin login pages, Apache server-status and
// server-info, phpinfo), TRACE, CORS that trusts any origin with
// credentials, and CI, monitoring and administration consoles open
// without authentication.
//
// Every check applies to URL targets and to service targets fingerprinted
// as http/https (or TLS on a web port). Requests go through a site.Site:
// one client per target built from check.Env, responses cached so the
// checks share "GET /", and a soft-404 baseline that every path probe is
// compared against. See README.md for each check.
//
// The package imports the standard library, internal/check,
// internal/finding and its own site package.
package http

import (
	"context"
	"fmt"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/http/site"
	"github.com/rampart-cert/rampart/internal/finding"
)

// Family is the family name of these checks.
const Family = "http"

// Register adds the http checks to r. They share one site cache unless
// the scan's env carries one under site.ExtraKey.
func Register(r *check.Registry) error {
	return r.Register(Checks(site.NewCache())...)
}

// Checks returns the http checks using cache for their requests.
func Checks(cache *site.Cache) []check.Check {
	return []check.Check{
		newNoHTTPSRedirect(cache),
		newMissingHSTS(cache),
		newMissingSecurityHeaders(cache),
		newVersionDisclosure(cache),
		newExposedGit(cache),
		newExposedEnv(cache),
		newExposedBackup(cache),
		newDirectoryListing(cache),
		newExposedAdminPanel(cache),
		newApacheServerStatus(cache),
		newApacheServerInfo(cache),
		newPHPInfo(cache),
		newTraceEnabled(cache),
		newAdminConsole(cache),
		newCORSReflects(cache),
		newJSLibraries(cache),
	}
}

// webCheck is the shape shared by every check of the family: metadata, a
// target filter and a body that works on the target's Site.
type webCheck struct {
	meta    check.Meta
	cache   *site.Cache
	applies func(check.Target) bool
	run     func(ctx context.Context, c *webCheck, s *site.Site) ([]check.Result, error)
}

var _ check.Check = (*webCheck)(nil)

func (c *webCheck) Meta() check.Meta { return c.meta }

func (c *webCheck) Applies(t check.Target) bool { return c.applies(t) }

func (c *webCheck) Run(ctx context.Context, env *check.Env, t check.Target) ([]check.Result, error) {
	if !c.applies(t) {
		return nil, nil
	}
	s, err := site.FromEnv(env, c.cache).Site(env, t)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.meta.ID, err)
	}
	res, err := c.run(ctx, c, s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.meta.ID, err)
	}
	return res, nil
}

func (c *webCheck) result(subject, title string, ev check.Evidence) check.Result {
	return check.Result{Check: c.meta.ID, Severity: c.meta.Severity, Subject: subject, Title: title, Evidence: ev}
}

func meta(id string, sev finding.Severity, title, desc, fix check.Text, refs ...string) check.Meta {
	return check.Meta{ID: id, Family: Family, Severity: sev, Title: title, Description: desc, Remediation: fix, References: refs}
}

// pathOf returns the path of a probe's URL, for subjects.
func pathOf(r *site.Response) string {
	return urlPath(r.Chain()[0].URL)
}
