package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

type tokensData struct {
	Tokens      []auth.Token
	Roles       []auth.Role
	Next, First string
	Created     *auth.Token
	Secret      string // of Created, shown once
}

// tokensPage lists API tokens (and console sessions) of the subtree, with
// the form to create one.
func (s *Server) tokensPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if !c.p().Can(auth.PermManageUsers) {
		return errForbidden
	}
	d, err := s.tokensData(r, c)
	if err != nil {
		return err
	}
	return s.page(w, r, c, "tokens", "tokens.title", "admin", d)
}

func (s *Server) tokensData(r *http.Request, c *reqCtx) (tokensData, error) {
	q := r.URL.Query()
	page, err := s.st.ListTokens(r.Context(), c.p(), store.PageRequest{Limit: 100, After: q.Get("after")})
	if err != nil {
		return tokensData{}, err
	}
	d := tokensData{Tokens: page.Items, Roles: grantable(c.p(), true)}
	if page.Next != "" {
		d.Next = "after=" + urlQueryEscape(page.Next)
	}
	if q.Get("after") != "" {
		d.First = "x=1"
	}
	return d, nil
}

// tokenCreate issues an API token and shows its secret once.
func (s *Server) tokenCreate(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	p, ctx := c.p(), r.Context()
	var t auth.Token
	var secret string
	err := func() error {
		var orgID int64
		if code := strings.TrimSpace(r.PostFormValue("org_code")); code != "" {
			o, err := s.st.GetOrgByCode(ctx, p, code)
			if err != nil {
				return err
			}
			orgID = o.ID
		}
		days, _ := strconv.Atoi(r.PostFormValue("days"))
		if days <= 0 {
			days = 365
		}
		exp := c.now.Add(time.Duration(days) * 24 * time.Hour)
		var err error
		t, secret, err = auth.IssueToken(p, r.PostFormValue("name"), auth.Role(r.PostFormValue("role")), orgID, &exp, c.now)
		if err != nil {
			return err
		}
		return s.st.CreateToken(ctx, p, &t)
	}()
	d, lerr := s.tokensData(r, c)
	if lerr != nil {
		return lerr
	}
	v := s.newView(r, c, "tokens.title", "admin", nil)
	status := http.StatusOK
	if err != nil {
		v.Err = asUIError(err)
		if v.Err.status >= 500 {
			return err
		}
		status = v.Err.status
	} else {
		d.Created, d.Secret = &t, secret
		v.Flash = "flash.tokencreated"
	}
	v.Data = d
	return s.render(w, status, "tokens", v)
}

// tokenRevoke revokes a token (or ends a console session).
func (s *Server) tokenRevoke(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.st.RevokeToken(r.Context(), c.p(), id); err != nil {
		return err
	}
	return redirect(w, r, "/admin/tokens", "flash.revoked")
}
