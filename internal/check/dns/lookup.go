package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
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
