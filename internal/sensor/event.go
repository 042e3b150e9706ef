// Package sensor turns what members' gateways see (Suricata EVE, Zeek logs,
// NetFlow/IPFIX, authentication failures in syslog) into normalized events,
// matches them against the hub's indicators and detects attacks from the
// events alone. Inputs live in subpackages (eve, zeek, netflow, syslog);
// the `rampart sensor` process wires them (package sensor/agent).
package sensor

import (
	"net/netip"
	"time"
)

// Type is what an event records.
type Type uint8

// The event types.
const (
	TypeFlow     Type = iota + 1 // a connection or flow record (EVE flow, Zeek conn, NetFlow/IPFIX)
	TypeAlert                    // an IDS alert (EVE alert, Zeek notice)
	TypeDNS                      // a DNS query or answer (EVE dns, Zeek dns)
	TypeHTTP                     // an HTTP request (EVE http, Zeek http)
	TypeTLS                      // a TLS handshake (EVE tls, Zeek ssl): Name is the SNI
	TypeSSH                      // an SSH session (EVE ssh, Zeek ssh)
	TypeAuthFail                 // a failed login (syslog: sshd, web servers)
)

var typeNames = [...]string{"", "flow", "alert", "dns", "http", "tls", "ssh", "auth-fail"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "unknown"
}

// Event is one normalized observation. Src is the side that started the
// connection (the client, the attacker of an alert); Dst the other.
// Fields an input does not know stay zero. An Event holds no references to
// the input's buffers: inputs copy what they keep.
type Event struct {
	Time    time.Time
	Type    Type
	Src     netip.Addr
	Dst     netip.Addr
	SrcPort uint16
	DstPort uint16
	Proto   uint8  // IP protocol number: 6 TCP, 17 UDP, 1 ICMP
	Name    string // the DNS query name, HTTP Host or TLS SNI, lower case
	Bytes   uint64 // both directions when the input says so
	Packets uint64
	// Signature names an alert (Suricata signature, Zeek notice name) or
	// the service of a login failure ("sshd", "nginx").
	Signature string
	Severity  uint8  // alert severity as the input gives it (Suricata: 1 high … 3 low)
	User      string // the login of an authentication failure
	Input     string // "eve", "zeek", "netflow", "ipfix", "syslog"
}

// DetectionKind is what a detection found.
type DetectionKind string

// The detections.
const (
	DetectIndicatorHit  DetectionKind = "indicator-hit"  // an internal host talked to a listed address or name
	DetectPortScan      DetectionKind = "port-scan"      // one source touched many ports or hosts
	DetectSSHBruteForce DetectionKind = "ssh-bruteforce" // many failed SSH logins from one source
	DetectWebBruteForce DetectionKind = "web-bruteforce" // many failed web logins from one source
	DetectVolumeSpike   DetectionKind = "volume-spike"   // traffic towards one member address far above its baseline (DDoS onset)
	DetectAlert         DetectionKind = "ids-alert"      // an IDS alert of high severity, by source
)

// Detection is what a sensor reports to the platform: an attack or a hit,
// aggregated over a window so a source seen ten thousand times is one
// detection with a count. Source is the external party (the attacker, or
// the listed address an internal host talked to); Target the member's
// address involved (for an indicator hit: the internal host).
type Detection struct {
	Kind      DetectionKind
	Org       string // the reporting sensor's organization code (set by the platform from the credential, never trusted from the sensor)
	Sensor    string // the reporting sensor's name (idem)
	Source    netip.Addr
	Target    netip.Addr
	Name      string // the listed name of an indicator hit, if it was a name
	Indicator string // the indicator value that matched (address, CIDR or name)
	Port      uint16 // the target port when one dominates (22 for SSH brute force)
	Count     uint64 // events aggregated
	First     time.Time
	Last      time.Time
	Detail    string // one line for people: "412 failed SSH logins for 37 users"
}
