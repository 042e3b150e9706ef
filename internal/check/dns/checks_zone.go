package dns

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/finding"
)

// Bounds on what one zone-transfer probe asks and reads.
const (
	maxNameservers  = 8
	maxNSAddrs      = 16
	xfrMaxRecords   = 20 // enough to prove the transfer and show its start
	xfrMaxMessages  = 8
	xfrMaxBytes     = 256 << 10
	maxCNAMEHops    = 8
	defaultProbeTag = "a.root-servers.net."
)

// xfr is what an AXFR attempt got back.
type xfr struct {
	rcode   int
	records []mdns.RR
	closed  bool // the server closed the connection without answering
}

// allowed reports whether the server handed out the zone: NOERROR and an
// answer that starts with the zone's SOA (RFC 5936 2.2).
func (x *xfr) allowed(zone string) bool {
	if x.rcode != mdns.RcodeSuccess || len(x.records) == 0 {
		return false
	}
	soa, ok := x.records[0].(*mdns.SOA)
	return ok && strings.EqualFold(soa.Hdr.Name, zone)
}

// axfr asks server for the zone over TCP and reads at most the first
// xfrMaxRecords records; it never pulls the whole zone.
func (c *client) axfr(ctx context.Context, server, zone string) (*xfr, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*c.timeout)
	defer cancel()
	conn, err := c.dial(ctx, "tcp", server)
	if err != nil {
		return nil, fmt.Errorf("dns: axfr %s: %w", server, err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	q := new(mdns.Msg)
	q.SetQuestion(zone, mdns.TypeAXFR)
	q.RecursionDesired = false
	wire, err := q.Pack()
	if err != nil {
		return nil, fmt.Errorf("dns: pack axfr: %w", err)
	}
	if err := writeTCP(conn, wire); err != nil {
		return nil, fmt.Errorf("dns: axfr %s: %w", server, err)
	}
	budget := min(c.maxRead, xfrMaxBytes)
	lr := &io.LimitedReader{R: conn, N: budget}
	out := &xfr{}
	for i := range xfrMaxMessages {
		raw, err := readTCP(lr)
		if err != nil {
			if i == 0 && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isReset(err)) {
				out.closed = true // refusing by hanging up is common
				return out, nil
			}
			if i == 0 {
				return nil, fmt.Errorf("dns: axfr %s: %w", server, err)
			}
			return out, nil // we have enough to judge
		}
		m := new(mdns.Msg)
		if err := m.Unpack(raw); err != nil || m.Id != q.Id {
			return nil, fmt.Errorf("dns: axfr %s: %w", server, ErrBadReply)
		}
		if i == 0 {
			out.rcode = m.Rcode
		}
		if m.Rcode != mdns.RcodeSuccess {
			return out, nil
		}
		for _, rr := range m.Answer {
			out.records = append(out.records, rr)
			// The closing SOA ends the transfer.
			if len(out.records) > 1 && rr.Header().Rrtype == mdns.TypeSOA {
				return out, nil
			}
			if len(out.records) >= xfrMaxRecords {
				return out, nil
			}
		}
	}
	return out, nil
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && strings.Contains(op.Err.Error(), "reset")
}

// nsAddrs resolves the zone's NS names to addresses, preferring glue in
// the reply. It returns the name of each address too.
func (c *client) nsAddrs(ctx context.Context, ns *answer, hosts []string) (map[netip.Addr]string, error) {
	out := map[netip.Addr]string{}
	for _, rr := range ns.Msg.Extra {
		for _, h := range hosts {
			if strings.EqualFold(rr.Header().Name, h) {
				if a := rrAddr(rr); a.IsValid() {
					out[a] = h
				}
			}
		}
	}
	var firstErr error
	for _, h := range hosts {
		if len(out) >= maxNSAddrs {
			break
		}
		if slices.Contains(mapsValues(out), h) {
			continue
		}
		for _, qt := range []uint16{mdns.TypeA, mdns.TypeAAAA} {
			a, err := c.lookup(ctx, h, qt, false)
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			rrs, _ := follow(a.Msg.Answer, h, qt)
			for _, rr := range rrs {
				if ip := rrAddr(rr); ip.IsValid() && len(out) < maxNSAddrs {
					out[ip] = h
				}
			}
		}
	}
	if len(out) == 0 && firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

func mapsValues(m map[netip.Addr]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func rrAddr(rr mdns.RR) netip.Addr {
	var ip net.IP
	switch v := rr.(type) {
	case *mdns.A:
		ip = v.A
	case *mdns.AAAA:
		ip = v.AAAA
	default:
		return netip.Addr{}
	}
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}

func runZoneTransfer(ctx context.Context, c *client, env *check.Env, name string) ([]check.Result, error) {
	ns, err := c.lookup(ctx, name, mdns.TypeNS, false)
	if err != nil || ns.NXDomain() {
		return nil, err
	}
	nsRRs, owner := follow(ns.Msg.Answer, name, mdns.TypeNS)
	if len(nsRRs) == 0 || !strings.EqualFold(owner, name) {
		return nil, nil // not a zone apex: nothing to transfer
	}
	var hosts []string
	for _, rr := range nsRRs {
		hosts = append(hosts, strings.ToLower(rr.(*mdns.NS).Ns))
	}
	slices.Sort(hosts)
	hosts = slices.Compact(hosts)
	if len(hosts) > maxNameservers {
		hosts = hosts[:maxNameservers]
	}
	addrs, err := c.nsAddrs(ctx, ns, hosts)
	if err != nil {
		return nil, err
	}
	opts := options(env)
	keys := make([]netip.Addr, 0, len(addrs))
	for a := range addrs {
		keys = append(keys, a)
	}
	slices.SortFunc(keys, func(a, b netip.Addr) int { return a.Compare(b) })

	var (
		out            []check.Result
		reached, tried int
		lastErr        error
		skipped        []string
	)
	for _, a := range keys {
		if opts.AllowAddr != nil && !opts.AllowAddr(a) {
			skipped = append(skipped, a.String())
			continue
		}
		tried++
		server := netip.AddrPortFrom(a, 53).String()
		x, err := c.axfr(ctx, server, name)
		if err != nil {
			lastErr = err
			continue
		}
		reached++
		if !x.allowed(name) {
			continue
		}
		host := shortName(addrs[a])
		out = append(out, check.Result{
			Check: "dns.zone-transfer", Severity: finding.High, Subject: a.String(),
			Title: fmt.Sprintf("Name server %s (%s) hands out the whole zone %s by AXFR", host, a, shortName(name)),
			Evidence: check.Evidence{
				Request:  fmt.Sprintf("%s IN AXFR @%s (tcp)", name, server),
				Response: check.Cap(renderRRs(x.records)),
				Fields:   map[string]string{"zone": shortName(name), "nameserver": host, "address": server, "records_read": fmt.Sprint(len(x.records))},
			},
		})
	}
	if len(out) > 0 {
		return out, nil
	}
	if tried > 0 && reached == 0 {
		return nil, fmt.Errorf("dns: no name server of %s reachable: %w: %w", shortName(name), lastErr, check.ErrUnreachable)
	}
	if tried == 0 {
		return nil, fmt.Errorf("dns: no name server of %s in scope (%s): %w", shortName(name), strings.Join(skipped, ", "), check.ErrUnreachable)
	}
	return nil, nil
}

// takeoverSuffixes are provider domains where a CNAME to a name that no
// longer exists can be claimed by anyone with an account.
var takeoverSuffixes = []struct{ suffix, provider string }{
	{"azurewebsites.net.", "Azure App Service"},
	{"cloudapp.net.", "Azure Cloud Services"},
	{"cloudapp.azure.com.", "Azure virtual machines"},
	{"trafficmanager.net.", "Azure Traffic Manager"},
	{"blob.core.windows.net.", "Azure Blob Storage"},
	{"azureedge.net.", "Azure CDN"},
	{"s3.amazonaws.com.", "Amazon S3"},
	{"amazonaws.com.", "Amazon Web Services"},
	{"elasticbeanstalk.com.", "AWS Elastic Beanstalk"},
	{"cloudfront.net.", "Amazon CloudFront"},
	{"herokuapp.com.", "Heroku"},
	{"herokudns.com.", "Heroku"},
	{"github.io.", "GitHub Pages"},
	{"gitlab.io.", "GitLab Pages"},
	{"netlify.app.", "Netlify"},
	{"pages.dev.", "Cloudflare Pages"},
	{"firebaseapp.com.", "Firebase Hosting"},
	{"web.app.", "Firebase Hosting"},
	{"myshopify.com.", "Shopify"},
	{"zendesk.com.", "Zendesk"},
	{"ghost.io.", "Ghost"},
	{"surge.sh.", "Surge"},
	{"readthedocs.io.", "Read the Docs"},
	{"wpengine.com.", "WP Engine"},
}

// takeoverProvider names the provider whose suffix target falls under.
func takeoverProvider(target string) string {
	t := strings.ToLower(target)
	for _, s := range takeoverSuffixes {
		if t == s.suffix || strings.HasSuffix(t, "."+s.suffix) {
			return s.provider
		}
	}
	return ""
}

func runDanglingCNAME(ctx context.Context, c *client, _ *check.Env, name string) ([]check.Result, error) {
	first, err := c.lookup(ctx, name, mdns.TypeCNAME, false)
	if err != nil || first.NXDomain() {
		return nil, err
	}
	cn, _ := follow(first.Msg.Answer, name, mdns.TypeCNAME)
	if len(cn) == 0 {
		return nil, nil
	}
	chain := []string{shortName(name)}
	cur := strings.ToLower(cn[0].(*mdns.CNAME).Target)
	seen := map[string]bool{name: true}
	answers := []*answer{first}
	for range maxCNAMEHops {
		if seen[cur] {
			return nil, nil // a loop fails to resolve but cannot be claimed
		}
		seen[cur] = true
		chain = append(chain, shortName(cur))
		a, err := c.lookup(ctx, cur, mdns.TypeA, false)
		if err != nil {
			return nil, err
		}
		answers = append(answers, a)
		addrs, last := follow(a.Msg.Answer, cur, mdns.TypeA)
		if len(addrs) > 0 {
			return nil, nil
		}
		last = strings.ToLower(last)
		if last != cur {
			// The server followed part of the chain: note the names.
			for _, step := range cnameSteps(a.Msg.Answer, cur, last) {
				if step == last && !a.NXDomain() {
					break // asked about next, and named then: not a loop
				}
				seen[step] = true
				chain = append(chain, shortName(step))
			}
		}
		if a.NXDomain() {
			provider := takeoverProvider(last)
			title := fmt.Sprintf("%s is a CNAME to %s, which does not exist (NXDOMAIN): subdomain takeover risk", shortName(name), shortName(last))
			if provider != "" {
				title = fmt.Sprintf("%s is a CNAME to %s on %s, which does not exist (NXDOMAIN): anyone can claim it and take over the subdomain", shortName(name), shortName(last), provider)
			}
			ev := evidenceOf(answers...)
			ev = withFields(ev, "hostname", shortName(name), "dangling_target", shortName(last), "chain", strings.Join(chain, " -> "))
			if provider != "" {
				ev.Fields["provider"] = provider
			}
			return []check.Result{{
				Check: "dns.dangling-cname", Severity: finding.High, Subject: shortName(last),
				Title: title, Evidence: ev,
			}}, nil
		}
		if last == cur {
			return nil, nil // NODATA: the name exists, maybe with AAAA only
		}
		cur = last // the chain left the server's data; ask about its end
	}
	return nil, nil
}

// cnameSteps lists the names after from up to and including to along the
// CNAME chain in rrs.
func cnameSteps(rrs []mdns.RR, from, to string) []string {
	var out []string
	cur := from
	for range maxCNAMEHops {
		next := ""
		for _, rr := range rrs {
			if c, ok := rr.(*mdns.CNAME); ok && strings.EqualFold(c.Hdr.Name, cur) {
				next = strings.ToLower(c.Target)
				break
			}
		}
		if next == "" {
			break
		}
		out = append(out, next)
		if next == to {
			break
		}
		cur = next
	}
	return out
}

// dnssecSignal reports whether a reply shows that the zone is signed.
func dnssecSignal(m *mdns.Msg, qtype uint16) bool {
	if m.AuthenticatedData {
		return true
	}
	for _, sec := range [][]mdns.RR{m.Answer, m.Ns} {
		for _, rr := range sec {
			switch rr.Header().Rrtype {
			case mdns.TypeRRSIG:
				return true
			case qtype:
				if qtype == mdns.TypeDNSKEY || qtype == mdns.TypeDS {
					return true
				}
			}
		}
	}
	return false
}

func runDNSSECMissing(ctx context.Context, c *client, _ *check.Env, name string) ([]check.Result, error) {
	soa, err := c.lookup(ctx, name, mdns.TypeSOA, true)
	if err != nil || soa.NXDomain() {
		return nil, err
	}
	if dnssecSignal(soa.Msg, mdns.TypeSOA) {
		return nil, nil
	}
	apex := ""
	for _, rr := range soa.Msg.Answer {
		switch rr.Header().Rrtype {
		case mdns.TypeCNAME:
			return nil, nil // an alias: its target's zone is someone else's question
		case mdns.TypeSOA:
			apex = rr.Header().Name
		}
	}
	if apex == "" {
		for _, rr := range soa.Msg.Ns {
			if rr.Header().Rrtype == mdns.TypeSOA {
				apex = rr.Header().Name
			}
		}
	}
	if apex == "" {
		apex = name
	}
	apex = strings.ToLower(apex)
	key, err := c.lookup(ctx, apex, mdns.TypeDNSKEY, true)
	if err != nil {
		return nil, err
	}
	if dnssecSignal(key.Msg, mdns.TypeDNSKEY) {
		return nil, nil
	}
	ds, err := c.lookup(ctx, apex, mdns.TypeDS, true)
	if err != nil {
		return nil, err
	}
	if dnssecSignal(ds.Msg, mdns.TypeDS) {
		return nil, nil
	}
	ev := withFields(evidenceOf(soa, key, ds), "zone", shortName(apex))
	return []check.Result{{
		Check: "dns.dnssec-missing", Severity: finding.Low, Subject: shortName(apex),
		Title:    fmt.Sprintf("The zone %s is not signed with DNSSEC (no DNSKEY, DS or RRSIG)", shortName(apex)),
		Evidence: ev,
	}}, nil
}

// openResolver is dns.open-resolver; it looks at DNS services, not names.
type openResolver struct{ meta check.Meta }

var _ check.Check = (*openResolver)(nil)

func (o *openResolver) Meta() check.Meta { return o.meta }

// UDP: the check also looks at DNS services the UDP scan found (it asks
// over UDP first).
func (o *openResolver) UDP() bool { return true }

func (o *openResolver) Applies(t check.Target) bool {
	if t.Kind != check.TargetService || !t.Addr.IsValid() {
		return false
	}
	switch strings.ToLower(t.Service) {
	case "dns", "domain":
		return true
	case "":
		return t.Addr.Port() == 53
	}
	return false
}

func (o *openResolver) Run(ctx context.Context, env *check.Env, t check.Target) ([]check.Result, error) {
	c := newClient(env)
	server := t.Addr.String()
	probes := options(env).ProbeNames
	if len(probes) == 0 {
		probes = []string{defaultProbeTag}
	}
	reached := false
	var lastErr error
	for _, p := range probes {
		name := mdns.CanonicalName(p)
		if _, ok := mdns.IsDomainName(name); !ok {
			return nil, fmt.Errorf("%w: probe name %q", ErrBadName, p)
		}
		q := newQuery(name, mdns.TypeA, true, false)
		r, transport, err := c.exchange(ctx, server, q)
		if err != nil {
			lastErr = err
			continue
		}
		reached = true
		rrs, _ := follow(r.Answer, name, mdns.TypeA)
		// Recursion offered and used: RA set, a non-authoritative answer
		// for a name outside the server's zones.
		if !r.RecursionAvailable || r.Authoritative || r.Rcode != mdns.RcodeSuccess || len(rrs) == 0 {
			continue
		}
		a := &answer{Query: fmt.Sprintf("%s IN A @%s rd (%s)", name, server, transport), Msg: r}
		ev := withFields(evidenceOf(a), "server", server, "probe", shortName(name), "transport", transport)
		return []check.Result{{
			Check: "dns.open-resolver", Severity: finding.High,
			Title:    fmt.Sprintf("DNS server %s resolves names for anyone (open resolver, usable for amplification attacks)", server),
			Evidence: ev,
		}}, nil
	}
	if !reached {
		return nil, fmt.Errorf("dns: open-resolver probe %s: %w: %w", server, lastErr, check.ErrUnreachable)
	}
	return nil, nil
}
