package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"

	"github.com/rampart-cert/rampart/internal/config"
	"github.com/rampart-cert/rampart/internal/notify"
	"github.com/rampart-cert/rampart/internal/report"
	"github.com/rampart-cert/rampart/internal/store"
)

// newNotifier builds the notifier from the mail settings. Without --smtp
// e-mail deliveries are still recorded, and fail visibly in the delivery
// log until a mail server is configured; webhooks work regardless.
func newNotifier(c config.Config, st store.Store, cats catalogs, log *slog.Logger) (*notify.Notifier, error) {
	o := notify.Options{Logger: log, ConsoleURL: c.PublicURL, HTTPClient: webhookClient()}
	if w := c.AlertWindowDuration(); w > 0 {
		o.AlertWindow = w
		// Alerts go out on the notifier's tick: a short window needs
		// ticks to match.
		o.Tick = min(30*time.Second, max(w/2, 100*time.Millisecond))
	}
	// Weekly digests (and Monday's daily one) carry the organization's
	// report as a PDF.
	o.Reports = notify.ReportPDFs(st, report.WithCatalog(cats.Kinds), report.WithFrameworks(cats.Frameworks))
	if c.SMTP != "" {
		so, err := notify.ParseSMTPURL(c.SMTP)
		if err != nil {
			return nil, err
		}
		from := c.MailFrom
		if from == "" {
			from = "rampart@localhost"
		}
		m, err := notify.NewSMTPMailer(so, from)
		if err != nil {
			return nil, err
		}
		o.Mailer = m
	} else {
		log.Warn("no mail server configured (--smtp or RAMPART_SMTP_URL): e-mail notifications will show as failed in the delivery log")
	}
	return notify.New(st, o), nil
}

const notifyUsage = "usage: rampart notify digest --now [--smtp URL]"

func runNotify(ctx context.Context, env *Env, args []string) error {
	if len(args) < 1 || args[0] != "digest" {
		return fmt.Errorf("%w: %s", errUsage, notifyUsage)
	}
	fs, f := flags(env, "notify digest", false)
	now := fs.Bool("now", false, "send the digests that are due now, at once")
	c, err := load(env, fs, f, args[1:])
	if err != nil {
		return err
	}
	if !*now {
		return fmt.Errorf("%w: %s (serve sends digests on schedule)", errUsage, notifyUsage)
	}
	log := logger(env, c)
	st, err := openStore(ctx, c, log)
	if err != nil {
		return err
	}
	defer st.Close()
	cats, err := loadCatalogs(c, log)
	if err != nil {
		return err
	}
	n, err := newNotifier(c, st, cats, log)
	if err != nil {
		return err
	}
	if err := n.SendDigestsNow(ctx); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, "digests sent; see the delivery log (GET /api/v1/deliveries) for each outcome")
	return nil
}

// webhookClient posts webhooks. Members choose webhook URLs, so the dialer
// refuses this machine's own addresses and link-local ones (cloud metadata
// services): a webhook must not become a way to reach the platform's own
// database or queue. Private networks stay allowed, since a ministry's SOC
// often listens on one.
func webhookClient() *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, Control: func(network, address string, _ syscall.RawConn) error {
		return refuseOwnAddress(address)
	}}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil, DialContext: d.DialContext,
		TLSHandshakeTimeout: 10 * time.Second, ResponseHeaderTimeout: 20 * time.Second, MaxIdleConnsPerHost: 2},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// errOwnAddress is returned for webhook addresses on this machine.
var errOwnAddress = errors.New("notify: webhook address is loopback, link-local or unspecified")

func refuseOwnAddress(address string) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return err
	}
	a := ap.Addr().Unmap()
	if a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsUnspecified() || a.IsMulticast() {
		return fmt.Errorf("%w: %s", errOwnAddress, a)
	}
	return nil
}
