package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"mime"
	"net/http"
	"path"
)

//go:embed static
var staticFS embed.FS

// static serves the embedded styles, script and logo with a day of
// caching and an ETag of their content.
func (s *Server) static(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, err := staticFS.ReadFile("static/" + name)
	if err != nil || name == "" || path.Base(name) != name {
		http.NotFound(w, r)
		return
	}
	sum := sha256.Sum256(b)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	h := w.Header()
	h.Set("Cache-Control", "public, max-age=86400")
	h.Set("ETag", etag)
	if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
		h.Set("Content-Type", ct)
	}
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(b)
}

// switchLang remembers the language and goes back to the page the user
// was on (only ever a page of this site).
func (s *Server) switchLang(w http.ResponseWriter, r *http.Request) {
	l := r.PathValue("lang")
	if s.cat.has(l) {
		s.setLangCookie(w, l)
	}
	http.Redirect(w, r, localPath(r.URL.Query().Get("next")), http.StatusSeeOther)
}
