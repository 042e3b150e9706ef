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
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

type pipeline struct {
	t   *testing.T
	ctx context.Context
	st  *sqlstore.Store
	in  *scan.Ingester
}

func newPipeline(t *testing.T) *pipeline {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "r.db"), log)
	must(t, err)
	t.Cleanup(func() { st.Close() })
	must(t, st.Migrate(ctx))
	in := scan.NewIngester(st, log)
	in.After = scan.FindingsHook(findings.New(findings.Deps{Store: st}), []string{"svc.redis-unauthenticated"})
	return &pipeline{t: t, ctx: ctx, st: st, in: in}
}

func (p *pipeline) org(code string) org.Organization {
	o := org.Organization{Code: code, Name: code, Kind: org.KindAgency}
	must(p.t, p.st.CreateOrg(p.ctx, auth.SystemPrincipal, &o))
	return o
}

func (p *pipeline) asset(o org.Organization, kind asset.Kind, value string) asset.Asset {
	a := asset.Asset{OrgID: o.ID, Kind: kind, Value: value}
	must(p.t, p.st.CreateAsset(p.ctx, auth.SystemPrincipal, &a))
	return a
}

// run ingests one portscan result of a new job of a, finished at at.
func (p *pipeline) run(id string, a asset.Asset, at time.Time, pr scanjob.PortscanResult) scanjob.Result {
	j := store.ScanJob{ID: id, OrgID: a.OrgID, AssetID: a.ID, Type: scanjob.JobPortscan, Region: "default", Reason: "schedule"}
	must(p.t, p.st.CreateScanJob(p.ctx, auth.SystemPrincipal, &j))
	data, _ := json.Marshal(pr)
	r := scanjob.Result{JobID: id, Type: scanjob.JobPortscan, Worker: "w", Finished: at, Data: data}
	must(p.t, p.in.Handle(p.ctx, r))
	return r
}

func (p *pipeline) findings(a asset.Asset) []store.Finding {
	page, err := p.st.ListFindings(p.ctx, auth.SystemPrincipal, store.FindingFilter{AssetID: a.ID})
	must(p.t, err)
	return page.Items
}

func redisOpen(ip string) scanjob.PortscanResult {
	return scanjob.PortscanResult{Hosts: []string{ip}, Ports: "6379",
		Open:     []scanjob.OpenPort{{IP: ip, Port: 6379, Service: "redis"}},
		Findings: []scanjob.FindingOut{{Check: "svc.redis-unauthenticated", Family: "svc", Severity: "critical", Target: ip + ":6379", IP: ip, Title: "Redis open"}},
		Covered:  []scanjob.CoverageOut{{Target: ip + ":6379", IP: ip, Checks: []string{"svc.redis-unauthenticated"}}}}
}

func redisClosed(ip string) scanjob.PortscanResult {
	return scanjob.PortscanResult{Hosts: []string{ip}, Ports: "6379"}
}

// TestStaleResultsChangeNothing (reliability review F4): a result older
// than the latest one applied, redelivered after the deduplication window,
// neither reopens a fixed finding nor fixes an open one, and observations
// and findings agree.
func TestStaleResultsChangeNothing(t *testing.T) {
	p := newPipeline(t)
	a := p.asset(p.org("A"), asset.KindIPv4, "192.0.2.7")
	t0 := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)

	r1 := p.run("j1", a, t0, redisOpen("192.0.2.7"))
	r2 := p.run("j2", a, t0.Add(time.Hour), redisClosed("192.0.2.7"))
	if fs := p.findings(a); fs[0].State != finding.StateFixed {
		t.Fatalf("after the port closed: %s", fs[0].State)
	}
	must(t, p.in.Handle(p.ctx, r1)) // stale: the redis was open then
	if fs := p.findings(a); fs[0].State != finding.StateFixed {
		t.Fatalf("a stale sighting reopened the finding: %s", fs[0].State)
	}
	p.run("j3", a, t0.Add(2*time.Hour), redisOpen("192.0.2.7"))
	fs := p.findings(a)
	if fs[0].State != finding.StateReopened {
		t.Fatalf("seen again: %s", fs[0].State)
	}
	must(t, p.in.Handle(p.ctx, r2)) // stale: the port was closed then
	fs = p.findings(a)
	obs, err := p.st.ListObservations(p.ctx, auth.SystemPrincipal, store.ObservationFilter{AssetID: a.ID})
	must(t, err)
	if fs[0].State != finding.StateReopened || obs.Items[0].State != "open" {
		t.Fatalf("a stale 'closed' fixed a critical finding on an open service: finding %s, observation %s", fs[0].State, obs.Items[0].State)
	}
	// The reopen within 90 days kept the original deadline.
	if !fs[0].DueAt.Equal(t0.Add(15 * 24 * time.Hour)) {
		t.Fatalf("due %v, want the original %v", fs[0].DueAt, t0.Add(15*24*time.Hour))
	}
}

// TestResultsStayWithTheJobsAsset (security review F1, F2, F7): org B
// registers an address that org A's network covers. A's job results stay
// on A's asset; B's job results on B's; A's coverage never fixes B's
// finding, and B never receives A's observations.
func TestResultsStayWithTheJobsAsset(t *testing.T) {
	p := newPipeline(t)
	orgA, orgB := p.org("A"), p.org("B")
	netA := p.asset(orgA, asset.KindCIDR, "192.0.2.0/28")
	ipB := p.asset(orgB, asset.KindIPv4, "192.0.2.7")
	t0 := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)

	p.run("b1", ipB, t0, redisOpen("192.0.2.7"))
	p.run("a1", netA, t0.Add(time.Minute), redisOpen("192.0.2.7"))
	fa, fb := p.findings(netA), p.findings(ipB)
	if len(fa) != 1 || fa[0].OrgID != orgA.ID || len(fb) != 1 || fb[0].OrgID != orgB.ID || fb[0].LastJobID != "b1" {
		t.Fatalf("each job's findings on its own asset: A %+v, B %+v", fa, fb)
	}
	// A's next scan no longer sees redis (say A excluded it): B's finding
	// stays open, B's observation stays open.
	p.run("a2", netA, t0.Add(time.Hour), redisClosed("192.0.2.7"))
	if fb := p.findings(ipB); fb[0].State != finding.StateOpen || fb[0].LastJobID != "b1" {
		t.Fatalf("A's job changed B's finding: %+v", fb[0])
	}
	if fa := p.findings(netA); fa[0].State != finding.StateFixed {
		t.Fatalf("A's own finding: %s", fa[0].State)
	}
	obsB, err := p.st.ListObservations(p.ctx, auth.SystemPrincipal, store.ObservationFilter{AssetID: ipB.ID})
	must(t, err)
	if len(obsB.Items) != 1 || obsB.Items[0].State != "open" || obsB.Items[0].JobID != "b1" {
		t.Fatalf("B's observations: %+v", obsB.Items)
	}
	bScope := auth.Principal{Name: "b", Role: auth.RoleOrgAdmin, OrgID: orgB.ID}
	seen, err := p.st.ListObservations(p.ctx, bScope, store.ObservationFilter{})
	must(t, err)
	for _, o := range seen.Items {
		if o.JobID != "b1" {
			t.Fatalf("B sees an observation of A's job: %+v", o)
		}
	}
}
