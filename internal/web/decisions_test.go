package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

// TestDecisionsConsole: an analyst sees a pending decision with its
// evidence and approves it, lifts it, blocks by hand, and adds a bouncer
// whose key is shown once; members see none of it.
func TestDecisionsConsole(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	until := time.Now().Add(4 * time.Hour)
	pend, _, err := w.st.ApplyDecision(ctx, auth.SystemPrincipal, store.Decision{Value: "203.0.113.7", Scope: store.ScopeIP, Type: store.TypeBan,
		Origin: store.OriginCorrelation, State: store.DecisionPending, Rule: "public-service", Reason: "the address belongs to X", Until: until,
		Evidence: []store.DecisionEvidence{
			{Org: "CUCA", Sensor: "gw-cuca", Kinds: []string{"ssh-bruteforce"}, Count: 412, First: testNow, Last: testNow, Target: "192.0.2.1", Detail: "412 failed SSH logins <b>"},
			{Org: "SOB", Sensor: "gw-sob", Kinds: []string{"port-scan"}, Count: 40, First: testNow, Last: testNow},
			{Org: "BTT", Sensor: "gw-btt", Kinds: []string{"port-scan"}, Count: 9, First: testNow, Last: testNow}}})
	if err != nil {
		t.Fatal(err)
	}
	admin := w.client()
	admin.login("admin", "")
	for _, lang := range []string{"en", "vi"} {
		code, body := admin.get("/intel/decisions?state=pending&lang=" + lang)
		want := map[string]string{"en": "Waiting for approval", "vi": "Chờ duyệt"}[lang]
		if code != 200 || !strings.Contains(body, "203.0.113.7") || !strings.Contains(body, want) || !strings.Contains(body, "ssh-bruteforce") {
			t.Fatalf("%s list: %d\n%s", lang, code, body)
		}
	}
	code, body := admin.get(fmt.Sprintf("/intel/decisions/%d?lang=en", pend.ID))
	if code != 200 || !strings.Contains(body, "gw-cuca") || !strings.Contains(body, "412") || !strings.Contains(body, "a public resolver or CDN") ||
		strings.Contains(body, "<b>") || !strings.Contains(body, "/approve") {
		t.Fatalf("decision page: %d\n%s", code, body)
	}
	tok := admin.csrf("/intel/decisions")
	resp, _ := admin.post(fmt.Sprintf("/intel/decisions/%d/approve", pend.ID), url.Values{"csrf": {tok}, "note": {"confirmed"}}, w.ts.URL)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d", resp.StatusCode)
	}
	d, _ := w.st.GetDecision(ctx, auth.SystemPrincipal, pend.ID)
	if d.State != store.DecisionActive || d.DecidedBy != "admin" || d.Note != "confirmed" {
		t.Fatalf("after approve: %+v", d)
	}
	resp, _ = admin.post(fmt.Sprintf("/intel/decisions/%d/lift", pend.ID), url.Values{"csrf": {tok}}, w.ts.URL)
	if d, _ = w.st.GetDecision(ctx, auth.SystemPrincipal, pend.ID); resp.StatusCode != http.StatusSeeOther || d.State != store.DecisionDeleted {
		t.Fatalf("lift: %d %+v", resp.StatusCode, d)
	}
	resp, _ = admin.post("/intel/decisions", url.Values{"csrf": {tok}, "value": {"198.51.100.0/24"}, "ttl_hours": {"2"}, "reason": {"botnet"}}, w.ts.URL)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("block by hand: %d", resp.StatusCode)
	}
	if resp, body := admin.post("/intel/decisions?lang=en", url.Values{"csrf": {tok}, "value": {"10.0.0.1"}, "ttl_hours": {"0"}}, w.ts.URL); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(body, "cannot be blocked") {
		t.Fatalf("block a private address: %d\n%s", resp.StatusCode, body)
	}

	// Bouncers: the key once.
	resp, body = admin.post("/intel/bouncers?lang=en", url.Values{"csrf": {tok}, "name": {"fw-cuca"}, "org_code": {"CUCA"}}, w.ts.URL)
	key := regexp.MustCompile(`rbk_[0-9a-f]{40}`).FindString(body)
	if resp.StatusCode != 200 || key == "" {
		t.Fatalf("add bouncer: %d\n%s", resp.StatusCode, body)
	}
	_, after := admin.get("/intel/bouncers?lang=vi")
	if strings.Contains(after, key) || !strings.Contains(after, "fw-cuca") || !strings.Contains(after, "chưa bao giờ") {
		t.Fatalf("bouncers page:\n%s", after)
	}

	// Members: no pages, no actions.
	sob := w.client()
	sob.login("sob", "")
	stok := sob.csrf("/")
	for _, p := range []string{"/intel/decisions", fmt.Sprintf("/intel/decisions/%d", pend.ID), "/intel/bouncers"} {
		if code, _ := sob.get(p); code != http.StatusForbidden {
			t.Errorf("member GET %s: %d", p, code)
		}
	}
	if resp, _ := sob.post("/intel/bouncers", url.Values{"csrf": {stok}, "name": {"mine"}}, w.ts.URL); resp.StatusCode != http.StatusForbidden {
		t.Errorf("member adds a bouncer: %d", resp.StatusCode)
	}
}

// TestDecisionsGoldenPages: the decisions list, a decision with its
// evidence and the bouncers, in both languages.
func TestDecisionsGoldenPages(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	at := testNow.Add(-time.Hour)
	d, _, err := w.st.ApplyDecision(ctx, auth.SystemPrincipal, store.Decision{Value: "203.0.113.7", Scope: store.ScopeIP, Type: store.TypeBan,
		Origin: store.OriginCorrelation, State: store.DecisionPending, Rule: "registered-asset",
		Reason: "would block 203.0.113.0/24 of SOB (a registered asset of the constituency)", Until: testNow.Add(3 * time.Hour),
		Evidence: []store.DecisionEvidence{
			{Org: "CUCA", Sensor: "gw-cuca", Kinds: []string{"ssh-bruteforce"}, Count: 412, First: at, Last: at.Add(5 * time.Minute), Target: "192.0.2.1", Detail: "412 failed SSH logins for 37 users"},
			{Org: "SOB", Sensor: "gw-sob", Kinds: []string{"port-scan"}, Count: 40, First: at, Last: at.Add(time.Minute), Target: "192.0.2.9", Detail: "40 ports in 1 minute"},
			{Org: "BTT", Sensor: "gw-btt", Kinds: []string{"port-scan", "ids-alert"}, Count: 9, First: at, Last: at.Add(2 * time.Minute)}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.st.ApplyDecision(ctx, auth.SystemPrincipal, store.Decision{Value: "198.51.100.0/24", Scope: store.ScopeRange, Type: store.TypeBan,
		Origin: store.OriginAnalyst, Scenario: "rampart/manual", Reason: "botnet", State: store.DecisionActive, Until: testNow.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// The store stamps creation with the real clock; the pages show it.
	if _, err := w.st.DB().ExecContext(ctx, "UPDATE decisions SET created_at = ?, updated_at = ?", at, at); err != nil {
		t.Fatal(err)
	}
	b := store.Bouncer{Name: "fw-cuca", OrgID: w.orgs["CUCA"].ID, KeyHash: auth.HashToken("golden-key"), KeyPrefix: "rbk_1a2b3c"}
	if err := w.st.CreateBouncer(ctx, auth.SystemPrincipal, &b); err != nil {
		t.Fatal(err)
	}
	if err := w.st.RecordPull(ctx, b.ID, store.BouncerPull{At: at, Cursor: 2, New: 1, Addr: "192.0.2.50", Agent: "crowdsec-firewall-bouncer/v0.0.25"}); err != nil {
		t.Fatal(err)
	}
	c := w.client()
	c.login("admin", "")
	pages := map[string]string{
		"intel_decisions": "/intel/decisions",
		"intel_decision":  fmt.Sprintf("/intel/decisions/%d", d.ID),
		"intel_bouncers":  "/intel/bouncers",
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
}
