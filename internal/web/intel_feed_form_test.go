package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/store"
)

// TestIntelFeedForm adds a TAXII feed in the console and edits it: the
// form's values reach the store (the credentials as variable names in
// the options, never a secret), refused input comes back with the
// reason and what was typed, a member may not, and a post without the
// form's token is refused.
func TestIntelFeedForm(t *testing.T) {
	w := newIntelWorld(t)
	admin := w.client()
	admin.login("admin", "")
	if code, body := admin.get("/intel/feeds/new?lang=vi"); code != 200 || !strings.Contains(body, "Thêm nguồn tin") || !strings.Contains(body, `name="token_env"`) {
		t.Fatalf("new form: %d\n%s", code, body)
	}
	tok := admin.csrf("/intel/feeds/new")
	form := url.Values{"csrf": {tok}, "name": {"partner-taxii"}, "format": {"taxii"}, "location": {"https://taxii.partner.example/api/collections/c1/"},
		"interval": {"2h"}, "tlp": {"AMBER+STRICT"}, "enabled": {"1"}, "analyst": {"an"}, "token_env": {"PARTNER_TAXII_TOKEN"}}
	resp, body := admin.post("/intel/feeds/new", form, w.ts.URL)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/intel/feeds/") {
		t.Fatalf("create: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	f, err := w.st.GetFeedByName(context.Background(), auth.SystemPrincipal, "partner-taxii")
	if err != nil || f.Format != "taxii" || f.Interval != 2*time.Hour || f.TLP != intel.TLPAmberStrict || !f.Enabled || f.Analyst != "an" ||
		f.Options != `{"token_env":"PARTNER_TAXII_TOKEN"}` {
		t.Fatalf("stored %+v %v", f, err)
	}
	edit := "/intel/feeds/" + strconv.FormatInt(f.ID, 10) + "/edit"
	if code, body := admin.get(edit + "?lang=en"); code != 200 || !strings.Contains(body, `value="PARTNER_TAXII_TOKEN"`) || !strings.Contains(body, `value="2h"`) {
		t.Fatalf("edit form: %d\n%s", code, body)
	}
	// Edit: Basic credentials instead, on demand, disabled.
	form = url.Values{"csrf": {tok}, "format": {"taxii"}, "location": {"https://taxii.partner.example/api/collections/c2/"}, "interval": {""},
		"tlp": {"GREEN"}, "user": {"rampart"}, "password_env": {"PARTNER_PASS"}, "name": {"renamed"}}
	if resp, body := admin.post(edit, form, w.ts.URL); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("update: %d\n%s", resp.StatusCode, body)
	}
	f, _ = w.st.GetFeed(context.Background(), auth.SystemPrincipal, f.ID)
	if f.Name != "partner-taxii" || f.Interval != 0 || f.Enabled || f.TLP != intel.TLPGreen || !strings.HasSuffix(f.Location, "/c2/") ||
		f.Options != `{"user":"rampart","password_env":"PARTNER_PASS"}` {
		t.Fatalf("updated %+v", f)
	}
	// Refused input: the form again, with the reason and the values typed.
	for _, c := range []struct {
		change url.Values
		want   string
	}{
		{url.Values{"interval": {"often"}}, "30m, 1h"},
		{url.Values{"interval": {"10s"}}, "interval"},
		{url.Values{"token_env": {"s3cr3t value!"}}, "environment variable"},
		{url.Values{"format": {"csv"}, "token_env": {"X"}}, "TAXII feeds only"},
		{url.Values{"location": {"ftp://x.example/feed"}}, "http(s) URL"},
		{url.Values{"user": {"only-user"}}, "both a user"},
	} {
		v := url.Values{"csrf": {tok}, "format": {"taxii"}, "location": {"https://t.example/c/"}, "interval": {"1h"}, "tlp": {"AMBER"}}
		for k, x := range c.change {
			v[k] = x
		}
		resp, body := admin.post(edit+"?lang=en", v, w.ts.URL)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, c.want) || !strings.Contains(body, `action="`+edit+`"`) {
			t.Errorf("%v: %d, want 400 with %q\n%s", c.change, resp.StatusCode, c.want, body)
		}
	}
	// A second feed of the same name is a conflict shown on the form.
	form = url.Values{"csrf": {tok}, "name": {"partner-taxii"}, "format": {"csv"}, "tlp": {"AMBER"}}
	if resp, _ := admin.post("/intel/feeds/new", form, w.ts.URL); resp.StatusCode != http.StatusConflict {
		t.Errorf("duplicate name: %d", resp.StatusCode)
	}
	// Without the form's token; from another site; as a member.
	delete(form, "csrf")
	form.Set("name", "no-token")
	if resp, _ := admin.post("/intel/feeds/new", form, w.ts.URL); resp.StatusCode != http.StatusForbidden {
		t.Errorf("no CSRF token: %d", resp.StatusCode)
	}
	form.Set("csrf", tok)
	if resp, _ := admin.post("/intel/feeds/new", form, "https://evil.example"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site: %d", resp.StatusCode)
	}
	sob := w.client()
	sob.login("sob", "")
	stok := sob.csrf("/intel")
	if code, _ := sob.get("/intel/feeds/new"); code != http.StatusForbidden {
		t.Errorf("member form: %d", code)
	}
	if resp, _ := sob.post(edit, url.Values{"csrf": {stok}, "format": {"csv"}, "tlp": {"AMBER"}}, w.ts.URL); resp.StatusCode != http.StatusForbidden {
		t.Errorf("member update: %d", resp.StatusCode)
	}
	if _, err := w.st.GetFeedByName(context.Background(), auth.SystemPrincipal, "no-token"); err == nil {
		t.Error("a refused post created a feed")
	}
}

// TestIntelIndicatorRecipients: the page of a TLP:RED indicator names its
// recipients for the national level; a member does not see the page.
func TestIntelIndicatorRecipients(t *testing.T) {
	w := newIntelWorld(t)
	ctx := context.Background()
	r := intel.Record{Kind: intel.KindDomain, Value: "red-only.example", Feed: "partner-cert", TLP: intel.TLPRed, Confidence: 80,
		Recipients: intel.Recipients{Orgs: []int64{w.orgs["CUCA"].ID}}}
	if err := r.Normalize(testNow); err != nil {
		t.Fatal(err)
	}
	if _, err := w.st.ApplyIndicators(ctx, auth.SystemPrincipal, []intel.Record{r}); err != nil {
		t.Fatal(err)
	}
	in, err := w.st.FindIndicator(ctx, auth.SystemPrincipal, store.IndicatorKey{Kind: intel.KindDomain, Value: "red-only.example"})
	if err != nil {
		t.Fatal(err)
	}
	admin := w.client()
	admin.login("admin", "")
	page := "/intel/indicators/" + strconv.FormatInt(in.ID, 10)
	if code, body := admin.get(page + "?lang=en"); code != 200 || !strings.Contains(body, "Recipients (TLP:RED)</dt><dd>Security Department</dd>") {
		t.Errorf("admin: %d\n%s", code, body)
	}
	sob := w.client()
	sob.login("sob", "")
	if code, _ := sob.get(page); code != http.StatusNotFound {
		t.Errorf("member: %d", code)
	}
}
