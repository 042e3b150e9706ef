package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/dns"
	"github.com/rampart-cert/rampart/internal/finding"
)

// maxPolicy caps the MTA-STS policy body read (RFC 8461 3.3 suggests
// senders limit it; 64 KiB is far above any real policy).
const maxPolicy = 64 << 10

// ErrSTS is an MTA-STS record or policy that does not parse.
var ErrSTS = errors.New("mail: invalid MTA-STS")

// STSPolicy is a parsed MTA-STS policy file (RFC 8461 3.2).
type STSPolicy struct {
	Version string
	Mode    string // enforce, testing or none
	MX      []string
	MaxAge  int // seconds
}

// ParseSTSPolicy parses a policy body: "key: value" lines ending in CRLF
// or LF. Unknown keys are ignored, as the RFC asks.
func ParseSTSPolicy(body string) (STSPolicy, error) {
	var p STSPolicy
	seen := map[string]bool{}
	for i, line := range strings.Split(body, "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return STSPolicy{}, fmt.Errorf("%w: policy line %d has no ':'", ErrSTS, i+1)
		}
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		if k != "mx" && seen[k] {
			return STSPolicy{}, fmt.Errorf("%w: policy key %q repeated", ErrSTS, k)
		}
		seen[k] = true
		switch k {
		case "version":
			p.Version = v
		case "mode":
			p.Mode = v
		case "mx":
			p.MX = append(p.MX, strings.ToLower(strings.TrimSuffix(v, ".")))
		case "max_age":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 31557600 || len(v) > 10 {
				return STSPolicy{}, fmt.Errorf("%w: max_age %q is not 0..31557600", ErrSTS, v)
			}
			p.MaxAge = n
		}
	}
	switch {
	case p.Version != "STSv1":
		return STSPolicy{}, fmt.Errorf("%w: version %q, want STSv1", ErrSTS, p.Version)
	case p.Mode != "enforce" && p.Mode != "testing" && p.Mode != "none":
		return STSPolicy{}, fmt.Errorf("%w: mode %q, want enforce, testing or none", ErrSTS, p.Mode)
	case !seen["max_age"]:
		return STSPolicy{}, fmt.Errorf("%w: no max_age", ErrSTS)
	case p.Mode != "none" && len(p.MX) == 0:
		return STSPolicy{}, fmt.Errorf("%w: mode %s without mx lines", ErrSTS, p.Mode)
	}
	return p, nil
}

// MatchesMX reports whether host matches one of the policy's mx patterns:
// an exact name, or "*.example.org" standing for one leftmost label.
func (p STSPolicy) MatchesMX(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, pat := range p.MX {
		if rest, ok := strings.CutPrefix(pat, "*."); ok {
			if _, after, ok := strings.Cut(host, "."); ok && after == rest {
				return true
			}
			continue
		}
		if host == pat {
			return true
		}
	}
	return false
}

// parseSTSRecord checks an _mta-sts TXT record: v=STSv1 first, id of 1 to
// 32 letters and digits.
func parseSTSRecord(rec string) (string, error) {
	tags, err := tagList(rec)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrSTS, err)
	}
	if tags["v"] != "STSv1" || !strings.HasPrefix(strings.TrimSpace(rec), "v=STSv1") {
		return "", fmt.Errorf("%w: record must start with v=STSv1", ErrSTS)
	}
	id := tags["id"]
	if id == "" || len(id) > 32 || strings.IndexFunc(id, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) >= 0 {
		return "", fmt.Errorf("%w: id %q must be 1 to 32 letters and digits", ErrSTS, id)
	}
	return id, nil
}

// stsRecords returns the TXT records at _mta-sts.<d> that start with
// v=STSv1 (RFC 8461 3.1: other records there are ignored).
func stsRecords(ctx context.Context, env *check.Env, d mailDomain) ([]string, check.Evidence, error) {
	txts, ev, err := dns.LookupTXT(ctx, env, "_mta-sts."+d.Name)
	if err != nil {
		return nil, ev, fmt.Errorf("mail: mta-sts: %w", err)
	}
	var recs []string
	for _, t := range txts {
		if strings.HasPrefix(strings.TrimSpace(t), "v=STSv1") {
			recs = append(recs, t)
		}
	}
	return recs, ev, nil
}

func runSTSMissing(ctx context.Context, env *check.Env, d mailDomain) ([]check.Result, error) {
	recs, ev, err := stsRecords(ctx, env, d)
	if err != nil || len(recs) > 0 {
		return nil, err
	}
	ev.Fields = map[string]string{"domain": d.Name, "mx": strings.Join(d.MX, " ")}
	return []check.Result{{
		Check: metaSTSMissing.ID, Severity: metaSTSMissing.Severity,
		Title:    fmt.Sprintf("%s receives mail but publishes no MTA-STS record at _mta-sts.%s", d.Name, d.Name),
		Evidence: ev,
	}}, nil
}

func runSTSInvalid(ctx context.Context, env *check.Env, d mailDomain) ([]check.Result, error) {
	recs, ev, err := stsRecords(ctx, env, d)
	if err != nil || len(recs) == 0 {
		return nil, err
	}
	bad := func(subject string, sev finding.Severity, title string, ev check.Evidence, kv ...string) []check.Result {
		ev.Fields = map[string]string{"domain": d.Name}
		for i := 0; i+1 < len(kv); i += 2 {
			ev.Fields[kv[i]] = kv[i+1]
		}
		return []check.Result{{Check: metaSTSInvalid.ID, Severity: sev, Subject: subject, Title: title, Evidence: ev}}
	}
	if len(recs) > 1 {
		return bad("record", finding.Medium, fmt.Sprintf("_mta-sts.%s has %d v=STSv1 records; senders ignore MTA-STS", d.Name, len(recs)), ev), nil
	}
	if _, err := parseSTSRecord(recs[0]); err != nil {
		return bad("record", finding.Medium, fmt.Sprintf("_mta-sts.%s record is invalid: %v", d.Name, err), ev, "error", err.Error()), nil
	}
	url := "https://mta-sts." + d.Name + "/.well-known/mta-sts.txt"
	body, pev, err := fetchPolicy(ctx, env, d.Name)
	pev.Request = ev.Request + "\nGET " + url
	if err != nil {
		if errors.Is(err, errFetch) {
			return bad("policy", finding.Medium, fmt.Sprintf("%s has an MTA-STS record but its policy cannot be fetched from %s: %v", d.Name, url, err), pev, "error", err.Error(), "url", url), nil
		}
		return nil, err
	}
	p, err := ParseSTSPolicy(body)
	if err != nil {
		return bad("policy", finding.Medium, fmt.Sprintf("MTA-STS policy of %s does not parse: %v", d.Name, err), pev, "error", err.Error(), "url", url), nil
	}
	var out []check.Result
	if p.Mode != "none" {
		var unmatched []string
		for _, mx := range d.MX {
			if !p.MatchesMX(mx) {
				unmatched = append(unmatched, mx)
			}
		}
		if len(unmatched) > 0 {
			mev := pev
			mev.Response = check.Cap(d.MXEv.Response + "\n\n" + pev.Response)
			out = append(out, bad("mx-mismatch", finding.Medium,
				fmt.Sprintf("MX hosts of %s not covered by its MTA-STS policy: %s", d.Name, strings.Join(unmatched, ", ")),
				mev, "unmatched_mx", strings.Join(unmatched, " "), "policy_mx", strings.Join(p.MX, " "), "mode", p.Mode)...)
		}
	}
	if p.Mode != "enforce" {
		out = append(out, bad("mode-"+p.Mode, finding.Info,
			fmt.Sprintf("MTA-STS policy of %s is in mode %s: senders do not refuse downgraded delivery", d.Name, p.Mode),
			pev, "mode", p.Mode, "url", url)...)
	}
	return out, nil
}

// errFetch marks a policy that could not be fetched as the RFC requires
// (bad certificate, redirect, status, type or size); it is a finding, not
// an unreachable target.
var errFetch = errors.New("policy fetch failed")

// fetchPolicy GETs the policy over HTTPS with a verified certificate for
// mta-sts.<domain>, no redirects, env's deadline and a 64 KiB cap.
func fetchPolicy(ctx context.Context, env *check.Env, domain string) (string, check.Evidence, error) {
	timeout := env.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	host := "mta-sts." + domain
	dial := env.Dial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	// Resolve through the scan's DNS and ask the scope before connecting:
	// the policy host is an address reached through a name.
	addrs, err := dns.LookupAddrs(ctx, env, host, 4)
	if err != nil {
		return "", check.Evidence{}, fmt.Errorf("mail: mta-sts: %w", err)
	}
	if len(addrs) == 0 {
		return "", check.Evidence{Response: host + ": no address"}, fmt.Errorf("%w: %s has no address", errFetch, host)
	}
	allow := options(env).AllowAddr
	var ip netip.Addr
	for _, a := range addrs {
		if allow == nil || allow(a) {
			ip = a
			break
		}
	}
	if !ip.IsValid() {
		return "", check.Evidence{}, fmt.Errorf("%w: %s (%v)", ErrRefused, host, addrs)
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dial(ctx, network, net.JoinHostPort(ip.String(), "443"))
		},
		TLSClientConfig:        &tls.Config{RootCAs: env.Roots, ServerName: host, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		DisableKeepAlives:      true,
		MaxResponseHeaderBytes: 16 << 10,
	}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: 2 * timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	ctx, cancel := context.WithTimeout(ctx, 2*timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+host+"/.well-known/mta-sts.txt", nil)
	if err != nil {
		return "", check.Evidence{}, fmt.Errorf("mail: mta-sts: %w", err)
	}
	if env.UserAgent != "" {
		req.Header.Set("User-Agent", env.UserAgent)
	}
	resp, err := cl.Do(req)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return "", check.Evidence{}, fmt.Errorf("mail: mta-sts: %w: %w", err, check.ErrUnreachable)
		}
		return "", check.Evidence{Response: err.Error()}, fmt.Errorf("%w: %v", errFetch, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxPolicy+1))
	ev := check.Evidence{Response: check.Cap(resp.Proto + " " + resp.Status + "\nContent-Type: " + resp.Header.Get("Content-Type") + "\n\n" + string(raw))}
	switch {
	case err != nil:
		return "", ev, fmt.Errorf("%w: reading body: %v", errFetch, err)
	case resp.StatusCode != http.StatusOK:
		return "", ev, fmt.Errorf("%w: HTTP status %s (redirects are not followed)", errFetch, resp.Status)
	case len(raw) > maxPolicy:
		return "", ev, fmt.Errorf("%w: policy larger than %d bytes", errFetch, maxPolicy)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "text/plain" {
		return "", ev, fmt.Errorf("%w: Content-Type %q, want text/plain", errFetch, resp.Header.Get("Content-Type"))
	}
	return string(raw), ev, nil
}

// ParseTLSRPT checks a TLS-RPT record (RFC 8460 3): v=TLSRPTv1 first and
// rua= with one or more mailto: or https: addresses.
func ParseTLSRPT(rec string) ([]string, error) {
	if !strings.HasPrefix(strings.TrimSpace(rec), "v=TLSRPTv1") {
		return nil, errors.New("mail: TLS-RPT record must start with v=TLSRPTv1")
	}
	tags, err := tagList(rec)
	if err != nil {
		return nil, err
	}
	if tags["v"] != "TLSRPTv1" {
		return nil, fmt.Errorf("mail: TLS-RPT version %q", tags["v"])
	}
	var rua []string
	for u := range strings.SplitSeq(tags["rua"], ",") {
		u = strings.TrimSpace(u)
		if u == "" {
			continue
		}
		l := strings.ToLower(u)
		if !strings.HasPrefix(l, "mailto:") && !strings.HasPrefix(l, "https://") {
			return nil, fmt.Errorf("mail: TLS-RPT rua %q is neither mailto: nor https:", u)
		}
		rua = append(rua, u)
	}
	if len(rua) == 0 {
		return nil, errors.New("mail: TLS-RPT record without rua")
	}
	return rua, nil
}

func runTLSRPTMissing(ctx context.Context, env *check.Env, d mailDomain) ([]check.Result, error) {
	name := "_smtp._tls." + d.Name
	txts, ev, err := dns.LookupTXT(ctx, env, name)
	if err != nil {
		return nil, fmt.Errorf("mail: tls-rpt: %w", err)
	}
	var recs []string
	for _, t := range txts {
		if strings.HasPrefix(strings.TrimSpace(t), "v=TLSRPTv1") {
			recs = append(recs, t)
		}
	}
	why := "no v=TLSRPTv1 record"
	if len(recs) > 1 {
		why = fmt.Sprintf("%d v=TLSRPTv1 records (must be one)", len(recs))
	} else if len(recs) == 1 {
		if _, err := ParseTLSRPT(recs[0]); err == nil {
			return nil, nil
		} else {
			why = err.Error()
		}
	}
	ev.Fields = map[string]string{"domain": d.Name, "reason": why}
	return []check.Result{{
		Check: metaTLSRPTMissing.ID, Severity: metaTLSRPTMissing.Severity,
		Title:    fmt.Sprintf("No usable TLS-RPT record at %s: %s", name, why),
		Evidence: ev,
	}}, nil
}
