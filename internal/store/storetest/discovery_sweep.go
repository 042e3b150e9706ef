package storetest

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/store"
)

// testDiscoverySweep covers a national analyst's explicit sweep of a
// pending candidate (the job stored with its publish message and audited
// with who and why; nobody else sweeps), analysts' discovery runs, and a
// decided candidate's finding ended at once by its source.
func testDiscoverySweep(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	ctx := f.ctx
	fs, ok := any(s).(findingStore)
	if !ok {
		t.Skipf("%T does not implement store.Findings", s)
	}
	dom := f.asset(t, sys, f.a1, asset.KindDomain, "sweep-a1.gov.vn")
	t0 := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	got, _, err := s.ProposeCandidates(ctx, sys, []store.Candidate{
		{OrgID: f.a1.ID, AssetID: dom.ID, Kind: asset.KindHostname, Value: "old.sweep-a1.gov.vn", Sources: []string{"ct"}},
		{OrgID: f.a1.ID, AssetID: dom.ID, Kind: asset.KindHostname, Value: "new.sweep-a1.gov.vn", Sources: []string{"wordlist"}},
	}, t0)
	must(t, err, "propose")
	cand := got[0]
	dispatched := 0
	job := func(id string, assetID int64) *store.ScanJob {
		return &store.ScanJob{ID: id, OrgID: f.a1.ID, AssetID: assetID, Type: "portscan", Region: "default", Reason: "sweep",
			Target: cand.Value, Params: json.RawMessage(`{"asset_kind":"hostname","asset_value":"old.sweep-a1.gov.vn"}`),
			Dispatch: func(j store.ScanJob) (store.OutboxMessage, error) {
				dispatched++
				return store.OutboxMessage{Subject: "rampart.jobs.default.portscan", MsgID: "job-" + j.ID, Data: []byte(`{}`)}, nil
			}}
	}
	analyst := as(auth.RoleAnalyst, f.nat)

	// Only the national level sweeps, and with a reason.
	for _, p := range []auth.Principal{as(auth.RoleOrgAdmin, f.a1), as(auth.RoleOrgAdmin, f.a), as(auth.RoleOrgMember, f.a1)} {
		wantErr(t, s.SweepCandidate(ctx, p, cand.ID, "curious", job("sweep-x", dom.ID)), store.ErrForbidden, "a member's sweep")
	}
	wantErr(t, s.SweepCandidate(ctx, as(auth.RoleOrgAdmin, f.b), cand.ID, "curious", job("sweep-x", dom.ID)), store.ErrNotFound, "another tree's sweep")
	wantErr(t, s.SweepCandidate(ctx, analyst, cand.ID, "  ", job("sweep-x", dom.ID)), store.ErrInvalid, "a sweep without a reason")
	other := f.asset(t, sys, f.a1, asset.KindDomain, "other-a1.gov.vn")
	wantErr(t, s.SweepCandidate(ctx, analyst, cand.ID, "campaign", job("sweep-x", other.ID)), store.ErrInvalid, "a sweep job of another asset")
	if dispatched != 0 {
		t.Fatalf("%d refused sweeps dispatched a job", dispatched)
	}

	j := job("sweep-1", dom.ID)
	must(t, s.SweepCandidate(ctx, analyst, cand.ID, "phishing campaign against the ministry", j), "sweep")
	stored, err := s.GetScanJob(ctx, sys, "sweep-1")
	must(t, err, "get sweep job")
	if stored.AssetID != dom.ID || stored.OrgID != f.a1.ID || stored.Target != cand.Value || stored.RequestedBy != analyst.Name || stored.State != store.JobQueued || dispatched != 1 {
		t.Fatalf("sweep job %+v (dispatched %d)", stored, dispatched)
	}
	if ob, ok := any(s).(store.Outbox); ok {
		msgs, err := ob.OutboxPending(ctx, 1000)
		must(t, err, "outbox")
		found := false
		for _, m := range msgs {
			found = found || m.MsgID == "job-sweep-1"
		}
		if !found {
			t.Fatal("the sweep job's publish message is not in the outbox")
		}
	}
	audit := all(t, func(after string) (store.Page[store.AuditEntry], error) {
		return s.ListAudit(ctx, sys, store.AuditFilter{PageRequest: store.PageRequest{After: after}, ObjectType: "discovery_candidate", ObjectID: cand.ID})
	})
	if len(audit) != 1 || audit[0].Action != "discovery.sweep" || audit[0].Actor != analyst.Name || audit[0].ActorRole != auth.RoleAnalyst ||
		!strings.Contains(string(audit[0].After), "phishing campaign against the ministry") || !strings.Contains(string(audit[0].After), "sweep-1") {
		t.Fatalf("sweep audit %+v", audit)
	}
	// The same job twice is refused; a sweep does not decide the candidate.
	wantErr(t, s.SweepCandidate(ctx, analyst, cand.ID, "again", job("sweep-1", dom.ID)), store.ErrConflict, "the same sweep job twice")
	if c, _ := s.GetCandidate(ctx, sys, cand.ID); c.State != store.CandidatePending {
		t.Fatalf("a sweep decided the candidate: %s", c.State)
	}

	// Analysts queue runs: over everything, and for one organization.
	must(t, s.CreateDiscoveryJob(ctx, analyst, &store.DiscoveryJob{}), "an analyst's national run")
	must(t, s.CreateDiscoveryJob(ctx, analyst, &store.DiscoveryJob{OrgID: f.a1.ID}), "an analyst's run for A1")
	wantErr(t, s.CreateDiscoveryJob(ctx, as(auth.RoleViewer, f.nat), &store.DiscoveryJob{}), store.ErrForbidden, "a viewer's national run")

	// The candidate's finding, ended by its source once it is decided.
	key := finding.KeyOf(finding.SourceDiscovery, "candidates", dom.ID, "discovery.unregistered-asset", cand.Value, "")
	rec := func(b store.FindingBatch) {
		t.Helper()
		b.Source, b.Ref, b.Policy = finding.SourceDiscovery, "candidates", finding.DefaultPolicy
		_, err := fs.RecordFindings(ctx, b)
		must(t, err, "record "+b.JobID)
	}
	rec(store.FindingBatch{JobID: "run-1", At: t0, Seen: []store.Finding{{OrgID: f.a1.ID, AssetID: dom.ID, Check: "discovery.unregistered-asset",
		Severity: finding.Low, Target: cand.Value, Title: "unregistered"}, {OrgID: f.a1.ID, AssetID: dom.ID, Check: "discovery.unregistered-asset",
		Severity: finding.Low, Target: got[1].Value, Title: "unregistered"}}})
	_, err = s.DecideCandidate(ctx, as(auth.RoleOrgAdmin, f.a1), cand.ID, store.CandidateDecision{Reason: "not ours"})
	must(t, err, "reject")
	rec(store.FindingBatch{JobID: "decide", At: t0.Add(time.Hour), Ended: []store.Coverage{{AssetID: dom.ID, OrgID: f.a1.ID, Target: cand.Value,
		Checks: []string{"discovery.unregistered-asset"}, Reason: "rejected by its owner"}}})
	page, err := fs.ListFindings(ctx, sys, store.FindingFilter{Check: "discovery.unregistered-asset", PageRequest: store.PageRequest{Limit: store.MaxLimit}})
	must(t, err, "list findings")
	states := map[string]finding.State{}
	for _, x := range page.Items {
		if x.AssetID == dom.ID {
			states[x.Target] = x.State
			if x.Key == key && (x.FixedAt == nil || !x.FixedAt.Equal(t0.Add(time.Hour))) {
				t.Errorf("ended at %v", x.FixedAt)
			}
		}
	}
	if states[cand.Value] != finding.StateFixed || states[got[1].Value] != finding.StateOpen {
		t.Fatalf("finding states %v", states)
	}
	wantErr(t, s.SweepCandidate(ctx, analyst, cand.ID, "late", job("sweep-2", dom.ID)), store.ErrConflict, "a sweep of a decided candidate")
	if err := s.SweepCandidate(ctx, analyst, 1<<40, "x", job("sweep-3", dom.ID)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("sweep of an unknown candidate: %v", err)
	}
}
