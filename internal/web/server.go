package web

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/rampart-cert/rampart/internal/assess"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/decision"
	"github.com/rampart-cert/rampart/internal/discovery"
	"github.com/rampart-cert/rampart/internal/finding/catalog"
	"github.com/rampart-cert/rampart/internal/findings"
	"github.com/rampart-cert/rampart/internal/hub"
	"github.com/rampart-cert/rampart/internal/intelweb"
	"github.com/rampart-cert/rampart/internal/queue"
	"github.com/rampart-cert/rampart/internal/scope"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/transfer"
)

// Deps are what the console needs. Store and Dashboard are required; a nil
// Findings is made over Store without scanning, which hides "scan now"; a nil Queue the queue depth, a nil Catalog
// the remediation texts, a nil Assess the campaigns and questionnaires.
type Deps struct {
	Store     store.Store
	Dashboard store.Dashboard
	Guard     *scope.Guard
	Findings  *findings.Service
	// Imports bounds the imports running at once (shared with the API);
	// nil makes one that admits two.
	Imports *transfer.Gate
	// Claims registers assets within the claim limits and proves,
	// approves and rejects ownership claims; nil makes one over Store
	// (and Guard) with the strict limits and no automatic proofs.
	Claims  *scope.Claims
	Queue   queue.Queue
	Catalog *catalog.Catalog
	Assess  *assess.Service
	// Workers lists the scan workers heard from, for the scans page
	// (platform-wide roles); nil shows only the workers seen in jobs.
	Workers WorkerLister
	Logger  *slog.Logger
	Version string
	Now     func() time.Time
	// SecureCookies marks cookies Secure (set it when served over HTTPS).
	SecureCookies bool
	// SessionTTL is how long a console session lives; default 12 hours.
	SessionTTL time.Duration
	Throttle   *auth.Throttle
	// Hub is the threat-intelligence hub; nil makes one over Store that
	// records early warnings through Findings.
	Hub *hub.Hub
	// Blocklists holds the blocklists and their guard (shared with the
	// API, so a review decided here rebuilds the lists it serves); nil
	// makes one over Store.
	Blocklists *intelweb.Blocklists
	// Discovery proposes discovered assets to their owners, runs
	// discovery and sweeps; nil makes one over Store without sweeps.
	Discovery *discovery.Service
	// Decisions approves, rejects and lifts national decisions and adds
	// bouncers; nil makes one over Store when it keeps decisions.
	Decisions *decision.Service
}

// findingStore is the store with its Findings part.
type findingStore interface {
	store.Store
	store.Findings
}

// Server is the console. Create it with New.
type Server struct {
	Deps
	st      findingStore
	log     *slog.Logger
	mux     *http.ServeMux
	pages   *pages
	cat     *catalogs
	csrfKey []byte
}

// New builds the console: it parses the templates and catalogs and makes
// a fresh CSRF key (so sessions survive a restart but their form tokens
// do not: a form open across a restart must be reloaded).
func New(d Deps) (*Server, error) {
	if d.Store == nil || d.Dashboard == nil {
		return nil, errors.New("web: Store and Dashboard are required")
	}
	st, ok := d.Store.(findingStore)
	if !ok {
		return nil, fmt.Errorf("web: store %T does not keep findings", d.Store)
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.SessionTTL <= 0 {
		d.SessionTTL = 12 * time.Hour
	}
	if d.Throttle == nil {
		d.Throttle = auth.NewDefaultThrottle()
	}
	if d.Imports == nil {
		d.Imports = transfer.NewGate(2)
	}
	if d.Findings == nil {
		d.Findings = findings.New(findings.Deps{Store: d.Store, Scope: d.Guard, Now: d.Now, Logger: d.Logger})
	}
	if d.Claims == nil {
		g := d.Guard
		if g == nil {
			g = scope.New(d.Store, time.Minute, d.Logger) // refreshed by the claims service when it needs it
		}
		d.Claims = scope.NewClaims(scope.ClaimsDeps{Store: d.Store, Guard: g, Now: d.Now, Logger: d.Logger})
	}
	cat, err := loadCatalogs()
	if err != nil {
		return nil, err
	}
	pg, err := loadPages()
	if err != nil {
		return nil, err
	}
	s := &Server{Deps: d, st: st, log: d.Logger, mux: http.NewServeMux(), pages: pg, cat: cat, csrfKey: make([]byte, 32)}
	if _, err := rand.Read(s.csrfKey); err != nil {
		return nil, fmt.Errorf("web: csrf key: %w", err)
	}
	s.intelDefaults()
	s.discoveryDefaults()
	s.decisionDefaults()
	s.routes()
	return s, nil
}

// Handler serves the console. Mount it at "/" beside the API; it answers
// everything the API does not (/api/, /healthz, /readyz, /metrics,
// /scanner are the API's).
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /static/{file}", s.static)
	m.HandleFunc("GET /lang/{lang}", s.switchLang)
	m.Handle("GET /login", s.public(s.loginForm))
	m.Handle("POST /login", s.public(s.login))
	m.Handle("POST /logout", s.authed(s.logout))

	m.Handle("GET /{$}", s.authed(s.dashboard))
	m.Handle("GET /orgs/{id}", s.authed(s.orgPage))
	m.Handle("GET /findings", s.authed(s.findingsList))
	m.Handle("POST /findings/bulk", s.authed(s.findingsBulk))
	m.Handle("GET /findings/{id}", s.authed(s.findingPage))
	m.Handle("GET /assets", s.authed(s.assetsList))
	m.Handle("GET /assets/new", s.authed(s.assetNewForm))
	m.Handle("POST /assets/new", s.authed(s.assetCreate))
	m.Handle("POST /assets/import", s.authed(s.assetImport))
	m.Handle("GET /assets/{id}", s.authed(s.assetPage))
	m.Handle("GET /assets/{id}/edit", s.authed(s.assetEditForm))
	m.Handle("POST /assets/{id}/edit", s.authed(s.assetUpdate))
	m.Handle("GET /claims", s.authed(s.claimsPage))
	m.Handle("POST /assets/{id}/verify", s.authed(s.claimVerify))
	m.Handle("POST /assets/{id}/approve", s.authed(s.claimDecide(true)))
	m.Handle("POST /assets/{id}/reject", s.authed(s.claimDecide(false)))
	m.Handle("POST /assets/{id}/evidence", s.authed(s.claimEvidence))
	m.Handle("GET /scans", s.authed(s.scansPage))
	m.Handle("POST /scans/now", s.authed(s.scanNow))
	m.Handle("GET /account/totp", s.authed(s.totpForm))
	m.Handle("POST /account/totp", s.authed(s.totpConfirm))
	m.Handle("GET /admin/users", s.authed(s.usersPage))
	m.Handle("POST /admin/users", s.authed(s.userCreate))
	m.Handle("GET /admin/tokens", s.authed(s.tokensPage))
	m.Handle("POST /admin/tokens", s.authed(s.tokenCreate))
	m.Handle("POST /admin/tokens/{id}/revoke", s.authed(s.tokenRevoke))
	m.Handle("GET /admin/audit", s.authed(s.auditPage))
	m.Handle("GET /reports", s.authed(s.reportsPage))
	m.Handle("GET /reports/download", s.authed(s.reportDownload))
	m.Handle("GET /campaigns", s.authed(s.campaignsList))
	m.Handle("POST /campaigns", s.authed(s.campaignCreate))
	m.Handle("GET /campaigns/{id}", s.authed(s.campaignPage))
	m.Handle("POST /campaigns/{id}/remind", s.authed(s.campaignRemind))
	m.Handle("POST /campaigns/{id}/start", s.authed(s.campaignStart))
	m.Handle("GET /assessments/{id}", s.authed(s.assessmentPage))
	m.Handle("POST /assessments/{id}", s.authed(s.assessmentSave))
	m.Handle("POST /assessments/{id}/reopen", s.authed(s.assessmentReopen))
	m.Handle("POST /assessments/{id}/evidence", s.authed(s.evidenceUpload))
	m.Handle("GET /evidence/{id}", s.authed(s.evidenceDownload))
	m.Handle("POST /evidence/{id}/delete", s.authed(s.evidenceDelete))
	m.Handle("POST /orgs/{id}/self-assessment", s.authed(s.selfAssessment))
	m.Handle("GET /orgs/{id}/notifications", s.authed(s.notifyPage))
	m.Handle("POST /orgs/{id}/notifications", s.authed(s.notifyPrefsSave))
	m.Handle("GET /orgs/{id}/scan-profile", s.authed(s.scanProfilePage(false)))
	m.Handle("POST /orgs/{id}/scan-profile", s.authed(s.orgScanProfileSave))
	m.Handle("GET /assets/{id}/scan-profile", s.authed(s.scanProfilePage(true)))
	m.Handle("POST /assets/{id}/scan-profile", s.authed(s.assetScanProfileSave))
	m.Handle("POST /orgs/{id}/webhooks", s.authed(s.webhookCreate))
	m.Handle("POST /orgs/{id}/webhooks/{wid}/enabled", s.authed(s.webhookEnable))
	m.Handle("POST /orgs/{id}/webhooks/{wid}/delete", s.authed(s.webhookDelete))
	s.intelRoutes(m)
	s.discoveryRoutes(m)
	s.sensorRoutes(m)
	s.decisionRoutes(m)
	m.Handle("/", s.public(func(w http.ResponseWriter, r *http.Request, c *reqCtx) error { return errNotFound }))
}

// serve adds the security headers and recovery to every response.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if s.SecureCookies {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("web: panic", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			http.Error(w, http.StatusText(500), 500)
		}
	}()
	s.mux.ServeHTTP(w, r)
}

// handler is what every page and action looks like.
type handler func(w http.ResponseWriter, r *http.Request, c *reqCtx) error

// public wraps a handler that needs no session (but sees one if present).
func (s *Server) public(h handler) http.Handler { return s.wrap(h, false) }

// authed wraps a handler that needs a session; without one a GET is sent
// to the login page and anything else refused.
func (s *Server) authed(h handler) http.Handler { return s.wrap(h, true) }

func (s *Server) wrap(h handler, needSession bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := s.newCtx(w, r)
		if needSession && c.sess == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.renderError(w, r, c, errUnauthorized)
			return
		}
		if r.Method == http.MethodPost {
			if err := s.checkPost(w, r, c); err != nil {
				s.renderError(w, r, c, err)
				return
			}
		}
		if err := h(w, r, c); err != nil {
			s.renderError(w, r, c, err)
		}
	})
}

// pathID reads the {id} path value.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errNotFound
	}
	return id, nil
}
