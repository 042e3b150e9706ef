package decision

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/blocklist"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/store"
)

// Blocklists serves the active decisions in the hub's blocklist formats
// (plain, CSV, nftables, ipset, Mikrotik, RPZ for names and addresses):
// GET {mount}/{format} with a bouncer's key in X-Api-Key, or
// {mount}/{key}/{format}. Other keys (the hub's blocklist consumers) are
// asked of Fallback. The set, list and zone names default to
// "rampart-decisions" and "decisions.rpz.rampart." so they sit beside
// the hub's own lists on one device.
type Blocklists struct {
	St       store.Decisions
	Fallback blocklist.ConsumerLookup // nil: bouncers only
	Now      func() time.Time
	Logger   *slog.Logger

	mu    sync.Mutex
	cur   *blocklist.List
	seq   int64
	built time.Time
}

// Set and zone names of the decisions' lists.
const (
	SetName = "rampart-decisions"
	Zone    = "decisions.rpz.rampart."
)

// Handler returns the HTTP handler (mount it with http.StripPrefix).
func (b *Blocklists) Handler() *blocklist.Handler {
	return &blocklist.Handler{Lookup: b.lookup, List: b.List, Now: b.Now, Logger: b.Logger}
}

func (b *Blocklists) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// lookup finds the consumer of a key: a bouncer first, then Fallback.
func (b *Blocklists) lookup(ctx context.Context, key string) (*blocklist.Consumer, error) {
	bo, err := b.St.BouncerForKey(ctx, auth.HashToken(key))
	if err == nil {
		return &blocklist.Consumer{Name: "bouncer " + bo.Name, SetName: SetName, Zone: Zone, MaxTLP: intel.TLPClear}, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if b.Fallback == nil {
		return nil, blocklist.ErrUnknownConsumer
	}
	c, err := b.Fallback(ctx, key)
	if err != nil {
		return nil, err
	}
	cc := *c
	cc.Kinds, cc.Categories, cc.MinConfidence, cc.MaxAge = nil, nil, 0, 0 // the hub's filters are about indicators
	if cc.SetName == "" {
		cc.SetName = SetName
	}
	if cc.Zone == "" {
		cc.Zone = Zone
	}
	return &cc, nil
}

// lenient passes every decision but special addresses and malformed
// values: the policy and the analysts have judged them already.
var lenient = sync.OnceValue(func() *blocklist.Guard {
	empty, _ := asset.ParseSuffixList(strings.NewReader(""))
	return &blocklist.Guard{Suffixes: empty, MaxPrefix4: 1, MaxPrefix6: 1}
})

// List returns the list of active decisions, rebuilt when a decision
// changed or every minute (decisions run out).
func (b *Blocklists) List(ctx context.Context) (*blocklist.List, error) {
	now := b.now()
	if _, err := b.St.ExpireDecisions(ctx, now); err != nil {
		return nil, fmt.Errorf("decision: blocklist: %w", err)
	}
	seq, err := b.St.DecisionsSeq(ctx)
	if err != nil {
		return nil, fmt.Errorf("decision: blocklist: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cur != nil && b.seq == seq && now.Sub(b.built) < time.Minute {
		return b.cur, nil
	}
	active, seq, err := b.St.ActiveDecisions(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("decision: blocklist: %w", err)
	}
	l, _ := blocklist.Build(Indicators(active), lenient())
	l.Serial = uint32(seq)
	b.cur, b.seq, b.built = l, seq, now
	return l, nil
}

// Indicators turns decisions into the hub's indicators for the
// blocklist renderer: the value (and each name) valid until the
// decision's end, category scanner, TLP CLEAR.
func Indicators(ds []store.Decision) []intel.Indicator {
	out := make([]intel.Indicator, 0, len(ds))
	for i := range ds {
		d := &ds[i]
		seen := d.UpdatedAt
		if d.LastSeen != nil {
			seen = *d.LastSeen
		}
		in := intel.Indicator{ID: d.ID, Value: d.Value, Category: intel.CategoryScanner, Confidence: 100, TLP: intel.TLPClear,
			FirstSeen: d.CreatedAt, LastSeen: seen, ValidUntil: d.Until}
		switch p, err := parseNet(d.Value); {
		case err != nil:
			continue
		case !p.IsSingleIP():
			in.Kind = intel.KindCIDR
		default:
			in.Kind = kindOf(p.Addr())
		}
		out = append(out, in)
		for _, n := range d.Names {
			nn := in
			nn.Kind, nn.Value = intel.KindDomain, n
			out = append(out, nn)
		}
	}
	return out
}
