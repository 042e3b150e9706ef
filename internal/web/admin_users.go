package web

import (
	"net/http"
	"strings"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

type usersData struct {
	Users       []auth.User
	Roles       []auth.Role
	Next, First string
	Created     *auth.User
	Password    string // generated for Created, shown once
	Form        userForm
}

type userForm struct {
	Name, DisplayName, Email, Role, OrgCode string
}

// humanRoles the principal may grant.
func grantable(p auth.Principal, machine bool) []auth.Role {
	var out []auth.Role
	for _, r := range auth.Roles {
		if r.Machine() && !machine {
			continue
		}
		if p.System || p.Role.MayGrant(r) {
			out = append(out, r)
		}
	}
	return out
}

// usersPage lists the users of the subtree with the form to add one.
func (s *Server) usersPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if !c.p().Can(auth.PermManageUsers) {
		return errForbidden
	}
	d, err := s.usersData(r, c)
	if err != nil {
		return err
	}
	return s.page(w, r, c, "users", "users.title", "admin", d)
}

func (s *Server) usersData(r *http.Request, c *reqCtx) (usersData, error) {
	q := r.URL.Query()
	page, err := s.st.ListUsers(r.Context(), c.p(), store.PageRequest{Limit: 100, After: q.Get("after")})
	if err != nil {
		return usersData{}, err
	}
	d := usersData{Users: page.Items, Roles: grantable(c.p(), false)}
	if page.Next != "" {
		d.Next = "after=" + urlQueryEscape(page.Next)
	}
	if q.Get("after") != "" {
		d.First = "x=1"
	}
	return d, nil
}

// userCreate adds a user; without a password one is generated and shown
// this once.
func (s *Server) userCreate(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	p, ctx := c.p(), r.Context()
	f := userForm{Name: strings.ToLower(strings.TrimSpace(r.PostFormValue("name"))), DisplayName: strings.TrimSpace(r.PostFormValue("display_name")),
		Email: strings.TrimSpace(r.PostFormValue("email")), Role: r.PostFormValue("role"), OrgCode: strings.TrimSpace(r.PostFormValue("org_code"))}
	u := auth.User{Name: f.Name, DisplayName: f.DisplayName, Email: f.Email, Role: auth.Role(f.Role)}
	password := r.PostFormValue("password")
	generated := ""
	err := func() error {
		if !u.Role.Valid() || u.Role.Machine() {
			return &uiError{status: http.StatusBadRequest, key: "error.role"}
		}
		if f.OrgCode != "" {
			o, err := s.st.GetOrgByCode(ctx, p, f.OrgCode)
			if err != nil {
				return err
			}
			u.OrgID = o.ID
		} else if !u.Role.Global() {
			u.OrgID = p.OrgID
		}
		if password == "" {
			generated = auth.RandomPassword()
			password = generated
		}
		local, _, _ := strings.Cut(u.Email, "@")
		if err := auth.ValidatePassword(password, u.Name, u.DisplayName, local); err != nil {
			return err
		}
		hash, err := auth.HashPassword(password)
		if err != nil {
			return err
		}
		u.PasswordHash = hash
		return s.st.CreateUser(ctx, p, &u)
	}()
	d, lerr := s.usersData(r, c)
	if lerr != nil {
		return lerr
	}
	v := s.newView(r, c, "users.title", "admin", d)
	status := http.StatusOK
	if err != nil {
		v.Err = asUIError(err)
		if v.Err.status >= 500 {
			return err
		}
		status = v.Err.status
		d.Form = f
	} else {
		d.Created, d.Password = &u, generated
		v.Flash = "flash.usercreated"
	}
	v.Data = d
	return s.render(w, status, "users", v)
}
