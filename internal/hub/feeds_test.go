package hub_test

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/hub"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/store"
)

// loopback serves h on 127.0.0.1 (port 0, read back).
func loopback(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("loopback listener: %v", err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestFeedFromURLRunsOnItsIntervalAndBacksOff(t *testing.T) {
	w := newWorld(t, true)
	ctx := t.Context()
	body, err := os.ReadFile(filepath.Join("testdata", "shadowserver", "blocklist.csv"))
	must(t, err)
	var fail atomic.Bool
	var hits atomic.Int32
	url := loopback(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if fail.Load() {
			http.Error(rw, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		rw.Write(body)
	}))
	f := store.Feed{Name: "ss-blocklist", Format: store.FeedShadowserver, Preset: "blocklist", Location: url + "/2026-12-01-blocklist-vn.csv",
		Interval: time.Hour, Enabled: true}
	must(t, w.hub.AddFeed(ctx, sys, &f))

	n, err := w.hub.Tick(ctx)
	must(t, err)
	got, err := w.hub.Feed(ctx, sys, "ss-blocklist")
	must(t, err)
	if n != 1 || got.LastOK == nil || got.Records != 3 || got.Hits != 2 || got.Failures != 0 {
		t.Fatalf("first tick ran %d: %+v", n, got)
	}
	// Not due again before its interval.
	if n, _ := w.hub.Tick(ctx); n != 0 {
		t.Fatalf("ran again at once: %d", n)
	}
	fail.Store(true)
	w.now = w.now.Add(time.Hour)
	if n, _ := w.hub.Tick(ctx); n != 1 {
		t.Fatal("not run after its interval")
	}
	got, err = w.hub.Feed(ctx, sys, "ss-blocklist")
	must(t, err)
	if got.Failures != 1 || !strings.Contains(got.LastError, "HTTP 503") || got.Records != 3 || got.LastOK.After(*got.LastRun) {
		t.Fatalf("after a failed fetch: %+v", got)
	}
	// Retried after a minute, then two, … never more than the interval.
	if hub.Due(got, w.now.Add(59*time.Second)) || !hub.Due(got, w.now.Add(time.Minute)) {
		t.Fatal("first retry is not after a minute")
	}
	for i, want := range map[int]time.Duration{1: time.Minute, 2: 2 * time.Minute, 3: 4 * time.Minute, 7: time.Hour, 40: time.Hour} {
		if b := hub.Backoff(i, time.Hour); b != want {
			t.Errorf("Backoff(%d) = %v, want %v", i, b, want)
		}
	}
	fail.Store(false)
	w.now = w.now.Add(time.Minute)
	run, err := w.hub.RunFeed(ctx, sys, "ss-blocklist")
	must(t, err)
	got, err = w.hub.Feed(ctx, sys, "ss-blocklist")
	must(t, err)
	if run.Err != "" || got.Failures != 0 || got.LastError != "" {
		t.Fatalf("recovered: %+v / %+v", run, got)
	}
	if hits.Load() != 3 {
		t.Fatalf("%d fetches, want 3", hits.Load())
	}
	// Only the national level runs feeds.
	if _, err := w.hub.RunFeed(ctx, orgAdmin(w.a), "ss-blocklist"); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("org admin runs a feed: %v", err)
	}
}

func TestFeedFetchIsBounded(t *testing.T) {
	w := newWorld(t, false)
	ctx := t.Context()
	big := strings.Repeat("192.0.2.1\n", 1000)
	url := loopback(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(2 * time.Second)
		}
		rw.Write([]byte(big))
	}))
	h := hub.New(hub.Deps{Store: w.st, Findings: w.svc, MaxFetch: 1000, FetchTimeout: 300 * time.Millisecond, Now: func() time.Time { return w.now }})
	for name, loc := range map[string]string{"big": url + "/list.txt", "slow": url + "/slow"} {
		f := store.Feed{Name: name, Format: store.FeedCSV, Preset: "plain-ip", Location: loc, Interval: time.Hour, Enabled: true}
		must(t, h.AddFeed(ctx, sys, &f))
		run, err := h.RunFeed(ctx, sys, name)
		if !errors.Is(err, hub.ErrFetch) {
			t.Fatalf("%s: run %+v, err %v", name, run, err)
		}
		got, gerr := h.Feed(ctx, sys, name)
		must(t, gerr)
		if got.Failures != 1 || got.LastError == "" {
			t.Fatalf("%s: failure not shown: %+v (run err %v)", name, got, err)
		}
	}
	got, _ := h.Feed(ctx, sys, "big")
	if !strings.Contains(got.LastError, "larger than 1000 bytes") {
		t.Fatalf("size cap: %q", got.LastError)
	}
}

func TestFeedFromFileAndBadConfig(t *testing.T) {
	w := newWorld(t, false)
	ctx := t.Context()
	abs, err := filepath.Abs(filepath.Join("testdata", "misp", "own"))
	must(t, err)
	f := store.Feed{Name: "partner", Format: store.FeedMISP, Location: abs, TLP: intel.TLPAmber}
	must(t, w.hub.AddFeed(ctx, sys, &f))
	run, err := w.hub.RunFeed(ctx, sys, "partner")
	must(t, err)
	if run.Records != 4 || run.Hits != 2 {
		t.Fatalf("MISP directory feed: %+v", run)
	}
	missing := store.Feed{Name: "gone", Format: store.FeedCSV, Preset: "plain-ip", Location: filepath.Join(t.TempDir(), "nope.txt")}
	must(t, w.hub.AddFeed(ctx, sys, &missing))
	if _, err := w.hub.RunFeed(ctx, sys, "gone"); !errors.Is(err, hub.ErrFetch) {
		t.Fatalf("missing file: %v", err)
	}
	if got, _ := w.hub.Feed(ctx, sys, "gone"); got.Failures != 1 || !strings.Contains(got.LastError, "nope.txt") {
		t.Fatalf("missing file not shown: %+v", got)
	}
	taxii := store.Feed{Name: "partner-taxii", Format: store.FeedTAXII, Location: "https://taxii.example/api/collections/x/"}
	must(t, w.hub.AddFeed(ctx, sys, &taxii))
	if _, err := w.hub.RunFeed(ctx, sys, "partner-taxii"); err == nil || !strings.Contains(err.Error(), "TAXII") {
		t.Fatalf("TAXII feed without a client: %v", err)
	}
	for _, bad := range []store.Feed{
		{Name: "x", Format: store.FeedCSV, Location: "ftp://example/list"},
		{Name: "y", Format: store.FeedTAXII, Location: "/srv/collection"},
	} {
		if err := w.hub.AddFeed(ctx, sys, &bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s accepted: %v", bad.Location, err)
		}
	}
	noLoc := store.Feed{Name: "push-only"}
	must(t, w.hub.AddFeed(ctx, sys, &noLoc))
	if _, err := w.hub.RunFeed(ctx, sys, "push-only"); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("feed without a location: %v", err)
	}
	// A bad preset is the feed's error too.
	badPreset := store.Feed{Name: "typo", Format: store.FeedCSV, Preset: "urlhause", Location: abs}
	must(t, w.hub.AddFeed(ctx, sys, &badPreset))
	if _, err := w.hub.RunFeed(ctx, sys, "typo"); !errors.Is(err, hub.ErrFormat) {
		t.Fatalf("bad preset: %v", err)
	}
}

// A TAXII feed polls its collection with the token its options name, from
// its last success, and warns the owners like any feed.
func TestTAXIIFeed(t *testing.T) {
	w := newWorld(t, false)
	ctx := t.Context()
	raw, err := os.ReadFile(filepath.Join("testdata", "stix", "indicator-for-malicious-url.json"))
	must(t, err)
	var bundle struct {
		Objects []json.RawMessage `json:"objects"`
	}
	must(t, json.Unmarshal(raw, &bundle))
	var (
		auth, after atomic.Value
		polls       atomic.Int32
	)
	url := loopback(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api1/collections/c1/objects/" {
			http.NotFound(rw, r)
			return
		}
		polls.Add(1)
		auth.Store(r.Header.Get("Authorization"))
		after.Store(r.URL.Query().Get("added_after"))
		rw.Header().Set("Content-Type", "application/taxii+json;version=2.1")
		rw.Header().Set("X-TAXII-Date-Added-Last", "2026-12-01T00:00:00.000Z")
		json.NewEncoder(rw).Encode(map[string]any{"more": false, "objects": bundle.Objects})
	}))
	h := hub.New(hub.Deps{Store: w.st, Findings: w.svc, TAXII: &hub.TAXIIPolling{Getenv: func(k string) string {
		return map[string]string{"PARTNER_TOKEN": "s3cret"}[k]
	}}, Now: func() time.Time { return w.now }})
	f := store.Feed{Name: "partner-taxii", Format: store.FeedTAXII, Location: url + "/api1/collections/c1/", Options: `{"token_env": "PARTNER_TOKEN"}`,
		Interval: time.Hour, Enabled: true}
	must(t, h.AddFeed(ctx, sys, &f))
	run, err := h.RunFeed(ctx, sys, "partner-taxii")
	must(t, err)
	if run.Records != 1 || run.Hits != 1 || auth.Load() != "Bearer s3cret" || after.Load() != "" {
		t.Fatalf("first poll: %+v, auth %v, added_after %q", run, auth.Load(), after.Load())
	}
	if _, ok := w.warnings(t)[intel.FindingMaliciousContent+" x4z9arb.cn [http://x4z9arb.cn/4712/]"]; !ok {
		t.Fatalf("no early warning from TAXII: %v", keys(w.warnings(t)))
	}
	w.now = w.now.Add(2 * time.Hour)
	if _, err := h.RunFeed(ctx, sys, "partner-taxii"); err != nil {
		t.Fatal(err)
	}
	if a, _ := after.Load().(string); !strings.HasPrefix(a, w.now.Add(-2*time.Hour-hub.TAXIIOverlap).Format("2006-01-02T15:04")) {
		t.Fatalf("second poll asked added_after %q", a)
	}
	// A missing secret is the feed's error.
	bad := store.Feed{Name: "no-secret", Format: store.FeedTAXII, Location: url + "/api1/collections/c1/", Options: `{"token_env": "NOPE"}`}
	must(t, h.AddFeed(ctx, sys, &bad))
	if _, err := h.RunFeed(ctx, sys, "no-secret"); !errors.Is(err, hub.ErrFetch) || !strings.Contains(err.Error(), "NOPE") {
		t.Fatalf("missing secret: %v", err)
	}
	if polls.Load() != 2 {
		t.Fatalf("%d polls", polls.Load())
	}
}
