package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

func mustList(t *testing.T, e *env, orgID int64) []asset.Asset {
	t.Helper()
	page, err := e.st.ListAssets(context.Background(), auth.SystemPrincipal, store.AssetFilter{OrgID: orgID})
	if err != nil {
		t.Fatal(err)
	}
	return page.Items
}

// probe is one request a tenant A credential makes against tenant B.
type probe struct {
	method, path string
	body         any
}

// TestTenancyEveryRoute walks every API route with credentials of
// organization ALFA against organization BETA's objects: nothing of BETA's
// may be read, and nothing may be written. A route added without a probe
// here fails the test.
func TestTenancyEveryRoute(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sys := auth.SystemPrincipal
	vn := e.createOrg(e.admin, "VN", "national", 0)
	alfa := e.createOrg(e.admin, "ALFA", "ministry", vn)
	alfa1 := e.createOrg(e.admin, "ALFA-1", "agency", alfa)
	beta := e.createOrg(e.admin, "BETA", "ministry", vn)
	beta1 := e.createOrg(e.admin, "BETA-1", "agency", beta)
	e.createAsset(e.admin, alfa, "ipv4", "198.51.100.7")
	e.createAsset(e.admin, alfa1, "domain", "alfa.gov.vn")
	bAsset := e.createAsset(e.admin, beta, "domain", "beta.gov.vn")
	e.createAsset(e.admin, beta, "cidr", "198.51.100.0/24")                                   // covers ALFA's address: an overlap
	bClaim := asset.Asset{OrgID: beta1, Kind: asset.KindHostname, Value: "claim.beta.gov.vn"} // a pending claim
	if err := e.st.CreateAsset(ctx, auth.Principal{Name: "beta-member", Role: auth.RoleOrgMember, OrgID: beta1}, &bClaim); err != nil || bClaim.State != asset.StateClaimed {
		t.Fatalf("beta claim: %v %+v", err, bClaim)
	}
	c := org.Contact{OrgID: beta, Name: "Beta Contact", Email: "contact@beta.gov.vn"}
	c.Normalize()
	if err := e.st.CreateContact(ctx, sys, &c); err != nil {
		t.Fatal(err)
	}
	bToken := e.user("beta-admin", auth.RoleOrgAdmin, beta)
	bUser, err := e.st.UserForLogin(ctx, "beta-admin")
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := e.st.ListTokens(ctx, sys, storePage())
	if err != nil {
		t.Fatal(err)
	}
	var bTokenID int64
	for _, tk := range tokens.Items {
		if tk.OrgID == beta {
			bTokenID = tk.ID
		}
	}
	bJob := store.ScanJob{ID: "beta-job-1", AssetID: bAsset, Type: "portscan", Region: "default", Reason: "manual"}
	if err := e.st.CreateScanJob(ctx, sys, &bJob); err != nil {
		t.Fatal(err)
	}
	bCIDR := int64(0)
	for _, a := range mustList(t, e, beta) {
		if a.Kind == "cidr" {
			bCIDR = a.ID
		}
	}
	if err := e.st.RecordScan(ctx, store.ScanReport{JobID: bJob.ID, AssetID: bCIDR, At: time.Now(), Hosts: []string{"198.51.100.5"},
		Ports: []int{22}, Open: []store.Observation{{IP: "198.51.100.5", Port: 22, Proto: "tcp", Service: "ssh", Product: "OpenSSH"}}}); err != nil {
		t.Fatal(err)
	}
	if err := e.st.SetScanPolicy(ctx, sys, beta, store.ScanPolicy{Exclusions: []string{"secret.beta.gov.vn"}}); err != nil {
		t.Fatal(err)
	}
	bKey := finding.Key(bAsset, "http.exposed-git", "beta.gov.vn:443", "")
	if _, err := e.st.RecordFindings(ctx, store.FindingBatch{JobID: bJob.ID, At: time.Now(), Policy: finding.DefaultPolicy,
		Seen: []store.Finding{{Key: bKey, AssetID: bAsset, OrgID: beta, Check: "http.exposed-git", Family: "http", Severity: finding.High,
			Target: "beta.gov.vn:443", Title: "beta-secret-finding", CVE: []string{}}}}); err != nil {
		t.Fatal(err)
	}
	bFindings, err := e.st.ListFindings(ctx, sys, store.FindingFilter{OrgID: beta})
	if err != nil || len(bFindings.Items) != 1 {
		t.Fatalf("beta finding: %v %+v", err, bFindings)
	}
	bFinding := bFindings.Items[0].ID
	bCamp := store.Campaign{OwnerOrg: beta, Framework: "baseline", Title: "beta-campaign-title", Deadline: time.Now().Add(30 * 24 * time.Hour), TargetRoot: beta}
	if err := e.st.CreateCampaign(ctx, sys, &bCamp); err != nil {
		t.Fatal(err)
	}
	bAssess, _, err := e.st.OpenAssessment(ctx, sys, store.Assessment{OrgID: beta, Framework: "baseline", CampaignID: bCamp.ID, Level: 1})
	if err != nil {
		t.Fatal(err)
	}
	bEv := store.EvidenceFile{AssessmentID: bAssess.ID, ControlID: "BL-TLS-1", Name: "beta-evidence.pdf", ContentType: "application/pdf", Data: []byte("%PDF beta")}
	if err := e.st.AddEvidence(ctx, sys, &bEv); err != nil {
		t.Fatal(err)
	}
	bHook := store.Webhook{OrgID: beta, URL: "https://hooks.beta.gov.vn/rampart", Secret: "beta-hook-secret-0123456789", Enabled: true}
	if err := e.st.CreateWebhook(ctx, sys, &bHook); err != nil {
		t.Fatal(err)
	}
	bDel := &store.Delivery{Key: "beta-delivery-1", OrgID: beta, Kind: "digest", Channel: "email", ContactID: c.ID,
		Recipient: "contact@beta.gov.vn", Subject: "beta-digest-subject", Payload: json.RawMessage(`{}`)}
	if err := e.st.EnqueueDeliveries(ctx, []*store.Delivery{bDel}); err != nil || bDel.ID == 0 {
		t.Fatalf("beta delivery: %v %+v", err, bDel)
	}
	e.refresh()

	// What BETA looks like before; compared after the walk.
	before := e.snapshot([]string{
		fmt.Sprintf("/api/v1/orgs/%d", beta), fmt.Sprintf("/api/v1/orgs/%d", beta1),
		fmt.Sprintf("/api/v1/assets/%d", bAsset), fmt.Sprintf("/api/v1/orgs/%d/contacts", beta), fmt.Sprintf("/api/v1/assets/%d/claim", bClaim.ID),
		fmt.Sprintf("/api/v1/users/%d", bUser.ID), fmt.Sprintf("/api/v1/orgs/%d/scan-policy", beta),
		fmt.Sprintf("/api/v1/findings/%d", bFinding), fmt.Sprintf("/api/v1/orgs/%d/webhooks", beta), fmt.Sprintf("/api/v1/campaigns/%d", bCamp.ID),
		fmt.Sprintf("/api/v1/assessments/%d", bAssess.ID), fmt.Sprintf("/api/v1/orgs/%d/notify-prefs", beta),
	})

	// Strings that must never appear in a successful answer to ALFA.
	secrets := []string{"BETA", "beta.gov.vn", "198.51.100.0/24", "contact@beta.gov.vn", "beta-admin", "beta-job", "198.51.100.5", "beta-secret-finding", "hooks.beta.gov.vn", "beta-digest-subject", "beta-hook-secret", "beta-campaign-title", "beta-evidence"}

	probes := map[string][]probe{
		"GET /api/v1/orgs": {{"GET", "/api/v1/orgs", nil}, {"GET", fmt.Sprintf("/api/v1/orgs?parent_id=%d", beta), nil},
			{"GET", fmt.Sprintf("/api/v1/orgs?root=%d", beta), nil}, {"GET", "/api/v1/orgs?q=BETA", nil}, {"GET", fmt.Sprintf("/api/v1/orgs?root=%d", vn), nil}},
		"POST /api/v1/orgs": {{"POST", "/api/v1/orgs", map[string]any{"code": "EVIL", "name": "x", "kind": "agency", "parent_id": beta}},
			{"POST", "/api/v1/orgs", map[string]any{"code": "EVIL2", "name": "x", "kind": "national"}}},
		"GET /api/v1/orgs/{id}": {{"GET", fmt.Sprintf("/api/v1/orgs/%d", beta), nil}, {"GET", fmt.Sprintf("/api/v1/orgs/%d", beta1), nil}, {"GET", fmt.Sprintf("/api/v1/orgs/%d", vn), nil}},
		"PATCH /api/v1/orgs/{id}": {{"PATCH", fmt.Sprintf("/api/v1/orgs/%d", beta1), map[string]any{"name": "pwned"}},
			{"PATCH", fmt.Sprintf("/api/v1/orgs/%d", alfa1), map[string]any{"parent_id": beta}},
			{"PATCH", fmt.Sprintf("/api/v1/orgs/%d", alfa), map[string]any{"parent_id": beta}},
			{"PATCH", fmt.Sprintf("/api/v1/orgs/%d", beta1), map[string]any{"regions": []string{"evil"}, "cross_check": true}},
			{"PATCH", fmt.Sprintf("/api/v1/orgs/%d", alfa), map[string]any{"regions": []string{"evil"}}}},
		"DELETE /api/v1/orgs/{id}":        {{"DELETE", fmt.Sprintf("/api/v1/orgs/%d", beta1), nil}},
		"GET /api/v1/orgs/{id}/contacts":  {{"GET", fmt.Sprintf("/api/v1/orgs/%d/contacts", beta), nil}},
		"POST /api/v1/orgs/{id}/contacts": {{"POST", fmt.Sprintf("/api/v1/orgs/%d/contacts", beta), map[string]any{"name": "x", "email": "x@evil.vn"}}},
		"DELETE /api/v1/contacts/{id}":    {{"DELETE", fmt.Sprintf("/api/v1/contacts/%d", c.ID), nil}},
		"GET /api/v1/assets": {{"GET", "/api/v1/assets", nil}, {"GET", fmt.Sprintf("/api/v1/assets?org_id=%d", beta), nil},
			{"GET", fmt.Sprintf("/api/v1/assets?org_id=%d&subtree=true", vn), nil}, {"GET", "/api/v1/assets?q=beta", nil}},
		"POST /api/v1/assets":     {{"POST", "/api/v1/assets", map[string]any{"org_id": beta, "kind": "domain", "value": "evil.vn"}}},
		"GET /api/v1/assets/{id}": {{"GET", fmt.Sprintf("/api/v1/assets/%d", bAsset), nil}},
		"PATCH /api/v1/assets/{id}": {{"PATCH", fmt.Sprintf("/api/v1/assets/%d", bAsset), map[string]any{"criticality": "national"}},
			{"PATCH", fmt.Sprintf("/api/v1/assets/%d", bAsset), map[string]any{"regions": []string{"evil"}}}},
		"DELETE /api/v1/assets/{id}": {{"DELETE", fmt.Sprintf("/api/v1/assets/%d", bAsset), nil}},
		"GET /api/v1/claims": {{"GET", "/api/v1/claims", nil}, {"GET", fmt.Sprintf("/api/v1/claims?org_id=%d", beta), nil},
			{"GET", "/api/v1/claims?decidable=true", nil}, {"GET", "/api/v1/claims?state=rejected", nil}},
		"GET /api/v1/assets/{id}/claim":    {{"GET", fmt.Sprintf("/api/v1/assets/%d/claim", bClaim.ID), nil}},
		"POST /api/v1/assets/{id}/verify":  {{"POST", fmt.Sprintf("/api/v1/assets/%d/verify", bClaim.ID), nil}},
		"POST /api/v1/assets/{id}/approve": {{"POST", fmt.Sprintf("/api/v1/assets/%d/approve", bClaim.ID), map[string]any{}}},
		"POST /api/v1/assets/{id}/reject":  {{"POST", fmt.Sprintf("/api/v1/assets/%d/reject", bClaim.ID), map[string]any{"reason": "x"}}},
		"PUT /api/v1/assets/{id}/evidence": {{"PUT", fmt.Sprintf("/api/v1/assets/%d/evidence", bClaim.ID), map[string]any{"evidence": "x"}}},
		"POST /api/v1/import/assets": {{"POST", "/api/v1/import/assets", "org_code,kind,value\nBETA,domain,evil.beta.gov.vn\n"},
			{"POST", "/api/v1/import/assets", []byte(`[{"org_code":"BETA-1","kind":"ipv4","value":"192.0.2.66"}]`)},
			{"POST", "/api/v1/import/assets", "org_code,kind,value,criticality\nBETA,domain,beta.gov.vn,national\n"}},
		"POST /api/v1/import/findings": {{"POST", "/api/v1/import/findings?tool=nuclei", `{"template-id":"x","info":{"severity":"high"},"host":"https://beta.gov.vn/"}` + "\n"},
			{"POST", "/api/v1/import/findings?tool=nuclei", `{"template-id":"x","info":{"severity":"high"},"host":"198.51.100.5","ip":"198.51.100.5"}` + "\n"}},
		"POST /api/v1/import/orgs": {{"POST", "/api/v1/import/orgs", "code,name,kind,parent_code\nEVIL,x,agency,BETA\n"},
			{"POST", "/api/v1/import/orgs", "code,name,kind,parent_code\nBETA-1,pwned,agency,BETA\n"},
			{"POST", "/api/v1/import/orgs", "code,name,kind,parent_code\nALFA-1,moved,agency,BETA\n"}},
		"GET /api/v1/export/assets": {{"GET", "/api/v1/export/assets", nil}, {"GET", "/api/v1/export/assets?format=json", nil},
			{"GET", fmt.Sprintf("/api/v1/export/assets?org_id=%d", beta), nil}},
		"GET /api/v1/export/orgs":          {{"GET", "/api/v1/export/orgs", nil}, {"GET", "/api/v1/export/orgs?format=json", nil}},
		"GET /api/v1/scope":                {{"GET", "/api/v1/scope?target=www.beta.gov.vn", nil}, {"GET", "/api/v1/scope?target=198.51.100.9", nil}},
		"GET /api/v1/scope/overlaps":       {{"GET", "/api/v1/scope/overlaps", nil}},
		"GET /api/v1/users":                {{"GET", "/api/v1/users", nil}},
		"POST /api/v1/users":               {{"POST", "/api/v1/users", map[string]any{"name": "evil", "role": "viewer", "org_id": beta}}, {"POST", "/api/v1/users", map[string]any{"name": "evil2", "role": "platform-admin"}}},
		"GET /api/v1/users/{id}":           {{"GET", fmt.Sprintf("/api/v1/users/%d", bUser.ID), nil}},
		"POST /api/v1/users/{id}/password": {{"POST", fmt.Sprintf("/api/v1/users/%d/password", bUser.ID), map[string]any{"password": "a-new-long-password"}}},
		"GET /api/v1/tokens":               {{"GET", "/api/v1/tokens", nil}},
		"POST /api/v1/tokens":              {{"POST", "/api/v1/tokens", map[string]any{"name": "evil", "role": "viewer", "org_id": beta}}, {"POST", "/api/v1/tokens", map[string]any{"name": "evil", "role": "worker"}}},
		"DELETE /api/v1/tokens/{id}":       {{"DELETE", fmt.Sprintf("/api/v1/tokens/%d", bTokenID), nil}},
		"POST /api/v1/scans":               {{"POST", "/api/v1/scans", map[string]any{"asset_id": bAsset}}, {"POST", "/api/v1/scans", map[string]any{"org_id": beta}}},
		"GET /api/v1/scans": {{"GET", "/api/v1/scans", nil}, {"GET", fmt.Sprintf("/api/v1/scans?org_id=%d", beta), nil},
			{"GET", fmt.Sprintf("/api/v1/scans?asset_id=%d", bAsset), nil}},
		"GET /api/v1/scans/{id}": {{"GET", "/api/v1/scans/beta-job-1", nil}},
		"GET /api/v1/workers":    {{"GET", "/api/v1/workers", nil}},
		"GET /api/v1/observations": {{"GET", "/api/v1/observations", nil}, {"GET", fmt.Sprintf("/api/v1/observations?org_id=%d", beta), nil},
			{"GET", "/api/v1/observations?ip=198.51.100.5", nil}},
		"GET /api/v1/orgs/{id}/scan-policy":       {{"GET", fmt.Sprintf("/api/v1/orgs/%d/scan-policy", beta), nil}},
		"PUT /api/v1/orgs/{id}/scan-policy":       {{"PUT", fmt.Sprintf("/api/v1/orgs/%d/scan-policy", beta), map[string]any{"exclusions": []string{}, "blackouts": []any{}}}},
		"GET /api/v1/assets/{id}/scan-profile":    {{"GET", fmt.Sprintf("/api/v1/assets/%d/scan-profile", bAsset), nil}},
		"PUT /api/v1/assets/{id}/scan-profile":    {{"PUT", fmt.Sprintf("/api/v1/assets/%d/scan-profile", bAsset), map[string]any{"rate": 1}}},
		"DELETE /api/v1/assets/{id}/scan-profile": {{"DELETE", fmt.Sprintf("/api/v1/assets/%d/scan-profile", bAsset), nil}},
		"GET /api/v1/findings": {{"GET", "/api/v1/findings", nil}, {"GET", fmt.Sprintf("/api/v1/findings?org_id=%d", beta), nil},
			{"GET", fmt.Sprintf("/api/v1/findings?asset_id=%d", bAsset), nil}, {"GET", "/api/v1/findings?q=beta", nil}},
		"GET /api/v1/findings/export": {{"GET", "/api/v1/findings/export", nil}, {"GET", "/api/v1/findings/export?format=sarif", nil},
			{"GET", fmt.Sprintf("/api/v1/findings/export?format=json&org_id=%d", beta), nil}},
		"GET /api/v1/findings/{id}":         {{"GET", fmt.Sprintf("/api/v1/findings/%d", bFinding), nil}},
		"GET /api/v1/findings/{id}/history": {{"GET", fmt.Sprintf("/api/v1/findings/%d/history", bFinding), nil}},
		"POST /api/v1/findings/{id}/transition": {{"POST", fmt.Sprintf("/api/v1/findings/%d/transition", bFinding), map[string]any{"action": "acknowledge"}},
			{"POST", fmt.Sprintf("/api/v1/findings/%d/transition", bFinding), map[string]any{"action": "request-verify"}}},
		"GET /api/v1/debt": {{"GET", "/api/v1/debt", nil}},
		"GET /api/v1/reports": {{"GET", "/api/v1/reports", nil}, {"GET", fmt.Sprintf("/api/v1/reports?org_id=%d&format=csv", beta), nil},
			{"GET", "/api/v1/reports?format=csv", nil}},
		"GET /api/v1/frameworks": {{"GET", "/api/v1/frameworks", nil}},
		"POST /api/v1/campaigns": {{"POST", "/api/v1/campaigns", map[string]any{"owner_org_id": beta, "framework": "baseline", "title": "x", "deadline": time.Now().Add(time.Hour), "target_root": beta}},
			{"POST", "/api/v1/campaigns", map[string]any{"owner_org_id": alfa, "framework": "baseline", "title": "x", "deadline": time.Now().Add(time.Hour), "target_org_ids": []int64{beta1}}}},
		"GET /api/v1/campaigns":                {{"GET", "/api/v1/campaigns", nil}},
		"GET /api/v1/campaigns/{id}":           {{"GET", fmt.Sprintf("/api/v1/campaigns/%d", bCamp.ID), nil}},
		"POST /api/v1/campaigns/{id}/remind":   {{"POST", fmt.Sprintf("/api/v1/campaigns/%d/remind", bCamp.ID), map[string]any{}}},
		"GET /api/v1/campaigns/{id}/synthesis": {{"GET", fmt.Sprintf("/api/v1/campaigns/%d/synthesis", bCamp.ID), nil}},
		"POST /api/v1/assessments": {{"POST", "/api/v1/assessments", map[string]any{"org_id": beta, "framework": "baseline"}},
			{"POST", "/api/v1/assessments", map[string]any{"org_id": alfa, "framework": "baseline", "campaign_id": bCamp.ID}}},
		"GET /api/v1/assessments/{id}": {{"GET", fmt.Sprintf("/api/v1/assessments/%d", bAssess.ID), nil}},
		"PUT /api/v1/assessments/{id}/answers": {{"PUT", fmt.Sprintf("/api/v1/assessments/%d/answers", bAssess.ID),
			map[string]any{"answers": []map[string]any{{"control_id": "BL-TLS-1", "answer": "implemented"}}}}},
		"POST /api/v1/assessments/{id}/submit":   {{"POST", fmt.Sprintf("/api/v1/assessments/%d/submit", bAssess.ID), map[string]any{}}},
		"POST /api/v1/assessments/{id}/reopen":   {{"POST", fmt.Sprintf("/api/v1/assessments/%d/reopen", bAssess.ID), map[string]any{"reason": "x"}}},
		"POST /api/v1/assessments/{id}/evidence": {{"POST", fmt.Sprintf("/api/v1/assessments/%d/evidence?control=BL-TLS-1&name=evil.txt", bAssess.ID), "evil"}},
		"GET /api/v1/evidence/{id}":              {{"GET", fmt.Sprintf("/api/v1/evidence/%d", bEv.ID), nil}},
		"GET /api/v1/orgs/{id}/notify-prefs":     {{"GET", fmt.Sprintf("/api/v1/orgs/%d/notify-prefs", beta), nil}},
		"PUT /api/v1/orgs/{id}/notify-prefs": {{"PUT", fmt.Sprintf("/api/v1/orgs/%d/notify-prefs", beta),
			map[string]any{"language": "en", "channels": []string{"email"}, "alert_min_severity": "low", "digest_period": "daily", "digest_hour": 3}}},
		"GET /api/v1/orgs/{id}/webhooks":       {{"GET", fmt.Sprintf("/api/v1/orgs/%d/webhooks", beta), nil}},
		"POST /api/v1/orgs/{id}/webhooks":      {{"POST", fmt.Sprintf("/api/v1/orgs/%d/webhooks", beta), map[string]any{"url": "https://evil.example/x", "secret": "0123456789abcdef0123"}}},
		"PATCH /api/v1/webhooks/{id}":          {{"PATCH", fmt.Sprintf("/api/v1/webhooks/%d", bHook.ID), map[string]any{"url": "https://evil.example/x"}}},
		"DELETE /api/v1/webhooks/{id}":         {{"DELETE", fmt.Sprintf("/api/v1/webhooks/%d", bHook.ID), nil}},
		"GET /api/v1/deliveries":               {{"GET", "/api/v1/deliveries", nil}, {"GET", fmt.Sprintf("/api/v1/deliveries?org_id=%d", beta), nil}},
		"GET /api/v1/deliveries/{id}/attempts": {{"GET", fmt.Sprintf("/api/v1/deliveries/%d/attempts", bDel.ID), nil}},
		"GET /api/v1/audit":                    {{"GET", "/api/v1/audit", nil}, {"GET", fmt.Sprintf("/api/v1/audit?object_type=org&object_id=%d", beta), nil}},
	}
	intelProbes, intelSecrets := intelTenancy(t, e, beta, bAsset) // the hub's routes: intel_tenancy_test.go
	for k, v := range intelProbes {
		probes[k] = v
	}
	secrets = append(secrets, intelSecrets...)
	discProbes, discSecrets := discoveryTenancy(t, e, beta) // discovery_test.go
	for k, v := range discProbes {
		probes[k] = v
	}
	secrets = append(secrets, discSecrets...)
	decProbes, decSecrets := decisionTenancy(t, e, beta) // decisions_test.go
	for k, v := range decProbes {
		probes[k] = v
	}
	secrets = append(secrets, decSecrets...)
	dnsProbes, dnsSecrets := dnsTenancy(t, e, beta) // dns_test.go
	for k, v := range dnsProbes {
		probes[k] = v
	}
	secrets = append(secrets, dnsSecrets...)
	// Routes that involve no other organization's object.
	public := map[string]bool{"POST /api/v1/auth/login": true, "GET /api/v1/openapi.json": true, "GET /api/v1/me": true}

	for _, role := range []auth.Role{auth.RoleOrgAdmin, auth.RoleOrgMember, auth.RoleViewer} {
		token := e.user("alfa-"+string(role), role, alfa)
		for _, key := range e.srv.RouteKeys() {
			if public[key] {
				continue
			}
			ps, ok := probes[key]
			if !ok {
				t.Errorf("route %s has no tenancy probe: add one", key)
				continue
			}
			for _, p := range ps {
				r := e.do(token, p.method, p.path, p.body)
				if r.status >= 300 {
					continue
				}
				for _, s := range secrets {
					if strings.Contains(string(r.body), s) {
						t.Errorf("%s: %s %s answered %d with %q: %s", role, p.method, p.path, r.status, s, r.body)
					}
				}
				if p.method != "GET" {
					t.Errorf("%s: %s %s succeeded (%d): %s", role, p.method, p.path, r.status, r.body)
				}
			}
		}
	}
	after := e.snapshot(nil)
	for path, b := range before {
		if after[path] != b {
			t.Errorf("%s changed:\nbefore %s\nafter  %s", path, b, after[path])
		}
	}
	e.mustDo(bToken, "GET", "/api/v1/me", nil, 200) // BETA's token still works
}

// snapshot GETs paths as the platform admin; with nil it repeats the last set.
func (e *env) snapshot(paths []string) map[string]string {
	if paths == nil {
		paths = e.lastSnap
	}
	e.lastSnap = paths
	out := map[string]string{}
	for _, p := range paths {
		out[p] = string(e.mustDo(e.admin, "GET", p, nil, 200).body)
	}
	return out
}
