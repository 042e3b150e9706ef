package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/api"
	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/discovery"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/findings"
	"github.com/rampart-cert/rampart/internal/scan"
	"github.com/rampart-cert/rampart/internal/store"
)

// withDiscovery serves e's store through an API whose discovery service
// can sweep (the scan scheduler builds the jobs) and records findings.
func withDiscovery(e *env) *discovery.Service {
	e.t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sched := scan.NewScheduler(e.st, nil, e.guard, nil, scan.SchedulerConfig{Region: "default", Logger: log})
	fs := findings.New(findings.Deps{Store: e.st, Scope: e.guard, Logger: log})
	svc := discovery.NewService(discovery.ServiceDeps{Store: e.st, Scope: e.guard, Findings: fs, Sweeper: sched, Logger: log,
		Invalidate: func() { _ = e.guard.Refresh(context.Background()) }})
	e.srv = api.New(api.Deps{Store: e.st, Guard: e.guard, Findings: fs, Discovery: svc, Logger: log, Version: "test"})
	hs := httptest.NewServer(e.srv.Handler())
	e.t.Cleanup(hs.Close)
	e.http = hs
	return svc
}

// TestDiscoveryThroughAPI: candidates are listed to their owners' subtree
// only; confirmed or rejected by the owner's admins or the level above
// (not its members, not another tree), which closes their findings;
// swept only by the national level with a reason; runs queued by the
// national level for everything and by admins for their own scope.
func TestDiscoveryThroughAPI(t *testing.T) {
	e := newEnv(t)
	svc := withDiscovery(e)
	ctx := context.Background()
	vn := e.createOrg(e.admin, "VN", "national", 0)
	moh := e.createOrg(e.admin, "MOH", "ministry", vn)
	unit := e.createOrg(e.admin, "MOH-IT", "agency", moh)
	other := e.createOrg(e.admin, "MOF", "ministry", vn)
	dom := e.createAsset(e.admin, unit, "domain", "moh-it.example.vn")
	e.refresh()
	member := e.user("unit-member", auth.RoleOrgMember, unit)
	unitAdmin := e.user("unit-admin", auth.RoleOrgAdmin, unit)
	mohAdmin := e.user("moh-admin", auth.RoleOrgAdmin, moh)
	mofAdmin := e.user("mof-admin", auth.RoleOrgAdmin, other)
	analyst := e.user("analyst", auth.RoleAnalyst, vn)

	rep, err := svc.Propose(ctx, "run-1", []discovery.Candidate{
		{Name: "forgotten.moh-it.example.vn", Source: discovery.SourceWordlist, Addresses: []string{"192.0.2.7"}, Evidence: "resolved through the wordlist"},
		{Name: "old.moh-it.example.vn", Source: discovery.SourceCT, Evidence: "certificate in CT log https://ct.example/ entry 9"},
		{Name: "stale.moh-it.example.vn", Source: discovery.SourceAXFR},
		{Name: "www.elsewhere.example", Source: discovery.SourceCT},
	})
	if err != nil || rep.Pending != 3 || rep.Unplaced != 1 {
		t.Fatalf("propose %+v %v", rep, err)
	}
	var page store.Page[store.Candidate]
	e.mustDo(member, "GET", "/api/v1/discovery/candidates", nil, 200).json(t, &page)
	if len(page.Items) != 3 {
		t.Fatalf("the unit's member sees %+v", page.Items)
	}
	byName := map[string]store.Candidate{}
	for _, c := range page.Items {
		byName[c.Value] = c
	}
	forgotten, old, stale := byName["forgotten.moh-it.example.vn"], byName["old.moh-it.example.vn"], byName["stale.moh-it.example.vn"]
	if forgotten.AssetID != dom || forgotten.OrgID != unit || len(forgotten.Addresses) != 1 || forgotten.Sources[0] != "wordlist" || forgotten.FirstSeen.IsZero() {
		t.Fatalf("candidate %+v", forgotten)
	}
	e.mustDo(mofAdmin, "GET", "/api/v1/discovery/candidates", nil, 200).json(t, &page)
	if len(page.Items) != 0 {
		t.Fatalf("another ministry sees %+v", page.Items)
	}
	e.mustDo(mofAdmin, "GET", fmt.Sprintf("/api/v1/discovery/candidates/%d", old.ID), nil, 404)
	e.mustDo(member, "GET", "/api/v1/discovery/candidates?q=old", nil, 200).json(t, &page)
	if len(page.Items) != 1 || page.Items[0].ID != old.ID {
		t.Fatalf("search %+v", page.Items)
	}
	e.mustDo(member, "GET", "/api/v1/discovery/candidates?state=maybe", nil, 400)

	// Decisions: the owner's admins or the level above.
	confirm := fmt.Sprintf("/api/v1/discovery/candidates/%d/confirm", forgotten.ID)
	e.mustDo(member, "POST", confirm, nil, 403)
	e.mustDo(mofAdmin, "POST", confirm, nil, 404)
	var dec store.Candidate
	e.mustDo(mohAdmin, "POST", confirm, map[string]any{"reason": "our forgotten portal"}, 200).json(t, &dec)
	if dec.State != store.CandidateConfirmed || dec.RegisteredAssetID == 0 || !strings.HasPrefix(dec.DecidedBy, "moh-admin") {
		t.Fatalf("confirmed %+v", dec)
	}
	var a asset.Asset
	e.mustDo(member, "GET", fmt.Sprintf("/api/v1/assets/%d", dec.RegisteredAssetID), nil, 200).json(t, &a)
	if a.Value != "forgotten.moh-it.example.vn" || a.State != asset.StateVerified || a.OrgID != unit {
		t.Fatalf("registered %+v", a)
	}
	e.mustDo(mohAdmin, "POST", confirm, nil, 409)
	e.mustDo(unitAdmin, "POST", fmt.Sprintf("/api/v1/discovery/candidates/%d/reject", old.ID), map[string]any{"reason": "a test name"}, 200).json(t, &dec)
	if dec.State != store.CandidateRejected || dec.Reason != "a test name" {
		t.Fatalf("rejected %+v", dec)
	}
	// Their findings closed at once; the pending one's stays open.
	fp, err := e.st.ListFindings(ctx, auth.SystemPrincipal, store.FindingFilter{Check: discovery.FindingKind, PageRequest: store.PageRequest{Limit: 100}})
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]finding.State{}
	for _, f := range fp.Items {
		states[f.Target] = f.State
	}
	if states["forgotten.moh-it.example.vn"] != finding.StateFixed || states["old.moh-it.example.vn"] != finding.StateFixed ||
		states["stale.moh-it.example.vn"] != finding.StateOpen {
		t.Fatalf("finding states %v", states)
	}
	e.mustDo(member, "GET", "/api/v1/discovery/candidates?state=rejected", nil, 200).json(t, &page)
	if len(page.Items) != 1 || page.Items[0].ID != old.ID {
		t.Fatalf("rejected list %+v", page.Items)
	}

	// Sweeps: the national level, with a reason.
	sweep := map[string]any{"candidate_ids": []int64{stale.ID}, "reason": "incident 2026-114: takeover of event sites"}
	e.mustDo(unitAdmin, "POST", "/api/v1/discovery/sweep", sweep, 403)
	e.mustDo(analyst, "POST", "/api/v1/discovery/sweep", map[string]any{"candidate_ids": []int64{stale.ID}}, 422)
	e.mustDo(analyst, "POST", "/api/v1/discovery/sweep", map[string]any{"candidate_ids": []int64{forgotten.ID}, "reason": "x"}, 409)
	var sw struct {
		Swept []discovery.Swept `json:"swept"`
	}
	e.mustDo(analyst, "POST", "/api/v1/discovery/sweep", sweep, 202).json(t, &sw)
	if len(sw.Swept) != 1 || sw.Swept[0].CandidateID != stale.ID || sw.Swept[0].JobID == "" {
		t.Fatalf("swept %+v", sw)
	}
	var jobs store.Page[store.ScanJob]
	e.mustDo(unitAdmin, "GET", fmt.Sprintf("/api/v1/scans?asset_id=%d", dom), nil, 200).json(t, &jobs)
	if len(jobs.Items) != 1 || jobs.Items[0].Target != "stale.moh-it.example.vn" || jobs.Items[0].Reason != "sweep" || !strings.HasPrefix(jobs.Items[0].RequestedBy, "analyst") {
		t.Fatalf("the unit's scan jobs %+v", jobs.Items)
	}
	var audit store.Page[store.AuditEntry]
	e.mustDo(e.admin, "GET", fmt.Sprintf("/api/v1/audit?object_type=discovery_candidate&object_id=%d", stale.ID), nil, 200).json(t, &audit)
	if len(audit.Items) != 1 || audit.Items[0].Action != "discovery.sweep" || !strings.Contains(string(audit.Items[0].After), "incident 2026-114") {
		t.Fatalf("audit %+v", audit.Items)
	}

	// Runs.
	var run store.DiscoveryJob
	e.mustDo(unitAdmin, "POST", "/api/v1/discovery/runs", map[string]any{}, 403)
	e.mustDo(member, "POST", "/api/v1/discovery/runs", map[string]any{"org_id": unit}, 403)
	e.mustDo(mofAdmin, "POST", "/api/v1/discovery/runs", map[string]any{"org_id": unit}, 404)
	e.mustDo(unitAdmin, "POST", "/api/v1/discovery/runs", map[string]any{"org_id": unit, "sources": []string{"gossip"}}, 422)
	e.mustDo(unitAdmin, "POST", "/api/v1/discovery/runs", map[string]any{"org_id": unit, "sources": []string{"wordlist", "axfr"}}, 202).json(t, &run)
	if run.ID == 0 || run.OrgID != unit || run.State != store.JobQueued || !strings.HasPrefix(run.RequestedBy, "unit-admin") {
		t.Fatalf("run %+v", run)
	}
	e.mustDo(analyst, "POST", "/api/v1/discovery/runs", nil, 202)
	var runs store.Page[store.DiscoveryJob]
	e.mustDo(member, "GET", "/api/v1/discovery/runs", nil, 200).json(t, &runs)
	if len(runs.Items) != 1 || runs.Items[0].ID != run.ID {
		t.Fatalf("the unit sees runs %+v", runs.Items)
	}
	e.mustDo(analyst, "GET", "/api/v1/discovery/runs", nil, 200).json(t, &runs)
	if len(runs.Items) != 2 {
		t.Fatalf("the analyst sees runs %+v", runs.Items)
	}
}

// TestDiscoveryWithoutSweeper: a server that cannot scan says so.
func TestDiscoveryWithoutSweeper(t *testing.T) {
	e := newEnv(t)
	analyst := e.user("analyst", auth.RoleAnalyst, 0)
	r := e.do(analyst, "POST", "/api/v1/discovery/sweep", map[string]any{"candidate_ids": []int64{1}, "reason": "x"})
	if r.status != 503 || r.code() != "unavailable" {
		t.Fatalf("sweep without a scheduler: %d %s", r.status, r.body)
	}
}

// discoveryTenancy gives BETA a pending candidate and a discovery run,
// and the probes of the discovery routes against them (tenancy_test.go).
func discoveryTenancy(t *testing.T, e *env, beta int64) (map[string][]probe, []string) {
	t.Helper()
	ctx := context.Background()
	rep, err := e.srv.Discovery.Propose(ctx, "beta-run", []discovery.Candidate{{Name: "hidden.beta.gov.vn", Source: discovery.SourceCT,
		Evidence: "beta-candidate-evidence"}})
	if err != nil || rep.Pending != 1 {
		t.Fatalf("beta candidate: %+v %v", rep, err)
	}
	page, err := e.st.ListCandidates(ctx, auth.SystemPrincipal, store.CandidateFilter{OrgID: beta})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("beta candidates: %+v %v", page, err)
	}
	id := page.Items[0].ID
	if err := e.st.CreateDiscoveryJob(ctx, auth.Principal{Name: "beta-discovery-runner", Role: auth.RolePlatformAdmin}, &store.DiscoveryJob{OrgID: beta}); err != nil {
		t.Fatal(err)
	}
	cand := fmt.Sprintf("/api/v1/discovery/candidates/%d", id)
	return map[string][]probe{
		"GET /api/v1/discovery/candidates": {{"GET", "/api/v1/discovery/candidates", nil}, {"GET", fmt.Sprintf("/api/v1/discovery/candidates?org_id=%d", beta), nil},
			{"GET", "/api/v1/discovery/candidates?q=hidden", nil}, {"GET", "/api/v1/discovery/candidates?state=rejected", nil}},
		"GET /api/v1/discovery/candidates/{id}":          {{"GET", cand, nil}},
		"POST /api/v1/discovery/candidates/{id}/confirm": {{"POST", cand + "/confirm", map[string]any{}}},
		"POST /api/v1/discovery/candidates/{id}/reject":  {{"POST", cand + "/reject", map[string]any{"reason": "x"}}},
		"POST /api/v1/discovery/sweep":                   {{"POST", "/api/v1/discovery/sweep", map[string]any{"candidate_ids": []int64{id}, "reason": "x"}}},
		"POST /api/v1/discovery/runs": {{"POST", "/api/v1/discovery/runs", map[string]any{"org_id": beta}},
			{"POST", "/api/v1/discovery/runs", map[string]any{}}},
		"GET /api/v1/discovery/runs": {{"GET", "/api/v1/discovery/runs", nil}, {"GET", "/api/v1/discovery/runs?state=queued", nil}},
	}, []string{"hidden.beta.gov.vn", "beta-candidate-evidence", "beta-discovery-runner"}
}
