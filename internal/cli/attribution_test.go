package cli

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/findings"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/scan"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

// TestF26FindingHistoryKeepsOtherOrgsJobs: two organizations whose assets
// cover the same address (B's network holds A's host), results wired as
// serve wires them (scan.FindingsHook into the findings service, each
// result attributed to its job's asset). A's jobs, which see and then no
// longer see the same weakness on that address, never write into B's
// finding: its history names B's job only, and it stays open (security
// F26: "finding history shows job IDs of other organizations" does not
// happen since the ingester stopped attributing results by address).
func TestF26FindingHistoryKeepsOtherOrgsJobs(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "rampart.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	sys := auth.SystemPrincipal
	mkOrg := func(parent int64, code string, kind org.Kind) org.Organization {
		o := org.Organization{ParentID: parent, Code: code, Name: code, NameEN: code, Kind: kind}
		if err := st.CreateOrg(ctx, sys, &o); err != nil {
			t.Fatal(err)
		}
		return o
	}
	root := mkOrg(0, "VN", org.KindNational)
	orgA, orgB := mkOrg(root.ID, "A", org.KindMinistry), mkOrg(root.ID, "B", org.KindMinistry)
	mkAsset := func(o org.Organization, k asset.Kind, v string) asset.Asset {
		a := asset.Asset{OrgID: o.ID, Kind: k, Value: v}
		if err := st.CreateAsset(ctx, sys, &a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	hostA := mkAsset(orgA, asset.KindIPv4, "192.0.2.10")
	netB := mkAsset(orgB, asset.KindCIDR, "192.0.2.0/28")

	svc := findings.New(findings.Deps{Store: st})
	const check = "tls.cert-expired"
	hook := scan.FindingsHook(svc, []string{check})
	seen := scanjob.PortscanResult{
		Findings: []scanjob.FindingOut{{Check: check, Family: "tls", Severity: "high", Target: "192.0.2.10:443", IP: "192.0.2.10", Title: "Expired certificate"}},
		Covered:  []scanjob.CoverageOut{{Target: "192.0.2.10:443", IP: "192.0.2.10", Checks: []string{check}}},
	}
	clean := scanjob.PortscanResult{Covered: seen.Covered}
	at := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	run := func(job store.ScanJob, r scanjob.PortscanResult) {
		t.Helper()
		at = at.Add(time.Hour)
		if err := hook(ctx, job, at, r); err != nil {
			t.Fatalf("job %s: %v", job.ID, err)
		}
	}
	jobB := store.ScanJob{ID: "b-schedule-1", OrgID: orgB.ID, AssetID: netB.ID, Type: "portscan", Target: netB.Value}
	jobA1 := store.ScanJob{ID: "a-manual-1", OrgID: orgA.ID, AssetID: hostA.ID, Type: "portscan", Target: hostA.Value}
	jobA2 := store.ScanJob{ID: "a-manual-2", OrgID: orgA.ID, AssetID: hostA.ID, Type: "portscan", Target: hostA.Value}
	run(jobB, seen)
	run(jobA1, seen)
	run(jobA2, clean) // A's host no longer shows it: A's finding is fixed, B's is not A's to fix

	page, err := st.ListFindings(ctx, sys, store.FindingFilter{PageRequest: store.PageRequest{Limit: 100}})
	if err != nil {
		t.Fatal(err)
	}
	byOrg := map[int64]store.Finding{}
	for _, f := range page.Items {
		if _, dup := byOrg[f.OrgID]; dup {
			t.Fatalf("two findings of organization %d: %+v", f.OrgID, page.Items)
		}
		byOrg[f.OrgID] = f
	}
	want := map[int64]struct {
		jobs  map[string]bool
		state string
	}{
		orgB.ID: {map[string]bool{jobB.ID: true}, "open"},
		orgA.ID: {map[string]bool{jobA1.ID: true, jobA2.ID: true}, "fixed"},
	}
	for id, w := range want {
		f, ok := byOrg[id]
		if !ok {
			t.Fatalf("organization %d has no finding: %+v", id, page.Items)
		}
		if string(f.State) != w.state {
			t.Errorf("organization %d's finding is %s, want %s", id, f.State, w.state)
		}
		hist, err := st.FindingHistory(ctx, sys, f.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hist {
			if h.JobID != "" && !w.jobs[h.JobID] {
				t.Errorf("organization %d's finding %d names job %s of another organization: %+v", id, f.ID, h.JobID, h)
			}
		}
	}
}
