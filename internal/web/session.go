package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
)

// Cookies.
const (
	sessionCookie = "rampart_session" // the session token's secret
	preCookie     = "rampart_pre"     // binds the login form's CSRF token before a session exists
	langCookie    = "rampart_lang"
	sessionName   = "web-session" // the name of console session tokens
	csrfField     = "csrf"
)

// session is a logged-in user's console session.
type session struct {
	p       auth.Principal
	tokenID int64
	hash    string // of the cookie's secret, as stored
}

// reqCtx is what a handler knows about its request.
type reqCtx struct {
	lang *Lang
	sess *session
	pre  string // value of preCookie, for the login form
	now  time.Time
}

// p is the acting principal (the zero principal when anonymous).
func (c *reqCtx) p() auth.Principal {
	if c.sess == nil {
		return auth.Principal{}
	}
	return c.sess.p
}

func (s *Server) newCtx(w http.ResponseWriter, r *http.Request) *reqCtx {
	c := &reqCtx{now: s.Now()}
	c.lang = s.cat.get(s.langOf(w, r))
	if ck, err := r.Cookie(sessionCookie); err == nil && ck.Value != "" {
		c.sess = s.loadSession(r, ck.Value)
	}
	if ck, err := r.Cookie(preCookie); err == nil && len(ck.Value) >= 16 && len(ck.Value) <= 64 {
		c.pre = ck.Value
	}
	return c
}

// langOf picks the language: ?lang= (remembered in a cookie), the cookie,
// else Vietnamese.
func (s *Server) langOf(w http.ResponseWriter, r *http.Request) string {
	if l := r.URL.Query().Get("lang"); s.cat.has(l) {
		s.setLangCookie(w, l)
		return l
	}
	if ck, err := r.Cookie(langCookie); err == nil && s.cat.has(ck.Value) {
		return ck.Value
	}
	return defaultLang
}

func (s *Server) setLangCookie(w http.ResponseWriter, l string) {
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, Secure: s.SecureCookies, SameSite: http.SameSiteLaxMode})
}

// loadSession resolves a session cookie; nil when it is unknown, revoked,
// expired or not a console session.
func (s *Server) loadSession(r *http.Request, secret string) *session {
	if len(secret) < 20 || len(secret) > 256 {
		return nil
	}
	hash := auth.HashToken(secret)
	t, err := s.st.TokenForAuth(r.Context(), hash)
	if err != nil || t.Name != sessionName || t.UserID == 0 {
		return nil
	}
	p, err := s.st.PrincipalForToken(r.Context(), t)
	if err != nil {
		return nil
	}
	return &session{p: p, tokenID: t.ID, hash: hash}
}

func (s *Server) setSessionCookie(w http.ResponseWriter, secret string, exp time.Time) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: secret, Path: "/", Expires: exp,
		HttpOnly: true, Secure: s.SecureCookies, SameSite: http.SameSiteLaxMode})
}

func (s *Server) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.SecureCookies, SameSite: http.SameSiteLaxMode})
}

// ensurePre makes sure an anonymous visitor has the pre-session cookie the
// login form's CSRF token is bound to.
func (s *Server) ensurePre(w http.ResponseWriter, c *reqCtx) {
	if c.pre != "" {
		return
	}
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	c.pre = base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: preCookie, Value: c.pre, Path: "/", MaxAge: 3600,
		HttpOnly: true, Secure: s.SecureCookies, SameSite: http.SameSiteLaxMode})
}

// csrfToken is the form token of the request's session (or, before login,
// of its pre-session cookie): an HMAC under the server's key, so it cannot
// be forged without the key and is worthless for another session.
func (s *Server) csrfToken(c *reqCtx) string {
	var bind string
	switch {
	case c.sess != nil:
		bind = "session\x00" + c.sess.hash
	case c.pre != "":
		bind = "pre\x00" + c.pre
	default:
		return ""
	}
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte(bind))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Limits on request bodies.
const (
	maxForm   = 1 << 20
	maxUpload = 32 << 20
)

var errCSRF = &uiError{status: http.StatusForbidden, key: "error.csrf"}

// checkPost refuses cross-origin posts and posts without the right CSRF
// token, and parses the form.
func (s *Server) checkPost(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if !sameOrigin(r) {
		return errCSRF
	}
	limit := int64(maxForm)
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		limit = maxUpload
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if err := r.ParseMultipartForm(8 << 20); err != nil {
			return &uiError{status: http.StatusBadRequest, key: "error.badform", cause: err}
		}
	} else {
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if err := r.ParseForm(); err != nil {
			return &uiError{status: http.StatusBadRequest, key: "error.badform", cause: err}
		}
	}
	want := s.csrfToken(c)
	got := r.PostFormValue(csrfField)
	if want == "" || !hmac.Equal([]byte(got), []byte(want)) {
		return errCSRF
	}
	return nil
}

// sameOrigin reports whether a POST comes from the console itself: its
// Origin (or, without one, its Referer) names this host. A request with
// neither passes this test and still needs the CSRF token.
func sameOrigin(r *http.Request) bool {
	src := r.Header.Get("Origin")
	if src == "" || src == "null" {
		if src == "null" {
			return false
		}
		src = r.Header.Get("Referer")
		if src == "" {
			return true
		}
	}
	u, err := url.Parse(src)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

// localPath returns next when it is a path on this site, else "/": the
// login page never redirects elsewhere.
func localPath(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	if u, err := url.Parse(next); err != nil || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	return next
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// uiError is an error shown to the user: a catalog key for the message,
// the HTTP status, and the cause for the log (and, for invalid input, the
// detail shown beside the message).
type uiError struct {
	status int
	key    string
	cause  error
	detail bool // show the cause's text (input validation messages)
}

func (e *uiError) Error() string {
	if e.cause != nil {
		return "web: " + e.key + ": " + e.cause.Error()
	}
	return "web: " + e.key
}

func (e *uiError) Unwrap() error { return e.cause }

var (
	errNotFound     = &uiError{status: http.StatusNotFound, key: "error.notfound"}
	errUnauthorized = &uiError{status: http.StatusUnauthorized, key: "error.unauthorized"}
	errForbidden    = &uiError{status: http.StatusForbidden, key: "error.forbidden"}
)

// asUIError maps store and domain errors onto what the user is told.
func asUIError(err error) *uiError {
	var ue *uiError
	if errors.As(err, &ue) {
		return ue
	}
	return classify(err)
}
