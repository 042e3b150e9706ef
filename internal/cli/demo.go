package cli

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/netip"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/config"
	demolab "github.com/rampart-cert/rampart/internal/lab"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/transfer"
)

// demoPassword is the admin password of `serve --demo` when
// RAMPART_ADMIN_PASSWORD is not set. It is printed; a demo is not a
// deployment.
const demoPassword = "rampart-demo-2026"

// startDemo starts the lab, imports its constituency (idempotent: a second
// demo start on the same data changes nothing) and points the scanner at
// the lab's DNS and CA.
func startDemo(ctx context.Context, st store.Store, c *config.Config, wo *workerOptions, base netip.Addr, log *slog.Logger) (*demolab.Lab, error) {
	l, err := demolab.Start(ctx, demolab.Options{Base: base, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("demo lab: %w", err)
	}
	orgs, assets := l.Constituency()
	orgRows, err := transfer.ReadOrgs(bytes.NewReader(orgs), transfer.JSON)
	if err == nil {
		_, err = st.ImportOrgs(ctx, auth.SystemPrincipal, orgRows)
	}
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("demo constituency: %w", err)
	}
	assetRows, err := transfer.ReadAssets(bytes.NewReader(assets), transfer.JSON, "")
	if err == nil {
		_, err = st.ImportAssets(ctx, auth.SystemPrincipal, assetRows)
	}
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("demo assets: %w", err)
	}
	c.Scanner.Resolver = l.DNSAddr()
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	pool.AppendCertsFromPEM(l.CAPEM())
	wo.Roots = pool
	// The lab's name server (owned by BTTTT-DEMO) hosts every lab zone,
	// as a national DNS provider would: the demo approves it for zone
	// transfers of other organizations' zones, and nothing else beyond
	// each job's own scope (security F6).
	if ap, err := netip.ParseAddrPort(l.DNSAddr()); err == nil {
		ns := ap.Addr()
		wo.AllowDNS = func(a netip.Addr) bool { return a.Unmap() == ns }
	}
	log.Info("demo lab started", "hosts", len(l.Hosts()), "dns", l.DNSAddr())
	return l, nil
}
