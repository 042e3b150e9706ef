package udpscan

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Info is what a reply says about the service, for the engine's port
// record and the checks' Applies.
type Info struct {
	Service string            `json:"service"`           // snmp, ntp, dns, ssdp, mdns, memcached, ipmi, netbios-ns, coap, tftp
	Product string            `json:"product,omitempty"` // when the reply names it
	Version string            `json:"version,omitempty"`
	Extra   map[string]string `json:"extra,omitempty"` // protocol facts: snmp.community, ntp.stratum, ...
}

// Probe is the datagram(s) the scanner sends to a port, and how it reads
// the reply.
type Probe struct {
	Name string // the service the probe speaks
	// Payloads are sent together on every attempt; a reply to any of
	// them makes the port open.
	Payloads [][]byte
	// Identify reads a reply; false when the reply is not this protocol
	// (the port is open all the same, its service unknown).
	Identify func(reply []byte) (Info, bool)
	// AnyPort accepts a reply from another port of the target, for
	// protocols whose server answers from a new port (TFTP).
	AnyPort bool
	// Accept, with AnyPort, says whether a reply from another port is an
	// answer to this probe.
	Accept func(reply []byte) bool
}

// DefaultPorts are the UDP ports of the default probe list: DNS, TFTP,
// NTP, NetBIOS name service, SNMP, IPMI, SSDP, mDNS, CoAP and memcached.
var DefaultPorts = []uint16{53, 69, 123, 137, 161, 623, 1900, 5353, 5683, 11211}

// probeStamp is the transmit timestamp of the NTP probe, echoed by servers.
const probeStamp = 0x72616d7061727421 // "rampart!"

// ProbeFor returns the built-in probe of a protocol by service name
// (snmp, ntp, dns, ssdp, mdns, memcached, ipmi, netbios-ns, coap, tftp),
// so a test or an operator can put a protocol on an unusual port.
func ProbeFor(service string) (Probe, bool) {
	switch service {
	case "dns":
		return Probe{Name: "dns", Payloads: [][]byte{DNSVersionQuery(0x7261)}, Identify: identifyDNS}, true
	case "tftp":
		// A name nobody serves: the server answers "File not found".
		rrq := TFTPReadRequest("rampart-probe-nonexistent.txt")
		return Probe{Name: "tftp", Payloads: [][]byte{rrq}, Identify: identifyTFTP, AnyPort: true,
			Accept: func(b []byte) bool { _, err := ParseTFTP(b); return err == nil }}, true
	case "ntp":
		return Probe{Name: "ntp", Payloads: [][]byte{NTPClientRequest(probeStamp)}, Identify: identifyNTP}, true
	case "netbios-ns":
		return Probe{Name: "netbios-ns", Payloads: [][]byte{NetBIOSStatusRequest(0x7261)}, Identify: identifyNetBIOS}, true
	case "snmp":
		// public in v2c and v1 (agents answer only the versions they
		// run), and private in v2c; a wrong community gets silence.
		var ps [][]byte
		for _, c := range []struct {
			v    int
			comm string
		}{{SNMPv2c, "public"}, {SNMPv1, "public"}, {SNMPv2c, "private"}} {
			b, _ := SNMPGet(c.v, c.comm, 0x72616d70, OIDSysDescr)
			ps = append(ps, b)
		}
		return Probe{Name: "snmp", Payloads: ps, Identify: identifySNMP}, true
	case "ipmi":
		return Probe{Name: "ipmi", Payloads: [][]byte{IPMIAuthCapRequest()}, Identify: identifyIPMI}, true
	case "ssdp":
		return Probe{Name: "ssdp", Payloads: [][]byte{SSDPSearch()}, Identify: identifySSDP}, true
	case "mdns":
		return Probe{Name: "mdns", Payloads: [][]byte{MDNSServicesQuery()}, Identify: identifyMDNS}, true
	case "coap":
		return Probe{Name: "coap", Payloads: [][]byte{CoAPWellKnownCore(0x7261)}, Identify: identifyCoAP}, true
	case "memcached":
		return Probe{Name: "memcached", Payloads: [][]byte{MemcachedStatsRequest(0x7261)}, Identify: identifyMemcached}, true
	}
	return Probe{}, false
}

// defaultService names the protocol of each default port.
var defaultService = map[uint16]string{
	53: "dns", 69: "tftp", 123: "ntp", 137: "netbios-ns", 161: "snmp", 623: "ipmi",
	1900: "ssdp", 5353: "mdns", 5683: "coap", 11211: "memcached",
}

// ServiceOfPort is the protocol the scanner speaks to a well-known port
// ("" for none).
func ServiceOfPort(port uint16) string { return defaultService[port] }

// probeTable resolves the probe of every port: the configured ones, then
// the built-in ones, then an empty datagram.
type probeTable struct {
	byPort  map[uint16]*Probe
	empty   *Probe
	anyPort []uint16 // ports whose probe accepts replies from elsewhere
}

func newProbeTable(ports []uint16, extra map[uint16]Probe) (*probeTable, error) {
	t := &probeTable{byPort: map[uint16]*Probe{}, empty: &Probe{Name: "", Payloads: [][]byte{{}}}}
	for _, p := range ports {
		if pr, ok := extra[p]; ok {
			if len(pr.Payloads) == 0 {
				return nil, fmt.Errorf("%w: probe for port %d has no payload", ErrConfig, p)
			}
			t.byPort[p] = &pr
		} else if name := defaultService[p]; name != "" {
			pr, _ := ProbeFor(name)
			t.byPort[p] = &pr
		} else {
			continue
		}
		if t.byPort[p].AnyPort && !slices.Contains(t.anyPort, p) {
			t.anyPort = append(t.anyPort, p)
		}
	}
	return t, nil
}

func (t *probeTable) get(port uint16) *Probe {
	if p := t.byPort[port]; p != nil {
		return p
	}
	return t.empty
}

func identifyDNS(b []byte) (Info, bool) {
	r, err := ParseDNS(b)
	if err != nil {
		return Info{}, false
	}
	in := Info{Service: "dns", Extra: map[string]string{"dns.rcode": r.Rcode}}
	if r.RecursionAvailable {
		in.Extra["dns.ra"] = "true"
	}
	if len(r.TXT) > 0 {
		in.Extra["dns.version.bind"] = r.TXT[0]
		in.Product, in.Version = dnsProduct(r.TXT[0])
	}
	return in, true
}

// dnsProduct guesses the product of a version.bind string.
func dnsProduct(s string) (product, version string) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return "", ""
	}
	switch {
	case len(f) >= 2 && strings.EqualFold(f[0], "unbound"):
		return "Unbound", f[1]
	case strings.HasPrefix(strings.ToLower(f[0]), "dnsmasq-"):
		return "dnsmasq", f[0][len("dnsmasq-"):]
	case f[0] != "" && f[0][0] >= '0' && f[0][0] <= '9':
		return "BIND", f[0] // BIND answers with the bare version
	case strings.EqualFold(f[0], "PowerDNS") && len(f) >= 3:
		return "PowerDNS", f[2]
	}
	return "", ""
}

func identifyMDNS(b []byte) (Info, bool) {
	r, err := ParseDNS(b)
	if err != nil {
		return Info{}, false
	}
	in := Info{Service: "mdns", Extra: map[string]string{}}
	if len(r.PTR) > 0 {
		in.Extra["mdns.services"] = strings.Join(r.PTR[:min(len(r.PTR), 16)], " ")
	}
	return in, true
}

func identifyTFTP(b []byte) (Info, bool) {
	r, err := ParseTFTP(b)
	if err != nil {
		return Info{}, false
	}
	in := Info{Service: "tftp", Extra: map[string]string{"tftp.opcode": fmt.Sprint(r.Opcode)}}
	if r.Opcode == 5 {
		in.Extra["tftp.error"] = r.ErrMsg
	}
	return in, true
}

func identifyNTP(b []byte) (Info, bool) {
	r, err := ParseNTPServer(b)
	if err != nil {
		return Info{}, false
	}
	return Info{Service: "ntp", Extra: map[string]string{"ntp.version": fmt.Sprint(r.Version),
		"ntp.stratum": fmt.Sprint(r.Stratum), "ntp.refid": r.RefID}}, true
}

func identifyNetBIOS(b []byte) (Info, bool) {
	s, err := ParseNetBIOSStatus(b)
	if err != nil {
		return Info{}, false
	}
	host, wg := s.Computer()
	in := Info{Service: "netbios-ns", Extra: map[string]string{}}
	if host != "" {
		in.Extra["netbios.name"] = host
	}
	if wg != "" {
		in.Extra["netbios.workgroup"] = wg
	}
	if s.MAC != "" {
		in.Extra["netbios.mac"] = s.MAC
	}
	return in, true
}

func identifySNMP(b []byte) (Info, bool) {
	r, err := ParseSNMP(b)
	if err != nil {
		return Info{}, false
	}
	in := Info{Service: "snmp", Extra: map[string]string{"snmp.community": clean([]byte(r.Community), 64),
		"snmp.version": map[int]string{SNMPv1: "1", SNMPv2c: "2c"}[r.Version]}}
	if d, ok := r.Value(OIDSysDescr); ok {
		in.Extra["snmp.sysdescr"] = d
		if strings.HasPrefix(d, "Linux ") || strings.Contains(d, "Net-SNMP") {
			in.Product = "Net-SNMP"
		}
	}
	return in, true
}

func identifyIPMI(b []byte) (Info, bool) {
	c, err := ParseIPMIAuthCap(b)
	if err != nil {
		return Info{}, false
	}
	return Info{Service: "ipmi", Extra: map[string]string{"ipmi.capabilities": c.String()}}, true
}

func identifySSDP(b []byte) (Info, bool) {
	r, err := ParseSSDP(b)
	if err != nil {
		return Info{}, false
	}
	in := Info{Service: "ssdp", Extra: map[string]string{}}
	for _, k := range []string{"server", "location", "st", "usn"} {
		if v := r.Headers[k]; v != "" {
			in.Extra["ssdp."+k] = v
		}
	}
	if s := r.Headers["server"]; s != "" {
		// "Linux/5.10 UPnP/1.0 MiniUPnPd/2.3.3": the last product token.
		f := strings.Fields(s)
		if name, ver, ok := strings.Cut(f[len(f)-1], "/"); ok {
			in.Product, in.Version = name, ver
		}
	}
	return in, true
}

func identifyCoAP(b []byte) (Info, bool) {
	m, err := ParseCoAP(b)
	if err != nil {
		return Info{}, false
	}
	in := Info{Service: "coap", Extra: map[string]string{"coap.code": m.Code}}
	if len(m.Payload) > 0 {
		in.Extra["coap.resources"] = clean(m.Payload, 512)
	}
	return in, true
}

func identifyMemcached(b []byte) (Info, bool) {
	f, err := ParseMemcachedFrame(b)
	if err != nil {
		return Info{}, false
	}
	in := Info{Service: "memcached", Product: "memcached", Extra: map[string]string{}}
	if st, err := ParseMemcachedStats(f.Body); err == nil {
		in.Version = st["version"]
	} else if !strings.HasPrefix(string(f.Body), "STAT") && !strings.HasPrefix(string(f.Body), "END") &&
		!strings.HasPrefix(string(f.Body), "ERROR") {
		return Info{}, false
	}
	return in, true
}

// clean makes target bytes safe to show: valid UTF-8, control characters
// escaped, at most max bytes.
func clean(b []byte, max int) string {
	var sb strings.Builder
	for len(b) > 0 && sb.Len() < max {
		r, n := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&sb, `\x%02x`, b[0])
		case r < 0x20 || r == 0x7f:
			switch r {
			case '\n':
				sb.WriteString(`\n`)
			case '\r':
				sb.WriteString(`\r`)
			case '\t':
				sb.WriteString(`\t`)
			default:
				fmt.Fprintf(&sb, `\x%02x`, r)
			}
		default:
			sb.WriteRune(r)
		}
		b = b[n:]
	}
	s := sb.String()
	if len(s) > max {
		s = s[:max]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return s
}

// Clean is clean for other packages: target bytes made safe to show.
func Clean(b []byte, max int) string { return clean(b, max) }

func trimNUL(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}
