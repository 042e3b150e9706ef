package findings

import (
	"context"
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

// Expirer is the store's part the expiry sweep needs.
type Expirer interface {
	ExpireStale(ctx context.Context, ttl func(finding.Source) time.Duration, now time.Time) (int, error)
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

// ExpireStale fixes the findings their source stopped reporting (see
// finding.Stale) and returns how many.
func (s *Service) ExpireStale(ctx context.Context) (int, error) {
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
