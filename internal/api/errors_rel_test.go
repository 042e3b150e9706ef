package api

import (
	"fmt"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/rampart-cert/rampart/internal/store"
)

// TestRelF8DatabaseDownIs503 (reliability review F8): a database that is
// down answers 503 unavailable with Retry-After, not 500, whatever the
// call (a not-found lookup included).
func TestRelF8DatabaseDownIs503(t *testing.T) {
	s := &Server{log: slog.New(slog.DiscardHandler)}
	for _, err := range []error{
		fmt.Errorf("sqlstore: list findings: %w: dial tcp 127.0.0.1:18532: connect: connection refused", store.ErrUnavailable),
		fmt.Errorf("sqlstore: get scan job: %w: %w", store.ErrUnavailable, store.ErrNotFound),
	} {
		w := httptest.NewRecorder()
		s.fail(w, httptest.NewRequest("GET", "/api/v1/findings", nil), err)
		if w.Code != 503 || w.Header().Get("Retry-After") == "" {
			t.Fatalf("%v: status %d, Retry-After %q, body %s", err, w.Code, w.Header().Get("Retry-After"), w.Body)
		}
		if e := classify(err); e.Code != CodeUnavailable {
			t.Fatalf("%v: code %s", err, e.Code)
		}
	}
}
