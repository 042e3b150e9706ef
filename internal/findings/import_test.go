package findings_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/findings"
	"github.com/rampart-cert/rampart/internal/imports"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/scope"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

type world struct {
	st         *sqlstore.Store
	svc        *findings.Service
	orgA, orgB org.Organization
	now        time.Time
}

// newWorld: organization A owns 127.60.0.0/28, B owns www.b.example.vn
// and 127.60.1.5; nobody owns 127.99.0.1.
func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "r.db"), log)
	must(t, err)
	t.Cleanup(func() { st.Close() })
	must(t, st.Migrate(ctx))
	sys := auth.SystemPrincipal
	w := &world{st: st, now: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
	w.orgA = org.Organization{Code: "A", Name: "Bộ A", Kind: org.KindMinistry}
	must(t, st.CreateOrg(ctx, sys, &w.orgA))
	w.orgB = org.Organization{Code: "B", Name: "Tỉnh B", Kind: org.KindProvince}
	must(t, st.CreateOrg(ctx, sys, &w.orgB))
	for _, a := range []asset.Asset{
		{OrgID: w.orgA.ID, Kind: asset.KindCIDR, Value: "127.60.0.0/28"},
		{OrgID: w.orgB.ID, Kind: asset.KindHostname, Value: "www.b.example.vn"},
		{OrgID: w.orgB.ID, Kind: asset.KindIPv4, Value: "127.60.1.5"},
	} {
		must(t, st.CreateAsset(ctx, sys, &a))
	}
	guard := scope.New(st, time.Hour, log)
	must(t, guard.Refresh(ctx))
	w.svc = findings.New(findings.Deps{Store: st, Scope: guard, Logger: log, Now: func() time.Time { return w.now }})
	return w
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (w *world) importFile(t *testing.T, p auth.Principal, tool imports.Tool, name string) (findings.ImportReport, error) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	must(t, err)
	defer f.Close()
	return w.svc.Import(context.Background(), p, findings.ImportRequest{Tool: tool, Input: f})
}

func (w *world) all(t *testing.T) []finding.Finding {
	t.Helper()
	page, err := w.st.ListFindings(context.Background(), auth.SystemPrincipal, store.FindingFilter{PageRequest: store.PageRequest{Limit: store.MaxLimit}})
	must(t, err)
	return page.Items
}

func byCheck(fs []finding.Finding) map[string]finding.Finding {
	m := map[string]finding.Finding{}
	for _, f := range fs {
		m[f.Check+" "+f.Target] = f
	}
	return m
}

func TestImportNucleiLifecycle(t *testing.T) {
	w := newWorld(t)
	sys := auth.SystemPrincipal

	rep, err := w.importFile(t, sys, imports.Nuclei, "first.jsonl")
	must(t, err)
	if rep.New != 3 || rep.Hosts != 2 {
		t.Fatalf("first import: %+v", rep)
	}
	got := byCheck(w.all(t))
	cve, ok := got["import.nuclei.cve-2021-41773 127.60.0.3"]
	if !ok || cve.OrgID != w.orgA.ID || cve.Severity != finding.Critical || cve.Source != finding.SourceImport || cve.SourceRef != "nuclei" ||
		cve.State != finding.StateOpen || len(cve.CVE) != 1 || cve.CVE[0] != "CVE-2021-41773" || cve.DueAt == nil {
		t.Fatalf("CVE finding: %+v (all %v)", cve, got)
	}
	git := got["import.nuclei.git-config www.b.example.vn"]
	if git.OrgID != w.orgB.ID {
		t.Fatalf("the .git finding belongs to B (owner of the name): %+v", git)
	}

	// The same file again changes nothing, even later.
	w.now = w.now.Add(time.Hour)
	before := w.all(t)
	rep, err = w.importFile(t, sys, imports.Nuclei, "first.jsonl")
	must(t, err)
	if rep.New+rep.Reopened+rep.Fixed != 0 {
		t.Fatalf("re-import changed findings: %+v", rep)
	}
	after := w.all(t)
	for i := range before {
		if !before[i].LastSeen.Equal(after[i].LastSeen) || !before[i].UpdatedAt.Equal(after[i].UpdatedAt) || before[i].State != after[i].State {
			t.Fatalf("re-import touched %+v → %+v", before[i], after[i])
		}
	}

	// A line on an address nobody registered refuses the whole file with
	// its line number, and stores nothing.
	_, err = w.importFile(t, sys, imports.Nuclei, "outofscope.jsonl")
	var refused *findings.ImportRefused
	if !errors.As(err, &refused) || len(refused.Lines) != 1 || refused.Lines[0].Line != 3 || !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("out of scope: %v", err)
	}
	if n := len(w.all(t)); n != 3 {
		t.Fatalf("a refused import stored something: %d findings", n)
	}

	// A member of B does not see A's network: the CVE line is refused for
	// them as out of their scope.
	member := auth.Principal{Name: "b-member", Role: auth.RoleOrgMember, OrgID: w.orgB.ID, OrgPath: w.orgB.Path}
	if _, err := w.importFile(t, member, imports.Nuclei, "first.jsonl"); !errors.As(err, &refused) || refused.Lines[0].Line != 1 {
		t.Fatalf("member importing another organization's host: %v", err)
	}

	// A later import of the same tool over 127.60.0.3 without the CVE
	// fixes it; B's findings, on hosts that import did not cover, stay.
	w.now = w.now.Add(time.Hour)
	rep, err = w.importFile(t, sys, imports.Nuclei, "second.jsonl")
	must(t, err)
	if rep.Fixed != 1 || rep.New != 1 {
		t.Fatalf("second import: %+v", rep)
	}
	got = byCheck(w.all(t))
	if got["import.nuclei.cve-2021-41773 127.60.0.3"].State != finding.StateFixed {
		t.Fatalf("the CVE is not reported any more: %+v", got["import.nuclei.cve-2021-41773 127.60.0.3"])
	}
	if got["import.nuclei.git-config www.b.example.vn"].State != finding.StateOpen {
		t.Fatal("a host the import did not cover kept its findings")
	}
}

// TestImportNeverClosesOtherSources: a scan finding on the same host and
// another tool's finding survive an import that covers the host.
func TestImportNeverClosesOtherSources(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a, err := w.st.ListAssets(ctx, auth.SystemPrincipal, store.AssetFilter{OrgID: w.orgA.ID})
	must(t, err)
	_, err = w.svc.Record(ctx, finding.Batch{JobID: "scan-1", At: w.now.Add(-time.Hour),
		Seen: []finding.Finding{{OrgID: w.orgA.ID, AssetID: a.Items[0].ID, Check: "tls.cert-expired", Severity: finding.High, Target: "127.60.0.3"}}})
	must(t, err)
	_, err = w.importFile(t, auth.SystemPrincipal, imports.SARIF, "dast.sarif")
	must(t, err)
	rep, err := w.importFile(t, auth.SystemPrincipal, imports.Nuclei, "second.jsonl")
	must(t, err)
	if rep.Fixed != 0 {
		t.Fatalf("a nuclei import fixed another source's findings: %+v", rep)
	}
	for _, f := range w.all(t) {
		if f.State != finding.StateOpen {
			t.Fatalf("%s (%s/%s) is %s", f.Check, f.Source, f.SourceRef, f.State)
		}
	}
}

func TestImportNmapAndSARIF(t *testing.T) {
	w := newWorld(t)
	rep, err := w.importFile(t, auth.SystemPrincipal, imports.Nmap, "scan.xml")
	must(t, err)
	if rep.Observations != 2 || rep.Results < 3 {
		t.Fatalf("nmap: %+v", rep)
	}
	got := byCheck(w.all(t))
	port, ok := got["import.nmap.open-port 127.60.0.4"]
	if !ok || port.Severity != finding.Info || port.OrgID != w.orgA.ID {
		t.Fatalf("open ports are info findings of the owner: %v", got)
	}
	if _, ok := got["import.nmap.redis-info 127.60.0.4"]; !ok {
		t.Fatalf("NSE output is a finding: %v", got)
	}
	obs, err := w.st.ListObservations(context.Background(), auth.SystemPrincipal, store.ObservationFilter{IP: "127.60.0.4"})
	must(t, err)
	if len(obs.Items) != 2 || obs.Items[0].State != "open" || obs.Items[0].OrgID != w.orgA.ID || obs.Items[0].JobID != rep.JobID {
		t.Fatalf("open ports are observations too: %+v", obs.Items)
	}
	rep, err = w.importFile(t, auth.SystemPrincipal, imports.SARIF, "dast.sarif")
	must(t, err)
	if rep.New != 2 {
		t.Fatalf("sarif: %+v", rep)
	}
	got = byCheck(w.all(t))
	xss := got["import.sarif.40012 127.60.0.3"]
	if xss.OrgID != w.orgA.ID || xss.Severity != finding.High {
		t.Fatalf("sarif XSS: %+v", xss)
	}
	if csp := got["import.sarif.10038 www.b.example.vn"]; csp.OrgID != w.orgB.ID || csp.Severity != finding.Medium {
		t.Fatalf("sarif CSP: %+v", csp)
	}
}

func TestImportMalformed(t *testing.T) {
	w := newWorld(t)
	_, err := w.svc.Import(context.Background(), auth.SystemPrincipal, findings.ImportRequest{Tool: imports.Nuclei,
		Input: stringsReader("{\"template-id\":\"x\",\"host\":\"127.60.0.3\",\"info\":{\"severity\":\"low\"}}\n{not json\n")})
	var refused *findings.ImportRefused
	if !errors.As(err, &refused) || refused.Lines[len(refused.Lines)-1].Line != 2 {
		t.Fatalf("malformed line 2: %v", err)
	}
	if _, err := w.svc.Import(context.Background(), auth.SystemPrincipal, findings.ImportRequest{Tool: "burp", Input: stringsReader("")}); !errors.Is(err, findings.ErrBadRequest) {
		t.Fatalf("unknown tool: %v", err)
	}
	viewer := auth.Principal{Name: "v", Role: auth.RoleViewer, OrgID: w.orgA.ID, OrgPath: w.orgA.Path}
	if _, err := w.importFile(t, viewer, imports.Nuclei, "first.jsonl"); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("viewer import: %v", err)
	}
	if n := len(w.all(t)); n != 0 {
		t.Fatalf("stored %d findings from bad imports", n)
	}
}

func TestExpiryTTL(t *testing.T) {
	svc := findings.New(findings.Deps{Expiry: map[finding.Source]int{finding.SourceMonitor: 1, finding.SourceIntel: 0}})
	for src, want := range map[finding.Source]time.Duration{
		finding.SourceMonitor: 24 * time.Hour, finding.SourceIntel: 0, finding.SourceSensor: 7 * 24 * time.Hour,
		finding.SourceScan: 0, finding.SourceImport: 0, finding.SourceManual: 0,
	} {
		if got := svc.TTL(src); got != want {
			t.Errorf("TTL(%s) = %v, want %v", src, got, want)
		}
	}
}

// fakeScheduler records the jobs the service queues.
type fakeScheduler struct{ queued []store.ScanJob }

func (f *fakeScheduler) Job(a asset.Asset, _ store.ScanPolicy, reason, by string, now time.Time) (store.ScanJob, error) {
	return store.ScanJob{ID: "job-" + reason + "-" + a.Value, OrgID: a.OrgID, AssetID: a.ID, Type: "portscan", Region: "default",
		Reason: reason, Target: a.Value, RequestedBy: by, State: store.JobQueued, CreatedAt: now}, nil
}

func (f *fakeScheduler) Queue(_ context.Context, j *store.ScanJob) error {
	f.queued = append(f.queued, *j)
	return nil
}

// TestImportAsksOurOwnRescan: an imported result that a platform check
// also looks for queues a verification scan of its asset, once; a result
// no check looks for queues nothing.
func TestImportAsksOurOwnRescan(t *testing.T) {
	w := newWorld(t)
	sched := &fakeScheduler{}
	guard := scope.New(w.st, time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))
	must(t, guard.Refresh(context.Background()))
	w.svc = findings.New(findings.Deps{Store: w.st, Scope: guard, Scheduler: sched, Now: func() time.Time { return w.now },
		PlatformCheck: func(rule string, cves []string) bool { return rule == "CVE-2021-41773" }})
	rep, err := w.importFile(t, auth.SystemPrincipal, imports.Nuclei, "first.jsonl")
	must(t, err)
	if len(sched.queued) != 1 || sched.queued[0].Reason != "verify" || sched.queued[0].Target != "127.60.0.0/28" || len(rep.VerifyScans) != 1 {
		t.Fatalf("verification scans: %+v (report %+v)", sched.queued, rep)
	}
	// The same file again is no news: no second scan.
	if _, err := w.importFile(t, auth.SystemPrincipal, imports.Nuclei, "first.jsonl"); err != nil || len(sched.queued) != 1 {
		t.Fatalf("re-import queued %d scans (%v)", len(sched.queued), err)
	}
}
