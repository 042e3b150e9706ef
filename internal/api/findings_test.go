package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/store"
)

func TestFindingsThroughAPI(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	vn := e.createOrg(e.admin, "VN", "national", 0)
	moh := e.createOrg(e.admin, "MOH", "ministry", vn)
	a := e.createAsset(e.admin, moh, "ipv4", "192.0.2.10")
	e.refresh()
	first := time.Now().Add(-40 * 24 * time.Hour) // high findings are due after 30 days: overdue now
	mk := func(check string, sev finding.Severity, kev bool, subject string) store.Finding {
		target := "192.0.2.10:443"
		return store.Finding{Key: finding.Key(a, check, target, subject), AssetID: a, OrgID: moh, Check: check, Family: strings.Split(check, ".")[0],
			Severity: sev, KEV: kev, Target: target, Subject: subject, Title: check + " on " + target, CVE: []string{}, Evidence: json.RawMessage(`{"response":"x"}`)}
	}
	if _, err := e.st.RecordFindings(ctx, store.FindingBatch{JobID: "j1", At: first, Policy: finding.DefaultPolicy,
		Seen: []store.Finding{mk("tls.cert-expired", finding.High, false, ""), mk("vuln.known-cve", finding.Critical, true, "CVE-2021-41773"), mk("http.missing-hsts", finding.Low, false, "")}}); err != nil {
		t.Fatal(err)
	}
	var page store.Page[store.Finding]
	e.mustDo(e.admin, "GET", fmt.Sprintf("/api/v1/findings?org_id=%d", vn), nil, 200).json(t, &page)
	if len(page.Items) != 3 {
		t.Fatalf("findings: %d", len(page.Items))
	}
	e.mustDo(e.admin, "GET", "/api/v1/findings?overdue=true", nil, 200).json(t, &page)
	if len(page.Items) != 2 { // high (30 d) and KEV (14 d); low has 180 d
		t.Fatalf("overdue: %+v", page.Items)
	}
	e.mustDo(e.admin, "GET", "/api/v1/findings?kev=true&min_severity=high", nil, 200).json(t, &page)
	if len(page.Items) != 1 || page.Items[0].Check != "vuln.known-cve" || page.Items[0].DueAt == nil {
		t.Fatalf("kev: %+v", page.Items)
	}
	kevID := page.Items[0].ID
	e.mustDo(e.admin, "GET", "/api/v1/findings?check=tls.", nil, 200).json(t, &page)
	if len(page.Items) != 1 {
		t.Fatalf("family filter: %+v", page.Items)
	}
	certID := page.Items[0].ID
	e.mustDo(e.admin, "GET", "/api/v1/findings?severity=urgent", nil, 400)

	tr := func(id int64, body map[string]any, want int) store.Finding {
		var f store.Finding
		e.mustDo(e.admin, "POST", fmt.Sprintf("/api/v1/findings/%d/transition", id), body, want).json(t, &f)
		return f
	}
	if f := tr(certID, map[string]any{"action": "acknowledge", "reason": "renewing"}, 200); f.State != finding.StateAcknowledged {
		t.Fatalf("ack: %+v", f)
	}
	until := time.Now().Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339)
	// The ministry's own administrator only asks (security review F8)...
	mohAdmin := e.user("moh-admin", auth.RoleOrgAdmin, moh)
	var req store.Finding
	e.mustDo(mohAdmin, "POST", fmt.Sprintf("/api/v1/findings/%d/transition", kevID), map[string]any{"action": "accept-risk", "reason": "WAF rule blocks the path",
		"approver": "CISO MOH", "until": until}, 200).json(t, &req)
	if req.State != finding.StateOpen || req.Waiver == nil || !strings.HasPrefix(req.Waiver.By, "moh-admin") {
		t.Fatalf("request: %+v", req)
	}
	if r := e.do(mohAdmin, "POST", fmt.Sprintf("/api/v1/findings/%d/transition", kevID), map[string]any{"action": "approve"}); r.status != 403 {
		t.Fatalf("self-approval: %d %s", r.status, r.body)
	}
	var pending store.Page[store.Finding]
	e.mustDo(e.admin, "GET", "/api/v1/findings?waiver=pending", nil, 200).json(t, &pending)
	if len(pending.Items) != 1 || pending.Items[0].ID != kevID {
		t.Fatalf("pending waivers: %+v", pending.Items)
	}
	// ...the national level decides, and is the approver.
	if f := tr(kevID, map[string]any{"action": "approve"}, 200); f.State != finding.StateRiskAccepted || f.Approver != "admin (token:test)" || f.Waiver != nil {
		t.Fatalf("accept: %+v", f)
	}
	if r := e.do(e.admin, "POST", fmt.Sprintf("/api/v1/findings/%d/transition", kevID), map[string]any{"action": "acknowledge"}); r.status != 409 {
		t.Fatalf("acknowledge an accepted finding: %d %s", r.status, r.body)
	}
	if r := e.do(e.admin, "POST", fmt.Sprintf("/api/v1/findings/%d/transition", kevID), map[string]any{"action": "not-seen"}); r.status != 422 {
		t.Fatalf("scanner action by a person: %d %s", r.status, r.body)
	}
	tr(kevID, map[string]any{"action": "reopen", "reason": "WAF removed"}, 200)
	// "I fixed it": the state stays, a verification scan is queued.
	if f := tr(certID, map[string]any{"action": "request-verify"}, 200); f.State != finding.StateAcknowledged || f.VerifyRequestedAt == nil {
		t.Fatalf("verify: %+v", f)
	}
	var jobs store.Page[store.ScanJob]
	e.mustDo(e.admin, "GET", fmt.Sprintf("/api/v1/scans?asset_id=%d", a), nil, 200).json(t, &jobs)
	if len(jobs.Items) != 1 || jobs.Items[0].Reason != "verify" {
		t.Fatalf("verification job: %+v", jobs.Items)
	}
	var hist struct {
		Items []store.FindingEvent `json:"items"`
	}
	e.mustDo(e.admin, "GET", fmt.Sprintf("/api/v1/findings/%d/history", kevID), nil, 200).json(t, &hist)
	var actions []string
	for _, ev := range hist.Items {
		actions = append(actions, string(ev.Action)+":"+ev.Actor)
	}
	if got := strings.Join(actions, ","); !strings.Contains(got, "request-accept-risk:moh-admin") || !strings.Contains(got, "approve:admin (token:test)") || !strings.Contains(got, "reopen:admin (token:test)") {
		t.Fatalf("history: %s", got)
	}

	// Exports.
	r := e.mustDo(e.admin, "GET", "/api/v1/findings/export", nil, 200)
	if lines := strings.Count(string(r.body), "\n"); lines != 4 || !strings.HasPrefix(string(r.body), "id,org_id,asset_id,check") {
		t.Fatalf("csv export:\n%s", r.body)
	}
	r = e.mustDo(e.admin, "GET", "/api/v1/findings/export?format=sarif&min_severity=high", nil, 200)
	var sarif struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID string `json:"id"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID string `json:"ruleId"`
				Level  string `json:"level"`
			} `json:"results"`
		} `json:"runs"`
	}
	r.json(t, &sarif)
	if sarif.Version != "2.1.0" || len(sarif.Runs) != 1 || len(sarif.Runs[0].Results) != 2 || len(sarif.Runs[0].Tool.Driver.Rules) != 2 || sarif.Runs[0].Results[0].Level != "error" {
		t.Fatalf("sarif: %s", r.body)
	}
	r = e.mustDo(e.admin, "GET", "/api/v1/findings/export?format=json", nil, 200)
	if !strings.Contains(string(r.body), `"findings"`) {
		t.Fatalf("json export: %s", r.body)
	}
	var debt struct {
		Items []store.OrgDebt `json:"items"`
	}
	e.mustDo(e.admin, "GET", "/api/v1/debt", nil, 200).json(t, &debt)
	for _, d := range debt.Items {
		if d.OrgID == vn && (d.Active != 3 || d.Overdue != 2 || d.Weighted <= 0) {
			t.Fatalf("national debt rolled up: %+v", d)
		}
	}
}
