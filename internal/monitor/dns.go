package monitor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/rampart-cert/rampart/internal/finding"
)

// DNSConfig sets the DNS change detector.
type DNSConfig struct {
	// Resolver is the DNS server asked (ip:port); empty turns the
	// detector off, so the platform never asks a resolver nobody chose.
	Resolver string
	// Interval between rounds (default 15 minutes).
	Interval time.Duration
	// AdoptAfter is how long a changed record set is reported before it
	// becomes the new normal (default 7 days).
	AdoptAfter time.Duration
	// Timeout bounds one query (default 3 s).
	Timeout time.Duration
	// Rate caps queries per second to the resolver (default 100).
	Rate int
}

func (c *DNSConfig) enabled() bool { return c.Resolver != "" }

func (c *DNSConfig) validate() error {
	if c.Resolver != "" {
		if _, _, err := net.SplitHostPort(c.Resolver); err != nil {
			return fmt.Errorf("%w: dns resolver %q: want ip:port", ErrConfig, c.Resolver)
		}
	}
	c.Interval = positive(c.Interval, 15*time.Minute)
	c.AdoptAfter = positive(c.AdoptAfter, 7*24*time.Hour)
	c.Timeout = positive(c.Timeout, 3*time.Second)
	if c.Rate <= 0 {
		c.Rate = 100
	}
	return nil
}

// The record types snapshotted, in the order they are asked.
var dnsTypes = []uint16{dns.TypeNS, dns.TypeMX, dns.TypeA, dns.TypeAAAA, dns.TypeCAA}

// Limits on what one answer may add to a snapshot.
const (
	maxRRs     = 64  // values kept per record set
	maxRRValue = 300 // bytes per value
)

// nxdomain is the one value of a record set whose name does not exist.
const nxdomain = "NXDOMAIN"

// errLookup marks an answer that says nothing about the records
// (timeout, SERVFAIL, REFUSED): the snapshot stays as it was.
var errLookup = errors.New("monitor: dns lookup failed")

// dnsClient asks one resolver, with a deadline per query, falling back
// to TCP when a UDP answer is truncated.
type dnsClient struct {
	addr    string
	timeout time.Duration
	tick    <-chan time.Time // one query per tick
}

// lookup returns the values of name's records of type t, sorted, at
// most maxRRs of them; a name that does not exist is [nxdomain].
func (c *dnsClient) lookup(ctx context.Context, name string, t uint16) ([]string, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.tick:
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), t)
	m.RecursionDesired = true
	m.SetEdns0(4096, false)
	cl := &dns.Client{Net: "udp", Timeout: c.timeout, UDPSize: 4096}
	qctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	r, _, err := cl.ExchangeContext(qctx, m, c.addr)
	if err == nil && r.Truncated {
		cl.Net = "tcp"
		r, _, err = cl.ExchangeContext(qctx, m, c.addr)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s: %w", errLookup, name, dns.TypeToString[t], err)
	}
	switch r.Rcode {
	case dns.RcodeSuccess:
	case dns.RcodeNameError:
		return []string{nxdomain}, nil
	default:
		return nil, fmt.Errorf("%w: %s %s: %s", errLookup, name, dns.TypeToString[t], dns.RcodeToString[r.Rcode])
	}
	return rrValues(r.Answer, dns.Fqdn(name), t), nil
}

// rrValues returns the values of the records of type t owned by name in
// rrs, in a canonical text form, sorted, without repeats, capped.
func rrValues(rrs []dns.RR, name string, t uint16) []string {
	out := []string{}
	for _, rr := range rrs {
		h := rr.Header()
		if h.Rrtype != t || !strings.EqualFold(h.Name, name) {
			continue
		}
		var v string
		switch r := rr.(type) {
		case *dns.NS:
			v = canonName(r.Ns)
		case *dns.MX:
			v = strconv.Itoa(int(r.Preference)) + " " + canonName(r.Mx)
		case *dns.A:
			v = r.A.String()
		case *dns.AAAA:
			v = r.AAAA.String()
		case *dns.CAA:
			v = strconv.Itoa(int(r.Flag)) + " " + strings.ToLower(r.Tag) + " " + strconv.Quote(r.Value)
		default:
			continue
		}
		if len(v) > maxRRValue {
			v = v[:maxRRValue]
		}
		out = append(out, v)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > maxRRs {
		out = out[:maxRRs]
	}
	return out
}

func canonName(s string) string { return strings.ToLower(strings.TrimSuffix(s, ".")) }

// dnsState is what the detector remembers of one record set of one
// domain asset: the accepted values and, while they differ, the values
// seen now and since when.
type dnsState struct {
	Type       string    `json:"type"`
	Baseline   []string  `json:"baseline"`
	BaselineAt time.Time `json:"baseline_at"`
	Current    []string  `json:"current,omitempty"`
	ChangedAt  time.Time `json:"changed_at,omitzero"`
	CheckedAt  time.Time `json:"checked_at"`
}

// DNSEvidence is the evidence of a DNS change finding.
type DNSEvidence struct {
	Domain    string    `json:"domain"`
	Type      string    `json:"type"`
	Before    []string  `json:"before"`
	After     []string  `json:"after"`
	ChangedAt time.Time `json:"changed_at"`
	// NewProviders are the registrable domains of name or mail servers
	// not used before (delegation and MX changes).
	NewProviders []string `json:"new_providers,omitempty"`
	// Foreign are new mail servers outside the organization's domains and
	// its previous mail providers.
	Foreign  []string `json:"foreign,omitempty"`
	Resolver string   `json:"resolver"`
}

// DNSRound snapshots the records of every watched domain once and
// reports the changes.
func (s *Service) DNSRound(ctx context.Context) error {
	reg, err := s.registry(ctx)
	if err != nil {
		return err
	}
	states, err := loadState[dnsState](ctx, s, "dns")
	if err != nil {
		return err
	}
	tick := time.NewTicker(time.Second / time.Duration(s.cfg.DNS.Rate))
	defer tick.Stop()
	cl := &dnsClient{addr: s.cfg.DNS.Resolver, timeout: s.cfg.DNS.Timeout, tick: tick.C}

	// Each distinct name is asked once, whoever registered it.
	answers := map[string]map[uint16][]string{}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []error
	)
	names := make(chan string)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range names {
				got := map[uint16][]string{}
				for _, t := range dnsTypes {
					vals, err := cl.lookup(ctx, n, t)
					if err != nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
						continue
					}
					got[t] = vals
					if len(vals) == 1 && vals[0] == nxdomain {
						for _, t := range dnsTypes {
							got[t] = vals
						}
						break
					}
				}
				mu.Lock()
				answers[n] = got
				mu.Unlock()
			}
		}()
	}
	seenName := map[string]bool{}
	for _, d := range reg.domains {
		if !seenName[d.Value] {
			seenName[d.Value] = true
			select {
			case names <- d.Value:
			case <-ctx.Done():
			}
		}
	}
	close(names)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}

	now := s.now()
	var seen []finding.Finding
	changed := map[string]dnsState{}
	for _, d := range reg.domains {
		for _, t := range dnsTypes {
			vals, ok := answers[d.Value][t]
			if !ok {
				continue // the lookup failed: nothing is known
			}
			key := strconv.FormatInt(d.AssetID, 10) + "/" + dns.TypeToString[t]
			st, had := states[key]
			next, f := s.dnsStep(reg, d, t, st, had, vals, now)
			changed[key] = next
			if f != nil {
				seen = append(seen, *f)
			}
		}
	}
	if err := s.record(ctx, "dns", now, seen); err != nil {
		return err
	}
	if err := saveState(ctx, s, "dns", changed); err != nil {
		return err
	}
	if len(errs) > 0 {
		s.log.Info("monitor: some DNS lookups failed; their snapshots are kept", "failed", len(errs), "first", errs[0])
	}
	return nil
}

// dnsStep moves one record set's state with the values seen now, and
// returns the finding to report, if any:
//
//   - the first answer becomes the baseline;
//   - an answer equal to the baseline clears a pending change (a change
//     undone is no longer reported, and its finding expires);
//   - an answer that differs is reported, with the baseline as before,
//     from the first time it is seen; a different answer again restarts
//     the clock;
//   - a change seen for AdoptAfter becomes the baseline and is no longer
//     reported.
func (s *Service) dnsStep(reg *view, d owned, t uint16, st dnsState, had bool, vals []string, now time.Time) (dnsState, *finding.Finding) {
	typ := dns.TypeToString[t]
	st.Type, st.CheckedAt = typ, now
	if !had {
		st.Baseline, st.BaselineAt = vals, now
		return st, nil
	}
	if slices.Equal(vals, st.Baseline) {
		st.Current, st.ChangedAt = nil, time.Time{}
		return st, nil
	}
	if !slices.Equal(vals, st.Current) || st.ChangedAt.IsZero() {
		st.Current, st.ChangedAt = vals, now
	}
	if now.Sub(st.ChangedAt) >= s.cfg.DNS.AdoptAfter {
		st.Baseline, st.BaselineAt, st.Current, st.ChangedAt = vals, now, nil, time.Time{}
		return st, nil
	}
	c := classifyDNS(typ, st.Baseline, vals, reg.orgDomains[d.OrgID])
	if c.kind == "" {
		return st, nil
	}
	ev := DNSEvidence{Domain: d.Value, Type: typ, Before: st.Baseline, After: vals, ChangedAt: st.ChangedAt,
		NewProviders: c.newProviders, Foreign: c.foreign, Resolver: s.cfg.DNS.Resolver}
	return st, &finding.Finding{OrgID: d.OrgID, AssetID: d.AssetID, Check: c.kind, Severity: c.severity,
		Target: d.Value, Subject: typ, Title: c.title(d.Value), Evidence: evidence(ev)}
}
