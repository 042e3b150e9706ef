package discovery_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/dns"
	"github.com/rampart-cert/rampart/internal/discovery"
	"github.com/rampart-cert/rampart/internal/discovery/dnsdisc"
	"github.com/rampart-cert/rampart/internal/findings"
	"github.com/rampart-cert/rampart/internal/lab"
	"github.com/rampart-cert/rampart/internal/scan"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
	"github.com/rampart-cert/rampart/internal/scope"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
	"github.com/rampart-cert/rampart/internal/target"
	"github.com/rampart-cert/rampart/internal/transfer"
	"github.com/rampart-cert/rampart/internal/worker"
)

// platform is the lab's constituency in a store, with the scope guard,
// the scan scheduler and the discovery service over them.
type platform struct {
	lab   *lab.Lab
	st    *sqlstore.Store
	guard *scope.Guard
	sched *scan.Scheduler
	svc   *discovery.Service
	orgs  map[string]int64
}

func newPlatform(t *testing.T, ctx context.Context, base string) *platform {
	t.Helper()
	l := startLab(t, base)
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "rampart.db"), nil)
	must(t, err)
	t.Cleanup(func() { st.Close() })
	must(t, st.Migrate(ctx))
	orgsJSON, assetsJSON := l.Constituency()
	orgRows, err := transfer.ReadOrgs(bytes.NewReader(orgsJSON), transfer.JSON)
	must(t, err)
	_, err = st.ImportOrgs(ctx, auth.SystemPrincipal, orgRows)
	must(t, err)
	assetRows, err := transfer.ReadAssets(bytes.NewReader(assetsJSON), transfer.JSON, "")
	must(t, err)
	_, err = st.ImportAssets(ctx, auth.SystemPrincipal, assetRows)
	must(t, err)
	guard := scope.New(st, time.Second, nil)
	must(t, guard.Refresh(ctx))
	sched := scan.NewScheduler(st, nil, guard, nil, scan.SchedulerConfig{Region: "default", Checks: []string{"dns"}})
	fs := findings.New(findings.Deps{Store: st, Scope: guard})
	svc := discovery.NewService(discovery.ServiceDeps{
		Store: st, Scope: guard, Findings: fs, Sweeper: sched,
		Invalidate: func() { _ = guard.Refresh(ctx) },
		Config: discovery.Config{Options: discovery.Options{
			Sources:  []discovery.Source{discovery.SourceAXFR, discovery.SourceWordlist},
			Resolver: &dnsdisc.Resolver{Server: l.DNSAddr(), Timeout: 2 * time.Second, Limiter: dnsdisc.NewLimiter(2000, 50)},
			Dial:     l.Dial,
		}},
	})
	p := &platform{lab: l, st: st, guard: guard, sched: sched, svc: svc, orgs: map[string]int64{}}
	for _, code := range []string{"HN-DEMO", "HCM-DEMO", "EPAY-DEMO", "BTTTT-DEMO"} {
		o, err := st.GetOrgByCode(ctx, auth.SystemPrincipal, code)
		must(t, err)
		p.orgs[code] = o.ID
	}
	return p
}

// jobs lists every scan job the platform stored.
func (p *platform) jobs(t *testing.T, ctx context.Context) []store.ScanJob {
	t.Helper()
	var out []store.ScanJob
	f := store.JobFilter{PageRequest: store.PageRequest{Limit: store.MaxLimit}}
	for {
		page, err := p.st.ListScanJobs(ctx, auth.SystemPrincipal, f)
		must(t, err)
		out = append(out, page.Items...)
		if page.Next == "" {
			return out
		}
		f.After = page.Next
	}
}

// scans reports whether a job of jobs probes value (its target or its
// asset).
func scans(t *testing.T, jobs []store.ScanJob, value string) []store.ScanJob {
	t.Helper()
	var out []store.ScanJob
	for _, j := range jobs {
		var p scanjob.PortscanParams
		must(t, json.Unmarshal(j.Params, &p))
		if strings.EqualFold(j.Target, value) || strings.EqualFold(p.AssetValue, value) {
			out = append(out, j)
		}
	}
	return out
}

// TestSweep: discovered candidates are not scanned — the scheduler plans
// every registered asset and none of them — until a national analyst
// sweeps one explicitly, with a reason: then a scan job of its covering
// asset probes it (and the worker finds its dangling CNAME), audited with
// who and why. Nobody else may sweep, and a sweep decides nothing.
func TestSweep(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	p := newPlatform(t, ctx, "127.77.108.0")
	must(t, p.st.CreateDiscoveryJob(ctx, auth.SystemPrincipal, &store.DiscoveryJob{}))
	j, ok, err := p.st.ClaimDiscoveryJob(ctx, time.Now(), time.Minute)
	if err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	must(t, p.svc.RunJob(ctx, j))
	pending, err := p.st.ListCandidates(ctx, auth.SystemPrincipal, store.CandidateFilter{PageRequest: store.PageRequest{Limit: 1000}})
	must(t, err)
	var cand store.Candidate
	for _, c := range pending.Items {
		if c.Value == "sukien2023.hcm-demo.gov.vn" {
			cand = c
		}
	}
	if cand.ID == 0 || len(pending.Items) < 2 {
		t.Fatalf("candidates %+v", pending.Items)
	}

	// The scheduler plans every registered asset, and no candidate.
	n, err := p.sched.Tick(ctx)
	must(t, err)
	before := p.jobs(t, ctx)
	if n == 0 || len(before) == 0 {
		t.Fatalf("the scheduler planned %d jobs", n)
	}
	for _, c := range pending.Items {
		if js := scans(t, before, c.Value); len(js) != 0 {
			t.Fatalf("candidate %s is scanned before anyone confirmed it: %+v", c.Value, js)
		}
	}

	// Only the national level sweeps, and with a reason.
	hcmAdmin := as(auth.RoleOrgAdmin, p.orgs["HCM-DEMO"])
	if _, err := p.svc.Sweep(ctx, hcmAdmin, []int64{cand.ID}, "curious"); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("an org admin swept: %v", err)
	}
	analyst := auth.Principal{Name: "analyst-1", Role: auth.RoleAnalyst, OrgID: p.orgs["BTTTT-DEMO"]}
	if _, err := p.svc.Sweep(ctx, analyst, []int64{cand.ID}, " "); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("a sweep without a reason: %v", err)
	}
	if got := scans(t, p.jobs(t, ctx), cand.Value); len(got) != 0 {
		t.Fatalf("a refused sweep queued %+v", got)
	}
	swept, err := p.svc.Sweep(ctx, analyst, []int64{cand.ID, cand.ID}, "takeover campaign against event sites")
	must(t, err)
	if len(swept) != 1 || swept[0].CandidateID != cand.ID || swept[0].JobID == "" {
		t.Fatalf("swept %+v", swept)
	}
	after := scans(t, p.jobs(t, ctx), cand.Value)
	if len(after) != 1 {
		t.Fatalf("jobs of the swept candidate: %+v", after)
	}
	sj := after[0]
	if sj.ID != swept[0].JobID || sj.AssetID != cand.AssetID || sj.OrgID != p.orgs["HCM-DEMO"] || sj.Reason != scan.SweepReason || sj.RequestedBy != analyst.Name {
		t.Fatalf("sweep job %+v", sj)
	}
	audit, err := p.st.ListAudit(ctx, auth.SystemPrincipal, store.AuditFilter{ObjectType: "discovery_candidate", ObjectID: cand.ID})
	must(t, err)
	if len(audit.Items) != 1 || audit.Items[0].Action != "discovery.sweep" || audit.Items[0].Actor != analyst.Name ||
		!strings.Contains(string(audit.Items[0].After), "takeover campaign against event sites") {
		t.Fatalf("audit %+v", audit.Items)
	}
	// A sweep decides nothing: the candidate is still pending, still no
	// asset, and the scheduler still does not plan it.
	c, err := p.st.GetCandidate(ctx, auth.SystemPrincipal, cand.ID)
	must(t, err)
	if c.State != store.CandidatePending {
		t.Fatalf("swept candidate is %s", c.State)
	}
	_, err = p.sched.Tick(ctx)
	must(t, err)
	if got := scans(t, p.jobs(t, ctx), cand.Value); len(got) != 1 {
		t.Fatalf("the scheduler planned the swept candidate: %+v", got)
	}

	// The sweep's job, run by a worker on the lab, finds the candidate's
	// dangling CNAME, as a result of the covering asset.
	reg := check.NewRegistry()
	must(t, reg.Register(dns.Checks()...))
	lnet := netip.MustParsePrefix("127.77.0.0/16")
	w := &worker.PortscanWorker{Checks: reg, Resolver: target.NewResolver(p.lab.DNSAddr()), Internal: true,
		CheckEnv: &check.Env{Dial: p.lab.Dial, DNSServer: p.lab.DNSAddr(), Timeout: 2 * time.Second, Now: time.Now,
			Extra: map[string]any{"dns": dns.Options{AllowAddr: func(ad netip.Addr) bool { return lnet.Contains(ad) }}}}}
	out, err := w.Handle(ctx, scanjob.Job{ID: sj.ID, Type: sj.Type, Region: sj.Region, OrgID: sj.OrgID, AssetID: sj.AssetID, Target: sj.Target, Params: sj.Params})
	must(t, err)
	var res scanjob.PortscanResult
	must(t, json.Unmarshal(out, &res))
	found := false
	for _, f := range res.Findings {
		found = found || (f.Check == "dns.dangling-cname" && f.Target == cand.Value)
	}
	if !found {
		t.Fatalf("the sweep's scan found %+v", res.Findings)
	}

	// A decided candidate is swept no more.
	_, err = p.svc.Decide(ctx, hcmAdmin, cand.ID, false, "not ours")
	must(t, err)
	if _, err := p.svc.Sweep(ctx, analyst, []int64{cand.ID}, "again"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a decided candidate was swept: %v", err)
	}
}
