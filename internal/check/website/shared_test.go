package website_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rampart-cert/rampart/internal/check"
	rhttp "github.com/rampart-cert/rampart/internal/check/http"
	"github.com/rampart-cert/rampart/internal/check/http/site"
	"github.com/rampart-cert/rampart/internal/check/website"
)

// Both families, run concurrently on one target with the scan-wide site
// cache, send "GET /" once as the scanner (and once as Googlebot).
func TestFamiliesShareOnePageFetch(t *testing.T) {
	var browser, bot atomic.Int32
	p := &page{body: cleanPage}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A TRACE or a CORS probe (Origin set) is not a page fetch.
		if r.URL.Path == "/" && r.Method == http.MethodGet && r.Header.Get("Origin") == "" {
			if strings.Contains(r.UserAgent(), "Googlebot") {
				bot.Add(1)
			} else {
				browser.Add(1)
			}
		}
		p.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	env := newEnv(loopback{"sovhtt.gov.vn:80": s.Listener.Addr().String()}, website.NewMemoryBaselines())
	checks := append(rhttp.Checks(site.NewCache()), website.Checks(site.NewCache(), nil)...)
	var wg sync.WaitGroup
	for _, c := range checks {
		wg.Add(1)
		go func(c check.Check) {
			defer wg.Done()
			if _, err := c.Run(context.Background(), env, target); err != nil && !errors.Is(err, website.ErrBaselineTaken) {
				t.Errorf("%s: %v", c.Meta().ID, err)
			}
		}(c)
	}
	wg.Wait()
	if browser.Load() != 1 || bot.Load() != 1 {
		t.Errorf("GET / sent %d times as the scanner and %d as Googlebot, want 1 and 1", browser.Load(), bot.Load())
	}
}
