package browsertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/chromedp/chromedp"
)

// maxPages bounds the tenancy crawl.
const maxPages = 80

// TestConsoleTenancy logs in as the org-admin of one agency and fails if
// any page the console shows that user, or that the user can reach by
// following links, names another organization, host or finding; and if
// another agency's pages open by URL.
//
// "Another organization" includes the agency's parent and the national
// root: the console shows no breadcrumb above the user's own
// organization (its parent link needs the parent in view), so an
// ancestor's name on a page would mean the page read outside the subtree.
// A string that also belongs to the agency's own data (its finding titles
// can repeat another's word for word, such as an untrusted chain) proves
// nothing and is left out, and a match counts only as a whole token:
// HN-DEMO inside HN-DEMO-STTTT, or hn-demo.gov.vn inside
// dichvucong.hn-demo.gov.vn, is the agency's own name.
func TestConsoleTenancy(t *testing.T) {
	exe := needBrowser(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()

	p := startPlatform(t)
	admin := p.login(t, "admin", p.Password)
	// The agency: whoever owns the lab's host with the expired certificate.
	const check = "tls.cert-expired"
	fs := waitFindings(t, ctx, p, admin, check, func(fs []apiFinding) bool {
		for _, f := range fs {
			if f.Check == check {
				return true
			}
		}
		return false
	})
	var ownID int64
	for _, f := range fs {
		if f.Check == check {
			ownID = f.OrgID
		}
	}
	orgs := listAll[apiOrg](t, p, admin, "/api/v1/orgs")
	byID := map[int64]apiOrg{}
	for _, o := range orgs {
		byID[o.ID] = o
	}
	own, ok := byID[ownID]
	if !ok {
		t.Fatalf("finding's organization %d is not listed", ownID)
	}
	inView := func(id int64) bool { // own organization or below it
		for seen := 0; id != 0 && seen < len(orgs); seen++ {
			if id == own.ID {
				return true
			}
			id = byID[id].ParentID
		}
		return false
	}
	if own.ParentID == 0 {
		t.Fatalf("%s is a root; the test needs an agency", own.Code)
	}

	secret := make([]byte, 8)
	_, _ = rand.Read(secret)
	user, password := "tenancy-"+strings.ToLower(own.Code), "tenancy-"+hex.EncodeToString(secret)
	if code := p.api(t, "POST", "/api/v1/users", admin, map[string]any{"name": user, "role": "org-admin",
		"org_id": own.ID, "password": password}, &struct{}{}); code != 201 {
		t.Fatalf("create org-admin of %s: status %d", own.Code, code)
	}

	b := newBrowser(t, ctx, exe)
	open(t, b, p.Base+"/login")
	logIn(t, b, user, password)

	// The pages of issue 5 by their URLs (they must open), a few lists
	// asked for another organization (they may refuse), then whatever
	// they link to.
	must := []string{"/", "/findings?state=active", "/findings", "/assets", "/scans",
		"/orgs/" + strconv.FormatInt(own.ID, 10)}
	var others []apiOrg
	for _, o := range orgs {
		if !inView(o.ID) {
			others = append(others, o)
		}
	}
	queue := append([]string{}, must...)
	for _, o := range others {
		id := strconv.FormatInt(o.ID, 10)
		queue = append(queue, "/findings?org="+id, "/assets?org="+id)
	}
	mustOpen := map[string]bool{}
	for _, u := range must {
		mustOpen[u] = true
	}
	pages := map[string]string{} // path?query → HTML
	seen := map[string]bool{}
	for _, u := range queue {
		seen[u] = true
	}
	for len(queue) > 0 && len(pages) < maxPages {
		u := queue[0]
		queue = queue[1:]
		resp := open(t, b, p.Base+u)
		at := location(t, b)
		if at.Path == "/login" {
			t.Fatalf("%s: sent to the login page; the session is gone", u)
		}
		if mustOpen[u] && resp.Status != 200 {
			t.Errorf("%s: status %d for the agency's own page", u, resp.Status)
		}
		pages[u] = eval[string](t, b, `document.documentElement.outerHTML`)
		for _, l := range eval[[]string](t, b, `Array.from(document.querySelectorAll("a[href]"), a => new URL(a.getAttribute("href"), location.href).href)`) {
			if v, ok := crawlable(p.Base, l); ok && !seen[v] {
				seen[v] = true
				queue = append(queue, v)
			}
		}
	}
	if len(queue) > 0 {
		t.Logf("crawl stopped at %d pages; %d links left", len(pages), len(queue))
	}

	// Another agency's pages by URL: refused, not shown.
	assets := listAll[apiAsset](t, p, admin, "/api/v1/assets")
	fs = listAll[apiFinding](t, p, admin, "/api/v1/findings")
	refused := map[string]bool{}
	for _, o := range others {
		refused["/orgs/"+strconv.FormatInt(o.ID, 10)] = true
	}
	firstOf := map[int64]bool{}
	for _, f := range fs {
		if !inView(f.OrgID) && !firstOf[f.OrgID] {
			firstOf[f.OrgID] = true
			refused["/findings/"+strconv.FormatInt(f.ID, 10)] = true
		}
	}
	firstOf = map[int64]bool{}
	for _, a := range assets {
		if !inView(a.OrgID) && !firstOf[a.OrgID] {
			firstOf[a.OrgID] = true
			id := strconv.FormatInt(a.ID, 10)
			refused["/assets/"+id] = true
			refused["/assets/"+id+"/edit"] = true
		}
	}
	for u := range refused {
		resp := open(t, b, p.Base+u)
		if at := location(t, b); resp.Status == 200 || at.Path != u {
			t.Errorf("%s: status %d at %s; want another agency's page refused (403 or 404)", u, resp.Status, at)
		}
		pages[u] = eval[string](t, b, `document.documentElement.outerHTML`)
	}

	// Acknowledging another agency's finding through the agency's own
	// bulk form (its CSRF token, a foreign ID) changes nothing.
	var foreign apiFinding
	for _, f := range fs {
		if !inView(f.OrgID) && f.State == "open" {
			foreign = f
			break
		}
	}
	open(t, b, p.Base+"/findings?state=active")
	if foreign.ID != 0 && eval[bool](t, b, `!!document.getElementById("bulk")`) {
		do(t, b, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
			const f = document.getElementById("bulk");
			f.querySelectorAll("input[name=id]").forEach(box => box.checked = false);
			const id = document.createElement("input");
			id.type = "hidden"; id.name = "id"; id.value = "%d";
			f.appendChild(id);
			document.getElementById("a-action").value = "acknowledge";
		})()`, foreign.ID)))
		resp := submit(t, b, chromedp.Click(chromedp.CSS(`#bulk fieldset.actions button[type=submit]`)))
		pages["POST /findings/bulk"] = eval[string](t, b, `document.documentElement.outerHTML`)
		var after apiFinding
		p.api(t, "GET", "/api/v1/findings/"+strconv.FormatInt(foreign.ID, 10), admin, nil, &after)
		if after.State != "open" {
			t.Errorf("the agency's bulk form moved another agency's finding #%d to %q (status %d)", foreign.ID, after.State, resp.Status)
		}
		if resp.Status == 200 {
			t.Errorf("bulk acknowledge of another agency's finding #%d: status 200, want a refusal", foreign.ID)
		}
	} else {
		t.Errorf("no bulk form for the org-admin (or no open foreign finding: %d)", foreign.ID)
	}

	// The agency's own things are there (the check below is not vacuous).
	for _, want := range []string{own.Name, own.Code} {
		if !strings.Contains(html.UnescapeString(pages["/"]), want) {
			t.Errorf("the agency's dashboard does not show %q", want)
		}
	}
	var ownFinding string
	for _, f := range fs {
		if f.OrgID == own.ID && f.Check == check {
			ownFinding = `href="/findings/` + strconv.FormatInt(f.ID, 10) + `"`
		}
	}
	if !strings.Contains(pages["/findings?state=active"], ownFinding) {
		t.Errorf("the agency's findings list lacks its own %s finding (%s)", check, ownFinding)
	}

	// Everything the admin sees outside the agency, read now, after the
	// pages: what the scans found meanwhile counts too.
	var mine []string
	for _, o := range orgs {
		if inView(o.ID) {
			mine = append(mine, o.Code, o.Name, o.NameEN)
		}
	}
	for _, a := range assets {
		if inView(a.OrgID) {
			mine = append(mine, a.Value)
		}
	}
	for _, f := range fs {
		if inView(f.OrgID) {
			mine = append(mine, f.Title, f.Target)
		}
	}
	var needles []needle
	add := func(s, what string) {
		s = strings.TrimSpace(s)
		if s == "" {
			return
		}
		for _, m := range mine {
			if len(find(m, s)) > 0 {
				return // the agency's own data says it too
			}
		}
		needles = append(needles, needle{s, what})
	}
	for _, o := range others {
		add(o.Code, "code of "+o.Code)
		add(o.Name, "name of "+o.Code)
		add(o.NameEN, "English name of "+o.Code)
	}
	for _, a := range assets {
		if !inView(a.OrgID) {
			add(a.Value, "asset of "+byID[a.OrgID].Code)
			if u, err := url.Parse(a.Value); err == nil && u.Hostname() != "" {
				add(u.Hostname(), "host of "+byID[a.OrgID].Code)
			}
		}
	}
	for _, f := range fs {
		if !inView(f.OrgID) {
			add(f.Title, fmt.Sprintf("title of finding #%d of %s", f.ID, byID[f.OrgID].Code))
			if i := strings.LastIndex(f.Target, ":"); i > 0 && !strings.Contains(f.Target, "/") {
				add(f.Target[:i], fmt.Sprintf("target of finding #%d of %s", f.ID, byID[f.OrgID].Code))
			}
		}
	}
	if len(needles) < 3*len(others) {
		t.Fatalf("only %d strings to look for across %d other organizations", len(needles), len(others))
	}
	leaks := 0
	for u, h := range pages {
		for _, l := range leaksIn(h, needles) {
			if leaks++; leaks <= 30 {
				t.Errorf("%s shows %s", u, l)
			}
		}
	}
	t.Logf("%s (%s): %d pages, %d strings of %d other organizations looked for, %d found", user, own.Code,
		len(pages), len(needles), len(others), leaks)

	// The control: the same search finds the other organizations on the
	// national dashboard, so a clean agency page is clean, not unread.
	submit(t, b, chromedp.Click(chromedp.CSS(`form[action="/logout"] button[type=submit]`)))
	logIn(t, b, "admin", p.Password)
	national := leaksIn(eval[string](t, b, `document.documentElement.outerHTML`), needles)
	if len(national) < len(others) {
		t.Errorf("the search finds only %d of the other organizations' strings on the national dashboard; want at least %d:\n%s",
			len(national), len(others), strings.Join(national, "\n"))
	}
	t.Logf("control: %d of those strings on the national dashboard", len(national))
}

// crawlable turns a link into the path and query to visit, or false for
// what is not a console page of this server (other origins, static
// files, the API, the language switch).
func crawlable(base, link string) (string, bool) {
	u, err := url.Parse(link)
	if err != nil || base != u.Scheme+"://"+u.Host {
		return "", false
	}
	for _, pre := range []string{"/static/", "/lang/", "/api/"} {
		if strings.HasPrefix(u.Path, pre) {
			return "", false
		}
	}
	if u.Query().Has("lang") {
		return "", false
	}
	u.Fragment = ""
	return u.RequestURI(), true
}

// needle is a string another organization owns and what it is.
type needle struct{ s, what string }

// csrfRE finds the CSRF tokens of forms: random base64, which may spell
// anything.
var csrfRE = regexp.MustCompile(`name="csrf" value="[^"]*"`)

// leaksIn lists the needles in a page (its text and attributes).
func leaksIn(page string, needles []needle) []string {
	page = html.UnescapeString(csrfRE.ReplaceAllString(page, ""))
	var out []string
	for _, n := range needles {
		if at := find(page, n.s); len(at) > 0 {
			out = append(out, fmt.Sprintf("%s %q (%d×): …%s…", n.what, n.s, len(at), snippet(page, at[0], 60)))
		}
	}
	return out
}

// find returns where s occurs in text as a whole token: not inside a
// longer word, code or host name.
func find(text, s string) []int {
	var at []int
	for i := 0; ; {
		j := strings.Index(text[i:], s)
		if j < 0 {
			return at
		}
		j += i
		if !joins(text[:j], true) && !joins(text[j+len(s):], false) {
			at = append(at, j)
		}
		i = j + 1
	}
}

// joins says whether the text beside a match continues it: a letter, a
// digit, - or _, or a dot followed (or preceded) by one of those, as in a
// longer host name.
func joins(side string, before bool) bool {
	next := func(s string) (rune, int) {
		if before {
			return utf8.DecodeLastRuneInString(s)
		}
		return utf8.DecodeRuneInString(s)
	}
	word := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_' }
	r, n := next(side)
	if n == 0 {
		return false
	}
	if word(r) {
		return true
	}
	if r == '.' {
		rest := side[n:]
		if before {
			rest = side[:len(side)-n]
		}
		r2, n2 := next(rest)
		return n2 > 0 && word(r2)
	}
	return false
}
