package web

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/check/all"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// testNow is the console's clock in every test: pages render the same.
var testNow = time.Date(2030, 3, 2, 3, 0, 0, 0, time.UTC) // ahead of the real clock, which the store checks token expiry against

const testPassword = "correct horse battery staple 42"

// world is a small constituency on a real SQLite store:
//
//	VN (national)
//	├── BTT (ministry) ── CUCA (agency): assets a1 (host), findings
//	└── HN (province) ── SOB (agency): asset b1, findings
type world struct {
	t        *testing.T
	st       *sqlstore.Store
	srv      *Server
	ts       *httptest.Server
	orgs     map[string]org.Organization
	assets   map[string]asset.Asset
	findings map[string]store.Finding
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "web.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, st: st, orgs: map[string]org.Organization{}, assets: map[string]asset.Asset{}, findings: map[string]store.Finding{}}
	sys := auth.SystemPrincipal
	mk := func(code, parent string, kind org.Kind, vi, en string) {
		o := org.Organization{Code: code, Name: vi, NameEN: en, Kind: kind, ParentID: w.orgs[parent].ID}
		if err := st.CreateOrg(ctx, sys, &o); err != nil {
			t.Fatal(err)
		}
		w.orgs[code] = o
	}
	mk("VN", "", org.KindNational, "Việt Nam", "Vietnam")
	mk("BTT", "VN", org.KindMinistry, "Bộ Thông tin", "Ministry of Information")
	mk("CUCA", "BTT", org.KindAgency, "Cục An toàn", "Security Department")
	mk("HN", "VN", org.KindProvince, "Thành phố Hà Nội", "Hanoi")
	mk("SOB", "HN", org.KindAgency, "Sở Bí mật", "Secret Office")
	if err := st.CreateContact(ctx, sys, &org.Contact{OrgID: w.orgs["CUCA"].ID, Name: "Nguyễn Văn An", Email: "an@cuca.example.vn"}); err != nil {
		t.Fatal(err)
	}
	mkAsset := func(key, orgCode string, kind asset.Kind, value string) {
		a := asset.Asset{OrgID: w.orgs[orgCode].ID, Kind: kind, Value: value, Criticality: asset.CriticalityImportant, SecurityLevel: 3}
		if err := st.CreateAsset(ctx, sys, &a); err != nil {
			t.Fatal(err)
		}
		w.assets[key] = a
	}
	mkAsset("a1", "CUCA", asset.KindHostname, "portal.cuca.example.vn")
	mkAsset("b1", "SOB", asset.KindHostname, "mat.sob-hanoi.example.vn")
	seen := func(a asset.Asset, checkID, target string, sev finding.Severity, kev bool) store.Finding {
		return store.Finding{Key: finding.Key(a.ID, checkID, target, ""), OrgID: a.OrgID, AssetID: a.ID, Check: checkID,
			Family: strings.Split(checkID, ".")[0], Severity: sev, Target: target, Title: checkID + " on " + target, KEV: kev,
			Evidence: json.RawMessage(`{"response":"<script>alert(1)</script>","fields":{"not_after":"2025-01-01"}}`)}
	}
	a1, b1 := w.assets["a1"], w.assets["b1"]
	batches := []store.FindingBatch{
		{JobID: "job-a1", At: testNow.Add(-40 * 24 * time.Hour), Policy: finding.DefaultPolicy,
			Covered: []store.Coverage{{AssetID: a1.ID, OrgID: a1.OrgID, Target: "portal.cuca.example.vn:443", Checks: []string{"tls.cert-expired", "http.missing-hsts"}}},
			Seen:    []store.Finding{seen(a1, "tls.cert-expired", "portal.cuca.example.vn:443", finding.High, false), seen(a1, "http.missing-hsts", "portal.cuca.example.vn:443", finding.Medium, false)}},
		{JobID: "job-b1", At: testNow.Add(-10 * 24 * time.Hour), Policy: finding.DefaultPolicy,
			Covered: []store.Coverage{{AssetID: b1.ID, OrgID: b1.OrgID, Target: "mat.sob-hanoi.example.vn:6379", Checks: []string{"svc.redis-noauth"}}},
			Seen:    []store.Finding{seen(b1, "svc.redis-noauth", "mat.sob-hanoi.example.vn:6379", finding.Critical, true)}},
	}
	for _, b := range batches {
		if _, err := st.RecordFindings(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	page, err := st.ListFindings(ctx, sys, store.FindingFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range page.Items {
		w.findings[f.Check] = f
	}
	hash, err := auth.HashPasswordWith(testPassword, auth.Argon2Params{Time: 1, Memory: 8 * 1024, Threads: 1, KeyLen: 32, SaltLen: 16})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []auth.User{
		{Name: "admin", Role: auth.RolePlatformAdmin},
		{Name: "cuca", Role: auth.RoleOrgAdmin, OrgID: w.orgs["CUCA"].ID},
		{Name: "btt", Role: auth.RoleOrgAdmin, OrgID: w.orgs["BTT"].ID},
		{Name: "sob", Role: auth.RoleOrgMember, OrgID: w.orgs["SOB"].ID},
	} {
		u.PasswordHash = hash
		if err := st.CreateUser(ctx, sys, &u); err != nil {
			t.Fatal(err)
		}
	}
	reg, _ := all.Registry("")
	srv, err := New(Deps{Store: st, Dashboard: st, Catalog: reg.Catalog(), Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})), Version: "test",
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

// client is a browser: a cookie jar, no automatic redirects.
type client struct {
	w  *world
	hc *http.Client
}

func (w *world) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{w: w, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// get fetches a page and returns status and body.
func (c *client) get(path string) (int, string) {
	c.w.t.Helper()
	resp, err := c.hc.Get(c.w.ts.URL + path)
	if err != nil {
		c.w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token from a page of the console.
func (c *client) csrf(path string) string {
	c.w.t.Helper()
	_, body := c.get(path)
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		c.w.t.Fatalf("no csrf token on %s", path)
	}
	return m[1]
}

// post sends a form as the console's own page would (Origin set).
func (c *client) post(path string, form url.Values, origin string) (*http.Response, string) {
	c.w.t.Helper()
	req, _ := http.NewRequest("POST", c.w.ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// login logs in and fails the test unless it works.
func (c *client) login(name, totp string) {
	c.w.t.Helper()
	tok := c.csrf("/login")
	resp, body := c.post("/login", url.Values{"csrf": {tok}, "name": {name}, "password": {testPassword}, "totp": {totp}, "next": {"/"}}, c.w.ts.URL)
	if resp.StatusCode != http.StatusSeeOther {
		c.w.t.Fatalf("login %s: status %d\n%s", name, resp.StatusCode, body)
	}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	got = csrfRE.ReplaceAllString(got, `name="csrf" value="CSRF"`)
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/web -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file; run go test ./internal/web -update and review the diff", name)
	}
}

func storePage() store.PageRequest { return store.PageRequest{Limit: 100} }
