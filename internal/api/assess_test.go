package api_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/store"
)

// TestCampaignThroughAPI runs a campaign from opening to synthesis: two
// agencies are asked, one answers and submits, the other is reminded.
func TestCampaignThroughAPI(t *testing.T) {
	e := newEnv(t)
	vn := e.createOrg(e.admin, "VN", "national", 0)
	a := e.createOrg(e.admin, "A", "agency", vn)
	b := e.createOrg(e.admin, "B", "agency", vn)
	var c store.Campaign
	e.mustDo(e.admin, "POST", "/api/v1/campaigns", map[string]any{"owner_org_id": vn, "framework": "baseline",
		"title": "Tự đánh giá 2026", "deadline": time.Now().Add(5 * 24 * time.Hour), "target_org_ids": []int64{a, b}}, 201).json(t, &c)
	if len(c.Targets) != 2 {
		t.Fatalf("campaign: %+v", c)
	}
	adminA := e.user("admin-a", "org-admin", a)
	var as store.Assessment
	e.mustDo(adminA, "POST", "/api/v1/assessments", map[string]any{"org_id": a, "framework": "baseline", "campaign_id": c.ID, "level": 2}, 201).json(t, &as)
	var q struct {
		Items []struct {
			Control struct {
				ID string `json:"id"`
			} `json:"control"`
		} `json:"items"`
	}
	r := e.mustDo(adminA, "GET", fmt.Sprintf("/api/v1/assessments/%d", as.ID), nil, 200)
	r.json(t, &q)
	if len(q.Items) == 0 {
		t.Fatalf("questionnaire: %s", r.body)
	}
	var answers []map[string]any
	for i, it := range q.Items {
		ans := "implemented"
		if i%2 == 1 {
			ans = "not-implemented"
		}
		answers = append(answers, map[string]any{"control_id": it.Control.ID, "answer": ans, "comment": "đã kiểm tra"})
	}
	e.mustDo(adminA, "PUT", fmt.Sprintf("/api/v1/assessments/%d/answers", as.ID), map[string]any{"answers": answers}, 200)
	e.mustDo(adminA, "POST", fmt.Sprintf("/api/v1/assessments/%d/evidence?control=%s&name=ke-hoach.pdf", as.ID, q.Items[0].Control.ID), "%PDF-1.4 kế hoạch", 201)
	e.mustDo(adminA, "POST", fmt.Sprintf("/api/v1/assessments/%d/submit", as.ID), map[string]any{}, 200)
	if r := e.do(adminA, "PUT", fmt.Sprintf("/api/v1/assessments/%d/answers", as.ID), map[string]any{"answers": answers[:1]}); r.status != 409 {
		t.Fatalf("answering a submitted questionnaire: %d %s", r.status, r.body)
	}

	var st struct {
		Targets []store.TargetStatus `json:"targets"`
	}
	e.mustDo(e.admin, "GET", fmt.Sprintf("/api/v1/campaigns/%d", c.ID), nil, 200).json(t, &st)
	submitted := 0
	for _, ts := range st.Targets {
		if ts.SubmittedAt != nil {
			submitted++
		}
	}
	if len(st.Targets) != 2 || submitted != 1 {
		t.Fatalf("status: %+v", st.Targets)
	}
	var rem store.Reminder
	e.mustDo(e.admin, "POST", fmt.Sprintf("/api/v1/campaigns/%d/remind", c.ID), map[string]any{}, 200).json(t, &rem)
	if len(rem.OrgIDs) != 1 || rem.OrgIDs[0] != b {
		t.Fatalf("reminder: %+v", rem)
	}
	var syn struct {
		Targets, Submitted int
		Compliance         float64
	}
	e.mustDo(e.admin, "GET", fmt.Sprintf("/api/v1/campaigns/%d/synthesis", c.ID), nil, 200).json(t, &syn)
	if syn.Targets != 2 || syn.Submitted != 1 || syn.Compliance <= 0 || syn.Compliance >= 100 {
		t.Fatalf("synthesis: %+v", syn)
	}
	r = e.mustDo(e.admin, "GET", fmt.Sprintf("/api/v1/reports?org_id=%d&format=pdf", vn), nil, 200)
	if !strings.HasPrefix(string(r.body), "%PDF") {
		t.Fatal("report is not a PDF")
	}
	r = e.mustDo(e.admin, "GET", "/api/v1/reports?format=html&lang=en", nil, 200)
	if !strings.Contains(string(r.body), "<html") {
		t.Fatal("html report")
	}
}

// TestF9TargetCannotLowerItsLevel: an organization with a level-3 system
// cannot open its campaign questionnaire at level 1 to answer fewer
// controls; the national level can set it.
func TestF9TargetCannotLowerItsLevel(t *testing.T) {
	e := newEnv(t)
	vn := e.createOrg(e.admin, "VN", "national", 0)
	a := e.createOrg(e.admin, "A", "agency", vn)
	id := e.createAsset(e.admin, a, "hostname", "portal.a.gov.vn")
	e.mustDo(e.admin, "PATCH", fmt.Sprintf("/api/v1/assets/%d", id), map[string]any{"security_level": 3}, 200)
	var c store.Campaign
	e.mustDo(e.admin, "POST", "/api/v1/campaigns", map[string]any{"owner_org_id": vn, "framework": "baseline",
		"title": "2026", "deadline": time.Now().Add(5 * 24 * time.Hour), "target_org_ids": []int64{a}}, 201).json(t, &c)
	adminA := e.user("admin-a", "org-admin", a)
	r := e.do(adminA, "POST", "/api/v1/assessments", map[string]any{"org_id": a, "framework": "baseline", "campaign_id": c.ID, "level": 1})
	if r.status != 422 {
		t.Fatalf("level below the registry's: %d %s", r.status, r.body)
	}
	var as store.Assessment
	e.mustDo(adminA, "POST", "/api/v1/assessments", map[string]any{"org_id": a, "framework": "baseline", "campaign_id": c.ID}, 201).json(t, &as)
	if as.Level != 3 {
		t.Fatalf("registry level: %+v", as)
	}
}
