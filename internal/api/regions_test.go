package api_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
)

// TestRegionsPatch: an organization's and an asset's regions are set
// from above (the parent's administrators, platform administrators),
// validated against the region pattern, and kept by other edits (F1).
func TestRegionsPatch(t *testing.T) {
	e := newEnv(t)
	vn := e.createOrg(e.admin, "VN", "national", 0)
	hn := e.createOrg(e.admin, "HN", "province", vn)
	hn1 := e.createOrg(e.admin, "HN-1", "agency", hn)
	a := e.createAsset(e.admin, hn1, "ipv4", "198.51.100.9")
	hnAdmin := e.user("hn-admin", auth.RoleOrgAdmin, hn)
	hn1Admin := e.user("hn1-admin", auth.RoleOrgAdmin, hn1)

	// The platform admin routes the province; its administrator cannot.
	e.mustDo(hnAdmin, "PATCH", fmt.Sprintf("/api/v1/orgs/%d", hn), map[string]any{"regions": []string{"hanoi"}}, 403)
	r := e.mustDo(e.admin, "PATCH", fmt.Sprintf("/api/v1/orgs/%d", hn), map[string]any{"regions": []string{"HANOI", "hcm"}, "cross_check": true}, 200)
	var o org.Organization
	if err := json.Unmarshal(r.body, &o); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.Regions, []string{"hanoi", "hcm"}) || !o.CrossCheck {
		t.Fatalf("PATCH regions answered %s", r.body)
	}
	// The province's administrator routes its agency, and renames it in
	// the same request; a bad name is refused with the reason.
	e.mustDo(hnAdmin, "PATCH", fmt.Sprintf("/api/v1/orgs/%d", hn1), map[string]any{"regions": []string{"hà nội"}}, 422)
	e.mustDo(hnAdmin, "PATCH", fmt.Sprintf("/api/v1/orgs/%d", hn1), map[string]any{"regions": []string{"a_b"}}, 422)
	r = e.mustDo(hnAdmin, "PATCH", fmt.Sprintf("/api/v1/orgs/%d", hn1), map[string]any{"name": "Sở 1", "regions": []string{"hcm"}}, 200)
	o = org.Organization{}
	if err := json.Unmarshal(r.body, &o); err != nil || o.Name != "Sở 1" || !slices.Equal(o.Regions, []string{"hcm"}) || o.CrossCheck {
		t.Fatalf("PATCH name and regions answered %s", r.body)
	}
	// cross_check alone keeps the regions.
	r = e.mustDo(hnAdmin, "PATCH", fmt.Sprintf("/api/v1/orgs/%d", hn1), map[string]any{"cross_check": true}, 200)
	if err := json.Unmarshal(r.body, &o); err != nil || !slices.Equal(o.Regions, []string{"hcm"}) || !o.CrossCheck {
		t.Fatalf("PATCH cross_check answered %s", r.body)
	}
	// A rename by the agency's own administrator keeps the route.
	e.mustDo(hn1Admin, "PATCH", fmt.Sprintf("/api/v1/orgs/%d", hn1), map[string]any{"regions": []string{}}, 403)
	r = e.mustDo(hn1Admin, "PATCH", fmt.Sprintf("/api/v1/orgs/%d", hn1), map[string]any{"name": "Sở một"}, 200)
	if err := json.Unmarshal(r.body, &o); err != nil || !slices.Equal(o.Regions, []string{"hcm"}) {
		t.Fatalf("rename answered %s", r.body)
	}
	// The effective route shows in the scan policy.
	r = e.mustDo(hn1Admin, "GET", fmt.Sprintf("/api/v1/orgs/%d/scan-policy", hn1), nil, 200)
	var sp struct {
		Route org.Route `json:"route"`
	}
	if err := json.Unmarshal(r.body, &sp); err != nil || !slices.Equal(sp.Route.Regions, []string{"hcm"}) || sp.Route.FromOrgID != hn1 {
		t.Fatalf("scan policy answered %s", r.body)
	}

	// Assets: the same rule over the asset's organization.
	e.mustDo(hn1Admin, "PATCH", fmt.Sprintf("/api/v1/assets/%d", a), map[string]any{"regions": []string{"danang"}}, 403)
	r = e.mustDo(hnAdmin, "PATCH", fmt.Sprintf("/api/v1/assets/%d", a), map[string]any{"regions": []string{"danang"}}, 200)
	var got asset.Asset
	if err := json.Unmarshal(r.body, &got); err != nil || !slices.Equal(got.Regions, []string{"danang"}) {
		t.Fatalf("PATCH asset regions answered %s", r.body)
	}
	r = e.mustDo(hn1Admin, "PATCH", fmt.Sprintf("/api/v1/assets/%d", a), map[string]any{"notes": "edited"}, 200)
	if err := json.Unmarshal(r.body, &got); err != nil || !slices.Equal(got.Regions, []string{"danang"}) || got.Notes != "edited" {
		t.Fatalf("PATCH asset notes answered %s", r.body)
	}
	e.mustDo(hnAdmin, "PATCH", fmt.Sprintf("/api/v1/assets/%d", a), map[string]any{"regions": []string{"x y"}}, 422)
}

// TestWorkersRoute: GET /api/v1/workers is for platform-wide roles.
func TestWorkersRoute(t *testing.T) {
	e := newEnv(t)
	vn := e.createOrg(e.admin, "VN", "national", 0)
	viewer := e.user("vn-admin", auth.RoleOrgAdmin, vn)
	e.mustDo(viewer, "GET", "/api/v1/workers", nil, 403)
	r := e.mustDo(e.admin, "GET", "/api/v1/workers", nil, 200)
	var out struct {
		Known bool              `json:"known"`
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil || out.Items == nil {
		t.Fatalf("workers answered %s", r.body)
	}
}
