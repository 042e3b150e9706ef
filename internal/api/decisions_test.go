package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

func TestDecisionsThroughAPI(t *testing.T) {
	e := newEnv(t)
	nat := e.createOrg(e.admin, "VN", "national", 0)
	a := e.createOrg(e.admin, "A", "agency", nat)
	analyst := e.user("ana", auth.RoleAnalyst, nat)
	member := e.user("mem", auth.RoleOrgAdmin, a)

	// An analyst blocks an address; a member may not, nor see decisions.
	var d store.Decision
	e.mustDo(analyst, "POST", "/api/v1/decisions", map[string]any{"value": "203.0.113.7", "ttl": "2h", "reason": "scanner"}, 201).json(t, &d)
	if d.State != store.DecisionActive || d.Origin != store.OriginAnalyst || d.Scope != store.ScopeIP {
		t.Fatalf("created: %+v", d)
	}
	if r := e.do(member, "POST", "/api/v1/decisions", map[string]any{"value": "203.0.113.8"}); r.status != 403 {
		t.Fatalf("member creates: %d %s", r.status, r.body)
	}
	var pg store.Page[store.Decision]
	e.mustDo(member, "GET", "/api/v1/decisions", nil, 200).json(t, &pg)
	if len(pg.Items) != 0 {
		t.Fatalf("member sees: %+v", pg.Items)
	}
	for _, bad := range []map[string]any{{"value": "10.0.0.1"}, {"value": "x"}, {"value": "203.0.113.9", "ttl": "soon"}} {
		if r := e.do(analyst, "POST", "/api/v1/decisions", bad); r.status != 400 {
			t.Fatalf("%v: %d %s", bad, r.status, r.body)
		}
	}
	e.mustDo(analyst, "GET", "/api/v1/decisions?state=active", nil, 200).json(t, &pg)
	if len(pg.Items) != 1 {
		t.Fatalf("list: %+v", pg.Items)
	}
	if r := e.do(analyst, "POST", "/api/v1/decisions/"+itoa(d.ID)+"/approve", nil); r.status != 409 {
		t.Fatalf("approve an active decision: %d %s", r.status, r.body)
	}

	// A bouncer pulls it through the CrowdSec endpoint and the blocklists.
	var b struct {
		store.Bouncer
		Key string `json:"key"`
	}
	e.mustDo(e.admin, "POST", "/api/v1/bouncers", map[string]any{"name": "fw-a", "org_code": "A"}, 201).json(t, &b)
	if b.OrgID != a || !strings.HasPrefix(b.Key, "rbk_") {
		t.Fatalf("bouncer: %+v", b)
	}
	pull := func(path string) (int, string) {
		req, _ := http.NewRequest("GET", e.http.URL+path, nil)
		req.Header.Set("X-Api-Key", b.Key)
		res, err := e.http.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	if code, body := pull("/v1/decisions/stream?startup=true"); code != 200 || !strings.Contains(body, `"value":"203.0.113.7"`) || !strings.Contains(body, `"scope":"Ip"`) {
		t.Fatalf("stream: %d %s", code, body)
	}
	if code, body := pull("/v1/decisions/stream"); code != 200 || body != `{"new":null,"deleted":null}` {
		t.Fatalf("delta: %d %s", code, body)
	}
	if code, body := pull("/decisions/nft"); code != 200 || !strings.Contains(body, "203.0.113.7") {
		t.Fatalf("nft: %d %s", code, body)
	}
	e.mustDo(analyst, "POST", "/api/v1/decisions/"+itoa(d.ID)+"/lift", map[string]any{"note": "fixed"}, 200)
	if _, body := pull("/v1/decisions/stream"); !strings.Contains(body, `"deleted":[{`) {
		t.Fatalf("after lift: %s", body)
	}
	var bl struct {
		Items []store.Bouncer `json:"items"`
	}
	e.mustDo(analyst, "GET", "/api/v1/bouncers", nil, 200).json(t, &bl)
	if len(bl.Items) != 1 || bl.Items[0].TotalNew != 1 || bl.Items[0].TotalDeleted != 1 {
		t.Fatalf("bouncers: %+v", bl.Items)
	}
	e.mustDo(e.admin, "DELETE", "/api/v1/bouncers/"+itoa(b.ID), nil, 204)
	if code, _ := pull("/v1/decisions/stream"); code != 403 {
		t.Fatalf("deleted bouncer's key: %d", code)
	}
	// Audited.
	var au store.Page[store.AuditEntry]
	e.mustDo(e.admin, "GET", "/api/v1/audit?object_type=decision", nil, 200).json(t, &au)
	if len(au.Items) != 2 {
		t.Fatalf("audit: %+v", au.Items)
	}
}

// decisionTenancy probes the national decisions' routes: no member role
// may read a decision's evidence or a bouncer, or change either.
func decisionTenancy(t *testing.T, e *env, beta int64) (map[string][]probe, []string) {
	t.Helper()
	var d store.Decision
	e.mustDo(e.admin, "POST", "/api/v1/decisions", map[string]any{"value": "203.0.113.77", "reason": "beta-decision-reason"}, 201).json(t, &d)
	var b store.Bouncer
	e.mustDo(e.admin, "POST", "/api/v1/bouncers", map[string]any{"name": "beta-bouncer"}, 201).json(t, &b)
	dp := "/api/v1/decisions/" + itoa(d.ID)
	return map[string][]probe{
		"GET /api/v1/decisions":               {{"GET", "/api/v1/decisions", nil}, {"GET", "/api/v1/decisions?state=active&q=203", nil}},
		"GET /api/v1/decisions/{id}":          {{"GET", dp, nil}},
		"POST /api/v1/decisions":              {{"POST", "/api/v1/decisions", map[string]any{"value": "203.0.113.78"}}},
		"POST /api/v1/decisions/{id}/approve": {{"POST", dp + "/approve", map[string]any{}}},
		"POST /api/v1/decisions/{id}/reject":  {{"POST", dp + "/reject", map[string]any{}}},
		"POST /api/v1/decisions/{id}/lift":    {{"POST", dp + "/lift", map[string]any{"note": "x"}}},
		"GET /api/v1/bouncers":                {{"GET", "/api/v1/bouncers", nil}},
		"POST /api/v1/bouncers":               {{"POST", "/api/v1/bouncers", map[string]any{"name": "evil"}}},
		"DELETE /api/v1/bouncers/{id}":        {{"DELETE", "/api/v1/bouncers/" + itoa(b.ID), nil}},
	}, []string{"beta-decision-reason", "beta-bouncer", "203.0.113.77"}
}
