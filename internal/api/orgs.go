package api

import (
	"context"
	"net/http"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

type (
	orgJSON     = org.Organization
	orgPage     = store.Page[org.Organization]
	contactJSON = org.Contact
)

type contactList struct {
	Items []org.Contact `json:"items"`
}

type orgRequest struct {
	Code     string   `json:"code"`
	Name     string   `json:"name"`
	NameEN   string   `json:"name_en,omitempty"`
	Kind     org.Kind `json:"kind"`
	ParentID int64    `json:"parent_id,omitempty"`
}

type orgPatch struct {
	Code     *string   `json:"code,omitempty"`
	Name     *string   `json:"name,omitempty"`
	NameEN   *string   `json:"name_en,omitempty"`
	Kind     *org.Kind `json:"kind,omitempty"`
	ParentID *int64    `json:"parent_id,omitempty"`
	// Regions and CrossCheck route the organization's scans (regions
	// whose workers scan it; [] inherits the parent's). Only the
	// parent's administrators and platform administrators change them.
	Regions    *[]string `json:"regions,omitempty"`
	CrossCheck *bool     `json:"cross_check,omitempty"`
}

type contactRequest struct {
	Name     string `json:"name"`
	Email    string `json:"email"`
	Phone    string `json:"phone,omitempty"`
	Role     string `json:"role,omitempty"`
	Language string `json:"language,omitempty"`
}

func (s *Server) listOrgs(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pr, err := pageRequest(r)
	if err != nil {
		return err
	}
	f := store.OrgFilter{PageRequest: pr, Kind: org.Kind(r.URL.Query().Get("kind")), Query: r.URL.Query().Get("q")}
	if f.ParentID, err = queryInt(r, "parent_id"); err != nil {
		return err
	}
	if f.Root, err = queryInt(r, "root"); err != nil {
		return err
	}
	if f.Kind != "" && !f.Kind.Valid() {
		return errf(CodeBadRequest, "unknown kind "+string(f.Kind))
	}
	page, err := s.Store.ListOrgs(r.Context(), p, f)
	if err != nil {
		return err
	}
	writeJSON(w, 200, page)
	return nil
}

func (s *Server) createOrg(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var req orgRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	o := org.Organization{Code: req.Code, Name: req.Name, NameEN: req.NameEN, Kind: req.Kind, ParentID: req.ParentID}
	o.Normalize()
	if err := o.Validate(); err != nil {
		return err
	}
	if err := s.Store.CreateOrg(r.Context(), p, &o); err != nil {
		return err
	}
	writeJSON(w, 201, o)
	return nil
}

func (s *Server) getOrg(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return getByID(w, r, func(ctx context.Context, id int64) (org.Organization, error) { return s.Store.GetOrg(ctx, p, id) })
}

func (s *Server) updateOrg(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req orgPatch
	if err := decode(w, r, &req); err != nil {
		return err
	}
	o, err := s.Store.GetOrg(r.Context(), p, id)
	if err != nil {
		return err
	}
	if req.Code == nil && req.Name == nil && req.NameEN == nil && req.Kind == nil && req.ParentID == nil {
		// Only the route: no rename, no audit entry of one.
		if o, err = s.setOrgRegions(r.Context(), p, o, req); err != nil {
			return err
		}
		writeJSON(w, 200, o)
		return nil
	}
	set(&o.Code, req.Code)
	set(&o.Name, req.Name)
	set(&o.NameEN, req.NameEN)
	set(&o.Kind, req.Kind)
	set(&o.ParentID, req.ParentID)
	o.Normalize()
	if err := o.Validate(); err != nil {
		return err
	}
	if err := s.Store.UpdateOrg(r.Context(), p, &o); err != nil {
		return err
	}
	s.invalidate()
	if o, err = s.setOrgRegions(r.Context(), p, o, req); err != nil {
		return err
	}
	writeJSON(w, 200, o)
	return nil
}

// setOrgRegions applies a patch's route fields, if any, to o.
func (s *Server) setOrgRegions(ctx context.Context, p auth.Principal, o org.Organization, req orgPatch) (org.Organization, error) {
	if req.Regions == nil && req.CrossCheck == nil {
		return o, nil
	}
	regions, cross := o.Regions, o.CrossCheck
	set(&regions, req.Regions)
	set(&cross, req.CrossCheck)
	if _, err := org.NormalizeRegions(regions); err != nil {
		return o, err
	}
	return s.Store.SetOrgRegions(ctx, p, o.ID, regions, cross)
}

func (s *Server) deleteOrg(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.Store.DeleteOrg(r.Context(), p, id); err != nil {
		return err
	}
	return noContent(w)
}

func (s *Server) listContacts(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	cs, err := s.Store.ListContacts(r.Context(), p, id)
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []org.Contact{}
	}
	writeJSON(w, 200, contactList{Items: cs})
	return nil
}

func (s *Server) createContact(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req contactRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	c := org.Contact{OrgID: id, Name: req.Name, Email: req.Email, Phone: req.Phone, Role: req.Role, Language: req.Language}
	c.Normalize()
	if err := c.Validate(); err != nil {
		return err
	}
	if err := s.Store.CreateContact(r.Context(), p, &c); err != nil {
		return err
	}
	writeJSON(w, 201, c)
	return nil
}

func (s *Server) deleteContact(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.Store.DeleteContact(r.Context(), p, id); err != nil {
		return err
	}
	return noContent(w)
}

// set copies *src into *dst when src is given.
func set[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

func (s *Server) invalidate() {
	if s.Guard != nil {
		s.Guard.Invalidate()
	}
}
