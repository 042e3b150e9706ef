package discovery_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/dns"
	"github.com/rampart-cert/rampart/internal/discovery"
	"github.com/rampart-cert/rampart/internal/discovery/dnsdisc"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/findings"
	"github.com/rampart-cert/rampart/internal/scan"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
	"github.com/rampart-cert/rampart/internal/scope"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
	"github.com/rampart-cert/rampart/internal/target"
	"github.com/rampart-cert/rampart/internal/transfer"
	"github.com/rampart-cert/rampart/internal/worker"
)

// TestLabEndToEnd is the "done when" for discovery: on the demo
// lab, a discovery job finds the names that exist only in CT, only in an
// open zone, only in the wordlist (and only in an NSEC chain), proposes
// each to the organization whose domain covers it with a finding, scans
// none of them; once the owner confirms the AXFR-only name, a scan of it
// finds its dangling CNAME.
func TestLabEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs discovery and a scan on the lab")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	l := startLab(t, "127.77.104.0")
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "rampart.db"), nil)
	must(t, err)
	defer st.Close()
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
	fs := findings.New(findings.Deps{Store: st, Scope: guard})
	svc := discovery.NewService(discovery.ServiceDeps{
		Store: st, Scope: guard, Findings: fs,
		Invalidate: func() { _ = guard.Refresh(ctx) },
		Config: discovery.Config{
			Options: discovery.Options{
				Sources:  []discovery.Source{discovery.SourceCT, discovery.SourceAXFR, discovery.SourceWordlist, discovery.SourceNSEC, discovery.SourceCerts},
				Resolver: &dnsdisc.Resolver{Server: l.DNSAddr(), Timeout: 2 * time.Second, Limiter: dnsdisc.NewLimiter(2000, 50)},
				Dial:     l.Dial,
			},
			CTLogURLs: []discovery.CTLogConfig{{URL: l.CTLogURL(), Key: l.CTLogKey()}},
		},
	})

	// A national run, queued and taken as the platform's loop does.
	must(t, st.CreateDiscoveryJob(ctx, auth.SystemPrincipal, &store.DiscoveryJob{}))
	j, ok, err := st.ClaimDiscoveryJob(ctx, time.Now(), time.Minute)
	if err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	must(t, svc.RunJob(ctx, j))
	jobs, err := st.ListDiscoveryJobs(ctx, auth.SystemPrincipal, store.DiscoveryJobFilter{})
	must(t, err)
	if jobs.Items[0].State != store.JobDone || len(jobs.Items[0].Progress) == 0 {
		t.Fatalf("job %+v", jobs.Items[0])
	}
	t.Logf("progress: %s", jobs.Items[0].Progress)
	// The CT position is kept: the next run reads only new entries.
	if next, _, _ := st.CTPosition(ctx, l.CTLogURL()); next != 7 {
		t.Fatalf("CT position %d, want 7", next)
	}

	orgID := map[string]int64{}
	for _, code := range []string{"HN-DEMO", "HCM-DEMO", "EPAY-DEMO", "BTTTT-DEMO"} {
		o, err := st.GetOrgByCode(ctx, auth.SystemPrincipal, code)
		must(t, err)
		orgID[code] = o.ID
	}
	pending, err := st.ListCandidates(ctx, auth.SystemPrincipal, store.CandidateFilter{PageRequest: store.PageRequest{Limit: 1000}})
	must(t, err)
	byName := map[string]store.Candidate{}
	for _, c := range pending.Items {
		byName[c.Value] = c
	}
	for _, u := range l.Unregistered() {
		c, ok := byName[u.Name]
		if !ok {
			t.Errorf("%s was not proposed", u.Name)
			continue
		}
		if c.OrgID != orgID[u.OrgCode] || !slices.Contains(c.Sources, u.Source) {
			t.Errorf("%s proposed to org %d from %v, want %s from %s", u.Name, c.OrgID, c.Sources, u.OrgCode, u.Source)
		}
	}
	// Registered names are not proposed; a name outside the constituency
	// (in the CT log) is not either.
	for _, n := range []string{"dichvucong.hn-demo.gov.vn", "www.btttt-demo.gov.vn", "khuyenmai.hcm-demo.gov.vn", "shop.thuongmai-demo.vn"} {
		if _, ok := byName[n]; ok {
			t.Errorf("%s was proposed", n)
		}
	}
	// Each owner has a finding per pending candidate, on its domain.
	hcm := as(auth.RoleOrgMember, orgID["HCM-DEMO"])
	fp, err := st.ListFindings(ctx, hcm, store.FindingFilter{Check: discovery.FindingKind, Active: true})
	must(t, err)
	var sukien *store.Finding
	for i := range fp.Items {
		if fp.Items[i].Target == "sukien2023.hcm-demo.gov.vn" {
			sukien = &fp.Items[i]
		}
	}
	if sukien == nil || sukien.OrgID != orgID["HCM-DEMO"] || sukien.DueAt == nil {
		t.Fatalf("HCM-DEMO's discovery findings: %+v", fp.Items)
	}
	// Nothing discovered is an asset, so nothing scans it.
	as0, err := st.ListAssets(ctx, auth.SystemPrincipal, store.AssetFilter{Query: "sukien2023"})
	must(t, err)
	if len(as0.Items) != 0 {
		t.Fatalf("a candidate is an asset before confirmation: %+v", as0.Items)
	}

	// Another organization cannot decide HCM-DEMO's candidate; its owner
	// confirms it and it becomes a verified hostname.
	cand := byName["sukien2023.hcm-demo.gov.vn"]
	if _, err := svc.Decide(ctx, as(auth.RoleOrgAdmin, orgID["HN-DEMO"]), cand.ID, true, ""); err == nil {
		t.Fatal("HN-DEMO confirmed HCM-DEMO's candidate")
	}
	if _, err := svc.Decide(ctx, hcm, cand.ID, true, ""); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("a member confirmed a candidate: %v", err)
	}
	hcmAdmin := as(auth.RoleOrgAdmin, orgID["HCM-DEMO"])
	dec, err := svc.Decide(ctx, hcmAdmin, cand.ID, true, "our event site")
	must(t, err)
	// Its finding is closed at once, with the decision in its history.
	closed, err := st.GetFinding(ctx, hcm, sukien.ID)
	must(t, err)
	if closed.State != finding.StateFixed {
		t.Fatalf("the confirmed candidate's finding is %s", closed.State)
	}
	hist, err := st.FindingHistory(ctx, hcm, sukien.ID)
	must(t, err)
	if last := hist[len(hist)-1]; last.Reason != "candidate confirmed by "+hcmAdmin.Name+": our event site" {
		t.Fatalf("history %+v", last)
	}
	a, err := st.GetAsset(ctx, hcm, dec.RegisteredAssetID)
	must(t, err)
	if a.Kind != asset.KindHostname || a.State != asset.StateVerified || a.OrgID != orgID["HCM-DEMO"] {
		t.Fatalf("registered %+v", a)
	}
	// A second run proposes it no more (it is registered now).
	rep, err := svc.Propose(ctx, "again", []discovery.Candidate{{Name: "sukien2023.hcm-demo.gov.vn", Source: discovery.SourceAXFR}})
	must(t, err)
	if rep.Placed != 0 || rep.Unplaced != 1 {
		t.Fatalf("a registered name was placed again: %+v", rep)
	}

	// The confirmed asset's scan job, run by a worker on the lab.
	sched := scan.NewScheduler(st, nil, guard, nil, scan.SchedulerConfig{Region: "default", Checks: []string{"dns"}})
	pol, err := st.GetScanPolicy(ctx, auth.SystemPrincipal, a.OrgID)
	must(t, err)
	jobs2, err := sched.Jobs(a, pol, "test", "test", time.Now())
	must(t, err)
	reg := check.NewRegistry()
	must(t, reg.Register(dns.Checks()...))
	lnet := netip.MustParsePrefix("127.77.0.0/16")
	w := &worker.PortscanWorker{Checks: reg, Resolver: target.NewResolver(l.DNSAddr()), Internal: true,
		CheckEnv: &check.Env{Dial: l.Dial, DNSServer: l.DNSAddr(), Timeout: 2 * time.Second, Now: time.Now,
			Extra: map[string]any{"dns": dns.Options{AllowAddr: func(ad netip.Addr) bool { return lnet.Contains(ad) }}}}}
	var res scanjob.PortscanResult
	for _, sj := range jobs2 {
		out, err := w.Handle(ctx, scanjob.Job{ID: sj.ID, Type: sj.Type, Region: sj.Region, OrgID: sj.OrgID, AssetID: sj.AssetID, Target: sj.Target, Params: sj.Params})
		must(t, err)
		must(t, json.Unmarshal(out, &res))
	}
	found := false
	for _, f := range res.Findings {
		if f.Check == "dns.dangling-cname" && f.Target == "sukien2023.hcm-demo.gov.vn" {
			found = true
		}
	}
	if !found {
		t.Fatalf("the scan of the confirmed name found %+v", res.Findings)
	}
}

func as(role auth.Role, orgID int64) auth.Principal {
	return auth.Principal{Name: string(role) + "-test", Role: role, OrgID: orgID}
}
