package site

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
)

// Send performs one uncached request with method (GET, TRACE, OPTIONS
// ...) and the extra request headers, for checks that must vary what
// they send (an Origin header, a TRACE echo marker). p is relative to the
// probe prefix like Request.Path ("" is the page). It never follows a
// redirect, has the env.Timeout deadline and reads at most limit bytes
// (0 means env.MaxRead). The response's Method is method; RequestText
// renders the request with its headers for evidence.
func (s *Site) Send(ctx context.Context, method, p string, header http.Header, limit int64) (*Response, error) {
	u, err := s.resolve(Request{Path: p})
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > s.maxRead {
		limit = s.maxRead
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("site: %w", err)
	}
	req.Header.Set("User-Agent", s.ua)
	req.Header.Set("Accept", "*/*")
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("site: %s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil && len(body) == 0 && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("site: %s %s: body: %w", method, u, err)
	}
	r := &Response{
		Method: method, URL: u.String(), UserAgent: s.ua, Proto: resp.Proto,
		Status: resp.StatusCode, Header: resp.Header, Body: body,
	}
	if int64(len(body)) > limit {
		r.Body, r.Truncated = body[:limit], true
	}
	return r, nil
}

// RequestText renders "METHOD url", the User-Agent and the given request
// headers (sorted), for the evidence of a request made with Send.
func RequestText(r *Response, header http.Header) string {
	var b strings.Builder
	b.WriteString(r.RequestLine())
	keys := make([]string, 0, len(header))
	for k := range header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range header[k] {
			fmt.Fprintf(&b, "\n%s: %s", http.CanonicalHeaderKey(k), v)
		}
	}
	return b.String()
}
