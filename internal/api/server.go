// Package api serves Rampart's JSON REST API under /api/v1, with bearer
// token authentication, stable error codes, keyset pagination, and an
// OpenAPI 3.1 document generated from the same route table that registers
// the handlers, so the two cannot drift apart. It also serves /healthz,
// /readyz and /metrics.
//
// Handlers never filter by tenant themselves: they pass the caller's
// auth.Principal to the store, which enforces the tenancy rules.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rampart-cert/rampart/internal/assess"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/decision"
	"github.com/rampart-cert/rampart/internal/discovery"
	"github.com/rampart-cert/rampart/internal/finding/catalog"
	"github.com/rampart-cert/rampart/internal/findings"
	"github.com/rampart-cert/rampart/internal/hub"
	"github.com/rampart-cert/rampart/internal/intelweb"
	"github.com/rampart-cert/rampart/internal/scope"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/transfer"
)

// Limits on request bodies.
const (
	maxJSONBody   = 1 << 20
	maxImportBody = transfer.MaxFileOnline
)

// Pinger is anything /readyz asks (the queue, for one).
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps are what the API needs. Store, Guard and Logger are required.
type Deps struct {
	Store    store.Store
	Guard    *scope.Guard
	Queue    Pinger // optional
	Throttle *auth.Throttle
	Logger   *slog.Logger
	Registry *prometheus.Registry // optional; one is made if nil
	Version  string
	Now      func() time.Time
	// SessionTTL is how long a token from /api/v1/auth/login lives.
	SessionTTL time.Duration
	// Imports bounds the imports running at once (shared with the
	// console); nil makes one that admits two.
	Imports *transfer.Gate
	// Findings is the findings service: transitions, verification and
	// scan requests, imports. Nil makes one over Store without scanning.
	Findings *findings.Service
	// Claims registers assets within the claim limits and proves,
	// approves and rejects ownership claims. Nil makes one over Store and
	// Guard with the strict limits and no automatic proofs.
	Claims *scope.Claims
	// Assess runs assessment campaigns and questionnaires; nil disables them.
	Assess *assess.Service
	// Workers lists the scan workers heard from (GET /api/v1/workers);
	// nil lists none.
	Workers WorkerLister
	// Catalog names and describes finding kinds in exports and reports
	// (optional).
	Catalog *catalog.Catalog
	// ScannerInfo fills the public /scanner page.
	ScannerInfo ScannerInfo
	// TrustProxy takes the client address from X-Forwarded-For (only
	// behind a reverse proxy that sets it).
	TrustProxy bool
	// MetricsPublic serves /metrics without a token (config
	// metrics_public); otherwise it needs a token whose principal holds
	// auth.PermReadMetrics (platform admins, analysts).
	MetricsPublic bool
	// Hub is the threat-intelligence hub (push API, indicators, feeds,
	// reviews, consumers); nil makes one over Store that records early
	// warnings through Findings and reads imports in place.
	Hub *hub.Hub
	// Blocklists serves /blocklists/; nil makes one over Store with the
	// default guard.
	Blocklists *intelweb.Blocklists
	// Discovery proposes discovered assets to their owners, runs
	// discovery and sweeps (with the scan scheduler); nil makes one over
	// Store and Guard without sweeps.
	Discovery *discovery.Service
	// Decisions approves, rejects and lifts national decisions and adds
	// bouncers; nil makes one over Store (when it keeps decisions) with
	// the default correlation options. It also serves /v1/decisions (the
	// CrowdSec bouncer endpoints) and /decisions/{format}.
	Decisions *decision.Service
	// PublicURL is the platform's public base URL ("https://cert.example"),
	// for TAXII discovery and links in exports; empty: the request's host.
	PublicURL string
}

// Server is the API. Create it with New.
type Server struct {
	Deps
	log      *slog.Logger
	routes   []route
	mux      *http.ServeMux
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// handlerFunc is what every route handler looks like: the principal is
// already authenticated (the zero principal on public routes); a returned
// error becomes the JSON error body.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p auth.Principal) error

// route is one entry of the route table: the mux and the OpenAPI document
// are both generated from it.
type route struct {
	method  string
	path    string // ServeMux pattern path, e.g. /api/v1/orgs/{id}
	op      string // OpenAPI operationId
	tag     string
	summary string
	public  bool // no authentication
	query   []param
	body    any    // a value of the request body type, or nil
	bodyCT  string // request content type when not JSON
	resp    any    // a value of the response body type, or nil
	respCT  string // response content type when not JSON
	status  int    // success status
	h       handlerFunc
}

type param struct {
	name, typ, desc string
}

// New builds the server and its routes.
func New(d Deps) *Server {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Throttle == nil {
		d.Throttle = auth.NewDefaultThrottle()
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	if d.SessionTTL == 0 {
		d.SessionTTL = 12 * time.Hour
	}
	if d.Imports == nil {
		d.Imports = transfer.NewGate(2)
	}
	if d.Findings == nil {
		d.Findings = findings.New(findings.Deps{Store: d.Store, Scope: d.Guard, Now: d.Now, Logger: d.Logger})
	}
	if d.Claims == nil && d.Guard != nil {
		d.Claims = scope.NewClaims(scope.ClaimsDeps{Store: d.Store, Guard: d.Guard, Now: d.Now, Logger: d.Logger})
	}
	s := &Server{Deps: d, log: d.Logger, mux: http.NewServeMux()}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rampart_http_requests_total", Help: "HTTP requests by route, method and status code.",
	}, []string{"route", "method", "code"})
	s.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "rampart_http_request_duration_seconds", Help: "HTTP request latency by route.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
	}, []string{"route"})
	d.Registry.MustRegister(s.requests, s.duration)
	if d.Guard != nil {
		d.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "rampart_scope_index_entries", Help: "Assets in the in-memory scope index.",
		}, func() float64 { n, _, _ := d.Guard.Stats(); return float64(n) }))
	}
	s.routes = append(append(append(s.table(), s.intelRoutes()...), s.discoveryRoutes()...), s.decisionRoutes()...)
	s.routes = append(s.routes, s.dnsRoutes()...)
	s.intelDefaults()
	s.discoveryDefaults()
	s.decisionDefaults()
	for _, rt := range s.routes {
		s.mux.Handle(rt.method+" "+rt.path, s.wrap(rt))
	}
	s.mux.HandleFunc("GET /scanner", s.scanner)
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", s.metrics(promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{Registry: d.Registry})))
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, errf(CodeNotFound, "no such API route: "+r.Method+" "+r.URL.Path))
	})
	return s
}

// metrics guards the Prometheus handler: request counts by route and
// status (401 and 429 rates on login), the scope index size and process
// data are for operators, not for anyone who can reach the port.
func (s *Server) metrics(h http.Handler) http.Handler {
	if s.MetricsPublic {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if !p.Can(auth.PermReadMetrics) {
			s.fail(w, r, errf(CodeForbidden, "/metrics needs a token with "+string(auth.PermReadMetrics)+" (a platform admin or analyst)"))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Handler returns the HTTP handler serving the API, health and metrics.
func (s *Server) Handler() http.Handler { return s.mux }

// wrap adds recovery, metrics, authentication and error rendering.
func (s *Server) wrap(rt route) http.Handler {
	label := rt.method + " " + rt.path
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: 200}
		defer func() {
			if v := recover(); v != nil {
				s.log.Error("api: panic", "route", label, "panic", v, "stack", string(debug.Stack()))
				if !sw.wrote {
					s.fail(sw, r, fmt.Errorf("panic: %v", v))
				}
			}
			s.requests.WithLabelValues(rt.path, rt.method, strconv.Itoa(sw.status)).Inc()
			s.duration.WithLabelValues(rt.path).Observe(time.Since(start).Seconds())
		}()
		var p auth.Principal
		if !rt.public {
			var err error
			if p, err = s.authenticate(r); err != nil {
				s.fail(sw, r, err)
				return
			}
		}
		if err := rt.h(sw, r, p); err != nil {
			s.fail(sw, r, err)
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// authenticate resolves the bearer token to a principal.
func (s *Server) authenticate(r *http.Request) (auth.Principal, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return auth.Principal{}, errf(CodeUnauthorized, "missing bearer token (Authorization: Bearer rpt_...)")
	}
	secret, ok := auth.ParseBearer(h)
	// Tokens we mint look like rpt_...; RAMPART_ADMIN_TOKEN may be any
	// long secret, so only the length is checked before the lookup.
	if !ok || len(secret) < 20 || len(secret) > 256 {
		return auth.Principal{}, errf(CodeUnauthorized, "malformed bearer token")
	}
	t, err := s.Store.TokenForAuth(r.Context(), auth.HashToken(secret))
	if errors.Is(err, auth.ErrTokenExpired) {
		return auth.Principal{}, errf(CodeUnauthorized, "token expired")
	}
	if errors.Is(err, store.ErrNotFound) {
		return auth.Principal{}, errf(CodeUnauthorized, "unknown or revoked token")
	}
	if err != nil {
		return auth.Principal{}, err
	}
	p, err := s.Store.PrincipalForToken(r.Context(), t)
	if errors.Is(err, store.ErrNotFound) {
		return auth.Principal{}, errf(CodeUnauthorized, "token owner no longer exists")
	}
	return p, err
}

func (s *Server) clientIP(r *http.Request) string {
	if s.TrustProxy {
		if f := r.Header.Get("X-Forwarded-For"); f != "" {
			return strings.TrimSpace(strings.Split(f, ",")[0])
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// decode reads a JSON body strictly: unknown fields are an error.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := mime.ParseMediaType(ct)
		if mt != "application/json" {
			return errf(CodeUnsupportedType, "request body must be application/json, not "+mt)
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		if errors.Is(err, io.EOF) {
			return errf(CodeBadRequest, "request body is empty")
		}
		return errf(CodeBadRequest, "bad JSON body: "+strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return errf(CodeBadRequest, "bad JSON body: more than one value")
	}
	return nil
}

// pathID reads the {id} path value.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errf(CodeBadRequest, "id must be a positive integer")
	}
	return id, nil
}

// queryInt reads an optional integer query parameter.
func queryInt(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, errf(CodeBadRequest, name+" must be a non-negative integer")
	}
	return n, nil
}

func queryBool(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, errf(CodeBadRequest, name+" must be true or false")
	}
	return b, nil
}

// pageRequest reads limit and after.
func pageRequest(r *http.Request) (store.PageRequest, error) {
	n, err := queryInt(r, "limit")
	if err != nil {
		return store.PageRequest{}, err
	}
	if n > store.MaxLimit {
		return store.PageRequest{}, errf(CodeBadRequest, "limit must be at most "+strconv.Itoa(store.MaxLimit))
	}
	return store.PageRequest{Limit: int(n), After: r.URL.Query().Get("after")}, nil
}

var pageParams = []param{
	{"limit", "integer", "items per page (default 100, at most 1000)"},
	{"after", "string", "the `next` cursor of the previous page"},
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, map[string]string{"status": "ok", "version": s.Version})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{}
	ok := true
	report := func(name string, err error) {
		if err != nil {
			checks[name] = err.Error()
			ok = false
		} else {
			checks[name] = "ok"
		}
	}
	report("store", s.Store.Ping(ctx))
	if s.Queue != nil {
		report("queue", s.Queue.Ping(ctx))
	}
	if s.Guard != nil {
		_, _, built := s.Guard.Stats()
		if built.IsZero() {
			report("scope", scope.ErrNotReady)
		} else {
			report("scope", nil)
		}
	}
	status := 200
	if !ok {
		status = 503
	}
	writeJSON(w, status, map[string]any{"ready": ok, "checks": checks})
}

// RouteKeys lists "METHOD /path" of every API route, for tests and tools.
func (s *Server) RouteKeys() []string {
	out := make([]string, len(s.routes))
	for i, rt := range s.routes {
		out[i] = rt.method + " " + rt.path
	}
	return out
}

// getByID answers a request about one object: the {id} path value, looked
// up by get, written as JSON.
func getByID[T any](w http.ResponseWriter, r *http.Request, get func(ctx context.Context, id int64) (T, error)) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	v, err := get(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, 200, v)
	return nil
}
