package scan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/queue"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
	"github.com/rampart-cert/rampart/internal/store"
)

// Posture tells the scheduler how bad an asset currently is; nil means
// every asset counts as clean.
type Posture interface {
	WorstForAsset(ctx context.Context, assetID int64) (worst finding.Severity, kev bool, err error)
}

// SchedulerStore is what the scheduler reads and writes.
type SchedulerStore interface {
	DueAssets(ctx context.Context, now time.Time, limit int) ([]store.DueAsset, error)
	GetAsset(ctx context.Context, p auth.Principal, id int64) (asset.Asset, error)
	GetScanPolicy(ctx context.Context, p auth.Principal, orgID int64) (store.ScanPolicy, error)
	GetAssetScanProfile(ctx context.Context, p auth.Principal, assetID int64) (store.ScanProfile, error)
	CreateScanJob(ctx context.Context, p auth.Principal, j *store.ScanJob) error
	SetAssetSchedule(ctx context.Context, assetID int64, last, next time.Time) error
}

// ScopeChecker is the scope guard's lookup.
type ScopeChecker interface {
	Lookup(target string) (asset.Match, error)
}

// OrgAddrs is implemented by a scope checker that can list an
// organization's verified address assets (ipv4, ipv6 and cidr values),
// as scope.Guard does. The scheduler puts them in each job
// (PortscanParams.AllowedAddrs): the only addresses a name may lead the
// job's worker to (security F6). Without it a job allows none.
type OrgAddrs interface {
	OrgAddrs(orgID int64) []string
}

// OrgNames is implemented by a scope checker that can list an
// organization's verified names (host names, domains, URL hosts), as
// scope.Guard does. The scheduler puts them in the jobs of the
// organization's addresses (PortscanParams.VirtualHosts), so every name
// of an address is checked there.
type OrgNames interface {
	OrgNames(orgID int64) []string
}

// MaxVirtualHosts bounds the names one job checks on its addresses (each
// is one DNS question per job): the first ones in order are kept.
const MaxVirtualHosts = 512

// SchedulerConfig configures a scheduler.
type SchedulerConfig struct {
	Region   string        // the platform's default region: where jobs go when no organization up the tree names regions
	Router   *Router       // places jobs in regions (regions.go); nil: every job to Region
	Cadence  Cadence       // default DefaultCadence
	Ports    string        // default "top1000"
	Checks   []string      // default ["all"]
	Every    time.Duration // how often to look for due assets; default 1m
	Batch    int           // assets per tick; default 500
	Defaults scanjob.PortscanParams
	Logger   *slog.Logger
	Now      func() time.Time
	// Wake, when set, is called after Queue stored a job, to wake the
	// outbox relay that publishes it (events.Relay.Notify).
	Wake func()
}

// Scheduler plans scans of due assets and publishes their jobs.
type Scheduler struct {
	st      SchedulerStore
	q       queue.Queue
	scope   ScopeChecker
	posture Posture
	cfg     SchedulerConfig
}

// NewScheduler returns a scheduler; posture may be nil.
func NewScheduler(st SchedulerStore, q queue.Queue, scope ScopeChecker, posture Posture, cfg SchedulerConfig) *Scheduler {
	if cfg.Cadence == (Cadence{}) {
		cfg.Cadence = DefaultCadence
	}
	if cfg.Ports == "" {
		cfg.Ports = "top1000"
	}
	if cfg.Checks == nil {
		cfg.Checks = []string{"all"}
	}
	if cfg.Every <= 0 {
		cfg.Every = time.Minute
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 500
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Scheduler{st: st, q: q, scope: scope, posture: posture, cfg: cfg}
}

// Run ticks until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.Every)
	defer t.Stop()
	for {
		if n, err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("scheduler: tick failed", "err", err)
		} else if n > 0 {
			s.cfg.Logger.Info("scheduler: jobs queued", "jobs", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Tick queues a job for every due asset and returns how many it queued.
func (s *Scheduler) Tick(ctx context.Context) (int, error) {
	now := s.cfg.Now().UTC()
	due, err := s.st.DueAssets(ctx, now, s.cfg.Batch)
	if err != nil {
		return 0, err
	}
	queued := 0
	for _, d := range due {
		ok, err := s.plan(ctx, d, now)
		if err != nil {
			s.cfg.Logger.Warn("scheduler: asset not scheduled", "asset_id", d.AssetID, "err", err)
			// Try again after a short while rather than every tick.
			_ = s.st.SetAssetSchedule(ctx, d.AssetID, lastOr(d, now), now.Add(time.Hour))
			continue
		}
		if ok {
			queued++
		}
	}
	return queued, nil
}

func lastOr(d store.DueAsset, now time.Time) time.Time {
	if d.LastScanAt != nil {
		return *d.LastScanAt
	}
	return time.Time{}
}

// plan queues the job of one due asset; false when it is not scanned now
// (blackout window, nothing to probe).
func (s *Scheduler) plan(ctx context.Context, d store.DueAsset, now time.Time) (bool, error) {
	sys := auth.SystemPrincipal
	a, err := s.st.GetAsset(ctx, sys, d.AssetID)
	if err != nil {
		return false, err
	}
	pol, err := s.st.GetScanPolicy(ctx, sys, a.OrgID)
	if err != nil {
		return false, err
	}
	prof, err := s.st.GetAssetScanProfile(ctx, sys, a.ID)
	if err != nil {
		return false, err
	}
	pol = pol.ForAsset(prof) // the asset's own profile wins over its organization's
	if InBlackout(pol.Blackouts, now) {
		// Look again in a quarter of an hour; the window will end.
		return false, s.st.SetAssetSchedule(ctx, a.ID, lastOr(d, now), now.Add(15*time.Minute))
	}
	interval := s.cfg.Cadence.Clean
	if s.posture != nil {
		worst, kev, err := s.posture.WorstForAsset(ctx, a.ID)
		if err != nil {
			return false, err
		}
		interval = s.cfg.Cadence.Interval(worst, kev)
	}
	if a.Kind == asset.KindASN {
		// ASNs carry no address until routing data is imported.
		return false, s.st.SetAssetSchedule(ctx, a.ID, lastOr(d, now), now.Add(interval))
	}
	js, err := s.Jobs(a, pol, "schedule", "scheduler", now)
	if err != nil {
		return false, err
	}
	for i := range js {
		if err := s.Queue(ctx, &js[i]); err != nil {
			return false, err
		}
	}
	return true, s.st.SetAssetSchedule(ctx, a.ID, now, now.Add(interval))
}

// baseJob builds the portscan job of asset a in the default region; Job
// and Jobs (regions.go) place it.
func (s *Scheduler) baseJob(a asset.Asset, pol store.ScanPolicy, reason, by string, now time.Time) (store.ScanJob, error) {
	target := scanjob.TargetOf(a)
	// A URL asset covers its own host for its own job (the worker's job
	// scope allows that host only for it): look the URL itself up (F25).
	covered := target
	if a.Kind == asset.KindURL {
		covered = a.Value
	}
	if _, err := s.scope.Lookup(covered); err != nil {
		return store.ScanJob{}, fmt.Errorf("scan: asset %d target %s: %w", a.ID, target, err)
	}
	p := s.cfg.Defaults
	p.AssetKind, p.AssetValue, p.Exclusions = a.Kind, a.Value, pol.Exclusions
	p.Credentials = pol.Credentials // default-password attempts only for an organization that opts in
	p.UDP = pol.UDP                 // UDP only for an organization whose policy turns it on
	// The scan profile (the asset's override of its organization's
	// policy, store.ScanPolicy.ForAsset): what it leaves unset keeps the
	// platform's defaults.
	if pol.Ports != "" {
		p.Ports = pol.Ports
	}
	if len(pol.Families) > 0 {
		p.Checks = slices.Clone(pol.Families)
	}
	if pol.Rate > 0 {
		p.Rate = pol.Rate
	}
	if oa, ok := s.scope.(OrgAddrs); ok {
		// Platform-approved ranges in Defaults come first, then the
		// organization's own addresses.
		p.AllowedAddrs = append(slices.Clip(p.AllowedAddrs), oa.OrgAddrs(a.OrgID)...)
	}
	if on, ok := s.scope.(OrgNames); ok && addressKind(a.Kind) {
		p.VirtualHosts = on.OrgNames(a.OrgID)
		if len(p.VirtualHosts) > MaxVirtualHosts {
			p.VirtualHosts = p.VirtualHosts[:MaxVirtualHosts]
		}
	}
	if p.Ports == "" {
		p.Ports = s.cfg.Ports
	}
	if p.Checks == nil {
		p.Checks = s.cfg.Checks
	}
	params, err := json.Marshal(p)
	if err != nil {
		return store.ScanJob{}, err
	}
	// Scheduled jobs are keyed by the minute so two schedulers (or a
	// retried tick) plan one job; a person's request is always a new job.
	id := fmt.Sprintf("a%d-%s-%s", a.ID, reason, now.UTC().Format("20060102T1504"))
	if reason != "schedule" {
		id = fmt.Sprintf("a%d-%s-%s", a.ID, reason, now.UTC().Format("20060102T150405.000000000"))
	}
	return store.ScanJob{
		ID:          id,
		OrgID:       a.OrgID,
		AssetID:     a.ID,
		Type:        scanjob.JobPortscan,
		Region:      s.cfg.Region,
		Reason:      reason,
		Target:      target,
		Params:      params,
		State:       store.JobQueued,
		RequestedBy: by,
		CreatedAt:   now.UTC(),
		Dispatch:    Dispatch,
	}, nil
}

// addressKind reports whether an asset of kind k is addresses (whose jobs
// check the organization's names on them as virtual hosts).
func addressKind(k asset.Kind) bool {
	return k == asset.KindIPv4 || k == asset.KindIPv6 || k == asset.KindCIDR
}

// Queue hands a job to the workers. It stores the job, unless it is stored
// already, together with its publish message in the outbox, in one
// transaction (j.Dispatch, which Job sets and Queue fills in when
// missing), and wakes the outbox relay, which publishes it with message ID
// "job-<ID>". So a crash at any point leaves either no job or a job that
// will be published (reliability review F3), and with the queue down the
// job waits in the outbox and Queue still succeeds: the job is queued and
// runs once the queue is back (F9). A job already stored is left as it is
// (a retried tick, or a request the findings service stored as the person
// who made it, with the same message in the outbox).
func (s *Scheduler) Queue(ctx context.Context, j *store.ScanJob) error {
	if j.Dispatch == nil {
		j.Dispatch = Dispatch
	}
	if err := s.st.CreateScanJob(ctx, auth.SystemPrincipal, j); err != nil && !errors.Is(err, store.ErrConflict) {
		return err
	}
	if s.cfg.Wake != nil {
		s.cfg.Wake()
	}
	return nil
}
