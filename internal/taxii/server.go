package taxii

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/rampart-cert/rampart/internal/auth"
)

// Limits of the server.
const (
	DefaultPageSize  = 1000     // objects per page when the client asks no limit
	MaxPageSize      = 10000    // the most a client may ask for
	maxRequestBody   = 64 << 10 // a read-only server reads no body; a cap still
	maxQueryLen      = 16 << 10 // bytes of raw query string
	maxMatchValues   = 200      // values of one match[] filter
	maxTokenLen      = 256
	defaultMaxLength = 10 << 20 // max_content_length advertised
)

// Server serves TAXII 2.1 discovery, one API root and its collections.
// Mount it at Prefix (default "/taxii2/"): http.Handle("/taxii2/", srv).
type Server struct {
	Backend      Backend       // required
	Authenticate Authenticator // required
	Title        string        // discovery title; "Rampart"
	Description  string
	Contact      string
	// BaseURL is the public URL of the server ("https://cert.example"),
	// used in discovery's absolute URLs; empty: the request's host.
	BaseURL string
	Prefix  string // "/taxii2/"
	Root    string // the API root's path segment, "api"
	// PageSize and MaxPage bound pages: the default and largest limit.
	PageSize, MaxPage int
	Logger            *slog.Logger // server errors; nil: slog.Default()
}

var _ http.Handler = (*Server)(nil)

func (s *Server) prefix() string {
	if s.Prefix == "" {
		return "/taxii2/"
	}
	return "/" + strings.Trim(s.Prefix, "/") + "/"
}

func (s *Server) root() string {
	if s.Root == "" {
		return "api"
	}
	return s.Root
}

// httpError is an error with its HTTP status and TAXII message.
type httpError struct {
	status int
	title  string
	desc   string
}

func (e *httpError) Error() string { return fmt.Sprintf("taxii: %d %s: %s", e.status, e.title, e.desc) }

func fail(status int, title, desc string) error { return &httpError{status, title, desc} }

// ServeHTTP routes a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
	if err := s.serve(w, r); err != nil {
		s.writeError(w, r, err)
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) error {
	if len(r.URL.RawQuery) > maxQueryLen {
		return fail(http.StatusRequestURITooLong, "Query too long", "the query string is longer than "+strconv.Itoa(maxQueryLen)+" bytes")
	}
	rest, ok := strings.CutPrefix(r.URL.Path, s.prefix())
	if !ok {
		if r.URL.Path+"/" != s.prefix() {
			return fail(http.StatusNotFound, "Not found", "no TAXII resource at this path")
		}
		rest = ""
	}
	var seg []string
	if rest = strings.Trim(rest, "/"); rest != "" {
		seg = strings.Split(rest, "/")
	}
	write := r.Method == http.MethodPost || r.Method == http.MethodDelete || r.Method == http.MethodPut
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !write {
		w.Header().Set("Allow", "GET, HEAD")
		return fail(http.StatusMethodNotAllowed, "Method not allowed", r.Method+" is not supported; this server is read-only")
	}
	p, err := s.authenticate(r)
	if err != nil {
		return err
	}
	if !p.Can(auth.PermReadFeeds) {
		return fail(http.StatusForbidden, "Forbidden", "this token may not read threat-intelligence feeds (feeds:read)")
	}
	objectish := len(seg) >= 4 && (seg[3] == "objects" || seg[3] == "manifest")
	media := negotiate(r.Header.Get("Accept"), objectish && seg[3] == "objects")
	if media == "" {
		return fail(http.StatusNotAcceptable, "Not acceptable", "this server answers "+MediaTAXII)
	}
	if write {
		if objectish {
			return fail(http.StatusForbidden, "Read-only collection", "collections of this server cannot be written (can_write is false)")
		}
		w.Header().Set("Allow", "GET, HEAD")
		return fail(http.StatusMethodNotAllowed, "Method not allowed", r.Method+" is not supported; this server is read-only")
	}
	ctx := r.Context()
	switch {
	case len(seg) == 0:
		return s.writeJSON(w, media, s.discovery(r))
	case seg[0] != s.root():
		return fail(http.StatusNotFound, "Not found", "no API root "+strconv.Quote(seg[0]))
	case len(seg) == 1:
		return s.writeJSON(w, media, APIRoot{
			Title: s.title() + " intelligence hub", Versions: []string{MediaTAXII}, MaxContentLength: defaultMaxLength,
		})
	case seg[1] == "status":
		return fail(http.StatusNotFound, "Not found", "this server accepts no writes, so it has no status resources")
	case seg[1] != "collections":
		return fail(http.StatusNotFound, "Not found", "no such resource under the API root")
	case len(seg) == 2:
		cs, err := s.Backend.Collections(ctx, p)
		if err != nil {
			return err
		}
		return s.writeJSON(w, media, collections{Collections: cs})
	}
	coll := seg[2]
	if len(seg) == 3 {
		c, err := s.collection(ctx, p, coll)
		if err != nil {
			return err
		}
		return s.writeJSON(w, media, c)
	}
	switch {
	case len(seg) == 4 && seg[3] == "objects":
		return s.objects(w, r, p, media, coll, "")
	case len(seg) == 4 && seg[3] == "manifest":
		return s.manifest(w, r, p, media, coll)
	case len(seg) == 5 && seg[3] == "objects":
		return s.objects(w, r, p, media, coll, seg[4])
	case len(seg) == 6 && seg[3] == "objects" && seg[5] == "versions":
		return s.versions(w, r, p, media, coll, seg[4])
	}
	return fail(http.StatusNotFound, "Not found", "no such resource in the collection")
}

func (s *Server) title() string {
	if s.Title == "" {
		return "Rampart"
	}
	return s.Title
}

// authenticate reads "Bearer <token>" or "Basic base64(user:token)".
func (s *Server) authenticate(r *http.Request) (auth.Principal, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return auth.Principal{}, fail(http.StatusUnauthorized, "Authentication required", "send an API token as Authorization: Bearer <token>, or as the password of HTTP Basic")
	}
	token, ok := auth.ParseBearer(h)
	if !ok {
		token, ok = basicPassword(h)
	}
	if !ok || len(token) > maxTokenLen || len(token) < 8 {
		return auth.Principal{}, fail(http.StatusUnauthorized, "Authentication required", "malformed Authorization header")
	}
	p, err := s.Authenticate(r.Context(), token)
	if errors.Is(err, ErrUnauthenticated) {
		return auth.Principal{}, fail(http.StatusUnauthorized, "Authentication failed", "unknown, expired or revoked token")
	}
	if err != nil {
		return auth.Principal{}, fmt.Errorf("taxii: authenticate: %w", err)
	}
	return p, nil
}

// basicPassword returns the password of an HTTP Basic credential; the
// user name is ignored (the token says who it is).
func basicPassword(h string) (string, bool) {
	scheme, cred, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "basic") || len(cred) > 4*maxTokenLen {
		return "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return "", false
	}
	_, pass, ok := strings.Cut(string(raw), ":")
	return pass, ok && pass != ""
}

func (s *Server) discovery(r *http.Request) Discovery {
	base := strings.TrimSuffix(s.BaseURL, "/")
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	root := base + s.prefix() + url.PathEscape(s.root()) + "/"
	desc := s.Description
	if desc == "" {
		desc = "Threat intelligence of the national constituency: national collections by TLP, and one collection per organization."
	}
	return Discovery{Title: s.title(), Description: desc, Contact: s.Contact, Default: root, APIRoots: []string{root}}
}

func (s *Server) collection(ctx context.Context, p auth.Principal, id string) (Collection, error) {
	cs, err := s.Backend.Collections(ctx, p)
	if err != nil {
		return Collection{}, err
	}
	for _, c := range cs {
		if c.ID == id || c.Alias != "" && c.Alias == id {
			return c, nil
		}
	}
	return Collection{}, ErrNotFound
}

// query reads the filters of an objects, manifest or versions request.
func (s *Server) query(r *http.Request) (Query, error) {
	v := r.URL.Query()
	var q Query
	bad := func(format string, a ...any) error {
		return fail(http.StatusBadRequest, "Bad request", fmt.Sprintf(format, a...))
	}
	if a := v.Get("added_after"); a != "" {
		t, err := ParseTimestamp(a)
		if err != nil {
			return q, bad("added_after %.40q is not a timestamp (2006-01-02T15:04:05.000000Z)", a)
		}
		q.AddedAfter = t
	}
	def, most := s.PageSize, s.MaxPage
	if def <= 0 {
		def = DefaultPageSize
	}
	if most <= 0 {
		most = MaxPageSize
	}
	q.Limit = min(def, most)
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return q, bad("limit %.20q is not a positive number", l)
		}
		q.Limit = min(n, most)
	}
	c, err := ParseCursor(v.Get("next"))
	if err != nil {
		return q, bad("next is not a token this server issued")
	}
	q.After = c
	list := func(name string) ([]string, error) {
		var out []string
		for _, raw := range v[name] {
			for item := range strings.SplitSeq(raw, ",") {
				if item = strings.TrimSpace(item); item != "" {
					out = append(out, item)
				}
			}
		}
		if len(out) > maxMatchValues {
			return nil, bad("%s has more than %d values", name, maxMatchValues)
		}
		return out, nil
	}
	if q.IDs, err = list("match[id]"); err != nil {
		return q, err
	}
	if q.Types, err = list("match[type]"); err != nil {
		return q, err
	}
	if q.SpecVersions, err = list("match[spec_version]"); err != nil {
		return q, err
	}
	vs, err := list("match[version]")
	if err != nil {
		return q, err
	}
	for _, x := range vs {
		switch x {
		case "first":
			q.Versions.First = true
		case "last":
			q.Versions.Last = true
		case "all":
			q.Versions.All = true
		default:
			t, err := ParseTimestamp(x)
			if err != nil {
				return q, bad("match[version] %.40q is not first, last, all or a timestamp", x)
			}
			q.Versions.At = append(q.Versions.At, t)
		}
	}
	return q, nil
}

func (s *Server) page(r *http.Request, p auth.Principal, coll, objectID string, noBodies bool) (Page, error) {
	q, err := s.query(r)
	if err != nil {
		return Page{}, err
	}
	if objectID != "" {
		q.IDs = []string{objectID}
	}
	q.NoBodies = noBodies
	pg, err := s.Backend.Objects(r.Context(), p, coll, q)
	if err != nil {
		return pg, err
	}
	if objectID != "" && len(pg.Objects) == 0 && q.After.IsZero() && q.AddedAfter.IsZero() {
		return pg, fail(http.StatusNotFound, "Not found", "no object "+strconv.Quote(objectID)+" in this collection")
	}
	return pg, nil
}

// setDateHeaders sets X-TAXII-Date-Added-First and -Last: the date added
// of the first and last object of the page.
func setDateHeaders(w http.ResponseWriter, pg Page) {
	if n := len(pg.Objects); n > 0 {
		w.Header().Set("X-TAXII-Date-Added-First", FormatTimestamp(pg.Objects[0].DateAdded))
		w.Header().Set("X-TAXII-Date-Added-Last", FormatTimestamp(pg.Objects[n-1].DateAdded))
	}
}

func (s *Server) objects(w http.ResponseWriter, r *http.Request, p auth.Principal, media, coll, objectID string) error {
	pg, err := s.page(r, p, coll, objectID, false)
	if err != nil {
		return err
	}
	setDateHeaders(w, pg)
	env := Envelope{More: pg.More, Objects: make([]json.RawMessage, len(pg.Objects))}
	if pg.More {
		env.Next = pg.Next.String()
	}
	for i, o := range pg.Objects {
		env.Objects[i] = o.Body
	}
	return s.writeJSON(w, media, env)
}

func (s *Server) manifest(w http.ResponseWriter, r *http.Request, p auth.Principal, media, coll string) error {
	pg, err := s.page(r, p, coll, "", true)
	if err != nil {
		return err
	}
	setDateHeaders(w, pg)
	m := Manifest{More: pg.More, Objects: make([]ManifestRecord, len(pg.Objects))}
	if pg.More {
		m.Next = pg.Next.String()
	}
	for i, o := range pg.Objects {
		m.Objects[i] = ManifestRecord{ID: o.ID, DateAdded: FormatTimestamp(o.DateAdded),
			Version: o.Version.UTC().Format(layoutMilli), MediaType: o.MediaType()}
	}
	return s.writeJSON(w, media, m)
}

func (s *Server) versions(w http.ResponseWriter, r *http.Request, p auth.Principal, media, coll, objectID string) error {
	// Every version, whatever match[version] says.
	r2 := r.Clone(r.Context())
	qv := r2.URL.Query()
	qv.Set("match[version]", "all")
	r2.URL.RawQuery = qv.Encode()
	pg, err := s.page(r2, p, coll, objectID, true)
	if err != nil {
		return err
	}
	setDateHeaders(w, pg)
	v := versions{More: pg.More, Versions: make([]string, len(pg.Objects))}
	if pg.More {
		v.Next = pg.Next.String()
	}
	for i, o := range pg.Objects {
		v.Versions[i] = o.Version.UTC().Format(layoutMilli)
	}
	return s.writeJSON(w, media, v)
}

func (s *Server) writeJSON(w http.ResponseWriter, media string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("taxii: encode response: %w", err)
	}
	w.Header().Set("Content-Type", media)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	return nil
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	switch {
	case errors.As(err, &he):
	case errors.Is(err, ErrNotFound):
		he = &httpError{http.StatusNotFound, "Not found", "no such collection, or it is not shared with you"}
	case errors.Is(err, ErrForbidden):
		he = &httpError{http.StatusForbidden, "Forbidden", "you may not read this collection"}
	case errors.Is(err, ErrBadRequest):
		he = &httpError{http.StatusBadRequest, "Bad request", strings.TrimPrefix(err.Error(), "taxii: ")}
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		he = &httpError{http.StatusServiceUnavailable, "Unavailable", "the request was cancelled or took too long"}
	default:
		log := s.Logger
		if log == nil {
			log = slog.Default()
		}
		log.Error("taxii request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		he = &httpError{http.StatusInternalServerError, "Server error", "the server could not answer; try again later"}
	}
	h := w.Header()
	h.Del("X-TAXII-Date-Added-First")
	h.Del("X-TAXII-Date-Added-Last")
	if he.status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="taxii", Basic realm="taxii"`)
	}
	h.Set("Content-Type", MediaTAXII)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(he.status)
	body, _ := json.Marshal(ErrorMessage{Title: he.title, Description: he.desc, HTTPStatus: strconv.Itoa(he.status)})
	_, _ = w.Write(body)
}
