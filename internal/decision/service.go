package decision

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/blocklist"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/store"
)

// ErrValue is returned for a value that cannot be a decision.
var ErrValue = errors.New("decision: not a blockable address or network")

// Service is what analysts do with decisions (the API's and the
// console's one door): approve, reject, lift, decide by hand; and the
// expiry sweeper. Create it with NewService.
type Service struct {
	st  Store
	o   Options
	now func() time.Time
	log *slog.Logger
}

// NewService returns the service over st. now and log may be nil.
func NewService(st Store, o Options, now func() time.Time, log *slog.Logger) *Service {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Service{st: st, o: o.withDefaults(), now: now, log: log}
}

// Store returns the service's store.
func (s *Service) Store() Store { return s.st }

// TTL returns how long a decision lasts.
func (s *Service) TTL() time.Duration { return s.o.TTL }

// Approve makes a pending decision active for at least the TTL from now.
func (s *Service) Approve(ctx context.Context, p auth.Principal, id int64, note string) (store.Decision, error) {
	return s.st.DecideDecision(ctx, p, id, true, s.now().Add(s.o.TTL), strings.TrimSpace(note))
}

// Reject refuses a pending decision; the correlator does not make it
// again before its end.
func (s *Service) Reject(ctx context.Context, p auth.Principal, id int64, note string) (store.Decision, error) {
	return s.st.DecideDecision(ctx, p, id, false, time.Time{}, strings.TrimSpace(note))
}

// Lift ends a live decision (bouncers drop it at their next pull).
func (s *Service) Lift(ctx context.Context, p auth.Principal, id int64, note string) (store.Decision, error) {
	return s.st.DeleteDecision(ctx, p, id, strings.TrimSpace(note))
}

// Create records an analyst's decision on an address or network, active
// at once for ttl (the TTL when 0), with the host names it serves if any
// (they go into the RPZ zone). Special addresses, networks wider than the
// guard allows, malformed values and names, and public suffixes are
// ErrValue.
func (s *Service) Create(ctx context.Context, p auth.Principal, value string, ttl time.Duration, reason string, names ...string) (store.Decision, error) {
	pfx, err := parseNet(strings.TrimSpace(value))
	if err != nil {
		return store.Decision{}, fmt.Errorf("%w: %v", ErrValue, err)
	}
	scope, kind := store.ScopeRange, intel.KindCIDR
	if pfx.IsSingleIP() {
		scope, kind = store.ScopeIP, kindOf(pfx.Addr())
	}
	v := canonical(pfx)
	if r, held := (*blocklist.Guard)(nil).Check(kind, v); held {
		return store.Decision{}, fmt.Errorf("%w: %s", ErrValue, r.Reason.EN)
	}
	if ttl <= 0 {
		ttl = s.o.TTL
	}
	if ttl > 365*24*time.Hour {
		return store.Decision{}, fmt.Errorf("%w: a decision lasts at most a year", ErrValue)
	}
	reason = strings.TrimSpace(reason)
	var clean []string
	for _, n := range names {
		n = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(n)), ".")
		if n == "" {
			continue
		}
		if !hostName(n) {
			return store.Decision{}, fmt.Errorf("%w: %q is not a host name", ErrValue, n)
		}
		if r, held := (*blocklist.Guard)(nil).Check(intel.KindDomain, n); held {
			return store.Decision{}, fmt.Errorf("%w: %s", ErrValue, r.Reason.EN)
		}
		clean = append(clean, n)
	}
	if len(clean) > 50 {
		return store.Decision{}, fmt.Errorf("%w: at most 50 names", ErrValue)
	}
	d, created, err := s.st.ApplyDecision(ctx, p, store.Decision{Value: v, Scope: scope, Type: store.TypeBan, Origin: store.OriginAnalyst,
		Scenario: "rampart/manual", Reason: reason, State: store.DecisionActive, Until: s.now().Add(ttl), Names: clean})
	if err == nil && !created && !d.State.Live() {
		return d, fmt.Errorf("%w: decision %d on %s was %s by %s until %s", store.ErrConflict, d.ID, d.Value, d.State, d.DecidedBy,
			d.Until.Format(time.RFC3339))
	}
	return d, err
}

// hostName reports whether n is a lower-case DNS host name of at least
// two labels.
func hostName(n string) bool {
	if len(n) > 253 || !strings.Contains(n, ".") {
		return false
	}
	for l := range strings.SplitSeq(n, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// canonical spells a network as the store keeps it: an address alone for
// a single address, else the masked CIDR.
func canonical(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.Masked().String()
}

// Sweep ends the decisions whose time ran out.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	return s.st.ExpireDecisions(ctx, s.now())
}

// Run sweeps every interval (default 10 s) until ctx ends.
func (s *Service) Run(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = 10 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("decision sweep", "err", err)
		} else if n > 0 {
			s.log.Info("decisions expired", "n", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// BouncerKeyPrefix starts every bouncer key, so a leaked one is
// recognized (API tokens start with auth.TokenPrefix).
const BouncerKeyPrefix = "rbk_"

// NewBouncerKey returns a new bouncer key: the prefix and 40 hex digits
// (160 random bits).
func NewBouncerKey() string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	return BouncerKeyPrefix + hex.EncodeToString(b[:])
}

// AddBouncer registers a bouncer, for an organization (by code) or the
// platform (""), and returns its key: shown once, only its hash is kept.
func (s *Service) AddBouncer(ctx context.Context, p auth.Principal, name, orgCode string) (store.Bouncer, string, error) {
	b := store.Bouncer{Name: strings.TrimSpace(name)}
	if orgCode = strings.TrimSpace(orgCode); orgCode != "" {
		o, err := s.st.GetOrgByCode(ctx, p, orgCode)
		if err != nil {
			return store.Bouncer{}, "", fmt.Errorf("decision: bouncer %s: organization %s: %w", b.Name, orgCode, err)
		}
		b.OrgID = o.ID
	}
	key := NewBouncerKey()
	b.KeyHash, b.KeyPrefix = auth.HashToken(key), key[:len(BouncerKeyPrefix)+6]
	if err := s.st.CreateBouncer(ctx, p, &b); err != nil {
		return store.Bouncer{}, "", err
	}
	return b, key, nil
}
