package scan_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/findings"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/queue/natsq"
	"github.com/rampart-cert/rampart/internal/scan"
	"github.com/rampart-cert/rampart/internal/scope"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

// TestF25URLAssetDoesNotBreakOrgScan (security review F25): a URL asset
// whose host is registered nowhere else covers its own host for its own
// job, so "scan this organization" queues every asset's job instead of
// failing half-way on it.
func TestF25URLAssetDoesNotBreakOrgScan(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "r.db"), log)
	must(t, err)
	defer st.Close()
	must(t, st.Migrate(ctx))
	q, err := natsq.Open(ctx, natsq.Options{DataDir: t.TempDir(), Logger: log})
	must(t, err)
	defer q.Close()
	sys := auth.SystemPrincipal
	o := org.Organization{Code: "A", Name: "A", Kind: org.KindAgency}
	must(t, st.CreateOrg(ctx, sys, &o))
	for _, a := range []asset.Asset{
		{OrgID: o.ID, Kind: asset.KindIPv4, Value: "192.0.2.1"},
		{OrgID: o.ID, Kind: asset.KindURL, Value: "http://xss.example.test/app/"},
		{OrgID: o.ID, Kind: asset.KindIPv4, Value: "192.0.2.2"},
	} {
		must(t, st.CreateAsset(ctx, sys, &a))
	}
	guard := scope.New(st, time.Hour, log)
	must(t, guard.Refresh(ctx))
	sched := scan.NewScheduler(st, q, guard, st, scan.SchedulerConfig{Region: "default", Logger: log})
	svc := findings.New(findings.Deps{Store: st, Scheduler: sched, Scope: guard, Logger: log})
	jobs, err := svc.RequestScan(ctx, sys, findings.ScanRequest{OrgID: o.ID})
	must(t, err)
	if len(jobs) != 3 {
		t.Fatalf("jobs: %d, want one per asset", len(jobs))
	}
	all, err := st.ListScanJobs(ctx, sys, store.JobFilter{OrgID: o.ID})
	must(t, err)
	if len(all.Items) != 3 {
		t.Fatalf("stored jobs: %+v", all.Items)
	}
	for _, j := range all.Items {
		if j.Target == "" {
			t.Fatalf("job without a target: %+v", j)
		}
	}
}
