package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

// An organization's scan profile (ports, families, rate) goes through the
// scan-policy endpoints; an asset's override through its scan-profile
// endpoints. A bad field is a 400 naming it; a viewer may read, not write.
func TestScanProfileAPI(t *testing.T) {
	e := newEnv(t)
	vn := e.createOrg(e.admin, "VN", "national", 0)
	moh := e.createOrg(e.admin, "MOH", "ministry", vn)
	a := e.createAsset(e.admin, moh, "ipv4", "192.0.2.70")
	pol := fmt.Sprintf("/api/v1/orgs/%d/scan-policy", moh)
	prof := fmt.Sprintf("/api/v1/assets/%d/scan-profile", a)

	var sp store.ScanPolicy
	e.mustDo(e.admin, "GET", pol, nil, 200).json(t, &sp)
	if sp.Families == nil || sp.Ports != "" || sp.Rate != 0 {
		t.Fatalf("unset policy %+v", sp)
	}
	body := map[string]any{"exclusions": []string{}, "blackouts": []any{}, "ports": "22,443", "families": []string{"tls", "http"}, "rate": 100}
	e.mustDo(e.admin, "PUT", pol, body, 200).json(t, &sp)
	if sp.Ports != "22,443" || strings.Join(sp.Families, ",") != "http,tls" || sp.Rate != 100 {
		t.Fatalf("policy %+v", sp)
	}
	for field, v := range map[string]any{"ports": "22,70000", "families": []string{"nosuchfamily"}, "rate": -1} {
		bad := map[string]any{"exclusions": []string{}, "blackouts": []any{}, field: v}
		r := e.do(e.admin, "PUT", pol, bad)
		if r.status != 400 || !strings.Contains(string(r.body), field) {
			t.Errorf("PUT policy %s=%v: %d %s, want 400 naming %s", field, v, r.status, r.body, field)
		}
	}

	var pr store.ScanProfile
	e.mustDo(e.admin, "GET", prof, nil, 200).json(t, &pr)
	if !pr.IsZero() {
		t.Fatalf("unset profile %+v", pr)
	}
	e.mustDo(e.admin, "PUT", prof, []byte(`{"ports":"8443","families":["svc"],"udp":true}`), 200).json(t, &pr)
	if pr.Ports == nil || *pr.Ports != "8443" || pr.Families == nil || (*pr.Families)[0] != "svc" || pr.UDP == nil || !*pr.UDP || pr.Rate != nil || pr.Credentials != nil {
		t.Fatalf("profile %+v", pr)
	}
	for field, b := range map[string]string{"ports": `{"ports":"http"}`, "families": `{"families":["all"]}`, "rate": `{"rate":1000001}`} {
		r := e.do(e.admin, "PUT", prof, []byte(b))
		if r.status != 400 || !strings.Contains(string(r.body), field) {
			t.Errorf("PUT profile %s: %d %s, want 400 naming %s", b, r.status, r.body, field)
		}
	}
	viewer := e.user("viewer-moh", auth.RoleViewer, moh)
	e.mustDo(viewer, "GET", prof, nil, 200)
	e.mustDo(viewer, "PUT", prof, []byte(`{"rate":1}`), 403)
	e.mustDo(viewer, "DELETE", prof, nil, 403)
	other := e.createOrg(e.admin, "MOF", "ministry", vn)
	outsider := e.user("admin-mof", auth.RoleOrgAdmin, other)
	e.mustDo(outsider, "GET", prof, nil, 404)
	e.mustDo(outsider, "PUT", prof, []byte(`{"rate":1}`), 404)

	e.mustDo(e.admin, "DELETE", prof, nil, 204)
	e.mustDo(e.admin, "GET", prof, nil, 200).json(t, &pr)
	if !pr.IsZero() {
		t.Fatalf("deleted profile %+v", pr)
	}
}
