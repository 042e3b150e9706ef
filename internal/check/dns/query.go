package dns

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/rampart-cert/rampart/internal/check"
)

// Sentinel errors.
var (
	// ErrNoServer means neither env.DNSServer nor env.Resolver was set; the
	// checks refuse to guess a resolver.
	ErrNoServer = errors.New("dns: no DNS server configured (env.DNSServer or env.Resolver)")
	// ErrBadReply is a reply that does not answer the question asked.
	ErrBadReply = errors.New("dns: reply does not match the query")
	// ErrServerFailure is a SERVFAIL, REFUSED or other error rcode from the
	// resolver: the question could not be answered.
	ErrServerFailure = errors.New("dns: server failed to answer")
	// ErrBadName is a target name that is not a domain name.
	ErrBadName = errors.New("dns: invalid domain name")
)

const (
	defaultTimeout = 5 * time.Second
	// ednsSize is the UDP payload size we advertise (DNS flag day 2020).
	ednsSize = 1232
	// maxRecordsInEvidence caps the records listed in evidence.
	maxRecordsInEvidence = 20
)

// Options tune the family; pass them as env.Extra["dns"] (Options or
// *Options). The zero value is usable.
type Options struct {
	// ProbeNames are the names dns.open-resolver asks a DNS service to
	// resolve; they must lie outside any zone the service may host.
	// Default: a.root-servers.net.
	ProbeNames []string
	// AllowAddr, when set, is asked before dns.zone-transfer connects to
	// an authoritative server's address; the scheduler uses it to keep
	// probes inside the registered scope.
	AllowAddr func(netip.Addr) bool
	// TakeoverProviders are added to the shipped takeover table
	// (data/takeover.json) for dns.subdomain-takeover; tests use it for a
	// provider of their own.
	TakeoverProviders []TakeoverProvider
}

func options(env *check.Env) Options {
	switch o := env.Extra["dns"].(type) {
	case Options:
		return o
	case *Options:
		if o != nil {
			return *o
		}
	}
	return Options{}
}

// client speaks DNS over connections opened by env.Dial.
type client struct {
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	timeout  time.Duration
	server   string // the recursive server for domain checks; may be empty
	resolver *net.Resolver
	maxRead  int64
}

func newClient(env *check.Env) *client {
	c := &client{
		dial:     env.Dial,
		timeout:  env.Timeout,
		server:   env.DNSServer,
		resolver: env.Resolver,
		maxRead:  env.MaxRead,
	}
	if c.dial == nil {
		var d net.Dialer
		c.dial = d.DialContext
	}
	if c.timeout <= 0 {
		c.timeout = defaultTimeout
	}
	if c.maxRead <= 0 {
		c.maxRead = 1 << 20
	}
	return c
}

// newQuery builds a query with EDNS0; do asks for DNSSEC records.
func newQuery(name string, qtype uint16, rd, do bool) *mdns.Msg {
	q := new(mdns.Msg)
	q.SetQuestion(name, qtype)
	q.RecursionDesired = rd
	q.SetEdns0(ednsSize, do)
	return q
}

// exchange sends q to server over UDP and retries over TCP when the reply
// is truncated or UDP gets no answer. It returns the reply and the
// transport that produced it.
func (c *client) exchange(ctx context.Context, server string, q *mdns.Msg) (*mdns.Msg, string, error) {
	r, err := c.roundTrip(ctx, "udp", server, q)
	if err == nil && !r.Truncated {
		return r, "udp", nil
	}
	if ctx.Err() != nil {
		return nil, "", ctx.Err()
	}
	udpErr := err
	r, err = c.roundTrip(ctx, "tcp", server, q)
	if err != nil {
		if udpErr != nil {
			return nil, "", fmt.Errorf("%w (udp: %v)", err, udpErr)
		}
		return nil, "", err
	}
	return r, "tcp", nil
}

// roundTrip sends one query and reads one reply, with a deadline.
func (c *client) roundTrip(ctx context.Context, network, server string, q *mdns.Msg) (*mdns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	conn, err := c.dial(ctx, network, server)
	if err != nil {
		return nil, fmt.Errorf("dns: %s %s: %w", network, server, err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("dns: %s %s: %w", network, server, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	wire, err := q.Pack()
	if err != nil {
		return nil, fmt.Errorf("dns: pack query: %w", err)
	}
	if network == "tcp" {
		if err := writeTCP(conn, wire); err != nil {
			return nil, fmt.Errorf("dns: tcp %s: %w", server, err)
		}
		raw, err := readTCP(conn)
		if err != nil {
			return nil, fmt.Errorf("dns: tcp %s: %w", server, err)
		}
		return checkReply(q, raw)
	}
	if _, err := conn.Write(wire); err != nil {
		return nil, fmt.Errorf("dns: udp %s: %w", server, err)
	}
	buf := make([]byte, mdns.MaxMsgSize)
	// Skip stray datagrams (late replies to an earlier query); a few only.
	for range 8 {
		n, err := conn.Read(buf)
		if err != nil {
			return nil, fmt.Errorf("dns: udp %s: %w", server, err)
		}
		r, err := checkReply(q, buf[:n])
		if errors.Is(err, ErrBadReply) {
			continue
		}
		return r, err
	}
	return nil, fmt.Errorf("dns: udp %s: %w", server, ErrBadReply)
}

func writeTCP(w io.Writer, wire []byte) error {
	out := make([]byte, 2+len(wire))
	binary.BigEndian.PutUint16(out, uint16(len(wire)))
	copy(out[2:], wire)
	_, err := w.Write(out)
	return err
}

// readTCP reads one length-prefixed message; the prefix caps it at 64 KiB.
func readTCP(r io.Reader) ([]byte, error) {
	var l [2]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return nil, err
	}
	buf := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// checkReply unpacks raw and makes sure it answers q.
func checkReply(q *mdns.Msg, raw []byte) (*mdns.Msg, error) {
	r := new(mdns.Msg)
	if err := r.Unpack(raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadReply, err)
	}
	if r.Id != q.Id || !r.Response {
		return nil, ErrBadReply
	}
	// A reply without a question section is allowed only for errors.
	if len(r.Question) == 0 && r.Rcode != mdns.RcodeSuccess && r.Rcode != mdns.RcodeNameError {
		return r, nil
	}
	if len(r.Question) != 1 || r.Question[0].Qtype != q.Question[0].Qtype ||
		!strings.EqualFold(r.Question[0].Name, q.Question[0].Name) {
		return nil, ErrBadReply
	}
	return r, nil
}

// answer is one reply from the recursive server with how it was asked.
type answer struct {
	Query string // "example.org. IN TXT @127.0.0.1:53 (udp)"
	Msg   *mdns.Msg
}

// NXDomain reports whether the name does not exist.
func (a *answer) NXDomain() bool { return a.Msg.Rcode == mdns.RcodeNameError }

// lookup asks the recursive server for name/qtype. NOERROR and NXDOMAIN
// are answers; anything else, and network failure, wraps
// check.ErrUnreachable.
func (c *client) lookup(ctx context.Context, name string, qtype uint16, do bool) (*answer, error) {
	if c.server == "" {
		return nil, fmt.Errorf("%w: %w", ErrNoServer, check.ErrUnreachable)
	}
	q := newQuery(name, qtype, true, do)
	r, transport, err := c.exchange(ctx, c.server, q)
	query := fmt.Sprintf("%s IN %s @%s", name, mdns.TypeToString[qtype], c.server)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", query, err, check.ErrUnreachable)
	}
	switch r.Rcode {
	case mdns.RcodeSuccess, mdns.RcodeNameError:
	default:
		return nil, fmt.Errorf("%s: %w: %s: %w", query, ErrServerFailure, mdns.RcodeToString[r.Rcode], check.ErrUnreachable)
	}
	return &answer{Query: query + " (" + transport + ")", Msg: r}, nil
}

// follow returns the records of type qtype for name in rrs, following
// CNAMEs inside rrs (a recursive reply carries the chain), and the last
// name of the chain.
func follow(rrs []mdns.RR, name string, qtype uint16) ([]mdns.RR, string) {
	cur := name
	seen := map[string]bool{}
	for range 16 {
		seen[strings.ToLower(cur)] = true
		var out []mdns.RR
		next := ""
		for _, rr := range rrs {
			h := rr.Header()
			if !strings.EqualFold(h.Name, cur) {
				continue
			}
			if h.Rrtype == qtype {
				out = append(out, rr)
			} else if cn, ok := rr.(*mdns.CNAME); ok && qtype != mdns.TypeCNAME {
				next = cn.Target
			}
		}
		if len(out) > 0 || next == "" || seen[strings.ToLower(next)] {
			return out, cur
		}
		cur = next
	}
	return nil, cur
}

// txtLookup returns the TXT strings at name (segments of one record
// joined, RFC 7208 3.3), whether the name does not exist, and evidence.
func (c *client) txtLookup(ctx context.Context, name string) (txts []string, nx bool, ev check.Evidence, err error) {
	if c.server == "" && c.resolver != nil {
		return c.txtViaResolver(ctx, name)
	}
	a, err := c.lookup(ctx, name, mdns.TypeTXT, false)
	if err != nil {
		return nil, false, check.Evidence{}, err
	}
	rrs, _ := follow(a.Msg.Answer, name, mdns.TypeTXT)
	for _, rr := range rrs {
		txts = append(txts, strings.Join(rr.(*mdns.TXT).Txt, ""))
	}
	return txts, a.NXDomain(), evidenceOf(a), nil
}

func (c *client) txtViaResolver(ctx context.Context, name string) ([]string, bool, check.Evidence, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	query := strings.TrimSuffix(name, ".") + " IN TXT (resolver)"
	txts, err := c.resolver.LookupTXT(ctx, strings.TrimSuffix(name, "."))
	var de *net.DNSError
	if errors.As(err, &de) && de.IsNotFound {
		// net.Resolver does not tell NXDOMAIN from NODATA; report "no
		// records", which errs towards a finding on a vanished name.
		return nil, false, check.Evidence{Request: query, Response: "no such host or no TXT records"}, nil
	}
	if err != nil {
		return nil, false, check.Evidence{}, fmt.Errorf("dns: %s: %w: %w", query, err, check.ErrUnreachable)
	}
	return txts, false, check.Evidence{Request: query, Response: check.Cap(strings.Join(txts, "\n"))}, nil
}

// evidenceOf renders a reply for a finding: rcode, flags and the answer
// records as zone-file text, capped.
func evidenceOf(as ...*answer) check.Evidence {
	var req, resp []string
	for _, a := range as {
		if a == nil {
			continue
		}
		req = append(req, a.Query)
		resp = append(resp, renderMsg(a.Msg))
	}
	return check.Evidence{
		Request:  strings.Join(req, "\n"),
		Response: check.Cap(strings.Join(resp, "\n\n")),
	}
}

func renderMsg(m *mdns.Msg) string {
	var b strings.Builder
	fmt.Fprintf(&b, ";; %s", mdns.RcodeToString[m.Rcode])
	for _, f := range []struct {
		on   bool
		name string
	}{{m.Authoritative, "aa"}, {m.Truncated, "tc"}, {m.RecursionDesired, "rd"}, {m.RecursionAvailable, "ra"}, {m.AuthenticatedData, "ad"}} {
		if f.on {
			b.WriteString(" " + f.name)
		}
	}
	b.WriteString("\n")
	if len(m.Answer) == 0 {
		b.WriteString(";; no answer records\n")
	}
	b.WriteString(renderRRs(m.Answer))
	return b.String()
}

func renderRRs(rrs []mdns.RR) string {
	var b strings.Builder
	for i, rr := range rrs {
		if i == maxRecordsInEvidence {
			fmt.Fprintf(&b, ";; … %d more records\n", len(rrs)-i)
			break
		}
		b.WriteString(rr.String())
		b.WriteString("\n")
	}
	return b.String()
}

// domainOf validates and canonicalises the target name.
func domainOf(t check.Target) (string, error) {
	h := strings.TrimSpace(t.Host)
	if h == "" || h == "." {
		return "", fmt.Errorf("%w: %q", ErrBadName, t.Host)
	}
	name := mdns.CanonicalName(h)
	if _, ok := mdns.IsDomainName(name); !ok {
		return "", fmt.Errorf("%w: %q", ErrBadName, t.Host)
	}
	return name, nil
}

// appliesToDomain is Applies for the domain checks.
func appliesToDomain(t check.Target) bool {
	return t.Kind == check.TargetDomain && t.Host != ""
}

func shortName(name string) string { return strings.TrimSuffix(name, ".") }
