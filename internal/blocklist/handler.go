package blocklist

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"

	"log/slog"
	"net/http"
	"strings"
	"time"
)

// ErrUnknownConsumer is what a ConsumerLookup returns for a key it does
// not know (or a revoked one).
var ErrUnknownConsumer = errors.New("blocklist: unknown consumer key")

// ConsumerLookup finds the consumer of an API key.
type ConsumerLookup func(ctx context.Context, key string) (*Consumer, error)

// Handler serves blocklists: GET {mount}/{key}/{format} for devices that
// cannot set headers, or GET {mount}/{format} with the key in X-Api-Key.
// Mount it with http.StripPrefix. Responses carry a strong ETag (the
// SHA-256 of the body) and answer If-None-Match with 304.
type Handler struct {
	Lookup ConsumerLookup                           // required
	List   func(ctx context.Context) (*List, error) // the current list; required
	Now    func() time.Time                         // nil: time.Now
	Logger *slog.Logger                             // nil: slog.Default()
}

var _ http.Handler = (*Handler)(nil)

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "blocklist: GET only", http.StatusMethodNotAllowed)
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	var key, name string
	switch len(parts) {
	case 1:
		key, name = r.Header.Get("X-Api-Key"), parts[0]
	case 2:
		key, name = parts[0], parts[1]
	default:
		http.Error(w, "blocklist: use /{format} with X-Api-Key, or /{key}/{format}", http.StatusNotFound)
		return
	}
	name = strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, ".txt"), ".csv"), ".rsc")
	f, err := ParseFormat(name)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	if key == "" || len(key) > 256 {
		w.Header().Set("WWW-Authenticate", `ApiKey header="X-Api-Key"`)
		http.Error(w, "blocklist: a consumer key is required", http.StatusUnauthorized)
		return
	}
	ctx := r.Context()
	c, err := h.Lookup(ctx, key)
	if errors.Is(err, ErrUnknownConsumer) {
		http.Error(w, "blocklist: unknown consumer key", http.StatusUnauthorized)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !c.Allows(f) {
		http.Error(w, "blocklist: this consumer may not pull the "+string(f)+" format", http.StatusForbidden)
		return
	}
	l, err := h.List(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	now := time.Now()
	if h.Now != nil {
		now = h.Now()
	}
	// Render once into the hash for the ETag, and again into the
	// response when the client's copy is stale: twice the CPU, but no
	// copy of a million-line body in memory.
	sum := sha256.New()
	if _, err := l.Render(sum, f, c, now); err != nil {
		h.fail(w, r, err)
		return
	}
	etag := `"` + hex.EncodeToString(sum.Sum(nil)[:16]) + `"`
	hd := w.Header()
	hd.Set("ETag", etag)
	hd.Set("Cache-Control", "private, no-cache")
	hd.Set("X-Content-Type-Options", "nosniff")
	if matchETag(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	ct, ext := "text/plain; charset=utf-8", ".txt"
	switch f {
	case FormatCSV:
		ct, ext = "text/csv; charset=utf-8", ".csv"
	case FormatNFT:
		ext = ".nft"
	case FormatMikrotik:
		ext = ".rsc"
	case FormatRPZ:
		ext = ".zone"
	}
	hd.Set("Content-Type", ct)
	hd.Set("Content-Disposition", `attachment; filename="`+c.setName()+"-"+string(f)+ext+`"`)
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	if _, err := l.Render(w, f, c, now); err != nil {
		// Headers are gone; the client sees a short body. Log it.
		h.logger().Warn("blocklist response cut", "format", f, "err", err)
	}
}

// matchETag implements If-None-Match: "*" or a list of (weak or strong)
// tags compared weakly, as RFC 9110 says for this header.
func matchETag(header, etag string) bool {
	header = strings.TrimSpace(header)
	if header == "" {
		return false
	}
	if header == "*" {
		return true
	}
	for t := range strings.SplitSeq(header, ",") {
		if strings.TrimPrefix(strings.TrimSpace(t), "W/") == etag {
			return true
		}
	}
	return false
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	h.logger().Error("blocklist request failed", "path", r.URL.Path, "err", err)
	http.Error(w, "blocklist: the list is unavailable, try again later", http.StatusInternalServerError)
}
