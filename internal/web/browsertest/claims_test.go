package browsertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// claimAsset is an asset as the claim steps read it from the API.
type claimAsset struct {
	ID          int64  `json:"id"`
	OrgID       int64  `json:"org_id"`
	Kind        string `json:"kind"`
	Value       string `json:"value"`
	State       string `json:"state"`
	VerifyToken string `json:"verify_token"`
	VerifiedBy  string `json:"verified_by"`
}

// TestConsoleClaims is the approval of ownership claims in the console
// (issue 10): an org-member of a demo agency registers a hostname through
// the asset form; it becomes a claim, not scanned, and its page shows the
// token with the DNS and file instructions; the parent organization's
// org-admin finds it on /claims and approves it, and it is verified; a
// second claim of the agency is rejected by the same admin.
//
// Both claims stay on loopback whatever checks their proofs: "localhost"
// resolves from /etc/hosts, 127.0.0.9 is an address, and the demo asks
// DNS proofs of the lab's name server.
func TestConsoleClaims(t *testing.T) {
	exe := needBrowser(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	vi := catalog(t, "vi")

	p := startPlatform(t)
	admin := p.login(t, "admin", p.Password)
	// An agency whose parent is not the national root, so that an
	// org-admin (not the national level) decides.
	orgs := listAll[apiOrg](t, p, admin, "/api/v1/orgs")
	byID := map[int64]apiOrg{}
	for _, o := range orgs {
		byID[o.ID] = o
	}
	var agency, parent apiOrg
	for _, o := range orgs {
		if par, ok := byID[o.ParentID]; ok && par.ParentID != 0 {
			agency, parent = o, par
			break
		}
	}
	if agency.ID == 0 {
		t.Fatal("the demo has no organization two levels below the root")
	}
	secret := make([]byte, 8)
	_, _ = rand.Read(secret)
	password := "claims-" + hex.EncodeToString(secret)
	member, padmin := "claims-member", "claims-parent-admin"
	for _, u := range []struct {
		name, role string
		org        int64
	}{{member, "org-member", agency.ID}, {padmin, "org-admin", parent.ID}} {
		if code := p.api(t, "POST", "/api/v1/users", admin, map[string]any{"name": u.name, "role": u.role,
			"org_id": u.org, "password": password}, &struct{}{}); code != 201 {
			t.Fatalf("create %s %s of %s: status %d", u.role, u.name, byID[u.org].Code, code)
		}
	}

	b := newBrowser(t, ctx, exe)
	open(t, b, p.Base+"/login")
	logIn(t, b, member, password)

	// The member registers a hostname through the asset form.
	register := func(kind, value string) claimAsset {
		t.Helper()
		open(t, b, p.Base+"/assets/new")
		do(t, b,
			chromedp.WaitVisible(chromedp.ID("a-value")),
			chromedp.SetValue(chromedp.ID("a-org"), agency.Code),
			chromedp.SetValue(chromedp.ID("a-kind"), kind),
			chromedp.SendKeys(chromedp.ID("a-value"), value),
		)
		resp := submit(t, b, chromedp.Click(chromedp.CSS(`form[action="/assets/new"] button[type=submit]`)))
		at := location(t, b)
		id, err := strconv.ParseInt(strings.TrimPrefix(at.Path, "/assets/"), 10, 64)
		if resp.Status != 200 || err != nil {
			t.Fatalf("register %s %s: %d at %s: %s", kind, value, resp.Status, at, eval[string](t, b, `document.querySelector("main").innerText`))
		}
		var a claimAsset
		if code := p.api(t, "GET", "/api/v1/assets/"+strconv.FormatInt(id, 10), admin, nil, &a); code != 200 {
			t.Fatalf("GET asset %d: %d", id, code)
		}
		if a.State != "claimed" || a.OrgID != agency.ID || a.VerifyToken == "" {
			t.Fatalf("registered by a member, the asset is %+v; want a claim of %s with a token", a, agency.Code)
		}
		return a
	}
	host := register("hostname", "localhost")
	hostID := strconv.FormatInt(host.ID, 10)

	// Its page: the claim, its token, the DNS and the file instructions.
	type claimView struct {
		Flash   string   `json:"flash"`
		Section bool     `json:"section"`
		Token   string   `json:"token"`
		Pre     []string `json:"pre"`
		URLs    []string `json:"urls"`
		Text    string   `json:"text"`
		Approve bool     `json:"approve"`
	}
	v := eval[claimView](t, b, `(() => {
		const s = document.getElementById("claim");
		return {
			flash: (document.querySelector("p.flash:not(.warn)") || {}).textContent || "",
			section: !!s,
			token: (document.getElementById("claim-token") || {}).textContent || "",
			pre: s ? Array.from(s.querySelectorAll("pre"), p => p.textContent) : [],
			urls: s ? Array.from(s.querySelectorAll("ul.mono li"), li => li.textContent) : [],
			text: s ? s.innerText : "",
			approve: !!document.querySelector('form[action$="/approve"]'),
		};
	})()`)
	if v.Flash != msg(t, vi, "flash.saved") {
		t.Errorf("after registering, the page says %q, want %q", v.Flash, msg(t, vi, "flash.saved"))
	}
	if !v.Section || strings.TrimSpace(v.Token) != host.VerifyToken {
		t.Fatalf("asset page: claim section %v, token %q; want %q", v.Section, v.Token, host.VerifyToken)
	}
	wantTXT := fmt.Sprintf("_rampart-verify.localhost. 300 IN TXT %q", "rampart-verify="+host.VerifyToken)
	if len(v.Pre) < 2 || !strings.EqualFold(v.Pre[0], wantTXT) || strings.TrimSpace(v.Pre[1]) != host.VerifyToken {
		t.Errorf("proof instructions %q; want the TXT record %q and the file's content", v.Pre, wantTXT)
	}
	wantURLs := []string{"https://localhost/.well-known/rampart-verify/" + host.VerifyToken, "http://localhost/.well-known/rampart-verify/" + host.VerifyToken}
	if strings.Join(v.URLs, " ") != strings.Join(wantURLs, " ") {
		t.Errorf("file proof addresses %q, want %q", v.URLs, wantURLs)
	}
	for _, k := range []string{"asset.claim.notscanned", "asset.claim.dns", "asset.claim.file", "asset.claim.orapprove"} {
		if !strings.Contains(v.Text, msg(t, vi, k)) {
			t.Errorf("claim section lacks %s (%q):\n%s", k, msg(t, vi, k), v.Text)
		}
	}
	if v.Approve {
		t.Error("the claimant is offered to approve its own claim")
	}
	second := register("ipv4", "127.0.0.9")
	secondID := strconv.FormatInt(second.ID, 10)

	// A claim is not scanned.
	var jobs struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if code := p.api(t, "GET", "/api/v1/scans?asset_id="+hostID, admin, nil, &jobs); code != 200 || len(jobs.Items) != 0 {
		t.Errorf("scan jobs of the claim: status %d, %d jobs", code, len(jobs.Items))
	}
	// The member cannot approve it by a forged POST either: the page
	// carries the member's CSRF token, the claims service refuses.
	eval[any](t, b, `(() => {
		const f = document.createElement("form");
		f.method = "post"; f.action = "/assets/`+hostID+`/approve";
		const c = document.createElement("input");
		c.type = "hidden"; c.name = "csrf"; c.value = document.querySelector("input[name=csrf]").value;
		const btn = document.createElement("button");
		btn.type = "submit"; btn.id = "forged-approve"; btn.textContent = "approve";
		f.append(c, btn); document.querySelector("main").appendChild(f);
		return null;
	})()`)
	if resp := submit(t, b, chromedp.Click(chromedp.ID("forged-approve"))); resp.Status != 403 {
		t.Errorf("the member's own approval: status %d, want 403", resp.Status)
	}
	if a := getAsset(t, p, admin, host.ID); a.State != "claimed" {
		t.Fatalf("after the member's own approval the claim is %s", a.State)
	}

	// The parent's org-admin: both claims on /claims, with buttons.
	open(t, b, p.Base+"/")
	submit(t, b, chromedp.Click(chromedp.CSS(`form[action="/logout"] button[type=submit]`)))
	logIn(t, b, padmin, password)
	open(t, b, p.Base+"/claims")
	rows := eval[map[string]string](t, b, `Object.fromEntries(Array.from(document.querySelectorAll("#claims tbody tr[data-asset]"),
		tr => [tr.dataset.asset, (tr.querySelector('form[action$="/approve"]') ? "approve " : "") + tr.innerText]))`)
	for _, a := range []claimAsset{host, second} {
		r, ok := rows[strconv.FormatInt(a.ID, 10)]
		if !ok || !strings.HasPrefix(r, "approve ") || !strings.Contains(r, a.Value) || !strings.Contains(r, agency.Code) || !strings.Contains(r, member) {
			t.Errorf("/claims row of %s: %q (rows: %v)", a.Value, r, rows)
		}
	}
	if screenshots() {
		screenshot(t, b, "claims.png")
	}

	// Approve the hostname: verified, by approval of the parent's admin.
	submit(t, b, chromedp.Click(chromedp.CSS(`#claims tr[data-asset="`+hostID+`"] form[action="/assets/`+hostID+`/approve"] button[type=submit]`)))
	if u := location(t, b); u.Path != "/claims" || u.Query().Get("ok") != "flash.approved" {
		t.Errorf("after approving: at %s", u)
	}
	if f := eval[string](t, b, `(document.querySelector("p.flash") || {}).textContent || ""`); f != msg(t, vi, "flash.approved") {
		t.Errorf("after approving the page says %q, want %q", f, msg(t, vi, "flash.approved"))
	}
	if n := eval[int](t, b, `document.querySelectorAll('#claims tr[data-asset="`+hostID+`"]').length`); n != 0 {
		t.Error("the approved claim is still pending")
	}
	if a := getAsset(t, p, admin, host.ID); a.State != "verified" || !strings.Contains(a.VerifiedBy, padmin) {
		t.Errorf("after approval the asset is %+v; want verified by %s", a, padmin)
	}

	// Reject the address, with a reason.
	const reason = "Không thuộc quản lý của đơn vị"
	do(t, b, chromedp.SendKeys(chromedp.ID("reason-"+secondID), reason))
	submit(t, b, chromedp.Click(chromedp.CSS(`#claims tr[data-asset="`+secondID+`"] form[action="/assets/`+secondID+`/reject"] button[type=submit]`)))
	if f := eval[string](t, b, `(document.querySelector("p.flash") || {}).textContent || ""`); f != msg(t, vi, "flash.rejected") {
		t.Errorf("after rejecting the page says %q, want %q", f, msg(t, vi, "flash.rejected"))
	}
	if a := getAsset(t, p, admin, second.ID); a.State != "rejected" {
		t.Errorf("after rejection the asset is %+v", a)
	}
	open(t, b, p.Base+"/claims?state=rejected")
	if r := eval[string](t, b, `(document.querySelector('#claims tr[data-asset="`+secondID+`"]') || {}).innerText || ""`); !strings.Contains(r, reason) {
		t.Errorf("rejected claims list: %q, want the reason %q", r, reason)
	}

	// Back on the hostname's page: no claim section any more.
	open(t, b, p.Base+"/assets/"+hostID)
	if eval[bool](t, b, `!!document.getElementById("claim")`) {
		t.Error("the verified asset still shows its claim")
	}
}

func getAsset(t *testing.T, p *platform, token string, id int64) claimAsset {
	t.Helper()
	var a claimAsset
	if code := p.api(t, "GET", "/api/v1/assets/"+strconv.FormatInt(id, 10), token, nil, &a); code != 200 {
		t.Fatalf("GET asset %d: %d", id, code)
	}
	return a
}
