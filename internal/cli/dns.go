package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rampart-cert/rampart/internal/dns"
	"github.com/rampart-cert/rampart/internal/hub/snapshot"
	"github.com/rampart-cert/rampart/internal/queue/natsq"
)

// dnsReady is what runDNS prints once it answers, for people and tests.
const dnsReady = "rampart dns is answering"

// runDNS is `rampart dns`: a protective resolver following the hub's
// intel snapshot over NATS, reporting blocked queries to the platform.
func runDNS(ctx context.Context, env *Env, args []string) error {
	if ok, err := dnsAdmin(env, args); ok {
		return err
	}
	fs, f := flags(env, "dns", false)
	listen := fs.String("listen", "", "host:port of the plain DNS listeners (UDP and TCP)")
	upstream := fs.String("upstream", "", "upstream resolvers queries are forwarded to, comma-separated (host or host:port)")
	tlsListen := fs.String("tls-listen", "", "host:port of the DNS-over-TLS listener (needs --tls-cert and --tls-key)")
	tlsCert := fs.String("tls-cert", "", "PEM certificate (chain) of the DoT listener")
	tlsKey := fs.String("tls-key", "", "PEM private key of the DoT listener")
	httpAddr := fs.String("http", "", "host:port serving /healthz, /metrics and the walled-garden page")
	cacheDir := fs.String("cache-dir", "", "where the last intel snapshot is kept, so a restart without NATS still blocks (default <data>/dns)")
	name := fs.String("name", "", "this resolver's name in reports (default: the name its credentials were issued to, else the host name)")
	every := fs.Duration("report-every", dns.DefaultFlush, "how often blocked queries are reported to the platform")
	sample := fs.Float64("query-log-sample", 0, "share of queries kept in the sampled query log (0 to 1)")
	c, err := load(env, fs, f, args)
	if err != nil {
		return err
	}
	if *listen == "" && *tlsListen == "" {
		return fmt.Errorf("%w: dns needs --listen ADDR (or --tls-listen)", errUsage)
	}
	if *upstream == "" {
		return fmt.Errorf("%w: dns needs --upstream ADDR[,ADDR]", errUsage)
	}
	if c.NATS == "" {
		return fmt.Errorf("%w: dns needs --nats URL (or RAMPART_NATS): the NATS of the platform whose intel it enforces", errUsage)
	}
	if *tlsListen != "" && (*tlsCert == "" || *tlsKey == "") {
		return fmt.Errorf("%w: --tls-listen needs --tls-cert and --tls-key", errUsage)
	}
	resolver, err := resolverName(*name, c.NATSCreds)
	if err != nil {
		return err
	}
	if *cacheDir == "" {
		*cacheDir = filepath.Join(c.Data, "dns")
	}
	log := logger(env, c).With("resolver", resolver)

	nc, err := connectResolver(c.NATS, c.NATSCreds, c.NATSCA, resolver, log)
	if err != nil {
		return err
	}
	defer nc.Close()

	batcher, err := dns.NewBatcher(resolver, nc.Publish, dns.BatcherOptions{Flush: *every, Logger: log})
	if err != nil {
		return err
	}
	var upstreams []string
	for _, u := range strings.Split(*upstream, ",") {
		if u = strings.TrimSpace(u); u != "" {
			upstreams = append(upstreams, u)
		}
	}
	srv, err := dns.NewServer(dns.Config{Listen: *listen, TLSListen: *tlsListen, TLSCertFile: *tlsCert, TLSKeyFile: *tlsKey,
		Upstreams: upstreams, Reporter: batcher, Logger: log, QueryLogSample: *sample})
	if err != nil {
		return err
	}
	feed := dns.NewFeed(srv, log)
	// The last list kept on disk is in force before the first query, so
	// a resolver restarted while the platform is away still blocks.
	fo := snapshot.FollowOptions{Logger: log}
	if s, err := snapshot.LoadCache(*cacheDir); err == nil {
		feed.Apply(s)
		srv.SetFeedState(false, s.Version, s.Built)
		fo.Initial = s
		log.Info("intel snapshot from cache", "version", s.Version, "entries", len(s.Entries))
	} else if !errors.Is(err, os.ErrNotExist) {
		log.Warn("intel snapshot cache unreadable", "err", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		return err
	}
	defer srv.Close()

	followDone := make(chan error, 1)
	go func() { followDone <- snapshot.FollowWith(ctx, nc, *cacheDir, feed, fo) }()
	batchDone := make(chan struct{})
	go func() { batcher.Run(ctx); close(batchDone) }()

	var hs *http.Server
	httpErr := make(chan error, 1)
	if *httpAddr != "" {
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), srv.Metrics())
		mux := http.NewServeMux()
		mux.Handle("GET /healthz", srv.HealthHandler())
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
		mux.Handle("/", dns.GardenHandler(feed.Lookup, feed.Contact))
		ln, err := net.Listen("tcp", *httpAddr)
		if err != nil {
			return fmt.Errorf("dns: listen on %s: %w", *httpAddr, err)
		}
		hs = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second,
			IdleTimeout: time.Minute, MaxHeaderBytes: 16 << 10, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
		go func() { httpErr <- hs.Serve(ln) }()
		fmt.Fprintf(env.Stdout, "rampart dns: health, metrics and walled garden on http://%s\n", ln.Addr())
	}
	udp, tcp, dot := srv.Addr()
	fmt.Fprintf(env.Stdout, "%s as %s: udp %s tcp %s", dnsReady, resolver, udp, tcp)
	if dot.IsValid() {
		fmt.Fprintf(env.Stdout, " dot %s", dot)
	}
	fmt.Fprintln(env.Stdout)
	log.Info("resolver started", "udp", udp.String(), "tcp", tcp.String(), "nats", c.Redacted().NATS, "cache", *cacheDir)

	select {
	case <-ctx.Done():
	case err := <-followDone:
		if err != nil {
			return err
		}
	case err := <-httpErr:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	log.Info("resolver stopping")
	cancel()
	if hs != nil {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = hs.Shutdown(sctx)
		scancel()
	}
	<-batchDone
	// The last reports go out before the connection closes.
	_ = nc.FlushTimeout(2 * time.Second)
	return nil
}

// resolverName is the name a resolver reports under: --name, else the
// one its credentials were issued to (which must then agree), else the
// host name.
func resolverName(flagName, creds string) (string, error) {
	issued := ""
	if creds != "" {
		if e, err := natsq.EdgeOfCreds(creds); err == nil && e.Role == natsq.EdgeResolver {
			issued = e.Name
		}
	}
	switch {
	case flagName != "" && issued != "" && flagName != issued:
		return "", fmt.Errorf("%w: --name %s: the credentials were issued to resolver %s, which may publish only as itself", errUsage, flagName, issued)
	case flagName != "":
		if !dns.ValidResolverName(flagName) {
			return "", fmt.Errorf("%w: --name %q: want 1-64 of a-z, 0-9, '-' and '_'", errUsage, flagName)
		}
		return flagName, nil
	case issued != "":
		return issued, nil
	}
	host, _ := os.Hostname()
	var b strings.Builder
	for _, r := range strings.ToLower(host) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			b.WriteRune(r)
		}
	}
	n := b.String()
	if len(n) > 64 {
		n = n[:64]
	}
	if n == "" {
		n = "resolver"
	}
	return n, nil
}

// connectResolver joins the platform's NATS. The first connection is
// retried in the background: a resolver started while the platform is
// away serves its cached list meanwhile.
func connectResolver(url, creds, ca, name string, log *slog.Logger) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name("rampart-dns-" + name),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("NATS disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("NATS reconnected", "url", nc.ConnectedUrlRedacted()) }),
	}
	if ca != "" {
		opts = append(opts, nats.RootCAs(ca))
	}
	if creds != "" {
		return natsq.ConnectEdge(url, creds, opts...)
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("dns: connect to NATS: %w", err)
	}
	return nc, nil
}
