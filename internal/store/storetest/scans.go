package storetest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

// testScans covers store.Scans: jobs, observations, scan policies and the
// schedule. The parts share one fixture and run in order; each makes its
// own assets and job ids, so they do not depend on each other.
func testScans(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	for _, part := range []struct {
		name string
		fn   func(t *testing.T, f *fixture)
	}{
		{"Jobs", testScanJobs},
		{"JobStates", testScanJobStates},
		{"Tenancy", testScanTenancy},
		{"RecordScan", testRecordScan},
		{"RecordScanInvalid", testRecordScanInvalid},
		{"RecordScanFullRange", testRecordScanFullRange},
		{"ObservationFilters", testObservationFilters},
		{"Policy", testScanPolicy},
		{"DueAssets", testDueAssets},
		{"AssetDeleted", testScanHistoryAfterAssetDelete},
	} {
		t.Run(part.name, func(t *testing.T) { part.fn(t, f) })
	}
}

func listJobs(t *testing.T, f *fixture, p auth.Principal, jf store.JobFilter) []store.ScanJob {
	t.Helper()
	return all(t, func(after string) (store.Page[store.ScanJob], error) {
		jf.After = after
		return f.s.ListScanJobs(f.ctx, p, jf)
	})
}

func listObs(t *testing.T, f *fixture, p auth.Principal, of store.ObservationFilter) []store.Observation {
	t.Helper()
	return all(t, func(after string) (store.Page[store.Observation], error) {
		of.After = after
		return f.s.ListObservations(f.ctx, p, of)
	})
}

func jobIDs(js []store.ScanJob) []string {
	out := make([]string, len(js))
	for i, j := range js {
		out[i] = j.ID
	}
	return out
}

// jsonEqual compares two JSON documents by value: engines may store JSON
// reformatted.
func jsonEqual(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

func (f *fixture) job(t *testing.T, p auth.Principal, id string, a asset.Asset, region string) store.ScanJob {
	t.Helper()
	j := store.ScanJob{ID: id, AssetID: a.ID, Type: "portscan", Region: region, Reason: "schedule"}
	must(t, f.s.CreateScanJob(f.ctx, p, &j), "create job "+id)
	return j
}

func testScanJobs(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	member := as(auth.RoleOrgMember, f.a)
	a1 := f.asset(t, sys, f.a1, asset.KindHostname, "jobs.a1.example.vn")
	a11 := f.asset(t, sys, f.a11, asset.KindIPv4, "192.0.2.20")

	auditBefore := len(auditOf(t, s, "asset", a1.ID))
	j := store.ScanJob{ID: "jobs-1", AssetID: a1.ID, Type: " portscan ", Region: "hn", Reason: "manual",
		Params: json.RawMessage(`{"ports": "top100"}`), State: store.JobDone, RequestedBy: "someone else", Worker: "w", Error: "x"}
	must(t, s.CreateScanJob(ctx, member, &j), "member requests a scan")
	if j.State != store.JobQueued || j.OrgID != f.a1.ID || j.Target != "jobs.a1.example.vn" || j.Type != "portscan" ||
		j.RequestedBy != member.Name || j.CreatedAt.IsZero() || j.StartedAt != nil || j.FinishedAt != nil || j.Worker != "" || j.Error != "" {
		t.Fatalf("created job %+v", j)
	}
	got, err := s.GetScanJob(ctx, as(auth.RoleViewer, f.a1), j.ID)
	must(t, err, "viewer gets job")
	if got.ID != j.ID || got.OrgID != j.OrgID || got.AssetID != a1.ID || got.Type != "portscan" || got.Region != "hn" ||
		got.Reason != "manual" || got.Target != j.Target || got.State != store.JobQueued || got.RequestedBy != member.Name ||
		!got.CreatedAt.Equal(j.CreatedAt) || !jsonEqual(got.Params, j.Params) || got.Stats != nil {
		t.Fatalf("get job = %+v, want %+v", got, j)
	}
	es := auditOf(t, s, "asset", a1.ID)
	if len(es) != auditBefore+1 || es[len(es)-1].Action != "scan.request" || es[len(es)-1].Actor != member.Name ||
		es[len(es)-1].OrgID != f.a1.ID || len(es[len(es)-1].After) == 0 {
		t.Fatalf("audit after a scan request: %+v", es)
	}

	// The same ID again, by anyone: nothing new, j filled from the stored job.
	again := store.ScanJob{ID: "jobs-1", AssetID: a11.ID, Type: "other"}
	must(t, s.CreateScanJob(ctx, sys, &again), "create the same id again")
	if again.Type != "portscan" || again.AssetID != a1.ID || !again.CreatedAt.Equal(j.CreatedAt) {
		t.Fatalf("repeated create returned %+v, want the stored job", again)
	}
	again = store.ScanJob{ID: "jobs-1", AssetID: a1.ID, Type: "portscan"}
	must(t, s.CreateScanJob(ctx, member, &again), "member repeats the request")
	if n := len(listJobs(t, f, sys, store.JobFilter{AssetID: a1.ID})); n != 1 {
		t.Fatalf("%d jobs after repeated creates, want 1", n)
	}
	if n := len(auditOf(t, s, "asset", a1.ID)); n != auditBefore+1 {
		t.Fatalf("repeated create wrote audit entries: %d", n-auditBefore)
	}

	// Validation.
	for name, bad := range map[string]store.ScanJob{
		"no id":        {AssetID: a1.ID, Type: "portscan"},
		"long id":      {ID: string(make([]byte, 201)), AssetID: a1.ID, Type: "portscan"},
		"no asset":     {ID: "jobs-bad-1", Type: "portscan"},
		"no type":      {ID: "jobs-bad-2", AssetID: a1.ID},
		"bad params":   {ID: "jobs-bad-3", AssetID: a1.ID, Type: "portscan", Params: json.RawMessage(`{"x":`)},
		"another org":  {ID: "jobs-bad-4", AssetID: a1.ID, OrgID: f.a.ID, Type: "portscan"},
		"another org2": {ID: "jobs-bad-5", AssetID: a11.ID, OrgID: f.a1.ID, Type: "portscan"},
	} {
		wantErr(t, s.CreateScanJob(ctx, sys, &bad), store.ErrInvalid, name)
	}
	ghost := store.ScanJob{ID: "jobs-bad-6", AssetID: 999999, Type: "portscan"}
	wantErr(t, s.CreateScanJob(ctx, sys, &ghost), store.ErrNotFound, "unknown asset")
	_, err = s.GetScanJob(ctx, sys, "jobs-bad-1")
	wantErr(t, err, store.ErrNotFound, "get unknown job")

	// Listing: newest first, filters, pages.
	var want []string
	for i := range 5 {
		region := "hn"
		if i%2 == 1 {
			region = "hcm"
		}
		want = append(want, f.job(t, sys, fmt.Sprintf("jobs-%d", i+2), a11, region).ID)
	}
	must(t, s.SetJobState(ctx, "jobs-3", store.JobRunning, "w1", "", nil), "start jobs-3")
	slices.Reverse(want)
	if got := jobIDs(listJobs(t, f, sys, store.JobFilter{AssetID: a11.ID, PageRequest: store.PageRequest{Limit: 2}})); !slices.Equal(got, want) {
		t.Fatalf("jobs of a11 in pages of 2: %v, want %v", got, want)
	}
	page, err := s.ListScanJobs(ctx, sys, store.JobFilter{AssetID: a11.ID, PageRequest: store.PageRequest{Limit: 5}})
	must(t, err, "one full page")
	if len(page.Items) != 5 || page.Next != "" {
		t.Fatalf("page of exactly 5: %d items, next %q", len(page.Items), page.Next)
	}
	if got := jobIDs(listJobs(t, f, sys, store.JobFilter{AssetID: a11.ID, Region: "hcm"})); !slices.Equal(got, []string{"jobs-5", "jobs-3"}) {
		t.Fatalf("region filter: %v", got)
	}
	if got := jobIDs(listJobs(t, f, sys, store.JobFilter{OrgID: f.a11.ID, State: store.JobRunning})); !slices.Equal(got, []string{"jobs-3"}) {
		t.Fatalf("state filter: %v", got)
	}
	if got := jobIDs(listJobs(t, f, member, store.JobFilter{OrgID: f.a1.ID})); !slices.Equal(got, append(slices.Clone(want), "jobs-1")) {
		t.Fatalf("A1 subtree: %v", got)
	}
	if got := jobIDs(listJobs(t, f, member, store.JobFilter{OrgID: f.a11.ID})); !slices.Equal(got, want) {
		t.Fatalf("A11 only: %v", got)
	}
	_, err = s.ListScanJobs(ctx, sys, store.JobFilter{State: "sleeping"})
	wantErr(t, err, store.ErrInvalid, "unknown state filter")
	_, err = s.ListScanJobs(ctx, sys, store.JobFilter{PageRequest: store.PageRequest{After: "!!"}})
	wantErr(t, err, store.ErrInvalid, "bad cursor")
	_, err = s.ListScanJobs(ctx, sys, store.JobFilter{OrgID: 999999})
	wantErr(t, err, store.ErrNotFound, "unknown org filter")
}

func testScanJobStates(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	a := f.asset(t, sys, f.a1, asset.KindIPv4, "192.0.2.30")
	f.job(t, sys, "state-1", a, "hn")
	get := func(id string) store.ScanJob {
		t.Helper()
		j, err := s.GetScanJob(ctx, sys, id)
		must(t, err, "get "+id)
		return j
	}

	wantErr(t, s.SetJobState(ctx, "state-1", store.JobQueued, "", "", nil), store.ErrInvalid, "back to queued")
	wantErr(t, s.SetJobState(ctx, "state-1", "sleeping", "", "", nil), store.ErrInvalid, "unknown state")
	wantErr(t, s.SetJobState(ctx, "state-404", store.JobRunning, "w1", "", nil), store.ErrNotFound, "unknown job")
	wantErr(t, s.SetJobState(ctx, "state-1", store.JobDone, "", "", json.RawMessage("{")), store.ErrInvalid, "bad stats")

	must(t, s.SetJobState(ctx, "state-1", store.JobRunning, "w1", "", nil), "running")
	j := get("state-1")
	if j.State != store.JobRunning || j.Worker != "w1" || j.StartedAt == nil || j.FinishedAt != nil {
		t.Fatalf("running job %+v", j)
	}
	stats := json.RawMessage(`{"hosts": 1, "open": 3}`)
	must(t, s.SetJobState(ctx, "state-1", store.JobDone, "", "", stats), "done")
	done := get("state-1")
	if done.State != store.JobDone || done.Worker != "w1" || done.FinishedAt == nil || done.FinishedAt.Before(*done.StartedAt) ||
		!jsonEqual(done.Stats, stats) || done.Error != "" {
		t.Fatalf("done job %+v", done)
	}
	// Finished is final: later moves succeed and change nothing.
	must(t, s.SetJobState(ctx, "state-1", store.JobFailed, "w2", "late failure", nil), "fail a done job")
	must(t, s.SetJobState(ctx, "state-1", store.JobRunning, "w3", "", nil), "restart a done job")
	if j := get("state-1"); !reflect.DeepEqual(j, done) {
		t.Fatalf("finished job changed:\n%+v\nwant\n%+v", j, done)
	}

	// A queued job may fail without having run.
	f.job(t, sys, "state-2", a, "hn")
	must(t, s.SetJobState(ctx, "state-2", store.JobFailed, "w1", "bad target", nil), "fail queued")
	if j := get("state-2"); j.State != store.JobFailed || j.Error != "bad target" || j.StartedAt != nil || j.FinishedAt == nil {
		t.Fatalf("failed job %+v", j)
	}
	// Unreachable, after a redelivered start by another worker.
	f.job(t, sys, "state-3", a, "hn")
	must(t, s.SetJobState(ctx, "state-3", store.JobRunning, "w1", "", nil), "start")
	must(t, s.SetJobState(ctx, "state-3", store.JobRunning, "w2", "", nil), "start again elsewhere")
	must(t, s.SetJobState(ctx, "state-3", store.JobUnreachable, "", "no answer", nil), "unreachable")
	if j := get("state-3"); j.State != store.JobUnreachable || j.Worker != "w2" || j.Error != "no answer" || j.FinishedAt == nil {
		t.Fatalf("unreachable job %+v", j)
	}
	must(t, s.SetJobState(ctx, "state-3", store.JobDone, "", "", nil), "done after unreachable")
	if j := get("state-3"); j.State != store.JobUnreachable {
		t.Fatalf("unreachable job moved to %s", j.State)
	}
}

func testScanTenancy(t *testing.T, f *fixture) {
	s, ctx := f.s, f.ctx
	mine := f.asset(t, sys, f.a1, asset.KindIPv4, "192.0.2.40")
	theirs := f.asset(t, sys, f.b1, asset.KindIPv4, "198.51.100.40")
	mj := f.job(t, sys, "ten-a", mine, "hn")
	bj := f.job(t, sys, "ten-b", theirs, "hn")
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	for _, r := range []store.ScanReport{
		{JobID: mj.ID, OrgID: f.a1.ID, AssetID: mine.ID, At: at, Hosts: []string{"192.0.2.40"}, Ports: []int{22},
			Open: []store.Observation{{IP: "192.0.2.40", Port: 22, Service: "ssh"}}},
		{JobID: bj.ID, OrgID: f.b1.ID, AssetID: theirs.ID, At: at, Hosts: []string{"198.51.100.40"}, Ports: []int{22},
			Open: []store.Observation{{IP: "198.51.100.40", Port: 22, Service: "ssh"}}},
	} {
		must(t, s.RecordScan(ctx, r), "record "+r.JobID)
	}
	must(t, s.SetScanPolicy(ctx, sys, f.b.ID, store.ScanPolicy{Exclusions: []string{"198.51.100.1"}}), "B policy")

	admin := as(auth.RoleOrgAdmin, f.a)
	_, err := s.GetScanJob(ctx, admin, bj.ID)
	wantErr(t, err, store.ErrNotFound, "admin of A gets B's job")
	if _, err := s.GetScanJob(ctx, admin, mj.ID); err != nil {
		t.Fatalf("admin of A gets its own job: %v", err)
	}
	for _, j := range listJobs(t, f, admin, store.JobFilter{}) {
		if j.OrgID == f.b.ID || j.OrgID == f.b1.ID {
			t.Fatalf("admin of A lists B's job %+v", j)
		}
	}
	if js := listJobs(t, f, admin, store.JobFilter{AssetID: theirs.ID}); len(js) != 0 {
		t.Fatalf("admin of A lists B's jobs by asset: %v", jobIDs(js))
	}
	_, err = s.ListScanJobs(ctx, admin, store.JobFilter{OrgID: f.b.ID})
	wantErr(t, err, store.ErrNotFound, "list jobs of B")
	j := store.ScanJob{ID: "ten-evil", AssetID: theirs.ID, Type: "portscan"}
	wantErr(t, s.CreateScanJob(ctx, admin, &j), store.ErrNotFound, "request a scan of B's asset")
	j = store.ScanJob{ID: "ten-evil", AssetID: theirs.ID, OrgID: f.b1.ID, Type: "portscan"}
	wantErr(t, s.CreateScanJob(ctx, admin, &j), store.ErrNotFound, "request a scan in B")
	j = store.ScanJob{ID: "ten-evil", AssetID: mine.ID, OrgID: f.b1.ID, Type: "portscan"}
	wantErr(t, s.CreateScanJob(ctx, admin, &j), store.ErrNotFound, "file own asset's scan under B")
	j = store.ScanJob{ID: bj.ID, AssetID: mine.ID, Type: "portscan"}
	wantErr(t, s.CreateScanJob(ctx, admin, &j), store.ErrConflict, "reuse B's job id")
	if j.AssetID != mine.ID || j.OrgID == f.b1.ID {
		t.Fatalf("a refused create leaked B's job: %+v", j)
	}
	for _, o := range listObs(t, f, admin, store.ObservationFilter{}) {
		if o.AssetID == theirs.ID {
			t.Fatalf("admin of A lists B's observation %+v", o)
		}
	}
	if obs := listObs(t, f, admin, store.ObservationFilter{AssetID: theirs.ID}); len(obs) != 0 {
		t.Fatalf("admin of A lists %d observations of B's asset", len(obs))
	}
	if obs := listObs(t, f, admin, store.ObservationFilter{AssetID: mine.ID}); len(obs) != 1 {
		t.Fatalf("admin of A lists %d observations of its asset, want 1", len(obs))
	}
	_, err = s.ListObservations(ctx, admin, store.ObservationFilter{OrgID: f.b1.ID})
	wantErr(t, err, store.ErrNotFound, "list observations of B1")
	_, err = s.GetScanPolicy(ctx, admin, f.b.ID)
	wantErr(t, err, store.ErrNotFound, "get B's policy")
	wantErr(t, s.SetScanPolicy(ctx, admin, f.b.ID, store.ScanPolicy{}), store.ErrNotFound, "set B's policy")
	if sp, err := s.GetScanPolicy(ctx, sys, f.b.ID); err != nil || !slices.Equal(sp.Exclusions, []string{"198.51.100.1"}) {
		t.Fatalf("B's policy changed: %+v %v", sp, err)
	}

	// A viewer reads but may not request a scan or change the policy.
	viewer := as(auth.RoleViewer, f.a)
	if _, err := s.GetScanJob(ctx, viewer, mj.ID); err != nil {
		t.Fatalf("viewer reads a job: %v", err)
	}
	if _, err := s.GetScanPolicy(ctx, viewer, f.a.ID); err != nil {
		t.Fatalf("viewer reads the policy: %v", err)
	}
	j = store.ScanJob{ID: "ten-viewer", AssetID: mine.ID, Type: "portscan"}
	wantErr(t, s.CreateScanJob(ctx, viewer, &j), store.ErrForbidden, "viewer requests a scan")
	wantErr(t, s.SetScanPolicy(ctx, viewer, f.a.ID, store.ScanPolicy{}), store.ErrForbidden, "viewer sets the policy")
	_, err = s.GetScanJob(ctx, sys, "ten-viewer")
	wantErr(t, err, store.ErrNotFound, "a forbidden request stored a job")

	// An analyst reads everything and requests nothing.
	analyst := auth.Principal{Name: "analyst", Role: auth.RoleAnalyst}
	if _, err := s.GetScanJob(ctx, analyst, bj.ID); err != nil {
		t.Fatalf("analyst reads B's job: %v", err)
	}
	if obs := listObs(t, f, analyst, store.ObservationFilter{AssetID: theirs.ID}); len(obs) != 1 {
		t.Fatalf("analyst lists %d observations of B's asset", len(obs))
	}
	j = store.ScanJob{ID: "ten-analyst", AssetID: theirs.ID, Type: "portscan"}
	wantErr(t, s.CreateScanJob(ctx, analyst, &j), store.ErrForbidden, "analyst requests a scan")

	// A platform administrator requests anywhere, audited.
	pa := auth.Principal{Name: "root", Role: auth.RolePlatformAdmin}
	j = store.ScanJob{ID: "ten-pa", AssetID: theirs.ID, Type: "portscan"}
	must(t, s.CreateScanJob(ctx, pa, &j), "platform admin requests a scan of B")
	es := auditOf(t, s, "asset", theirs.ID)
	if e := es[len(es)-1]; e.Action != "scan.request" || e.Actor != "root" || e.OrgID != f.b1.ID {
		t.Fatalf("platform admin's request audited as %+v", e)
	}
	// The system's jobs are bookkeeping, not audited.
	for _, e := range auditOf(t, s, "asset", mine.ID) {
		if e.Action == "scan.request" {
			t.Fatalf("system job audited: %+v", e)
		}
	}

	// No organization, or a machine role: nothing.
	nobody := auth.Principal{Name: "x", Role: auth.RoleOrgAdmin}
	if js := listJobs(t, f, nobody, store.JobFilter{}); len(js) != 0 {
		t.Fatalf("principal without org lists %d jobs", len(js))
	}
	if obs := listObs(t, f, nobody, store.ObservationFilter{}); len(obs) != 0 {
		t.Fatalf("principal without org lists %d observations", len(obs))
	}
	_, err = s.ListScanJobs(ctx, as(auth.RoleSensor, f.a), store.JobFilter{})
	wantErr(t, err, store.ErrForbidden, "sensor lists jobs")
	_, err = s.ListObservations(ctx, as(auth.RoleSensor, f.a), store.ObservationFilter{})
	wantErr(t, err, store.ErrForbidden, "sensor lists observations")
}

// obsByPort indexes one asset's observations by port and protocol.
