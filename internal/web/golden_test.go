package web

import (
	"fmt"
	"testing"
)

// TestGoldenPages renders the main pages for a platform admin in both
// languages and compares them with testdata/ (go test -update rewrites).
func TestGoldenPages(t *testing.T) {
	w := newWorld(t)
	c := w.client()
	c.login("admin", "")
	pages := map[string]string{
		"dashboard": "/",
		"findings":  "/findings?state=active",
		"finding":   fmt.Sprintf("/findings/%d", w.findings["svc.redis-noauth"].ID),
		"org":       fmt.Sprintf("/orgs/%d", w.orgs["HN"].ID),
		"scans":     "/scans",
	}
	for _, lang := range []string{"vi", "en"} {
		for name, path := range pages {
			sep := "?"
			if containsQ(path) {
				sep = "&"
			}
			code, body := c.get(path + sep + "lang=" + lang)
			if code != 200 {
				t.Fatalf("%s: %d", path, code)
			}
			golden(t, name+"."+lang+".html", body)
		}
	}
	anon := w.client()
	_, body := anon.get("/login?lang=vi")
	golden(t, "login.vi.html", body)
}

func containsQ(s string) bool {
	for _, r := range s {
		if r == '?' {
			return true
		}
	}
	return false
}
