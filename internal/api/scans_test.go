package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/store"
)

func TestScanRoutes(t *testing.T) {
	e := newEnv(t)
	vn := e.createOrg(e.admin, "VN", "national", 0)
	moh := e.createOrg(e.admin, "MOH", "ministry", vn)
	a := e.createAsset(e.admin, moh, "cidr", "192.0.2.0/28")
	e.createAsset(e.admin, moh, "domain", "moh.gov.vn")
	e.refresh()

	var req struct {
		Items []store.ScanJob `json:"items"`
	}
	e.mustDo(e.admin, "POST", "/api/v1/scans", map[string]any{"asset_id": a}, 202).json(t, &req)
	if len(req.Items) != 1 || req.Items[0].State != store.JobQueued || req.Items[0].Target != "192.0.2.0/28" || req.Items[0].Reason != "manual" {
		t.Fatalf("scan request: %+v", req)
	}
	first := req.Items[0].ID
	e.mustDo(e.admin, "POST", "/api/v1/scans", map[string]any{"org_id": moh}, 202).json(t, &req)
	if len(req.Items) != 2 {
		t.Fatalf("org scan answered %d jobs, want 2", len(req.Items))
	}
	var page store.Page[store.ScanJob]
	e.mustDo(e.admin, "GET", fmt.Sprintf("/api/v1/scans?asset_id=%d", a), nil, 200).json(t, &page)
	if len(page.Items) != 1 || page.Items[0].ID != first { // the asset's job was still waiting: no second scan (F11)
		t.Fatalf("jobs of the asset: %+v", page.Items)
	}
	var got store.ScanJob
	e.mustDo(e.admin, "GET", "/api/v1/scans/"+page.Items[0].ID, nil, 200).json(t, &got)
	if got.AssetID != a {
		t.Fatalf("job = %+v", got)
	}
	e.mustDo(e.admin, "POST", "/api/v1/scans", map[string]any{}, 400)
	viewer := e.user("viewer", "viewer", moh)
	e.mustDo(viewer, "POST", "/api/v1/scans", map[string]any{"asset_id": a}, 403)

	pol := map[string]any{"exclusions": []string{"192.0.2.7", "test.moh.gov.vn"},
		"blackouts": []map[string]any{{"days": []int{1, 2, 3, 4, 5}, "start": "08:00", "end": "17:00"}}}
	var sp store.ScanPolicy
	e.mustDo(e.admin, "PUT", fmt.Sprintf("/api/v1/orgs/%d/scan-policy", moh), pol, 200).json(t, &sp)
	if len(sp.Exclusions) != 2 || len(sp.Blackouts) != 1 {
		t.Fatalf("policy = %+v", sp)
	}
	bad := map[string]any{"exclusions": []string{}, "blackouts": []map[string]any{{"days": []int{9}, "start": "25:00", "end": "01:00"}}}
	if r := e.do(e.admin, "PUT", fmt.Sprintf("/api/v1/orgs/%d/scan-policy", moh), bad); r.status != 422 {
		t.Fatalf("bad policy: %d %s", r.status, r.body)
	}
	e.mustDo(e.admin, "GET", "/api/v1/observations?state=open", nil, 200)
	e.mustDo(e.admin, "GET", "/api/v1/observations?state=maybe", nil, 400)

	r := e.mustDo("", "GET", "/scanner", nil, 200)
	for _, want := range []string{"VNCERT/CC", "scanner@vncert.vn", "Rampart-Scanner/test", "Hệ thống rà quét"} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("/scanner lacks %q", want)
		}
	}
}
