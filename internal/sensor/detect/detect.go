// Package detect turns a sensor's events into detections: indicator hits
// (an event's address or name matched against the hub's indicators) and
// attacks seen in the events alone (port scans, SSH and web login brute
// force, traffic volume spikes towards a member address, high-severity IDS
// alerts). Detections are aggregated: one source seen ten thousand times
// in a window is one Detection with a count.
//
// An indicator hit names the listed party and the internal host: for an
// address, Source is the listed address; for a name, Name is the name
// asked, Indicator the listing (Config.Describe), and Source the server
// that answered for it (TLS, HTTP), never a DNS resolver.
//
// Time is event time: windows open at a state's first event and close
// when a later event or a Flush finds them older than the window, so a
// replayed log gives the same detections as the live traffic did. Memory
// is bounded: every table keeps at most Config.MaxTracked entries and
// forgets the one touched longest ago (reporting it first if it had
// crossed its threshold).
//
// The package depends on sensor and the standard library only; the
// indicator tables come in through the Indicators interface, which
// *match.Matcher and *match.Snapshot (internal/intel/match) satisfy.
package detect

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/rampart-cert/rampart/internal/sensor"
)

// Indicators answers whether an address or name is listed, with the
// listing's ID. Lookups must not allocate or block: they run per event.
type Indicators interface {
	LookupAddr(a netip.Addr) (int64, bool)
	LookupName(name string) (int64, bool)
}

// Config holds the thresholds. Zero fields take the defaults documented
// on each (see Defaults).
type Config struct {
	// Member lists the member's own networks: they decide which side of
	// an event is internal (the target of an attack, the host of an
	// indicator hit). Empty: private (RFC 1918, ULA), loopback and
	// link-local addresses are internal. Volume spikes are only watched
	// towards internal addresses, so a member's public ranges belong here.
	Member []netip.Prefix

	// Window is the span over which scans, brute force and alerts are
	// counted (default 1 minute).
	Window time.Duration
	// HitWindow is the span over which indicator hits of one pair
	// (listed party, internal host) are aggregated (default 10 minutes).
	HitWindow time.Duration

	// ScanPorts and ScanHosts: one source opening flows to at least this
	// many distinct ports, or distinct internal hosts, within Window is a
	// port scan (defaults 25 and 25). Only flows towards internal hosts
	// count (outbound browsing is not scanning), and not one-way records
	// from a port under 1024 to one above (a server's replies).
	ScanPorts, ScanHosts int

	// Login failures count as SSH or web by their Signature (the
	// service): "sshd", "ssh" are SSH; "http", "nginx", "apache",
	// "httpd" are web; without one, port 22 is SSH and 80 or 443 web;
	// other services (mail, FTP, su) are not counted.
	//
	// SSHFailures: failed SSH logins from one source within Window
	// (default 10). SSHSessions: SSH sessions of unknown outcome (EVE ssh
	// records) from one external source within Window (default 30).
	SSHFailures, SSHSessions int
	// WebFailures: failed web logins (POST to a login path answered 401
	// or 403, web server log failures) from one source within Window
	// (default 20).
	WebFailures int

	// AlertSeverity: IDS alerts with severity 1 … AlertSeverity are
	// reported (Suricata: 1 high, 2 medium, 3 low; default 1).
	AlertSeverity uint8

	// VolumeInterval is the interval over which traffic towards one
	// member address is summed (default 10 s). A spike is an interval
	// whose bytes reach both VolumeMinBytes and VolumeFactor times the
	// address's baseline, or whose packets reach both VolumeMinPackets
	// and VolumeFactor times the packet baseline; a byte spike carried
	// by a single flow (a download) is not one. The baselines are
	// exponentially weighted moving averages over past intervals with
	// weight VolumeAlpha (empty intervals count as zero). Defaults:
	// 100 MB (80 Mbit/s), 200,000 packets (20 kpps), factor 10, alpha 0.1.
	VolumeInterval   time.Duration
	VolumeMinBytes   uint64
	VolumeMinPackets uint64
	VolumeFactor     float64
	VolumeAlpha      float64

	// MaxTracked caps the entries of each table (sources, pairs, member
	// addresses); default 100,000. A scanning source costs up to about
	// 600 bytes (the distinct ports and hosts kept to reach the
	// thresholds), other entries 100–300 bytes: with the scan, brute-force
	// and alert tables full the heap held 116 MB (measured), so the
	// default bounds the detector to about 150 MB under a flood of
	// distinct sources.
	MaxTracked int

	// Describe, if set, returns the indicator value for a listing ID, for
	// Detection.Indicator.
	Describe func(id int64) string
}

// Defaults returns the configuration with every zero threshold set to its
// default.
func (c Config) Defaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defInt := func(n *int, v int) {
		if *n <= 0 {
			*n = v
		}
	}
	def(&c.Window, time.Minute)
	def(&c.HitWindow, 10*time.Minute)
	def(&c.VolumeInterval, 10*time.Second)
	defInt(&c.ScanPorts, 25)
	defInt(&c.ScanHosts, 25)
	defInt(&c.SSHFailures, 10)
	defInt(&c.SSHSessions, 30)
	defInt(&c.WebFailures, 20)
	defInt(&c.MaxTracked, 100_000)
	if c.AlertSeverity == 0 {
		c.AlertSeverity = 1
	}
	if c.VolumeMinBytes == 0 {
		c.VolumeMinBytes = 100_000_000
	}
	if c.VolumeMinPackets == 0 {
		c.VolumeMinPackets = 200_000
	}
	if c.VolumeFactor <= 0 {
		c.VolumeFactor = 10
	}
	if c.VolumeAlpha <= 0 || c.VolumeAlpha > 1 {
		c.VolumeAlpha = 0.1
	}
	return c
}

// ErrConfig is returned by New for an unusable configuration.
var ErrConfig = errors.New("detect: invalid configuration")

// Stats counts what a detector did.
type Stats struct {
	Events  uint64 // events observed
	Hits    uint64 // events that matched an indicator
	Evicted uint64 // entries forgotten to stay under MaxTracked
}

// Detector aggregates events into detections. It is not safe for
// concurrent use: one goroutine observes and flushes.
type Detector struct {
	cfg    Config
	ind    Indicators
	latest time.Time // the latest event time seen
	stats  Stats

	hits   *lru[hitKey, hitState]
	scans  *lru[netip.Addr, scanState]
	auth   *lru[authKey, authState]
	alerts *lru[netip.Addr, alertState]
	volume *lru[netip.Addr, volState]

	out []sensor.Detection // detections closed since the last Flush
}

// New returns a detector; ind may be nil (no indicator matching).
func New(cfg Config, ind Indicators) (*Detector, error) {
	cfg = cfg.Defaults()
	if cfg.ScanPorts > 1024 || cfg.ScanHosts > 1024 {
		return nil, fmt.Errorf("%w: ScanPorts and ScanHosts must be at most 1024", ErrConfig)
	}
	for _, p := range cfg.Member {
		if !p.IsValid() {
			return nil, fmt.Errorf("%w: member prefix %v", ErrConfig, p)
		}
	}
	cfg.Member = slices.Clone(cfg.Member)
	for i, p := range cfg.Member {
		cfg.Member[i] = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-unmapBits(p)).Masked()
	}
	d := &Detector{cfg: cfg, ind: ind}
	n := cfg.MaxTracked
	d.hits = newLRU[hitKey, hitState](n)
	d.scans = newLRU[netip.Addr, scanState](n)
	d.auth = newLRU[authKey, authState](n)
	d.alerts = newLRU[netip.Addr, alertState](n)
	d.volume = newLRU[netip.Addr, volState](n)
	d.hits.onEvict = func(k hitKey, s *hitState) { d.closeHit(k, s) }
	d.scans.onEvict = func(k netip.Addr, s *scanState) { d.closeScan(k, s) }
	d.auth.onEvict = func(k authKey, s *authState) { d.closeAuth(k, s) }
	d.alerts.onEvict = func(k netip.Addr, s *alertState) { d.closeAlert(k, s) }
	return d, nil
}

// unmapBits is 96 for an IPv4-mapped IPv6 prefix (whose bits count the
// ::ffff:0:0/96 part), else 0.
func unmapBits(p netip.Prefix) int {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return 96
	}
	return 0
}

// Internal reports whether a belongs to the member (see Config.Member).
func (d *Detector) Internal(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	a = a.Unmap()
	if len(d.cfg.Member) == 0 {
		return a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast()
	}
	for _, p := range d.cfg.Member {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Stats returns the counters so far.
func (d *Detector) Stats() Stats {
	s := d.stats
	s.Evicted = d.hits.evicted + d.scans.evicted + d.auth.evicted + d.alerts.evicted + d.volume.evicted
	return s
}

// Observe takes one event into account.
func (d *Detector) Observe(ev *sensor.Event) {
	d.stats.Events++
	if ev.Time.After(d.latest) {
		d.latest = ev.Time
	}
	if d.ind != nil {
		d.match(ev)
	}
	switch ev.Type {
	case sensor.TypeFlow:
		if d.Internal(ev.Dst) {
			d.scan(ev)
			d.traffic(ev)
		}
	case sensor.TypeAuthFail:
		d.authFail(ev)
	case sensor.TypeSSH:
		if !d.Internal(ev.Src) && d.Internal(ev.Dst) {
			d.sshSession(ev)
		}
	case sensor.TypeAlert:
		if ev.Severity >= 1 && ev.Severity <= d.cfg.AlertSeverity {
			d.alert(ev)
		}
	}
}

// Flush closes what has ended by now (event time; zero means the latest
// event time observed) and returns the detections to report: every closed
// window or interval that crossed its threshold, and every open window
// that crossed it and grew since it was last reported (Count is then the
// total so far). The result is sorted by kind, source and target.
func (d *Detector) Flush(now time.Time) []sensor.Detection {
	if now.IsZero() {
		now = d.latest
	}
	d.hits.each(func(k hitKey, s *hitState) bool {
		if !now.Before(s.start.Add(d.cfg.HitWindow)) {
			d.closeHit(k, s)
			return true
		}
		d.reportHit(k, s)
		return false
	})
	d.scans.each(func(k netip.Addr, s *scanState) bool {
		if !now.Before(s.start.Add(d.cfg.Window)) {
			d.closeScan(k, s)
			return true
		}
		d.reportScan(k, s)
		return false
	})
	d.auth.each(func(k authKey, s *authState) bool {
		if !now.Before(s.start.Add(d.cfg.Window)) {
			d.closeAuth(k, s)
			return true
		}
		d.reportAuth(k, s)
		return false
	})
	d.alerts.each(func(k netip.Addr, s *alertState) bool {
		if !now.Before(s.start.Add(d.cfg.Window)) {
			d.closeAlert(k, s)
			return true
		}
		d.reportAlert(k, s)
		return false
	})
	d.volume.each(func(k netip.Addr, s *volState) bool {
		d.advance(k, s, now)
		// Forget an address whose baseline has decayed to nothing.
		return s.bytes == 0 && s.packets == 0 && s.baseBytes < 1 && s.basePackets < 1
	})
	out := d.out
	d.out = nil
	slices.SortFunc(out, func(a, b sensor.Detection) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), a.Source.Compare(b.Source), a.Target.Compare(b.Target), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// outside returns the external and the internal side of an event: the
// external party is Src unless only Dst is external.
func (d *Detector) outside(ev *sensor.Event) (ext, in netip.Addr) {
	if d.Internal(ev.Src) && ev.Dst.IsValid() && !d.Internal(ev.Dst) {
		return ev.Dst, ev.Src
	}
	return ev.Src, ev.Dst
}
