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
	built   time.Time // of the last full build
	gen     int64
	guard   *blocklist.Guard
	guardAt int64 // assets version the guard's index was built at
	// held are the indicators held back from the list (by ID), as of the
	// last build and the updates since.
	held map[int64]bool
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

// List returns the current list. When only indicators changed since it
// was made, it is updated with them (the changed indicators are read,
// not all); when the registry or a review changed, or the last full
// build is older than Refresh (indicators expire without changing), it
// is built again from every indicator.
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
	fresh := b.cur != nil && now.Sub(b.built) < b.o.Refresh
	if fresh && b.stamp == want {
		return b.cur, nil
	}
	if fresh && b.stamp.assets == av && b.stamp.gen == b.gen && seq > b.stamp.seq {
		l, err := b.update(ctx, av, now, b.stamp.seq)
		if err == nil {
			b.cur, b.stamp = l, want
			return l, nil
		}
		if !errors.Is(err, errEnough) {
			return nil, err
		}
		// Too many changed to hold them: build it all again.
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
	return len(b.held)
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

// maxUpdate is the fewest changed indicators an update may hold (a
// quarter of the list, when more): past that the list is built again,
// streaming, rather than holding the changes.
const maxUpdate = 10_000

// listed is the strictest marking a list holds: blocklist never renders
// RED, so the build never reads it.
const listed = intel.TLPAmberStrict

// sorter decides, for one build or update, which indicators go in the
// list and which wait for an analyst. b.mu is held while it is used.
type sorter struct {
	g       *blocklist.Guard
	reviews map[int64]store.Review
	queue   []queued
	held    map[int64]bool
}

type queued struct {
	id     int64
	reason string
}

// newSorter reads the review decisions and the guard.
func (b *Blocklists) newSorter(ctx context.Context, av int64, held map[int64]bool) (*sorter, error) {
	g, err := b.guardFor(ctx, av)
	if err != nil {
		return nil, err
	}
	so := &sorter{g: g, reviews: map[int64]store.Review{}, held: held}
	rf := store.ReviewFilter{PageRequest: store.PageRequest{Limit: store.MaxLimit}}
	for {
		pg, err := b.st.ListReviews(ctx, sys, rf)
		if err != nil {
			return nil, fmt.Errorf("intelweb: blocklist: reviews: %w", err)
		}
		for _, r := range pg.Items {
			so.reviews[r.IndicatorID] = r
		}
		if pg.Next == "" {
			return so, nil
		}
		rf.After = pg.Next
	}
}

// ask queues an indicator for review unless it waits with that reason.
func (so *sorter) ask(id int64, reason string) {
	if r, ok := so.reviews[id]; !ok || r.Reason != reason {
		so.queue = append(so.queue, queued{id, reason})
	}
}

// keep reports whether an active indicator goes in the list: the guard
// lets it through, or an analyst approved it for the guard's reason.
func (so *sorter) keep(in *intel.Indicator) bool {
	delete(so.held, in.ID)
	if rv, hold := so.g.Check(in.Kind, in.Value); hold {
		so.ask(in.ID, rv.Reason.EN)
		if r, ok := so.reviews[in.ID]; !ok || r.State != store.ReviewApproved || r.Reason != rv.Reason.EN ||
			rv.Rule == blocklist.RuleSpecial || rv.Rule == blocklist.RuleMalformed {
			so.held[in.ID] = true
			return false
		}
	}
	return true
}

// heldBack records what the list's own check refused (a value that
// cannot be written safely).
func (so *sorter) heldBack(more []blocklist.Review) {
	for _, rv := range more {
		so.ask(rv.IndicatorID, rv.Reason.EN)
		so.held[rv.IndicatorID] = true
	}
}

// flush queues the reviews asked for.
func (b *Blocklists) flush(ctx context.Context, so *sorter) error {
	for _, q := range so.queue {
		if _, _, err := b.st.QueueReview(ctx, sys, q.id, q.reason); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("intelweb: blocklist: queue review of indicator %d: %w", q.id, err)
		}
	}
	if len(so.queue) > 0 {
		b.o.Logger.Info("blocklist: indicators held back for review", "new", len(so.queue), "held", len(so.held))
	}
	return nil
}

// build makes the list of the active indicators the guard lets through
// (or an analyst approved) and queues the rest for review. Indicators
// stream into the list's builder, which keeps only its packed entries.
// b.mu is held.
func (b *Blocklists) build(ctx context.Context, av int64, now time.Time) (*blocklist.List, map[int64]bool, error) {
	so, err := b.newSorter(ctx, av, map[int64]bool{})
	if err != nil {
		return nil, nil, err
	}
	n := 0
	if b.cur != nil {
		n = b.cur.Len()
	}
	lb := blocklist.NewBuilder(lenient(), n)
	var more []blocklist.Review
	err = b.st.EachIndicator(ctx, sys, store.IndicatorFilter{Active: true, Now: now, MaxTLP: listed}, func(si store.StoredIndicator) error {
		in := &si.Indicator
		if !so.keep(in) {
			return nil
		}
		in.Labels, in.Sources = nil, nil
		if rv, held := lb.Add(in); held {
			more = append(more, rv)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("intelweb: blocklist: indicators: %w", err)
	}
	so.heldBack(more)
	if err := b.flush(ctx, so); err != nil {
		return nil, nil, err
	}
	return lb.List(), so.held, nil
}

// update brings the current list up to date with the indicators changed
// after stamp seq: each is put in again as it is now, or dropped
// (expired, marked RED, held back). b.mu is held.
func (b *Blocklists) update(ctx context.Context, av int64, now time.Time, seq int64) (*blocklist.List, error) {
	so, err := b.newSorter(ctx, av, b.held)
	if err != nil {
		return nil, err
	}
	var changes []blocklist.Change
	most := max(maxUpdate, b.cur.Len()/4)
	err = b.st.EachIndicator(ctx, sys, store.IndicatorFilter{AfterSeq: seq}, func(si store.StoredIndicator) error {
		if len(changes) == most {
			return errEnough
		}
		in := si.Indicator
		in.Labels, in.Sources = nil, nil
		drop := !in.Active(now) || in.TLP.Rank() > listed.Rank()
		if drop {
			delete(so.held, in.ID)
		} else {
			drop = !so.keep(&in)
		}
		changes = append(changes, blocklist.Change{Indicator: in, Drop: drop})
		return nil
	})
	if errors.Is(err, errEnough) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("intelweb: blocklist: changed indicators: %w", err)
	}
	l, more := b.cur.Update(changes, lenient())
	so.heldBack(more)
	if err := b.flush(ctx, so); err != nil {
		return nil, err
	}
	return l, nil
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
