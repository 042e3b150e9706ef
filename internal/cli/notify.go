package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
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
	guard, err := newWebhookGuard(c)
	if err != nil {
		return nil, err
	}
	o := notify.Options{Logger: log, ConsoleURL: c.PublicURL, HTTPClient: webhookClient(guard, log)}
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
// checks every address it is about to connect to (after DNS, so a name
// that resolves to an internal address is refused too) with guard, and
// the transport logs why a webhook failed for the operator only: the
// delivery log members read says it in generic words (security F21).
func webhookClient(guard *webhookGuard, log *slog.Logger) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, Control: func(network, address string, _ syscall.RawConn) error {
		return guard.check(address)
	}}
	var rt http.RoundTripper = &http.Transport{Proxy: nil, DialContext: d.DialContext,
		TLSHandshakeTimeout: 10 * time.Second, ResponseHeaderTimeout: 20 * time.Second, MaxIdleConnsPerHost: 2}
	if log != nil {
		rt = loggedTransport{rt: rt, log: log}
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: rt,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// loggedTransport logs failed webhook requests with their cause, for the
// operator's eyes (the server log), not the members'.
type loggedTransport struct {
	rt  http.RoundTripper
	log *slog.Logger
}

func (t loggedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.rt.RoundTrip(r)
	switch {
	case err != nil:
		t.log.Warn("notify: webhook request failed", "host", r.URL.Host, "err", err)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		t.log.Warn("notify: webhook answered an error", "host", r.URL.Host, "status", resp.StatusCode)
	}
	return resp, err
}

// Errors of webhook addresses; both wrap notify.ErrDestination.
var (
	errOwnAddress     = fmt.Errorf("%w: loopback, link-local, multicast, unspecified or this host's own address", notify.ErrDestination)
	errPrivateAddress = fmt.Errorf("%w: private or reserved address outside webhook_allow", notify.ErrDestination)
)

// webhookGuard decides which addresses webhooks may connect to:
//
//   - never loopback, link-local (cloud metadata services), multicast,
//     unspecified, or any address of this host's interfaces, where the
//     platform's own database, queue and console listen;
//   - private and reserved networks (RFC 1918, ULA, CGNAT, NAT64 of a
//     private address, benchmarking, "this network", class E) only inside
//     allow, the platform admin's webhook_allow list;
//   - any other (public) address.
//
// The allow-list is one for the platform, set by whoever runs it, rather
// than per organization: a member who registers a webhook cannot widen it.
type webhookGuard struct {
	allow []netip.Prefix
	// own lists this host's addresses; asked at every dial, since
	// interfaces come and go. nil: net.InterfaceAddrs.
	own func() ([]netip.Addr, error)
}

func newWebhookGuard(c config.Config) (*webhookGuard, error) {
	allow, err := c.WebhookAllowPrefixes()
	if err != nil {
		return nil, fmt.Errorf("notify: webhook_allow: %w", err)
	}
	return &webhookGuard{allow: allow}, nil
}

// interfaceAddrs is every address of this host's interfaces.
func interfaceAddrs() ([]netip.Addr, error) {
	as, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	out := make([]netip.Addr, 0, len(as))
	for _, a := range as {
		var ip net.IP
		switch v := a.(type) {
		case *net.IPNet:
			ip = v.IP
		case *net.IPAddr:
			ip = v.IP
		}
		if na, ok := netip.AddrFromSlice(ip); ok {
			out = append(out, na.Unmap())
		}
	}
	return out, nil
}

// check refuses address (ip:port) unless webhooks may connect to it.
func (g *webhookGuard) check(address string) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("notify: webhook address %q: %w", address, err)
	}
	own := g.own
	if own == nil {
		own = interfaceAddrs
	}
	mine, err := own()
	if err != nil { // cannot tell what is ours: refuse
		return fmt.Errorf("%w (interfaces: %v)", errOwnAddress, err)
	}
	return classifyWebhookAddr(ap.Addr(), mine, g.allow)
}

// classifyWebhookAddr is the rule of webhookGuard for one address, given
// this host's addresses and the allow-list.
func classifyWebhookAddr(a netip.Addr, own []netip.Addr, allow []netip.Prefix) error {
	a = a.Unmap().WithZone("")
	if a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() ||
		a.IsUnspecified() || a.IsMulticast() {
		return fmt.Errorf("%w: %s", errOwnAddress, a)
	}
	for _, o := range own {
		if o.Unmap().WithZone("") == a {
			return fmt.Errorf("%w: %s", errOwnAddress, a)
		}
	}
	inner := a
	if a.Is6() {
		// NAT64 (64:ff9b::/96) reaches the IPv4 address it embeds.
		if b := a.As16(); netip.PrefixFrom(netip.AddrFrom16([16]byte{0, 0x64, 0xff, 0x9b}), 96).Contains(a) {
			inner = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
			if inner.IsLoopback() || inner.IsLinkLocalUnicast() || inner.IsUnspecified() || inner.IsMulticast() || slices.Contains(own, inner) {
				return fmt.Errorf("%w: %s", errOwnAddress, a)
			}
		}
	}
	if !privateAddr(inner) {
		return nil
	}
	for _, p := range allow {
		if p.Contains(a) || p.Contains(inner) {
			return nil
		}
	}
	return fmt.Errorf("%w: %s", errPrivateAddress, a)
}

// privateAddr reports private and reserved addresses that are not routed
// on the internet: RFC 1918, ULA, CGNAT, local-use NAT64, "this network",
// benchmarking, the IETF block, class E and broadcast. (The documentation
// ranges lead nowhere and stay allowed, as public examples.)
func privateAddr(a netip.Addr) bool {
	if a.IsPrivate() { // 10/8, 172.16/12, 192.168/16, fc00::/7
		return true
	}
	v4 := func(a, b, c, d byte, bits int) netip.Prefix {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{a, b, c, d}), bits)
	}
	for _, p := range []netip.Prefix{
		v4(0, 0, 0, 0, 8), v4(100, 64, 0, 0, 10), v4(192, 0, 0, 0, 24), v4(198, 18, 0, 0, 15), v4(240, 0, 0, 0, 4),
		netip.PrefixFrom(netip.AddrFrom16([16]byte{0, 0x64, 0xff, 0x9b, 0, 1}), 48), // local-use NAT64
	} {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
