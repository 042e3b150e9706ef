package decision

import (
	"context"
	"fmt"
	"sync"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/blocklist"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// Store is what the package reads and writes: the decisions and
// bouncers, and the registry the policy protects.
type Store interface {
	store.Decisions
	EachAsset(ctx context.Context, p auth.Principal, fn func(asset.Asset) error) error
	AssetsVersion(ctx context.Context) (int64, error)
	GetOrg(ctx context.Context, p auth.Principal, id int64) (org.Organization, error)
	GetOrgByCode(ctx context.Context, p auth.Principal, code string) (org.Organization, error)
}

var sys = auth.SystemPrincipal

// registry is the constituency as the policy sees it: the guard over its
// assets and the critical-infrastructure members, rebuilt when the
// assets change.
type registry struct {
	st Store

	mu       sync.Mutex
	version  int64
	guard    *blocklist.Guard
	critical map[string]bool // organization code → critical infrastructure
}

func newRegistry(st Store) *registry { return &registry{st: st, version: -1} }

// snapshot returns the current guard and critical members.
func (r *registry) snapshot(ctx context.Context) (*blocklist.Guard, map[string]bool, error) {
	v, err := r.st.AssetsVersion(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("decision: registry: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.guard != nil && r.version == v {
		return r.guard, r.critical, nil
	}
	codes := map[int64]string{}
	critical := map[string]bool{}
	var reg []blocklist.RegisteredAsset
	err = r.st.EachAsset(ctx, sys, func(a asset.Asset) error {
		if a.State == asset.StateRejected {
			return nil // a refused claim is not the constituency's
		}
		code, ok := codes[a.OrgID]
		if !ok {
			o, err := r.st.GetOrg(ctx, sys, a.OrgID)
			if err != nil {
				return fmt.Errorf("organization %d: %w", a.OrgID, err)
			}
			code = o.Code
			codes[a.OrgID] = code
		}
		reg = append(reg, blocklist.RegisteredAsset{Kind: a.Kind, Value: a.Value, Org: code})
		if t := finding.TierOf(string(a.Criticality), a.SecurityLevel); t == finding.TierCritical || t == finding.TierNational {
			critical[code] = true
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("decision: registry: %w", err)
	}
	r.guard = &blocklist.Guard{Registry: blocklist.NewAssetIndex(reg)}
	r.critical, r.version = critical, v
	return r.guard, r.critical, nil
}
