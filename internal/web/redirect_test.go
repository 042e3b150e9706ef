package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestF26RedirectFlashBeforeFragment: the flash key of a redirect lands in
// the query, before the fragment, where the next page can read it.
func TestF26RedirectFlashBeforeFragment(t *testing.T) {
	for _, c := range []struct{ target, flash, want string }{
		{"/assessments/3#ctl-BL-TLS-2", "flash.uploaded", "/assessments/3?ok=flash.uploaded#ctl-BL-TLS-2"},
		{"/assessments/3?lang=en#ctl-X", "flash.uploaded", "/assessments/3?lang=en&ok=flash.uploaded#ctl-X"},
		{"/assets/7", "flash.done", "/assets/7?ok=flash.done"},
		{"/assets/7#claim", "", "/assets/7#claim"},
	} {
		w := httptest.NewRecorder()
		if err := redirect(w, httptest.NewRequest("POST", "/x", nil), c.target, c.flash); err != nil {
			t.Fatal(err)
		}
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != c.want {
			t.Errorf("redirect(%q, %q): %d %q, want %q", c.target, c.flash, w.Code, w.Header().Get("Location"), c.want)
		}
	}
}
