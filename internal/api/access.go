package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

type (
	userJSON  = auth.User
	userPage  = store.Page[auth.User]
	tokenPage = store.Page[auth.Token]
	auditPage = store.Page[store.AuditEntry]
)

type loginRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
	TOTP     string `json:"totp,omitempty"`
}

type loginResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      auth.User `json:"user"`
}

type meResponse struct {
	Principal auth.Principal `json:"principal"`
}

type userRequest struct {
	Name        string    `json:"name"`
	DisplayName string    `json:"display_name,omitempty"`
	Email       string    `json:"email,omitempty"`
	Role        auth.Role `json:"role"`
	OrgID       int64     `json:"org_id,omitempty"`
	Password    string    `json:"password,omitempty"`
}

type userCreated struct {
	auth.User
	// Password is set only when the server generated it; it is not shown again.
	Password string `json:"password,omitempty"`
}

type passwordRequest struct {
	Password string `json:"password"`
	// CurrentPassword (and TOTP, when the account has it) prove who is
	// asking when users change their own password; resets of others do
	// not need them.
	CurrentPassword string `json:"current_password,omitempty"`
	TOTP            string `json:"totp,omitempty"`
}

type tokenRequest struct {
	Name      string     `json:"name"`
	Role      auth.Role  `json:"role"`
	OrgID     int64      `json:"org_id,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"` // default: one year
}

type tokenCreated struct {
	auth.Token
	// Secret is the bearer token, shown this once.
	Secret string `json:"token"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	var req loginRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	u, err := s.loginCheck().Check(r.Context(), req.Name, req.Password, req.TOTP, s.clientIP(r))
	if errors.Is(err, auth.ErrBadCredentials) {
		return errf(CodeUnauthorized, "wrong user name, password or code")
	}
	if err != nil {
		return err
	}
	secret, prefix, hash, err := auth.NewToken()
	if err != nil {
		return err
	}
	exp := s.Now().Add(s.SessionTTL).UTC()
	t := auth.Token{Name: "session", Role: u.Role, OrgID: u.OrgID, UserID: u.ID, Hash: hash, Prefix: prefix, ExpiresAt: &exp}
	// The platform issues the session on the user's behalf: every role may
	// log in, while creating tokens is an admin's permission.
	t.CreatedBy = u.Name
	if err := s.Store.CreateToken(r.Context(), auth.SystemPrincipal, &t); err != nil {
		return err
	}
	writeJSON(w, 200, loginResponse{Token: secret, ExpiresAt: exp, User: u})
	return nil
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	writeJSON(w, 200, meResponse{Principal: p})
	return nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pr, err := pageRequest(r)
	if err != nil {
		return err
	}
	page, err := s.Store.ListUsers(r.Context(), p, pr)
	if err != nil {
		return err
	}
	writeJSON(w, 200, page)
	return nil
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var req userRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	u := auth.User{Name: strings.ToLower(strings.TrimSpace(req.Name)), DisplayName: strings.TrimSpace(req.DisplayName),
		Email: strings.TrimSpace(req.Email), Role: req.Role, OrgID: req.OrgID}
	if !u.Role.Valid() || u.Role.Machine() {
		return errf(CodeInvalid, "role must be one of platform-admin, analyst, org-admin, org-member, viewer")
	}
	generated := ""
	if req.Password == "" {
		generated = auth.RandomPassword()
		req.Password = generated
	}
	if err := auth.ValidatePassword(req.Password, personalWords(u)...); err != nil {
		return err
	}
	hash, err := auth.HashPassword(req.Password)
	if err != nil {
		return err
	}
	u.PasswordHash = hash
	if err := s.Store.CreateUser(r.Context(), p, &u); err != nil {
		return err
	}
	writeJSON(w, 201, userCreated{User: u, Password: generated})
	return nil
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return getByID(w, r, func(ctx context.Context, id int64) (auth.User, error) { return s.Store.GetUser(ctx, p, id) })
}

func (s *Server) setPassword(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req passwordRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	target, err := s.Store.GetUser(r.Context(), p, id)
	if err != nil {
		return err
	}
	if p.UserID != 0 && p.UserID == id {
		// Self-service: a stolen session or token alone must not be
		// enough to take the account over.
		if req.CurrentPassword == "" {
			return errf(CodeInvalid, "current_password is required to change your own password")
		}
		_, err := s.loginCheck().Check(r.Context(), target.Name, req.CurrentPassword, req.TOTP, s.clientIP(r))
		if errors.Is(err, auth.ErrBadCredentials) {
			return errf(CodeForbidden, "current password or code is wrong")
		}
		if err != nil {
			return err
		}
	}
	if err := auth.ValidatePassword(req.Password, personalWords(target)...); err != nil {
		return err
	}
	hash, err := auth.HashPassword(req.Password)
	if err != nil {
		return err
	}
	if err := s.Store.SetPassword(r.Context(), p, id, hash); err != nil {
		return err
	}
	return noContent(w)
}

// personalWords are what a user's password must not contain.
func personalWords(u auth.User) []string {
	local, _, _ := strings.Cut(u.Email, "@")
	return []string{u.Name, u.DisplayName, local}
}

// loginCheck is the login use case over this server's store and throttle.
func (s *Server) loginCheck() auth.Login {
	return auth.Login{Throttle: s.Throttle, Users: s.Store, Now: s.Now}
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pr, err := pageRequest(r)
	if err != nil {
		return err
	}
	page, err := s.Store.ListTokens(r.Context(), p, pr)
	if err != nil {
		return err
	}
	writeJSON(w, 200, page)
	return nil
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var req tokenRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	t, secret, err := auth.IssueToken(p, req.Name, req.Role, req.OrgID, req.ExpiresAt, s.Now())
	if err != nil {
		return err
	}
	if err := s.Store.CreateToken(r.Context(), p, &t); err != nil {
		return err
	}
	writeJSON(w, 201, tokenCreated{Token: t, Secret: secret})
	return nil
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.Store.RevokeToken(r.Context(), p, id); err != nil {
		return err
	}
	return noContent(w)
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pr, err := pageRequest(r)
	if err != nil {
		return err
	}
	f := store.AuditFilter{PageRequest: pr, ObjectType: r.URL.Query().Get("object_type"), Actor: r.URL.Query().Get("actor")}
	if f.ObjectID, err = queryInt(r, "object_id"); err != nil {
		return err
	}
	page, err := s.Store.ListAudit(r.Context(), p, f)
	if err != nil {
		return err
	}
	writeJSON(w, 200, page)
	return nil
}
