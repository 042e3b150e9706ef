// Package site fetches pages from one web target for the http and web
// check families.
//
// A Site is built per scanned target from check.Env: its own http.Client
// whose transport dials through env.Dial, never uses a proxy, keeps at most
// two connections alive, reads content over TLS without verifying the
// certificate (certificate problems are the tls family's business), and
// never follows a redirect unless the caller asks for same-origin hops.
// Every request has the env.Timeout deadline and a body cap. Responses are
// cached per Site, so the several checks that look at "GET /" share one
// request; a Cache hands out the Site for a (scan, target) pair.
//
// Path probes (/.git/HEAD, /admin/, backup.zip ...) are judged against a
// soft-404 baseline: a request for a random path of the same shape. A site
// that answers 200 with a pretty page for every unknown path would
// otherwise look like it exposes everything.
//
// The package imports the standard library and internal/check only.
package site

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
)

// ExtraKey is the check.Env.Extra key under which the engine may put a
// *Cache shared by every family of a scan; without it each family keeps
// its own Cache.
const ExtraKey = "http.site-cache"

// Sentinel errors.
var (
	// ErrNotWeb means the target is neither a URL nor an HTTP(S) service.
	ErrNotWeb = errors.New("site: not a web target")
	// ErrOffSite means a request would leave the target (another host).
	ErrOffSite = errors.New("site: request leaves the target")
)

// Defaults used when check.Env leaves a field zero.
const (
	DefaultTimeout   = 5 * time.Second
	DefaultMaxRead   = 1 << 20
	DefaultUserAgent = "Rampart"
	// ProbeLimit caps bodies of path probes: enough for a login form, a
	// directory listing or a .env file, not a whole download.
	ProbeLimit = 64 << 10
	// MagicLimit caps probes that only need a file's first bytes.
	MagicLimit = 1024
)

// GooglebotUA is the crawler identity used to detect cloaking; the
// scanner's own User-Agent is appended so the request stays identifiable.
const GooglebotUA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"

// webPorts are ports where a TLS service is taken for HTTPS even when
// fingerprinting did not name it.
var webPorts = map[uint16]bool{443: true, 8443: true, 9443: true, 4443: true, 10443: true, 8080: true, 80: true, 8000: true, 8008: true, 8888: true}

// IsWeb reports whether t is a web target: a URL with an http(s) scheme,
// an http/https service, or a TLS service on a web port.
func IsWeb(t check.Target) bool {
	switch t.Kind {
	case check.TargetURL:
		u, err := url.Parse(t.URL)
		return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
	case check.TargetService:
		if !t.Addr.IsValid() {
			return false
		}
		s := strings.ToLower(t.Service)
		if s == "http" || s == "https" || strings.HasPrefix(s, "http-") || strings.HasPrefix(s, "https-") || s == "ssl/http" {
			return true
		}
		return t.TLS && webPorts[t.Addr.Port()]
	}
	return false
}

// IsHTTPS reports whether t is a web target spoken to over TLS.
func IsHTTPS(t check.Target) bool {
	if !IsWeb(t) {
		return false
	}
	if t.Kind == check.TargetURL {
		u, _ := url.Parse(t.URL)
		return u.Scheme == "https"
	}
	s := strings.ToLower(t.Service)
	return t.TLS || strings.HasPrefix(s, "https") || s == "ssl/http"
}

// Cache hands out one Site per (scan, target). Sites unused for longer
// than the TTL are dropped and their idle connections closed. Safe for
// concurrent use.
type Cache struct {
	mu    sync.Mutex
	ttl   time.Duration
	sites map[cacheKey]*Site
}

type cacheKey struct {
	env    *check.Env
	target string
}

// NewCache returns an empty cache whose sites live for two idle minutes.
func NewCache() *Cache { return &Cache{ttl: 2 * time.Minute, sites: map[cacheKey]*Site{}} }

// FromEnv returns the scan-wide cache in env.Extra[ExtraKey] if there is
// one, else fallback.
func FromEnv(env *check.Env, fallback *Cache) *Cache {
	if env != nil {
		if c, ok := env.Extra[ExtraKey].(*Cache); ok && c != nil {
			return c
		}
	}
	return fallback
}

// Site returns the Site for t in the scan env, building it on first use.
func (c *Cache) Site(env *check.Env, t check.Target) (*Site, error) {
	key := cacheKey{env, fmt.Sprintf("%s|%s|%s|%s|%t|%s", t.Kind, t.Addr, t.Host, t.URL, t.TLS, t.Service)}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, s := range c.sites {
		if now.Sub(s.lastUsed) > c.ttl {
			s.Close()
			delete(c.sites, k)
		}
	}
	if s, ok := c.sites[key]; ok {
		s.lastUsed = now
		return s, nil
	}
	s, err := New(env, t)
	if err != nil {
		return nil, err
	}
	s.lastUsed = now
	c.sites[key] = s
	return s, nil
}

// Site is one web target being scanned.
type Site struct {
	env      *check.Env
	base     *url.URL // scheme://host[:port]; Path is the probe prefix, ending in "/"
	page     string   // path (and query) of the page the target names
	hostport string   // host:port the client dials for base
	dialAddr string   // when set, connections to hostport go here (service targets)
	client   *http.Client
	tr       *http.Transport
	timeout  time.Duration
	maxRead  int64
	ua       string
	lastUsed time.Time // guarded by Cache.mu

	mu      sync.Mutex
	entries map[string]*entry
}

type entry struct {
	once sync.Once
	resp *Response
	err  error
}

// New builds a Site for t with its own client.
func New(env *check.Env, t check.Target) (*Site, error) {
	if env == nil {
		env = &check.Env{}
	}
	if !IsWeb(t) {
		return nil, fmt.Errorf("%w: %s", ErrNotWeb, t)
	}
	s := &Site{env: env, entries: map[string]*entry{}}
	s.timeout = env.Timeout
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	s.maxRead = env.MaxRead
	if s.maxRead <= 0 {
		s.maxRead = DefaultMaxRead
	}
	s.ua = env.UserAgent
	if s.ua == "" {
		s.ua = DefaultUserAgent
	}
	switch t.Kind {
	case check.TargetURL:
		u, err := url.Parse(t.URL)
		if err != nil {
			return nil, fmt.Errorf("site: %s: %w", t.URL, err)
		}
		s.page = u.EscapedPath()
		if s.page == "" {
			s.page = "/"
		}
		if u.RawQuery != "" {
			s.page += "?" + u.RawQuery
		}
		dir := u.EscapedPath()
		if !strings.HasSuffix(dir, "/") {
			dir = path.Dir(dir)
			if !strings.HasSuffix(dir, "/") {
				dir += "/"
			}
		}
		s.base = &url.URL{Scheme: u.Scheme, Host: u.Host, Path: dir}
		s.hostport = hostPort(u.Scheme, u.Host)
	default:
		scheme := "http"
		if IsHTTPS(t) {
			scheme = "https"
		}
		host := t.Host
		if host == "" {
			host = t.Addr.Addr().Unmap().String()
		}
		hp := net.JoinHostPort(host, strconv.Itoa(int(t.Addr.Port())))
		if (scheme == "http" && t.Addr.Port() == 80) || (scheme == "https" && t.Addr.Port() == 443) {
			if strings.Contains(host, ":") {
				host = "[" + host + "]"
			}
			s.base = &url.URL{Scheme: scheme, Host: host, Path: "/"}
		} else {
			s.base = &url.URL{Scheme: scheme, Host: hp, Path: "/"}
		}
		s.page = "/"
		s.hostport = hp
		s.dialAddr = t.Addr.String()
	}
	dial := env.Dial
	if dial == nil {
		d := &net.Dialer{Timeout: s.timeout}
		dial = d.DialContext
	}
	s.tr = &http.Transport{
		Proxy: nil, // never: targets are reached directly, from this vantage point
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if s.dialAddr != "" && addr == s.hostport {
				addr = s.dialAddr
			}
			return dial(ctx, network, addr)
		},
		TLSClientConfig: &tls.Config{
			// Content is read whatever the certificate; the tls family
			// judges certificates.
			InsecureSkipVerify: true, //nolint:gosec // see above
			MinVersion:         tls.VersionTLS10,
			ServerName:         s.base.Hostname(),
		},
		TLSHandshakeTimeout:    s.timeout,
		ResponseHeaderTimeout:  s.timeout,
		MaxConnsPerHost:        2,
		MaxIdleConnsPerHost:    2,
		IdleConnTimeout:        15 * time.Second,
		DisableCompression:     true,
		MaxResponseHeaderBytes: 64 << 10,
	}
	s.client = &http.Client{
		Transport: s.tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return s, nil
}

func hostPort(scheme, host string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	h := strings.Trim(host, "[]")
	if scheme == "https" {
		return net.JoinHostPort(h, "443")
	}
	return net.JoinHostPort(h, "80")
}

// Close drops idle connections.
func (s *Site) Close() { s.tr.CloseIdleConnections() }

// Base returns scheme://host[:port] with the probe prefix as path.
func (s *Site) Base() url.URL { return *s.base }

// HTTPS reports whether the site is spoken to over TLS.
func (s *Site) HTTPS() bool { return s.base.Scheme == "https" }

// Hostname returns the site's host name or address.
func (s *Site) Hostname() string { return s.base.Hostname() }

// PagePath returns the path of the page the target names ("/" for a service).
func (s *Site) PagePath() string { return s.page }

// UserAgent returns the scanner's User-Agent.
func (s *Site) UserAgent() string { return s.ua }

// Request says what to fetch.
type Request struct {
	// URL is an absolute URL; when empty, Path is used.
	URL string
	// Path is relative to the probe prefix ("/.git/HEAD" under a URL
	// target https://x/app/ is https://x/app/.git/HEAD); "" is the page.
	Path string
	// UserAgent replaces the scanner's own when set.
	UserAgent string
	// Follow is how many same-origin redirects to follow.
	Follow int
	// Limit caps the body; 0 means env.MaxRead.
	Limit int64
}

// Response is what came back, with its body capped.
type Response struct {
	Method    string
	URL       string
	UserAgent string
	Proto     string
	Status    int
	Header    http.Header
	Body      []byte
	Truncated bool
	// Prev is the redirect that led here, when redirects were followed.
	Prev *Response
}

// Location returns the resolved redirect target, if any.
func (r *Response) Location() (*url.URL, bool) {
	if r.Status < 300 || r.Status > 399 {
		return nil, false
	}
	loc := r.Header.Get("Location")
	if loc == "" {
		return nil, false
	}
	base, err := url.Parse(r.URL)
	if err != nil {
		return nil, false
	}
	u, err := base.Parse(loc)
	if err != nil {
		return nil, false
	}
	return u, true
}

// Chain returns the responses from the first request to r.
func (r *Response) Chain() []*Response {
	var out []*Response
	for x := r; x != nil; x = x.Prev {
		out = append([]*Response{x}, out...)
	}
	return out
}

// Page fetches the page the target names, following same-origin redirects.
func (s *Site) Page(ctx context.Context) (*Response, error) {
	return s.Fetch(ctx, Request{Follow: 5})
}

// Reachable fetches the page once (cached) and reports an error wrapping
// check.ErrUnreachable when the target did not answer.
func (s *Site) Reachable(ctx context.Context) (*Response, error) {
	r, err := s.Page(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", check.ErrUnreachable, s.base.Host, err)
	}
	return r, nil
}

// Fetch performs req (cached per Site): a GET with the scanner's
// User-Agent, the env.Timeout deadline and a body cap.
func (s *Site) Fetch(ctx context.Context, req Request) (*Response, error) {
	target, err := s.resolve(req)
	if err != nil {
		return nil, err
	}
	ua := req.UserAgent
	if ua == "" {
		ua = s.ua
	}
	limit := req.Limit
	if limit <= 0 || limit > s.maxRead {
		limit = s.maxRead
	}
	key := fmt.Sprintf("%s\x00%s\x00%d\x00%d", target, ua, req.Follow, limit)
	s.mu.Lock()
	e, ok := s.entries[key]
	if !ok {
		e = &entry{}
		s.entries[key] = e
	}
	s.mu.Unlock()
	e.once.Do(func() { e.resp, e.err = s.fetchFollow(ctx, target, ua, req.Follow, limit) })
	s.forgetCanceled(ctx, key, e)
	return e.resp, e.err
}

// forgetCanceled drops a cached failure caused by the caller's own
// context ending, so another check with a live context asks again
// instead of taking the target for unreachable.
func (s *Site) forgetCanceled(ctx context.Context, key string, e *entry) {
	if e.err == nil || ctx.Err() == nil {
		return
	}
	s.mu.Lock()
	if s.entries[key] == e {
		delete(s.entries, key)
	}
	s.mu.Unlock()
}

func (s *Site) resolve(req Request) (*url.URL, error) {
	if req.URL != "" {
		u, err := url.Parse(req.URL)
		if err != nil {
			return nil, fmt.Errorf("site: %w", err)
		}
		if !strings.EqualFold(u.Hostname(), s.base.Hostname()) {
			return nil, fmt.Errorf("%w: %s", ErrOffSite, req.URL)
		}
		return u, nil
	}
	p := s.page
	if req.Path != "" {
		p = s.base.Path + strings.TrimLeft(req.Path, "/")
	}
	u, err := s.base.Parse(p)
	if err != nil {
		return nil, fmt.Errorf("site: %w", err)
	}
	if u.Host != s.base.Host || u.Scheme != s.base.Scheme {
		return nil, fmt.Errorf("%w: %s", ErrOffSite, p)
	}
	return u, nil
}

func (s *Site) fetchFollow(ctx context.Context, u *url.URL, ua string, follow int, limit int64) (*Response, error) {
	var prev *Response
	for hop := 0; ; hop++ {
		r, err := s.do(ctx, u, ua, limit)
		if err != nil {
			if prev != nil {
				return prev, nil // the redirect is what we know
			}
			return nil, err
		}
		r.Prev = prev
		next, ok := r.Location()
		if !ok || hop >= follow || !sameOrigin(u, next) || next.String() == u.String() {
			return r, nil
		}
		prev, u = r, next
	}
}

func sameOrigin(a, b *url.URL) bool {
	return a.Scheme == b.Scheme && strings.EqualFold(a.Hostname(), b.Hostname()) && a.Port() == b.Port()
}

func (s *Site) do(ctx context.Context, u *url.URL, ua string, limit int64) (*Response, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("site: %w", err)
	}
	req.Header.Set("User-Agent", ua)
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("site: GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil && len(body) == 0 && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("site: GET %s: body: %w", u, err)
	}
	r := &Response{
		Method: http.MethodGet, URL: u.String(), UserAgent: ua, Proto: resp.Proto,
		Status: resp.StatusCode, Header: resp.Header, Body: body,
	}
	if int64(len(body)) > limit {
		r.Body, r.Truncated = body[:limit], true
	}
	return r, nil
}

// RandomPath returns a path that no site should serve, with the shape
// (trailing slash or extension) of like.
func RandomPath(like string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := "rampart-" + hex.EncodeToString(b[:])
	dir, file := path.Split(like)
	if file == "" { // "/admin/" shape
		return strings.TrimSuffix(path.Dir(strings.TrimSuffix(dir, "/")), "/") + "/" + name + "/"
	}
	ext := shapeExt(file)
	return dir + name + ext
}

func shapeExt(file string) string {
	for _, e := range []string{".tar.gz", ".sql.gz", ".tar.bz2"} {
		if strings.HasSuffix(strings.ToLower(file), e) {
			return e
		}
	}
	return path.Ext(file)
}

func shapeKey(p string) string {
	dir, file := path.Split(p)
	if file == "" {
		return "dir:" + path.Dir(strings.TrimSuffix(dir, "/"))
	}
	return "file:" + dir + shapeExt(file)
}

// NotFound returns the site's answer to a random path shaped like p,
// fetched with the same follow and limit as the probe it is compared to.
func (s *Site) NotFound(ctx context.Context, p string, follow int, limit int64) (*Response, error) {
	key := fmt.Sprintf("404\x00%s\x00%d\x00%d", shapeKey(p), follow, limit)
	s.mu.Lock()
	e, ok := s.entries[key]
	if !ok {
		e = &entry{}
		s.entries[key] = e
	}
	s.mu.Unlock()
	e.once.Do(func() {
		u, err := s.resolve(Request{Path: RandomPath(p)})
		if err != nil {
			e.err = err
			return
		}
		e.resp, e.err = s.fetchFollow(ctx, u, s.ua, follow, limit)
	})
	s.forgetCanceled(ctx, key, e)
	return e.resp, e.err
}

// Probe fetches p (relative to the prefix) and reports whether the answer
// is distinguishable from the site's soft-404 answer. A probe whose
// request failed returns the error; callers skip it.
func (s *Site) Probe(ctx context.Context, p string, follow int, limit int64) (*Response, bool, error) {
	r, err := s.Fetch(ctx, Request{Path: p, Follow: follow, Limit: limit})
	if err != nil {
		return nil, false, err
	}
	nf, err := s.NotFound(ctx, p, follow, limit)
	if err != nil || nf == nil {
		return r, true, nil
	}
	return r, !SameAnswer(r, nf), nil
}

// SameAnswer reports whether two answers look like the same page: the
// same status, the same redirect target or realm, the same title and a
// body length within 10% (or 64 bytes). It is how a probe is compared to
// the soft-404 baseline.
func SameAnswer(a, b *Response) bool {
	if a.Status != b.Status {
		return false
	}
	switch {
	case a.Status >= 300 && a.Status < 400:
		la, oka := a.Location()
		lb, okb := b.Location()
		if oka != okb {
			return false
		}
		return !oka || la.Path == lb.Path
	case a.Status == http.StatusUnauthorized:
		return a.Header.Get("WWW-Authenticate") == b.Header.Get("WWW-Authenticate")
	}
	if !strings.EqualFold(Title(a.Body), Title(b.Body)) {
		return false
	}
	la, lb := len(a.Body), len(b.Body)
	d := la - lb
	if d < 0 {
		d = -d
	}
	m := max(la, lb)
	return d <= 64 || d*10 <= m
}

// Title returns the trimmed text of the first <title> in body.
func Title(body []byte) string {
	lower := strings.ToLower(string(body[:min(len(body), 256<<10)]))
	i := strings.Index(lower, "<title")
	if i < 0 {
		return ""
	}
	j := strings.IndexByte(lower[i:], '>')
	if j < 0 {
		return ""
	}
	start := i + j + 1
	end := strings.Index(lower[start:], "</title")
	if end < 0 {
		end = min(len(lower)-start, 512)
	}
	return strings.Join(strings.Fields(string(body[start:start+end])), " ")
}

// IsHTML reports whether r looks like an HTML page.
func (r *Response) IsHTML() bool {
	ct := strings.ToLower(r.Header.Get("Content-Type"))
	if strings.Contains(ct, "html") {
		return true
	}
	head := strings.ToLower(strings.TrimSpace(string(r.Body[:min(len(r.Body), 512)])))
	return strings.HasPrefix(head, "<!doctype html") || strings.HasPrefix(head, "<html") ||
		strings.Contains(head, "<head") || strings.Contains(head, "<body")
}

// RequestLine returns "GET url" with the User-Agent, for evidence.
func (r *Response) RequestLine() string {
	return r.Method + " " + r.URL + "\nUser-Agent: " + r.UserAgent
}

// Evidence renders the request, the status line, the named response
// headers (all of them when none are named) and up to excerpt bytes of
// the body, capped to check.MaxEvidence.
func (r *Response) Evidence(excerpt int, headers ...string) check.Evidence {
	var b strings.Builder
	for _, x := range r.Chain() {
		if x != r {
			fmt.Fprintf(&b, "%s %d → %s\n", x.URL, x.Status, x.Header.Get("Location"))
		}
	}
	fmt.Fprintf(&b, "%s %d %s\n", r.Proto, r.Status, http.StatusText(r.Status))
	if len(headers) == 0 {
		for _, k := range sortedKeys(r.Header) {
			for _, v := range r.Header[k] {
				fmt.Fprintf(&b, "%s: %s\n", k, v)
			}
		}
	} else {
		for _, h := range headers {
			for _, v := range r.Header.Values(h) {
				fmt.Fprintf(&b, "%s: %s\n", http.CanonicalHeaderKey(h), v)
			}
		}
	}
	if excerpt > 0 && len(r.Body) > 0 {
		body := r.Body[:min(len(r.Body), excerpt)]
		b.WriteString("\n")
		b.WriteString(strings.ToValidUTF8(string(body), "�"))
		if len(body) < len(r.Body) || r.Truncated {
			b.WriteString("…")
		}
	}
	return check.Evidence{Request: r.RequestLine(), Response: check.Cap(b.String())}
}

func sortedKeys(h http.Header) []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}
