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
	"github.com/rampart-cert/rampart/internal/events"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/queue"
	"github.com/rampart-cert/rampart/internal/queue/natsq"
	"github.com/rampart-cert/rampart/internal/scan"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
	"github.com/rampart-cert/rampart/internal/scope"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

type fixedPosture map[int64]finding.Severity

func (f fixedPosture) WorstForAsset(_ context.Context, id int64) (finding.Severity, bool, error) {
	return f[id], false, nil
}

func TestSchedulerTick(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "r.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	q, err := natsq.Open(ctx, natsq.Options{DataDir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	sys := auth.SystemPrincipal
	o := org.Organization{Code: "A", Name: "A", Kind: org.KindAgency}
	must(t, st.CreateOrg(ctx, sys, &o))
	b := org.Organization{Code: "B", Name: "B", Kind: org.KindAgency}
	must(t, st.CreateOrg(ctx, sys, &b))
	mk := func(orgID int64, kind asset.Kind, v string) asset.Asset {
		a := asset.Asset{OrgID: orgID, Kind: kind, Value: v}
		must(t, st.CreateAsset(ctx, sys, &a))
		return a
	}
	critical := mk(o.ID, asset.KindIPv4, "192.0.2.1")
	clean := mk(o.ID, asset.KindDomain, "a.gov.vn")
	asn := mk(o.ID, asset.KindASN, "AS64500")
	blacked := mk(b.ID, asset.KindCIDR, "198.51.100.0/28")
	// B never wants scans on Wednesdays during office hours.
	must(t, st.SetScanPolicy(ctx, sys, b.ID, store.ScanPolicy{Blackouts: []store.Window{{Days: []int{3}, Start: "08:00", End: "17:00"}}}))

	guard := scope.New(st, time.Hour, log)
	must(t, guard.Refresh(ctx))
	now := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC) // Wednesday 10:00 in Hanoi
	s := scan.NewScheduler(st, q, guard, fixedPosture{critical.ID: finding.Critical},
		scan.SchedulerConfig{Region: "hn", Ports: "top100", Now: func() time.Time { return now }, Logger: log})
	n, err := s.Tick(ctx)
	must(t, err)
	if n != 2 {
		t.Fatalf("queued %d jobs, want 2 (the blacked-out and the ASN asset wait)", n)
	}
	// The jobs reach the queue through the outbox, as in serve.
	if _, err := events.NewRelay(st, q, events.RelayOptions{}).Once(ctx); err != nil {
		t.Fatal(err)
	}
	pending, err := q.Pending(ctx, queue.StreamJobs, "rampart.jobs.hn.>")
	must(t, err)
	if pending != 2 {
		t.Fatalf("%d jobs on the queue", pending)
	}
	jobs, err := st.ListScanJobs(ctx, sys, store.JobFilter{})
	must(t, err)
	for _, j := range jobs.Items {
		var p scanjob.PortscanParams
		must(t, json.Unmarshal(j.Params, &p))
		if j.State != store.JobQueued || j.Region != "hn" || p.Ports != "top100" || j.Reason != "schedule" {
			t.Errorf("job %+v params %+v", j, p)
		}
	}
	// Next times follow the cadence: critical 12 h, clean 7 days, blackout 15 min.
	due := func(at time.Time) map[int64]bool {
		ds, err := st.DueAssets(ctx, at, 100)
		must(t, err)
		m := map[int64]bool{}
		for _, d := range ds {
			m[d.AssetID] = true
		}
		return m
	}
	if d := due(now.Add(time.Minute)); len(d) != 0 {
		t.Fatalf("due right after the tick: %v", d)
	}
	if d := due(now.Add(16 * time.Minute)); !d[blacked.ID] || len(d) != 1 {
		t.Fatalf("after the blackout retry time: %v", d)
	}
	if d := due(now.Add(13 * time.Hour)); !d[critical.ID] || d[clean.ID] {
		t.Fatalf("after 13 h: %v", d)
	}
	if d := due(now.Add(8 * 24 * time.Hour)); !d[clean.ID] || !d[asn.ID] {
		t.Fatalf("after 8 days: %v", d)
	}
	// A second tick in the same minute queues nothing new.
	n, err = s.Tick(ctx)
	must(t, err)
	if n != 0 {
		t.Fatalf("second tick queued %d", n)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
