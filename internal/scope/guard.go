// Package scope keeps the live scope guard: an in-memory asset.Index built
// from the store's verified assets and rebuilt when assets change,
// answering "which asset and organization own this target?" for every
// probe and for the API. A claimed (not yet verified) or rejected asset is
// not in the index, so nothing probes it. The package also holds the
// claims service (claims.go): how a claim is registered, proven, approved
// or rejected.
//
// Lookups never touch the database. The guard watches the store's
// AssetsVersion, so a change made by any process (another `rampart serve`
// on the same PostgreSQL) is picked up within the refresh interval, and a
// change made through this process is picked up at once via Invalidate.
package scope

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// ErrNotReady means the first index has not been built yet.
var ErrNotReady = errors.New("scope: index not built yet")

// Source is what the guard reads: the asset and organization parts of a store.
type Source interface {
	EachAsset(ctx context.Context, p auth.Principal, fn func(asset.Asset) error) error
	AssetsVersion(ctx context.Context) (int64, error)
	ListOrgs(ctx context.Context, p auth.Principal, f store.OrgFilter) (store.Page[org.Organization], error)
}

// snapshot is one immutable generation of the index.
type snapshot struct {
	index *asset.Index     // verified assets only: what may be probed
	paths map[int64]string // organization ID → materialized path
	// conflicts maps a claimed asset to the verified assets of other
	// organizations it overlaps (either covering the other).
	conflicts map[int64][]asset.Entry
	// addrs lists each organization's verified ipv4, ipv6 and cidr
	// values: the addresses its names may lead a scan to (OrgAddrs).
	addrs map[int64][]string
	// names lists each organization's verified names: host names,
	// domains and the hosts of its URLs (OrgNames).
	names   map[int64][]string
	version int64
	built   time.Time
}

// Guard answers scope questions from the latest snapshot.
type Guard struct {
	src   Source
	log   *slog.Logger
	cur   atomic.Pointer[snapshot]
	mu    sync.Mutex // serializes rebuilds
	kick  chan struct{}
	every time.Duration
}

// New returns a guard over src. Call Refresh once before serving, then Run
// in the background to keep it current.
func New(src Source, every time.Duration, log *slog.Logger) *Guard {
	if every <= 0 {
		every = 5 * time.Second
	}
	if log == nil {
		log = slog.Default()
	}
	return &Guard{src: src, log: log, kick: make(chan struct{}, 1), every: every}
}

// Refresh rebuilds the index if the store's asset version moved (or no
// index exists yet).
func (g *Guard) Refresh(ctx context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	v, err := g.src.AssetsVersion(ctx)
	if err != nil {
		return fmt.Errorf("scope: read version: %w", err)
	}
	if s := g.cur.Load(); s != nil && s.version == v {
		return nil
	}
	start := time.Now()
	b := asset.NewBuilder()
	// claims indexes verified assets and claims together, to find the
	// verified assets each claim overlaps. Rejected assets are in neither.
	claims := asset.NewBuilder()
	claimed := map[int64]bool{}
	addrs := map[int64][]string{}
	names := map[int64][]string{}
	n := 0
	err = g.src.EachAsset(ctx, auth.SystemPrincipal, func(a asset.Asset) error {
		n++
		e := asset.Entry{AssetID: a.ID, OrgID: a.OrgID, Kind: a.Kind, Value: a.Value}
		switch a.State {
		case asset.StateVerified:
			if err := b.Add(e); err != nil {
				// A stored value that no longer parses must not stop the
				// whole guard; it covers nothing until fixed.
				g.log.Warn("scope: skip asset", "asset_id", a.ID, "err", err)
				return nil
			}
			_ = claims.Add(e)
			switch a.Kind {
			case asset.KindIPv4, asset.KindIPv6, asset.KindCIDR:
				addrs[a.OrgID] = append(addrs[a.OrgID], a.Value)
			case asset.KindHostname, asset.KindDomain, asset.KindURL:
				if name := nameOf(a); name != "" {
					names[a.OrgID] = append(names[a.OrgID], name)
				}
			}
		case asset.StateClaimed:
			if claims.Add(e) == nil {
				claimed[a.ID] = true
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("scope: load assets: %w", err)
	}
	paths, err := g.loadPaths(ctx)
	if err != nil {
		return err
	}
	conflicts := map[int64][]asset.Entry{}
	if len(claimed) > 0 {
		for _, o := range claims.Build().Overlaps() {
			switch {
			case claimed[o.Outer.AssetID] && !claimed[o.Inner.AssetID]:
				conflicts[o.Outer.AssetID] = append(conflicts[o.Outer.AssetID], o.Inner)
			case claimed[o.Inner.AssetID] && !claimed[o.Outer.AssetID]:
				conflicts[o.Inner.AssetID] = append(conflicts[o.Inner.AssetID], o.Outer)
			}
		}
	}
	for o, ns := range names {
		slices.Sort(ns)
		names[o] = slices.Compact(ns)
	}
	g.cur.Store(&snapshot{index: b.Build(), paths: paths, conflicts: conflicts, addrs: addrs, names: names, version: v, built: time.Now()})
	g.log.Debug("scope: index rebuilt", "assets", n, "version", v, "took", time.Since(start))
	return nil
}

func (g *Guard) loadPaths(ctx context.Context) (map[int64]string, error) {
	paths := map[int64]string{}
	req := store.OrgFilter{PageRequest: store.PageRequest{Limit: store.MaxLimit}}
	for {
		page, err := g.src.ListOrgs(ctx, auth.SystemPrincipal, req)
		if err != nil {
			return nil, fmt.Errorf("scope: load organizations: %w", err)
		}
		for _, o := range page.Items {
			paths[o.ID] = o.Path
		}
		if page.Next == "" {
			return paths, nil
		}
		req.After = page.Next
	}
}

// Invalidate asks the background loop to rebuild soon; cheap to call after
// every asset write.
func (g *Guard) Invalidate() {
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

// Run keeps the index current until ctx ends.
func (g *Guard) Run(ctx context.Context) {
	t := time.NewTicker(g.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-g.kick:
		}
		if err := g.Refresh(ctx); err != nil && ctx.Err() == nil {
			g.log.Warn("scope: refresh failed", "err", err)
		}
	}
}

// Lookup finds the owner of target as the system sees it: for probes.
func (g *Guard) Lookup(target string) (asset.Match, error) {
	s := g.cur.Load()
	if s == nil {
		return asset.Match{}, ErrNotReady
	}
	return s.index.Lookup(target)
}

// LookupFor finds the owner of target as principal p sees it: a target
// owned outside p's subtree is out of scope for p, so the answer does not
// reveal other organizations' assets.
func (g *Guard) LookupFor(p auth.Principal, target string) (asset.Match, error) {
	s := g.cur.Load()
	if s == nil {
		return asset.Match{}, ErrNotReady
	}
	m, err := s.index.Lookup(target)
	if err != nil {
		return m, err
	}
	if !visible(p, s, m.OrgID) {
		return asset.Match{}, fmt.Errorf("%w: %s", asset.ErrOutOfScope, target)
	}
	return m, nil
}

// Overlaps lists assets of one organization covered by another's, limited
// to pairs where p sees both sides.
func (g *Guard) Overlaps(p auth.Principal) ([]asset.Overlap, error) {
	s := g.cur.Load()
	if s == nil {
		return nil, ErrNotReady
	}
	var out []asset.Overlap
	for _, o := range s.index.Overlaps() {
		if visible(p, s, o.Outer.OrgID) && visible(p, s, o.Inner.OrgID) {
			out = append(out, o)
		}
	}
	return out, nil
}

// Conflicts returns the verified assets of other organizations that the
// claimed asset id overlaps, as of the last refresh (system view: callers
// show them only to whoever may settle them).
func (g *Guard) Conflicts(id int64) []asset.Entry {
	s := g.cur.Load()
	if s == nil {
		return nil
	}
	return s.conflicts[id]
}

// OrgAddrs returns the verified ipv4, ipv6 and cidr values of one
// organization as of the last refresh: the addresses a name of that
// organization may lead its scans to (scan.OrgAddrs, security F6).
func (g *Guard) OrgAddrs(orgID int64) []string {
	s := g.cur.Load()
	if s == nil {
		return nil
	}
	return slices.Clone(s.addrs[orgID])
}

// OrgNames returns the verified names of one organization as of the last
// refresh, sorted: its host names, its domains and the hosts of its URLs
// (not addresses). A scan of one of its addresses checks the web services
// there under each of them that resolves to it (scan.OrgNames).
func (g *Guard) OrgNames(orgID int64) []string {
	s := g.cur.Load()
	if s == nil {
		return nil
	}
	return slices.Clone(s.names[orgID])
}

// nameOf is the DNS name an asset stands for: a host name or domain
// itself, a URL's host when it is a name; "" otherwise.
func nameOf(a asset.Asset) string {
	if a.Kind != asset.KindURL {
		return a.Value
	}
	u, err := url.Parse(a.Value)
	if err != nil {
		return ""
	}
	h := strings.ToLower(u.Hostname())
	if _, err := netip.ParseAddr(h); err != nil && h != "" {
		return h
	}
	return ""
}

// OrgPath returns the materialized path of an organization as of the last
// refresh, or "" when it is unknown.
func (g *Guard) OrgPath(orgID int64) string {
	s := g.cur.Load()
	if s == nil {
		return ""
	}
	return s.paths[orgID]
}

// Stats reports the current snapshot.
func (g *Guard) Stats() (entries int, version int64, built time.Time) {
	s := g.cur.Load()
	if s == nil {
		return 0, 0, time.Time{}
	}
	return s.index.Len(), s.version, s.built
}

func visible(p auth.Principal, s *snapshot, orgID int64) bool {
	if p.SeesAll() || p.Role == auth.RoleWorker {
		return true // workers probe the whole registry
	}
	path, ok := s.paths[orgID]
	return ok && org.InSubtree(path, p.OrgPath)
}
