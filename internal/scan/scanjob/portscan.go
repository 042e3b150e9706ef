package scanjob

import (
	"encoding/json"
	"net/url"

	"github.com/rampart-cert/rampart/internal/asset"
)

// PortscanParams are the parameters of a portscan job. The asset travels
// with the job so a worker (which has no database) can check every probe
// against it: nothing outside the asset, and nothing excluded, is touched.
type PortscanParams struct {
	AssetKind   asset.Kind `json:"asset_kind"`
	AssetValue  string     `json:"asset_value"`
	Exclusions  []string   `json:"exclusions,omitempty"`
	Ports       string     `json:"ports"` // as for --ports: top100, top1000, all, 22,80,1000-2000
	Rate        int        `json:"rate,omitempty"`
	PerHostRate int        `json:"per_host_rate,omitempty"`
	Concurrency int        `json:"concurrency,omitempty"`
	TimeoutMS   int        `json:"timeout_ms,omitempty"`
	Retries     int        `json:"retries,omitempty"`
	Checks      []string   `json:"checks,omitempty"` // check families; empty: none
	// AllowedAddrs are the addresses a name may lead to (security F6):
	// the organization's own verified ipv4, ipv6 and cidr asset values,
	// plus any hosting ranges approved for it. An address reached through
	// a name (a hostname, domain or URL asset, a name server of the zone)
	// is probed only when it is in this list; the job's own address or
	// network asset needs no entry here.
	AllowedAddrs []string `json:"allowed_addrs,omitempty"`
	// AllowInternal lets an address reached through a name be private,
	// loopback, link-local or otherwise special-purpose (a platform with
	// internal_deployment); without it such an address is never probed
	// through a name.
	AllowInternal bool `json:"allow_internal,omitempty"`
	// VirtualHosts are names the organization registered and verified
	// (host names, domains, the hosts of its URLs), for a job of one of
	// its addresses: the engine checks the web services of every scanned
	// address under each name that resolves to it (name-based virtual
	// hosts). The job's scope admits these names as names; an address is
	// probed only by the usual rules, and every result stays the job's
	// asset's.
	VirtualHosts []string `json:"virtual_hosts,omitempty"`
	// Credentials lets svc.default-credentials try the shipped empty and
	// default passwords (a few per service): only for an organization
	// whose scan policy opts in.
	Credentials bool `json:"credentials,omitempty"`
	// UDP scans UDP ports too (UDPPorts, as for --udp-ports; empty: the
	// default list of udpscan) and runs the UDP checks on what answers:
	// for an organization whose scan policy turns UDP on.
	UDP      bool   `json:"udp,omitempty"`
	UDPPorts string `json:"udp_ports,omitempty"`
}

// PortscanResult is the Data of a portscan job's result.
type PortscanResult struct {
	Hosts []string `json:"hosts"` // addresses that answered at all
	Ports string   `json:"ports"` // the TCP port spec probed
	// UDPPorts is the UDP port spec probed, empty when the job ran no UDP
	// scan: only then do UDP services not seen again get closed.
	UDPPorts    string     `json:"udp_ports,omitempty"`
	Open        []OpenPort `json:"open"`
	Unreachable bool       `json:"unreachable,omitempty"` // nothing answered
	Stats       ScanStats  `json:"stats"`
	// Findings are the check results; Covered the checks that completed
	// on each target (what was looked for, so what was not found is fixed).
	Findings []FindingOut  `json:"findings,omitempty"`
	Covered  []CoverageOut `json:"covered,omitempty"`
	// ClosedNow lists "ip:port" (TCP) and "ip:port/udp" services that
	// were open before this scan and are closed now; the ingester fills it, so every check's
	// findings there count as fixed.
	ClosedNow []string `json:"-"`
}

// OpenPort is one open port a portscan job saw, with its fingerprint.
type OpenPort struct {
	IP      string          `json:"ip"`
	Port    int             `json:"port"`
	Proto   string          `json:"proto,omitempty"` // "udp" for a UDP service; empty for TCP
	Host    string          `json:"host,omitempty"`
	Service string          `json:"service,omitempty"`
	Product string          `json:"product,omitempty"`
	Version string          `json:"version,omitempty"`
	CPE     string          `json:"cpe,omitempty"`
	TLS     bool            `json:"tls,omitempty"`
	Banner  string          `json:"banner,omitempty"`
	Cert    json.RawMessage `json:"cert,omitempty"`
}

// ScanStats summarizes a scan.
type ScanStats struct {
	Hosts     int     `json:"hosts"`
	Probed    int     `json:"probed"`
	Open      int     `json:"open"`
	ElapsedMS int64   `json:"elapsed_ms"`
	Rate      float64 `json:"rate"` // probes per second
}

// FindingOut is one check result in a portscan job's result.
type FindingOut struct {
	Check    string   `json:"check"`
	Family   string   `json:"family"`
	Severity string   `json:"severity"`
	Target   string   `json:"target"` // the worker's finding target: "ip:port", a name or a URL
	Host     string   `json:"host,omitempty"`
	IP       string   `json:"ip,omitempty"` // service targets: the address, for ownership
	Subject  string   `json:"subject,omitempty"`
	Title    string   `json:"title"`
	Evidence Evidence `json:"evidence"`
	CVE      []string `json:"cve,omitempty"`
	KEV      bool     `json:"kev,omitempty"`
}

// Evidence is what a check saw, as it travels: the same fields, and so the
// same JSON, as check.Evidence. It is its own type so the control plane
// need not link the checks; the worker converts with Evidence(e), which
// stops compiling the day the two types differ.
type Evidence struct {
	Request  string            `json:"request,omitempty"`
	Response string            `json:"response,omitempty"`
	Fields   map[string]string `json:"fields,omitempty"`
}

// CoverageOut says which checks completed on one target.
type CoverageOut struct {
	Target string   `json:"target"`
	IP     string   `json:"ip,omitempty"`
	Checks []string `json:"checks"`
}

// TargetOf is what a worker probes for an asset: the address, network or
// name itself, or a URL's host.
func TargetOf(a asset.Asset) string {
	if a.Kind == asset.KindURL {
		return urlHost(a.Value)
	}
	return a.Value
}

// urlHost returns the host of a normalized URL ("https://h:8443/p" → "h").
func urlHost(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return u
	}
	return pu.Hostname()
}
