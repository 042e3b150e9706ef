// Package proof checks the proofs a claimant publishes for an ownership
// claim (see asset.ProofFor): a TXT record "rampart-verify=<token>" at
// _rampart-verify.<name>, asked of the configured resolver, or a file at
// /.well-known/rampart-verify/<token> on the host, over HTTPS or HTTP.
//
// Everything read here is hostile: DNS answers and web responses are read
// with a deadline and a size cap, a redirect may not leave the host, and
// unless the deployment is internal the checker never connects to a
// private, loopback, link-local or other special-purpose address, so a
// claim cannot turn the platform into a probe of internal networks.
//
// It must not import the store or the queue: the claims service (package
// scope) records what it finds.
package proof

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/rampart-cert/rampart/internal/asset"
)

// Limits on what a proof check reads.
const (
	MaxBody      = 1024 // bytes of the well-known file read
	MaxTXT       = 64   // TXT records looked at
	maxRedirects = 3
	// DefaultTimeout bounds one whole check of one asset.
	DefaultTimeout = 10 * time.Second
)

// Errors.
var (
	ErrNoProof   = errors.New("proof: no proof found")
	ErrForbidden = errors.New("proof: address not allowed")
)

// Checker checks proofs. The zero value asks the system resolver, refuses
// special-purpose addresses and gives each check DefaultTimeout.
type Checker struct {
	// Resolver is the DNS server (ip:port) TXT records are asked of
	// (config scanner.resolver); empty: the system's resolver.
	Resolver string
	// Internal allows special-purpose addresses (config
	// internal_deployment): the platform then proves claims inside its
	// own network.
	Internal bool
	// Timeout bounds one Prove call; 0 means DefaultTimeout.
	Timeout time.Duration
}

// Prove looks for a's proofs, DNS first. It returns the method that proved
// it (asset.VerifiedByDNS or VerifiedByHTTP), or an error saying what each
// proof attempt found (wrapping ErrNoProof when nothing failed in an
// unexpected way).
func (c *Checker) Prove(ctx context.Context, a asset.Asset) (string, error) {
	if !asset.ValidToken(a.VerifyToken) {
		return "", fmt.Errorf("%w: the claim has no token", ErrNoProof)
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pr := asset.ProofFor(a)
	var why []string
	if pr.DNSName != "" {
		txt, err := c.TXT(ctx, pr.DNSName)
		switch {
		case err != nil:
			why = append(why, fmt.Sprintf("DNS %s: %v", pr.DNSName, err))
		case MatchTXT(txt, a.VerifyToken):
			return asset.VerifiedByDNS, nil
		default:
			why = append(why, fmt.Sprintf("DNS %s: no TXT record %q", pr.DNSName, pr.TXT))
		}
	}
	for _, u := range pr.URLs {
		body, err := c.Fetch(ctx, u)
		switch {
		case err != nil:
			why = append(why, fmt.Sprintf("%s: %v", u, err))
		case MatchBody(body, a.VerifyToken):
			return asset.VerifiedByHTTP, nil
		default:
			why = append(why, fmt.Sprintf("%s: the content is not the token", u))
		}
	}
	if len(why) == 0 {
		return "", fmt.Errorf("%w: a %s is approved, not proven", ErrNoProof, a.Kind)
	}
	return "", fmt.Errorf("%w: %s", ErrNoProof, strings.Join(why, "; "))
}

// MatchTXT reports whether one of the TXT strings is the proof of token.
// A record split into several strings arrives joined.
func MatchTXT(records []string, token string) bool {
	if !asset.ValidToken(token) {
		return false
	}
	want := asset.TXTPrefix + token
	for i, r := range records {
		if i >= MaxTXT {
			break
		}
		if strings.EqualFold(strings.TrimSpace(r), want) {
			return true
		}
	}
	return false
}

// MatchBody reports whether a well-known file's content proves token: the
// token, or "rampart-verify=<token>", alone apart from white space.
func MatchBody(b []byte, token string) bool {
	if !asset.ValidToken(token) || len(b) > MaxBody {
		return false
	}
	b = bytes.TrimSpace(b)
	return string(b) == token || strings.EqualFold(string(b), asset.TXTPrefix+token)
}

// TXT returns the TXT strings of name (each record's strings joined).
func (c *Checker) TXT(ctx context.Context, name string) ([]string, error) {
	if c.Resolver == "" {
		r := &net.Resolver{}
		return r.LookupTXT(ctx, name)
	}
	if !c.Internal {
		if err := c.allowed(c.Resolver); err != nil {
			return nil, err
		}
	}
	m := new(mdns.Msg)
	m.SetQuestion(mdns.Fqdn(name), mdns.TypeTXT)
	m.SetEdns0(4096, false)
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(DefaultTimeout)
	}
	cl := &mdns.Client{Net: "udp", UDPSize: 4096, Timeout: time.Until(deadline)}
	in, _, err := cl.ExchangeContext(ctx, m, c.Resolver)
	if err == nil && in.Truncated {
		cl.Net = "tcp"
		in, _, err = cl.ExchangeContext(ctx, m, c.Resolver)
	}
	if err != nil {
		return nil, fmt.Errorf("proof: ask %s: %w", c.Resolver, err)
	}
	return txtStrings(in)
}

// txtStrings extracts the TXT answers of a response.
func txtStrings(in *mdns.Msg) ([]string, error) {
	switch in.Rcode {
	case mdns.RcodeSuccess:
	case mdns.RcodeNameError:
		return nil, errors.New("proof: no such name")
	default:
		return nil, fmt.Errorf("proof: resolver answered %s", mdns.RcodeToString[in.Rcode])
	}
	var out []string
	for _, rr := range in.Answer {
		if t, ok := rr.(*mdns.TXT); ok && len(out) < MaxTXT {
			out = append(out, strings.Join(t.Txt, ""))
		}
	}
	return out, nil
}

// Fetch reads at most MaxBody bytes of the page at u, which must answer
// 200. Redirects may change the scheme or path, never the host.
func (c *Checker) Fetch(ctx context.Context, u string) ([]byte, error) {
	start, err := url.Parse(u)
	if err != nil {
		return nil, fmt.Errorf("proof: %w", err)
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: c.control}
	tr := &http.Transport{
		Proxy:                  nil, // the claimant's server, directly
		DialContext:            dialer.DialContext,
		TLSClientConfig:        &tls.Config{InsecureSkipVerify: true}, // the proof is the random token, not the certificate; plain HTTP proves as much
		TLSHandshakeTimeout:    5 * time.Second,
		ResponseHeaderTimeout:  5 * time.Second,
		MaxResponseHeaderBytes: 16 << 10,
		DisableKeepAlives:      true,
	}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return errors.New("proof: too many redirects")
		}
		if !strings.EqualFold(req.URL.Hostname(), start.Hostname()) {
			return fmt.Errorf("proof: redirect to another host (%s)", req.URL.Hostname())
		}
		return nil
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("proof: %w", err)
	}
	req.Header.Set("User-Agent", "Rampart ownership verification")
	resp, err := cl.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("proof: HTTP status %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		return nil, fmt.Errorf("proof: read: %w", err)
	}
	if len(b) > MaxBody {
		return nil, fmt.Errorf("proof: the file is larger than %d bytes", MaxBody)
	}
	return b, nil
}

// control refuses connections to special-purpose addresses, after name
// resolution, unless the deployment is internal.
func (c *Checker) control(_, address string, _ syscall.RawConn) error {
	if c.Internal {
		return nil
	}
	return c.allowed(address)
}

func (c *Checker) allowed(hostport string) error {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrForbidden, hostport)
	}
	ad, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrForbidden, hostport)
	}
	a := asset.Asset{Kind: asset.KindIPv4, Value: ad.Unmap().String()}
	if ad.Unmap().Is6() {
		a.Kind = asset.KindIPv6
	}
	if err := (asset.Limits{}).Check(a); err != nil {
		return fmt.Errorf("%w: %s is a special-purpose address", ErrForbidden, ad)
	}
	return nil
}
