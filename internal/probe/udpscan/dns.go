package udpscan

import (
	"errors"
	"fmt"
	"strings"

	mdns "github.com/miekg/dns"
)

// ErrDNS is returned for bytes that are not a DNS response.
var ErrDNS = errors.New("udpscan: not a DNS response")

// DNSQuery is a DNS query for name and type in class (mdns.ClassINET,
// mdns.ClassCHAOS), recursion desired when rd.
func DNSQuery(id uint16, name string, qtype, class uint16, rd bool) ([]byte, error) {
	m := new(mdns.Msg)
	m.Id = id
	m.RecursionDesired = rd
	m.Question = []mdns.Question{{Name: mdns.Fqdn(name), Qtype: qtype, Qclass: class}}
	b, err := m.Pack()
	if err != nil {
		return nil, fmt.Errorf("udpscan: dns query %s: %w", name, err)
	}
	return b, nil
}

// DNSVersionQuery is the scanner's DNS probe: version.bind CH TXT, which
// every server answers one way or another (the version, REFUSED or
// NOTIMP) and which tells the product when it is not hidden.
func DNSVersionQuery(id uint16) []byte {
	b, _ := DNSQuery(id, "version.bind.", mdns.TypeTXT, mdns.ClassCHAOS, false)
	return b
}

// MDNSServicesQuery asks a multicast DNS responder, over unicast, for the
// service types it announces (_services._dns-sd._udp.local PTR, RFC 6763
// section 9) with the unicast-response bit set.
func MDNSServicesQuery() []byte {
	m := new(mdns.Msg)
	m.Question = []mdns.Question{{Name: "_services._dns-sd._udp.local.", Qtype: mdns.TypePTR, Qclass: mdns.ClassINET | 1<<15}}
	b, _ := m.Pack()
	return b
}

// DNSReply is what the scanner keeps of a DNS response.
type DNSReply struct {
	ID                 uint16
	Rcode              string
	Authoritative      bool
	RecursionAvailable bool
	Answers            []string // rendered records, at most 32
	TXT                []string // TXT strings of the answers
	PTR                []string // PTR targets of the answers
	Msg                *mdns.Msg
}

// ParseDNS reads a DNS response.
func ParseDNS(b []byte) (DNSReply, error) {
	var r DNSReply
	if len(b) < 12 {
		return r, fmt.Errorf("%w: %d bytes", ErrDNS, len(b))
	}
	m := new(mdns.Msg)
	if err := m.Unpack(b); err != nil {
		return r, fmt.Errorf("%w: %v", ErrDNS, err)
	}
	if !m.Response {
		return r, fmt.Errorf("%w: QR not set", ErrDNS)
	}
	r.ID, r.Msg = m.Id, m
	r.Rcode = mdns.RcodeToString[m.Rcode]
	if r.Rcode == "" {
		r.Rcode = fmt.Sprint(m.Rcode)
	}
	r.Authoritative, r.RecursionAvailable = m.Authoritative, m.RecursionAvailable
	for _, rr := range append(append([]mdns.RR(nil), m.Answer...), m.Extra...) {
		if len(r.Answers) < 32 {
			r.Answers = append(r.Answers, clean([]byte(rr.String()), 256))
		}
		switch x := rr.(type) {
		case *mdns.TXT:
			if len(r.TXT) < 32 {
				r.TXT = append(r.TXT, clean([]byte(strings.Join(x.Txt, "")), 256))
			}
		case *mdns.PTR:
			if len(r.PTR) < 32 {
				r.PTR = append(r.PTR, clean([]byte(x.Ptr), 256))
			}
		}
	}
	return r, nil
}
