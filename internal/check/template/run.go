package template

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
)

var _ check.Check = (*Template)(nil)

// Meta describes the template as a check.
func (t *Template) Meta() check.Meta { return t.meta }

// Applies reports whether the service target matches the template's
// services, ports, products and TLS setting.
func (t *Template) Applies(tg check.Target) bool {
	if tg.Kind != check.TargetService {
		return false
	}
	a := t.AppliesTo
	if a.TLS != nil && *a.TLS != tg.TLS {
		return false
	}
	ok := false
	for _, s := range a.Services {
		if strings.EqualFold(s, tg.Service) {
			ok = true
		}
	}
	// A listed port is a hint for a service the fingerprint could not
	// name. When the template names its services and the port holds
	// another identified one (an HTTP server on 5432 is not PostgreSQL),
	// the port alone does not select it.
	portOK := len(a.Services) == 0 || unidentified(tg.Service)
	for _, p := range a.Ports {
		if p == tg.Addr.Port() && portOK {
			ok = true
		}
	}
	if !ok {
		return false
	}
	if len(a.Products) == 0 {
		return true
	}
	for _, p := range a.Products {
		if strings.EqualFold(p, tg.Product) {
			return true
		}
	}
	return false
}

// unidentified reports a service name that says nothing of the protocol.
func unidentified(service string) bool {
	switch strings.ToLower(service) {
	case "", "unknown", "tcpwrapped", "tcp":
		return true
	}
	return false
}

// reply is what one request got back.
type reply struct {
	status int
	header string // "Name: value" lines
	hdr    http.Header
	body   []byte
}

func (r reply) part(p string) string {
	switch p {
	case "header":
		return r.header
	case "all":
		return r.header + "\r\n" + string(r.body)
	}
	return string(r.body)
}

// Run sends the requests in order and reports one result for the first
// request whose matchers agree.
func (t *Template) Run(ctx context.Context, env *check.Env, tg check.Target) ([]check.Result, error) {
	reached := false
	var lastErr error
	for i := range t.Requests {
		req := &t.Requests[i]
		var rep reply
		var sent string
		var err error
		if req.Type == "tcp" {
			rep, sent, err = doTCP(ctx, env, tg, req)
		} else {
			rep, sent, err = doHTTP(ctx, env, tg, req)
		}
		if err != nil {
			lastErr = err
			continue
		}
		reached = true
		if !req.matches(rep) {
			continue
		}
		ev := check.Evidence{Request: sent, Response: check.Cap(excerpt(rep)), Fields: req.extract(rep)}
		title := t.Title.EN
		if len(ev.Fields) > 0 {
			keys := make([]string, 0, len(ev.Fields))
			for k := range ev.Fields {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var parts []string
			for _, k := range keys {
				parts = append(parts, k+"="+ev.Fields[k])
			}
			title += " (" + strings.Join(parts, ", ") + ")"
		}
		return []check.Result{{Check: t.ID, Severity: t.meta.Severity, Title: title, Evidence: ev, CVE: t.CVE, KEV: t.KEV}}, nil
	}
	if !reached && lastErr != nil {
		return nil, fmt.Errorf("%w: %s: %v", check.ErrUnreachable, tg.Addr, lastErr)
	}
	return nil, nil
}

func excerpt(r reply) string {
	s := r.header
	if len(r.body) > 0 {
		b := r.body
		if len(b) > 2048 {
			b = b[:2048]
		}
		s += "\r\n" + string(b)
	}
	return s
}

func timeout(env *check.Env) time.Duration {
	if env.Timeout > 0 {
		return env.Timeout
	}
	return 5 * time.Second
}

func dialer(env *check.Env) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if env.Dial != nil {
		return env.Dial
	}
	var d net.Dialer
	return d.DialContext
}

func doHTTP(ctx context.Context, env *check.Env, tg check.Target, r *Request) (reply, string, error) {
	scheme := "http"
	if tg.TLS {
		scheme = "https"
	}
	host := tg.Addr.String()
	tr := &http.Transport{DialContext: dialer(env), DisableKeepAlives: true,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: tg.Host}} //nolint:gosec // reads hostile servers
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: timeout(env), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var body io.Reader
	if r.Body != "" {
		body = strings.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, scheme+"://"+host+r.Path, body)
	if err != nil {
		// Paths with raw encodings (/.%2e/) that net/url rejects are sent
		// as they are through Opaque.
		req, err = http.NewRequestWithContext(ctx, r.Method, scheme+"://"+host+"/", body)
		if err != nil {
			return reply{}, "", err
		}
		req.URL.Opaque = r.Path
	} else if strings.Contains(r.Path, "%") {
		// Keep the encoding exactly as written; the query is part of the
		// opaque path, so it must not be appended a second time.
		req.URL.Opaque = r.Path
		req.URL.RawQuery = ""
		req.URL.ForceQuery = false
	}
	if tg.Host != "" {
		req.Host = tg.Host
	}
	if env.UserAgent != "" {
		req.Header.Set("User-Agent", env.UserAgent)
	}
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	res, err := cl.Do(req)
	if err != nil {
		return reply{}, "", err
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(res.Body, int64(r.Read)))
	var hb strings.Builder
	fmt.Fprintf(&hb, "%s %s\r\n", res.Proto, res.Status)
	keys := make([]string, 0, len(res.Header))
	for k := range res.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range res.Header[k] {
			fmt.Fprintf(&hb, "%s: %s\r\n", k, v)
		}
	}
	return reply{status: res.StatusCode, header: hb.String(), hdr: res.Header, body: data}, r.Method + " " + r.Path, nil
}

func doTCP(ctx context.Context, env *check.Env, tg check.Target, r *Request) (reply, string, error) {
	dctx, cancel := context.WithTimeout(ctx, timeout(env))
	defer cancel()
	c, err := dialer(env)(dctx, "tcp", tg.Addr.String())
	if err != nil {
		return reply{}, "", err
	}
	defer c.Close()
	if tg.TLS {
		tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true, ServerName: tg.Host}) //nolint:gosec // reads hostile servers
		c = tc
	}
	_ = c.SetDeadline(time.Now().Add(timeout(env)))
	if r.Send != "" {
		if _, err := io.WriteString(c, r.Send); err != nil {
			return reply{}, "", err
		}
	}
	buf := make([]byte, r.Read)
	n := 0
	for n < len(buf) {
		k, err := c.Read(buf[n:])
		n += k
		if err != nil {
			break
		}
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	}
	return reply{body: buf[:n]}, strconv.Quote(r.Send), nil
}

func (r *Request) matches(rep reply) bool {
	for i := range r.Matchers {
		ok := r.Matchers[i].match(rep)
		if r.MatchersCondition == "or" && ok {
			return true
		}
		if r.MatchersCondition == "and" && !ok {
			return false
		}
	}
	return r.MatchersCondition == "and"
}

func (m *Matcher) match(rep reply) bool {
	var ok bool
	switch m.Type {
	case "status":
		for _, s := range m.Status {
			if rep.status == s {
				ok = true
			}
		}
	case "word":
		text := rep.part(m.Part)
		if m.CaseInsensitive {
			text = strings.ToLower(text)
		}
		ok = m.any(len(m.Words), func(i int) bool {
			w := m.Words[i]
			if m.CaseInsensitive {
				w = strings.ToLower(w)
			}
			return strings.Contains(text, w)
		})
	case "regex":
		text := rep.part(m.Part)
		ok = m.any(len(m.res), func(i int) bool { return m.res[i].MatchString(text) })
	case "header":
		vals := rep.hdr.Values(m.Name)
		switch {
		case len(m.res) > 0:
			ok = m.any(len(m.res), func(i int) bool {
				for _, v := range vals {
					if m.res[i].MatchString(v) {
						return true
					}
				}
				return false
			})
		case m.Equals != "":
			for _, v := range vals {
				if v == m.Equals {
					ok = true
				}
			}
		default:
			ok = len(vals) > 0
		}
	case "json":
		v, found := JSONPath(rep.body, m.Name)
		switch {
		case !found:
		case len(m.res) > 0:
			ok = m.any(len(m.res), func(i int) bool { return m.res[i].MatchString(v) })
		case m.Equals != "":
			ok = v == m.Equals
		default:
			ok = true
		}
	}
	return ok != m.Negative
}

// any applies the matcher's condition over n tests.
func (m *Matcher) any(n int, test func(int) bool) bool {
	for i := 0; i < n; i++ {
		r := test(i)
		if m.Condition == "or" && r {
			return true
		}
		if m.Condition == "and" && !r {
			return false
		}
	}
	return m.Condition == "and"
}

func (r *Request) extract(rep reply) map[string]string {
	out := map[string]string{}
	for _, e := range r.Extractors {
		switch e.Type {
		case "regex":
			if m := e.re.FindStringSubmatch(rep.part(e.Part)); m != nil {
				out[e.Name] = check.Cap(m[e.Group])
			}
		case "json":
			if v, ok := JSONPath(rep.body, e.Path); ok {
				out[e.Name] = check.Cap(v)
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// JSONPath reads a dotted path ("version.number", "items.0.name") from a
// JSON document and renders the value as text.
func JSONPath(doc []byte, path string) (string, bool) {
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return "", false
	}
	for _, part := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[part]; !ok {
				return "", false
			}
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(x) {
				return "", false
			}
			v = x[i]
		default:
			return "", false
		}
	}
	switch x := v.(type) {
	case string:
		return x, true
	case nil:
		return "null", true
	default:
		b, _ := json.Marshal(x)
		return string(b), true
	}
}
