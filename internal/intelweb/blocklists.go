package intelweb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/blocklist"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/store"
)

// BlocklistOptions tune the guard and the rebuilds.
type BlocklistOptions struct {
	// MaxPrefix4 and MaxPrefix6 are the widest networks a list may block
	// (blocklist.DefaultMaxPrefix4 and 6 when zero).
	MaxPrefix4, MaxPrefix6 int
	// Suffixes is the public suffix list; nil: the one shipped.
	Suffixes *asset.SuffixList
	// Refresh bounds how long a built list is served when nothing seems
	// to change (a review decided by another process, indicators
	// expiring); default 10 minutes.
	Refresh time.Duration
	Now     func() time.Time
	Logger  *slog.Logger
}

// Blocklists builds and serves the blocklists. Create it with
// NewBlocklists; it is safe for concurrent use.
type Blocklists struct {
	st Store
	o  BlocklistOptions

	mu      sync.Mutex // one build at a time; guards what follows
	cur     *blocklist.List
	stamp   listStamp
	built   time.Time
	gen     int64
	guard   *blocklist.Guard
	guardAt int64 // assets version the guard's index was built at
	held    int   // indicators held back at the last build
}

type listStamp struct{ seq, assets, gen int64 }

// NewBlocklists returns the blocklists over st.
func NewBlocklists(st Store, o BlocklistOptions) *Blocklists {
	if o.Refresh <= 0 {
		o.Refresh = 10 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Blocklists{st: st, o: o, guardAt: -1}
}

// Invalidate makes the next request rebuild the list: call it after a
// review decision.
func (b *Blocklists) Invalidate() {
	b.mu.Lock()
	b.gen++
	b.mu.Unlock()
}

// Handler serves the lists to consumers (mount it with
// http.StripPrefix).
func (b *Blocklists) Handler() *blocklist.Handler {
	return &blocklist.Handler{Lookup: b.Lookup, List: b.List, Now: b.o.Now, Logger: b.o.Logger}
}

// List returns the current list, rebuilding it when the indicators, the
// registry or a review changed, or when it is older than Refresh.
func (b *Blocklists) List(ctx context.Context) (*blocklist.List, error) {
	seq, err := b.st.IntelSeq(ctx)
	if err != nil {
		return nil, fmt.Errorf("intelweb: blocklist: %w", err)
	}
	av, err := b.st.AssetsVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("intelweb: blocklist: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	want := listStamp{seq, av, b.gen}
	now := b.o.Now()
	if b.cur != nil && b.stamp == want && now.Sub(b.built) < b.o.Refresh {
		return b.cur, nil
	}
	l, held, err := b.build(ctx, av, now)
	if err != nil {
		return nil, err
	}
	b.cur, b.stamp, b.built, b.held = l, want, now, held
	return l, nil
}

// Held returns how many indicators the last build held back.
func (b *Blocklists) Held() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.held
}

// Check tells whether the guard holds an indicator back today, and why in
// both languages (for the review queue's page).
func (b *Blocklists) Check(ctx context.Context, kind intel.Kind, value string) (blocklist.Review, bool, error) {
	av, err := b.st.AssetsVersion(ctx)
	if err != nil {
		return blocklist.Review{}, false, fmt.Errorf("intelweb: guard: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	g, err := b.guardFor(ctx, av)
	if err != nil {
		return blocklist.Review{}, false, err
	}
	r, held := g.Check(kind, value)
	return r, held, nil
}

// guardFor returns the guard over the registry at assets version av.
// b.mu is held.
func (b *Blocklists) guardFor(ctx context.Context, av int64) (*blocklist.Guard, error) {
	if b.guard != nil && b.guardAt == av {
		return b.guard, nil
	}
	names := map[int64]string{}
	var reg []blocklist.RegisteredAsset
	err := b.st.EachAsset(ctx, sys, func(a asset.Asset) error {
		if a.State == asset.StateRejected {
			return nil // a refused claim is not the constituency's
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
		return nil, fmt.Errorf("intelweb: guard: registry: %w", err)
	}
	b.guard = &blocklist.Guard{Registry: blocklist.NewAssetIndex(reg), Suffixes: b.o.Suffixes,
		MaxPrefix4: b.o.MaxPrefix4, MaxPrefix6: b.o.MaxPrefix6}
	b.guardAt = av
	return b.guard, nil
}

// lenient is the guard Build applies after ours: an indicator an analyst
// approved passes it, except special addresses and malformed values.
var lenient = sync.OnceValue(func() *blocklist.Guard {
	empty, _ := asset.ParseSuffixList(strings.NewReader(""))
	return &blocklist.Guard{Suffixes: empty, MaxPrefix4: 1, MaxPrefix6: 1}
})

// build makes the list of the active indicators the guard lets through
// (or an analyst approved) and queues the rest for review. b.mu is held.
func (b *Blocklists) build(ctx context.Context, av int64, now time.Time) (*blocklist.List, int, error) {
	g, err := b.guardFor(ctx, av)
	if err != nil {
		return nil, 0, err
	}
	reviews := map[int64]store.Review{}
	rf := store.ReviewFilter{PageRequest: store.PageRequest{Limit: store.MaxLimit}}
	for {
		pg, err := b.st.ListReviews(ctx, sys, rf)
		if err != nil {
			return nil, 0, fmt.Errorf("intelweb: blocklist: reviews: %w", err)
		}
		for _, r := range pg.Items {
			reviews[r.IndicatorID] = r
		}
		if pg.Next == "" {
			break
		}
		rf.After = pg.Next
	}
	type queued struct {
		id     int64
		reason string
	}
	var queue []queued
	ask := func(id int64, reason string) {
		if r, ok := reviews[id]; !ok || r.Reason != reason {
			queue = append(queue, queued{id, reason})
		}
	}
	var kept []intel.Indicator
	held := 0
	err = b.st.EachIndicator(ctx, sys, store.IndicatorFilter{Active: true, Now: now}, func(si store.StoredIndicator) error {
		in := si.Indicator
		in.Labels, in.Sources = nil, nil
		if rv, hold := g.Check(in.Kind, in.Value); hold {
			ask(in.ID, rv.Reason.EN)
			if r, ok := reviews[in.ID]; !ok || r.State != store.ReviewApproved || r.Reason != rv.Reason.EN ||
				rv.Rule == blocklist.RuleSpecial || rv.Rule == blocklist.RuleMalformed {
				held++
				return nil
			}
		}
		kept = append(kept, in)
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("intelweb: blocklist: indicators: %w", err)
	}
	l, more := blocklist.Build(kept, lenient())
	for _, rv := range more {
		ask(rv.IndicatorID, rv.Reason.EN)
		held++
	}
	for _, q := range queue {
		if _, _, err := b.st.QueueReview(ctx, sys, q.id, q.reason); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, 0, fmt.Errorf("intelweb: blocklist: queue review of indicator %d: %w", q.id, err)
		}
	}
	if len(queue) > 0 {
		b.o.Logger.Info("blocklist: indicators held back for review", "new", len(queue), "held", held)
	}
	return l, held, nil
}

// HashKey is how a consumer's key is kept (store.Consumer.KeyHash):
// SHA-256, hex.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Lookup finds the consumer of a key (blocklist.ConsumerLookup).
func (b *Blocklists) Lookup(ctx context.Context, key string) (*blocklist.Consumer, error) {
	if key == "" || len(key) > 256 {
		return nil, blocklist.ErrUnknownConsumer
	}
	c, err := b.st.ConsumerForKey(ctx, HashKey(key))
	if errors.Is(err, store.ErrNotFound) {
		return nil, blocklist.ErrUnknownConsumer
	}
	if err != nil {
		return nil, fmt.Errorf("intelweb: consumer: %w", err)
	}
	bc := ConsumerOf(c)
	return &bc, nil
}

// ConsumerOf is the rendering filter of a stored consumer. A consumer
// serving one member organization gets at most TLP:AMBER.
func ConsumerOf(c store.Consumer) blocklist.Consumer {
	bc := blocklist.Consumer{Name: c.Name, Kinds: c.Kinds, MinConfidence: c.MinConfidence, MaxTLP: c.MaxTLP, MaxAge: c.MaxAge}
	if bc.MaxTLP == "" {
		bc.MaxTLP = intel.TLPClear
	}
	if c.OrgID != 0 && bc.MaxTLP.Rank() > intel.TLPAmber.Rank() {
		bc.MaxTLP = intel.TLPAmber
	}
	for _, f := range c.Formats {
		if ff, err := blocklist.ParseFormat(f); err == nil {
			bc.Formats = append(bc.Formats, ff)
		}
	}
	if len(c.Formats) > 0 && len(bc.Formats) == 0 {
		// Every format it names is unknown: it may pull none, not all.
		bc.Formats = []blocklist.Format{"none"}
	}
	return bc
}
