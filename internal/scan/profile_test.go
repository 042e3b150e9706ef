package scan_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/queue/natsq"
	"github.com/rampart-cert/rampart/internal/scan"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
	"github.com/rampart-cert/rampart/internal/scope"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

// A scheduled job carries its asset's effective scan profile: the asset's
// override, then its organization's policy, then the platform's defaults.
func TestSchedulerScanProfile(t *testing.T) {
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
	mkOrg := func(code string) org.Organization {
		o := org.Organization{Code: code, Name: code, Kind: org.KindAgency}
		must(t, st.CreateOrg(ctx, sys, &o))
		return o
	}
	a, b := mkOrg("A"), mkOrg("B")
	mk := func(orgID int64, v string) asset.Asset {
		x := asset.Asset{OrgID: orgID, Kind: asset.KindIPv4, Value: v}
		must(t, st.CreateAsset(ctx, sys, &x))
		return x
	}
	plain := mk(a.ID, "192.0.2.10")    // the organization's profile
	special := mk(a.ID, "192.0.2.11")  // its own override
	partly := mk(a.ID, "192.0.2.12")   // overrides the rate only
	platform := mk(b.ID, "192.0.2.13") // B sets nothing: platform defaults
	must(t, st.SetScanPolicy(ctx, sys, a.ID, store.ScanPolicy{Ports: "22,80", Families: []string{"http", "tls"}, Rate: 200}))
	ports, udp, on := "443,8443", true, true
	fams, rate, slow := []string{"svc"}, 25, 5
	must(t, st.SetAssetScanProfile(ctx, sys, special.ID, store.ScanProfile{Ports: &ports, Families: &fams, Rate: &rate, UDP: &udp, Credentials: &on}))
	must(t, st.SetAssetScanProfile(ctx, sys, partly.ID, store.ScanProfile{Rate: &slow}))

	guard := scope.New(st, time.Hour, log)
	must(t, guard.Refresh(ctx))
	now := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	s := scan.NewScheduler(st, q, guard, nil, scan.SchedulerConfig{Region: "hn", Ports: "top100", Logger: log,
		Defaults: scanjob.PortscanParams{Rate: 1000}, Now: func() time.Time { return now }})
	n, err := s.Tick(ctx)
	must(t, err)
	if n != 4 {
		t.Fatalf("queued %d jobs, want 4", n)
	}
	type want struct {
		ports      string
		checks     []string
		rate       int
		udp, creds bool
	}
	wants := map[int64]want{
		plain.ID:    {"22,80", []string{"http", "tls"}, 200, false, false},
		special.ID:  {"443,8443", []string{"svc"}, 25, true, true},
		partly.ID:   {"22,80", []string{"http", "tls"}, 5, false, false},
		platform.ID: {"top100", []string{"all"}, 1000, false, false},
	}
	jobs, err := st.ListScanJobs(ctx, sys, store.JobFilter{})
	must(t, err)
	for _, j := range jobs.Items {
		var p scanjob.PortscanParams
		must(t, json.Unmarshal(j.Params, &p))
		w := wants[j.AssetID]
		if p.Ports != w.ports || !slices.Equal(p.Checks, w.checks) || p.Rate != w.rate || p.UDP != w.udp || p.Credentials != w.creds {
			t.Errorf("asset %d: job params %+v, want %+v", j.AssetID, p, w)
		}
		delete(wants, j.AssetID)
	}
	if len(wants) != 0 {
		t.Errorf("no job for assets %v", wants)
	}
}
