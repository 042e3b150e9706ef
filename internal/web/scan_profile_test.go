package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

// The scan profile pages: an organization admin sets the organization's
// profile and an asset's overrides (exclusions and blackouts stay as they
// were); a bad field is shown on the form; a member of another
// subtree sees neither page; a post without the CSRF token changes nothing.
func TestScanProfilePages(t *testing.T) {
	w := newWorld(t)
	ctx, sys := context.Background(), auth.SystemPrincipal
	cuca, a1 := w.orgs["CUCA"], w.assets["a1"]
	if err := w.st.SetScanPolicy(ctx, sys, cuca.ID, store.ScanPolicy{Exclusions: []string{"192.0.2.99"}}); err != nil {
		t.Fatal(err)
	}
	orgPath := fmt.Sprintf("/orgs/%d/scan-profile", cuca.ID)
	assetPath := fmt.Sprintf("/assets/%d/scan-profile", a1.ID)
	c := w.client()
	c.login("cuca", "")

	code, body := c.get(orgPath + "?lang=en")
	if code != 200 || !strings.Contains(body, `value="tls"`) || !strings.Contains(body, "default and empty passwords") {
		t.Fatalf("org page %d: %s", code, body)
	}
	tok := c.csrf(orgPath)
	resp, _ := c.post(orgPath, url.Values{"csrf": {tok}, "ports": {"22,443"}, "family": {"tls", "http"}, "rate": {"150"}, "udp": {"on"}}, w.ts.URL)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save org profile: %d", resp.StatusCode)
	}
	sp, err := w.st.GetScanPolicy(ctx, sys, cuca.ID)
	if err != nil || sp.Ports != "22,443" || strings.Join(sp.Families, ",") != "http,tls" || sp.Rate != 150 || !sp.UDP || sp.Credentials || len(sp.Exclusions) != 1 {
		t.Fatalf("policy %+v %v", sp, err)
	}
	resp, body = c.post(orgPath, url.Values{"csrf": {tok}, "ports": {"22,99999"}}, w.ts.URL)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "ports") {
		t.Fatalf("bad ports: %d %s", resp.StatusCode, body)
	}

	tok = c.csrf(assetPath)
	resp, _ = c.post(assetPath, url.Values{"csrf": {tok}, "ports": {"8443"}, "families_mode": {"set"}, "family": {"svc"}, "rate": {""},
		"udp": {"off"}, "credentials": {"on"}}, w.ts.URL)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save asset profile: %d", resp.StatusCode)
	}
	pr, err := w.st.GetAssetScanProfile(ctx, sys, a1.ID)
	if err != nil || pr.Ports == nil || *pr.Ports != "8443" || pr.Families == nil || strings.Join(*pr.Families, ",") != "svc" ||
		pr.Rate != nil || pr.UDP == nil || *pr.UDP || pr.Credentials == nil || !*pr.Credentials {
		t.Fatalf("asset profile %+v %v", pr, err)
	}
	if _, body = c.get(assetPath + "?lang=en"); !strings.Contains(body, "8443") || !strings.Contains(body, "What this asset") {
		t.Fatalf("asset page: %s", body)
	}
	resp, body = c.post(assetPath, url.Values{"csrf": {tok}, "families_mode": {"set"}, "family": {"nosuch"}}, w.ts.URL)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "families") {
		t.Fatalf("bad family: %d %s", resp.StatusCode, body)
	}
	resp, _ = c.post(assetPath, url.Values{"ports": {"1"}}, w.ts.URL)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("post without csrf: %d", resp.StatusCode)
	}
	resp, _ = c.post(assetPath, url.Values{"csrf": {tok}, "remove": {"1"}}, w.ts.URL)
	if pr, _ = w.st.GetAssetScanProfile(ctx, sys, a1.ID); resp.StatusCode != http.StatusSeeOther || !pr.IsZero() {
		t.Fatalf("remove: %d %+v", resp.StatusCode, pr)
	}

	other := w.client()
	other.login("sob", "")
	for _, p := range []string{orgPath, assetPath} {
		if code, _ := other.get(p); code != http.StatusNotFound {
			t.Errorf("a member of another subtree gets %s: %d", p, code)
		}
	}
}

// TestGoldenScanProfilePages renders both scan profile pages for a
// platform admin in both languages.
func TestGoldenScanProfilePages(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a1 := w.assets["a1"]
	ports, on := "443", true
	if err := w.st.SetAssetScanProfile(ctx, auth.SystemPrincipal, a1.ID, store.ScanProfile{Ports: &ports, Credentials: &on}); err != nil {
		t.Fatal(err)
	}
	c := w.client()
	c.login("admin", "")
	for _, lang := range []string{"vi", "en"} {
		for name, path := range map[string]string{
			"scanprofile-org":   fmt.Sprintf("/orgs/%d/scan-profile", w.orgs["CUCA"].ID),
			"scanprofile-asset": fmt.Sprintf("/assets/%d/scan-profile", a1.ID),
		} {
			code, body := c.get(path + "?lang=" + lang)
			if code != 200 {
				t.Fatalf("%s: %d", path, code)
			}
			golden(t, name+"."+lang+".html", body)
		}
	}
}
