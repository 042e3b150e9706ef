package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/blocklist"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/store"
)

// intelWorld adds the hub's state to the console's world: indicators of
// three feeds, sightings by CUCA and SOB, an early warning on CUCA's
// portal, a configured feed with refused rows, a failing one, an owner's
// feedback, the guard's reviews and a blocklist consumer of HN.
type intelWorld struct {
	*world
	ind      map[string]store.StoredIndicator
	feeds    map[string]store.Feed
	consumer store.Consumer
}

func newIntelWorld(t *testing.T) *intelWorld {
	t.Helper()
	w := &intelWorld{world: newWorld(t), ind: map[string]store.StoredIndicator{}, feeds: map[string]store.Feed{}}
	ctx := context.Background()
	sys := auth.SystemPrincipal
	st := w.st
	rec := func(feed string, kind intel.Kind, value string, tlp intel.TLP, cat intel.Category, conf int, labels ...string) intel.Record {
		r := intel.Record{Kind: kind, Value: value, Feed: feed, TLP: tlp, Category: cat, Confidence: conf, Labels: labels,
			FirstSeen: testNow.Add(-72 * time.Hour), LastSeen: testNow.Add(-3 * time.Hour), ExternalID: feed + "-" + value}
		if err := r.Normalize(testNow); err != nil {
			t.Fatal(err)
		}
		return r
	}
	recs := []intel.Record{
		rec("urlhaus", intel.KindIPv4, "203.0.113.5", intel.TLPGreen, intel.CategoryC2, 80, "malware:emotet"),
		rec("openphish", intel.KindDomain, "portal.cuca.example.vn", intel.TLPClear, intel.CategoryPhishing, 90),
		rec("partner-cert", intel.KindIPv4, "198.51.100.9", intel.TLPAmberStrict, intel.CategoryCompromised, 70),
		rec("urlhaus", intel.KindCIDR, "10.0.0.0/8", intel.TLPClear, intel.CategoryScanner, 40),
		rec("partner-cert", intel.KindIPv4, "203.0.113.5", intel.TLPGreen, intel.CategoryC2, 60),
	}
	// Feeds named first, so their IDs do not depend on the order the
	// store creates feeds a batch names.
	for _, name := range []string{"urlhaus", "openphish", "partner-cert"} {
		if err := st.CreateFeed(ctx, sys, &store.Feed{Name: name, TLP: intel.TLPAmber}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.ApplyIndicators(ctx, sys, recs); err != nil {
		t.Fatal(err)
	}
	if err := st.EachIndicator(ctx, sys, store.IndicatorFilter{}, func(si store.StoredIndicator) error {
		w.ind[si.Value] = si
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, sg := range []struct {
		org string
		n   int
	}{{"SOB", 4}, {"CUCA", 2}} {
		if _, err := st.RecordSighting(ctx, sys, store.Sighting{IndicatorID: w.ind["203.0.113.5"].ID, OrgID: w.orgs[sg.org].ID, Count: sg.n,
			FirstSeen: testNow.Add(-48 * time.Hour), LastSeen: testNow.Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	a1 := w.assets["a1"]
	ev, _ := json.Marshal(map[string]any{"feed": "openphish", "seen": testNow.Add(-3 * time.Hour).Format(time.RFC3339), "tlp": "CLEAR",
		"indicator": map[string]string{"kind": "domain", "value": "portal.cuca.example.vn"}, "category": "phishing"})
	if _, err := st.RecordFindings(ctx, store.FindingBatch{Source: finding.SourceIntel, Ref: "openphish", JobID: "run-openphish-1", At: testNow.Add(-3 * time.Hour),
		Policy: finding.DefaultPolicy, Seen: []store.Finding{{OrgID: a1.OrgID, AssetID: a1.ID, Check: intel.FindingMaliciousContent, Family: "intel",
			Severity: finding.High, Target: "portal.cuca.example.vn", Title: "phishing content on portal.cuca.example.vn, reported by openphish", Evidence: ev}}}); err != nil {
		t.Fatal(err)
	}
	uh, err := st.GetFeedByName(ctx, sys, "urlhaus")
	if err != nil {
		t.Fatal(err)
	}
	uh.Format, uh.Preset, uh.Location, uh.Interval, uh.Enabled, uh.TLP, uh.Analyst = store.FeedCSV, "urlhaus", "https://urlhaus.example.org/csv_recent/", time.Hour, true, intel.TLPGreen, "analyst-an"
	if err := st.UpdateFeed(ctx, sys, &uh); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RecordFeedRun(ctx, sys, "urlhaus", store.FeedRun{At: testNow.Add(-2 * time.Hour), Records: 12, New: 2, Updated: 1, Rejected: 2, Hits: 0,
		Rejections: []intel.Rejection{{Where: "line 7", Reason: "\"999.1.2.3\" is not an IP address"}, {Where: "line 9", Reason: "column 2: no value"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RecordFeedRun(ctx, sys, "partner-cert", store.FeedRun{At: testNow.Add(-90 * time.Minute), Err: "hub: fetch failed: 503 Service Unavailable"}); err != nil {
		t.Fatal(err)
	}
	fs, err := st.ListFeeds(ctx, sys)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		w.feeds[f.Name] = f
	}
	page, err := st.ListFindings(ctx, sys, store.FindingFilter{Check: "intel."})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("early warning: %v %v", err, page.Items)
	}
	if _, err := st.AddFeedback(ctx, store.Feedback{EventID: "ev-1", Feed: "openphish", FindingID: page.Items[0].ID, OrgID: a1.OrgID,
		Kind: intel.FindingMaliciousContent, Target: "portal.cuca.example.vn", Action: "request-false-positive",
		Reason: "the page is our own login form", Actor: "cuca", At: testNow.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// The guard holds back the private range and CUCA's portal.
	if _, err := w.srv.Blocklists.List(ctx); err != nil {
		t.Fatal(err)
	}
	w.consumer = store.Consumer{Name: "fw-hanoi", KeyHash: strings.Repeat("ab", 32), OrgID: w.orgs["HN"].ID, Kinds: []intel.Kind{intel.KindIPv4, intel.KindCIDR},
		MinConfidence: 50, MaxTLP: intel.TLPGreen, MaxAge: 30 * 24 * time.Hour, Formats: []string{"nft"}, Enabled: true}
	if err := st.CreateConsumer(ctx, sys, &w.consumer); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestIntelGoldenPages(t *testing.T) {
	w := newIntelWorld(t)
	c := w.client()
	c.login("admin", "")
	pages := map[string]string{
		"intel":           "/intel",
		"intel_indicator": fmt.Sprintf("/intel/indicators/%d", w.ind["203.0.113.5"].ID),
		"intel_warnings":  "/intel/warnings",
		"intel_feeds":     "/intel/feeds",
		"intel_feed":      fmt.Sprintf("/intel/feeds/%d", w.feeds["urlhaus"].ID),
		"intel_reviews":   "/intel/reviews",
		"intel_consumers": "/intel/consumers",
		"intel_feed_form": fmt.Sprintf("/intel/feeds/%d/edit", w.feeds["urlhaus"].ID),
	}
	for _, lang := range []string{"vi", "en"} {
		for name, path := range pages {
			code, body := c.get(path + "?lang=" + lang)
			if code != 200 {
				t.Fatalf("%s: %d\n%s", path, code, body)
			}
			golden(t, name+"."+lang+".html", body)
		}
	}
	// What a member sees.
	m := w.client()
	m.login("sob", "")
	_, body := m.get(fmt.Sprintf("/intel/indicators/%d?lang=vi", w.ind["203.0.113.5"].ID))
	golden(t, "intel_indicator.member.vi.html", body)
}

func TestIntelPagesContent(t *testing.T) {
	w := newIntelWorld(t)
	admin := w.client()
	admin.login("admin", "")
	_, body := admin.get("/intel?lang=en")
	for _, want := range []string{"203.0.113.5", "198.51.100.9", "portal.cuca.example.vn", "partner-cert, urlhaus", "TLP:AMBER&#43;STRICT", "malware:emotet"} {
		if !strings.Contains(body, want) {
			t.Errorf("the analyst's indicator list lacks %q", want)
		}
	}
	_, body = admin.get("/intel?lang=en&kind=ipv4&tlp=GREEN")
	if !strings.Contains(body, "203.0.113.5") || strings.Contains(body, "198.51.100.9") || strings.Contains(body, "10.0.0.0/8") {
		t.Errorf("filter kind=ipv4 tlp<=GREEN:\n%s", body)
	}
	_, body = admin.get(fmt.Sprintf("/intel/feeds/%d?lang=en", w.feeds["urlhaus"].ID))
	for _, want := range []string{"line 7", "is not an IP address", "Run now"} {
		if !strings.Contains(body, want) {
			t.Errorf("the feed page lacks %q", want)
		}
	}
	_, body = admin.get(fmt.Sprintf("/intel/feeds/%d?lang=en", w.feeds["openphish"].ID))
	if !strings.Contains(body, "the page is our own login form") {
		t.Error("the feed page lacks the owner's feedback")
	}
	_, body = admin.get("/intel/feeds?lang=en")
	if !strings.Contains(body, "503 Service Unavailable") || !strings.Contains(body, "Failed 1 times in a row") {
		t.Errorf("the feeds page does not show the failing feed:\n%s", body)
	}
	_, body = admin.get("/intel/reviews?lang=vi")
	if !strings.Contains(body, "sẽ chặn portal.cuca.example.vn của CUCA") || !strings.Contains(body, "địa chỉ riêng") {
		t.Errorf("the review queue lacks the reasons in Vietnamese:\n%s", body)
	}

	// A member: TLP CLEAR and GREEN, its own subtree's sightings, no
	// national pages.
	sob := w.client()
	sob.login("sob", "")
	_, body = sob.get("/intel?lang=en")
	if !strings.Contains(body, `href="/intel"`) || !strings.Contains(body, "203.0.113.5") || strings.Contains(body, "198.51.100.9") {
		t.Errorf("the member's indicator list:\n%s", body)
	}
	if strings.Contains(body, `href="/intel/feeds"`) || strings.Contains(body, `href="/intel/reviews"`) {
		t.Error("a member sees the national pages in the navigation")
	}
	_, body = sob.get(fmt.Sprintf("/intel/indicators/%d?lang=en", w.ind["203.0.113.5"].ID))
	if !strings.Contains(body, "Secret Office") || strings.Contains(body, "Security Department") {
		t.Errorf("the member sees another organization's sighting:\n%s", body)
	}
	if code, _ := sob.get(fmt.Sprintf("/intel/indicators/%d", w.ind["198.51.100.9"].ID)); code != http.StatusNotFound {
		t.Errorf("a member opens an AMBER+STRICT indicator: %d", code)
	}
	for _, p := range []string{"/intel/feeds", "/intel/reviews", "/intel/consumers", fmt.Sprintf("/intel/feeds/%d", w.feeds["urlhaus"].ID)} {
		if code, _ := sob.get(p); code != http.StatusForbidden {
			t.Errorf("member GET %s: %d", p, code)
		}
	}
	_, body = sob.get("/intel/warnings?lang=en")
	if strings.Contains(body, "portal.cuca.example.vn") {
		t.Error("SOB sees CUCA's early warning")
	}
	cuca := w.client()
	cuca.login("cuca", "")
	_, body = cuca.get("/intel/warnings?lang=en")
	if !strings.Contains(body, "portal.cuca.example.vn") || !strings.Contains(body, "Security Department") {
		t.Errorf("CUCA's early warnings:\n%s", body)
	}
}

// TestIntelReviewDecision posts the review form as the console's page
// does, without a browser: the decision is stored with the note and who
// made it, and the blocklists carry the approved indicator at once.
func TestIntelReviewDecision(t *testing.T) {
	w := newIntelWorld(t)
	ctx := context.Background()
	sys := auth.SystemPrincipal
	pg, err := w.st.ListReviews(ctx, sys, store.ReviewFilter{State: store.ReviewPending})
	if err != nil {
		t.Fatal(err)
	}
	var portal, private store.Review
	for _, rv := range pg.Items {
		switch rv.Value {
		case "portal.cuca.example.vn":
			portal = rv
		case "10.0.0.0/8":
			private = rv
		}
	}
	if portal.ID == 0 || private.ID == 0 {
		t.Fatalf("reviews %+v", pg.Items)
	}
	inList := func(v string) bool {
		l, err := w.srv.Blocklists.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := l.Render(&buf, blocklist.FormatPlain, &blocklist.Consumer{Name: "t", MaxTLP: intel.TLPAmber}, testNow); err != nil {
			t.Fatal(err)
		}
		return strings.Contains(buf.String(), v+"\n")
	}
	if inList("portal.cuca.example.vn") {
		t.Fatal("the held portal is in the list before the decision")
	}
	// A member may not decide.
	sob := w.client()
	sob.login("sob", "")
	tok := sob.csrf("/intel")
	resp, _ := sob.post(fmt.Sprintf("/intel/reviews/%d", portal.ID), url.Values{"csrf": {tok}, "decision": {"approve"}}, w.ts.URL)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("member decision: %d", resp.StatusCode)
	}
	admin := w.client()
	admin.login("admin", "")
	tok = admin.csrf("/intel/reviews")
	// Without the console's origin: refused.
	resp, _ = admin.post(fmt.Sprintf("/intel/reviews/%d", portal.ID), url.Values{"csrf": {tok}, "decision": {"approve"}}, "https://evil.example")
	if resp.StatusCode < 400 {
		t.Errorf("cross-origin decision: %d", resp.StatusCode)
	}
	resp, body := admin.post(fmt.Sprintf("/intel/reviews/%d", portal.ID), url.Values{"csrf": {tok}, "decision": {"approve"}, "note": {"the portal is compromised; block it"}}, w.ts.URL)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/intel/reviews?ok=flash.reviewapproved" {
		t.Fatalf("approve: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	got, err := w.st.GetReview(ctx, sys, portal.ID)
	if err != nil || got.State != store.ReviewApproved || got.Note != "the portal is compromised; block it" || got.DecidedBy == "" {
		t.Errorf("stored %+v %v", got, err)
	}
	if !inList("portal.cuca.example.vn") {
		t.Error("the approved portal is not in the list")
	}
	// An approved private range still stays out; a bad decision is refused.
	resp, _ = admin.post(fmt.Sprintf("/intel/reviews/%d", private.ID), url.Values{"csrf": {tok}, "decision": {"approve"}}, w.ts.URL)
	if resp.StatusCode != http.StatusSeeOther || inList("10.0.0.0/8") {
		t.Errorf("approved private range: %d, in list %v", resp.StatusCode, inList("10.0.0.0/8"))
	}
	resp, _ = admin.post(fmt.Sprintf("/intel/reviews/%d", portal.ID), url.Values{"csrf": {tok}, "decision": {"maybe"}}, w.ts.URL)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("decision maybe: %d", resp.StatusCode)
	}
	resp, _ = admin.post(fmt.Sprintf("/intel/reviews/%d", portal.ID), url.Values{"csrf": {tok}, "decision": {"reject"}, "state": {"all"}}, w.ts.URL)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/intel/reviews?state=all&ok=flash.reviewrejected" || inList("portal.cuca.example.vn") {
		t.Errorf("reject: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

var keyRE = regexp.MustCompile(`rpb_[A-Za-z0-9_-]{20,}`)

// TestIntelConsumerKeyOnce creates a consumer in the console: its key is
// on the answer to the form and nowhere after, and it pulls a list.
func TestIntelConsumerKeyOnce(t *testing.T) {
	w := newIntelWorld(t)
	admin := w.client()
	admin.login("admin", "")
	tok := admin.csrf("/intel/consumers")
	resp, body := admin.post("/intel/consumers?lang=en", url.Values{"csrf": {tok}, "name": {"resolver-btt"}, "org_code": {"BTT"},
		"kind": {"domain"}, "min_confidence": {"60"}, "max_tlp": {"AMBER"}, "max_age_days": {"14"}, "format": {"rpz", "plain"}}, w.ts.URL)
	if resp.StatusCode != 200 {
		t.Fatalf("create: %d\n%s", resp.StatusCode, body)
	}
	key := keyRE.FindString(body)
	if key == "" {
		t.Fatalf("no key on the page:\n%s", body)
	}
	_, after := admin.get("/intel/consumers?lang=en")
	if strings.Contains(after, key) || !strings.Contains(after, "resolver-btt") {
		t.Error("the key is shown again, or the consumer is not listed")
	}
	lc, err := w.srv.Blocklists.Lookup(context.Background(), key)
	if err != nil || lc.Name != "resolver-btt" || lc.MinConfidence != 60 || lc.MaxTLP != intel.TLPAmber || !lc.Allows(blocklist.FormatRPZ) || lc.Allows(blocklist.FormatNFT) {
		t.Errorf("the new key finds %+v (%v)", lc, err)
	}
	// Bad input keeps the page with an error; a member may not create.
	resp, _ = admin.post("/intel/consumers", url.Values{"csrf": {tok}, "name": {"x"}, "format": {"pdf"}}, w.ts.URL)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad format: %d", resp.StatusCode)
	}
	sob := w.client()
	sob.login("sob", "")
	stok := sob.csrf("/intel")
	if resp, _ := sob.post("/intel/consumers", url.Values{"csrf": {stok}, "name": {"mine"}}, w.ts.URL); resp.StatusCode != http.StatusForbidden {
		t.Errorf("member create: %d", resp.StatusCode)
	}
}

// TestIntelCatalogKeys checks the keys the pages build from enumerations.
func TestIntelCatalogKeys(t *testing.T) {
	c, err := loadCatalogs()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, k := range intel.Kinds {
		keys = append(keys, "intel.kind."+string(k))
	}
	for _, k := range intel.Categories {
		keys = append(keys, "intel.cat."+string(k))
	}
	for _, s := range reviewStates {
		keys = append(keys, "intel.review."+s)
	}
	keys = append(keys, "role."+string(auth.RoleFeedProducer))
	for _, lang := range []string{"vi", "en"} {
		for _, k := range keys {
			if !c.get(lang).Has(k) {
				t.Errorf("%s catalog lacks %q", lang, k)
			}
		}
	}
}
