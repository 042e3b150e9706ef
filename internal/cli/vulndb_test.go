package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

// vulndbSamples is where the vulnerability database's own tests keep their
// real records: 14 NVD records and the KEV catalog trimmed to 10 entries.
var vulndbSamples = filepath.Join("..", "vulndb", "testdata")

func TestVulnDBImportCommand(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	nvd, err := filepath.Glob(filepath.Join(vulndbSamples, "nvd", "CVE-*.json"))
	if err != nil || len(nvd) != 14 {
		t.Fatalf("NVD samples: %d files, %v", len(nvd), err)
	}
	args := append([]string{"vulndb", "import", "--data", data, filepath.Join(vulndbSamples, "kev_sample.json")}, nvd...)
	r := must(t, runCLI(t, nil, "", args...))
	if !strings.Contains(r.stdout, "kev_sample.json (kev): 10 records, 10 added") || !strings.Contains(r.stdout, "CVE-2021-41773.json (nvd): 1 records, 1 added") ||
		!strings.Contains(r.stdout, "vulnerability database in") {
		t.Fatalf("import: %s", r.stdout)
	}
	r = must(t, runCLI(t, nil, "", args...))
	if !strings.Contains(r.stdout, ": 0 added, 0 updated") {
		t.Fatalf("re-import is not idempotent: %s", r.stdout)
	}
	bad := write(t, t.TempDir(), "bad.json", `{"not": "nvd"}`)
	if r := runCLI(t, nil, "", "vulndb", "import", "--data", data, bad); r.code == 0 {
		t.Fatalf("garbage imported: %+v", r)
	}
}

// TestVulnDBImportRetroHunt: the stored inventory is matched again on
// import. Organization A's web server (Apache httpd 2.4.49) and
// organization B's SSH server (Debian OpenSSH 9.2p1, revision
// 2+deb12u3) were observed by earlier scans. Importing NVD's records
// (as published before CISA listed CVE-2021-41773) opens findings at
// once; importing the KEV catalog then flags A's finding as known
// exploited, with the KEV due date, for A only; importing the Debian
// tracker's record fixes B's CVE-2024-6387, which Debian backported.
func TestVulnDBImportRetroHunt(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	must0(t, os.MkdirAll(data, 0o750))
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(data, "rampart.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	sys := auth.SystemPrincipal
	root := org.Organization{Code: "VN", Name: "VN", NameEN: "VN", Kind: org.KindNational}
	must0(t, st.CreateOrg(ctx, sys, &root))
	orgA := org.Organization{ParentID: root.ID, Code: "A", Name: "A", NameEN: "A", Kind: org.KindMinistry}
	must0(t, st.CreateOrg(ctx, sys, &orgA))
	orgB := org.Organization{ParentID: root.ID, Code: "B", Name: "B", NameEN: "B", Kind: org.KindProvince}
	must0(t, st.CreateOrg(ctx, sys, &orgB))
	hostA := asset.Asset{OrgID: orgA.ID, Kind: asset.KindIPv4, Value: "192.0.2.10"}
	must0(t, st.CreateAsset(ctx, sys, &hostA))
	hostB := asset.Asset{OrgID: orgB.ID, Kind: asset.KindIPv4, Value: "198.51.100.7", Criticality: asset.CriticalityNational}
	must0(t, st.CreateAsset(ctx, sys, &hostB))
	seenAt := time.Now().Add(-48 * time.Hour).UTC()
	must0(t, st.RecordScan(ctx, store.ScanReport{JobID: "scan-a", AssetID: hostA.ID, At: seenAt, Hosts: []string{"192.0.2.10"}, Ports: []int{80},
		Open: []store.Observation{{IP: "192.0.2.10", Port: 80, Service: "http", Product: "Apache httpd", Version: "2.4.49",
			CPE: "cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*", Banner: `HTTP/1.1 200 OK\r\nServer: Apache/2.4.49 (Unix)\r\n`}}}))
	must0(t, st.RecordScan(ctx, store.ScanReport{JobID: "scan-b", AssetID: hostB.ID, At: seenAt, Hosts: []string{"198.51.100.7"}, Ports: []int{22},
		Open: []store.Observation{{IP: "198.51.100.7", Port: 22, Service: "ssh", Product: "OpenSSH", Version: "9.2p1",
			CPE: "cpe:2.3:a:openbsd:openssh:9.2p1:*:*:*:*:*:*:*", Banner: `SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n`}}}))
	st.Close()

	// NVD's record of CVE-2021-41773 as it was before CISA listed it: the
	// real record without the cisa* fields NVD copies from the catalog.
	raw, err := os.ReadFile(filepath.Join(vulndbSamples, "nvd", "CVE-2021-41773.json"))
	must0(t, err)
	var rec map[string]any
	must0(t, json.Unmarshal(raw, &rec))
	for k := range rec {
		if strings.HasPrefix(k, "cisa") {
			delete(rec, k)
		}
	}
	raw, _ = json.Marshal(rec)
	early := write(t, dir, "CVE-2021-41773-before-kev.json", string(raw))

	r := must(t, runCLI(t, nil, "", "vulndb", "import", "--data", data, early, filepath.Join(vulndbSamples, "nvd", "CVE-2024-6387.json")))
	if !strings.Contains(r.stdout, "retro-hunt: 2 open services on 2 assets matched again, 2 new findings") {
		t.Fatalf("first import: %s%s", r.stdout, r.stderr)
	}
	st, err = sqlstore.Open(ctx, "sqlite", filepath.Join(data, "rampart.db"), nil)
	must0(t, err)
	defer st.Close()
	find := func(orgID int64, check, subject string) (finding.Finding, bool) {
		t.Helper()
		page, err := st.ListFindings(ctx, sys, store.FindingFilter{PageRequest: store.PageRequest{Limit: 100}})
		must0(t, err)
		for _, f := range page.Items {
			if f.OrgID == orgID && f.Check == check && f.Subject == subject {
				return f, true
			}
		}
		return finding.Finding{}, false
	}
	a, ok := find(orgA.ID, "vuln.known-cve", "CVE-2021-41773")
	if !ok || a.KEV || a.State != finding.StateOpen || a.Target != "192.0.2.10:80" || a.AssetID != hostA.ID || a.DueAt == nil ||
		a.DueAt.Sub(a.FirstSeen) != 30*24*time.Hour || !strings.Contains(string(a.Evidence), "retro-hunt vulndb-1") {
		t.Fatalf("A before KEV: %+v (%s)", a, a.Evidence)
	}
	b, ok := find(orgB.ID, "vuln.known-cve", "CVE-2024-6387")
	if !ok || b.State != finding.StateOpen || b.DueAt == nil || b.DueAt.Sub(b.FirstSeen) != 7*24*time.Hour { // high, on a national asset
		t.Fatalf("B: %+v", b)
	}
	if _, leak := find(orgB.ID, "vuln.known-cve", "CVE-2021-41773"); leak {
		t.Fatal("A's CVE reported for B")
	}

	// The KEV catalog: A's finding is known exploited now, due in 14 days
	// from when it was first seen, and nothing else changes.
	r = must(t, runCLI(t, nil, "", "vulndb", "import", "--data", data, filepath.Join(vulndbSamples, "kev_sample.json")))
	if !strings.Contains(r.stdout, "retro-hunt: 2 open services on 2 assets matched again, 0 new findings, 0 reopened, 0 fixed") {
		t.Fatalf("KEV import: %s%s", r.stdout, r.stderr)
	}
	a, _ = find(orgA.ID, "vuln.known-cve", "CVE-2021-41773")
	if !a.KEV || a.DueAt == nil || a.DueAt.Sub(a.FirstSeen) != 14*24*time.Hour || a.Severity != finding.High ||
		!strings.Contains(a.Title, "(known exploited)") || !strings.Contains(string(a.Evidence), `"kev_due_date"`) {
		t.Fatalf("A after KEV: %+v %s", a, a.Evidence)
	}
	if b2, _ := find(orgB.ID, "vuln.known-cve", "CVE-2024-6387"); b2.KEV {
		t.Fatalf("B flagged: %+v", b2)
	}

	// Debian's data: B's package is fixed (DSA-5724-1). The finding is
	// fixed and the informational backport result names the advisory.
	distro := filepath.Join(vulndbSamples, "distro")
	r = must(t, runCLI(t, nil, "", "vulndb", "import", "--data", data, filepath.Join(distro, "debian-tracker-openssh.json"), filepath.Join(distro, "DSA-list-excerpt")))
	if !strings.Contains(r.stdout, "1 new findings, 0 reopened, 1 fixed") {
		t.Fatalf("Debian import: %s%s", r.stdout, r.stderr)
	}
	if b, _ = find(orgB.ID, "vuln.known-cve", "CVE-2024-6387"); b.State != finding.StateFixed {
		t.Fatalf("B's backported CVE still %s", b.State)
	}
	info, ok := find(orgB.ID, "vuln.backport-fixed", "")
	if !ok || info.Severity != finding.Info || info.DueAt != nil || !strings.Contains(string(info.Evidence), "DSA-5724-1") {
		t.Fatalf("backport-fixed: %+v %s", info, info.Evidence)
	}

	// Nothing new: no retro-hunt; --no-rehunt skips it.
	r = must(t, runCLI(t, nil, "", "vulndb", "import", "--data", data, filepath.Join(vulndbSamples, "kev_sample.json")))
	if strings.Contains(r.stdout, "retro-hunt") {
		t.Fatalf("unchanged import hunted: %s", r.stdout)
	}
	r = must(t, runCLI(t, nil, "", "vulndb", "import", "--no-rehunt", "--data", data, filepath.Join(vulndbSamples, "epss_sample.csv")))
	if strings.Contains(r.stdout, "retro-hunt") {
		t.Fatalf("--no-rehunt hunted: %s", r.stdout)
	}
}

// TestVulnDBImportRedHat: a RHEL web server ("Apache/2.4.37 (Red Hat
// Enterprise Linux)", no package release in the banner) was observed;
// NVD's record of CVE-2021-40438 opens a finding. Red Hat's OVAL data
// shows the CVE fixed in RHEL 8's httpd 2.4.37 itself: once imported, the
// retro-hunt fixes the finding and the informational vuln.backport-fixed
// names the advisory and how to verify the installed release.
func TestVulnDBImportRedHat(t *testing.T) {
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "data")
	sys := auth.SystemPrincipal
	seedScannedHost(t, data, org.Organization{Code: "VN", Name: "VN", NameEN: "VN", Kind: org.KindNational}, store.ScanReport{JobID: "scan-rh",
		Hosts: []string{"203.0.113.8"}, Ports: []int{443},
		Open: []store.Observation{{IP: "203.0.113.8", Port: 443, Service: "https", TLS: true, Product: "Apache httpd", Version: "2.4.37",
			CPE:    "cpe:2.3:a:apache:http_server:2.4.37:*:*:*:*:*:*:*",
			Banner: "HTTP/1.1 403 Forbidden\r\nServer: Apache/2.4.37 (Red Hat Enterprise Linux) OpenSSL/1.1.1k\r\n"}}})

	r := must(t, runCLI(t, nil, "", "vulndb", "import", "--data", data, filepath.Join(vulndbSamples, "nvd", "CVE-2021-40438.json")))
	if !strings.Contains(r.stdout, "1 new findings") {
		t.Fatalf("NVD import: %s%s", r.stdout, r.stderr)
	}
	r = must(t, runCLI(t, nil, "", "vulndb", "import", "--data", data, filepath.Join(vulndbSamples, "redhat", "rhel-8-excerpt.oval.xml"),
		filepath.Join(vulndbSamples, "redhat", "rhel-9-excerpt.oval.xml.bz2")))
	if !strings.Contains(r.stdout, "rhel-8-excerpt.oval.xml (redhat-oval): 5 records, 5 added") ||
		!strings.Contains(r.stdout, "rhel-9-excerpt.oval.xml.bz2 (redhat-oval): 1 records, 1 added, 0 updated, 0 unchanged, 1 rejected") ||
		!strings.Contains(r.stdout, "1 new findings, 0 reopened, 1 fixed") || !strings.Contains(r.stderr, "RHSA-2099:9003") {
		t.Fatalf("Red Hat import: %s%s", r.stdout, r.stderr)
	}
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(data, "rampart.db"), nil)
	must0(t, err)
	defer st.Close()
	page, err := st.ListFindings(ctx, sys, store.FindingFilter{PageRequest: store.PageRequest{Limit: 100}})
	must0(t, err)
	var cve, info *finding.Finding
	for i, f := range page.Items {
		switch {
		case f.Check == "vuln.known-cve" && f.Subject == "CVE-2021-40438":
			cve = &page.Items[i]
		case f.Check == "vuln.backport-fixed":
			info = &page.Items[i]
		}
	}
	if cve == nil || cve.State != finding.StateFixed {
		t.Fatalf("CVE-2021-40438 on RHEL's httpd: %+v", cve)
	}
	if info == nil || info.Severity != finding.Info || info.DueAt != nil || info.State != finding.StateOpen ||
		!strings.Contains(string(info.Evidence), "RHSA-2099:8001") || !strings.Contains(string(info.Evidence), `"verify_command":"rpm -q httpd"`) {
		t.Fatalf("backport-fixed: %+v", info)
	}
	if !strings.Contains(vulndbUsage, "Red Hat's OVAL") {
		t.Fatal("usage does not name Red Hat's OVAL")
	}
}

// seedScannedHost makes the platform's database in data (created) with
// one organization, its IPv4 asset (the report's first host) and the
// report of a scan of it an hour ago; it returns the asset.
func seedScannedHost(t *testing.T, data string, o org.Organization, rep store.ScanReport) asset.Asset {
	t.Helper()
	ctx := context.Background()
	must0(t, os.MkdirAll(data, 0o750))
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(data, "rampart.db"), nil)
	must0(t, err)
	defer st.Close()
	must0(t, st.Migrate(ctx))
	sys := auth.SystemPrincipal
	must0(t, st.CreateOrg(ctx, sys, &o))
	host := asset.Asset{OrgID: o.ID, Kind: asset.KindIPv4, Value: rep.Hosts[0]}
	must0(t, st.CreateAsset(ctx, sys, &host))
	rep.AssetID, rep.At = host.ID, time.Now().Add(-time.Hour).UTC()
	must0(t, st.RecordScan(ctx, rep))
	return host
}

func must0(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
