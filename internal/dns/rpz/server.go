package rpz

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"github.com/rampart-cert/rampart/internal/blocklist"
)

// Source is where the zones' content comes from: the hub's guarded
// blocklist (intelweb.Blocklists). List may return the same *List while
// nothing changed; a new pointer is a change.
type Source interface {
	List(ctx context.Context) (*blocklist.List, error)
}

// ZoneSpec is one consumer's zone: whose it is, what it holds and who
// may transfer it.
type ZoneSpec struct {
	// Consumer is the blocklist consumer the zone is rendered for: its
	// filters decide the content, its Name names the zone in logs, its
	// Zone is the origin ("rpz.rampart." when empty).
	Consumer blocklist.Consumer
	// Key authenticates the consumer's secondaries; a request signed
	// with it gets this zone and no other. Key names are unique across
	// zones.
	Key *Key
	// AllowUnsigned lists the source networks that may transfer the
	// zone without TSIG (for secondaries that cannot sign, such as
	// Unbound). Empty: signed requests only.
	AllowUnsigned []netip.Prefix
	// Notify lists the secondaries (host:port) told of every change.
	Notify []string
}

// Options configure a Server.
type Options struct {
	Source Source
	// Zones returns the zones to serve; it is asked again on every poll,
	// so consumers added, changed or removed take effect without a
	// restart.
	Zones func(ctx context.Context) ([]ZoneSpec, error)
	// Poll is how often the source and the zones are asked for changes
	// (default 500ms); Debounce is how long they must be quiet before a
	// change is published (default 1s), and MaxDelay bounds the wait
	// under a steady stream of changes (default 10s).
	Poll, Debounce, MaxDelay time.Duration
	// Refresh re-renders every zone this often even when the list did
	// not change, for filters that depend on time (max age, valid
	// until); default 5 minutes.
	Refresh time.Duration
	// History is how many changes of each zone are kept for IXFR
	// (default 64).
	History int
	// MaxConns bounds the TCP connections served at once (default 128).
	MaxConns int
	// NotifyTimeout is how long a secondary has to answer a NOTIFY
	// (default 2s); NotifyTries how many times it is sent (default 5,
	// waiting 1s, 2s, 4s ... between tries).
	NotifyTimeout time.Duration
	NotifyTries   int
	// NotifySource is the address NOTIFYs are sent from (secondaries
	// take them from their primary's address); invalid: the system
	// chooses.
	NotifySource netip.Addr
	Now          func() time.Time
	Logger       *slog.Logger
}

// Server serves RPZ zones over AXFR and IXFR and tells secondaries of
// changes. Create it with New; it is safe for concurrent use.
type Server struct {
	o     Options
	zones atomic.Pointer[zoneSet]
	conns chan struct{}

	upd       sync.Mutex // one Update at a time; guards the fields below
	lastList  *blocklist.List
	lastSpecs []ZoneSpec
	rendered  time.Time

	notifier *notifier
	stats    stats
	warned   atomic.Int64 // when a refused signature was last logged (Unix seconds)
}

// Stats counts what the server answered since it started.
type Stats struct {
	AXFR      int64 // whole zones by AXFR
	IXFRDelta int64 // IXFR answered with the differences
	IXFRFull  int64 // IXFR answered with the whole zone (serial older than the journal)
	IXFRNone  int64 // IXFR or SOA from a secondary already up to date, or over UDP
	Refused   int64 // requests refused: unsigned from elsewhere, bad or unknown key, another zone
	Notified  int64 // NOTIFY answered by a secondary
}

type stats struct{ axfr, delta, full, none, refused, notified atomic.Int64 }

// Stats returns the counters.
func (s *Server) Stats() Stats {
	st := &s.stats
	return Stats{AXFR: st.axfr.Load(), IXFRDelta: st.delta.Load(), IXFRFull: st.full.Load(), IXFRNone: st.none.Load(),
		Refused: st.refused.Load(), Notified: st.notified.Load()}
}

// zone is one served zone: immutable but for its current version.
type zone struct {
	spec    ZoneSpec
	name    string
	origin  string // canonical FQDN
	originW []byte
	key     *signer
	cur     atomic.Pointer[version]
}

// zoneSet is every zone, and the zones by key name.
type zoneSet struct {
	list  []*zone
	byKey map[string]*zone
}

// Errors of the package.
var (
	// ErrConfig reports a zone specification that cannot be served.
	ErrConfig = errors.New("rpz: bad zone")
)

// New returns a server; nothing is served until Update has run once.
func New(o Options) (*Server, error) {
	if o.Source == nil || o.Zones == nil {
		return nil, errors.New("rpz: a source and a zones func are required")
	}
	if o.Poll <= 0 {
		o.Poll = 500 * time.Millisecond
	}
	if o.Debounce <= 0 {
		o.Debounce = time.Second
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 10 * time.Second
	}
	if o.Refresh <= 0 {
		o.Refresh = 5 * time.Minute
	}
	if o.History <= 0 {
		o.History = 64
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 128
	}
	if o.NotifyTimeout <= 0 {
		o.NotifyTimeout = 2 * time.Second
	}
	if o.NotifyTries <= 0 {
		o.NotifyTries = 5
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	s := &Server{o: o, conns: make(chan struct{}, o.MaxConns)}
	s.zones.Store(&zoneSet{byKey: map[string]*zone{}})
	s.notifier = newNotifier(o, &s.stats.notified)
	return s, nil
}

// Origin is the canonical origin of a consumer's zone.
func Origin(c *blocklist.Consumer) string {
	z := c.Zone
	if z == "" {
		z = "rpz.rampart."
	}
	return strings.ToLower(dns.Fqdn(z))
}

// Serial returns the serial of the zone of consumer name.
func (s *Server) Serial(name string) (uint32, bool) {
	for _, z := range s.zones.Load().list {
		if z.name == name {
			return z.cur.Load().serial, true
		}
	}
	return 0, false
}

// ZoneInfo describes one served zone.
type ZoneInfo struct {
	Consumer   string
	Origin     string
	Serial     uint32
	Domains    int // blocked domains (two triggers each)
	IPTriggers int
	Journal    int // changes kept for IXFR
}

// Zones describes the zones served now.
func (s *Server) Zones() []ZoneInfo {
	var out []ZoneInfo
	for _, z := range s.zones.Load().list {
		v := z.cur.Load()
		out = append(out, ZoneInfo{Consumer: z.name, Origin: z.origin, Serial: v.serial,
			Domains: len(v.content.domains), IPTriggers: len(v.content.ips), Journal: len(v.journal)})
	}
	return out
}

// Update reads the source and the zones once and publishes what
// changed: a zone whose content changed gets a new serial, a journal
// entry and a NOTIFY to its secondaries. force re-renders even when
// neither the list nor the zones changed.
func (s *Server) Update(ctx context.Context, force bool) error {
	s.upd.Lock()
	defer s.upd.Unlock()
	specs, err := s.o.Zones(ctx)
	if err != nil {
		return fmt.Errorf("rpz: zones: %w", err)
	}
	l, err := s.o.Source.List(ctx)
	if err != nil {
		return fmt.Errorf("rpz: list: %w", err)
	}
	now := s.o.Now()
	if !force && l == s.lastList && reflect.DeepEqual(specs, s.lastSpecs) && now.Sub(s.rendered) < s.o.Refresh {
		return nil
	}
	old := s.zones.Load()
	next := &zoneSet{byKey: map[string]*zone{}}
	// Several zones share one copy of the names (a million names are
	// some 30 MB of strings a zone otherwise).
	var pool []string
	if len(specs) > 1 && l != nil {
		short := ""
		for i := range specs {
			if o := Origin(&specs[i].Consumer); short == "" || len(o) < len(short) {
				short = o
			}
		}
		c, err := render(l, poolConsumer(short), now, nil)
		if err != nil {
			return err
		}
		pool = c.domains
	}
	names := map[string]bool{}
	for i := range specs {
		// A zone that cannot be served is left out, not the others.
		z, err := newZone(specs[i])
		if err == nil && names[z.name] {
			err = fmt.Errorf("%w: two zones for consumer %q", ErrConfig, z.name)
		}
		if err == nil && z.key != nil && next.byKey[z.key.name] != nil {
			err = fmt.Errorf("%w: TSIG key %s names two zones", ErrConfig, z.key.name)
		}
		if err != nil {
			s.o.Logger.Error("rpz: zone not served", "err", err)
			continue
		}
		names[z.name] = true
		if z.key != nil {
			next.byKey[z.key.name] = z
		}
		next.list = append(next.list, z)
	}
	// Render the zones on every core, then publish them in order.
	contents := make([]content, len(next.list))
	errs := make([]error, len(next.list))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, z := range next.list {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			contents[i], errs[i] = render(l, &z.spec.Consumer, now, pool)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	var changed []*zone
	for i, z := range next.list {
		c := contents[i]
		var prev *version
		for _, oz := range old.list {
			if oz.name == z.name && oz.origin == z.origin {
				prev = oz.cur.Load()
			}
		}
		v := prev
		if prev == nil {
			v = &version{serial: nextSerial(0, now), content: c}
		} else {
			v = prev.advance(c, now, s.o.History)
		}
		z.cur.Store(v)
		if v != prev {
			changed = append(changed, z)
			s.o.Logger.Info("rpz: zone changed", "consumer", z.name, "zone", z.origin, "serial", v.serial,
				"domains", len(c.domains), "ip_triggers", len(c.ips))
		}
	}
	s.zones.Store(next)
	s.lastList, s.lastSpecs, s.rendered = l, specs, now
	for _, z := range changed {
		s.notifier.notify(ctx, z, z.cur.Load().serial)
	}
	return nil
}

// newZone checks a spec and prepares its zone (without content).
func newZone(sp ZoneSpec) (*zone, error) {
	sp.Consumer.Zone = Origin(&sp.Consumer)
	if err := sp.Consumer.Check(); err != nil {
		return nil, fmt.Errorf("%w: consumer %q: %w", ErrConfig, sp.Consumer.Name, err)
	}
	if !sp.Consumer.Allows(blocklist.FormatRPZ) {
		return nil, fmt.Errorf("%w: consumer %q may not pull rpz", ErrConfig, sp.Consumer.Name)
	}
	z := &zone{spec: sp, name: sp.Consumer.Name, origin: sp.Consumer.Zone, originW: wireName(sp.Consumer.Zone)}
	if sp.Key != nil {
		k, err := newSigner(sp.Key)
		if err != nil {
			return nil, fmt.Errorf("%w: consumer %q: %w", ErrConfig, sp.Consumer.Name, err)
		}
		z.key = k
	}
	if z.key == nil && len(sp.AllowUnsigned) == 0 {
		return nil, fmt.Errorf("%w: consumer %q: neither a TSIG key nor unsigned sources: nobody could transfer it", ErrConfig, sp.Consumer.Name)
	}
	return z, nil
}

// Run keeps the zones up to date until ctx ends: it polls the source,
// waits for changes to settle (Debounce, at most MaxDelay) and
// publishes them.
func (s *Server) Run(ctx context.Context) {
	t := time.NewTicker(s.o.Poll)
	defer t.Stop()
	var dirty, quietSince time.Time
	var seen *blocklist.List
	var seenSpecs []ZoneSpec
	for {
		if err := s.Update(ctx, false); err != nil && ctx.Err() == nil {
			s.o.Logger.Warn("rpz: update", "err", err)
		}
		// Between updates: watch for a change, then for quiet.
		for {
			select {
			case <-ctx.Done():
				s.notifier.wait()
				return
			case <-t.C:
			}
			l, err := s.o.Source.List(ctx)
			if err != nil {
				if ctx.Err() == nil {
					s.o.Logger.Warn("rpz: list", "err", err)
				}
				continue
			}
			specs, err := s.o.Zones(ctx)
			if err != nil {
				if ctx.Err() == nil {
					s.o.Logger.Warn("rpz: zones", "err", err)
				}
				continue
			}
			now := s.o.Now()
			s.upd.Lock()
			same := l == s.lastList && reflect.DeepEqual(specs, s.lastSpecs)
			stale := now.Sub(s.rendered) >= s.o.Refresh
			s.upd.Unlock()
			if same && !stale {
				dirty = time.Time{}
				continue
			}
			if dirty.IsZero() {
				dirty, quietSince, seen, seenSpecs = now, now, l, specs
			} else if l != seen || !reflect.DeepEqual(specs, seenSpecs) {
				quietSince, seen, seenSpecs = now, l, specs
			}
			if stale || now.Sub(quietSince) >= s.o.Debounce || now.Sub(dirty) >= s.o.MaxDelay {
				dirty = time.Time{}
				break
			}
		}
	}
}
