package cli

import (
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/store"
)

// TestDemo starts `rampart serve --demo` as a newcomer would and expects
// real findings from real scans of the lab within a minute.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo scans the whole lab")
	}
	env := map[string]string{"RAMPART_DATA": t.TempDir()}
	base, _, _ := serve(t, env, "--demo", "--demo-base", "127.77.64.0")
	token := login(t, base, "admin", demoPassword)
	a := apiClient{t, base, token}
	want := []string{"tls.cert-expired", "tls.cert-self-signed", "http.exposed-git", "svc.redis-unauthenticated",
		"dns.spf-permissive", "web.gambling-injection", "template.cve-2021-41773",
		// the sample feed's early warnings: a drone among the lab's hosts,
		// a phishing page on a portal
		"intel.compromised-host", "intel.malicious-content"}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var page store.Page[store.Finding]
		a.call("GET", "/api/v1/findings?limit=1000", nil, &page)
		got := map[string]bool{}
		for _, f := range page.Items {
			got[f.Check] = true
		}
		missing := 0
		for _, w := range want {
			if !got[w] {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a minute the demo shows %d findings; missing some of %v: %v", len(page.Items), want, got)
		}
		time.Sleep(time.Second)
	}
	// The sample feed's two values outside the constituency warn nobody.
	var feeds struct{ Items []store.Feed }
	a.call("GET", "/api/v1/intel/feeds", nil, &feeds)
	var demoFeed *store.Feed
	for i := range feeds.Items {
		if feeds.Items[i].Name == demoFeedName {
			demoFeed = &feeds.Items[i]
		}
	}
	if demoFeed == nil || demoFeed.Records != 4 || demoFeed.Hits != 2 || demoFeed.LastError != "" {
		t.Fatalf("demo feed: %+v", demoFeed)
	}
	// The hardened host fires nothing.
	var page store.Page[store.Finding]
	a.call("GET", "/api/v1/findings?q=www.btttt-demo.gov.vn", nil, &page)
	if len(page.Items) != 0 {
		t.Fatalf("hardened host has findings: %+v", page.Items)
	}
}

func login(t *testing.T, base, name, password string) string {
	t.Helper()
	code, body := post(t, base+"/api/v1/auth/login", "", map[string]any{"name": name, "password": password})
	if code != 200 {
		t.Fatalf("login: %d %s", code, body)
	}
	var r struct {
		Token string `json:"token"`
	}
	if err := jsonUnmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	return r.Token
}

// TestDemoSensors: `serve --demo` runs sensors at three members'
// gateways; within a minute their detections are findings of each, and
// the attacker all three saw is a national decision.
func TestDemoSensors(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo scans the whole lab")
	}
	env := map[string]string{"RAMPART_DATA": t.TempDir()}
	base, _, _ := serve(t, env, "--demo", "--demo-base", "127.77.66.0", "--no-scheduler")
	token := login(t, base, "admin", demoPassword)
	a := apiClient{t, base, token}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var page store.Page[store.Finding]
		a.call("GET", "/api/v1/findings?limit=1000", nil, &page)
		orgs := map[int64]bool{}
		for _, f := range page.Items {
			if f.Check == "sensor.ids-alert" && f.Subject == demoAttacker {
				orgs[f.OrgID] = true
			}
		}
		var decisions store.Page[store.Decision]
		a.call("GET", "/api/v1/decisions", nil, &decisions)
		decided := false
		for _, d := range decisions.Items {
			if d.Value == demoAttacker && d.Orgs >= 3 {
				decided = true
			}
		}
		if len(orgs) == 3 && decided {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a minute: sensor findings of %d organizations, decisions %+v", len(orgs), decisions.Items)
		}
		time.Sleep(time.Second)
	}
}
