package monitor

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"time"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/log"

	"github.com/rampart-cert/rampart/internal/finding"
)

// Round judges every registered network again from the routes the peers
// gave: active hijacks are reported again (so their findings stay open),
// legitimate routes remembered, and networks announced before that no
// longer have a legitimate route reported as withdrawn, once a session
// has been up for Settle.
func (sp *Speaker) Round(ctx context.Context) error {
	if err := sp.loadROAs(); err != nil {
		sp.s.log.Warn("monitor: bgp: keeping the ROAs already loaded", "err", err)
	}
	reg, err := sp.s.registry(ctx)
	if err != nil {
		return err
	}
	if err := sp.loadHeard(ctx); err != nil {
		return err
	}
	at := time.Now().UTC()
	routes, err := sp.routesUnder(ctx, reg)
	if err != nil {
		return err
	}
	sp.mu.Lock()
	roas := sp.roas
	sp.mu.Unlock()
	var seen []finding.Finding
	legit := map[netip.Prefix][]Route{}
	owners := map[netip.Prefix]owned{}
	for _, r := range routes {
		j := judgeRoute(r, reg, roas)
		switch {
		case j.hijack:
			seen = append(seen, hijackFinding(r, j))
		case j.legit:
			legit[j.registered] = append(legit[j.registered], r)
		}
	}
	for p, o := range reg.prefixes.All() {
		owners[p] = o
	}
	if len(legit) > 0 {
		sp.noteLegit(ctx, legit, at)
	}
	sp.mu.Lock()
	var gone []netip.Prefix
	for k := range sp.heard {
		p, err := netip.ParsePrefix(k)
		if err != nil {
			continue
		}
		if _, still := legit[p]; !still {
			gone = append(gone, p)
		}
	}
	sp.mu.Unlock()
	for _, p := range gone {
		o, ok := owners[p]
		if !ok {
			sp.forget(ctx, p) // no longer registered
			continue
		}
		if f, ok := sp.withdrawn(ctx, p, o, at); ok {
			seen = append(seen, f)
		}
	}
	sp.report(ctx, at, seen)
	return nil
}

// settled reports whether some session has been up for Settle, so the
// routes heard are complete enough to call a missing one withdrawn, and
// lists the peers up.
func (sp *Speaker) settled(now time.Time) (bool, []string, time.Time) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	ok, peers, since := false, []string{}, time.Time{}
	for a, t := range sp.up {
		peers = append(peers, a)
		if now.Sub(t) >= sp.s.cfg.BGP.Settle {
			ok = true
			if since.IsZero() || t.Before(since) {
				since = t
			}
		}
	}
	slices.Sort(peers)
	return ok, peers, since
}

// withdrawn judges a registered network whose legitimate route may be
// gone: when the peers hold no legitimate route to it any more, it had
// one before, and the sessions have settled, the finding is returned.
func (sp *Speaker) withdrawn(ctx context.Context, p netip.Prefix, o owned, at time.Time) (finding.Finding, bool) {
	ok, peers, since := sp.settled(at)
	if !ok {
		return finding.Finding{}, false
	}
	reg, err := sp.s.registry(ctx)
	if err != nil {
		return finding.Finding{}, false
	}
	routes, err := sp.routesOf(ctx, []netip.Prefix{p})
	if err != nil {
		sp.s.log.Warn("monitor: bgp: list routes", "prefix", p, "err", err)
		return finding.Finding{}, false
	}
	sp.mu.Lock()
	roas := sp.roas
	sp.mu.Unlock()
	var legit []Route
	for _, r := range routes {
		if j := judgeRoute(r, reg, roas); j.legit && j.registered == p {
			legit = append(legit, r)
		}
	}
	if len(legit) > 0 {
		sp.noteLegit(ctx, map[netip.Prefix][]Route{p: legit}, at)
		return finding.Finding{}, false
	}
	sp.mu.Lock()
	h, had := sp.heard[p.String()]
	if had && h.GoneSince.IsZero() {
		h.GoneSince = at
		sp.heard[p.String()] = h
	}
	sp.mu.Unlock()
	if !had {
		return finding.Finding{}, false
	}
	if at.Sub(h.LastSeen) > sp.s.cfg.BGP.WithdrawHold {
		sp.forget(ctx, p)
		return finding.Finding{}, false
	}
	if err := saveState(ctx, sp.s, "bgp", map[string]bgpHeard{p.String(): h}); err != nil {
		sp.s.log.Warn("monitor: bgp: state", "err", err)
	}
	ev := WithdrawnEvidence{Registered: p.String(), LastSeen: h.LastSeen, LastOrigins: h.Origins, LastPrefixes: h.Prefixes,
		WithdrawnAt: h.GoneSince, PeersUp: peers, EstablishedAt: since}
	return finding.Finding{OrgID: o.OrgID, AssetID: o.AssetID, Check: "monitor.bgp-withdrawn", Severity: finding.Medium,
		Target: p.String(), Title: fmt.Sprintf("%s no longer announced", p), Evidence: evidence(ev)}, true
}

func (sp *Speaker) forget(ctx context.Context, p netip.Prefix) {
	sp.mu.Lock()
	delete(sp.heard, p.String())
	sp.mu.Unlock()
	if err := sp.s.d.State.DeleteMonitorStates(ctx, "bgp", p.String()); err != nil {
		sp.s.log.Warn("monitor: bgp: state", "err", err)
	}
}

// routesUnder lists the routes the peers gave for every registered
// network and its more specifics.
func (sp *Speaker) routesUnder(ctx context.Context, reg *view) ([]Route, error) {
	var ps []netip.Prefix
	for p := range reg.prefixes.All() {
		ps = append(ps, p)
	}
	return sp.routesOf(ctx, ps)
}

// routesOf lists the routes, in every established peer's Adj-RIB-In, for
// the networks ps and their more specifics.
func (sp *Speaker) routesOf(ctx context.Context, ps []netip.Prefix) ([]Route, error) {
	if len(ps) == 0 || sp.srv == nil {
		return nil, nil
	}
	var v4, v6 []*api.TableLookupPrefix
	for _, p := range ps {
		l := &api.TableLookupPrefix{Prefix: p.String(), Type: api.TableLookupPrefix_LONGER}
		if p.Addr().Is4() {
			v4 = append(v4, l)
		} else {
			v6 = append(v6, l)
		}
	}
	at := time.Now()
	var out []Route
	for _, peer := range sp.Established() {
		for i, look := range [][]*api.TableLookupPrefix{v4, v6} {
			if len(look) == 0 {
				continue
			}
			err := sp.srv.ListPath(ctx, &api.ListPathRequest{TableType: api.TableType_ADJ_IN, Name: peer, Family: families[i], Prefixes: look},
				func(d *api.Destination) {
					for _, p := range d.Paths {
						if p.NeighborIp == "" {
							p.NeighborIp = peer
						}
						if r, ok := routeOf(p, at); ok && !p.IsWithdraw {
							out = append(out, r)
						}
					}
				})
			if err != nil {
				return nil, fmt.Errorf("monitor: bgp: routes from %s: %w", peer, err)
			}
		}
	}
	return out, nil
}

// bgpLogger hands gobgp's log to the platform's, at one level lower
// (gobgp is chatty at info), and never exits the process.
type bgpLogger struct {
	log interface {
		Debug(msg string, args ...any)
		Info(msg string, args ...any)
		Warn(msg string, args ...any)
		Error(msg string, args ...any)
	}
	level log.LogLevel
}

func fieldArgs(f log.Fields) []any {
	out := make([]any, 0, 2*len(f))
	for k, v := range f {
		out = append(out, k, v)
	}
	return out
}

func (l *bgpLogger) Panic(msg string, f log.Fields) { l.log.Error(msg, fieldArgs(f)...) }
func (l *bgpLogger) Fatal(msg string, f log.Fields) { l.log.Error(msg, fieldArgs(f)...) }
func (l *bgpLogger) Error(msg string, f log.Fields) { l.log.Warn(msg, fieldArgs(f)...) }
func (l *bgpLogger) Warn(msg string, f log.Fields)  { l.log.Info(msg, fieldArgs(f)...) }
func (l *bgpLogger) Info(msg string, f log.Fields)  { l.log.Debug(msg, fieldArgs(f)...) }
func (l *bgpLogger) Debug(msg string, f log.Fields) {}
func (l *bgpLogger) SetLevel(level log.LogLevel)    { l.level = level }
func (l *bgpLogger) GetLevel() log.LogLevel         { return log.InfoLevel }
