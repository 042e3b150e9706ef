package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
)

// TestClaimsThroughAPI: a member's asset is a claim within the limits; the
// parent's admin approves it; the scan request of a claim is refused.
func TestClaimsThroughAPI(t *testing.T) {
	e := newEnv(t)
	vn := e.createOrg(e.admin, "VN", "national", 0)
	moh := e.createOrg(e.admin, "MOH", "ministry", vn)
	unit := e.createOrg(e.admin, "MOH-IT", "agency", moh)
	member := e.user("unit-member", auth.RoleOrgMember, unit)
	mohAdmin := e.user("moh-admin", auth.RoleOrgAdmin, moh)

	for _, c := range []struct {
		kind, value string
		status      int
	}{
		{"domain", "gov.vn", 422}, {"domain", "com.vn", 422}, {"domain", "co.uk", 422},
		{"cidr", "10.0.0.0/8", 422}, {"ipv4", "127.0.0.1", 422}, {"hostname", "localhost", 422},
		{"cidr", "45.116.0.0/15", 403},
	} {
		e.mustDo(member, "POST", "/api/v1/assets", map[string]any{"org_id": unit, "kind": c.kind, "value": c.value}, c.status)
	}
	var a asset.Asset
	e.mustDo(member, "POST", "/api/v1/assets", map[string]any{"org_id": unit, "kind": "hostname", "value": "portal.moh-it.example.vn"}, 201).json(t, &a)
	if a.State != asset.StateClaimed || a.VerifyToken == "" {
		t.Fatalf("member's asset %+v", a)
	}
	var d struct {
		Proof asset.Proof `json:"proof"`
	}
	e.mustDo(member, "GET", fmt.Sprintf("/api/v1/assets/%d/claim", a.ID), nil, 200).json(t, &d)
	if d.Proof.DNSName != "_rampart-verify.portal.moh-it.example.vn" || d.Proof.TXT != "rampart-verify="+a.VerifyToken {
		t.Fatalf("proof %+v", d.Proof)
	}
	e.refresh()
	if r := e.do(member, "GET", "/api/v1/scope?target=portal.moh-it.example.vn", nil); r.status != 404 {
		t.Fatalf("claim in scope: %d %s", r.status, r.body)
	}
	if r := e.do(member, "POST", "/api/v1/scans", map[string]any{"asset_id": a.ID}); r.status < 400 {
		t.Fatalf("scan of a claim: %d %s", r.status, r.body)
	}
	e.mustDo(member, "POST", fmt.Sprintf("/api/v1/assets/%d/approve", a.ID), nil, 403)
	var ok asset.Asset
	e.mustDo(mohAdmin, "POST", fmt.Sprintf("/api/v1/assets/%d/approve", a.ID), map[string]any{}, 200).json(t, &ok)
	if ok.State != asset.StateVerified || !strings.HasPrefix(ok.VerifiedBy, "approval:moh-admin") {
		t.Fatalf("approved %+v", ok)
	}
	e.mustDo(mohAdmin, "POST", fmt.Sprintf("/api/v1/assets/%d/reject", a.ID), map[string]any{}, 404) // no pending claim any more
	e.refresh()
	e.mustDo(member, "GET", "/api/v1/scope?target=portal.moh-it.example.vn", nil, 200)
}
