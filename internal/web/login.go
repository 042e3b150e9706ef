package web

import (
	"errors"
	"net"
	"net/http"
	"strings"

	"github.com/rampart-cert/rampart/internal/auth"
)

type loginData struct {
	Name string
	Next string
}

// loginForm shows the login form (or goes home when already logged in).
func (s *Server) loginForm(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	next := localPath(r.URL.Query().Get("next"))
	if c.sess != nil {
		return redirect(w, r, next, "")
	}
	s.ensurePre(w, c)
	return s.page(w, r, c, "login", "login.title", "", loginData{Next: next})
}

// login checks the name, password and (when the user has one) the TOTP
// code through auth.Login — throttled per name and address with the
// throttle the API shares, each code accepted once; on success it stores
// a session token and sets its secret as the session cookie.
func (s *Server) login(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	name := strings.ToLower(strings.TrimSpace(r.PostFormValue("name")))
	next := localPath(r.PostFormValue("next"))
	fail := func(status int, key string, cause error) error {
		v := s.newView(r, c, "login.title", "", loginData{Name: name, Next: next})
		v.Err = &uiError{status: status, key: key, cause: cause}
		return s.render(w, status, "login", v)
	}
	u, err := s.loginCheck().Check(r.Context(), name, r.PostFormValue("password"), strings.TrimSpace(r.PostFormValue("totp")), clientIP(r))
	switch {
	case errors.Is(err, auth.ErrThrottled):
		return fail(http.StatusTooManyRequests, "login.throttled", err)
	case errors.Is(err, auth.ErrBadCredentials):
		return fail(http.StatusUnauthorized, "login.failed", nil)
	case err != nil:
		return err
	}
	secret, prefix, hash, err := auth.NewToken()
	if err != nil {
		return err
	}
	exp := c.now.Add(s.SessionTTL).UTC()
	t := auth.Token{Name: sessionName, Role: u.Role, OrgID: u.OrgID, UserID: u.ID, Hash: hash, Prefix: prefix,
		ExpiresAt: &exp, CreatedBy: u.Name}
	// The platform stores the session on the user's behalf: the password
	// was just checked, and a viewer may not create tokens itself.
	if err := s.st.CreateToken(r.Context(), auth.SystemPrincipal, &t); err != nil {
		return err
	}
	s.setSessionCookie(w, secret, exp)
	return redirect(w, r, next, "")
}

// loginCheck is the login use case over the console's store and the
// throttle it shares with the API.
func (s *Server) loginCheck() auth.Login {
	return auth.Login{Throttle: s.Throttle, Users: s.st, Now: s.Now}
}

// logout revokes the session token and clears the cookie.
func (s *Server) logout(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := s.st.RevokeToken(r.Context(), c.sess.p, c.sess.tokenID); err != nil {
		return err
	}
	s.clearSessionCookie(w)
	return redirect(w, r, "/login", "flash.loggedout")
}

// clientIP is the peer address; the console does not trust forwarding
// headers.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
