package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/api"
	"github.com/rampart-cert/rampart/internal/assess"
	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/check/all"
	"github.com/rampart-cert/rampart/internal/findings"
	"github.com/rampart-cert/rampart/internal/queue/natsq"
	"github.com/rampart-cert/rampart/internal/scan"
	"github.com/rampart-cert/rampart/internal/scope"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

// env is a running API on a real SQLite store.
type env struct {
	t        *testing.T
	st       store.Store
	srv      *api.Server
	http     *httptest.Server
	guard    *scope.Guard
	admin    string // platform-admin bearer token
	lastSnap []string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "rampart.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	guard := scope.New(st, time.Hour, log)
	if err := guard.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	q, err := natsq.Open(ctx, natsq.Options{DataDir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	sched := scan.NewScheduler(st, q, guard, nil, scan.SchedulerConfig{Region: "default", Logger: log})
	reg, _ := all.Registry("")
	cat, err := assess.NewCatalog("", reg.Catalog())
	if err != nil {
		t.Fatal(err)
	}
	svc := findings.New(findings.Deps{Store: st, Scheduler: sched, Scope: guard, Logger: log})
	srv := api.New(api.Deps{Store: st, Guard: guard, Queue: q, Findings: svc, Logger: log, Version: "test", Catalog: reg.Catalog(),
		Assess:      &assess.Service{Store: st, Frameworks: cat},
		ScannerInfo: api.ScannerInfo{Operator: "VNCERT/CC", Contact: "scanner@vncert.vn", UserAgent: "Rampart-Scanner/test"}})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	e := &env{t: t, st: st, srv: srv, http: hs, guard: guard}
	hash, err := auth.HashPasswordWith("admin-password-123", cheap)
	if err != nil {
		t.Fatal(err)
	}
	u := auth.User{Name: "admin", Role: auth.RolePlatformAdmin, PasswordHash: hash}
	if err := st.CreateUser(ctx, auth.SystemPrincipal, &u); err != nil {
		t.Fatal(err)
	}
	e.admin = e.tokenFor(u)
	return e
}

var cheap = auth.Argon2Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// tokenFor mints a token with the user's role and organization.
func (e *env) tokenFor(u auth.User) string {
	e.t.Helper()
	ctx := context.Background()
	p, err := e.st.PrincipalForUser(ctx, u)
	if err != nil {
		e.t.Fatal(err)
	}
	tok, secret, err := auth.IssueToken(p, "test", u.Role, u.OrgID, nil, time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	tok.UserID = u.ID
	if err := e.st.CreateToken(ctx, auth.SystemPrincipal, &tok); err != nil {
		e.t.Fatal(err)
	}
	return secret
}

// user creates a user with a role in an organization and returns its token.
func (e *env) user(name string, role auth.Role, orgID int64) string {
	e.t.Helper()
	hash, _ := auth.HashPasswordWith("user-password-123", cheap)
	u := auth.User{Name: name, Role: role, OrgID: orgID, PasswordHash: hash}
	if err := e.st.CreateUser(context.Background(), auth.SystemPrincipal, &u); err != nil {
		e.t.Fatal(err)
	}
	return e.tokenFor(u)
}

type resp struct {
	status int
	body   []byte
	header http.Header
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r resp) code() string {
	var b struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.body, &b)
	return b.Error.Code
}

func (e *env) do(token, method, path string, body any) resp {
	e.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ct = strings.NewReader(b), "text/csv"
	case []byte:
		rd, ct = bytes.NewReader(b), "application/json"
	default:
		data, _ := json.Marshal(b)
		rd, ct = bytes.NewReader(data), "application/json"
	}
	req, err := http.NewRequest(method, e.http.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := e.http.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, body: data, header: res.Header}
}

func (e *env) mustDo(token, method, path string, body any, want int) resp {
	e.t.Helper()
	r := e.do(token, method, path, body)
	if r.status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.body)
	}
	return r
}

type idOnly struct {
	ID int64 `json:"id"`
}

func (e *env) createOrg(token, code, kind string, parent int64) int64 {
	e.t.Helper()
	var o idOnly
	e.mustDo(token, "POST", "/api/v1/orgs", map[string]any{"code": code, "name": "Tổ chức " + code, "kind": kind, "parent_id": parent}, 201).json(e.t, &o)
	if o.ID == 0 {
		e.t.Fatal("no id")
	}
	return o.ID
}

func (e *env) createAsset(token string, orgID int64, kind, value string) int64 {
	e.t.Helper()
	var a idOnly
	e.mustDo(token, "POST", "/api/v1/assets", map[string]any{"org_id": orgID, "kind": kind, "value": value}, 201).json(e.t, &a)
	return a.ID
}

func (e *env) refresh() {
	e.t.Helper()
	if err := e.guard.Refresh(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

// TestPublicContract exercises the routes other tools rely on, exactly as
// the platform documents them.
func TestPublicContract(t *testing.T) {
	e := newEnv(t)
	nat := e.createOrg(e.admin, "VN", "national", 0)
	moh := e.createOrg(e.admin, "MOH", "ministry", nat)

	var o struct {
		ID       int64  `json:"id"`
		Code     string `json:"code"`
		ParentID int64  `json:"parent_id"`
		Path     string `json:"path"`
	}
	e.mustDo(e.admin, "GET", fmt.Sprintf("/api/v1/orgs/%d", moh), nil, 200).json(t, &o)
	if o.Code != "MOH" || o.ParentID != nat {
		t.Fatalf("org = %+v", o)
	}

	aid := e.createAsset(e.admin, moh, "domain", "MOH.gov.VN.")
	var page struct {
		Items []struct {
			ID    int64  `json:"id"`
			Value string `json:"value"`
		} `json:"items"`
		Next *string `json:"next"`
	}
	e.mustDo(e.admin, "GET", fmt.Sprintf("/api/v1/assets?org_id=%d", moh), nil, 200).json(t, &page)
	if len(page.Items) != 1 || page.Items[0].ID != aid || page.Items[0].Value != "moh.gov.vn" || page.Next == nil {
		t.Fatalf("assets page = %s", e.do(e.admin, "GET", fmt.Sprintf("/api/v1/assets?org_id=%d", moh), nil).body)
	}

	var tok struct {
		Token string `json:"token"`
		Role  string `json:"role"`
	}
	e.mustDo(e.admin, "POST", "/api/v1/tokens", map[string]any{"name": "moh-ci", "role": "org-admin", "org_id": moh}, 201).json(t, &tok)
	if !strings.HasPrefix(tok.Token, "rpt_") || tok.Role != "org-admin" {
		t.Fatalf("token = %+v", tok)
	}
	// The new token works and is scoped to MOH.
	var me struct {
		Principal auth.Principal `json:"principal"`
	}
	e.mustDo(tok.Token, "GET", "/api/v1/me", nil, 200).json(t, &me)
	if me.Principal.OrgID != moh || me.Principal.Role != auth.RoleOrgAdmin {
		t.Fatalf("me = %+v", me)
	}

	csv := "org_code,kind,value,criticality\nMOH,cidr,203.0.113.0/24,critical\nMOH,ipv4,203.0.113.7,\n"
	var sum store.ImportSummary
	e.mustDo(tok.Token, "POST", "/api/v1/import/assets", csv, 200).json(t, &sum)
	if sum.Rows != 2 || sum.Created != 2 {
		t.Fatalf("import = %+v", sum)
	}
	e.mustDo(tok.Token, "POST", "/api/v1/import/assets", csv, 200).json(t, &sum)
	if sum.Unchanged != 2 || sum.Created != 0 {
		t.Fatalf("re-import = %+v", sum)
	}
	// The ministry's own admin only claims its networks; the national
	// level approves them.
	var claims store.Page[struct {
		Asset asset.Asset `json:"asset"`
	}]
	e.mustDo(e.admin, "GET", fmt.Sprintf("/api/v1/claims?org_id=%d", moh), nil, 200).json(t, &claims)
	if len(claims.Items) != 2 {
		t.Fatalf("claims = %+v", claims)
	}
	for _, c := range claims.Items {
		e.mustDo(tok.Token, "POST", fmt.Sprintf("/api/v1/assets/%d/approve", c.Asset.ID), nil, 403)
		e.mustDo(e.admin, "POST", fmt.Sprintf("/api/v1/assets/%d/approve", c.Asset.ID), map[string]any{"reason": "APNIC allocation"}, 200)
	}

	e.refresh()
	var sc struct {
		OrgID   int64  `json:"org_id"`
		AssetID int64  `json:"asset_id"`
		OrgCode string `json:"org_code"`
	}
	e.mustDo(tok.Token, "GET", "/api/v1/scope?target=https://portal.moh.gov.vn/login", nil, 200).json(t, &sc)
	if sc.OrgID != moh || sc.AssetID != aid || sc.OrgCode != "MOH" {
		t.Fatalf("scope = %+v", sc)
	}
	e.mustDo(tok.Token, "GET", "/api/v1/scope?target=203.0.113.9", nil, 200).json(t, &sc)
	if sc.OrgID != moh {
		t.Fatalf("scope = %+v", sc)
	}
	r := e.mustDo(tok.Token, "GET", "/api/v1/scope?target=198.51.100.1", nil, 404)
	if r.code() != "out_of_scope" {
		t.Fatalf("code = %s", r.code())
	}
}

func TestErrors(t *testing.T) {
	e := newEnv(t)
	nat := e.createOrg(e.admin, "VN", "national", 0)
	cases := []struct {
		name, token, method, path string
		body                      any
		status                    int
		code                      string
	}{
		{"no token", "", "GET", "/api/v1/orgs", nil, 401, "unauthorized"},
		{"bad token", "rpt_0000000000000000000000000000000000000000", "GET", "/api/v1/orgs", nil, 401, "unauthorized"},
		{"malformed json", e.admin, "POST", "/api/v1/orgs", []byte(`{"code":`), 400, "bad_request"},
		{"unknown field", e.admin, "POST", "/api/v1/orgs", []byte(`{"code":"X","name":"x","kind":"agency","colour":1}`), 400, "bad_request"},
		{"two values", e.admin, "POST", "/api/v1/orgs", []byte(`{"code":"X","name":"x","kind":"agency"}{}`), 400, "bad_request"},
		{"invalid kind", e.admin, "POST", "/api/v1/orgs", map[string]any{"code": "X", "name": "x", "kind": "club"}, 422, "invalid"},
		{"duplicate code", e.admin, "POST", "/api/v1/orgs", map[string]any{"code": "VN", "name": "x", "kind": "national"}, 409, "conflict"},
		{"invalid asset", e.admin, "POST", "/api/v1/assets", map[string]any{"org_id": nat, "kind": "ipv4", "value": "300.1.1.1"}, 422, "invalid"},
		{"missing org", e.admin, "GET", "/api/v1/orgs/999999", nil, 404, "not_found"},
		{"bad id", e.admin, "GET", "/api/v1/orgs/abc", nil, 400, "bad_request"},
		{"bad limit", e.admin, "GET", "/api/v1/assets?limit=5000", nil, 400, "bad_request"},
		{"no route", e.admin, "GET", "/api/v1/nothing", nil, 404, "not_found"},
		{"wrong content type", e.admin, "POST", "/api/v1/orgs", "code=x", 415, "unsupported_media_type"},
		{"no target", e.admin, "GET", "/api/v1/scope", nil, 400, "bad_request"},
		{"bad import", e.admin, "POST", "/api/v1/import/assets", "org_code,kind,value\nVN,domain,ok.vn\nVN,ipv4,1.2.3\n", 422, "import_failed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(c.token, c.method, c.path, c.body)
			if r.status != c.status || r.code() != c.code {
				t.Fatalf("got %d %q, want %d %q: %s", r.status, r.code(), c.status, c.code, r.body)
			}
		})
	}
	// The failed import stored nothing, and says which line.
	r := e.do(e.admin, "POST", "/api/v1/import/assets", "org_code,kind,value\nVN,domain,ok.vn\nVN,ipv4,1.2.3\n")
	var b struct {
		Error struct {
			Line int `json:"line"`
		} `json:"error"`
	}
	r.json(t, &b)
	if b.Error.Line != 3 {
		t.Errorf("line = %d, want 3", b.Error.Line)
	}
	var page struct {
		Items []any `json:"items"`
	}
	e.mustDo(e.admin, "GET", "/api/v1/assets", nil, 200).json(t, &page)
	if len(page.Items) != 0 {
		t.Errorf("failed import stored %d assets", len(page.Items))
	}
}

func TestLoginAndThrottle(t *testing.T) {
	e := newEnv(t)
	var lr struct {
		Token string `json:"token"`
	}
	e.mustDo("", "POST", "/api/v1/auth/login", map[string]any{"name": "admin", "password": "admin-password-123"}, 200).json(t, &lr)
	e.mustDo(lr.Token, "GET", "/api/v1/me", nil, 200)
	// Every role logs in, not only those that manage tokens.
	vn := e.createOrg(e.admin, "VN", "national", 0)
	e.user("viewer1", "viewer", vn)
	var vr struct {
		Token string `json:"token"`
	}
	e.mustDo("", "POST", "/api/v1/auth/login", map[string]any{"name": "viewer1", "password": "user-password-123"}, 200).json(t, &vr)
	var me struct {
		Principal auth.Principal `json:"principal"`
	}
	e.mustDo(vr.Token, "GET", "/api/v1/me", nil, 200).json(t, &me)
	if me.Principal.Role != auth.RoleViewer || me.Principal.OrgID != vn {
		t.Fatalf("viewer session: %+v", me)
	}
	for i := 0; i < 5; i++ {
		e.mustDo("", "POST", "/api/v1/auth/login", map[string]any{"name": "admin", "password": "wrong"}, 401)
	}
	r := e.do("", "POST", "/api/v1/auth/login", map[string]any{"name": "admin", "password": "admin-password-123"})
	if r.status != 429 || r.code() != "throttled" {
		t.Fatalf("after 5 failures: %d %s", r.status, r.body)
	}
}

func TestPagination(t *testing.T) {
	e := newEnv(t)
	nat := e.createOrg(e.admin, "VN", "national", 0)
	for i := 0; i < 25; i++ {
		e.createAsset(e.admin, nat, "ipv4", fmt.Sprintf("192.0.2.%d", i+1))
	}
	seen := map[int64]bool{}
	after := ""
	for pages := 0; ; pages++ {
		var page struct {
			Items []struct {
				ID int64 `json:"id"`
			} `json:"items"`
			Next string `json:"next"`
		}
		e.mustDo(e.admin, "GET", "/api/v1/assets?limit=10&after="+after, nil, 200).json(t, &page)
		for _, it := range page.Items {
			if seen[it.ID] {
				t.Fatalf("asset %d on two pages", it.ID)
			}
			seen[it.ID] = true
		}
		if page.Next == "" {
			break
		}
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		after = page.Next
	}
	if len(seen) != 25 {
		t.Fatalf("saw %d assets, want 25", len(seen))
	}
}

func TestAuditThroughAPI(t *testing.T) {
	e := newEnv(t)
	nat := e.createOrg(e.admin, "VN", "national", 0)
	aid := e.createAsset(e.admin, nat, "domain", "a.gov.vn")
	e.mustDo(e.admin, "PATCH", fmt.Sprintf("/api/v1/assets/%d", aid), map[string]any{"criticality": "critical"}, 200)
	var page struct {
		Items []store.AuditEntry `json:"items"`
	}
	e.mustDo(e.admin, "GET", fmt.Sprintf("/api/v1/audit?object_type=asset&object_id=%d", aid), nil, 200).json(t, &page)
	if len(page.Items) != 2 {
		t.Fatalf("audit entries = %d, want 2 (create, update)", len(page.Items))
	}
	var found bool
	for _, a := range page.Items {
		if a.Action == "asset.update" && strings.Contains(string(a.Before), `"normal"`) && strings.Contains(string(a.After), `"critical"`) && a.Actor != "" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no update entry with before/after: %+v", page.Items)
	}
	viewer := e.user("v", auth.RoleViewer, nat)
	e.mustDo(viewer, "GET", "/api/v1/audit", nil, 403)
}

func TestHealthAndMetrics(t *testing.T) {
	e := newEnv(t)
	e.mustDo("", "GET", "/healthz", nil, 200)
	e.mustDo("", "GET", "/readyz", nil, 200)
	e.mustDo(e.admin, "GET", "/api/v1/orgs", nil, 200)
	r := e.mustDo(e.admin, "GET", "/metrics", nil, 200)
	if !bytes.Contains(r.body, []byte(`rampart_http_requests_total{code="200",method="GET",route="/api/v1/orgs"} 1`)) {
		t.Fatalf("metrics missing request counter:\n%s", r.body)
	}
}

func storePage() store.PageRequest { return store.PageRequest{Limit: store.MaxLimit} }
