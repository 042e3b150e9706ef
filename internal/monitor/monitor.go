package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("monitor: invalid configuration")

// Registry is what the monitor reads of the registry: the store's.
type Registry interface {
	EachAsset(ctx context.Context, p auth.Principal, fn func(asset.Asset) error) error
	AssetsVersion(ctx context.Context) (int64, error)
	GetOrg(ctx context.Context, p auth.Principal, id int64) (org.Organization, error)
}

// Recorder takes findings: findings.Service.
type Recorder interface {
	Record(ctx context.Context, b finding.Batch) ([]finding.Change, error)
}

// Deps are the monitor's collaborators. Registry, State and Findings are
// required; Observations lets the exposure detector stop reporting a
// port closed since (without it, a new exposure is reported for its
// whole hold).
type Deps struct {
	Registry     Registry
	State        store.MonitorState
	Findings     Recorder
	Observations ObservationLister
	Logger       *slog.Logger
	Now          func() time.Time
}

// Config says which detectors run and how. A detector whose settings are
// missing (no resolver, no RDAP URL or file, no zones or logs, no BGP
// peer) does not run; the exposure detector runs unless disabled.
type Config struct {
	DNS       DNSConfig
	Expiry    ExpiryConfig
	Lookalike LookalikeConfig
	CT        CTConfig
	BGP       BGPConfig
	Exposure  ExposureConfig
}

// Validate checks c and fills its defaults.
func (c *Config) Validate() error {
	return errors.Join(c.DNS.validate(), c.Expiry.validate(), c.Lookalike.validate(), c.CT.validate(), c.BGP.validate(), c.Exposure.validate())
}

// Service runs the detectors. Create it with New.
type Service struct {
	d   Deps
	cfg Config
	log *slog.Logger

	regMu sync.Mutex
	reg   *view // the registry as last loaded; nil before the first load

	la       lookalikes
	exposure exposureState
}

// New returns a service over d with configuration cfg (validated here).
func New(d Deps, cfg Config) (*Service, error) {
	if d.Registry == nil || d.State == nil || d.Findings == nil {
		return nil, fmt.Errorf("%w: a registry, a state store and a findings recorder are required", ErrConfig)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	return &Service{d: d, cfg: cfg, log: d.Logger.With("component", "monitor")}, nil
}

func (s *Service) now() time.Time { return s.d.Now().UTC().Truncate(time.Microsecond) }

// Run starts every configured detector and returns when ctx ends. A
// detector that fails a round logs and tries again at its next round; a
// BGP speaker that cannot start is an error at once.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	loop := func(name string, every time.Duration, round func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.every(ctx, name, every, round)
		}()
	}
	if s.cfg.DNS.enabled() {
		loop("dns", s.cfg.DNS.Interval, s.DNSRound)
	}
	if s.cfg.Expiry.enabled() {
		loop("expiry", s.cfg.Expiry.Interval, s.ExpiryRound)
	}
	if s.cfg.Lookalike.enabled() {
		loop("lookalike", s.cfg.Lookalike.Interval, s.LookalikeRound)
	}
	if s.cfg.CT.enabled() {
		loop("ct", s.cfg.CT.Interval, s.CTRound)
	}
	if s.cfg.Exposure.enabled() {
		loop("exposure", s.cfg.Exposure.Interval, s.ExposureRound)
	}
	var err error
	if s.cfg.BGP.enabled() {
		var sp *Speaker
		sp, err = s.StartBGP(ctx)
		if err == nil {
			loop("bgp", s.cfg.BGP.Refresh, sp.Round)
			defer sp.Stop()
		}
	}
	if err == nil {
		<-ctx.Done()
	}
	wg.Wait()
	return err
}

// every runs round now and then every d until ctx ends.
func (s *Service) every(ctx context.Context, name string, d time.Duration, round func(context.Context) error) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		start := time.Now()
		if err := round(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("monitor round failed", "detector", name, "err", err)
		} else {
			s.log.Debug("monitor round", "detector", name, "took", time.Since(start))
		}
		t.Reset(d)
	}
}

// record files what a detector saw as one batch of its reference.
func (s *Service) record(ctx context.Context, ref string, at time.Time, seen []finding.Finding) error {
	if len(seen) == 0 {
		return nil
	}
	b := finding.Batch{Source: finding.SourceMonitor, Ref: ref, At: at, Seen: seen,
		JobID: "monitor/" + ref + "/" + strconv.FormatInt(at.UnixNano(), 36)}
	if _, err := s.d.Findings.Record(ctx, b); err != nil {
		return fmt.Errorf("monitor: %s: record %d findings: %w", ref, len(seen), err)
	}
	return nil
}

// evidence marshals v for a finding; the values are the monitor's own
// types, so an error is a programming error reported as a JSON string.
func evidence(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"error": err.Error()})
	}
	return b
}

// loadState reads the records of kind into a map by key, each value
// decoded into T; a record that does not decode is dropped (and so
// rebuilt by its detector), with a warning.
func loadState[T any](ctx context.Context, s *Service, kind string) (map[string]T, error) {
	recs, err := s.d.State.MonitorStates(ctx, kind)
	if err != nil {
		return nil, fmt.Errorf("monitor: load %s state: %w", kind, err)
	}
	out := make(map[string]T, len(recs))
	for _, r := range recs {
		var v T
		if err := json.Unmarshal(r.Value, &v); err != nil {
			s.log.Warn("monitor: dropping undecodable state", "kind", kind, "key", r.Key, "err", err)
			continue
		}
		out[r.Key] = v
	}
	return out, nil
}

// saveState writes values of kind by key in one call.
func saveState[T any](ctx context.Context, s *Service, kind string, vals map[string]T) error {
	if len(vals) == 0 {
		return nil
	}
	recs := make([]store.MonitorRecord, 0, len(vals))
	for k, v := range vals {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("monitor: save %s state %s: %w", kind, k, err)
		}
		recs = append(recs, store.MonitorRecord{Kind: kind, Key: k, Value: b})
	}
	if err := s.d.State.PutMonitorStates(ctx, recs...); err != nil {
		return fmt.Errorf("monitor: save %s state: %w", kind, err)
	}
	return nil
}

// positive is d when set, else def.
func positive(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
