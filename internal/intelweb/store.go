package intelweb

import (
	"context"
	"errors"
	"fmt"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
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

// Concerning returns the IDs of the indicators that concern
// organization orgID itself (not its descendants): those it reported
// seeing, those an early-warning finding of its assets names and the
// TLP:RED ones naming it. At most MaxConcerning, the oldest first.
func Concerning(ctx context.Context, st Store, orgID int64) (map[int64]bool, error) {
	return concerning(ctx, st, store.ConcernFilter{OrgID: orgID})
}

// concerning is Concerning narrowed by f (f.OrgID is the organization).
func concerning(ctx context.Context, st Store, f store.ConcernFilter) (map[int64]bool, error) {
	set := map[int64]bool{}
	if f.OrgID == 0 {
		return set, nil
	}
	err := eachConcerning(ctx, st, f, func(si store.StoredIndicator) error {
		set[si.ID] = true
		if len(set) >= MaxConcerning {
			return errEnough
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return nil, err
	}
	return set, nil
}

// eachConcerning calls fn for the indicators that concern an
// organization (store.Intel.IndicatorsConcerning), in Seq order, pages of
// f.Limit (0: store.MaxLimit) at a time. fn's error stops it and is
// returned as is.
func eachConcerning(ctx context.Context, st Store, f store.ConcernFilter, fn func(store.StoredIndicator) error) error {
	if f.Limit <= 0 || f.Limit > store.MaxLimit {
		f.Limit = store.MaxLimit
	}
	for {
		pg, err := st.IndicatorsConcerning(ctx, sys, f)
		if errors.Is(err, store.ErrNotFound) {
			return nil // the organization is gone: nothing concerns it
		}
		if err != nil {
			return fmt.Errorf("intelweb: indicators concerning organization %d: %w", f.OrgID, err)
		}
		for _, si := range pg.Items {
			if err := fn(si); err != nil {
				return err
			}
		}
		if pg.Next == "" {
			return nil
		}
		f.After = pg.Next
	}
}
