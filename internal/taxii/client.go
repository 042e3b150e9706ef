package taxii

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client limits.
const (
	DefaultClientTimeout = 60 * time.Second
	DefaultMaxBody       = 64 << 20 // bytes of one response body
	maxPages             = 1 << 20  // pages of one poll; a server that never ends is a loop
)

// Client reads a TAXII 2.1 server. The zero value is not usable: set
// BaseURL. Credentials are a Token (sent as a Bearer token) or User and
// Password (HTTP Basic); neither is sent when both are empty.
type Client struct {
	// BaseURL is the discovery URL ("https://host/taxii2/"); a URL whose
	// path does not end in "/taxii2/" gets it appended.
	BaseURL        string
	Token          string
	User, Password string
	HTTP           *http.Client  // nil: a client without its own timeout (Timeout applies)
	Timeout        time.Duration // deadline of each request, body included; 0: DefaultClientTimeout
	MaxBody        int64         // cap on a response body; 0: DefaultMaxBody
	PageSize       int           // limit asked per page; 0: the server's default
	UserAgent      string        // "rampart-taxii/1" when empty
}

// ErrorKind says what went wrong with a request.
type ErrorKind string

const (
	KindTransport ErrorKind = "transport" // no answer: connection, TLS, timeout
	KindStatus    ErrorKind = "status"    // an HTTP error status
	KindMalformed ErrorKind = "malformed" // an answer that is not what TAXII 2.1 says
	KindTooLarge  ErrorKind = "too-large" // a body over MaxBody
	KindConfig    ErrorKind = "config"    // a URL or setting of ours that cannot work
	KindEmit      ErrorKind = "emit"      // the caller's emit func refused an object
)

// Error is every failure of a Client call.
type Error struct {
	Kind      ErrorKind
	URL       string // the request's URL, without credentials
	Status    int    // the HTTP status, for KindStatus
	Retryable bool   // whether the same request may succeed later
	Message   string // the server's TAXII error title and description, if any
	Err       error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("taxii: ")
	b.WriteString(e.URL)
	b.WriteString(": ")
	switch e.Kind {
	case KindStatus:
		b.WriteString("HTTP " + strconv.Itoa(e.Status))
		if e.Message != "" {
			b.WriteString(": " + e.Message)
		}
	default:
		b.WriteString(string(e.Kind))
		if e.Message != "" {
			b.WriteString(": " + e.Message)
		}
		if e.Err != nil {
			b.WriteString(": " + e.Err.Error())
		}
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether err is a *Error that a later retry, with
// backoff, may cure: no answer, a 5xx, 408 or 429, or a garbled answer
// (often a proxy's error page). Authentication, permission, a missing
// collection or a refused Accept header need a person.
func Retryable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Retryable
}

func retryableStatus(code int) bool {
	return code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout
}

func (c *Client) discoveryURL() (string, error) {
	u, err := url.Parse(c.BaseURL)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", &Error{Kind: KindConfig, URL: c.BaseURL, Message: "the base URL must be an http or https URL", Err: err}
	}
	if !strings.HasSuffix(u.Path, "/taxii2/") {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/taxii2/"
	}
	return u.String(), nil
}

// get fetches u and returns its body (at most MaxBody bytes).
func (c *Client) get(ctx context.Context, u string) ([]byte, http.Header, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultClientTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, &Error{Kind: KindConfig, URL: redact(u), Message: "bad request URL", Err: err}
	}
	req.Header.Set("Accept", MediaTAXII)
	ua := c.UserAgent
	if ua == "" {
		ua = "rampart-taxii/1"
	}
	req.Header.Set("User-Agent", ua)
	switch {
	case c.Token != "":
		req.Header.Set("Authorization", "Bearer "+c.Token)
	case c.User != "" || c.Password != "":
		req.SetBasicAuth(c.User, c.Password)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, &Error{Kind: KindTransport, URL: redact(u), Retryable: true, Err: err}
	}
	defer resp.Body.Close()
	limit := c.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, nil, &Error{Kind: KindTransport, URL: redact(u), Retryable: true, Err: fmt.Errorf("read body: %w", err)}
	}
	if int64(len(body)) > limit {
		return nil, nil, &Error{Kind: KindTooLarge, URL: redact(u), Message: "the answer is larger than " + strconv.FormatInt(limit, 10) + " bytes"}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, &Error{Kind: KindStatus, URL: redact(u), Status: resp.StatusCode,
			Retryable: retryableStatus(resp.StatusCode), Message: errorMessage(body)}
	}
	return body, resp.Header, nil
}

// errorMessage reads a TAXII error body, if it is one.
func errorMessage(body []byte) string {
	var m ErrorMessage
	if json.Unmarshal(body, &m) != nil || m.Title == "" {
		return ""
	}
	s := m.Title
	if m.Description != "" {
		s += ": " + m.Description
	}
	if len(s) > 300 {
		s = s[:300]
	}
	return strings.ToValidUTF8(s, "?")
}

// redact drops credentials from a URL for error messages.
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	p.User = nil
	return p.String()
}

func malformed(u string, err error) error {
	return &Error{Kind: KindMalformed, URL: redact(u), Retryable: true, Err: err}
}

// Discovery reads the server's discovery document.
func (c *Client) Discovery(ctx context.Context) (Discovery, error) {
	u, err := c.discoveryURL()
	if err != nil {
		return Discovery{}, err
	}
	body, _, err := c.get(ctx, u)
	if err != nil {
		return Discovery{}, err
	}
	d, err := ParseDiscovery(body)
	if err != nil {
		return Discovery{}, malformed(u, err)
	}
	return d, nil
}

// APIRoot reads the information of the API root at rootURL.
func (c *Client) APIRoot(ctx context.Context, rootURL string) (APIRoot, error) {
	u := dirURL(rootURL)
	body, _, err := c.get(ctx, u)
	if err != nil {
		return APIRoot{}, err
	}
	a, err := ParseAPIRoot(body)
	if err != nil {
		return APIRoot{}, malformed(u, err)
	}
	return a, nil
}

// Collections lists the collections of the API root at rootURL that the
// client may see.
func (c *Client) Collections(ctx context.Context, rootURL string) ([]Collection, error) {
	u := dirURL(rootURL) + "collections/"
	body, _, err := c.get(ctx, u)
	if err != nil {
		return nil, err
	}
	cs, err := ParseCollections(body)
	if err != nil {
		return nil, malformed(u, err)
	}
	return cs, nil
}

// CollectionURL is the URL of collection id under the API root rootURL.
func CollectionURL(rootURL, id string) string {
	return dirURL(rootURL) + "collections/" + url.PathEscape(id) + "/"
}

func dirURL(u string) string { return strings.TrimSuffix(u, "/") + "/" }

// Poll reads every object added to the collection at collectionURL after
// addedAfter (zero: all), calling emit once per object in server order,
// and returns the added_after to use on the next poll: the
// X-TAXII-Date-Added-Last of the last page fully emitted (addedAfter when
// the server sends none). It follows the more/next pagination and, for a
// server that says more but gives no next, added_after from the header.
//
// On an error the returned time is still valid: objects up to it were
// emitted, so a caller may save it and resume there.
func (c *Client) Poll(ctx context.Context, collectionURL string, addedAfter time.Time, emit func(json.RawMessage) error) (time.Time, error) {
	base := dirURL(collectionURL) + "objects/"
	if _, err := url.Parse(base); err != nil {
		return addedAfter, &Error{Kind: KindConfig, URL: redact(base), Message: "bad collection URL", Err: err}
	}
	resume := addedAfter // what the caller may save
	cursorAfter := addedAfter
	next := ""
	for range maxPages {
		if err := ctx.Err(); err != nil {
			return resume, &Error{Kind: KindTransport, URL: redact(base), Retryable: true, Err: err}
		}
		q := url.Values{}
		if !cursorAfter.IsZero() {
			q.Set("added_after", FormatTimestamp(cursorAfter))
		}
		if next != "" {
			q.Set("next", next)
		}
		if c.PageSize > 0 {
			q.Set("limit", strconv.Itoa(c.PageSize))
		}
		u := base
		if len(q) > 0 {
			u += "?" + q.Encode()
		}
		body, hdr, err := c.get(ctx, u)
		if err != nil {
			return resume, err
		}
		env, err := ParseEnvelope(body)
		if err != nil {
			return resume, malformed(u, err)
		}
		var last time.Time
		if h := hdr.Get("X-TAXII-Date-Added-Last"); h != "" {
			if last, err = ParseTimestamp(h); err != nil {
				return resume, malformed(u, fmt.Errorf("X-TAXII-Date-Added-Last %.40q: %w", h, err))
			}
		}
		for _, o := range env.Objects {
			if err := emit(o); err != nil {
				return resume, &Error{Kind: KindEmit, URL: redact(u), Err: err}
			}
		}
		if last.After(resume) {
			resume = last
		}
		if !env.More {
			return resume, nil
		}
		switch {
		case env.Next != "":
			if env.Next == next {
				return resume, malformed(u, errors.New("the server repeated its next token"))
			}
			next = env.Next
		case !last.IsZero() && last.After(cursorAfter):
			cursorAfter, next = last, ""
		default:
			return resume, malformed(u, errors.New("more is true but there is neither next nor a newer X-TAXII-Date-Added-Last"))
		}
	}
	return resume, malformed(base, fmt.Errorf("more than %d pages", maxPages))
}

// ParseDiscovery reads a discovery document.
func ParseDiscovery(body []byte) (Discovery, error) {
	var d Discovery
	if err := decodeObject(body, &d); err != nil {
		return Discovery{}, fmt.Errorf("taxii: discovery: %w", err)
	}
	if d.Title == "" {
		return Discovery{}, errors.New("taxii: discovery: no title")
	}
	return d, nil
}

// ParseAPIRoot reads an API root's information.
func ParseAPIRoot(body []byte) (APIRoot, error) {
	var a APIRoot
	if err := decodeObject(body, &a); err != nil {
		return APIRoot{}, fmt.Errorf("taxii: api root: %w", err)
	}
	if a.Title == "" || len(a.Versions) == 0 {
		return APIRoot{}, errors.New("taxii: api root: title or versions missing")
	}
	return a, nil
}

// ParseCollections reads the body of a collections request.
func ParseCollections(body []byte) ([]Collection, error) {
	var cs collections
	if err := decodeObject(body, &cs); err != nil {
		return nil, fmt.Errorf("taxii: collections: %w", err)
	}
	for i, c := range cs.Collections {
		if c.ID == "" {
			return nil, fmt.Errorf("taxii: collections: collection %d has no id", i)
		}
	}
	return cs.Collections, nil
}

// ParseEnvelope reads an envelope and checks that each object is a JSON
// object with a type and an id (STIX's minimum), so that a page is used
// whole or not at all.
func ParseEnvelope(body []byte) (Envelope, error) {
	var env Envelope
	if err := decodeObject(body, &env); err != nil {
		return Envelope{}, fmt.Errorf("taxii: envelope: %w", err)
	}
	for i, o := range env.Objects {
		var head struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		}
		if err := decodeObject(o, &head); err != nil {
			return Envelope{}, fmt.Errorf("taxii: envelope: object %d: %w", i, err)
		}
		if head.Type == "" || !strings.HasPrefix(head.ID, head.Type+"--") {
			return Envelope{}, fmt.Errorf("taxii: envelope: object %d: type %.40q and id %.80q do not agree", i, head.Type, head.ID)
		}
	}
	return env, nil
}

// ParseManifest reads a manifest.
func ParseManifest(body []byte) (Manifest, error) {
	var m Manifest
	if err := decodeObject(body, &m); err != nil {
		return Manifest{}, fmt.Errorf("taxii: manifest: %w", err)
	}
	for i, r := range m.Objects {
		if r.ID == "" {
			return Manifest{}, fmt.Errorf("taxii: manifest: record %d has no id", i)
		}
		if _, err := ParseTimestamp(r.DateAdded); err != nil {
			return Manifest{}, fmt.Errorf("taxii: manifest: record %d: date_added: %w", i, err)
		}
	}
	return m, nil
}

// decodeObject unmarshals a JSON object (not an array, string or null)
// into v.
func decodeObject(body []byte, v any) error {
	b := bytes.TrimLeft(body, " \t\r\n")
	if len(b) == 0 || b[0] != '{' {
		return errors.New("not a JSON object")
	}
	return json.Unmarshal(body, v)
}
