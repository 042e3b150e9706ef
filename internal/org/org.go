// Package org holds the constituency: organizations arranged in a tree of any
// depth (national → ministry or province → agency → unit, plus enterprises)
// and the people to contact in each.
//
// It is a domain package: it imports the standard library only.
package org

import (
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Kind is the type of an organization in the national hierarchy.
type Kind string

// The organization kinds.
const (
	KindNational   Kind = "national"
	KindMinistry   Kind = "ministry"
	KindSector     Kind = "sector"
	KindProvince   Kind = "province"
	KindAgency     Kind = "agency"
	KindUnit       Kind = "unit"
	KindEnterprise Kind = "enterprise"
)

// Kinds lists every valid kind, in hierarchy order.
var Kinds = []Kind{KindNational, KindMinistry, KindSector, KindProvince, KindAgency, KindUnit, KindEnterprise}

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool {
	for _, v := range Kinds {
		if k == v {
			return true
		}
	}
	return false
}

// Sentinel errors.
var (
	ErrInvalid  = errors.New("org: invalid organization")
	ErrNotFound = errors.New("org: not found")
)

// Organization is one member of the constituency.
//
// Path is the materialized path of IDs from the root, "/1/7/42/", kept by the
// store; a subtree is every organization whose Path starts with its root's
// Path. That makes tenancy checks a prefix test on both SQL engines.
type Organization struct {
	ID        int64     `json:"id"`
	ParentID  int64     `json:"parent_id,omitempty"` // 0 for a root
	Code      string    `json:"code"`
	Name      string    `json:"name"`    // Vietnamese name
	NameEN    string    `json:"name_en"` // English name
	Kind      Kind      `json:"kind"`
	Path      string    `json:"path"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`

	// Regions are the vantage points whose workers may scan the
	// organization's assets (see Route and InheritRoute); empty means
	// the parent's, and at the top the platform's default region.
	// CrossCheck runs each scan from every region rather than one. Both
	// are set by the store's SetOrgRegions only, from above: by the
	// parent's administrators or platform administrators.
	Regions    []string `json:"regions,omitempty"`
	CrossCheck bool     `json:"cross_check,omitempty"`
}

var codeRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`) })

// Normalize trims fields and upper-cases the code.
func (o *Organization) Normalize() {
	o.Code = strings.ToUpper(strings.TrimSpace(o.Code))
	o.Name = strings.TrimSpace(o.Name)
	o.NameEN = strings.TrimSpace(o.NameEN)
	o.Kind = Kind(strings.ToLower(strings.TrimSpace(string(o.Kind))))
}

// Validate reports the first problem with o, wrapped in ErrInvalid.
func (o *Organization) Validate() error {
	switch {
	case !codeRE().MatchString(o.Code):
		return fmt.Errorf("%w: code %q must be 1-64 letters, digits, '.', '_' or '-'", ErrInvalid, o.Code)
	case o.Name == "" && o.NameEN == "":
		return fmt.Errorf("%w: name is required", ErrInvalid)
	case len(o.Name) > 300 || len(o.NameEN) > 300:
		return fmt.Errorf("%w: name longer than 300 bytes", ErrInvalid)
	case !utf8.ValidString(o.Name) || !utf8.ValidString(o.NameEN):
		return fmt.Errorf("%w: name is not valid UTF-8", ErrInvalid)
	case HasControl(o.Name) || HasControl(o.NameEN):
		return fmt.Errorf("%w: name contains control characters", ErrInvalid)
	case !o.Kind.Valid():
		return fmt.Errorf("%w: kind %q is not one of %s", ErrInvalid, o.Kind, kindList())
	case o.ParentID < 0:
		return fmt.Errorf("%w: parent_id must be positive", ErrInvalid)
	}
	return nil
}

func kindList() string {
	s := make([]string, len(Kinds))
	for i, k := range Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// ChildPath returns the path of a child with id under parent path p ("" for a root).
func ChildPath(p string, id int64) string {
	if p == "" {
		p = "/"
	}
	return p + strconv.FormatInt(id, 10) + "/"
}

// InSubtree reports whether path lies in the subtree rooted at root
// (both materialized paths).
func InSubtree(path, root string) bool {
	return root != "" && strings.HasPrefix(path, root)
}

// Contact is a person to reach in an organization.
type Contact struct {
	ID        int64     `json:"id"`
	OrgID     int64     `json:"org_id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	Phone     string    `json:"phone,omitempty"`
	Role      string    `json:"role,omitempty"`     // e.g. "security", "technical", "leader"
	Language  string    `json:"language,omitempty"` // "vi" (default) or "en"
	CreatedAt time.Time `json:"created_at"`
}

var phoneRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\+?[0-9 ().-]{3,32}$`) })

// Limits on contact fields, in bytes.
const (
	MaxContactName  = 200
	MaxContactRole  = 64
	MaxContactEmail = 254 // RFC 5321's path limit
)

// HasControl reports whether s holds a control character (C0, DEL, C1) or
// a bidirectional override or isolate, which can hide or reorder text
// (terminal escapes in an exported CSV, a reversed name on a page).
func HasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) || (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069') {
			return true
		}
	}
	return false
}

// Normalize trims fields, lower-cases the email and defaults the language.
func (c *Contact) Normalize() {
	c.Name = strings.TrimSpace(c.Name)
	c.Email = strings.ToLower(strings.TrimSpace(c.Email))
	c.Phone = strings.TrimSpace(c.Phone)
	c.Role = strings.ToLower(strings.TrimSpace(c.Role))
	c.Language = strings.ToLower(strings.TrimSpace(c.Language))
	if c.Language == "" {
		c.Language = "vi"
	}
}

// Validate reports the first problem with c, wrapped in ErrInvalid.
func (c *Contact) Validate() error {
	if c.Name == "" {
		return fmt.Errorf("%w: contact name is required", ErrInvalid)
	}
	switch {
	case len(c.Name) > MaxContactName:
		return fmt.Errorf("%w: contact name longer than %d bytes", ErrInvalid, MaxContactName)
	case len(c.Role) > MaxContactRole:
		return fmt.Errorf("%w: contact role longer than %d bytes", ErrInvalid, MaxContactRole)
	case len(c.Email) > MaxContactEmail:
		return fmt.Errorf("%w: contact email longer than %d bytes", ErrInvalid, MaxContactEmail)
	case !utf8.ValidString(c.Name) || !utf8.ValidString(c.Role):
		return fmt.Errorf("%w: contact name or role is not valid UTF-8", ErrInvalid)
	case HasControl(c.Name) || HasControl(c.Role) || HasControl(c.Email) || HasControl(c.Phone):
		return fmt.Errorf("%w: contact fields must not contain control characters", ErrInvalid)
	}
	if a, err := mail.ParseAddress(c.Email); err != nil || a.Address != c.Email {
		return fmt.Errorf("%w: contact email %q is not an address", ErrInvalid, c.Email)
	}
	if c.Phone != "" && !phoneRE().MatchString(c.Phone) {
		return fmt.Errorf("%w: contact phone %q is not a phone number", ErrInvalid, c.Phone)
	}
	if c.Language != "vi" && c.Language != "en" {
		return fmt.Errorf("%w: contact language %q must be vi or en", ErrInvalid, c.Language)
	}
	return nil
}
