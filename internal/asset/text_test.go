package asset

import (
	"errors"
	"strings"
	"testing"
)

// TestF23AssetTextFields: control characters in tags and notes, and too
// many tags, are invalid; line breaks and tabs in notes are kept.
func TestF23AssetTextFields(t *testing.T) {
	base := func() Asset { return Asset{OrgID: 1, Kind: KindHostname, Value: "portal.example.vn"} }
	for name, edit := range map[string]func(*Asset){
		"escape in a tag":     func(a *Asset) { a.Tags = []string{"\x1b[31mred"} },
		"NUL in notes":        func(a *Asset) { a.Notes = "a\x00b" },
		"BEL in notes":        func(a *Asset) { a.Notes = "ring\a" },
		"bidi override notes": func(a *Asset) { a.Notes = "abc\u202edef" },
		"too many tags": func(a *Asset) {
			for i := range 51 {
				a.Tags = append(a.Tags, "t"+strings.Repeat("x", i))
			}
		},
	} {
		a := base()
		edit(&a)
		if err := a.Prepare(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	a := base()
	a.Notes, a.Tags = "line one\n\tline two", []string{"=formula", "web"}
	if err := a.Prepare(); err != nil {
		t.Errorf("ordinary notes and tags: %v", err)
	}
}
