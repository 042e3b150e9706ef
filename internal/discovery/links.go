package discovery

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/html"

	"github.com/rampart-cert/rampart/internal/discovery/ct"
)

// Limits of the web and TLS sources.
const (
	MaxPage     = 2 << 20          // bytes of a front page read
	MaxLinks    = 10_000           // links taken from one page
	PageTimeout = 10 * time.Second // one front page, redirects included
	TLSTimeout  = 5 * time.Second  // one TLS handshake
)

// linkAttrs are the attributes that hold URLs, by element.
var linkAttrs = map[string]string{
	"a": "href", "area": "href", "link": "href", "base": "href",
	"script": "src", "img": "src", "iframe": "src", "frame": "src", "source": "src", "embed": "src",
	"form": "action",
}

// ExtractHosts reads HTML and returns the host names of the absolute and
// protocol-relative links in it (href, src and action attributes),
// lower-case, each once, in document order. Relative links name the
// page's own host and are left out. At most MaxLinks links are looked at.
func ExtractHosts(r io.Reader) ([]string, error) {
	z := html.NewTokenizer(r)
	z.SetMaxBuf(MaxPage)
	var out []string
	seen := map[string]bool{}
	links := 0
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if errors.Is(z.Err(), io.EOF) {
				return out, nil
			}
			return out, fmt.Errorf("%w: links: %w", ErrSource, z.Err())
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			want, ok := linkAttrs[string(name)]
			for ok && hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				if string(k) != want {
					continue
				}
				links++
				if links > MaxLinks {
					return out, nil
				}
				if h := linkHost(string(v)); h != "" && !seen[h] {
					seen[h] = true
					out = append(out, h)
				}
			}
		}
	}
}

// linkHost returns the host name of an absolute http(s) or
// protocol-relative URL, or "".
func linkHost(v string) string {
	v = strings.TrimSpace(v)
	if len(v) > 2048 {
		return ""
	}
	lower := strings.ToLower(v)
	if !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") && !strings.HasPrefix(v, "//") {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil {
		return ""
	}
	return ct.CleanName(u.Hostname())
}

// FetchLinks fetches a page (following at most 3 redirects, within
// PageTimeout, reading at most MaxPage bytes) and returns the hosts it
// links to.
func FetchLinks(ctx context.Context, client *http.Client, page, userAgent string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, PageTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, page, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: links: %s: %w", ErrSource, page, err)
	}
	if userAgent != "" {
		req.Header.Set("User-Agent", userAgent)
	}
	c := *client
	c.CheckRedirect = func(_ *http.Request, via []*http.Request) error {
		if len(via) >= 3 {
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: links: %s: %w", ErrSource, page, err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "" && !strings.Contains(ct, "html") {
		return nil, nil
	}
	return ExtractHosts(io.LimitReader(resp.Body, MaxPage))
}

// NamesFromCertSummary returns the names of a certificate as a scan's
// observation keeps it (the fingerprint's tls.* facts without the "tls."
// prefix: "cert.sans" comma-separated, "cert.subject.cn").
func NamesFromCertSummary(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var m map[string]string
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	var out []string
	add := func(n string) {
		if n = ct.CleanName(n); n == "" {
			return
		}
		for _, o := range out {
			if o == n {
				return
			}
		}
		out = append(out, n)
	}
	add(m["cert.subject.cn"])
	for _, n := range strings.Split(m["cert.sans"], ",") {
		add(n)
	}
	return out
}

// PeerNames connects to addr ("ip:port"), completes a TLS handshake
// (sending serverName as SNI when set, not verifying the chain: the names
// are what matter) and returns the names of the certificate presented.
func PeerNames(ctx context.Context, dial func(ctx context.Context, network, addr string) (net.Conn, error), addr, serverName string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, TLSTimeout)
	defer cancel()
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	raw, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%w: certs: %s: %w", ErrSource, addr, err)
	}
	defer raw.Close()
	dl, _ := ctx.Deadline()
	_ = raw.SetDeadline(dl)
	c := tls.Client(raw, &tls.Config{ServerName: serverName, InsecureSkipVerify: true, MinVersion: tls.VersionTLS10}) // #nosec G402: reading names, not trusting
	if err := c.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("%w: certs: %s: %w", ErrSource, addr, err)
	}
	certs := c.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return nil, nil
	}
	return ct.Names(certs[0]), nil
}
