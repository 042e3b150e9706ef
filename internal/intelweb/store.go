package intelweb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// Store is what the package reads: the hub's state, the registry (assets
// and organizations) and the early-warning findings.
type Store interface {
	store.Intel
	EachAsset(ctx context.Context, p auth.Principal, fn func(asset.Asset) error) error
	AssetsVersion(ctx context.Context) (int64, error)
	ListFindings(ctx context.Context, p auth.Principal, f store.FindingFilter) (store.Page[store.Finding], error)
	ListOrgs(ctx context.Context, p auth.Principal, f store.OrgFilter) (store.Page[org.Organization], error)
	GetOrg(ctx context.Context, p auth.Principal, id int64) (org.Organization, error)
}

// sys is the platform's own view: the package reads as the system and
// applies the TLP policy itself.
var sys = auth.SystemPrincipal

// MaxConcerning bounds the indicators one organization's collection
// holds (its sightings and early-warning hits); the newest are kept.
const MaxConcerning = 50_000

// errEnough stops a walk that has what it needs.
var errEnough = errors.New("intelweb: enough")

// Concerning returns the IDs of the indicators that concern organization
// orgID itself (not its descendants): those it reported seeing and those
// an early-warning finding of its assets names. At most MaxConcerning.
func Concerning(ctx context.Context, st Store, orgID int64) (map[int64]bool, error) {
	set := map[int64]bool{}
	if orgID == 0 {
		return set, nil
	}
	pr := store.PageRequest{Limit: store.MaxLimit}
	for {
		pg, err := st.ListSightings(ctx, sys, store.SightingFilter{OrgID: orgID, PageRequest: pr})
		if err != nil {
			return nil, fmt.Errorf("intelweb: sightings of organization %d: %w", orgID, err)
		}
		for _, s := range pg.Items {
			if s.OrgID == orgID && len(set) < MaxConcerning {
				set[s.IndicatorID] = true
			}
		}
		if pg.Next == "" || len(set) >= MaxConcerning {
			break
		}
		pr.After = pg.Next
	}
	seen := map[store.IndicatorKey]bool{}
	f := store.FindingFilter{OrgID: orgID, Check: "intel.", PageRequest: store.PageRequest{Limit: store.MaxLimit}}
	for len(set) < MaxConcerning {
		pg, err := st.ListFindings(ctx, sys, f)
		if err != nil {
			return nil, fmt.Errorf("intelweb: early warnings of organization %d: %w", orgID, err)
		}
		for i := range pg.Items {
			fd := &pg.Items[i]
			if fd.OrgID != orgID {
				continue
			}
			k, ok := evidenceIndicator(fd.Evidence)
			if !ok || seen[k] {
				continue
			}
			seen[k] = true
			in, err := st.FindIndicator(ctx, sys, k)
			if errors.Is(err, store.ErrNotFound) {
				continue // a report row about an owned service: routed, not kept
			}
			if err != nil {
				return nil, fmt.Errorf("intelweb: indicator of finding %d: %w", fd.ID, err)
			}
			if len(set) < MaxConcerning {
				set[in.ID] = true
			}
		}
		if pg.Next == "" {
			break
		}
		f.After = pg.Next
	}
	return set, nil
}

// evidenceIndicator reads the indicator an early-warning finding names
// ({"indicator": {"kind": …, "value": …}}).
func evidenceIndicator(ev json.RawMessage) (store.IndicatorKey, bool) {
	if len(ev) == 0 {
		return store.IndicatorKey{}, false
	}
	var e struct {
		Indicator struct {
			Kind  string `json:"kind"`
			Value string `json:"value"`
		} `json:"indicator"`
	}
	if json.Unmarshal(ev, &e) != nil || e.Indicator.Value == "" {
		return store.IndicatorKey{}, false
	}
	k := intel.Kind(e.Indicator.Kind)
	if !k.Valid() {
		return store.IndicatorKey{}, false
	}
	return store.IndicatorKey{Kind: k, Value: e.Indicator.Value}, true
}
