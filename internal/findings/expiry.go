package findings

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
)

// DefaultExpiry is how many days each source that closes its findings by
// expiry may stop reporting one before it counts as fixed: feeds and
// discovery move slowly, sensors and protective DNS see attacks that stop,
// monitoring re-checks often.
var DefaultExpiry = map[finding.Source]int{
	finding.SourceIntel:     30,
	finding.SourceSensor:    7,
	finding.SourceDNS:       7,
	finding.SourceDiscovery: 30,
	finding.SourceMonitor:   3,
}

// DefaultKindExpiry is how many days findings of some kinds live, over
// their source's: Shadowserver and similar feeds report an exposed
// service every day, so one not seen for a week is closed; a sinkholed
// drone silent for two weeks is likely cleaned; a leak is reported once
// and stays news for three months.
var DefaultKindExpiry = map[string]int{
	"intel.exposed-service":    7,
	"intel.compromised-host":   14,
	"intel.leaked-credentials": 90,
}

// Expirer is the store's part the expiry sweep needs.
type Expirer interface {
	ExpireStale(ctx context.Context, ttl func(finding.Source) time.Duration, now time.Time) (int, error)
}

// KindExpirer is an Expirer that also sweeps kinds with times to live of
// their own (kinds[src] lists them; ttl(src, "") is the rest of src).
type KindExpirer interface {
	ExpireStaleKinds(ctx context.Context, ttl func(finding.Source, string) time.Duration, kinds map[finding.Source][]string, now time.Time) (int, error)
}

// TTL is the time to live of a source's findings under Deps.Expiry
// (days per source over DefaultExpiry); 0 for sources that do not expire.
func (s *Service) TTL(src finding.Source) time.Duration {
	if src.Closure() != finding.ClosedByExpiry {
		return 0
	}
	d, ok := s.d.Expiry[src]
	if !ok {
		d = DefaultExpiry[src]
	}
	return time.Duration(d) * 24 * time.Hour
}

// KindTTL is the time to live of findings of kind from src: the kind's
// own days (Deps.KindExpiry over DefaultKindExpiry) win over the
// source's (TTL); kind "" is the source's.
func (s *Service) KindTTL(src finding.Source, kind string) time.Duration {
	if src.Closure() != finding.ClosedByExpiry {
		return 0
	}
	if kind != "" {
		if d, ok := s.d.KindExpiry[kind]; ok {
			return time.Duration(d) * 24 * time.Hour
		}
		if d, ok := DefaultKindExpiry[kind]; ok {
			return time.Duration(d) * 24 * time.Hour
		}
	}
	return s.TTL(src)
}

// ownKinds lists, by source, the kinds whose time to live is their own.
func (s *Service) ownKinds() map[finding.Source][]string {
	out := map[finding.Source][]string{}
	add := func(kind string) {
		src := kindSource(kind)
		if src != "" && !slices.Contains(out[src], kind) {
			out[src] = append(out[src], kind)
		}
	}
	for k := range DefaultKindExpiry {
		add(k)
	}
	for k := range s.d.KindExpiry {
		add(k)
	}
	return out
}

// kindSource is the source a kind closed by expiry comes from, by its
// family ("pdns." is protective DNS); "" for other kinds.
func kindSource(kind string) finding.Source {
	fam, _, _ := strings.Cut(kind, ".")
	switch fam {
	case "intel":
		return finding.SourceIntel
	case "sensor":
		return finding.SourceSensor
	case "pdns":
		return finding.SourceDNS
	case "discovery":
		return finding.SourceDiscovery
	case "monitor":
		return finding.SourceMonitor
	}
	return ""
}

// ExpireStale fixes the findings their source stopped reporting (see
// finding.Stale), kinds with days of their own by those, and returns how
// many.
func (s *Service) ExpireStale(ctx context.Context) (int, error) {
	if e, ok := s.d.Store.(KindExpirer); ok {
		return e.ExpireStaleKinds(ctx, s.KindTTL, s.ownKinds(), s.d.Now())
	}
	e, ok := s.d.Store.(Expirer)
	if !ok {
		return 0, nil
	}
	return e.ExpireStale(ctx, s.TTL, s.d.Now())
}

// Run sweeps stale feed findings every interval (default 15 minutes)
// until ctx ends.
func (s *Service) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = 15 * time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.ExpireStale(ctx); err != nil && ctx.Err() == nil {
			s.d.Logger.Warn("findings: expiry sweep", "err", err)
		} else if n > 0 {
			s.d.Logger.Info("findings: expired findings their source stopped reporting", "fixed", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
