package api_test

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
)

// login logs name in through the API and returns the session token.
func (e *env) login(name, password, totp string, want int) string {
	e.t.Helper()
	var out struct {
		Token string `json:"token"`
	}
	r := e.mustDo("", "POST", "/api/v1/auth/login", map[string]any{"name": name, "password": password, "totp": totp}, want)
	if want == 200 {
		r.json(e.t, &out)
	}
	return out.Token
}

// TestF13PasswordChanges: resets end the user's sessions, peers of one
// organization cannot reset each other, a self-service change needs the
// current password and keeps only the session that made it.
func TestF13PasswordChanges(t *testing.T) {
	e := newEnv(t)
	a := e.createOrg(e.admin, "HN-A", "agency", 0)
	e.user("a_admin", auth.RoleOrgAdmin, a)
	e.user("a_admin2", auth.RoleOrgAdmin, a)
	e.user("a_member", auth.RoleOrgMember, a)
	ids := map[string]int64{}
	for _, n := range []string{"a_admin", "a_admin2", "a_member"} {
		u, err := e.st.UserForLogin(context.Background(), n)
		if err != nil {
			t.Fatal(err)
		}
		ids[n] = u.ID
	}
	ta := e.login("a_admin", "user-password-123", "", 200)
	t2 := e.login("a_admin2", "user-password-123", "", 200)
	path := func(n string) string { return "/api/v1/users/" + itoa(ids[n]) + "/password" }

	e.mustDo(ta, "POST", path("a_admin2"), map[string]any{"password": "Peer-Takeover-2026!"}, 403)
	e.mustDo(t2, "GET", "/api/v1/me", nil, 200)

	tm := e.login("a_member", "user-password-123", "", 200)
	e.mustDo(ta, "POST", path("a_member"), map[string]any{"password": "Member-Reset-2026!"}, 204)
	e.mustDo(tm, "GET", "/api/v1/me", nil, 401)
	e.login("a_member", "Member-Reset-2026!", "", 200)

	t2b := e.login("a_admin2", "user-password-123", "", 200)
	e.mustDo(t2, "POST", path("a_admin2"), map[string]any{"password": "Own-Change-2026!"}, 422)
	e.mustDo(t2, "POST", path("a_admin2"), map[string]any{"password": "Own-Change-2026!", "current_password": "wrong-password-99"}, 403)
	e.mustDo(t2, "POST", path("a_admin2"), map[string]any{"password": "Own-Change-2026!", "current_password": "user-password-123"}, 204)
	e.mustDo(t2, "GET", "/api/v1/me", nil, 200)  // the session that made the change
	e.mustDo(t2b, "GET", "/api/v1/me", nil, 401) // every other one
	e.mustDo(e.admin, "POST", path("a_admin2"), map[string]any{"password": "Admin-Reset-2026!"}, 204)
	e.mustDo(t2, "GET", "/api/v1/me", nil, 401)
}

// TestF15LoginTOTPReplay: a TOTP code logs in once.
func TestF15LoginTOTPReplay(t *testing.T) {
	e := newEnv(t)
	a := e.createOrg(e.admin, "HN-T", "agency", 0)
	e.user("cuca", auth.RoleViewer, a)
	u, _ := e.st.UserForLogin(context.Background(), "cuca")
	secret := auth.NewTOTPSecret()
	if err := e.st.SetTOTPSecret(context.Background(), auth.SystemPrincipal, u.ID, secret); err != nil {
		t.Fatal(err)
	}
	code, _ := auth.TOTPCode(secret, time.Now())
	e.login("cuca", "user-password-123", code, 200)
	e.login("cuca", "user-password-123", code, 401)
}

// TestF16OwnOrgIdentity: PATCH of one's own organization's code or kind is
// refused; its name may change.
func TestF16OwnOrgIdentity(t *testing.T) {
	e := newEnv(t)
	parent := e.createOrg(e.admin, "HN-DEMO", "province", 0)
	a := e.createOrg(e.admin, "HN-DEMO-STTTT", "agency", parent)
	ta := e.user("a_admin", auth.RoleOrgAdmin, a)
	p := "/api/v1/orgs/" + itoa(a)
	e.mustDo(ta, "PATCH", p, map[string]any{"code": "QG-FAKE"}, 403)
	e.mustDo(ta, "PATCH", p, map[string]any{"kind": "national"}, 403)
	e.mustDo(ta, "PATCH", p, map[string]any{"name": "Sở TT&TT Hà Nội"}, 200)
	th := e.user("hn_admin", auth.RoleOrgAdmin, parent)
	e.mustDo(th, "PATCH", p, map[string]any{"code": "HN-DEMO-STT"}, 200)
}

// TestF17NoDriverErrors: conflicts answer with a generic message and no
// database driver text.
func TestF17NoDriverErrors(t *testing.T) {
	e := newEnv(t)
	e.createOrg(e.admin, "HCM-DEMO", "province", 0)
	a := e.createOrg(e.admin, "HN-DEMO", "province", 0)
	ta := e.user("a_admin", auth.RoleOrgAdmin, a)
	e.user("hcm_admin", auth.RoleOrgAdmin, a)
	for _, r := range []resp{
		e.mustDo(e.admin, "POST", "/api/v1/orgs", map[string]any{"code": "HCM-DEMO", "name": "x", "kind": "province"}, 409),
		e.mustDo(ta, "POST", "/api/v1/orgs", map[string]any{"code": "HCM-DEMO", "name": "x", "kind": "agency", "parent_id": a}, 409),
		e.mustDo(ta, "POST", "/api/v1/users", map[string]any{"name": "hcm_admin", "role": "viewer", "org_id": a, "password": "Another-Pass-2026!"}, 409),
	} {
		low := strings.ToLower(string(r.body))
		for _, bad := range []string{"unique", "constraint", "sqlstate", "duplicate", "2067", "orgs.code"} {
			if strings.Contains(low, bad) {
				t.Errorf("answer carries driver text %q: %s", bad, r.body)
			}
		}
	}
}

// TestF18UnknownFramework: an unknown or missing framework is 422, not 500.
func TestF18UnknownFramework(t *testing.T) {
	e := newEnv(t)
	a := e.createOrg(e.admin, "HN-F", "agency", 0)
	for _, body := range []any{map[string]any{"framework": "nope", "title": "x", "owner_org_id": a, "deadline": time.Now().Add(48 * time.Hour)}, []byte("null")} {
		if r := e.do(e.admin, "POST", "/api/v1/campaigns", body); r.status != 422 && r.status != 400 {
			t.Errorf("campaign with %v: %d %s, want 422", body, r.status, r.body)
		}
	}
	for _, body := range []any{map[string]any{"org_id": a, "framework": "nope"}, []byte("null")} {
		if r := e.do(e.admin, "POST", "/api/v1/assessments", body); r.status != 422 && r.status != 400 {
			t.Errorf("assessment with %v: %d %s, want 422", body, r.status, r.body)
		}
	}
	e.mustDo(e.admin, "POST", "/api/v1/assessments", map[string]any{"org_id": a, "framework": "nope"}, 422)
}

// TestF19MetricsNeedToken: /metrics answers platform admins and analysts,
// not anonymous callers or other roles.
func TestF19MetricsNeedToken(t *testing.T) {
	e := newEnv(t)
	a := e.createOrg(e.admin, "HN-M", "agency", 0)
	e.mustDo("", "GET", "/metrics", nil, 401)
	e.mustDo(e.user("v", auth.RoleViewer, a), "GET", "/metrics", nil, 403)
	e.mustDo(e.user("an", auth.RoleAnalyst, 0), "GET", "/metrics", nil, 200)
	r := e.mustDo(e.admin, "GET", "/metrics", nil, 200)
	if !bytes.Contains(r.body, []byte("rampart_http_requests_total")) {
		t.Errorf("metrics body: %.200s", r.body)
	}
}

// TestF20PasswordPolicyAPI: common passwords and the user's own name are
// refused when a user is created or a password set.
func TestF20PasswordPolicyAPI(t *testing.T) {
	e := newEnv(t)
	a := e.createOrg(e.admin, "HN-P", "agency", 0)
	for _, pw := range []string{"password1234", "            ", "aaaaaaaaaaaa", "nguyenvana2026"} {
		e.mustDo(e.admin, "POST", "/api/v1/users", map[string]any{"name": "nguyenvana", "role": "viewer", "org_id": a, "password": pw}, 422)
	}
	e.mustDo(e.admin, "POST", "/api/v1/users", map[string]any{"name": "nguyenvana", "role": "viewer", "org_id": a, "password": "Tra-Da-Via-He-2026"}, 201)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
