package discovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/discovery/routing"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/store"
)

// The platform side of discovery: candidates are placed by the scope
// index and proposed to the organization whose verified domain, network
// or AS number covers them; each pending one is a finding
// (discovery.unregistered-asset) for that organization, with the
// deadline its policy gives. Nothing discovered is scanned: a candidate
// is not an asset, so the scheduler never sees it, until its owner
// confirms it and it becomes one (DecideCandidate registers it).

// FindingKind is the finding a pending candidate raises for its owner.
const FindingKind = "discovery.unregistered-asset"

// Store is what the service reads and writes.
type Store interface {
	store.Discovery
	EachAsset(ctx context.Context, p auth.Principal, fn func(asset.Asset) error) error
	ListObservations(ctx context.Context, p auth.Principal, f store.ObservationFilter) (store.Page[store.Observation], error)
	GetAsset(ctx context.Context, p auth.Principal, id int64) (asset.Asset, error)
	GetScanPolicy(ctx context.Context, p auth.Principal, orgID int64) (store.ScanPolicy, error)
}

// Scope finds the verified asset covering a target (scope.Guard).
type Scope interface {
	Lookup(target string) (asset.Match, error)
}

// Recorder records findings (findings.Service).
type Recorder interface {
	Record(ctx context.Context, b finding.Batch) ([]finding.Change, error)
}

// Config is how the platform runs discovery.
type Config struct {
	Options                 // sources, resolver, dial … (CTLogs are built from CTLogURLs)
	CTLogURLs []CTLogConfig // logs to follow, resuming where the last run stopped
	CTLimit   uint64        // entries at most per log and run (0: 100,000)
	// CTDir is a directory of CT files (ct.ReadFile's formats) for a site
	// without the internet: every regular file in it is read by each run
	// with the ct source.
	CTDir string
	// LoadRouting loads the routing data (announced prefixes by AS) for a
	// run with the routing source; nil: Options.Routing.
	LoadRouting func(ctx context.Context) (*routing.Table, error)
	// Every queues a run over the whole constituency this often (0:
	// runs only when asked).
	Every time.Duration
	// Lease is how long a runner holds a job between progress reports.
	Lease time.Duration
}

// CTLogConfig is one log the platform follows.
type CTLogConfig struct {
	URL string
	Key string // base64 DER public key; empty: tree heads are not verified
}

// ServiceDeps are the service's collaborators; Store and Scope are
// required.
type ServiceDeps struct {
	Store    Store
	Scope    Scope
	Findings Recorder // nil: no findings
	// Invalidate is called after a confirmation registered an asset (the
	// scope guard's Invalidate).
	Invalidate func()
	// Sweeper builds and hands out the scan jobs of analysts' sweeps
	// (the scan scheduler); nil: no sweeps.
	Sweeper Sweeper
	Config  Config
	Now     func() time.Time
	Logger  *slog.Logger
}

// Service proposes candidates to owners and runs discovery jobs.
type Service struct {
	d  ServiceDeps
	mu sync.Mutex // one job at a time in this process
}

// NewService returns the service.
func NewService(d ServiceDeps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Config.CTLimit == 0 {
		d.Config.CTLimit = 100_000
	}
	if d.Config.Lease <= 0 {
		d.Config.Lease = 5 * time.Minute
	}
	return &Service{d: d}
}

// Place decides where a candidate goes: the verified asset covering it and
// its organization, as a candidate of kind hostname, ipv4, ipv6 or cidr.
// It returns false for what no verified asset covers (nobody to propose
// it to) and for what is registered already (the exact hostname, address
// or a network containing the prefix).
func Place(c Candidate, sc Scope) (store.Candidate, bool) {
	sources := []string{string(c.Source)}
	out := store.Candidate{Sources: sources, Addresses: c.Addresses, Evidence: c.Evidence}
	if c.Name != "" {
		m, err := sc.Lookup(c.Name)
		if err != nil || m.Kind == asset.KindHostname || m.Kind == asset.KindMailDomain {
			return out, false // outside the registry, or registered as it is
		}
		out.OrgID, out.AssetID, out.Kind, out.Value = m.OrgID, m.AssetID, asset.KindHostname, c.Name
		return out, true
	}
	p, err := netip.ParsePrefix(c.Prefix)
	if err != nil {
		a, err2 := netip.ParseAddr(c.Prefix)
		if err2 != nil {
			return out, false
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if _, err := sc.Lookup(p.String()); err == nil {
		return out, false // inside a registered address or network: scanned already
	}
	if !strings.HasPrefix(c.Under, "AS") {
		return out, false
	}
	m, err := sc.Lookup(c.Under)
	if err != nil {
		return out, false
	}
	out.OrgID, out.AssetID, out.Kind, out.Value = m.OrgID, m.AssetID, asset.KindCIDR, p.String()
	if p.IsSingleIP() {
		out.Kind, out.Value = asset.KindIPv4, p.Addr().String()
		if p.Addr().Is6() {
			out.Kind = asset.KindIPv6
		}
	}
	return out, true
}

// ProposeReport says what Propose did.
type ProposeReport struct {
	Placed   int `json:"placed"`   // covered by an organization's verified asset
	New      int `json:"new"`      // proposed for the first time
	Pending  int `json:"pending"`  // waiting for their owners (findings recorded)
	Unplaced int `json:"unplaced"` // covered by nobody, or registered already
}

// Propose places candidates, stores them for their owners and records a
// finding for each one still pending.
func (s *Service) Propose(ctx context.Context, jobID string, cs []Candidate) (ProposeReport, error) {
	var rep ProposeReport
	var placed []store.Candidate
	idx := map[string]int{}
	for _, c := range cs {
		sc, ok := Place(c, s.d.Scope)
		if !ok {
			rep.Unplaced++
			continue
		}
		k := strconv.FormatInt(sc.OrgID, 10) + "\x00" + string(sc.Kind) + "\x00" + sc.Value
		if i, dup := idx[k]; dup {
			placed[i].Sources = append(placed[i].Sources, sc.Sources...)
			placed[i].Addresses = append(placed[i].Addresses, sc.Addresses...)
			continue
		}
		idx[k] = len(placed)
		placed = append(placed, sc)
	}
	rep.Placed = len(placed)
	if len(placed) == 0 {
		return rep, nil
	}
	at := s.d.Now().UTC()
	stored, isNew, err := s.d.Store.ProposeCandidates(ctx, auth.SystemPrincipal, placed, at)
	if err != nil {
		return rep, fmt.Errorf("discovery: propose: %w", err)
	}
	var seen []finding.Finding
	var ended []finding.Coverage
	for i, c := range stored {
		if isNew[i] {
			rep.New++
		}
		if c.State != store.CandidatePending {
			// Decided: its finding ended with the decision; this closes
			// it should that have failed.
			ended = append(ended, endedOf(c, decisionNote(c)))
			continue
		}
		rep.Pending++
		seen = append(seen, candidateFinding(c))
	}
	if s.d.Findings != nil && len(seen)+len(ended) > 0 {
		if _, err := s.d.Findings.Record(ctx, finding.Batch{Source: finding.SourceDiscovery, Ref: FindingRef, JobID: jobID, At: at, Seen: seen, Ended: ended}); err != nil {
			return rep, fmt.Errorf("discovery: record findings: %w", err)
		}
	}
	return rep, nil
}

// candidateFinding is the owner's finding for a pending candidate, on the
// asset that covers it.
func candidateFinding(c store.Candidate) finding.Finding {
	what := "host name"
	switch c.Kind {
	case asset.KindIPv4, asset.KindIPv6:
		what = "address"
	case asset.KindCIDR:
		what = "network"
	}
	ev, _ := json.Marshal(map[string]any{"candidate_id": c.ID, "sources": c.Sources, "addresses": c.Addresses, "evidence": c.Evidence,
		"first_seen": c.FirstSeen})
	return finding.Finding{OrgID: c.OrgID, AssetID: c.AssetID, Check: FindingKind, Family: "discovery", Severity: finding.Low,
		Target: c.Value, Title: "Unregistered " + what + " " + c.Value + " found by discovery (" + strings.Join(c.Sources, ", ") + "): confirm or reject it",
		Evidence: ev}
}

// Decide records an owner's answer about a candidate. A confirmed host
// name under the organization's own verified domain (or an address in its
// verified network) is registered verified, since its owner already
// proved the covering asset; a network found through an AS number becomes
// a claim for the national level to approve, like any network.
//
// Who may: see MayDecide. The candidate's finding is closed at once
// (Batch.Ended), with the decision in its history.
func (s *Service) Decide(ctx context.Context, p auth.Principal, id int64, confirm bool, reason string) (store.Candidate, error) {
	if err := MayDecide(p); err != nil {
		return store.Candidate{}, err
	}
	d := store.CandidateDecision{Confirm: confirm, Reason: reason}
	if confirm {
		c, err := s.d.Store.GetCandidate(ctx, p, id)
		if err != nil {
			return c, err
		}
		if c.Kind == asset.KindHostname {
			if m, err := s.d.Scope.Lookup(c.Value); err == nil && m.AssetID == c.AssetID && m.OrgID == c.OrgID {
				d.VerifiedBy = "discovery:" + string(m.Kind) + " " + m.Value
			}
		}
	}
	c, err := s.d.Store.DecideCandidate(ctx, p, id, d)
	if err != nil {
		return c, err
	}
	if confirm && s.d.Invalidate != nil {
		s.d.Invalidate()
	}
	if err := s.endFinding(ctx, c, decisionNote(c)); err != nil {
		// The decision stands; the next run that sees the candidate
		// ends the finding, or it expires.
		s.d.Logger.Warn("discovery: finding of a decided candidate not closed", "candidate", c.ID, "err", err)
	}
	return c, nil
}

// ErrBusy means this process already runs a discovery job.
var ErrBusy = errors.New("discovery: a job is already running in this process")
