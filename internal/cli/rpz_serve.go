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
func startRPZ(ctx context.Context, c config.Config, st rpzConsumers, lists *intelweb.Blocklists, log *slog.Logger) (stop func(), err error) {
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
