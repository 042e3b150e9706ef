package org

import (
	"errors"
	"strings"
	"testing"
)

func TestOrganizationValidate(t *testing.T) {
	cases := []struct {
		o  Organization
		ok bool
	}{
		{Organization{Code: " moh ", Name: "Bộ Y tế", Kind: "Ministry"}, true},
		{Organization{Code: "BCA", NameEN: "Ministry of Public Security", Kind: KindMinistry}, true},
		{Organization{Code: "", Name: "x", Kind: KindAgency}, false},
		{Organization{Code: "has space", Name: "x", Kind: KindAgency}, false},
		{Organization{Code: "X", Kind: KindAgency}, false},
		{Organization{Code: "X", Name: "x", Kind: "club"}, false},
		{Organization{Code: "X", Name: "x", Kind: KindUnit, ParentID: -1}, false},
	}
	for _, c := range cases {
		o := c.o
		o.Normalize()
		err := o.Validate()
		if (err == nil) != c.ok {
			t.Errorf("%+v: err = %v, want ok=%v", c.o, err, c.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: error does not wrap ErrInvalid", c.o)
		}
	}
	o := Organization{Code: " moh ", Name: " Bộ Y tế ", Kind: " MINISTRY "}
	o.Normalize()
	if o.Code != "MOH" || o.Name != "Bộ Y tế" || o.Kind != KindMinistry {
		t.Errorf("normalized = %+v", o)
	}
}

func TestPaths(t *testing.T) {
	root := ChildPath("", 1)
	child := ChildPath(root, 12)
	if root != "/1/" || child != "/1/12/" {
		t.Fatalf("paths %q %q", root, child)
	}
	if !InSubtree(child, root) || !InSubtree(root, root) || InSubtree("/10/", root) || InSubtree(root, child) || InSubtree(root, "") {
		t.Fatal("subtree test wrong")
	}
}

func TestContactValidate(t *testing.T) {
	cases := []struct {
		c  Contact
		ok bool
	}{
		{Contact{Name: "Nguyễn Văn An", Email: "An@Moh.gov.vn", Phone: "+84 24 3823 4567"}, true},
		{Contact{Name: "x", Email: "x@y.vn", Language: "EN"}, true},
		{Contact{Name: "", Email: "x@y.vn"}, false},
		{Contact{Name: "x", Email: "not-an-email"}, false},
		{Contact{Name: "x", Email: "Name <x@y.vn>"}, false},
		{Contact{Name: "x", Email: "x@y.vn", Phone: "call me"}, false},
		{Contact{Name: "x", Email: "x@y.vn", Language: "fr"}, false},
	}
	for _, c := range cases {
		ct := c.c
		ct.Normalize()
		if err := ct.Validate(); (err == nil) != c.ok {
			t.Errorf("%+v: err = %v, want ok=%v", c.c, err, c.ok)
		}
	}
}

// TestF23ControlCharactersAndSizes: control characters (NUL, BEL, ESC,
// bidi overrides) in names and contact fields, and oversized contact
// fields, are refused as invalid.
func TestF23ControlCharactersAndSizes(t *testing.T) {
	for _, name := range []string{"Sở\x00TT", "Sở\aTT", "\x1b[31mSở TT", "Sở\u202eTT", "Sở\u0085TT"} {
		o := Organization{Code: "HN-X", Name: name, Kind: KindAgency}
		o.Normalize()
		if err := o.Validate(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "control") {
			t.Errorf("name %q: %v, want ErrInvalid about control characters", name, err)
		}
		o = Organization{Code: "HN-X", Name: "Sở", NameEN: name, Kind: KindAgency}
		if err := o.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("name_en %q: %v, want ErrInvalid", name, err)
		}
	}
	ok := Organization{Code: "HN-X", Name: "Sở Thông tin và Truyền thông", Kind: KindAgency}
	if err := ok.Validate(); err != nil {
		t.Errorf("ordinary name: %v", err)
	}
	base := Contact{Name: "Nguyễn Văn A", Email: "a@example.vn", Role: "security", Language: "vi"}
	for _, tt := range []struct {
		name string
		edit func(*Contact)
	}{
		{"long name", func(c *Contact) { c.Name = strings.Repeat("x", 900_000) }},
		{"long role", func(c *Contact) { c.Role = strings.Repeat("r", 65) }},
		{"escape in name", func(c *Contact) { c.Name = "A\x1b]0;pwned\a" }},
		{"newline in role", func(c *Contact) { c.Role = "lead\nx" }},
	} {
		c := base
		tt.edit(&c)
		if err := c.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", tt.name, err)
		}
	}
	if err := base.Validate(); err != nil {
		t.Errorf("ordinary contact: %v", err)
	}
}
