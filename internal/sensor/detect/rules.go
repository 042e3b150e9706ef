package detect

import (
	"encoding/binary"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/rampart-cert/rampart/internal/sensor"
)

// window is what every aggregated state shares: when its window opened,
// the first and last event, how many events, and how many were already
// reported.
type window struct {
	start, first, last time.Time
	count, reported    uint64
}

// add counts an event at t in a window of length w; it returns false when
// the window had ended (the caller closes the state, resets it and adds
// again).
func (s *window) add(t time.Time, w time.Duration) bool {
	if s.count > 0 && !t.Before(s.start.Add(w)) {
		return false
	}
	if s.count == 0 {
		s.start, s.first, s.last = t, t, t
	}
	if t.Before(s.first) {
		s.first = t
	}
	if t.After(s.last) {
		s.last = t
	}
	s.count++
	return true
}

// due reports whether the state has events not yet reported, and marks
// them reported.
func (s *window) due() bool {
	if s.count <= s.reported {
		return false
	}
	s.reported = s.count
	return true
}

// --- indicator hits ---

type hitKey struct {
	listed   netip.Addr // the listed address (zero for a name)
	name     string     // the listed name
	internal netip.Addr
}

type hitState struct {
	window
	id     int64
	remote netip.Addr // for a name: the other side's address
}

func (d *Detector) match(ev *sensor.Event) {
	hit := false
	if ev.Src.IsValid() {
		if id, ok := d.ind.LookupAddr(ev.Src); ok {
			d.hit(hitKey{listed: ev.Src, internal: ev.Dst}, id, ev.Src, ev.Time)
			hit = true
		}
	}
	if ev.Dst.IsValid() {
		if id, ok := d.ind.LookupAddr(ev.Dst); ok {
			d.hit(hitKey{listed: ev.Dst, internal: ev.Src}, id, ev.Dst, ev.Time)
			hit = true
		}
	}
	if ev.Name != "" {
		if id, ok := d.ind.LookupName(ev.Name); ok {
			// The server that answered for the name, if the event says:
			// not a DNS event's resolver, not a member address.
			remote := ev.Dst
			if ev.Type == sensor.TypeDNS || d.Internal(remote) {
				remote = netip.Addr{}
			}
			d.hit(hitKey{name: ev.Name, internal: ev.Src}, id, remote, ev.Time)
			hit = true
		}
	}
	if hit {
		d.stats.Hits++
	}
}

func (d *Detector) hit(k hitKey, id int64, remote netip.Addr, t time.Time) {
	s, _ := d.hits.touch(k)
	if !s.add(t, d.cfg.HitWindow) {
		d.closeHit(k, s)
		*s = hitState{}
		s.add(t, d.cfg.HitWindow)
	}
	s.id = id
	if remote.IsValid() {
		s.remote = remote
	}
}

func (d *Detector) closeHit(k hitKey, s *hitState) { d.reportHit(k, s) }

func (d *Detector) reportHit(k hitKey, s *hitState) {
	if !s.due() {
		return
	}
	det := sensor.Detection{Kind: sensor.DetectIndicatorHit, Source: k.listed, Target: k.internal, Name: k.name,
		Count: s.count, First: s.first, Last: s.last}
	what := k.listed.String()
	if k.name != "" {
		det.Source = s.remote
		what = k.name
	}
	if d.cfg.Describe != nil {
		det.Indicator = d.cfg.Describe(s.id)
	}
	if det.Indicator == "" {
		det.Indicator = what
	}
	det.Detail = fmt.Sprintf("%s talked with listed %s %d times", k.internal, what, s.count)
	if !k.internal.IsValid() {
		det.Detail = fmt.Sprintf("listed %s seen %d times", what, s.count)
	}
	d.out = append(d.out, det)
}

// --- port scans ---

type scanState struct {
	window
	ports      []uint16 // distinct ports, up to ScanPorts
	hosts      []uint64 // distinct targets (hostKey), up to ScanHosts
	morePorts  bool     // more distinct ports than kept
	moreHosts  bool
	target     netip.Addr
	port       uint16
	singlePort bool
	singleHost bool
}

func (d *Detector) scan(ev *sensor.Event) {
	if !ev.Src.IsValid() {
		return
	}
	// A one-way flow record (NetFlow) from a service port to a high port
	// is a server's reply to one of ours, not a probe: a web server
	// answering a member's browser reaches many of its ports.
	if ev.SrcPort != 0 && ev.SrcPort < 1024 && ev.DstPort >= 1024 {
		return
	}
	s, _ := d.scans.touch(ev.Src)
	if !s.add(ev.Time, d.cfg.Window) {
		d.closeScan(ev.Src, s)
		ports, hosts := s.ports[:0], s.hosts[:0]
		*s = scanState{ports: ports, hosts: hosts}
		s.add(ev.Time, d.cfg.Window)
	}
	if s.count == 1 {
		s.target, s.port, s.singleHost, s.singlePort = ev.Dst, ev.DstPort, true, true
	}
	if ev.Dst != s.target {
		s.singleHost = false
	}
	if ev.DstPort != s.port {
		s.singlePort = false
	}
	if !slices.Contains(s.ports, ev.DstPort) {
		if len(s.ports) < d.cfg.ScanPorts {
			s.ports = append(s.ports, ev.DstPort)
		} else {
			s.morePorts = true
		}
	}
	if h := hostKey(ev.Dst); !slices.Contains(s.hosts, h) {
		if len(s.hosts) < d.cfg.ScanHosts {
			s.hosts = append(s.hosts, h)
		} else {
			s.moreHosts = true
		}
	}
}

// hostKey folds an address into 8 bytes for counting distinct targets (a
// third of a netip.Addr's size; IPv4 addresses never collide).
func hostKey(a netip.Addr) uint64 {
	b := a.As16()
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	return lo ^ hi*0x9e3779b97f4a7c15
}

func (d *Detector) closeScan(k netip.Addr, s *scanState) { d.reportScan(k, s) }

func (d *Detector) reportScan(src netip.Addr, s *scanState) {
	ports := len(s.ports) >= d.cfg.ScanPorts
	hosts := len(s.hosts) >= d.cfg.ScanHosts
	if (!ports && !hosts) || !s.due() {
		return
	}
	det := sensor.Detection{Kind: sensor.DetectPortScan, Source: src, Count: s.count, First: s.first, Last: s.last}
	if s.singleHost {
		det.Target = s.target
	}
	if s.singlePort {
		det.Port = s.port
	}
	atLeast := func(n int, more bool) string {
		if more {
			return "over " + strconv.Itoa(n)
		}
		return strconv.Itoa(n)
	}
	det.Detail = fmt.Sprintf("%d flows from %s to %s ports on %s hosts", s.count, src, atLeast(len(s.ports), s.morePorts), atLeast(len(s.hosts), s.moreHosts))
	d.out = append(d.out, det)
}

// --- brute force ---

type authKey struct {
	src netip.Addr
	ssh bool // SSH; else web
}

type authState struct {
	window
	failures uint64
	sessions uint64 // SSH sessions of unknown outcome
	users    []string
	moreUser bool
	target   netip.Addr
	port     uint16
	service  string
}

const maxUsers = 64

// service classifies a login failure by its Signature: SSH ("sshd",
// "ssh", or none towards port 22), web ("http", "https", "nginx",
// "apache", "apache2", "httpd", or none towards 80 or 443), or neither
// (mail, FTP, su: not counted by these detectors).
func service(ev *sensor.Event) (ssh, web bool) {
	switch ev.Signature {
	case "sshd", "ssh", "sshd-session":
		return true, false
	case "http", "https", "nginx", "apache", "apache2", "httpd":
		return false, true
	case "":
		return ev.DstPort == 22, ev.DstPort == 80 || ev.DstPort == 443
	}
	return false, false
}

func (d *Detector) authFail(ev *sensor.Event) {
	ssh, web := service(ev)
	if !ssh && !web {
		return
	}
	s := d.authEntry(ev, ssh)
	if s == nil {
		return
	}
	s.failures++
	if ev.User != "" && !containsString(s.users, ev.User) {
		if len(s.users) < maxUsers {
			s.users = append(s.users, ev.User)
		} else {
			s.moreUser = true
		}
	}
}

func (d *Detector) sshSession(ev *sensor.Event) {
	if s := d.authEntry(ev, true); s != nil {
		s.sessions++
	}
}

// authEntry returns the state for the event's source, its window
// advanced to the event.
func (d *Detector) authEntry(ev *sensor.Event, ssh bool) *authState {
	ext, in := d.outside(ev)
	if !ext.IsValid() {
		return nil
	}
	k := authKey{src: ext, ssh: ssh}
	s, _ := d.auth.touch(k)
	if !s.add(ev.Time, d.cfg.Window) {
		d.closeAuth(k, s)
		*s = authState{users: s.users[:0]}
		s.add(ev.Time, d.cfg.Window)
	}
	if s.count == 1 {
		s.target, s.port, s.service = in, ev.DstPort, ev.Signature
	} else {
		if s.target != in {
			s.target = netip.Addr{}
		}
		if s.port != ev.DstPort {
			s.port = 0
		}
	}
	return s
}

func containsString(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func (d *Detector) closeAuth(k authKey, s *authState) { d.reportAuth(k, s) }

func (d *Detector) reportAuth(k authKey, s *authState) {
	var crossed bool
	kind := sensor.DetectWebBruteForce
	if k.ssh {
		kind = sensor.DetectSSHBruteForce
		crossed = s.failures >= uint64(d.cfg.SSHFailures) || s.sessions >= uint64(d.cfg.SSHSessions)
	} else {
		crossed = s.failures >= uint64(d.cfg.WebFailures)
	}
	if !crossed || !s.due() {
		return
	}
	det := sensor.Detection{Kind: kind, Source: k.src, Target: s.target, Port: s.port, Count: s.count, First: s.first, Last: s.last}
	if k.ssh && det.Port == 0 && s.sessions > 0 {
		det.Port = 22
	}
	users := strconv.Itoa(len(s.users))
	if s.moreUser {
		users = "over " + users
	}
	switch {
	case k.ssh && s.failures > 0 && s.sessions > 0:
		det.Detail = fmt.Sprintf("%d failed SSH logins for %s users and %d SSH sessions", s.failures, users, s.sessions)
	case k.ssh && s.failures > 0:
		det.Detail = fmt.Sprintf("%d failed SSH logins for %s users", s.failures, users)
	case k.ssh:
		det.Detail = fmt.Sprintf("%d SSH sessions", s.sessions)
	default:
		det.Detail = fmt.Sprintf("%d failed web logins for %s users", s.failures, users)
	}
	d.out = append(d.out, det)
}

// --- IDS alerts ---

type alertState struct {
	window
	signature string // the first
	sigs      int    // distinct signatures kept in seen
	seen      [4]string
	moreSigs  bool // more distinct signatures than seen holds
	target    netip.Addr
	port      uint16
	severity  uint8 // the highest (lowest number)
}

func (d *Detector) alert(ev *sensor.Event) {
	ext, in := d.outside(ev)
	if !ext.IsValid() {
		return
	}
	s, _ := d.alerts.touch(ext)
	if !s.add(ev.Time, d.cfg.Window) {
		d.closeAlert(ext, s)
		*s = alertState{}
		s.add(ev.Time, d.cfg.Window)
	}
	if s.count == 1 {
		// The port is the service's (DstPort), whichever side is ours.
		s.signature, s.target, s.port, s.severity = ev.Signature, in, ev.DstPort, ev.Severity
	} else {
		if s.target != in {
			s.target = netip.Addr{}
		}
		if s.port != ev.DstPort {
			s.port = 0
		}
		if ev.Severity < s.severity {
			s.severity = ev.Severity
		}
	}
	known := false
	for _, x := range s.seen[:s.sigs] {
		if x == ev.Signature {
			known = true
			break
		}
	}
	if !known {
		if s.sigs < len(s.seen) {
			s.seen[s.sigs] = ev.Signature
			s.sigs++
		} else {
			s.moreSigs = true
		}
	}
}

func (d *Detector) closeAlert(k netip.Addr, s *alertState) { d.reportAlert(k, s) }

func (d *Detector) reportAlert(src netip.Addr, s *alertState) {
	if !s.due() {
		return
	}
	det := sensor.Detection{Kind: sensor.DetectAlert, Source: src, Target: s.target, Port: s.port, Count: s.count, First: s.first, Last: s.last}
	det.Detail = fmt.Sprintf("%d alerts of severity %d: %s", s.count, s.severity, s.signature)
	switch {
	case s.moreSigs:
		det.Detail += fmt.Sprintf(" (and over %d other signatures)", s.sigs-1)
	case s.sigs > 1:
		det.Detail += fmt.Sprintf(" (and %d other signatures)", s.sigs-1)
	}
	d.out = append(d.out, det)
}

// --- volume spikes ---

type volState struct {
	start          time.Time // the current interval
	bytes, packets uint64
	baseBytes      float64
	basePackets    float64
	top            netip.Addr // the source of the largest flow this interval
	topBytes       uint64
	spiking        bool // the previous interval was a spike
	spikeStart     time.Time
}

func (d *Detector) traffic(ev *sensor.Event) {
	if ev.Bytes == 0 && ev.Packets == 0 {
		return
	}
	s, fresh := d.volume.touch(ev.Dst)
	iv := ev.Time.Truncate(d.cfg.VolumeInterval)
	if fresh {
		s.start = iv
	} else if iv.After(s.start) {
		d.advance(ev.Dst, s, ev.Time)
	}
	s.bytes += ev.Bytes
	s.packets += ev.Packets
	if ev.Bytes >= s.topBytes {
		s.top, s.topBytes = ev.Src, ev.Bytes
	}
}

// advance closes the intervals of s that ended by now: it judges the
// current one against the baseline, then folds it (and any empty
// intervals after it) into the baseline.
func (d *Detector) advance(dst netip.Addr, s *volState, now time.Time) {
	iv := d.cfg.VolumeInterval
	if now.Before(s.start.Add(iv)) {
		return
	}
	a := d.cfg.VolumeAlpha
	f := d.cfg.VolumeFactor
	b, p := float64(s.bytes), float64(s.packets)
	// A byte spike carried by one flow is a transfer (a download, a
	// backup), not a flood.
	spike := (s.bytes >= d.cfg.VolumeMinBytes && b >= f*s.baseBytes && 2*s.topBytes < s.bytes) ||
		(s.packets >= d.cfg.VolumeMinPackets && p >= f*s.basePackets)
	if spike {
		if !s.spiking {
			s.spikeStart = s.start
		}
		det := sensor.Detection{Kind: sensor.DetectVolumeSpike, Source: s.top, Target: dst, Count: s.packets,
			First: s.spikeStart, Last: s.start.Add(iv)}
		det.Detail = fmt.Sprintf("%s and %d packets in %v towards %s, baseline %s and %.0f packets",
			humanBytes(b), s.packets, iv, dst, humanBytes(s.baseBytes), s.basePackets)
		d.out = append(d.out, det)
		// An attack should not become the baseline: it moves it ten
		// times slower.
		a /= 10
	}
	s.spiking = spike
	s.baseBytes += a * (b - s.baseBytes)
	s.basePackets += a * (p - s.basePackets)
	// Empty intervals between the closed one and now decay the baseline.
	next := now.Truncate(iv)
	if gaps := int64(next.Sub(s.start)/iv) - 1; gaps > 0 {
		decay := math.Pow(1-d.cfg.VolumeAlpha, float64(min(gaps, 10_000)))
		s.baseBytes *= decay
		s.basePackets *= decay
		s.spiking = false
	}
	s.start = next
	s.bytes, s.packets, s.top, s.topBytes = 0, 0, netip.Addr{}, 0
}

func humanBytes(b float64) string {
	switch {
	case b >= 1e9:
		return fmt.Sprintf("%.1f GB", b/1e9)
	case b >= 1e6:
		return fmt.Sprintf("%.1f MB", b/1e6)
	case b >= 1e3:
		return fmt.Sprintf("%.1f kB", b/1e3)
	}
	return fmt.Sprintf("%.0f B", b)
}
