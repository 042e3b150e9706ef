package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/check/all"
	"github.com/rampart-cert/rampart/internal/discovery"
	"github.com/rampart-cert/rampart/internal/findings"
	"github.com/rampart-cert/rampart/internal/scan"
	"github.com/rampart-cert/rampart/internal/scope"
	"github.com/rampart-cert/rampart/internal/store"
)

// discoveryWorld adds discovery to the console's world: CUCA's verified
// domain with two candidates under it (a wordlist name with its
// addresses, a CT name) and HN's AS number with an announced network; the
// console's discovery service can sweep. (No runs: the store dates them
// by the real clock, which golden pages cannot show.)
type discoveryWorld struct {
	*world
	cand map[string]store.Candidate
}

func newDiscoveryWorld(t *testing.T) *discoveryWorld {
	t.Helper()
	w := &discoveryWorld{world: newWorld(t), cand: map[string]store.Candidate{}}
	ctx := context.Background()
	sys := auth.SystemPrincipal
	for _, a := range []asset.Asset{{OrgID: w.orgs["CUCA"].ID, Kind: asset.KindDomain, Value: "cuca.example.vn"},
		{OrgID: w.orgs["HN"].ID, Kind: asset.KindASN, Value: "AS64510"}} {
		if err := w.st.CreateAsset(ctx, sys, &a); err != nil {
			t.Fatal(err)
		}
		w.assets[a.Value] = a
	}
	guard := scope.New(w.st, time.Hour, nil)
	if err := guard.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	// A clock that moves a minute a call: a decision comes after the
	// proposal it answers, and pages render the same every time.
	var mu sync.Mutex
	tick := testNow.Add(-48 * time.Hour)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		tick = tick.Add(time.Minute)
		return tick
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	fs := findings.New(findings.Deps{Store: w.st, Scope: guard, Now: clock, Logger: log})
	sched := scan.NewScheduler(w.st, nil, guard, nil, scan.SchedulerConfig{Region: "default", Now: clock, Logger: log})
	svc := discovery.NewService(discovery.ServiceDeps{Store: w.st, Scope: guard, Findings: fs, Sweeper: sched, Now: clock, Logger: log,
		Invalidate: func() { _ = guard.Refresh(ctx) }})
	if _, err := svc.Propose(ctx, "run-1", []discovery.Candidate{
		{Name: "vpn.cuca.example.vn", Source: discovery.SourceWordlist, Addresses: []string{"198.51.100.20", "2001:db8::20"}, Evidence: "resolved through the wordlist"},
		{Name: "old-portal.cuca.example.vn", Source: discovery.SourceCT, Evidence: "certificate in CT log https://ct.example/2026/ entry 41"},
		{Prefix: "203.0.113.0/24", Under: "AS64510", Source: discovery.SourceRouting, Evidence: "announced by AS64510 in the routing data"},
	}); err != nil {
		t.Fatal(err)
	}
	page, err := w.st.ListCandidates(ctx, sys, store.CandidateFilter{})
	if err != nil || len(page.Items) != 3 {
		t.Fatalf("candidates %+v %v", page.Items, err)
	}
	for _, c := range page.Items {
		w.cand[c.Value] = c
	}
	reg, _ := all.Registry("")
	srv, err := New(Deps{Store: w.st, Dashboard: w.st, Guard: guard, Findings: fs, Discovery: svc, Catalog: reg.Catalog(), Logger: log, Version: "test",
		Now: func() time.Time { return testNow }, Throttle: auth.NewThrottle(3, time.Minute, time.Minute, func() time.Time { return testNow })})
	if err != nil {
		t.Fatal(err)
	}
	srv.csrfKey = []byte("a fixed key so golden pages match")
	w.srv = srv
	w.ts = httptest.NewServer(srv.Handler())
	t.Cleanup(w.ts.Close)
	return w
}

// TestDiscoveryPagesGolden renders the discovered assets for the national
// level (every candidate, the sweep form, the national run) in both
// languages, and for CUCA's administrator (CUCA's candidates, the
// decisions, CUCA's run, no sweep).
func TestDiscoveryPagesGolden(t *testing.T) {
	w := newDiscoveryWorld(t)
	admin := w.client()
	admin.login("admin", "")
	for _, lang := range []string{"vi", "en"} {
		code, body := admin.get("/discovery?lang=" + lang)
		if code != 200 {
			t.Fatalf("%s: %d", lang, code)
		}
		golden(t, "discovery."+lang+".html", body)
	}
	cuca := w.client()
	cuca.login("cuca", "")
	code, body := cuca.get("/discovery?lang=vi")
	if code != 200 {
		t.Fatalf("cuca: %d", code)
	}
	golden(t, "discovery.member.vi.html", body)
}

// TestDiscoveryPages: each user sees their subtree's candidates; the
// owner's administrators (or above) decide, which registers the asset
// and closes its finding; members do not; only the national level
// sweeps, with a reason; runs are queued by who may.
func TestDiscoveryPages(t *testing.T) {
	w := newDiscoveryWorld(t)
	ctx := context.Background()
	admin, cuca, btt, sob := w.client(), w.client(), w.client(), w.client()
	admin.login("admin", "")
	cuca.login("cuca", "")
	btt.login("btt", "")
	sob.login("sob", "")
	vpn, old, network := w.cand["vpn.cuca.example.vn"], w.cand["old-portal.cuca.example.vn"], w.cand["203.0.113.0/24"]

	_, page := cuca.get("/discovery")
	if !strings.Contains(page, "vpn.cuca.example.vn") || !strings.Contains(page, "2001:db8::20") || strings.Contains(page, "203.0.113.0/24") ||
		strings.Contains(page, `form="sweep"`) || !strings.Contains(page, "/discovery/"+strconv.FormatInt(vpn.ID, 10)+"/confirm") {
		t.Fatalf("CUCA's page:\n%s", page)
	}
	_, page = sob.get("/discovery")
	if strings.Contains(page, "cuca.example.vn") || strings.Contains(page, "203.0.113.0/24") || strings.Contains(page, "/confirm") ||
		strings.Contains(page, `action="/discovery/run"`) {
		t.Fatalf("SOB's member page:\n%s", page)
	}
	_, page = admin.get("/discovery")
	if !strings.Contains(page, "203.0.113.0/24") || !strings.Contains(page, `id="sweep"`) {
		t.Fatalf("the national page:\n%s", page)
	}
	if _, page = admin.get("/assets"); !strings.Contains(page, `href="/discovery"`) {
		t.Fatal("the assets page does not link to the discovered assets")
	}

	post := func(c *client, path string, form url.Values) (int, string) {
		t.Helper()
		form.Set("csrf", c.csrf("/discovery"))
		resp, body := c.post(path, form, w.ts.URL)
		return resp.StatusCode, resp.Header.Get("Location") + body
	}
	id := func(c store.Candidate) string { return strconv.FormatInt(c.ID, 10) }

	// A member may not decide; the owner's administrator confirms.
	if code, _ := post(sob, "/discovery/"+id(network)+"/confirm", url.Values{}); code != http.StatusNotFound && code != http.StatusForbidden {
		t.Fatalf("SOB's member confirmed HN's network: %d", code)
	}
	if code, loc := post(cuca, "/discovery/"+id(vpn)+"/confirm", url.Values{}); code != http.StatusSeeOther || !strings.Contains(loc, "flash.candidate.confirmed") {
		t.Fatalf("confirm: %d %s", code, loc)
	}
	got, err := w.st.GetCandidate(ctx, auth.SystemPrincipal, vpn.ID)
	if err != nil || got.State != store.CandidateConfirmed || got.RegisteredAssetID == 0 {
		t.Fatalf("confirmed %+v %v", got, err)
	}
	a, err := w.st.GetAsset(ctx, auth.SystemPrincipal, got.RegisteredAssetID)
	if err != nil || a.State != asset.StateVerified || a.Value != "vpn.cuca.example.vn" {
		t.Fatalf("registered %+v %v", a, err)
	}
	fp, err := w.st.ListFindings(ctx, auth.SystemPrincipal, store.FindingFilter{Check: discovery.FindingKind})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fp.Items {
		if want := f.Target != "vpn.cuca.example.vn"; f.State.Active() != want {
			t.Errorf("finding on %s is %s", f.Target, f.State)
		}
	}

	// Sweeps: not CUCA, not without a reason; the national level may.
	if code, _ := post(cuca, "/discovery/sweep", url.Values{"id": {id(old)}, "reason": {"curious"}}); code != http.StatusForbidden {
		t.Fatalf("CUCA swept: %d", code)
	}
	if code, _ := post(admin, "/discovery/sweep", url.Values{"id": {id(old)}}); code != http.StatusBadRequest {
		t.Fatalf("a sweep without a reason: %d", code)
	}
	if code, loc := post(admin, "/discovery/sweep", url.Values{"id": {id(old)}, "reason": {"expired portal, takeover risk"}}); code != http.StatusSeeOther || !strings.Contains(loc, "flash.swept") {
		t.Fatalf("sweep: %d %s", code, loc)
	}
	jobs, err := w.st.ListScanJobs(ctx, auth.SystemPrincipal, store.JobFilter{})
	if err != nil || len(jobs.Items) != 1 || jobs.Items[0].Target != "old-portal.cuca.example.vn" || jobs.Items[0].Reason != scan.SweepReason {
		t.Fatalf("scan jobs %+v %v", jobs.Items, err)
	}
	// The level above rejects it.
	if code, loc := post(btt, "/discovery/"+id(old)+"/reject", url.Values{"reason": {"a retired test portal"}}); code != http.StatusSeeOther || !strings.Contains(loc, "flash.candidate.rejected") {
		t.Fatalf("reject: %d %s", code, loc)
	}
	if _, page = cuca.get("/discovery?state=rejected"); !strings.Contains(page, "a retired test portal") {
		t.Fatalf("rejected list:\n%s", page)
	}

	// Runs: the national level over everything, an administrator over
	// their own organization; each sees the runs of their subtree.
	if code, loc := post(admin, "/discovery/run", url.Values{"org_id": {"0"}}); code != http.StatusSeeOther || !strings.Contains(loc, "flash.run.queued") {
		t.Fatalf("the national run: %d %s", code, loc)
	}
	if code, _ := post(cuca, "/discovery/run", url.Values{"org_id": {"0"}}); code != http.StatusForbidden {
		t.Fatalf("CUCA's national run: %d", code)
	}
	if code, loc := post(cuca, "/discovery/run", url.Values{"org_id": {strconv.FormatInt(w.orgs["CUCA"].ID, 10)}}); code != http.StatusSeeOther || !strings.Contains(loc, "flash.run.queued") {
		t.Fatalf("CUCA's run: %d %s", code, loc)
	}
	if code, _ := post(sob, "/discovery/run", url.Values{"org_id": {strconv.FormatInt(w.orgs["SOB"].ID, 10)}}); code != http.StatusForbidden {
		t.Fatalf("a member's run: %d", code)
	}
	runs := func(c *client) string {
		_, page := c.get("/discovery")
		_, tail, _ := strings.Cut(page, `id="runs"`)
		return tail
	}
	if r := runs(cuca); !strings.Contains(r, "<td>CUCA</td>") || strings.Contains(r, "Toàn bộ đối tượng") {
		t.Fatalf("CUCA's runs: %s", r)
	}
	if r := runs(admin); !strings.Contains(r, "<td>CUCA</td>") || !strings.Contains(r, "Toàn bộ đối tượng") {
		t.Fatalf("the national runs: %s", r)
	}
}

// TestDiscoveryCatalog: every discovery source and candidate state has
// its name in both languages.
func TestDiscoveryCatalog(t *testing.T) {
	c, err := loadCatalogs()
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"reason." + scan.SweepReason}
	for _, s := range candidateSources() {
		keys = append(keys, "discovery.source."+s)
	}
	for _, s := range []store.CandidateState{store.CandidatePending, store.CandidateConfirmed, store.CandidateRejected} {
		keys = append(keys, "discovery.state."+string(s))
	}
	for _, lang := range languages {
		for _, k := range keys {
			if !c.get(lang).Has(k) {
				t.Errorf("%s.json lacks %q", lang, k)
			}
		}
	}
}
