package storetest

import (
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

// testDiscovery covers candidates (proposal, merging, tenancy, decisions
// that register assets), CT positions and discovery jobs.
func testDiscovery(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	ctx := f.ctx
	dom := f.asset(t, sys, f.a1, asset.KindDomain, "a1.gov.vn")
	claimedDom := f.asset(t, as(auth.RoleOrgMember, f.a1), f.a1, asset.KindDomain, "claimed-a1.gov.vn")
	bnet := f.asset(t, sys, f.b1, asset.KindCIDR, "203.0.113.0/24")
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

	// Only the platform proposes.
	if _, _, err := s.ProposeCandidates(ctx, as(auth.RoleOrgAdmin, f.a1), []store.Candidate{{OrgID: f.a1.ID, Kind: asset.KindHostname, Value: "x.a1.gov.vn"}}, t0); err == nil {
		t.Fatal("an org admin proposed a candidate")
	}
	in := []store.Candidate{
		{OrgID: f.a1.ID, AssetID: dom.ID, Kind: asset.KindHostname, Value: "VPN.a1.gov.vn.", Sources: []string{"wordlist"}, Addresses: []string{"198.51.100.7"}, Evidence: "resolved"},
		{OrgID: f.a1.ID, AssetID: dom.ID, Kind: asset.KindHostname, Value: "old.a1.gov.vn", Sources: []string{"ct"}},
		{OrgID: f.a1.ID, AssetID: claimedDom.ID, Kind: asset.KindHostname, Value: "x.claimed-a1.gov.vn", Sources: []string{"axfr"}},
		{OrgID: f.b1.ID, AssetID: bnet.ID, Kind: asset.KindIPv4, Value: "203.0.113.9", Sources: []string{"rdns"}},
	}
	got, isNew, err := s.ProposeCandidates(ctx, sys, in, t0)
	must(t, err, "propose")
	if len(got) != 4 || !slices.Equal(isNew, []bool{true, true, true, true}) || got[0].Value != "vpn.a1.gov.vn" || got[0].State != store.CandidatePending || got[0].ID == 0 {
		t.Fatalf("proposed %+v %v", got, isNew)
	}
	// Seen again: merged, not new, first seen kept.
	again, isNew, err := s.ProposeCandidates(ctx, sys, []store.Candidate{{OrgID: f.a1.ID, AssetID: dom.ID, Kind: asset.KindHostname, Value: "vpn.a1.gov.vn",
		Sources: []string{"ct"}, Addresses: []string{"198.51.100.8"}, Evidence: "CT entry 9"}}, t0.Add(time.Hour))
	must(t, err, "propose again")
	c := again[0]
	if isNew[0] || c.ID != got[0].ID || !slices.Equal(c.Sources, []string{"ct", "wordlist"}) || !slices.Equal(c.Addresses, []string{"198.51.100.7", "198.51.100.8"}) ||
		!c.FirstSeen.Equal(t0) || !c.LastSeen.Equal(t0.Add(time.Hour)) || c.Evidence != "CT entry 9" {
		t.Fatalf("merged %+v new %v", c, isNew)
	}
	if _, _, err := s.ProposeCandidates(ctx, sys, []store.Candidate{{OrgID: f.a1.ID, Kind: asset.KindDomain, Value: "z.vn"}}, t0); err == nil {
		t.Fatal("a domain candidate was accepted")
	}

	// Tenancy: A's people see A1's candidates, B's do not.
	list := func(p auth.Principal, st store.CandidateState) []string {
		items := all(t, func(after string) (store.Page[store.Candidate], error) {
			return s.ListCandidates(ctx, p, store.CandidateFilter{PageRequest: store.PageRequest{Limit: 2, After: after}, State: st})
		})
		var out []string
		for _, c := range items {
			out = append(out, c.Value)
		}
		return out
	}
	if got := list(as(auth.RoleViewer, f.a), ""); !slices.Equal(got, []string{"vpn.a1.gov.vn", "old.a1.gov.vn", "x.claimed-a1.gov.vn"}) {
		t.Fatalf("A sees %v", got)
	}
	if got := list(as(auth.RoleViewer, f.b), ""); !slices.Equal(got, []string{"203.0.113.9"}) {
		t.Fatalf("B sees %v", got)
	}
	if _, err := s.GetCandidate(ctx, as(auth.RoleViewer, f.b), c.ID); err == nil {
		t.Fatal("B read A1's candidate")
	}
	if _, err := s.DecideCandidate(ctx, as(auth.RoleOrgAdmin, f.b), c.ID, store.CandidateDecision{Confirm: true}); err == nil {
		t.Fatal("B decided A1's candidate")
	}
	if _, err := s.DecideCandidate(ctx, as(auth.RoleViewer, f.a1), c.ID, store.CandidateDecision{Confirm: true}); err == nil {
		t.Fatal("a viewer decided a candidate")
	}

	// Confirmed inside the proven scope: a verified hostname asset.
	member := as(auth.RoleOrgMember, f.a1)
	d, err := s.DecideCandidate(ctx, member, c.ID, store.CandidateDecision{Confirm: true, VerifiedBy: "discovery:domain a1.gov.vn"})
	must(t, err, "confirm")
	if d.State != store.CandidateConfirmed || d.RegisteredAssetID == 0 || d.DecidedBy != member.Name || d.DecidedAt == nil {
		t.Fatalf("confirmed %+v", d)
	}
	a, err := s.GetAsset(ctx, member, d.RegisteredAssetID)
	must(t, err, "registered asset")
	if a.Kind != asset.KindHostname || a.Value != "vpn.a1.gov.vn" || a.OrgID != f.a1.ID || a.State != asset.StateVerified || a.VerifiedBy != "discovery:domain a1.gov.vn" {
		t.Fatalf("registered %+v", a)
	}
	if _, err := s.DecideCandidate(ctx, member, c.ID, store.CandidateDecision{}); err == nil {
		t.Fatal("a decided candidate was decided again")
	}
	// Under a domain that is itself only claimed: the new asset is a claim.
	var cc store.Candidate
	for _, x := range got {
		if x.Value == "x.claimed-a1.gov.vn" {
			cc = x
		}
	}
	d2, err := s.DecideCandidate(ctx, member, cc.ID, store.CandidateDecision{Confirm: true, VerifiedBy: "discovery:domain claimed-a1.gov.vn"})
	must(t, err, "confirm under a claim")
	a2, err := s.GetAsset(ctx, member, d2.RegisteredAssetID)
	must(t, err, "claimed asset")
	if a2.State != asset.StateClaimed {
		t.Fatalf("asset under a claimed domain is %s", a2.State)
	}
	// Rejected: stays rejected when seen again.
	r, err := s.DecideCandidate(ctx, member, got[1].ID, store.CandidateDecision{Reason: "not ours"})
	must(t, err, "reject")
	if r.State != store.CandidateRejected || r.Reason != "not ours" {
		t.Fatalf("rejected %+v", r)
	}
	again, isNew, err = s.ProposeCandidates(ctx, sys, []store.Candidate{{OrgID: f.a1.ID, AssetID: dom.ID, Kind: asset.KindHostname, Value: "old.a1.gov.vn", Sources: []string{"ct"}}}, t0.Add(2*time.Hour))
	must(t, err, "propose rejected")
	if isNew[0] || again[0].State != store.CandidateRejected {
		t.Fatalf("rejected candidate came back as %+v", again[0])
	}
	if got := list(as(auth.RoleViewer, f.a), store.CandidateRejected); !slices.Equal(got, []string{"old.a1.gov.vn"}) {
		t.Fatalf("rejected list %v", got)
	}
	// A confirmation of a value the organization already has links it.
	pre := f.asset(t, sys, f.b1, asset.KindIPv4, "203.0.113.9")
	d3, err := s.DecideCandidate(ctx, as(auth.RoleOrgAdmin, f.b1), got[3].ID, store.CandidateDecision{Confirm: true})
	must(t, err, "confirm existing")
	if d3.RegisteredAssetID != pre.ID {
		t.Fatalf("linked asset %d, want %d", d3.RegisteredAssetID, pre.ID)
	}
	entries := all(t, func(after string) (store.Page[store.AuditEntry], error) {
		return s.ListAudit(ctx, sys, store.AuditFilter{PageRequest: store.PageRequest{After: after}, ObjectType: "discovery_candidate"})
	})
	if len(entries) != 4 {
		t.Fatalf("%d audit entries for decisions", len(entries))
	}

	// CT positions.
	next, size, err := s.CTPosition(ctx, "https://ct.example/log/")
	must(t, err, "ct position")
	if next != 0 || size != 0 {
		t.Fatalf("unread log at %d/%d", next, size)
	}
	must(t, s.SetCTPosition(ctx, "https://ct.example/log/", 1200, 5000), "set ct position")
	must(t, s.SetCTPosition(ctx, "https://ct.example/log/", 2400, 5100), "move ct position")
	if next, size, _ = s.CTPosition(ctx, "https://ct.example/log/"); next != 2400 || size != 5100 {
		t.Fatalf("log at %d/%d", next, size)
	}

	// Jobs: a national run and an organization's; one runner claims each
	// once; a lapsed lease is taken again.
	if err := s.CreateDiscoveryJob(ctx, as(auth.RoleOrgAdmin, f.a), &store.DiscoveryJob{}); err == nil {
		t.Fatal("an org admin queued a national run")
	}
	j1 := store.DiscoveryJob{Sources: []string{"ct"}}
	must(t, s.CreateDiscoveryJob(ctx, sys, &j1), "national job")
	j2 := store.DiscoveryJob{OrgID: f.a1.ID, Sources: []string{"axfr", "wordlist"}}
	must(t, s.CreateDiscoveryJob(ctx, as(auth.RoleOrgAdmin, f.a), &j2), "org job")
	if err := s.CreateDiscoveryJob(ctx, as(auth.RoleOrgAdmin, f.b), &store.DiscoveryJob{OrgID: f.a1.ID}); err == nil {
		t.Fatal("B queued a run for A1")
	}
	var mu sync.Mutex
	claimed := map[int64]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j, ok, err := s.ClaimDiscoveryJob(ctx, t0, time.Minute)
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				mu.Lock()
				claimed[j.ID]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(claimed) != 2 || claimed[j1.ID] != 1 || claimed[j2.ID] != 1 {
		t.Fatalf("claims %v", claimed)
	}
	must(t, s.UpdateDiscoveryJob(ctx, j1.ID, store.JobDone, json.RawMessage(`{"candidates":3}`), "", t0), "finish")
	// j2's lease lapses: it is taken again.
	j, ok, err := s.ClaimDiscoveryJob(ctx, t0.Add(2*time.Minute), time.Minute)
	must(t, err, "reclaim")
	if !ok || j.ID != j2.ID || j.State != store.JobRunning || !slices.Equal(j.Sources, []string{"axfr", "wordlist"}) {
		t.Fatalf("reclaimed %+v %v", j, ok)
	}
	must(t, s.UpdateDiscoveryJob(ctx, j2.ID, store.JobFailed, nil, "resolver down", t0), "fail")
	must(t, s.UpdateDiscoveryJob(ctx, j2.ID, store.JobRunning, nil, "", t0), "update a finished job")
	if _, ok, _ := s.ClaimDiscoveryJob(ctx, t0.Add(time.Hour), time.Minute); ok {
		t.Fatal("a finished job was claimed")
	}
	jobs := all(t, func(after string) (store.Page[store.DiscoveryJob], error) {
		return s.ListDiscoveryJobs(ctx, as(auth.RoleViewer, f.a), store.DiscoveryJobFilter{PageRequest: store.PageRequest{After: after}})
	})
	if len(jobs) != 1 || jobs[0].ID != j2.ID || jobs[0].State != store.JobFailed || jobs[0].Error != "resolver down" {
		t.Fatalf("A's jobs %+v", jobs)
	}
	jobs = all(t, func(after string) (store.Page[store.DiscoveryJob], error) {
		return s.ListDiscoveryJobs(ctx, sys, store.DiscoveryJobFilter{PageRequest: store.PageRequest{After: after}})
	})
	if len(jobs) != 2 || jobs[0].ID != j2.ID || string(jobs[1].Progress) != `{"candidates":3}` {
		t.Fatalf("all jobs %+v", jobs)
	}
}
