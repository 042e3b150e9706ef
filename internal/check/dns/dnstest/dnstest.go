// Package dnstest runs small DNS servers on loopback for tests: an
// authoritative server for test zones (optionally DNSSEC-signed, with
// zone transfer allowed or refused per zone, or failing with SERVFAIL) and,
// on request, an open resolver that answers any other name from a table.
//
// A Server listens on UDP and TCP on the same port of a 127.0.0.0/8
// address chosen by the test, port 0 by default. It never forwards a
// query anywhere: answers come from memory only.
//
// It is a test helper: production code must not import it.
package dnstest

import (
	"crypto"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mdns "github.com/miekg/dns"
)

// Zone is one zone the server is authoritative for.
type Zone struct {
	Origin string // "example.test."
	// Records is zone-file text; relative names are under Origin. It
	// must hold the SOA.
	Records string
	// AllowTransfer answers AXFR over TCP with the zone; otherwise AXFR is
	// REFUSED.
	AllowTransfer bool
	// Sign adds a DNSKEY and RRSIGs (ECDSA P-256), served to DO queries.
	Sign bool
	// ServFail makes every query for the zone fail with SERVFAIL.
	ServFail bool
}

// Config describes a server.
type Config struct {
	// IP is the loopback address to listen on; default 127.0.0.1.
	IP string
	// Port is the port; 0 picks a free one (the same for UDP and TCP).
	Port  int
	Zones []Zone
	// Recursive makes the server answer names outside its zones from
	// Table with RA set, as an open resolver does; without it such
	// queries are REFUSED.
	Recursive bool
	// Table is zone-file text with absolute names.
	Table string
}

// Server is a running fixture.
type Server struct {
	// Addr is "ip:port" for both UDP and TCP.
	Addr string
	// TCPQueries counts queries received over TCP.
	TCPQueries atomic.Int64

	cfg      Config
	zones    []*zone
	table    map[string][]mdns.RR
	udp, tcp *mdns.Server
	wg       sync.WaitGroup
}

type rrKey struct {
	name  string
	rtype uint16
}

type zone struct {
	Zone
	origin string
	soa    mdns.RR
	all    []mdns.RR // in file order, SOA first
	byName map[string][]mdns.RR
	exists map[string]bool // names with records, and empty non-terminals
	sigs   map[rrKey][]mdns.RR
}

// Start loads the zones and starts listening.
func Start(cfg Config) (*Server, error) {
	if cfg.IP == "" {
		cfg.IP = "127.0.0.1"
	}
	ip, err := netip.ParseAddr(cfg.IP)
	if err != nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("dnstest: %q is not a loopback address", cfg.IP)
	}
	s := &Server{cfg: cfg, table: map[string][]mdns.RR{}}
	for _, z := range cfg.Zones {
		lz, err := loadZone(z)
		if err != nil {
			return nil, err
		}
		s.zones = append(s.zones, lz)
	}
	// Longest origin first, so the closest enclosing zone wins.
	sort.Slice(s.zones, func(i, j int) bool {
		return mdns.CountLabel(s.zones[i].origin) > mdns.CountLabel(s.zones[j].origin)
	})
	if cfg.Table != "" {
		rrs, err := parse(cfg.Table, ".")
		if err != nil {
			return nil, err
		}
		for _, rr := range rrs {
			n := strings.ToLower(rr.Header().Name)
			s.table[n] = append(s.table[n], rr)
		}
	}
	pc, l, err := listenPair(cfg.IP, cfg.Port)
	if err != nil {
		return nil, err
	}
	s.Addr = pc.LocalAddr().String()
	h := mdns.HandlerFunc(s.serve)
	s.udp = &mdns.Server{PacketConn: pc, Handler: h}
	s.tcp = &mdns.Server{Listener: l, Handler: h}
	started := make(chan struct{}, 2)
	for _, srv := range []*mdns.Server{s.udp, s.tcp} {
		srv.NotifyStartedFunc = func() { started <- struct{}{} }
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			_ = srv.ActivateAndServe()
		}()
	}
	for range 2 {
		select {
		case <-started:
		case <-time.After(5 * time.Second):
			s.Close()
			return nil, errors.New("dnstest: server did not start")
		}
	}
	return s, nil
}

// listenPair opens UDP and TCP on the same port.
func listenPair(ip string, port int) (net.PacketConn, net.Listener, error) {
	var lastErr error
	for range 20 {
		pc, err := net.ListenPacket("udp", net.JoinHostPort(ip, fmt.Sprint(port)))
		if err != nil {
			return nil, nil, fmt.Errorf("dnstest: listen udp: %w", err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, l, nil
		}
		pc.Close()
		lastErr = err
		if port != 0 {
			break
		}
	}
	return nil, nil, fmt.Errorf("dnstest: listen tcp: %w", lastErr)
}

// Close stops the server.
func (s *Server) Close() error {
	for _, srv := range []*mdns.Server{s.udp, s.tcp} {
		if srv != nil {
			_ = srv.Shutdown()
		}
	}
	s.wg.Wait()
	return nil
}

func parse(text, origin string) ([]mdns.RR, error) {
	zp := mdns.NewZoneParser(strings.NewReader(text), origin, "")
	zp.SetDefaultTTL(300)
	var out []mdns.RR
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		out = append(out, rr)
	}
	if err := zp.Err(); err != nil {
		return nil, fmt.Errorf("dnstest: zone %s: %w", origin, err)
	}
	return out, nil
}

func loadZone(z Zone) (*zone, error) {
	origin := mdns.CanonicalName(z.Origin)
	rrs, err := parse(z.Records, origin)
	if err != nil {
		return nil, err
	}
	lz := &zone{Zone: z, origin: origin, byName: map[string][]mdns.RR{}, exists: map[string]bool{}, sigs: map[rrKey][]mdns.RR{}}
	for _, rr := range rrs {
		if rr.Header().Rrtype == mdns.TypeSOA && lz.soa == nil {
			lz.soa = rr
		}
	}
	if lz.soa == nil {
		return nil, fmt.Errorf("dnstest: zone %s has no SOA", origin)
	}
	var priv crypto.Signer
	var key *mdns.DNSKEY
	if z.Sign {
		key = &mdns.DNSKEY{
			Hdr:   mdns.RR_Header{Name: origin, Rrtype: mdns.TypeDNSKEY, Class: mdns.ClassINET, Ttl: 3600},
			Flags: 257, Protocol: 3, Algorithm: mdns.ECDSAP256SHA256,
		}
		pk, err := key.Generate(256)
		if err != nil {
			return nil, fmt.Errorf("dnstest: zone %s: key: %w", origin, err)
		}
		priv = pk.(crypto.Signer)
		rrs = append(rrs, key)
	}
	lz.all = append(lz.all, lz.soa)
	for _, rr := range rrs {
		name := strings.ToLower(rr.Header().Name)
		lz.byName[name] = append(lz.byName[name], rr)
		if rr != lz.soa {
			lz.all = append(lz.all, rr)
		}
		// Mark the name and its ancestors inside the zone as existing.
		for n := name; mdns.IsSubDomain(origin, n); {
			lz.exists[n] = true
			if n == origin {
				break
			}
			i, _ := mdns.NextLabel(n, 0)
			n = n[i:]
		}
	}
	if z.Sign {
		sets := map[rrKey][]mdns.RR{}
		for _, rr := range rrs {
			k := rrKey{strings.ToLower(rr.Header().Name), rr.Header().Rrtype}
			sets[k] = append(sets[k], rr)
		}
		now := time.Now()
		for k, set := range sets {
			sig := &mdns.RRSIG{
				Hdr:        mdns.RR_Header{Ttl: set[0].Header().Ttl},
				KeyTag:     key.KeyTag(),
				SignerName: origin,
				Algorithm:  key.Algorithm,
				Inception:  uint32(now.Add(-time.Hour).Unix()),
				Expiration: uint32(now.Add(24 * time.Hour).Unix()),
			}
			if err := sig.Sign(priv, set); err != nil {
				return nil, fmt.Errorf("dnstest: zone %s: sign: %w", origin, err)
			}
			lz.sigs[k] = []mdns.RR{sig}
		}
	}
	return lz, nil
}

func (s *Server) zoneFor(name string) *zone {
	for _, z := range s.zones {
		if mdns.IsSubDomain(z.origin, name) {
			return z
		}
	}
	return nil
}

func (s *Server) serve(w mdns.ResponseWriter, r *mdns.Msg) {
	tcp := w.LocalAddr().Network() == "tcp"
	if tcp {
		s.TCPQueries.Add(1)
	}
	m := new(mdns.Msg)
	if len(r.Question) != 1 || r.Opcode != mdns.OpcodeQuery {
		m.SetRcode(r, mdns.RcodeFormatError)
		_ = w.WriteMsg(m)
		return
	}
	m.SetReply(r)
	q := r.Question[0]
	name := strings.ToLower(q.Name)
	opt := r.IsEdns0()
	do := opt != nil && opt.Do()

	if z := s.zoneFor(name); z != nil {
		switch {
		case z.ServFail:
			m.Rcode = mdns.RcodeServerFailure
		case q.Qtype == mdns.TypeAXFR || q.Qtype == mdns.TypeIXFR:
			if tcp && z.AllowTransfer && name == z.origin {
				s.transfer(w, r, z)
				return
			}
			m.Rcode = mdns.RcodeRefused
		default:
			m.Authoritative = true
			z.answer(m, name, q.Qtype, do)
		}
	} else if s.cfg.Recursive {
		m.RecursionAvailable = true
		s.recurse(m, name, q.Qtype)
	} else {
		m.Rcode = mdns.RcodeRefused
	}
	size := mdns.MinMsgSize
	if opt != nil {
		m.SetEdns0(4096, do)
		size = int(opt.UDPSize())
	}
	if tcp {
		size = mdns.MaxMsgSize
	}
	m.Truncate(size)
	_ = w.WriteMsg(m)
}

// answer fills m for name/qtype from the zone, chasing CNAMEs inside it.
func (z *zone) answer(m *mdns.Msg, name string, qtype uint16, do bool) {
	for range 8 {
		rrs := z.byName[name]
		if len(rrs) == 0 {
			if !z.exists[name] {
				// Also when a CNAME chain ends here (RFC 6604).
				m.Rcode = mdns.RcodeNameError
			}
			z.addSOA(m, do)
			return
		}
		var match []mdns.RR
		var cname *mdns.CNAME
		for _, rr := range rrs {
			if rr.Header().Rrtype == qtype || qtype == mdns.TypeANY {
				match = append(match, rr)
			}
			if c, ok := rr.(*mdns.CNAME); ok {
				cname = c
			}
		}
		if len(match) > 0 {
			m.Answer = append(m.Answer, match...)
			if do {
				m.Answer = append(m.Answer, z.sigs[rrKey{name, qtype}]...)
			}
			return
		}
		if cname == nil {
			z.addSOA(m, do) // NODATA
			return
		}
		m.Answer = append(m.Answer, cname)
		if do {
			m.Answer = append(m.Answer, z.sigs[rrKey{name, mdns.TypeCNAME}]...)
		}
		next := strings.ToLower(cname.Target)
		if !mdns.IsSubDomain(z.origin, next) {
			return // outside the zone: the resolver follows it
		}
		name = next
	}
}

func (z *zone) addSOA(m *mdns.Msg, do bool) {
	m.Ns = append(m.Ns, z.soa)
	if do {
		m.Ns = append(m.Ns, z.sigs[rrKey{z.origin, mdns.TypeSOA}]...)
	}
}

// transfer streams the zone: SOA, records, SOA, a few records a message.
func (s *Server) transfer(w mdns.ResponseWriter, r *mdns.Msg, z *zone) {
	recs := append(append([]mdns.RR{}, z.all...), z.soa)
	for i := 0; i < len(recs); i += 10 {
		m := new(mdns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		m.Answer = recs[i:min(i+10, len(recs))]
		if err := w.WriteMsg(m); err != nil {
			return
		}
	}
}

// recurse answers from the table as a recursive resolver would.
func (s *Server) recurse(m *mdns.Msg, name string, qtype uint16) {
	for range 8 {
		rrs, ok := s.table[name]
		if !ok {
			m.Rcode = mdns.RcodeNameError
			return
		}
		next := ""
		for _, rr := range rrs {
			if rr.Header().Rrtype == qtype {
				m.Answer = append(m.Answer, rr)
			} else if c, ok := rr.(*mdns.CNAME); ok {
				next = strings.ToLower(c.Target)
				m.Answer = append(m.Answer, c)
			}
		}
		if next == "" || qtype == mdns.TypeCNAME {
			return
		}
		name = next
	}
}
