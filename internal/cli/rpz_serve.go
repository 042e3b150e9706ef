package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/blocklist"
	"github.com/rampart-cert/rampart/internal/config"
	"github.com/rampart-cert/rampart/internal/dns/rpz"
	"github.com/rampart-cert/rampart/internal/intelweb"
	"github.com/rampart-cert/rampart/internal/store"
)

// rpzConsumers is what the RPZ server reads of the store: the blocklist
// consumers, for their filters and whether they are enabled.
type rpzConsumers interface {
	ListConsumers(ctx context.Context, p auth.Principal) ([]store.Consumer, error)
}

// rpzConsumersEvery is how often the zones' consumers are read again.
const rpzConsumersEvery = 5 * time.Second

// startRPZ serves the blocklists as response policy zones when the
// configuration has an rpz: section (see config.RPZConfig): it listens
// on rpz.listen (TCP and UDP) and keeps the zones in step with the hub.
// stop ends both and waits for them.
func startRPZ(ctx context.Context, c config.Config, st rpzConsumers, lists *intelweb.Blocklists, reg prometheus.Registerer, log *slog.Logger) (stop func(), err error) {
	if c.RPZ == nil {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", c.RPZ.Listen)
	if err != nil {
		return nil, fmt.Errorf("rpz: listen on %s: %w", c.RPZ.Listen, err)
	}
	pc, err := net.ListenPacket("udp", ln.Addr().String())
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("rpz: listen on %s (udp): %w", ln.Addr(), err)
	}
	// NOTIFY leaves from the listening address when it is one address:
	// secondaries take NOTIFY from their primary's address.
	var source netip.Addr
	if ap, err := netip.ParseAddrPort(ln.Addr().String()); err == nil && !ap.Addr().IsUnspecified() {
		source = ap.Addr().Unmap()
	}
	s, err := rpz.New(rpz.Options{Source: lists, Zones: rpzZones(st, c.RPZ, log), Debounce: c.RPZ.Debounce, History: c.RPZ.History,
		NotifySource: source, Logger: log})
	if err != nil {
		ln.Close()
		pc.Close()
		return nil, err
	}
	if reg != nil {
		if err := reg.Register(rpzCollector{s}); err != nil {
			ln.Close()
			pc.Close()
			return nil, fmt.Errorf("rpz: metrics: %w", err)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := s.Serve(ctx, ln, pc); err != nil {
			log.Error("rpz: serve", "err", err)
		}
	}()
	go func() {
		defer wg.Done()
		s.Run(ctx)
	}()
	log.Info("rpz: serving response policy zones", "addr", ln.Addr().String(), "zones", len(c.RPZ.Zones))
	return func() { cancel(); wg.Wait() }, nil
}

// rpzZones returns the zones func of the RPZ server: one zone per
// configured zone whose consumer exists, is enabled and may pull the rpz
// format, filtered as the consumer's HTTP lists are (intelweb.ConsumerOf).
// The consumers are read at most every rpzConsumersEvery; a zone left
// out is logged once until its reason changes.
func rpzZones(st rpzConsumers, rc *config.RPZConfig, log *slog.Logger) func(context.Context) ([]rpz.ZoneSpec, error) {
	var (
		mu     sync.Mutex
		last   []rpz.ZoneSpec
		read   time.Time
		warned = map[string]string{}
	)
	return func(ctx context.Context) ([]rpz.ZoneSpec, error) {
		mu.Lock()
		defer mu.Unlock()
		if !read.IsZero() && time.Since(read) < rpzConsumersEvery {
			return last, nil
		}
		cs, err := st.ListConsumers(ctx, auth.SystemPrincipal)
		if err != nil {
			return nil, fmt.Errorf("rpz: consumers: %w", err)
		}
		byName := make(map[string]store.Consumer, len(cs))
		for _, c := range cs {
			byName[c.Name] = c
		}
		var specs []rpz.ZoneSpec
		for _, z := range rc.Zones {
			sp, err := rpzSpec(z, byName)
			if err != nil {
				if warned[z.Consumer] != err.Error() {
					warned[z.Consumer] = err.Error()
					log.Warn("rpz: zone not served", "consumer", z.Consumer, "err", err)
				}
				continue
			}
			delete(warned, z.Consumer)
			specs = append(specs, sp)
		}
		last, read = specs, time.Now()
		return specs, nil
	}
}

// errRPZConsumer says why a configured zone is not served.
var errRPZConsumer = errors.New("rpz: consumer")

// rpzSpec is the zone spec of one configured zone.
func rpzSpec(z config.RPZZone, byName map[string]store.Consumer) (rpz.ZoneSpec, error) {
	c, ok := byName[z.Consumer]
	switch {
	case !ok:
		return rpz.ZoneSpec{}, fmt.Errorf("%w %q does not exist (create it among the blocklist consumers)", errRPZConsumer, z.Consumer)
	case !c.Enabled:
		return rpz.ZoneSpec{}, fmt.Errorf("%w %q is disabled", errRPZConsumer, z.Consumer)
	}
	bc := intelweb.ConsumerOf(c)
	if !bc.Allows(blocklist.FormatRPZ) {
		return rpz.ZoneSpec{}, fmt.Errorf("%w %q may not pull the rpz format", errRPZConsumer, z.Consumer)
	}
	bc.Zone = z.Zone
	allow, err := z.AllowUnsignedPrefixes()
	if err != nil {
		return rpz.ZoneSpec{}, err // validated by load
	}
	sp := rpz.ZoneSpec{Consumer: bc, AllowUnsigned: allow, Notify: z.Notify}
	if z.KeyName != "" {
		sp.Key = &rpz.Key{Name: z.KeyName, Secret: z.KeySecret}
	}
	return sp, nil
}

// rpzCollector is the RPZ server's metrics: each zone's serial and
// triggers (a secondary's serial compared with it tells whether it keeps
// up), transfers by kind, refusals and answered NOTIFYs.
type rpzCollector struct{ s *rpz.Server }

var (
	rpzSerialDesc   = prometheus.NewDesc("rampart_rpz_zone_serial", "SOA serial of each RPZ zone.", []string{"consumer", "zone"}, nil)
	rpzTriggersDesc = prometheus.NewDesc("rampart_rpz_zone_triggers", "Triggers (records besides SOA and NS) of each RPZ zone.", []string{"consumer", "zone"}, nil)
	rpzXfrDesc      = prometheus.NewDesc("rampart_rpz_transfers_total", "Zone transfers answered, by kind: axfr, ixfr (differences), ixfr_full (serial older than the journal), up_to_date.", []string{"kind"}, nil)
	rpzRefusedDesc  = prometheus.NewDesc("rampart_rpz_refused_total", "RPZ requests refused: unsigned from elsewhere, unknown key, bad signature, another consumer's zone.", nil, nil)
	rpzNotifyDesc   = prometheus.NewDesc("rampart_rpz_notify_answered_total", "NOTIFY messages answered by secondaries.", nil, nil)
)

func (rpzCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{rpzSerialDesc, rpzTriggersDesc, rpzXfrDesc, rpzRefusedDesc, rpzNotifyDesc} {
		ch <- d
	}
}

func (c rpzCollector) Collect(ch chan<- prometheus.Metric) {
	for _, z := range c.s.Zones() {
		ch <- prometheus.MustNewConstMetric(rpzSerialDesc, prometheus.GaugeValue, float64(z.Serial), z.Consumer, z.Origin)
		ch <- prometheus.MustNewConstMetric(rpzTriggersDesc, prometheus.GaugeValue, float64(2*z.Domains+z.IPTriggers), z.Consumer, z.Origin)
	}
	st := c.s.Stats()
	for kind, n := range map[string]int64{"axfr": st.AXFR, "ixfr": st.IXFRDelta, "ixfr_full": st.IXFRFull, "up_to_date": st.IXFRNone} {
		ch <- prometheus.MustNewConstMetric(rpzXfrDesc, prometheus.CounterValue, float64(n), kind)
	}
	ch <- prometheus.MustNewConstMetric(rpzRefusedDesc, prometheus.CounterValue, float64(st.Refused))
	ch <- prometheus.MustNewConstMetric(rpzNotifyDesc, prometheus.CounterValue, float64(st.Notified))
}
