package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	mdns "github.com/miekg/dns"

	"github.com/rampart-cert/rampart/internal/check"
)

// This file lends the family's DNS client to other families (mail) that
// read DNS records of a domain target: the same resolver, deadlines and
// size caps as the DNS checks.

// LookupTXT returns the TXT strings at name (the segments of one record
// joined), asked of env.DNSServer or else env.Resolver, with evidence.
// Network failure and SERVFAIL wrap check.ErrUnreachable; a missing name
// is no error and no records.
func LookupTXT(ctx context.Context, env *check.Env, name string) ([]string, check.Evidence, error) {
	txts, _, ev, err := newClient(env).txtLookup(ctx, mdns.Fqdn(name))
	return txts, ev, err
}

// LookupMX returns the MX host names of name (lower case, without the
// final dot, a null MX as "."), with evidence.
func LookupMX(ctx context.Context, env *check.Env, name string) ([]string, check.Evidence, error) {
	c := newClient(env)
	name = mdns.Fqdn(name)
	if c.server == "" && c.resolver != nil {
		ctx, cancel := context.WithTimeout(ctx, c.timeout)
		defer cancel()
		query := shortName(name) + " IN MX (resolver)"
		mxs, err := c.resolver.LookupMX(ctx, shortName(name))
		var de *net.DNSError
		if errors.As(err, &de) && de.IsNotFound {
			return nil, check.Evidence{Request: query, Response: "no such host or no MX records"}, nil
		}
		if err != nil && len(mxs) == 0 {
			return nil, check.Evidence{}, fmt.Errorf("dns: %s: %w: %w", query, err, check.ErrUnreachable)
		}
		var hosts, lines []string
		for _, mx := range mxs {
			h := strings.ToLower(mx.Host)
			if h != "." {
				h = shortName(h)
			}
			hosts = append(hosts, h)
			lines = append(lines, fmt.Sprintf("%d %s", mx.Pref, mx.Host))
		}
		return hosts, check.Evidence{Request: query, Response: check.Cap(strings.Join(lines, "\n"))}, nil
	}
	a, err := c.lookup(ctx, name, mdns.TypeMX, false)
	if err != nil {
		return nil, check.Evidence{}, err
	}
	rrs, _ := follow(a.Msg.Answer, name, mdns.TypeMX)
	var hosts []string
	for _, rr := range rrs {
		h := strings.ToLower(rr.(*mdns.MX).Mx)
		if h != "." {
			h = shortName(h)
		}
		hosts = append(hosts, h)
	}
	return hosts, evidenceOf(a), nil
}

// LookupAddrs returns the IPv4 and IPv6 addresses of name (CNAMEs
// followed), at most max of them (0: all), with the same failure rules.
func LookupAddrs(ctx context.Context, env *check.Env, name string, max int) ([]netip.Addr, error) {
	c := newClient(env)
	name = mdns.Fqdn(name)
	var out []netip.Addr
	if c.server == "" && c.resolver != nil {
		ctx, cancel := context.WithTimeout(ctx, c.timeout)
		defer cancel()
		addrs, err := c.resolver.LookupNetIP(ctx, "ip", shortName(name))
		var de *net.DNSError
		if errors.As(err, &de) && de.IsNotFound {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("dns: %s IN A/AAAA (resolver): %w: %w", shortName(name), err, check.ErrUnreachable)
		}
		for _, a := range addrs {
			out = append(out, a.Unmap())
		}
	} else {
		for _, qt := range []uint16{mdns.TypeA, mdns.TypeAAAA} {
			a, err := c.lookup(ctx, name, qt, false)
			if err != nil {
				return nil, err
			}
			rrs, _ := follow(a.Msg.Answer, name, qt)
			for _, rr := range rrs {
				if ip := rrAddr(rr); ip.IsValid() {
					out = append(out, ip)
				}
			}
		}
	}
	if max > 0 && len(out) > max {
		out = out[:max]
	}
	return out, nil
}
