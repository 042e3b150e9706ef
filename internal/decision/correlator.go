package decision

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rampart-cert/rampart/internal/blocklist"
	"github.com/rampart-cert/rampart/internal/config"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/sensor"
	"github.com/rampart-cert/rampart/internal/store"
)

// Options tune the correlation; zero values take the defaults of
// config.CorrelationConfig.
type Options struct {
	MinOrgs    int           // distinct organizations (default 3)
	Window     time.Duration // within this long (default 10m)
	TTL        time.Duration // a decision lasts this long after the last detection (default 4h)
	ApproveAll bool          // every decision waits for an analyst
	NeverAuto  *Networks     // more networks whose decisions always wait
	MaxSources int           // sources remembered (default 1,000,000)
	Off        bool          // Observe does nothing
}

// OptionsFrom reads the configuration's correlation section (nil: the
// defaults).
func OptionsFrom(c *config.CorrelationConfig) (Options, error) {
	k := c.WithDefaults()
	o := Options{MinOrgs: k.MinOrgs, Window: k.Window, TTL: k.TTL, ApproveAll: k.ApproveAll, MaxSources: k.MaxSources, Off: k.Off}
	if len(k.NeverAuto) > 0 {
		n := &Networks{}
		for _, s := range k.NeverAuto {
			p, err := parseNet(s)
			if err != nil {
				return Options{}, fmt.Errorf("decision: correlation.never_auto: %w", err)
			}
			n.list = append(n.list, Network{Prefix: p, Name: "never_auto"})
		}
		o.NeverAuto = n
	}
	return o, nil
}

func (o Options) withDefaults() Options {
	k := (&config.CorrelationConfig{MinOrgs: o.MinOrgs, Window: o.Window, TTL: o.TTL, MaxSources: o.MaxSources}).WithDefaults()
	o.MinOrgs, o.Window, o.TTL, o.MaxSources = k.MinOrgs, k.Window, k.TTL, k.MaxSources
	return o
}

// ErrNoSource is returned for a detection without a usable source
// address (an indicator hit, a volume spike from many sources).
var ErrNoSource = errors.New("decision: detection has no attacking source")

// Correlator turns detections into decisions. Create it with
// NewCorrelator; it is safe for concurrent use.
type Correlator struct {
	st  Store
	o   Options
	reg *registry
	now func() time.Time
	log *slog.Logger

	mu        sync.Mutex // guards what follows; held across the store call of a decision
	sources   map[netip.Addr]*source
	lastPrune time.Time

	dropped atomic.Int64 // detections of new sources refused while full
	made    atomic.Int64 // decisions created
}

// source is what the window holds of one attacking address.
type source struct {
	seen  map[reporterKey]*sighting
	until time.Time // end of its live decision (or of an analyst's refusal) as last written
	wrote time.Time // when the store last heard of it
	// unsent is the evidence of sightings that left the window before
	// the store heard of all of it (while a decision is live).
	unsent []store.DecisionEvidence
}

type reporterKey struct{ org, sensor string }

type sighting struct {
	first, last time.Time
	count, sent uint64 // events seen, and how many of them the store has
	kinds       []string
	target      netip.Addr
	detail      string
}

// NewCorrelator returns a correlator over st. now and log may be nil.
func NewCorrelator(st Store, o Options, now func() time.Time, log *slog.Logger) *Correlator {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Correlator{st: st, o: o.withDefaults(), reg: newRegistry(st), now: now, log: log, sources: map[netip.Addr]*source{}}
}

// Dropped returns how many detections were refused because the window
// held Options.MaxSources sources.
func (c *Correlator) Dropped() int64 { return c.dropped.Load() }

// Made returns how many decisions the correlator created.
func (c *Correlator) Made() int64 { return c.made.Load() }

// attack reports whether a detection kind is an attack by its source.
func attack(k sensor.DetectionKind) bool {
	switch k {
	case sensor.DetectPortScan, sensor.DetectSSHBruteForce, sensor.DetectWebBruteForce, sensor.DetectAlert, sensor.DetectVolumeSpike:
		return true
	}
	return false
}

// Observe takes one detection. d.Org and d.Sensor are the platform's
// (from the sensor's credential). Detections that are not attacks by a
// public source address are ignored (ErrNoSource for a missing one).
// When the source has been seen by Options.MinOrgs organizations within
// Options.Window it becomes (or extends) a decision, stored before
// Observe returns.
func (c *Correlator) Observe(ctx context.Context, d sensor.Detection) error {
	if c.o.Off || !attack(d.Kind) {
		return nil
	}
	if !d.Source.IsValid() || d.Source.IsUnspecified() {
		return ErrNoSource
	}
	if d.Org == "" {
		return fmt.Errorf("decision: detection without an organization")
	}
	src := d.Source.Unmap()
	if _, held := (*blocklist.Guard)(nil).Check(kindOf(src), src.String()); held {
		return nil // private, loopback, reserved: nothing to decide
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Sub(c.lastPrune) > time.Minute {
		c.prune(now)
	}
	s := c.sources[src]
	if s == nil {
		if len(c.sources) >= c.o.MaxSources {
			c.prune(now)
			if len(c.sources) >= c.o.MaxSources {
				c.dropped.Add(1)
				return nil
			}
		}
		s = &source{seen: map[reporterKey]*sighting{}}
		c.sources[src] = s
	}
	s.expire(now.Add(-c.o.Window))
	key := reporterKey{d.Org, d.Sensor}
	g := s.seen[key]
	if g == nil {
		g = &sighting{first: now}
		s.seen[key] = g
	}
	g.last = now
	g.count += max(d.Count, 1)
	if !slices.Contains(g.kinds, string(d.Kind)) {
		g.kinds = append(g.kinds, string(d.Kind))
		slices.Sort(g.kinds)
	}
	if d.Target.IsValid() {
		g.target = d.Target
	}
	if d.Detail != "" {
		g.detail = clip(d.Detail, 300)
	}
	until := now.Add(c.o.TTL)
	switch {
	case now.Before(s.until):
		// A decision is live (or an analyst refused one): extend it when
		// the end moves by a tenth of the TTL, so a steady attack costs
		// one write every TTL/10 rather than one per detection.
		if until.Sub(s.until) < c.o.TTL/10 && now.Sub(s.wrote) < c.o.TTL/10 {
			return nil
		}
	case s.orgs() < c.o.MinOrgs:
		return nil
	}
	return c.decide(ctx, src, s, now, until)
}

// decide writes the decision of src. c.mu is held.
func (c *Correlator) decide(ctx context.Context, src netip.Addr, s *source, now, until time.Time) error {
	guard, critical, err := c.reg.snapshot(ctx)
	if err != nil {
		return err
	}
	in := Input{Source: src, ApproveAll: c.o.ApproveAll}
	in.Guard, in.Held = guard.Check(kindOf(src), src.String())
	if n, ok := PublicServices().Lookup(src); ok {
		in.Public = n.Name
	}
	if n, ok := c.o.NeverAuto.Lookup(src); ok {
		in.NeverAuto = n.Prefix
	}
	orgs := map[string]bool{}
	dec := store.Decision{Value: src.String(), Scope: store.ScopeIP, Type: store.TypeBan, Origin: store.OriginCorrelation, Until: until}
	for k, g := range s.seen {
		if !orgs[k.org] {
			orgs[k.org] = true
			in.Reporters = append(in.Reporters, Reporter{Org: k.org, Critical: critical[k.org]})
		}
		dec.Evidence = append(dec.Evidence, g.evidence(k))
	}
	dec.Evidence = append(dec.Evidence, s.unsent...)
	v := Judge(in)
	dec.State, dec.Rule, dec.Reason = v.State, v.Rule, v.Reason
	out, created, err := c.st.ApplyDecision(ctx, sys, dec)
	if err != nil {
		return fmt.Errorf("decision: %s: %w", src, err)
	}
	for _, g := range s.seen {
		g.sent = g.count
	}
	s.unsent = nil
	s.until, s.wrote = out.Until, now
	if created {
		c.made.Add(1)
		c.log.Info("national decision", "value", out.Value, "state", out.State, "rule", out.Rule, "orgs", out.Orgs, "until", out.Until)
	}
	return nil
}

// orgs counts the distinct organizations in the window.
func (s *source) orgs() int {
	seen := make(map[string]bool, len(s.seen))
	for k := range s.seen {
		seen[k.org] = true
	}
	return len(seen)
}

// expire forgets sightings older than cutoff, keeping what the store
// has not heard of while a decision is live.
func (s *source) expire(cutoff time.Time) {
	for k, g := range s.seen {
		if g.last.Before(cutoff) {
			if g.count > g.sent && cutoff.Before(s.until) && len(s.unsent) < 100 {
				s.unsent = append(s.unsent, g.evidence(k))
			}
			delete(s.seen, k)
		}
	}
}

// evidence is what the store has not heard of a sighting.
func (g *sighting) evidence(k reporterKey) store.DecisionEvidence {
	e := store.DecisionEvidence{Org: k.org, Sensor: k.sensor, Kinds: slices.Clone(g.kinds), Count: g.count - g.sent,
		First: g.first, Last: g.last, Detail: g.detail}
	if g.target.IsValid() {
		e.Target = g.target.String()
	}
	return e
}

// prune forgets sources with nothing in the window and no live decision.
// c.mu is held.
func (c *Correlator) prune(now time.Time) {
	cutoff := now.Add(-c.o.Window)
	for a, s := range c.sources {
		s.expire(cutoff)
		if len(s.seen) == 0 && !now.Before(s.until) {
			delete(c.sources, a)
		}
	}
	c.lastPrune = now
}

func kindOf(a netip.Addr) intel.Kind {
	if a.Is4() {
		return intel.KindIPv4
	}
	return intel.KindIPv6
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
