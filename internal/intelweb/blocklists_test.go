package intelweb_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/blocklist"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/intelweb"
	"github.com/rampart-cert/rampart/internal/store"
)

// plain renders the list for a national consumer that takes everything
// machines may have, and returns its lines without comments.
func plain(t *testing.T, l *blocklist.List) []string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := l.Render(&buf, blocklist.FormatPlain, &blocklist.Consumer{Name: "all", MaxTLP: intel.TLPAmberStrict}, now); err != nil {
		t.Fatal(err)
	}
	var out []string
	for line := range strings.Lines(buf.String()) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	slices.Sort(out)
	return out
}

func TestBlocklistGuardAndReviews(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	b := intelweb.NewBlocklists(w.st, intelweb.BlocklistOptions{Now: func() time.Time { return now }})
	l, err := b.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Out: the private range, A's registered name, the address in A's
	// range; RED is never rendered.
	want := []string{"203.0.113.5", "203.0.113.6", "203.0.113.9", "phish.example.net"}
	if got := plain(t, l); !slices.Equal(got, want) {
		t.Fatalf("list %v, want %v", got, want)
	}
	if b.Held() != 3 {
		t.Errorf("held %d, want 3", b.Held())
	}
	sys := auth.SystemPrincipal
	pg, err := w.st.ListReviews(ctx, sys, store.ReviewFilter{State: store.ReviewPending})
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]store.Review{}
	for _, r := range pg.Items {
		reasons[r.Value] = r
	}
	if len(reasons) != 3 {
		t.Fatalf("reviews %v", pg.Items)
	}
	for v, want := range map[string]string{
		"a.example.vn": "would block a.example.vn of A", "198.51.100.7": "would block 198.51.100.0/24 of A", "10.0.0.0/8": "private addresses",
	} {
		if !strings.Contains(reasons[v].Reason, want) {
			t.Errorf("review of %s: reason %q lacks %q", v, reasons[v].Reason, want)
		}
	}
	// The same build again queues nothing new.
	b.Invalidate()
	if _, err := b.List(ctx); err != nil {
		t.Fatal(err)
	}
	if pg2, _ := w.st.ListReviews(ctx, sys, store.ReviewFilter{}); len(pg2.Items) != 3 {
		t.Errorf("%d reviews after a second build", len(pg2.Items))
	}
	// An analyst approves the registered name and the private range:
	// the name is exported after the decision, the private range never.
	for _, v := range []string{"a.example.vn", "10.0.0.0/8"} {
		if _, err := w.st.DecideReview(ctx, sys, reasons[v].ID, true, "checked"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.st.DecideReview(ctx, sys, reasons["198.51.100.7"].ID, false, "our own"); err != nil {
		t.Fatal(err)
	}
	b.Invalidate()
	l, err = b.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"203.0.113.5", "203.0.113.6", "203.0.113.9", "a.example.vn", "phish.example.net"}
	if got := plain(t, l); !slices.Equal(got, want) {
		t.Errorf("after the decisions: %v, want %v", got, want)
	}
	// The reason in both languages, for the review page.
	rv, held, err := b.Check(ctx, intel.KindDomain, "a.example.vn")
	if err != nil || !held || !strings.Contains(rv.Reason.VI, "sẽ chặn a.example.vn của A") {
		t.Errorf("check: %v %v %+v", err, held, rv)
	}
}

func TestBlocklistHandlerWithConsumerKey(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	b := intelweb.NewBlocklists(w.st, intelweb.BlocklistOptions{Now: func() time.Time { return now }})
	key := "rpb_test-key-of-the-firewall-0123456789"
	c := store.Consumer{Name: "fw-b", KeyHash: intelweb.HashKey(key), OrgID: w.orgs["B"].ID, MaxTLP: intel.TLPRed,
		Formats: []string{"plain", "nft"}, Enabled: true}
	if err := w.st.CreateConsumer(ctx, auth.SystemPrincipal, &c); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.StripPrefix("/blocklists", b.Handler()))
	defer srv.Close()
	get := func(path, key, inm string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if key != "" {
			req.Header.Set("X-Api-Key", key)
		}
		if inm != "" {
			req.Header.Set("If-None-Match", inm)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	resp, body := get("/blocklists/plain", key, "")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	// A member's consumer gets at most AMBER: not B's own AMBER+STRICT
	// address, whatever its filter says.
	if !strings.Contains(body, "203.0.113.6\n") || strings.Contains(body, "203.0.113.9") || strings.Contains(body, "evil.example.com") {
		t.Errorf("body:\n%s", body)
	}
	etag := resp.Header.Get("ETag")
	if resp, _ := get("/blocklists/plain", key, etag); resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", resp.StatusCode)
	}
	if resp, _ := get("/blocklists/"+key+"/plain.txt", "", ""); resp.StatusCode != 200 || resp.Header.Get("ETag") != etag {
		t.Errorf("key in the path: %d, ETag %q vs %q", resp.StatusCode, resp.Header.Get("ETag"), etag)
	}
	if resp, _ := get("/blocklists/csv", key, ""); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a format the consumer may not pull: %d", resp.StatusCode)
	}
	if resp, _ := get("/blocklists/plain", "rpb_wrong", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unknown key: %d", resp.StatusCode)
	}
	// A new indicator changes the list and its ETag.
	r := intel.Record{Kind: intel.KindIPv4, Value: "203.0.113.77", Feed: "test-feed", TLP: intel.TLPClear}
	if err := r.Normalize(now); err != nil {
		t.Fatal(err)
	}
	if _, err := w.st.ApplyIndicators(ctx, auth.SystemPrincipal, []intel.Record{r}); err != nil {
		t.Fatal(err)
	}
	resp, body = get("/blocklists/plain", key, etag)
	if resp.StatusCode != 200 || !strings.Contains(body, "203.0.113.77") || resp.Header.Get("ETag") == etag {
		t.Errorf("after a new indicator: %d, ETag %q", resp.StatusCode, resp.Header.Get("ETag"))
	}
	// A disabled consumer's key stops working.
	c.Enabled = false
	if err := w.st.UpdateConsumer(ctx, auth.SystemPrincipal, &c); err != nil {
		t.Fatal(err)
	}
	if resp, _ := get("/blocklists/plain", key, ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("disabled consumer: %d", resp.StatusCode)
	}
}

func TestConsumerOf(t *testing.T) {
	for _, c := range []struct {
		in   store.Consumer
		tlp  intel.TLP
		fmts []blocklist.Format
	}{
		{store.Consumer{Name: "n", MaxTLP: intel.TLPAmberStrict}, intel.TLPAmberStrict, nil},
		{store.Consumer{Name: "m", OrgID: 4, MaxTLP: intel.TLPAmberStrict}, intel.TLPAmber, nil},
		{store.Consumer{Name: "m", OrgID: 4, MaxTLP: intel.TLPGreen, Formats: []string{"rpz"}}, intel.TLPGreen, []blocklist.Format{blocklist.FormatRPZ}},
		{store.Consumer{Name: "e"}, intel.TLPClear, nil},
		{store.Consumer{Name: "x", Formats: []string{"bogus"}}, intel.TLPClear, []blocklist.Format{"none"}},
	} {
		got := intelweb.ConsumerOf(c.in)
		if got.MaxTLP != c.tlp || !slices.Equal(got.Formats, c.fmts) {
			t.Errorf("%+v: TLP %s formats %v, want %s %v", c.in, got.MaxTLP, got.Formats, c.tlp, c.fmts)
		}
		if len(c.fmts) == 1 && c.fmts[0] == "none" && got.Allows(blocklist.FormatPlain) {
			t.Error("a consumer naming only unknown formats may pull plain")
		}
	}
}

// Between full builds the list follows the indicators that changed: a new
// one is in, one now marked RED or already expired is out, one that now covers a
// registered asset is held for review; the result is what a full build
// makes.
func TestBlocklistFollowsChanges(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	sys := auth.SystemPrincipal
	b := intelweb.NewBlocklists(w.st, intelweb.BlocklistOptions{Now: func() time.Time { return now }})
	if _, err := b.List(ctx); err != nil {
		t.Fatal(err)
	}
	rec := func(kind intel.Kind, value string, tlp intel.TLP, mod func(*intel.Record)) intel.Record {
		r := intel.Record{Kind: kind, Value: value, Feed: "later-feed", TLP: tlp, Category: intel.CategoryC2, Confidence: 90, LastSeen: now.Add(-time.Minute)}
		if mod != nil {
			mod(&r)
		}
		if err := r.Normalize(now); err != nil {
			t.Fatal(err)
		}
		return r
	}
	_, err := w.st.ApplyIndicators(ctx, sys, []intel.Record{
		rec(intel.KindIPv4, "192.0.2.44", intel.TLPGreen, nil),                                                            // new
		rec(intel.KindIPv4, "203.0.113.5", intel.TLPRed, nil),                                                             // now RED
		rec(intel.KindIPv4, "192.0.2.45", intel.TLPAmber, func(r *intel.Record) { r.ValidUntil = now.Add(-time.Second) }), // new, expired
		rec(intel.KindDomain, "b.example.vn", intel.TLPClear, nil),                                                        // B's registered name
	})
	if err != nil {
		t.Fatal(err)
	}
	l, err := b.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"192.0.2.44", "203.0.113.6", "203.0.113.9", "phish.example.net"}
	if got := plain(t, l); !slices.Equal(got, want) {
		t.Fatalf("updated list %v, want %v", got, want)
	}
	if b.Held() != 4 {
		t.Errorf("held %d, want 4 (b.example.vn too)", b.Held())
	}
	in, _ := w.st.FindIndicator(ctx, sys, store.IndicatorKey{Kind: intel.KindDomain, Value: "b.example.vn"})
	pg, err := w.st.ListReviews(ctx, sys, store.ReviewFilter{IndicatorID: in.ID})
	if err != nil || len(pg.Items) != 1 || pg.Items[0].State != store.ReviewPending {
		t.Fatalf("review of b.example.vn: %+v %v", pg.Items, err)
	}
	// A full build agrees.
	b.Invalidate()
	full, err := b.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := plain(t, full); !slices.Equal(got, want) {
		t.Errorf("full build %v, want %v", got, want)
	}
}
