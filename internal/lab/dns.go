package lab

import (
	"context"
	"crypto"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	mdns "github.com/miekg/dns"
)

// zone is one zone the lab DNS server is authoritative for.
type zone struct {
	origin string
	axfr   bool // answer AXFR over TCP
	sign   bool // DNSSEC-sign with a fresh ECDSA key
	text   string

	soa    mdns.RR
	all    []mdns.RR // SOA first
	byName map[string][]mdns.RR
	exists map[string]bool // names with records and their empty non-terminals
	sigs   map[rrKey][]mdns.RR
}

type rrKey struct {
	name  string
	rtype uint16
}

// zones builds the lab's zones with its addresses. See README.md for what
// is weak in each.
func (l *Lab) zones() []*zone {
	a := func(off uint16) string { return l.addr(off).String() }
	soa := func(origin string) string {
		return fmt.Sprintf("@ 3600 IN SOA ns1.btttt-demo.gov.vn. hostmaster.%s 2024060101 7200 3600 1209600 300\n@ 3600 IN NS ns1.btttt-demo.gov.vn.\n", origin)
	}
	return []*zone{
		{origin: "btttt-demo.gov.vn.", sign: true, text: soa("btttt-demo.gov.vn.") + `
@       IN MX 0 .
@       IN TXT "v=spf1 -all"
_dmarc  IN TXT "v=DMARC1; p=reject; sp=reject; adkim=s; aspf=s; rua=mailto:dmarc@btttt-demo.gov.vn"
@       IN A ` + a(offHardened) + `
www     IN A ` + a(offHardened) + `
ns1     IN A ` + a(offDNS) + `
cds     IN A ` + a(offMismatch) + `
search  IN CNAME www
noibo   IN A ` + a(offNoibo) + `
`},
		{origin: "hn-demo.gov.vn.", text: soa("hn-demo.gov.vn.") + `
@            IN TXT "v=spf1 +all"
_dmarc       IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@hn-demo.gov.vn"
@            IN A ` + a(offPortalHN) + `
congthongtin IN A ` + a(offPortalHN) + `
www          IN CNAME congthongtin
dichvucong   IN A ` + a(offExpired) + `
tuyensinh    IN A ` + a(offSelfSigned) + `
ftp          IN A ` + a(offFTP) + `
hoso-truc-tuyen IN A ` + a(offHoso) + `
`},
		{origin: "hcm-demo.gov.vn.", axfr: true, text: soa("hcm-demo.gov.vn.") + `
@         IN MX 10 mail.hcm-demo.gov.vn.
@         IN TXT "v=spf1 ip4:` + a(offMail) + ` -all"
@         IN A ` + a(offPortalHCM) + `
www       IN A ` + a(offPortalHCM) + `
mail      IN A ` + a(offMail) + `
yte       IN A ` + a(offLegacy) + `
search    IN A ` + a(offSearch) + `
khuyenmai IN CNAME hcm-demo-khuyenmai.azurewebsites.net.
sukien2023 IN CNAME hcm-demo-sukien2023.azurewebsites.net.
`},
		{origin: "epay-demo.vn.", text: soa("epay-demo.vn.") + `
@       IN MX 0 .
@       IN TXT "v=spf1 -all"
_dmarc  IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@epay-demo.vn"
cache   IN A ` + a(offCache) + `
vpn     IN A ` + a(offVPN) + `
`},
		// A stand-in for the cloud provider, so that the dangling CNAME
		// above ends in NXDOMAIN without asking the internet.
		{origin: "azurewebsites.net.", text: soa("azurewebsites.net.")},
	}
}

func (z *zone) load() error {
	zp := mdns.NewZoneParser(strings.NewReader(z.text), z.origin, "")
	zp.SetDefaultTTL(300)
	var rrs []mdns.RR
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		rrs = append(rrs, rr)
	}
	if err := zp.Err(); err != nil {
		return fmt.Errorf("lab: zone %s: %w", z.origin, err)
	}
	z.byName, z.exists, z.sigs = map[string][]mdns.RR{}, map[string]bool{}, map[rrKey][]mdns.RR{}
	for _, rr := range rrs {
		if _, ok := rr.(*mdns.SOA); ok && z.soa == nil {
			z.soa = rr
		}
	}
	if z.soa == nil {
		return fmt.Errorf("lab: zone %s has no SOA", z.origin)
	}
	var key *mdns.DNSKEY
	var priv crypto.Signer
	if z.sign {
		key = &mdns.DNSKEY{Hdr: mdns.RR_Header{Name: z.origin, Rrtype: mdns.TypeDNSKEY, Class: mdns.ClassINET, Ttl: 3600},
			Flags: 257, Protocol: 3, Algorithm: mdns.ECDSAP256SHA256}
		pk, err := key.Generate(256)
		if err != nil {
			return fmt.Errorf("lab: zone %s: key: %w", z.origin, err)
		}
		priv = pk.(crypto.Signer)
		rrs = append(rrs, key)
	}
	z.all = append(z.all[:0], z.soa)
	for _, rr := range rrs {
		name := strings.ToLower(rr.Header().Name)
		z.byName[name] = append(z.byName[name], rr)
		if rr != z.soa {
			z.all = append(z.all, rr)
		}
		for n := name; mdns.IsSubDomain(z.origin, n); {
			z.exists[n] = true
			if n == z.origin {
				break
			}
			i, _ := mdns.NextLabel(n, 0)
			n = n[i:]
		}
	}
	if z.sign {
		for _, nsec := range nsecChain(rrs) {
			name := strings.ToLower(nsec.Header().Name)
			z.byName[name] = append(z.byName[name], nsec)
			z.all = append(z.all, nsec)
			rrs = append(rrs, nsec)
		}
		sets := map[rrKey][]mdns.RR{}
		for _, rr := range rrs {
			k := rrKey{strings.ToLower(rr.Header().Name), rr.Header().Rrtype}
			sets[k] = append(sets[k], rr)
		}
		now := time.Now()
		for k, set := range sets {
			sig := &mdns.RRSIG{Hdr: mdns.RR_Header{Ttl: set[0].Header().Ttl}, KeyTag: key.KeyTag(), SignerName: z.origin,
				Algorithm: key.Algorithm, Inception: uint32(now.Add(-time.Hour).Unix()), Expiration: uint32(now.Add(30 * 24 * time.Hour).Unix())}
			if err := sig.Sign(priv, set); err != nil {
				return fmt.Errorf("lab: zone %s: sign: %w", z.origin, err)
			}
			z.sigs[k] = []mdns.RR{sig}
		}
	}
	return nil
}

// nsecChain returns the NSEC records of a signed zone (RFC 4034 4.1): one
// per owner name, in canonical order, each naming the next and the types
// at its name, the last pointing back to the apex. They let the zone be
// walked, as real NSEC-signed zones can be.
func nsecChain(rrs []mdns.RR) []mdns.RR {
	types := map[string][]uint16{}
	for _, rr := range rrs {
		n := strings.ToLower(rr.Header().Name)
		types[n] = append(types[n], rr.Header().Rrtype)
	}
	names := make([]string, 0, len(types))
	for n := range types {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return canonicalLess(names[i], names[j]) })
	out := make([]mdns.RR, 0, len(names))
	for i, n := range names {
		next := names[(i+1)%len(names)]
		ts := append(types[n], mdns.TypeNSEC, mdns.TypeRRSIG)
		sort.Slice(ts, func(a, b int) bool { return ts[a] < ts[b] })
		ts = slicesCompact(ts)
		out = append(out, &mdns.NSEC{Hdr: mdns.RR_Header{Name: n, Rrtype: mdns.TypeNSEC, Class: mdns.ClassINET, Ttl: 300},
			NextDomain: next, TypeBitMap: ts})
	}
	return out
}

func slicesCompact(ts []uint16) []uint16 {
	out := ts[:0]
	for i, t := range ts {
		if i == 0 || t != ts[i-1] {
			out = append(out, t)
		}
	}
	return out
}

// canonicalLess orders names as DNSSEC does: by labels from the right,
// each compared as lower-case bytes.
func canonicalLess(a, b string) bool {
	la, lb := mdns.SplitDomainName(a), mdns.SplitDomainName(b)
	for i, j := len(la)-1, len(lb)-1; i >= 0 && j >= 0; i, j = i-1, j-1 {
		x, y := strings.ToLower(la[i]), strings.ToLower(lb[j])
		if x != y {
			return x < y
		}
	}
	return len(la) < len(lb)
}

// dnsServer answers from the lab zones only; it never recurses.
type dnsServer struct {
	zones []*zone // longest origin first
}

func (d *dnsServer) zoneFor(name string) *zone {
	for _, z := range d.zones {
		if mdns.IsSubDomain(z.origin, name) {
			return z
		}
	}
	return nil
}

func (d *dnsServer) ServeDNS(w mdns.ResponseWriter, r *mdns.Msg) {
	tcp := w.LocalAddr().Network() == "tcp"
	m := new(mdns.Msg)
	if len(r.Question) != 1 || r.Opcode != mdns.OpcodeQuery || r.Response {
		m.SetRcode(r, mdns.RcodeFormatError)
		_ = w.WriteMsg(m)
		return
	}
	m.SetReply(r)
	q := r.Question[0]
	name := strings.ToLower(q.Name)
	opt := r.IsEdns0()
	do := opt != nil && opt.Do()
	z := d.zoneFor(name)
	switch {
	case z == nil || q.Qclass != mdns.ClassINET:
		m.Rcode = mdns.RcodeRefused // not ours, and no recursion
	case q.Qtype == mdns.TypeAXFR || q.Qtype == mdns.TypeIXFR:
		if tcp && z.axfr && name == z.origin {
			m.Answer = append(append([]mdns.RR{}, z.all...), z.soa)
			_ = w.WriteMsg(m)
			return
		}
		m.Rcode = mdns.RcodeRefused
	default:
		m.Authoritative = true
		d.answer(m, z, name, q.Qtype, do)
	}
	size := mdns.MinMsgSize
	if opt != nil {
		m.SetEdns0(1232, do)
		size = max(mdns.MinMsgSize, min(int(opt.UDPSize()), 1232))
	}
	if !tcp {
		m.Truncate(size)
	}
	_ = w.WriteMsg(m)
}

// answer fills m for name/qtype in z, following CNAMEs through the lab's
// zones as a resolver would.
func (d *dnsServer) answer(m *mdns.Msg, z *zone, name string, qtype uint16, do bool) {
	sigs := func(z *zone, n string, t uint16) []mdns.RR {
		if !do || !z.sign {
			return nil
		}
		return z.sigs[rrKey{n, t}]
	}
	cur := name
	for range 8 {
		rrs := z.byName[cur]
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
		switch {
		case len(match) > 0:
			m.Answer = append(m.Answer, match...)
			m.Answer = append(m.Answer, sigs(z, cur, qtype)...)
			if qtype == mdns.TypeNS || qtype == mdns.TypeMX {
				d.glue(m, match)
			}
			return
		case cname != nil:
			m.Answer = append(m.Answer, cname)
			m.Answer = append(m.Answer, sigs(z, cur, mdns.TypeCNAME)...)
			cur = strings.ToLower(cname.Target)
			if z = d.zoneFor(cur); z == nil {
				return // outside the lab: the client follows it, or not
			}
			continue
		case z.exists[cur]:
			m.Ns = append(m.Ns, z.soa)
			m.Ns = append(m.Ns, sigs(z, z.origin, mdns.TypeSOA)...)
			return
		default:
			m.Rcode = mdns.RcodeNameError
			m.Ns = append(m.Ns, z.soa)
			m.Ns = append(m.Ns, sigs(z, z.origin, mdns.TypeSOA)...)
			return
		}
	}
	m.Rcode = mdns.RcodeServerFailure // a CNAME loop
}

// glue adds the addresses of NS and MX targets the lab knows.
func (d *dnsServer) glue(m *mdns.Msg, rrs []mdns.RR) {
	for _, rr := range rrs {
		var target string
		switch v := rr.(type) {
		case *mdns.NS:
			target = v.Ns
		case *mdns.MX:
			target = v.Mx
		}
		target = strings.ToLower(target)
		if z := d.zoneFor(target); z != nil {
			for _, g := range z.byName[target] {
				if t := g.Header().Rrtype; t == mdns.TypeA || t == mdns.TypeAAAA {
					m.Extra = append(m.Extra, g)
				}
			}
		}
	}
}

// startDNS starts the lab DNS server on DNSPort (or a free port) and, when
// it can be bound, on port 53 too, where zone-transfer checks look.
func (l *Lab) startDNS(context.Context) error {
	zs := l.zones()
	l.zoneNames = map[string]bool{}
	for _, z := range zs {
		if err := z.load(); err != nil {
			return err
		}
		l.zoneNames[strings.TrimSuffix(z.origin, ".")] = true
	}
	sort.SliceStable(zs, func(i, j int) bool { return mdns.CountLabel(zs[i].origin) > mdns.CountLabel(zs[j].origin) })
	srv := &dnsServer{zones: zs}
	ip := l.addr(offDNS)
	host := HostInfo{Addr: ip, Hostname: "ns1.btttt-demo.gov.vn", OrgCode: "BTTTT-DEMO",
		Role:     Text{VI: "Máy chủ DNS có thẩm quyền của phòng thí nghiệm", EN: "The lab's authoritative DNS server"},
		Weakness: Text{VI: "Cho phép chuyển vùng (AXFR) vùng hcm-demo.gov.vn; không đệ quy", EN: "Allows zone transfer (AXFR) of hcm-demo.gov.vn; no recursion"},
		Checks:   []string{}}
	pc, ln, err := listenPair(ip, DNSPort)
	if err != nil {
		l.log.Warn("lab: DNS port unavailable, using a free one", "port", DNSPort, "err", err)
		if pc, ln, err = listenPair(ip, 0); err != nil {
			return fmt.Errorf("%w: dns %s: %v", ErrListen, ip, err)
		}
	}
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	l.dnsAddr = net.JoinHostPort(ip.String(), strconv.Itoa(int(port)))
	if err := l.serveDNS(srv, pc, ln); err != nil {
		return err
	}
	if pc53, ln53, err := listenPair(ip, 53); err == nil {
		if err := l.serveDNS(srv, pc53, ln53); err != nil {
			return err
		}
		host.Services = append(host.Services, Service{Name: "dns", Port: 53, Wanted: 53, Proto: "udp+tcp"})
	} else {
		l.log.Warn("lab: cannot bind DNS port 53; zone-transfer checks need a dialer that maps port 53", "addr", ip, "err", err)
	}
	host.Services = append(host.Services, Service{Name: "dns", Port: port, Wanted: DNSPort, Proto: "udp+tcp"})
	l.hosts = append(l.hosts, host)
	return nil
}

func (l *Lab) serveDNS(h mdns.Handler, pc net.PacketConn, ln net.Listener) error {
	ln = limit(ln)
	for _, s := range []*mdns.Server{
		{PacketConn: pc, Handler: h, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second},
		{Listener: ln, Handler: h, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, MaxTCPQueries: 32,
			IdleTimeout: func() time.Duration { return 5 * time.Second }},
	} {
		l.addCloser(func() error {
			_ = s.Shutdown() // "server not started" when it failed to
			if s.PacketConn != nil {
				s.PacketConn.Close()
			}
			if s.Listener != nil {
				s.Listener.Close()
			}
			return nil
		})
		started := make(chan struct{})
		failed := make(chan error, 1)
		s.NotifyStartedFunc = func() { close(started) }
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			failed <- s.ActivateAndServe()
		}()
		select {
		case <-started:
		case err := <-failed:
			return fmt.Errorf("%w: dns: %v", ErrListen, err)
		}
	}
	return nil
}

// listenPair opens UDP and TCP on the same port of ip (port 0: a free one).
func listenPair(ip netip.Addr, port uint16) (net.PacketConn, net.Listener, error) {
	if !Network.Contains(ip) {
		return nil, nil, fmt.Errorf("%w: %s", ErrAddress, ip)
	}
	var lastErr error
	for range 10 {
		pc, err := net.ListenPacket("udp4", net.JoinHostPort(ip.String(), strconv.Itoa(int(port))))
		if err != nil {
			return nil, nil, err
		}
		ln, err := net.Listen("tcp4", pc.LocalAddr().String())
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		lastErr = err
		if port != 0 {
			break
		}
	}
	return nil, nil, lastErr
}
