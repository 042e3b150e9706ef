package dns

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/finding"
)

// spfLookupLimit is the RFC 7208 4.6.4 limit on DNS-querying terms.
const spfLookupLimit = 10

// spfCountCap bounds how far we keep counting past the limit, which also
// bounds the TXT queries one check sends.
const spfCountCap = 30

var (
	errNoSPF       = errors.New("no SPF record")
	errMultipleSPF = errors.New("more than one SPF record")
)

// spfAt returns the SPF records at name among its TXT records.
func spfAt(ctx context.Context, c *client, name string) (recs []string, nx bool, ev check.Evidence, err error) {
	txts, nx, ev, err := c.txtLookup(ctx, name)
	if err != nil {
		return nil, false, ev, err
	}
	for _, s := range txts {
		if IsSPF(s) {
			recs = append(recs, s)
		}
	}
	return recs, nx, ev, nil
}

func withFields(ev check.Evidence, kv ...string) check.Evidence {
	if ev.Fields == nil {
		ev.Fields = map[string]string{}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		ev.Fields[kv[i]] = check.Cap(kv[i+1])
	}
	return ev
}

func runSPFMissing(ctx context.Context, c *client, _ *check.Env, name string) ([]check.Result, error) {
	recs, nx, ev, err := spfAt(ctx, c, name)
	if err != nil || nx {
		// A name that does not exist cannot be forged in mail; other
		// checks and the asset registry deal with it.
		return nil, err
	}
	d := shortName(name)
	res := check.Result{Check: "dns.spf-missing", Severity: finding.Medium}
	switch len(recs) {
	case 0:
		res.Title = fmt.Sprintf("No SPF record at %s", d)
		res.Evidence = withFields(ev, "domain", d)
	case 1:
		if _, perr := ParseSPF(recs[0]); perr == nil {
			return nil, nil
		} else {
			res.Title = fmt.Sprintf("The SPF record of %s is invalid (receivers return permerror)", d)
			res.Evidence = withFields(ev, "domain", d, "record", recs[0], "error", perr.Error())
		}
	default:
		res.Title = fmt.Sprintf("%s publishes %d SPF records (receivers return permerror)", d, len(recs))
		res.Evidence = withFields(ev, "domain", d, "records", strings.Join(recs, "\n"))
	}
	return []check.Result{res}, nil
}

// spfWalker follows include and redirect through SPF records.
type spfWalker struct {
	c       *client
	cache   map[string]*SPF
	raw     map[string]string
	lookups int
	loop    bool
}

func newSPFWalker(c *client) *spfWalker {
	return &spfWalker{c: c, cache: map[string]*SPF{}, raw: map[string]string{}}
}

// fetch returns the parsed SPF record at domain; errNoSPF, errMultipleSPF
// and parse errors are the target's problems, the others are ours.
func (w *spfWalker) fetch(ctx context.Context, domain string) (*SPF, error) {
	domain = strings.ToLower(domain)
	if rec, ok := w.cache[domain]; ok {
		return rec, nil
	}
	recs, _, _, err := spfAt(ctx, w.c, domain)
	if err != nil {
		return nil, err
	}
	switch len(recs) {
	case 0:
		return nil, errNoSPF
	case 1:
	default:
		return nil, errMultipleSPF
	}
	rec, err := ParseSPF(recs[0])
	if err != nil {
		return nil, err
	}
	w.cache[domain] = rec
	w.raw[domain] = recs[0]
	return rec, nil
}

func fqdnOf(s string) string {
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return strings.ToLower(s)
}

// allVerdict is the "all" that decides mail from unlisted hosts.
type allVerdict struct {
	qualifier byte   // 0 when the record chain has no all
	where     string // the domain whose record holds it
	problem   string // set when the chain itself is broken
}

// effectiveAll follows redirect= until a record with an "all" mechanism
// (RFC 7208 6.1: redirect applies only when there is no all).
func (w *spfWalker) effectiveAll(ctx context.Context, domain string, rec *SPF) (allVerdict, error) {
	seen := map[string]bool{domain: true}
	for range 10 {
		if m, ok := rec.All(); ok {
			return allVerdict{qualifier: m.Qualifier, where: domain}, nil
		}
		if rec.Redirect == "" {
			return allVerdict{where: domain}, nil
		}
		if hasMacro(rec.Redirect) {
			// Depends on the sender; we cannot judge it ahead of time.
			return allVerdict{qualifier: '-', where: domain}, nil
		}
		next := fqdnOf(rec.Redirect)
		if seen[next] {
			return allVerdict{where: domain, problem: "redirect loop at " + shortName(next)}, nil
		}
		seen[next] = true
		r, err := w.fetch(ctx, next)
		if err != nil {
			if errors.Is(err, check.ErrUnreachable) {
				return allVerdict{}, err
			}
			return allVerdict{where: domain, problem: fmt.Sprintf("redirect to %s: %v", shortName(next), err)}, nil
		}
		domain, rec = next, r
	}
	return allVerdict{where: domain, problem: "too many redirects"}, nil
}

// count adds the DNS-querying terms of rec and of everything it includes
// or redirects to (RFC 7208 4.6.4), stopping at spfCountCap.
func (w *spfWalker) count(ctx context.Context, domain string, rec *SPF, path map[string]bool) error {
	if path[domain] {
		w.loop = true
		return nil
	}
	path[domain] = true
	defer delete(path, domain)
	for _, m := range rec.Mechanisms {
		if w.lookups >= spfCountCap {
			return nil
		}
		if !m.countsLookup() {
			continue
		}
		w.lookups++
		if m.Name != "include" || hasMacro(m.Domain) {
			continue
		}
		if err := w.descend(ctx, m.Domain, path); err != nil {
			return err
		}
	}
	if _, hasAll := rec.All(); !hasAll && rec.Redirect != "" && w.lookups < spfCountCap {
		w.lookups++
		if !hasMacro(rec.Redirect) {
			return w.descend(ctx, rec.Redirect, path)
		}
	}
	return nil
}

func (w *spfWalker) descend(ctx context.Context, target string, path map[string]bool) error {
	next := fqdnOf(target)
	r, err := w.fetch(ctx, next)
	if errors.Is(err, check.ErrUnreachable) {
		return err
	}
	if err != nil {
		return nil // a broken include is a permerror, not more lookups
	}
	return w.count(ctx, next, r, path)
}

func runSPFPermissive(ctx context.Context, c *client, _ *check.Env, name string) ([]check.Result, error) {
	recs, nx, ev, err := spfAt(ctx, c, name)
	if err != nil || nx || len(recs) != 1 {
		return nil, err // missing or duplicated: dns.spf-missing reports it
	}
	rec, perr := ParseSPF(recs[0])
	if perr != nil {
		return nil, nil
	}
	d := shortName(name)
	w := newSPFWalker(c)
	w.cache[name], w.raw[name] = rec, recs[0]

	var out []check.Result
	v, err := w.effectiveAll(ctx, name, rec)
	if err != nil {
		return nil, err
	}
	var title string
	switch {
	case v.problem != "":
		title = fmt.Sprintf("The SPF policy of %s is broken (%s), so it protects nothing", d, v.problem)
	case v.qualifier == '+':
		title = fmt.Sprintf("The SPF record of %s ends in +all: any host may send mail as %s", d, d)
	case v.qualifier == '?':
		title = fmt.Sprintf("The SPF record of %s ends in ?all (neutral): forged mail is not rejected", d)
	case v.qualifier == 0:
		title = fmt.Sprintf("The SPF record of %s has no all mechanism and no redirect, so the default is neutral", d)
	}
	if title != "" {
		out = append(out, check.Result{
			Check: "dns.spf-permissive", Severity: finding.High, Subject: "all", Title: title,
			Evidence: withFields(ev, "domain", d, "record", recs[0], "decided_by", shortName(v.where), "decisive_record", w.raw[v.where]),
		})
	}

	if err := w.count(ctx, name, rec, map[string]bool{}); err != nil {
		return nil, err
	}
	if w.lookups > spfLookupLimit || w.loop {
		n := fmt.Sprint(w.lookups)
		if w.lookups >= spfCountCap || w.loop {
			n = "at least " + n
		}
		var chain []string
		for dom, raw := range w.raw {
			chain = append(chain, shortName(dom)+": "+raw)
		}
		slices.Sort(chain)
		out = append(out, check.Result{
			Check: "dns.spf-permissive", Severity: finding.Medium, Subject: "too-many-lookups",
			Title:    fmt.Sprintf("The SPF record of %s needs %s DNS lookups (limit 10): receivers return permerror", d, n),
			Evidence: withFields(ev, "domain", d, "lookups", n, "records", strings.Join(chain, "\n")),
		})
	}
	return out, nil
}

// dmarcAt returns the DMARC records at _dmarc.<name>.
func dmarcAt(ctx context.Context, c *client, name string) ([]string, check.Evidence, error) {
	txts, _, ev, err := c.txtLookup(ctx, "_dmarc."+name)
	if err != nil {
		return nil, ev, err
	}
	var recs []string
	for _, s := range txts {
		if IsDMARC(s) {
			recs = append(recs, s)
		}
	}
	return recs, ev, nil
}

// dmarcFor finds the DMARC record that governs name: at _dmarc.<name>,
// else at _dmarc.<organizational domain> (RFC 7489 6.6.3), in which case
// inherited is true and the record's sp applies.
func dmarcFor(ctx context.Context, c *client, name string) (recs []string, where string, inherited bool, ev check.Evidence, err error) {
	recs, ev, err = dmarcAt(ctx, c, name)
	if err != nil || len(recs) > 0 {
		return recs, name, false, ev, err
	}
	org := orgDomain(name)
	if org == "" || org == name {
		return nil, name, false, ev, nil
	}
	orgRecs, orgEv, err := dmarcAt(ctx, c, org)
	if err != nil {
		return nil, name, false, ev, err
	}
	ev.Request += "\n" + orgEv.Request
	ev.Response = check.Cap(ev.Response + "\n\n" + orgEv.Response)
	if len(orgRecs) == 0 {
		return nil, name, false, ev, nil
	}
	return orgRecs, org, true, ev, nil
}

// orgDomain is the organizational domain of name: the public suffix plus
// one label ("mail.mof.gov.vn." -> "mof.gov.vn."), "" when there is none.
func orgDomain(name string) string {
	o, err := publicsuffix.EffectiveTLDPlusOne(shortName(name))
	if err != nil {
		return ""
	}
	return strings.ToLower(o) + "."
}

func runDMARCMissing(ctx context.Context, c *client, _ *check.Env, name string) ([]check.Result, error) {
	recs, where, _, ev, err := dmarcFor(ctx, c, name)
	if err != nil {
		return nil, err
	}
	d, w := shortName(name), shortName(where)
	res := check.Result{Check: "dns.dmarc-missing", Severity: finding.Medium}
	switch len(recs) {
	case 0:
		// Only a name that exists can be forged.
		if _, nx, _, err := c.txtLookup(ctx, name); err != nil || nx {
			return nil, err
		}
		res.Title = fmt.Sprintf("No DMARC record at _dmarc.%s", d)
		if org := orgDomain(name); org != "" && org != name {
			res.Title += " nor at _dmarc." + shortName(org)
		}
		res.Evidence = withFields(ev, "domain", d)
	case 1:
		_, perr := ParseDMARC(recs[0])
		if perr == nil {
			return nil, nil
		}
		res.Title = fmt.Sprintf("The DMARC record of %s is invalid, so receivers ignore it", w)
		res.Evidence = withFields(ev, "domain", d, "record_at", "_dmarc."+w, "record", recs[0], "error", perr.Error())
	default:
		res.Title = fmt.Sprintf("%s publishes %d DMARC records, so receivers ignore them all", w, len(recs))
		res.Evidence = withFields(ev, "domain", d, "record_at", "_dmarc."+w, "records", strings.Join(recs, "\n"))
	}
	return []check.Result{res}, nil
}

func runDMARCPolicyNone(ctx context.Context, c *client, _ *check.Env, name string) ([]check.Result, error) {
	recs, where, inherited, ev, err := dmarcFor(ctx, c, name)
	if err != nil || len(recs) != 1 {
		return nil, err
	}
	rec, perr := ParseDMARC(recs[0])
	if perr != nil {
		return nil, nil
	}
	d, w := shortName(name), shortName(where)
	ev = withFields(ev, "domain", d, "record_at", "_dmarc."+w, "record", recs[0], "p", rec.Policy, "sp", rec.SubdomainPolicy)
	switch {
	case inherited && rec.SubdomainPolicy == "none":
		return []check.Result{{
			Check: "dns.dmarc-policy-none", Severity: finding.Low, Subject: "p",
			Title:    fmt.Sprintf("The DMARC policy for %s, inherited from %s, is none: forged mail is only reported, not stopped", d, w),
			Evidence: ev,
		}}, nil
	case inherited:
		return nil, nil
	case rec.Policy == "none":
		return []check.Result{{
			Check: "dns.dmarc-policy-none", Severity: finding.Low, Subject: "p",
			Title:    fmt.Sprintf("The DMARC policy of %s is p=none: forged mail is only reported, not stopped", d),
			Evidence: ev,
		}}, nil
	case rec.SubdomainPolicy == "none":
		return []check.Result{{
			Check: "dns.dmarc-policy-none", Severity: finding.Low, Subject: "sp",
			Title:    fmt.Sprintf("The DMARC subdomain policy of %s is sp=none: mail forged from its subdomains is not stopped", d),
			Evidence: ev,
		}}, nil
	}
	return nil, nil
}
