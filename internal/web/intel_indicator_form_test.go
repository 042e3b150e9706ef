package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/store"
)

// TestIntelIndicatorSubmit submits a TLP:RED indicator with recipients
// from the console: it is stored with them, under the submitter's push
// feed; recipients on another marking, unknown ones and bad input come
// back on the form; a member without the feeds:write right may not.
func TestIntelIndicatorSubmit(t *testing.T) {
	w := newIntelWorld(t)
	ctx := context.Background()
	admin := w.client()
	admin.login("admin", "")
	if code, body := admin.get("/intel/indicators/new?lang=vi"); code != 200 || !strings.Contains(body, `name="recipient_orgs"`) {
		t.Fatalf("form: %d\n%s", code, body)
	}
	tok := admin.csrf("/intel/indicators/new")
	form := url.Values{"csrf": {tok}, "kind": {"domain"}, "value": {"Red-Only.Example.ORG"}, "category": {"c2"}, "confidence": {"85"},
		"tlp": {"RED"}, "labels": {"malware:X, actor:y"}, "recipient_orgs": {"CUCA"}, "recipient_users": {"sob"}}
	resp, body := admin.post("/intel/indicators/new", form, w.ts.URL)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/intel?q=red-only.example.org&ok=flash.indicatoradded" {
		t.Fatalf("submit: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	in, err := w.st.FindIndicator(ctx, auth.SystemPrincipal, store.IndicatorKey{Kind: intel.KindDomain, Value: "red-only.example.org"})
	if err != nil {
		t.Fatal(err)
	}
	sobID := int64(0)
	users, _ := w.st.ListUsers(ctx, auth.SystemPrincipal, store.PageRequest{Limit: 100})
	for _, u := range users.Items {
		if u.Name == "sob" {
			sobID = u.ID
		}
	}
	if in.TLP != intel.TLPRed || in.Confidence != 85 || !slices.Equal(in.Labels, []string{"actor:y", "malware:x"}) ||
		!slices.Equal(in.Recipients.Orgs, []int64{w.orgs["CUCA"].ID}) || !slices.Equal(in.Recipients.Users, []int64{sobID}) ||
		len(in.Sources) != 1 || in.Sources[0].Feed != "push:national" {
		t.Fatalf("stored %+v", in)
	}
	for _, c := range []struct {
		change url.Values
		want   string
	}{
		{url.Values{"tlp": {"GREEN"}}, "TLP:RED indicators only"},
		{url.Values{"recipient_orgs": {"NOPE"}}, "NOPE"},
		{url.Values{"recipient_users": {"nobody-here"}}, "nobody-here"},
		{url.Values{"confidence": {"150"}}, "0 to 100"},
		{url.Values{"value": {"not a domain"}}, "not a domain"},
	} {
		v := url.Values{}
		for k, x := range form {
			v[k] = x
		}
		for k, x := range c.change {
			v[k] = x
		}
		resp, body := admin.post("/intel/indicators/new?lang=en", v, w.ts.URL)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, c.want) {
			t.Errorf("%v: %d, want 400 with %q\n%s", c.change, resp.StatusCode, c.want, body)
		}
	}
	sob := w.client()
	sob.login("sob", "")
	if code, _ := sob.get("/intel/indicators/new"); code != http.StatusForbidden {
		t.Errorf("member form: %d", code)
	}
}
