package dns

import (
	"context"
	"crypto/tls"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"sync"

	mdns "github.com/miekg/dns"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/finding"
)

//go:embed data/takeover.json
var takeoverJSON []byte

// maxTakeoverBody caps the page read from a name behind a provider CNAME.
const maxTakeoverBody = 256 << 10

// TakeoverProvider is one entry of the takeover table: where a provider's
// resources live and how an unclaimed one shows.
type TakeoverProvider struct {
	Provider string `json:"provider"`
	// Suffixes are DNS suffixes of the provider's resource names
	// ("github.io" matches "org.github.io").
	Suffixes []string `json:"suffixes"`
	// Patterns are regular expressions on the lower-case target name
	// without the final dot, for names a suffix cannot describe.
	Patterns []string `json:"patterns,omitempty"`
	// NXDomain: a target that does not exist can be created by anyone.
	NXDomain bool `json:"nxdomain,omitempty"`
	// Fingerprints: text the provider serves for the name when no
	// customer resource claims it.
	Fingerprints []string `json:"fingerprints,omitempty"`

	res []*regexp.Regexp
}

// compile checks p and compiles its patterns.
func (p TakeoverProvider) compile() (TakeoverProvider, error) {
	if p.Provider == "" || len(p.Suffixes)+len(p.Patterns) == 0 || (!p.NXDomain && len(p.Fingerprints) == 0) {
		return p, fmt.Errorf("dns: takeover provider %q needs a name, suffixes or patterns, and nxdomain or fingerprints", p.Provider)
	}
	p.res = nil
	for _, s := range p.Patterns {
		re, err := regexp.Compile(s)
		if err != nil {
			return p, fmt.Errorf("dns: takeover provider %q: %w", p.Provider, err)
		}
		p.res = append(p.res, re)
	}
	return p, nil
}

// matches reports whether target (lower case, no final dot) is one of p's
// resource names.
func (p *TakeoverProvider) matches(target string) bool {
	for _, s := range p.Suffixes {
		s = strings.ToLower(strings.Trim(s, "."))
		if strings.HasSuffix(target, "."+s) {
			return true
		}
	}
	for _, re := range p.res {
		if re.MatchString(target) {
			return true
		}
	}
	return false
}

// shippedTakeover parses the embedded table once; it is never changed.
var shippedTakeover = sync.OnceValues(func() ([]TakeoverProvider, error) {
	var ps []TakeoverProvider
	if err := json.Unmarshal(takeoverJSON, &ps); err != nil {
		return nil, fmt.Errorf("dns: takeover table: %w", err)
	}
	for i := range ps {
		p, err := ps[i].compile()
		if err != nil {
			return nil, err
		}
		ps[i] = p
	}
	return ps, nil
})

// takeoverTable is the shipped table plus Options.TakeoverProviders.
func takeoverTable(env *check.Env) ([]TakeoverProvider, error) {
	ps, err := shippedTakeover()
	if err != nil {
		return nil, err
	}
	extra := options(env).TakeoverProviders
	if len(extra) == 0 {
		return ps, nil
	}
	out := append([]TakeoverProvider(nil), ps...)
	for _, p := range extra {
		p, err := p.compile()
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// cnameEnd follows name's CNAME chain through the resolver: the names
// after name, the answers, and the final A answer (nil when name is no
// alias). A loop or an over-long chain gives no chain.
func (c *client) cnameEnd(ctx context.Context, name string) ([]string, []*answer, *answer, error) {
	first, err := c.lookup(ctx, name, mdns.TypeCNAME, false)
	if err != nil || first.NXDomain() {
		return nil, nil, nil, err
	}
	cn, _ := follow(first.Msg.Answer, name, mdns.TypeCNAME)
	if len(cn) == 0 {
		return nil, nil, nil, nil
	}
	cur := strings.ToLower(cn[0].(*mdns.CNAME).Target)
	chain := []string{cur}
	answers := []*answer{first}
	seen := map[string]bool{name: true}
	for range maxCNAMEHops {
		if seen[cur] {
			return nil, nil, nil, nil
		}
		seen[cur] = true
		a, err := c.lookup(ctx, cur, mdns.TypeA, false)
		if err != nil {
			return nil, nil, nil, err
		}
		answers = append(answers, a)
		addrs, last := follow(a.Msg.Answer, cur, mdns.TypeA)
		last = strings.ToLower(last)
		if last != cur {
			for _, step := range cnameSteps(a.Msg.Answer, cur, last) {
				if step != last { // last is asked about next
					seen[step] = true
				}
				chain = append(chain, step)
			}
		}
		if len(addrs) > 0 || a.NXDomain() || last == cur {
			return chain, answers, a, nil
		}
		cur = last
	}
	return nil, nil, nil, nil
}

func runSubdomainTakeover(ctx context.Context, c *client, env *check.Env, name string) ([]check.Result, error) {
	table, err := takeoverTable(env)
	if err != nil {
		return nil, err
	}
	chain, answers, final, err := c.cnameEnd(ctx, name)
	if err != nil || final == nil {
		return nil, err
	}
	var prov *TakeoverProvider
	target := ""
	for _, n := range chain {
		t := shortName(n)
		for i := range table {
			if table[i].matches(t) {
				prov, target = &table[i], t
				break
			}
		}
		if prov != nil {
			break
		}
	}
	if prov == nil {
		return nil, nil
	}
	names := []string{shortName(name)}
	for _, n := range chain {
		names = append(names, shortName(n))
	}
	result := func(why string, ev check.Evidence, kv ...string) []check.Result {
		dev := evidenceOf(answers...)
		ev.Request = strings.TrimSpace(dev.Request + "\n" + ev.Request)
		ev.Response = check.Cap(strings.TrimSpace(dev.Response + "\n\n" + ev.Response))
		ev = withFields(ev, append([]string{"hostname", shortName(name), "provider", prov.Provider, "target", target,
			"chain", strings.Join(names, " -> ")}, kv...)...)
		return []check.Result{{
			Check: metaSubdomainTakeover.ID, Severity: finding.Critical, Subject: target,
			Title:    fmt.Sprintf("%s points to %s on %s, %s: anyone can claim it and serve content under the name", shortName(name), target, prov.Provider, why),
			Evidence: ev,
		}}
	}
	if final.NXDomain() {
		if prov.NXDomain {
			return result("which does not exist (NXDOMAIN)", check.Evidence{}, "signal", "nxdomain"), nil
		}
		return nil, nil // dns.dangling-cname reports it
	}
	if len(prov.Fingerprints) == 0 {
		return nil, nil
	}
	addrs, _ := follow(final.Msg.Answer, mdns.Fqdn(chain[len(chain)-1]), mdns.TypeA)
	if len(addrs) == 0 {
		return nil, nil
	}
	// The page's address is reached through a name: the scope decides.
	allow := options(env).AllowAddr
	var ip netip.Addr
	var refused []string
	for _, rr := range addrs {
		a := rrAddr(rr)
		if !a.IsValid() {
			continue
		}
		if allow == nil || allow(a) {
			ip = a
			break
		}
		refused = append(refused, a.String())
	}
	if !ip.IsValid() {
		if len(refused) > 0 {
			return nil, fmt.Errorf("dns: takeover: %s (%s) not in scope, page not fetched: %w", shortName(name), strings.Join(refused, ", "), check.ErrUnreachable)
		}
		return nil, nil
	}
	for _, scheme := range []string{"http", "https"} {
		body, status, err := fetchPage(ctx, c, env, scheme, shortName(name), ip)
		if err != nil {
			continue // a closed port or a broken handshake: try the other scheme
		}
		for _, fp := range prov.Fingerprints {
			i := strings.Index(body, fp)
			if i < 0 {
				continue
			}
			lo, hi := max(0, i-200), min(len(body), i+len(fp)+200)
			ev := check.Evidence{
				Request:  fmt.Sprintf("GET %s://%s/ (address %s)", scheme, shortName(name), ip),
				Response: status + "\n\n…" + body[lo:hi] + "…",
			}
			return result("which serves the provider's page for an unclaimed resource", ev, "signal", "fingerprint", "fingerprint", fp, "url", scheme+"://"+shortName(name)+"/"), nil
		}
	}
	return nil, nil
}

// fetchPage GETs / of host at ip, without following redirects and without
// verifying the certificate (an unclaimed resource is served with the
// provider's certificate), with the env's deadline and a 256 KiB cap.
func fetchPage(ctx context.Context, c *client, env *check.Env, scheme, host string, ip netip.Addr) (string, string, error) {
	port := "80"
	if scheme == "https" {
		port = "443"
	}
	addr := net.JoinHostPort(ip.String(), port)
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return c.dial(ctx, network, addr)
		},
		TLSClientConfig:        &tls.Config{ServerName: host, InsecureSkipVerify: true}, //nolint:gosec // reading a page, not trusting it
		TLSHandshakeTimeout:    c.timeout,
		ResponseHeaderTimeout:  c.timeout,
		DisableKeepAlives:      true,
		MaxResponseHeaderBytes: 32 << 10,
	}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, 2*c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+host+"/", nil)
	if err != nil {
		return "", "", fmt.Errorf("dns: takeover: %w", err)
	}
	if env.UserAgent != "" {
		req.Header.Set("User-Agent", env.UserAgent)
	}
	cl := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Do(req)
	if err != nil {
		return "", "", fmt.Errorf("dns: takeover: %w", err)
	}
	defer resp.Body.Close()
	limit := int64(maxTakeoverBody)
	if c.maxRead < limit {
		limit = c.maxRead
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil && len(raw) == 0 {
		return "", "", fmt.Errorf("dns: takeover: reading %s: %w", req.URL, err)
	}
	return string(raw), resp.Proto + " " + resp.Status, nil
}

var metaSubdomainTakeover = check.Meta{
	ID: "dns.subdomain-takeover", Family: Family, Severity: finding.Critical,
	Title: check.Text{
		EN: "Subdomain can be taken over (unclaimed cloud resource)",
		VI: "Tên miền con có thể bị chiếm quyền (tài nguyên đám mây chưa được sở hữu)",
	},
	Description: check.Text{
		EN: "The host name is a CNAME to a cloud or SaaS provider (S3, GitHub Pages, Heroku, Azure, Shopify, Fastly, Pantheon, Zendesk, Netlify, ...) and the resource it names is unclaimed: either the target name does not exist at a provider where anyone can create it, or the provider serves its \"no such bucket/app/site\" page for the name. Anyone with an account at the provider can claim the resource and serve pages, scripts and cookies under the organization's name: phishing, session theft, defacement, and valid certificates issued for the name.",
		VI: "Tên máy là CNAME tới một nhà cung cấp đám mây hoặc SaaS (S3, GitHub Pages, Heroku, Azure, Shopify, Fastly, Pantheon, Zendesk, Netlify, ...) và tài nguyên được trỏ tới chưa có ai sở hữu: hoặc tên đích không tồn tại ở nhà cung cấp cho phép bất kỳ ai tạo tên đó, hoặc nhà cung cấp trả về trang \"không có bucket/ứng dụng/trang\" cho tên này. Bất kỳ ai có tài khoản tại nhà cung cấp đều có thể nhận tài nguyên và phát trang, mã script, cookie dưới danh nghĩa tổ chức: lừa đảo, đánh cắp phiên, thay đổi giao diện, và xin được chứng chỉ hợp lệ cho tên miền.",
	},
	Remediation: check.Text{
		EN: "Remove the CNAME record now, or claim the resource again under the organization's account (create the bucket, app or site with that name and bind the custom domain). Delete DNS records before deprovisioning cloud resources, and review CNAMEs to providers whenever a project ends.",
		VI: "Xoá ngay bản ghi CNAME, hoặc nhận lại tài nguyên dưới tài khoản của tổ chức (tạo bucket, ứng dụng hoặc trang mang tên đó và gắn tên miền riêng). Xoá bản ghi DNS trước khi huỷ tài nguyên đám mây, và rà soát các CNAME tới nhà cung cấp mỗi khi dự án kết thúc.",
	},
	References: []string{"CWE-350", "https://github.com/EdOverflow/can-i-take-over-xyz", "https://owasp.org/www-project-web-security-testing-guide/latest/4-Web_Application_Security_Testing/02-Configuration_and_Deployment_Management_Testing/10-Test_for_Subdomain_Takeover"},
}
