package scan_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/findings"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/scan"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
	"github.com/rampart-cert/rampart/internal/scope"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

// TestIngestUnreachableFixesNothing: after a scan that saw a service and a
// finding, a scan that reached nothing leaves both as they were and says
// unreachable; a redelivered result changes nothing.
func TestIngestUnreachableFixesNothing(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "r.db"), log)
	must(t, err)
	defer st.Close()
	must(t, st.Migrate(ctx))
	sys := auth.SystemPrincipal
	o := org.Organization{Code: "A", Name: "A", Kind: org.KindAgency}
	must(t, st.CreateOrg(ctx, sys, &o))
	a := asset.Asset{OrgID: o.ID, Kind: asset.KindIPv4, Value: "192.0.2.7"}
	must(t, st.CreateAsset(ctx, sys, &a))
	guard := scope.New(st, time.Hour, log)
	must(t, guard.Refresh(ctx))
	in := scan.NewIngester(st, log)
	in.After = scan.FindingsHook(findings.New(findings.Deps{Store: st}), []string{"svc.redis-unauthenticated"})

	job := func(id string) {
		j := store.ScanJob{ID: id, AssetID: a.ID, Type: scanjob.JobPortscan, Region: "default", Reason: "schedule"}
		must(t, st.CreateScanJob(ctx, sys, &j))
	}
	result := func(id string, pr scanjob.PortscanResult) scanjob.Result {
		data, _ := json.Marshal(pr)
		return scanjob.Result{JobID: id, Type: scanjob.JobPortscan, Worker: "w", Finished: time.Now().UTC(), Data: data}
	}
	seen := scanjob.PortscanResult{Hosts: []string{"192.0.2.7"}, Ports: "6379,80",
		Open:     []scanjob.OpenPort{{IP: "192.0.2.7", Port: 6379, Service: "redis"}},
		Findings: []scanjob.FindingOut{{Check: "svc.redis-unauthenticated", Family: "svc", Severity: "critical", Target: "192.0.2.7:6379", IP: "192.0.2.7", Title: "Redis open"}},
		Covered:  []scanjob.CoverageOut{{Target: "192.0.2.7:6379", IP: "192.0.2.7", Checks: []string{"svc.redis-unauthenticated"}}}}
	job("j1")
	must(t, in.Handle(ctx, result("j1", seen)))
	must(t, in.Handle(ctx, result("j1", seen))) // redelivered

	job("j2")
	must(t, in.Handle(ctx, result("j2", scanjob.PortscanResult{Ports: "6379,80", Unreachable: true})))
	j2, err := st.GetScanJob(ctx, sys, "j2")
	must(t, err)
	if j2.State != store.JobUnreachable {
		t.Fatalf("job = %+v", j2)
	}
	obs, err := st.ListObservations(ctx, sys, store.ObservationFilter{AssetID: a.ID})
	must(t, err)
	if len(obs.Items) != 1 || obs.Items[0].State != "open" {
		t.Fatalf("observations: %+v", obs.Items)
	}
	fs, err := st.ListFindings(ctx, sys, store.FindingFilter{AssetID: a.ID})
	must(t, err)
	if len(fs.Items) != 1 || fs.Items[0].State != finding.StateOpen {
		t.Fatalf("findings: %+v", fs.Items)
	}

	// A reachable scan where the port is closed fixes it.
	job("j3")
	must(t, in.Handle(ctx, result("j3", scanjob.PortscanResult{Hosts: []string{"192.0.2.7"}, Ports: "6379,80"})))
	fs, err = st.ListFindings(ctx, sys, store.FindingFilter{AssetID: a.ID})
	must(t, err)
	if fs.Items[0].State != finding.StateFixed {
		t.Fatalf("finding after the port closed: %+v", fs.Items[0])
	}
}
