package mail

import (
	"context"
	"fmt"
	"strings"

	mdns "github.com/miekg/dns"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/dns"
)

// domainCheck is a check on a mail domain (a TargetDomain with MX
// records). Domains without MX, or with a null MX (RFC 7505), receive no
// mail: the check returns nothing for them.
type domainCheck struct {
	meta check.Meta
	run  func(ctx context.Context, env *check.Env, d mailDomain) ([]check.Result, error)
}

var _ check.Check = (*domainCheck)(nil)

func (c *domainCheck) Meta() check.Meta { return c.meta }

func (c *domainCheck) Applies(t check.Target) bool {
	return t.Kind == check.TargetDomain && strings.TrimSpace(t.Host) != ""
}

func (c *domainCheck) Run(ctx context.Context, env *check.Env, t check.Target) ([]check.Result, error) {
	d, ok, err := lookupMailDomain(ctx, env, t.Host)
	if err != nil || !ok {
		return nil, err
	}
	return c.run(ctx, env, d)
}

// mailDomain is a domain that receives mail.
type mailDomain struct {
	Name string   // lower case, no final dot
	MX   []string // MX host names, lower case, no final dot
	MXEv check.Evidence
}

func lookupMailDomain(ctx context.Context, env *check.Env, host string) (mailDomain, bool, error) {
	name := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(host), "."))
	if _, ok := mdns.IsDomainName(name); !ok || name == "" {
		return mailDomain{}, false, fmt.Errorf("mail: invalid domain name %q", host)
	}
	mx, ev, err := dns.LookupMX(ctx, env, name)
	if err != nil {
		return mailDomain{}, false, fmt.Errorf("mail: %s: %w", name, err)
	}
	if len(mx) == 0 || (len(mx) == 1 && mx[0] == ".") {
		return mailDomain{}, false, nil
	}
	return mailDomain{Name: name, MX: mx, MXEv: ev}, true, nil
}

// tagList parses "k=v; k=v" records (DKIM, MTA-STS and TLS-RPT TXT
// records share the syntax): names are lower-cased, values trimmed. A
// repeated tag or a part without '=' is an error.
func tagList(rec string) (map[string]string, error) {
	out := map[string]string{}
	for part := range strings.SplitSeq(rec, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("mail: tag %q has no '='", part)
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if k == "" {
			return nil, fmt.Errorf("mail: empty tag name in %q", part)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("mail: tag %q repeated", k)
		}
		out[k] = strings.TrimSpace(v)
	}
	return out, nil
}
