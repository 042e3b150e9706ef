package monitor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/apiutil"
	"github.com/osrg/gobgp/v3/pkg/packet/bgp"
	"github.com/osrg/gobgp/v3/pkg/server"

	"github.com/rampart-cert/rampart/internal/finding"
)

// BGPConfig sets the BGP speaker: the platform peers with route
// collectors or members' border routers, takes their routes and sends
// none.
type BGPConfig struct {
	ASN      uint32 // the platform's AS (a private one is fine: 64512-65534)
	RouterID string // an IPv4 address
	// Listen is where peers may connect (address:port, for passive
	// sessions); empty: the speaker only connects out.
	Listen string
	Peers  []BGPPeer
	// ROAFile is rpki-client's JSON output, read again when it changes.
	ROAFile string
	// Refresh is how often every registered network is judged again and
	// its findings reported again (default 10 minutes).
	Refresh time.Duration
	// Settle is how long after a session comes up its routes are taken
	// as complete, before a missing route counts as withdrawn (default 2
	// minutes).
	Settle time.Duration
	// WithdrawHold is how long a withdrawn network is reported (default 7
	// days); after that it is forgotten as decommissioned.
	WithdrawHold time.Duration
}

// BGPPeer is one BGP neighbour.
type BGPPeer struct {
	Address      string // the neighbour's IP address
	Port         int    // default 179
	ASN          uint32
	LocalAddress string // the address to connect from (and that the peer expects)
	Passive      bool   // wait for the peer to connect
	Multihop     int    // TTL for a peer several hops away (0: directly connected)
}

func (c *BGPConfig) enabled() bool { return len(c.Peers) > 0 }

func (c *BGPConfig) validate() error {
	c.Refresh = positive(c.Refresh, 10*time.Minute)
	c.Settle = positive(c.Settle, 2*time.Minute)
	c.WithdrawHold = positive(c.WithdrawHold, 7*24*time.Hour)
	if !c.enabled() {
		return nil
	}
	var errs []error
	if c.ASN == 0 {
		errs = append(errs, fmt.Errorf("%w: bgp asn is required", ErrConfig))
	}
	if a, err := netip.ParseAddr(c.RouterID); err != nil || !a.Is4() {
		errs = append(errs, fmt.Errorf("%w: bgp router_id %q: want an IPv4 address", ErrConfig, c.RouterID))
	}
	if c.Listen != "" {
		if _, _, err := splitListen(c.Listen); err != nil {
			errs = append(errs, fmt.Errorf("%w: bgp listen %q: %v", ErrConfig, c.Listen, err))
		}
	}
	for i, p := range c.Peers {
		if _, err := netip.ParseAddr(p.Address); err != nil {
			errs = append(errs, fmt.Errorf("%w: bgp peer %d: address %q", ErrConfig, i, p.Address))
		}
		if p.ASN == 0 {
			errs = append(errs, fmt.Errorf("%w: bgp peer %s: asn is required", ErrConfig, p.Address))
		}
		if p.Port < 0 || p.Port > 65535 || p.Multihop < 0 || p.Multihop > 255 {
			errs = append(errs, fmt.Errorf("%w: bgp peer %s: port or multihop out of range", ErrConfig, p.Address))
		}
		if p.LocalAddress != "" {
			if _, err := netip.ParseAddr(p.LocalAddress); err != nil {
				errs = append(errs, fmt.Errorf("%w: bgp peer %s: local address %q", ErrConfig, p.Address, p.LocalAddress))
			}
		}
	}
	return errors.Join(errs...)
}

func splitListen(s string) (string, int32, error) {
	h, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil || n == 0 {
		return "", 0, fmt.Errorf("port %q", p)
	}
	if _, err := netip.ParseAddr(h); err != nil {
		return "", 0, fmt.Errorf("host %q is not an IP address", h)
	}
	return h, int32(n), nil
}

var families = []*api.Family{
	{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_UNICAST},
	{Afi: api.Family_AFI_IP6, Safi: api.Family_SAFI_UNICAST},
}

// Speaker is the platform's BGP speaker and the detector on its routes.
type Speaker struct {
	s      *Service
	srv    *server.BgpServer
	cancel context.CancelFunc
	work   chan func(context.Context)
	done   chan struct{}

	mu      sync.Mutex
	up      map[string]time.Time // established peers, since when
	roas    *ROASet
	roaMod  time.Time
	heard   map[string]bgpHeard // registered network → last legitimate route (kind "bgp")
	loaded  bool
	onFound func(f finding.Finding) // tests and benchmarks: told of each finding recorded
}

// bgpHeard is the last legitimate announcement of a registered network.
type bgpHeard struct {
	LastSeen  time.Time `json:"last_seen"`
	Origins   []uint32  `json:"origins"`
	Prefixes  []string  `json:"prefixes"`
	GoneSince time.Time `json:"gone_since,omitzero"`
}

// StartBGP starts the speaker and its sessions. Stop it with Stop.
func (s *Service) StartBGP(ctx context.Context) (*Speaker, error) {
	cfg := s.cfg.BGP
	if !cfg.enabled() {
		return nil, fmt.Errorf("%w: no bgp peer", ErrConfig)
	}
	sp := &Speaker{s: s, up: map[string]time.Time{}, heard: map[string]bgpHeard{},
		work: make(chan func(context.Context), 1024), done: make(chan struct{})}
	if err := sp.loadROAs(); err != nil {
		return nil, err
	}
	srv := server.NewBgpServer(server.LoggerOption(&bgpLogger{log: s.log.With("bgp", "gobgp")}))
	go srv.Serve()
	sp.srv = srv
	g := &api.Global{Asn: cfg.ASN, RouterId: cfg.RouterID, ListenPort: -1}
	if cfg.Listen != "" {
		h, p, _ := splitListen(cfg.Listen)
		g.ListenPort, g.ListenAddresses = p, []string{h}
	}
	if err := srv.StartBgp(ctx, &api.StartBgpRequest{Global: g}); err != nil {
		srv.Stop()
		return nil, fmt.Errorf("monitor: bgp: start: %w", err)
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	sp.cancel = cancel
	go sp.loop(wctx)
	err := srv.WatchEvent(wctx, &api.WatchEventRequest{
		Peer:  &api.WatchEventRequest_Peer{},
		Table: &api.WatchEventRequest_Table{Filters: []*api.WatchEventRequest_Table_Filter{{Type: api.WatchEventRequest_Table_Filter_ADJIN, Init: true}}},
	}, sp.event)
	if err != nil {
		sp.Stop()
		return nil, fmt.Errorf("monitor: bgp: watch: %w", err)
	}
	for _, p := range cfg.Peers {
		if err := srv.AddPeer(ctx, &api.AddPeerRequest{Peer: peerOf(p)}); err != nil {
			sp.Stop()
			return nil, fmt.Errorf("monitor: bgp: peer %s: %w", p.Address, err)
		}
	}
	s.log.Info("monitor: bgp speaker started", "asn", cfg.ASN, "router_id", cfg.RouterID, "peers", len(cfg.Peers), "roas", sp.roas.Len())
	return sp, nil
}

func peerOf(p BGPPeer) *api.Peer {
	ap := &api.Peer{
		Conf:      &api.PeerConf{NeighborAddress: p.Address, PeerAsn: p.ASN},
		Transport: &api.Transport{LocalAddress: p.LocalAddress, RemotePort: uint32(p.Port), PassiveMode: p.Passive},
		// Try again every 5 s (gobgp's floor) rather than every 2 minutes.
		Timers: &api.Timers{Config: &api.TimersConfig{ConnectRetry: 5, HoldTime: 90, KeepaliveInterval: 30}},
	}
	if p.Multihop > 0 {
		ap.EbgpMultihop = &api.EbgpMultihop{Enabled: true, MultihopTtl: uint32(p.Multihop)}
	}
	for _, f := range families {
		ap.AfiSafis = append(ap.AfiSafis, &api.AfiSafi{Config: &api.AfiSafiConfig{Family: f, Enabled: true}})
	}
	return ap
}

// Stop ends the sessions and the speaker.
func (sp *Speaker) Stop() {
	if sp.cancel != nil {
		sp.cancel()
		<-sp.done
		sp.cancel = nil
	}
	if sp.srv != nil {
		sp.srv.Stop()
		sp.srv = nil
	}
}

// Established lists the peers whose sessions are up.
func (sp *Speaker) Established() []string {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	var out []string
	for a := range sp.up {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

// loop runs the work the watch hands over, one piece at a time, so
// routes are judged in the order they came.
func (sp *Speaker) loop(ctx context.Context) {
	defer close(sp.done)
	for {
		select {
		case <-ctx.Done():
			return
		case w := <-sp.work:
			w(ctx)
		}
	}
}

// event takes one watch event from gobgp (on its goroutine) and queues
// its handling.
func (sp *Speaker) event(r *api.WatchEventResponse) {
	var w func(context.Context)
	if pe := r.GetPeer(); pe != nil && pe.Type == api.WatchEventResponse_PeerEvent_STATE && pe.Peer.GetState() != nil {
		addr, st, at := pe.Peer.State.NeighborAddress, pe.Peer.State.SessionState, time.Now()
		w = func(context.Context) {
			sp.mu.Lock()
			defer sp.mu.Unlock()
			if st == api.PeerState_ESTABLISHED {
				sp.up[addr] = at
				sp.s.log.Info("monitor: bgp session up", "peer", addr)
			} else if _, was := sp.up[addr]; was {
				delete(sp.up, addr)
				sp.s.log.Warn("monitor: bgp session down", "peer", addr, "state", st.String())
			}
		}
	}
	if t := r.GetTable(); t != nil && len(t.Paths) > 0 {
		paths, at := t.Paths, time.Now()
		w = func(ctx context.Context) { sp.paths(ctx, paths, at) }
	}
	if w == nil {
		return
	}
	select {
	case sp.work <- w:
	case <-sp.done:
	}
}

// routeOf decodes a gobgp path.
func routeOf(p *api.Path, at time.Time) (Route, bool) {
	nlri, err := apiutil.GetNativeNlri(p)
	if err != nil {
		return Route{}, false
	}
	pfx, err := netip.ParsePrefix(nlri.String())
	if err != nil {
		return Route{}, false
	}
	r := Route{Prefix: pfx.Masked(), Peer: p.NeighborIp, At: at.UTC()}
	if p.IsWithdraw {
		return r, true
	}
	attrs, err := apiutil.GetNativePathAttributes(p)
	if err != nil {
		return Route{}, false
	}
	for _, a := range attrs {
		ap, ok := a.(*bgp.PathAttributeAsPath)
		if !ok {
			continue
		}
		for i, seg := range ap.Value {
			r.ASPath = append(r.ASPath, seg.GetAS()...)
			if i == len(ap.Value)-1 {
				switch seg.GetType() {
				case bgp.BGP_ASPATH_ATTR_TYPE_SEQ, bgp.BGP_ASPATH_ATTR_TYPE_CONFED_SEQ:
					if as := seg.GetAS(); len(as) > 0 {
						r.Origin = as[len(as)-1]
					}
				default:
					r.OriginSet = slices.Clone(seg.GetAS())
				}
			}
		}
	}
	return r, true
}

// paths judges routes as they arrive: a hijack is reported at once; a
// withdrawal of a registered network's route has the network judged
// again.
func (sp *Speaker) paths(ctx context.Context, paths []*api.Path, at time.Time) {
	reg, err := sp.s.registry(ctx)
	if err != nil {
		sp.s.log.Warn("monitor: bgp: registry", "err", err)
		return
	}
	sp.mu.Lock()
	roas := sp.roas
	sp.mu.Unlock()
	var (
		seen     []finding.Finding
		recheck  = map[netip.Prefix]owned{}
		legitFor = map[netip.Prefix][]Route{}
	)
	for _, p := range paths {
		r, ok := routeOf(p, at)
		if !ok {
			continue
		}
		j := judgeRoute(r, reg, roas)
		switch {
		case !j.ours:
		case p.IsWithdraw:
			recheck[j.registered] = j.owner
		case j.hijack:
			seen = append(seen, hijackFinding(r, j))
		case j.legit:
			legitFor[j.registered] = append(legitFor[j.registered], r)
		}
	}
	if len(legitFor) > 0 {
		sp.noteLegit(ctx, legitFor, at)
	}
	for reg, o := range recheck {
		if f, ok := sp.withdrawn(ctx, reg, o, at); ok {
			seen = append(seen, f)
		}
	}
	sp.report(ctx, at, seen)
}

func (sp *Speaker) report(ctx context.Context, at time.Time, seen []finding.Finding) {
	if len(seen) == 0 {
		return
	}
	if err := sp.s.record(ctx, "bgp", at.UTC().Truncate(time.Microsecond), seen); err != nil {
		sp.s.log.Warn("monitor: bgp: record", "err", err)
		return
	}
	if sp.onFound != nil {
		for _, f := range seen {
			sp.onFound(f)
		}
	}
}

// noteLegit remembers legitimate routes of registered networks.
func (sp *Speaker) noteLegit(ctx context.Context, legit map[netip.Prefix][]Route, at time.Time) {
	if err := sp.loadHeard(ctx); err != nil {
		sp.s.log.Warn("monitor: bgp: state", "err", err)
		return
	}
	changed := map[string]bgpHeard{}
	sp.mu.Lock()
	for reg, rs := range legit {
		h := bgpHeard{LastSeen: at.UTC()}
		for _, r := range rs {
			if !slices.Contains(h.Origins, r.Origin) && len(h.Origins) < 16 {
				h.Origins = append(h.Origins, r.Origin)
			}
			if p := r.Prefix.String(); !slices.Contains(h.Prefixes, p) && len(h.Prefixes) < 16 {
				h.Prefixes = append(h.Prefixes, p)
			}
		}
		sp.heard[reg.String()] = h
		changed[reg.String()] = h
	}
	sp.mu.Unlock()
	if err := saveState(ctx, sp.s, "bgp", changed); err != nil {
		sp.s.log.Warn("monitor: bgp: state", "err", err)
	}
}

func (sp *Speaker) loadHeard(ctx context.Context) error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.loaded {
		return nil
	}
	h, err := loadState[bgpHeard](ctx, sp.s, "bgp")
	if err != nil {
		return err
	}
	sp.heard, sp.loaded = h, true
	return nil
}

// loadROAs reads the ROA file when it changed since the last read; a
// file that does not read keeps the set already loaded.
func (sp *Speaker) loadROAs() error {
	name := sp.s.cfg.BGP.ROAFile
	if name == "" {
		return nil
	}
	fi, err := os.Stat(name)
	if err != nil {
		return fmt.Errorf("monitor: roa file: %w", err)
	}
	sp.mu.Lock()
	same := sp.roas != nil && fi.ModTime().Equal(sp.roaMod)
	sp.mu.Unlock()
	if same {
		return nil
	}
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("monitor: roa file: %w", err)
	}
	defer f.Close()
	set, err := ReadROAs(f)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	sp.mu.Lock()
	sp.roas, sp.roaMod = set, fi.ModTime()
	sp.mu.Unlock()
	return nil
}
