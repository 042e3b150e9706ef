package dns

import (
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/hub/snapshot"
	"github.com/rampart-cert/rampart/internal/intel"
)

// Feed turns the hub's intel snapshot into the resolver's policy: it is
// the snapshot.Handler a `rampart dns` process gives snapshot.Follow. The
// domain entries fall into the lists of the snapshot's DNS policy (by
// feed or category, with each list's action); the allowlist and the
// walled garden's addresses come with them. Every change is compiled and
// set on the server at once; the follower's connection state goes to the
// server's health and metrics.
type Feed struct {
	srv *Server
	log *slog.Logger

	mu      sync.Mutex
	domains map[string]snapshot.Entry
	allow   []string
	policy  snapshot.Policy
	version int64
}

var _ snapshot.Handler = (*Feed)(nil)

// NewFeed returns the feed of srv.
func NewFeed(srv *Server, log *slog.Logger) *Feed {
	if log == nil {
		log = slog.Default()
	}
	return &Feed{srv: srv, log: log, domains: map[string]snapshot.Entry{}}
}

// Apply replaces the whole list.
func (f *Feed) Apply(s *snapshot.Snapshot) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.domains = make(map[string]snapshot.Entry, len(s.Entries)/2)
	for _, e := range s.Entries {
		if e.Kind == intel.KindDomain {
			f.domains[e.Value] = e
		}
	}
	f.allow = append([]string(nil), s.Allow...)
	f.policy, f.version = s.DNS, s.Version
	f.compile()
}

// ApplyDelta applies one change.
func (f *Feed) ApplyDelta(d *snapshot.Delta) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range d.Remove {
		if k.Kind == intel.KindDomain {
			delete(f.domains, k.Value)
		}
	}
	for _, e := range d.Add {
		if e.Kind == intel.KindDomain {
			f.domains[e.Value] = e
		}
	}
	if d.AllowSet {
		f.allow = append([]string(nil), d.Allow...)
	}
	if d.DNS != nil {
		f.policy = *d.DNS
	}
	f.version = d.Version
	f.compile()
}

// State passes the follower's state to the server.
func (f *Feed) State(connected bool, version int64, at time.Time) {
	f.srv.SetFeedState(connected, version, at)
}

// compile builds and sets the policy; f.mu is held. A policy that does
// not compile leaves the last one in force.
func (f *Feed) compile() {
	start := time.Now()
	spec, err := SpecOf(f.version, f.domains, f.allow, &f.policy)
	if err == nil {
		var p *Policy
		if p, err = Compile(spec); err == nil {
			f.srv.SetPolicy(p)
			f.log.Debug("dns policy loaded", "version", f.version, "names", p.Names(), "took", time.Since(start))
			return
		}
	}
	f.log.Error("dns policy refused; the last one stays in force", "version", f.version, "err", err)
}

// SpecOf builds the policy spec of a snapshot's domain entries: each in
// the list the DNS policy puts it in, lists in the policy's order.
func SpecOf(version int64, domains map[string]snapshot.Entry, allow []string, pol *snapshot.Policy) (*PolicySpec, error) {
	spec := &PolicySpec{Version: version, Allow: allow, RedirectTTL: uint32(max(pol.RedirectTTL, 0))}
	var err error
	if pol.RedirectA != "" {
		if spec.RedirectA, err = netip.ParseAddr(pol.RedirectA); err != nil || !spec.RedirectA.Is4() {
			return nil, fmt.Errorf("%w: walled-garden IPv4 address %q", ErrPolicy, pol.RedirectA)
		}
	}
	if pol.RedirectAAAA != "" {
		if spec.RedirectAAAA, err = netip.ParseAddr(pol.RedirectAAAA); err != nil || !spec.RedirectAAAA.Is6() {
			return nil, fmt.Errorf("%w: walled-garden IPv6 address %q", ErrPolicy, pol.RedirectAAAA)
		}
	}
	index := map[string]int{}
	add := func(r snapshot.ListRule) (int, error) {
		if i, ok := index[r.Name]; ok {
			return i, nil
		}
		act, err := ParseAction(string(r.Action))
		if err != nil {
			return 0, fmt.Errorf("%w: list %s: %v", ErrPolicy, r.Name, err)
		}
		index[r.Name] = len(spec.Lists)
		spec.Lists = append(spec.Lists, List{Name: r.Name, Action: act})
		return len(spec.Lists) - 1, nil
	}
	// The lists exist in the policy's order even when empty, so their
	// metrics and the walled garden know them.
	for _, r := range pol.Lists {
		if _, err := add(r); err != nil {
			return nil, err
		}
	}
	for name, e := range domains {
		i, err := add(pol.ListOf(&e))
		if err != nil {
			return nil, err
		}
		spec.Lists[i].Names = append(spec.Lists[i].Names, name)
	}
	return spec, nil
}
