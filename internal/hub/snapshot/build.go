package snapshot

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/blocklist"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// Store is what the publisher reads: the indicators, the reviews of the
// held ones and the registry the guard protects.
type Store interface {
	EachIndicator(ctx context.Context, p auth.Principal, f store.IndicatorFilter, fn func(store.StoredIndicator) error) error
	IntelSeq(ctx context.Context) (int64, error)
	ListReviews(ctx context.Context, p auth.Principal, f store.ReviewFilter) (store.Page[store.Review], error)
	EachAsset(ctx context.Context, p auth.Principal, fn func(asset.Asset) error) error
	AssetsVersion(ctx context.Context) (int64, error)
	GetOrg(ctx context.Context, p auth.Principal, id int64) (org.Organization, error)
}

var sys = auth.SystemPrincipal

// builder makes the entries the way the hub's blocklists do: the active
// indicators the guard lets through, and those it holds that an analyst
// approved (except special addresses and malformed values).
type builder struct {
	st     Store
	maxTLP intel.TLP
	guardO blocklist.Guard // limits and suffixes; Registry filled per assets version

	guard   *blocklist.Guard
	guardAt int64

	// byID is what the last build or change admitted, by indicator, so
	// a change reads only the indicators stamped after seq.
	byID map[int64]Entry
	seq  int64
}

// guardFor returns the guard over the registry at assets version av.
func (b *builder) guardFor(ctx context.Context, av int64) (*blocklist.Guard, error) {
	if b.guard != nil && b.guardAt == av {
		return b.guard, nil
	}
	names := map[int64]string{}
	var reg []blocklist.RegisteredAsset
	err := b.st.EachAsset(ctx, sys, func(a asset.Asset) error {
		if a.State == asset.StateRejected {
			return nil
		}
		name, ok := names[a.OrgID]
		if !ok {
			o, err := b.st.GetOrg(ctx, sys, a.OrgID)
			if err != nil {
				return fmt.Errorf("organization %d: %w", a.OrgID, err)
			}
			name = o.Code
			names[a.OrgID] = name
		}
		reg = append(reg, blocklist.RegisteredAsset{Kind: a.Kind, Value: a.Value, Org: name})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("snapshot: guard: registry: %w", err)
	}
	g := b.guardO
	g.Registry = blocklist.NewAssetIndex(reg)
	b.guard, b.guardAt = &g, av
	return b.guard, nil
}

// approved returns the reviews an analyst approved, by indicator.
func (b *builder) approved(ctx context.Context) (map[int64]store.Review, error) {
	out := map[int64]store.Review{}
	rf := store.ReviewFilter{PageRequest: store.PageRequest{Limit: store.MaxLimit}}
	for {
		pg, err := b.st.ListReviews(ctx, sys, rf)
		if err != nil {
			return nil, fmt.Errorf("snapshot: reviews: %w", err)
		}
		for _, r := range pg.Items {
			if r.State == store.ReviewApproved {
				out[r.IndicatorID] = r
			}
		}
		if pg.Next == "" {
			return out, nil
		}
		rf.After = pg.Next
	}
}

// admit returns the entry of an indicator that may leave to the edges.
func (b *builder) admit(in *intel.Indicator, g *blocklist.Guard, ok map[int64]store.Review, now time.Time) (Entry, bool) {
	if in.TLP.Rank() > b.maxTLP.Rank() || !in.Active(now) {
		return Entry{}, false
	}
	if rv, hold := g.Check(in.Kind, in.Value); hold {
		r, found := ok[in.ID]
		if !found || r.Reason != rv.Reason.EN || rv.Rule == blocklist.RuleSpecial || rv.Rule == blocklist.RuleMalformed {
			return Entry{}, false
		}
	}
	e := Entry{Kind: in.Kind, Value: in.Value, Category: in.Category, Confidence: in.Confidence, TLP: in.TLP, Feed: feedOf(in)}
	if validEntry(&e) != nil {
		return Entry{}, false
	}
	return e, true
}

// build returns the sorted entries at now, reading every indicator;
// seq is the store's change stamp read before it.
func (b *builder) build(ctx context.Context, av, seq int64, now time.Time) ([]Entry, error) {
	g, err := b.guardFor(ctx, av)
	if err != nil {
		return nil, err
	}
	ok, err := b.approved(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[int64]Entry{}
	var out []Entry
	err = b.st.EachIndicator(ctx, sys, store.IndicatorFilter{Active: true, Now: now, MaxTLP: b.maxTLP, Sources: true}, func(si store.StoredIndicator) error {
		if e, admitted := b.admit(&si.Indicator, g, ok, now); admitted {
			byID[si.ID] = e
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("snapshot: indicators: %w", err)
	}
	SortEntries(out)
	out = slices.CompactFunc(out, func(a, b Entry) bool { return a.Key() == b.Key() })
	b.byID, b.seq = byID, seq
	return out, nil
}

// changes reads the indicators stamped after the last build or change
// and returns what they add, change and remove; seq is the store's
// change stamp read before. The registry (av) must be the one of the
// last full build. Indicators that expire without changing, and rows
// committed out of stamp order, wait for the next full build.
func (b *builder) changes(ctx context.Context, av, seq int64, now time.Time) (add []Entry, remove []Key, err error) {
	g, err := b.guardFor(ctx, av)
	if err != nil {
		return nil, nil, err
	}
	ok, err := b.approved(ctx)
	if err != nil {
		return nil, nil, err
	}
	err = b.st.EachIndicator(ctx, sys, store.IndicatorFilter{AfterSeq: b.seq, Sources: true}, func(si store.StoredIndicator) error {
		old, had := b.byID[si.ID]
		e, admitted := b.admit(&si.Indicator, g, ok, now)
		switch {
		case admitted:
			b.byID[si.ID] = e
			if had && old.Key() != e.Key() {
				remove = append(remove, old.Key())
			}
			if !had || old != e {
				add = append(add, e)
			}
		case had:
			delete(b.byID, si.ID)
			remove = append(remove, old.Key())
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("snapshot: changed indicators: %w", err)
	}
	b.seq = max(b.seq, seq)
	return add, remove, nil
}

// feedOf is the feed an indicator is listed under: its most confident
// source's, the first by name on a tie.
func feedOf(in *intel.Indicator) string {
	if len(in.Sources) == 0 {
		return ""
	}
	best := slices.MinFunc(in.Sources, func(a, b intel.Source) int {
		if c := cmp.Compare(b.Confidence, a.Confidence); c != 0 {
			return c
		}
		return cmp.Compare(a.Feed, b.Feed)
	})
	return best.Feed
}
