package monitor

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
)

// LookalikeConfig sets the look-alike detector.
type LookalikeConfig struct {
	// Zones are zone files or name lists (a ccTLD zone dump, a feed of
	// newly registered names) read at every round.
	Zones []string
	// Interval between rounds (default 6 hours).
	Interval time.Duration
	// Hold is how long a look-alike stays reported after it was last
	// seen (default 30 days): a certificate is logged once, and the
	// warning should outlive the monitor's three-day expiry.
	Hold time.Duration
	// Words are the words phishers add (default: login, secure, gov …).
	Words []string
	// Off turns the detector off (CheckNames then does nothing).
	Off bool
}

func (c *LookalikeConfig) enabled() bool { return !c.Off }

func (c *LookalikeConfig) validate() error {
	c.Interval = positive(c.Interval, 6*time.Hour)
	c.Hold = positive(c.Hold, 30*24*time.Hour)
	return nil
}

// NameSource says where names handed to CheckNames come from.
type NameSource struct {
	Kind string    // "ct", "zone", "discovery" …
	Ref  string    // the log's URL, the file
	Cert *CertInfo // the certificate the names come from, if any
}

func (n NameSource) String() string {
	if n.Ref == "" {
		return n.Kind
	}
	return n.Kind + ":" + n.Ref
}

// CertInfo describes a certificate seen in a CT log.
type CertInfo struct {
	Issuer    string    `json:"issuer"`
	IssuerOrg string    `json:"issuer_org,omitempty"`
	Serial    string    `json:"serial"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	Log       string    `json:"log,omitempty"`
	Index     uint64    `json:"index"`
}

// lookalikeState is what is remembered of one look-alike of one
// constituent.
type lookalikeState struct {
	Lookalike
	Names     []string  `json:"names"`   // names seen under the registrable domain (at most 20)
	Sources   []string  `json:"sources"` // where (at most 8)
	Cert      *CertInfo `json:"cert,omitempty"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

func (l lookalikeState) key() string {
	return l.Registrable + "|" + strconv.FormatInt(l.Imitates.AssetID, 10)
}

// LookalikeEvidence is the evidence of a monitor.lookalike-domain
// finding.
type LookalikeEvidence struct {
	Lookalike   string    `json:"lookalike"` // the registrable domain
	Names       []string  `json:"names"`
	Imitates    string    `json:"imitates"`
	Technique   Technique `json:"technique"`
	Sources     []string  `json:"sources"`
	Certificate *CertInfo `json:"certificate,omitempty"`
	FirstSeen   time.Time `json:"first_seen"`
	LastSeen    time.Time `json:"last_seen"`
}

// lookalikes is the detector's memory, loaded once.
type lookalikes struct {
	mu      sync.Mutex
	loaded  bool
	byKey   map[string]lookalikeState
	matcher *Matcher
	version int64
}

// matcher returns the matcher over the registry's domains.
func (s *Service) matcher(ctx context.Context) (*Matcher, error) {
	reg, err := s.registry(ctx)
	if err != nil {
		return nil, err
	}
	s.la.mu.Lock()
	defer s.la.mu.Unlock()
	if s.la.matcher != nil && s.la.version == reg.version {
		return s.la.matcher, nil
	}
	// A zone asset (portal.moh.gov.vn) stands for its registrable domain,
	// once per organization.
	cons := make([]Constituent, 0, len(reg.domains))
	had := map[owned]bool{}
	for _, d := range reg.domains {
		r := registrableOf(d.Value)
		if k := (owned{OrgID: d.OrgID, Value: r}); !had[k] {
			had[k] = true
			cons = append(cons, Constituent{Domain: r, OrgID: d.OrgID, AssetID: d.AssetID})
		}
	}
	s.la.matcher, s.la.version = NewMatcher(cons, reg.registered, s.cfg.Lookalike.Words), reg.version
	return s.la.matcher, nil
}

// CheckNames judges names seen by a source (a certificate in a CT log,
// a zone, discovery) and reports at once every look-alike of a
// constituent among them. It returns how many look-alikes it found.
func (s *Service) CheckNames(ctx context.Context, names []string, src NameSource) (int, error) {
	if !s.cfg.Lookalike.enabled() || len(names) == 0 {
		return 0, nil
	}
	m, err := s.matcher(ctx)
	if err != nil {
		return 0, err
	}
	var hits []sourcedHit
	for _, n := range names {
		for _, l := range m.Check(n) {
			hits = append(hits, sourcedHit{l, src})
		}
	}
	return len(hits), s.reportLookalikes(ctx, hits)
}

// sourcedHit is a look-alike and where it was seen.
type sourcedHit struct {
	Lookalike
	src NameSource
}

// reportLookalikes remembers hits and reports their look-alikes at once.
func (s *Service) reportLookalikes(ctx context.Context, hits []sourcedHit) error {
	if len(hits) == 0 {
		return nil
	}
	now := s.now()
	changed := map[string]lookalikeState{}
	for _, h := range hits {
		c, err := s.mergeLookalikes(ctx, []Lookalike{h.Lookalike}, h.src, now)
		if err != nil {
			return err
		}
		maps.Copy(changed, c)
	}
	seen := make([]finding.Finding, 0, len(changed))
	for _, l := range changed {
		seen = append(seen, lookalikeFinding(l))
	}
	if err := s.record(ctx, "lookalike", now, seen); err != nil {
		return err
	}
	return saveState(ctx, s, "lookalike", changed)
}

// mergeLookalikes folds hits into the detector's memory and returns the
// states they touched, by key.
func (s *Service) mergeLookalikes(ctx context.Context, hits []Lookalike, src NameSource, now time.Time) (map[string]lookalikeState, error) {
	s.la.mu.Lock()
	defer s.la.mu.Unlock()
	if !s.la.loaded {
		m, err := loadState[lookalikeState](ctx, s, "lookalike")
		if err != nil {
			return nil, err
		}
		s.la.byKey, s.la.loaded = m, true
	}
	changed := map[string]lookalikeState{}
	for _, h := range hits {
		st := lookalikeState{Lookalike: h, FirstSeen: now}
		if old, ok := s.la.byKey[st.key()]; ok {
			st = old
			st.Technique = h.Technique
		}
		st.LastSeen = now
		st.Names = addCapped(st.Names, h.Name, 20)
		st.Sources = addCapped(st.Sources, src.String(), 8)
		if src.Cert != nil {
			st.Cert = src.Cert
		}
		s.la.byKey[st.key()] = st
		changed[st.key()] = st
	}
	return changed, nil
}

func addCapped(list []string, v string, limit int) []string {
	if slices.Contains(list, v) || len(list) >= limit {
		return list
	}
	return append(list, v)
}

func lookalikeFinding(l lookalikeState) finding.Finding {
	sev := finding.Medium
	if l.Cert != nil {
		sev = finding.High // a certificate: a site is being set up
	}
	return finding.Finding{OrgID: l.Imitates.OrgID, AssetID: l.Imitates.AssetID, Check: "monitor.lookalike-domain", Severity: sev,
		Target: l.Registrable, Title: fmt.Sprintf("Look-alike of %s: %s (%s)", l.Imitates.Domain, l.Registrable, l.Technique),
		Evidence: evidence(LookalikeEvidence{Lookalike: l.Registrable, Names: l.Names, Imitates: l.Imitates.Domain, Technique: l.Technique,
			Sources: l.Sources, Certificate: l.Cert, FirstSeen: l.FirstSeen, LastSeen: l.LastSeen})}
}

// LookalikeRound reads the configured zones, then reports every
// look-alike seen within Hold (from the zones, CT or discovery) again, so
// its finding stays open, and forgets older ones.
func (s *Service) LookalikeRound(ctx context.Context) error {
	m, err := s.matcher(ctx)
	if err != nil {
		return err
	}
	now := s.now()
	for _, z := range s.cfg.Lookalike.Zones {
		var hits []Lookalike
		if err := readNamesFile(z, func(n string) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			hits = append(hits, m.Check(n)...)
			return nil
		}); err != nil {
			s.log.Warn("monitor: zone not read", "file", z, "err", err)
			continue
		}
		if len(hits) > 0 {
			if _, err := s.mergeLookalikes(ctx, hits, NameSource{Kind: "zone", Ref: z}, now); err != nil {
				return err
			}
		}
	}
	s.la.mu.Lock()
	if !s.la.loaded {
		st, err := loadState[lookalikeState](ctx, s, "lookalike")
		if err != nil {
			s.la.mu.Unlock()
			return err
		}
		s.la.byKey, s.la.loaded = st, true
	}
	var (
		seen []finding.Finding
		old  []string
		keep = map[string]lookalikeState{}
	)
	for k, l := range s.la.byKey {
		if now.Sub(l.LastSeen) > s.cfg.Lookalike.Hold {
			old = append(old, k)
			delete(s.la.byKey, k)
			continue
		}
		keep[k] = l
		seen = append(seen, lookalikeFinding(l))
	}
	s.la.mu.Unlock()
	if err := s.record(ctx, "lookalike", now, seen); err != nil {
		return err
	}
	if err := saveState(ctx, s, "lookalike", keep); err != nil {
		return err
	}
	if len(old) > 0 {
		if err := s.d.State.DeleteMonitorStates(ctx, "lookalike", old...); err != nil {
			return fmt.Errorf("monitor: forget old look-alikes: %w", err)
		}
	}
	return nil
}

func readNamesFile(path string, fn func(string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	defer f.Close()
	return ReadNames(f, fn)
}
