package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampart-cert/rampart/internal/config"
	"github.com/rampart-cert/rampart/internal/dns"
	"github.com/rampart-cert/rampart/internal/findings"
	"github.com/rampart-cert/rampart/internal/hub/snapshot"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/queue/natsq"
	"github.com/rampart-cert/rampart/internal/store"
)

// protectiveDNS is the platform's side of protective DNS: the intel
// snapshot resolvers and sensors follow, the ingester of the resolvers'
// blocked-query reports and, when configured, the walled-garden page.
type protectiveDNS struct {
	Publisher *snapshot.Publisher
	Ingest    *dns.Ingest
	stop      []func()
}

// Stop stops the ingester and the walled garden.
func (p *protectiveDNS) Stop() {
	for _, f := range p.stop {
		f()
	}
}

// Collectors are the metrics of the snapshot and the ingester.
func (p *protectiveDNS) Collectors() []prometheus.Collector {
	out := []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "rampart_intel_snapshot_version", Help: "Version of the intel snapshot last published to edges."},
			func() float64 {
				if s := p.Publisher.Current(); s != nil {
					return float64(s.Version)
				}
				return 0
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "rampart_intel_snapshot_entries", Help: "Indicators in the intel snapshot last published to edges."},
			func() float64 {
				if s := p.Publisher.Current(); s != nil {
					return float64(len(s.Entries))
				}
				return 0
			}),
	}
	if p.Ingest != nil {
		out = append(out, p.Ingest.Collectors()...)
	}
	return out
}

// snapshotOptions is the publisher's configuration from the dns:
// section.
func snapshotOptions(c *config.DNSConfig) (snapshot.Options, error) {
	var o snapshot.Options
	if c == nil {
		return o, nil
	}
	if c.MaxTLP != "" {
		t, err := intel.ParseTLP(c.MaxTLP)
		if err != nil {
			return o, err
		}
		o.MaxTLP = t
	}
	o.Allow = c.Allow
	for _, l := range c.Lists {
		r := snapshot.ListRule{Name: l.Name, Action: snapshot.Action(strings.ToLower(l.Action)), Feeds: l.Feeds}
		for _, cat := range l.Categories {
			r.Categories = append(r.Categories, intel.Category(strings.ToLower(cat)))
		}
		o.DNS.Lists = append(o.DNS.Lists, r)
	}
	if c.DefaultAction != "" {
		o.DNS.Default = snapshot.ListRule{Name: snapshot.DefaultList, Action: snapshot.Action(strings.ToLower(c.DefaultAction))}
	}
	o.DNS.RedirectA, o.DNS.RedirectAAAA, o.DNS.RedirectTTL, o.DNS.Contact = c.WalledGardenA, c.WalledGardenAAAA, c.RedirectTTL, c.Contact
	return o, nil
}

// startProtectiveDNS publishes the intel snapshot on q's NATS, ingests
// blocked-query reports into findings through svc, and serves the walled
// garden on the configured address. reviews (may be nil) queues the
// indicators the guard holds back.
func startProtectiveDNS(ctx context.Context, st store.Store, svc *findings.Service, q *natsq.Queue, c config.Config,
	reviews func(context.Context) error, log *slog.Logger) (*protectiveDNS, error) {
	o, err := snapshotOptions(c.DNS)
	if err != nil {
		return nil, fmt.Errorf("dns: %w", err)
	}
	o.Conn, o.Store, o.Logger, o.Reviews = q.Conn(), st, log, reviews
	pub, err := snapshot.NewPublisher(o)
	if err != nil {
		return nil, err
	}
	p := &protectiveDNS{Publisher: pub}
	go func() {
		if err := pub.Run(ctx); err != nil {
			log.Error("intel snapshot publisher stopped", "err", err)
		}
	}()
	ds, ok := st.(dnsStore)
	if !ok {
		log.Warn("the store keeps no protective DNS state: blocked queries are not ingested")
		return p, nil
	}
	p.Ingest = dns.NewIngest(ds, svc, dns.IngestOptions{Logger: log})
	cons, err := p.Ingest.Start(ctx, q.Conn(), q)
	if err != nil {
		return nil, err
	}
	p.stop = append(p.stop, cons.Stop)
	if c.DNS != nil && c.DNS.WalledGardenListen != "" {
		ln, err := net.Listen("tcp", c.DNS.WalledGardenListen)
		if err != nil {
			p.Stop()
			return nil, fmt.Errorf("dns: walled garden: %w", err)
		}
		g := &gardenLookup{pub: pub}
		hs := &http.Server{Handler: dns.GardenHandler(g.lookup, func() string { return c.DNS.Contact }),
			ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, MaxHeaderBytes: 16 << 10,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
		go func() { _ = hs.Serve(ln) }()
		p.stop = append(p.stop, func() { _ = hs.Close() })
		log.Info("walled garden listening", "addr", ln.Addr().String())
	}
	return p, nil
}

// dnsStore is the store the ingester needs.
type dnsStore interface {
	store.Store
	store.DNS
}

// gardenLookup finds the list of a blocked name in the published
// snapshot, for the platform's walled garden.
type gardenLookup struct {
	pub *snapshot.Publisher

	mu      sync.Mutex
	version int64
	lists   map[string]string
}

func (g *gardenLookup) lookup(name string) (string, bool) {
	s := g.pub.Current()
	if s == nil {
		return "", false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.lists == nil || g.version != s.Version {
		g.lists = map[string]string{}
		for i := range s.Entries {
			if e := &s.Entries[i]; e.Kind == intel.KindDomain {
				g.lists[e.Value] = s.DNS.ListOf(e).Name
			}
		}
		g.version = s.Version
	}
	for n := name; n != ""; {
		if l, ok := g.lists[n]; ok {
			return l, true
		}
		_, rest, ok := strings.Cut(n, ".")
		if !ok {
			break
		}
		n = rest
	}
	return "", false
}
