package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"github.com/rampart-cert/rampart/internal/auth"
)

type totpData struct {
	Enabled bool
	Secret  string
	URI     string
	Sig     string
}

// totpSig binds an offered TOTP secret to the session, so the confirming
// POST cannot swap in another secret.
func (s *Server) totpSig(c *reqCtx, secret string) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte("totp\x00" + c.sess.hash + "\x00" + secret))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// totpForm offers a new TOTP secret (as text and as an otpauth:// URI to
// paste into an authenticator) to the logged-in user.
func (s *Server) totpForm(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return s.renderTOTP(w, r, c, http.StatusOK, auth.NewTOTPSecret(), nil)
}

func (s *Server) renderTOTP(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, secret string, ue *uiError) error {
	u, err := s.st.GetUser(r.Context(), c.p(), c.p().UserID)
	if err != nil {
		return err
	}
	d := totpData{Enabled: u.TOTPSecret != "", Secret: secret, URI: auth.TOTPURI("Rampart", u.Name, secret), Sig: s.totpSig(c, secret)}
	v := s.newView(r, c, "totp.title", "", d)
	v.Err = ue
	return s.render(w, status, "totp", v)
}

// totpConfirm stores the offered secret once the user proves their
// authenticator has it by giving a current code, and proves who they are:
// their password, and when TOTP is already on, a code of the current
// authenticator (a stolen session alone can neither turn TOTP on, locking
// the owner out, nor swap the authenticator). Both codes are used up.
// Storing the secret ends the user's other sessions.
func (s *Server) totpConfirm(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	secret := r.PostFormValue("secret")
	if !hmac.Equal([]byte(r.PostFormValue("sig")), []byte(s.totpSig(c, secret))) {
		return errCSRF
	}
	u, err := s.st.GetUser(r.Context(), c.p(), c.p().UserID)
	if err != nil {
		return err
	}
	_, err = s.loginCheck().Check(r.Context(), u.Name, r.PostFormValue("password"), strings.TrimSpace(r.PostFormValue("current")), clientIP(r))
	switch {
	case errors.Is(err, auth.ErrThrottled):
		return s.renderTOTP(w, r, c, http.StatusTooManyRequests, secret, &uiError{status: http.StatusTooManyRequests, key: "login.throttled", cause: err})
	case errors.Is(err, auth.ErrBadCredentials):
		return s.renderTOTP(w, r, c, http.StatusForbidden, secret, &uiError{status: http.StatusForbidden, key: "totp.badproof"})
	case err != nil:
		return err
	}
	step, ok := auth.MatchTOTP(secret, strings.TrimSpace(r.PostFormValue("code")), c.now)
	if !ok {
		return s.renderTOTP(w, r, c, http.StatusBadRequest, secret, &uiError{status: http.StatusBadRequest, key: "totp.badcode"})
	}
	if err := s.st.SetTOTPSecret(r.Context(), c.p(), c.p().UserID, secret); err != nil {
		return err
	}
	// The confirming code must not log anybody in afterwards.
	if err := s.st.AcceptTOTPStep(r.Context(), u.ID, step); err != nil && !errors.Is(err, auth.ErrTOTPReplay) {
		return err
	}
	return redirect(w, r, "/account/totp", "flash.totp")
}
