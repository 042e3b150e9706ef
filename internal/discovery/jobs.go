package discovery

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/discovery/ct"
	"github.com/rampart-cert/rampart/internal/store"
)

// Discovery jobs run in the control plane (rampart serve), not on the
// scan workers: a run reads the registry (verified assets, the
// certificates past scans saw, where each CT log was last read) and
// writes candidates, and its traffic goes to CT logs and to the
// configured resolver rather than to targets, apart from zone transfers
// from a zone's own name servers and the front pages of verified web
// sites. A worker has no database, so the job would have to carry the
// whole registry (100,000 domains for CT matching) and bring every
// candidate back. Jobs are rows of discovery_jobs: queued by a person or
// the schedule, taken with a lease by one runner, their progress stored
// as they go, taken again by another process when a runner dies.

// JobProgress is what a running job reports.
type JobProgress struct {
	Stats   Stats         `json:"stats"`
	Propose ProposeReport `json:"propose"`
	Steps   []Progress    `json:"steps,omitempty"` // the last ones
}

// Targets returns the registry's verified assets as discovery targets:
// of one organization's subtree, or all when orgID is 0.
func (s *Service) Targets(ctx context.Context, orgID int64) (Targets, error) {
	p := auth.SystemPrincipal
	if orgID != 0 {
		p = auth.Principal{Name: "discovery", Role: auth.RoleViewer, OrgID: orgID}
	}
	var t Targets
	err := s.d.Store.EachAsset(ctx, p, func(a asset.Asset) error {
		if !a.Verified() {
			return nil
		}
		switch a.Kind {
		case asset.KindDomain:
			t.Domains = append(t.Domains, a.Value)
		case asset.KindIPv4, asset.KindIPv6, asset.KindCIDR:
			if pf, err := netip.ParsePrefix(a.Value); err == nil {
				t.Prefixes = append(t.Prefixes, pf)
			} else if ad, err := netip.ParseAddr(a.Value); err == nil {
				t.Prefixes = append(t.Prefixes, netip.PrefixFrom(ad, ad.BitLen()))
			}
		case asset.KindURL:
			t.URLs = append(t.URLs, a.Value)
		case asset.KindASN:
			if n, err := strconv.ParseUint(strings.TrimPrefix(a.Value, "AS"), 10, 32); err == nil {
				t.ASNs = append(t.ASNs, uint32(n))
			}
		}
		return nil
	})
	return t, err
}

// seenCerts lists the names of the certificates the platform's scans saw.
func (s *Service) seenCerts(ctx context.Context) ([]SeenCert, error) {
	var out []SeenCert
	after := ""
	for range 1000 {
		page, err := s.d.Store.ListObservations(ctx, auth.SystemPrincipal, store.ObservationFilter{PageRequest: store.PageRequest{Limit: store.MaxLimit, After: after}})
		if err != nil {
			return nil, err
		}
		for _, o := range page.Items {
			if names := NamesFromCertSummary(o.Cert); len(names) > 0 {
				out = append(out, SeenCert{Names: names, Addr: o.IP + ":" + strconv.Itoa(o.Port)})
			}
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	return out, nil
}

// RunJob runs one discovery job to the end, reporting progress and
// proposing candidates in batches as they come.
func (s *Service) RunJob(ctx context.Context, j store.DiscoveryJob) error {
	if !s.mu.TryLock() {
		return ErrBusy
	}
	defer s.mu.Unlock()
	fail := func(err error) error {
		_ = s.d.Store.UpdateDiscoveryJob(ctx, j.ID, store.JobFailed, nil, err.Error(), s.d.Now())
		return err
	}
	t, err := s.Targets(ctx, j.OrgID)
	if err != nil {
		return fail(fmt.Errorf("discovery: job %d: targets: %w", j.ID, err))
	}
	o := s.d.Config.Options
	if len(j.Sources) > 0 {
		src, err := ParseSources(strings.Join(j.Sources, ","))
		if err != nil {
			return fail(err)
		}
		o.Sources = src
	}
	if o.SeenCerts, err = s.seenCerts(ctx); err != nil {
		return fail(fmt.Errorf("discovery: job %d: observations: %w", j.ID, err))
	}
	if o.SeenCerts == nil {
		o.SeenCerts = []SeenCert{} // never connect from the platform for certificates
	}
	o.CTLogs = nil
	for _, l := range s.d.Config.CTLogURLs {
		c := &ct.Client{URL: l.URL, UserAgent: o.UserAgent}
		if l.Key != "" {
			if k, err := ct.ParseKey(l.Key); err == nil {
				c.Key = k
			}
		}
		next, size, err := s.d.Store.CTPosition(ctx, l.URL)
		if err != nil {
			return fail(err)
		}
		o.CTLogs = append(o.CTLogs, CTLog{Client: c, Position: ct.Position{Next: next, TreeSize: size}, Limit: s.d.Config.CTLimit})
	}
	if hasSource(o.Sources, SourceCT) && s.d.Config.CTDir != "" {
		files, err := CTDirFiles(s.d.Config.CTDir)
		if err != nil {
			return fail(fmt.Errorf("discovery: job %d: %w", j.ID, err))
		}
		o.CTFiles = append(slices.Clip(o.CTFiles), files...)
	}
	if hasSource(o.Sources, SourceRouting) && s.d.Config.LoadRouting != nil {
		if o.Routing, err = s.d.Config.LoadRouting(ctx); err != nil {
			return fail(fmt.Errorf("discovery: job %d: routing data: %w", j.ID, err))
		}
	}
	jobRef := "discovery-" + strconv.FormatInt(j.ID, 10)
	var (
		mu    sync.Mutex
		batch []Candidate
		prog  JobProgress
		perr  error
	)
	flush := func() {
		mu.Lock()
		b := batch
		batch = nil
		mu.Unlock()
		if len(b) == 0 {
			return
		}
		rep, err := s.Propose(ctx, jobRef, b)
		mu.Lock()
		prog.Propose.Placed += rep.Placed
		prog.Propose.New += rep.New
		prog.Propose.Pending += rep.Pending
		prog.Propose.Unplaced += rep.Unplaced
		if err != nil && perr == nil {
			perr = err
		}
		mu.Unlock()
	}
	report := func() {
		mu.Lock()
		b, _ := json.Marshal(prog)
		mu.Unlock()
		_ = s.d.Store.UpdateDiscoveryJob(ctx, j.ID, store.JobRunning, b, "", s.d.Now().Add(s.d.Config.Lease))
	}
	o.CTDone = func(url string, pos ct.Position, _ CTStats, _ error) {
		if err := s.d.Store.SetCTPosition(ctx, url, pos.Next, pos.TreeSize); err != nil {
			s.d.Logger.Warn("discovery: CT position not saved", "log", url, "err", err)
		}
	}
	o.Progress = func(p Progress) {
		mu.Lock()
		prog.Steps = append(prog.Steps, p)
		if len(prog.Steps) > 50 {
			prog.Steps = prog.Steps[len(prog.Steps)-50:]
		}
		mu.Unlock()
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(5 * time.Second)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				flush()
				report()
			}
		}
	}()
	st, err := Run(ctx, t, o, func(c Candidate) {
		mu.Lock()
		batch = append(batch, c)
		mu.Unlock()
	})
	close(stop)
	<-done
	flush()
	mu.Lock()
	prog.Stats = st
	if err == nil {
		err = perr
	}
	b, _ := json.Marshal(prog)
	mu.Unlock()
	if err != nil {
		_ = s.d.Store.UpdateDiscoveryJob(context.WithoutCancel(ctx), j.ID, store.JobFailed, b, err.Error(), s.d.Now())
		return err
	}
	return s.d.Store.UpdateDiscoveryJob(ctx, j.ID, store.JobDone, b, "", s.d.Now())
}

// Loop runs queued jobs until ctx ends and, when Config.Every is set,
// queues a run over the whole constituency that often.
func (s *Service) Loop(ctx context.Context) {
	tk := time.NewTicker(15 * time.Second)
	defer tk.Stop()
	var last time.Time
	for {
		if every := s.d.Config.Every; every > 0 && s.d.Now().Sub(last) >= every {
			last = s.d.Now()
			if err := s.d.Store.CreateDiscoveryJob(ctx, auth.SystemPrincipal, &store.DiscoveryJob{}); err != nil {
				s.d.Logger.Warn("discovery: schedule", "err", err)
			}
		}
		for ctx.Err() == nil {
			j, ok, err := s.d.Store.ClaimDiscoveryJob(ctx, s.d.Now(), s.d.Config.Lease)
			if err != nil {
				s.d.Logger.Warn("discovery: claim", "err", err)
				break
			}
			if !ok {
				break
			}
			if err := s.RunJob(ctx, j); err != nil {
				s.d.Logger.Warn("discovery: job failed", "job", j.ID, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
	}
}
