package vuln

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/vulndb"
)

var update = flag.Bool("update", false, "rewrite golden files")

// testDB holds real NVD records and the matching KEV entries copied from
// the shared samples, and a small EPSS file.
func testDB(t *testing.T) *vulndb.DB {
	t.Helper()
	db := vulndb.NewDB()
	files, _ := filepath.Glob(filepath.Join("testdata", "CVE-*.json"))
	if len(files) == 0 {
		t.Fatal("no testdata records")
	}
	for _, f := range files {
		r, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		err = vulndb.ReadNVD(r, f, db.AddCVE, nil)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	r, err := os.Open(filepath.Join("testdata", "kev_subset.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := vulndb.ReadKEV(r, "kev_subset.json", func(e vulndb.KEVEntry) error { db.AddKEV(e); return nil }, nil); err != nil {
		t.Fatal(err)
	}
	epss := "#model_version:v2025.03.14,score_date:2025-08-25T00:00:00+0000\ncve,epss,percentile\nCVE-2021-41773,0.94432,0.99979\n"
	if _, err := vulndb.ReadEPSS(strings.NewReader(epss), "epss.csv", func(s vulndb.EPSSScore) error { db.AddEPSS(s); return nil }, nil); err != nil {
		t.Fatal(err)
	}
	return db
}

func service(product, version, cpe string) check.Target {
	return check.Target{Kind: check.TargetService, Addr: netip.MustParseAddrPort("192.0.2.10:443"),
		Service: "https", Product: product, Version: version, CPE: cpe}
}

func run(t *testing.T, db *vulndb.DB, tg check.Target) []check.Result {
	t.Helper()
	c := KnownCVE{}
	if !c.Applies(tg) {
		t.Fatalf("check does not apply to %+v", tg)
	}
	res, err := c.Run(context.Background(), &check.Env{Extra: map[string]any{ExtraKey: db}}, tg)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func subjects(res []check.Result) []string {
	var out []string
	for _, r := range res {
		out = append(out, r.Subject)
	}
	return out
}

func TestRegisterMeta(t *testing.T) {
	r := check.NewRegistry()
	if err := Register(r); err != nil {
		t.Fatal(err)
	}
	c, ok := r.Get("vuln.known-cve")
	if !ok {
		t.Fatal("vuln.known-cve not registered")
	}
	m := c.Meta()
	if m.Family != "vuln" || m.Description.EN == "" || m.Description.VI == "" || !strings.Contains(m.Title.VI, "lỗ hổng") {
		t.Errorf("meta = %+v", m)
	}
}

func TestFiresOnVulnerableVersion(t *testing.T) {
	db := testDB(t)
	res := run(t, db, service("Apache httpd", "2.4.49", "cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*"))
	got := subjects(res)
	for _, id := range []string{"CVE-2021-41773", "CVE-2021-42013", "CVE-2023-25690"} {
		if !slices.Contains(got, id) {
			t.Errorf("results %v lack %s", got, id)
		}
	}
	var r *check.Result
	for i := range res {
		if res[i].Subject == "CVE-2021-41773" {
			r = &res[i]
		}
	}
	if r == nil {
		t.Fatal("no CVE-2021-41773")
	}
	if r.Title != "Apache httpd 2.4.49 is affected by CVE-2021-41773 (known exploited)" {
		t.Errorf("title = %q", r.Title)
	}
	// CVSS 7.5 is high; KEV-listed keeps it at least high.
	if r.Severity != finding.High || !r.KEV || !slices.Equal(r.CVE, []string{"CVE-2021-41773"}) || r.Check != "vuln.known-cve" {
		t.Errorf("result = %+v", r)
	}
	f := r.Evidence.Fields
	if f["product"] != "Apache httpd" || f["version"] != "2.4.49" || f["criteria"] != "cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*" ||
		f["kev_date_added"] != "2021-11-03" || f["epss"] != "0.94432" || f["cvss"] != "7.5" {
		t.Errorf("evidence = %v", f)
	}
	// CVE-2023-25690 is not KEV-listed: its CVSS 9.8 decides.
	for _, r := range res {
		if r.Subject == "CVE-2023-25690" && (r.KEV || r.Severity != finding.Critical || r.Evidence.Fields["range"] != "2.4.0 <= v <= 2.4.55") {
			t.Errorf("CVE-2023-25690 = %+v", r)
		}
	}
	golden(t, "apache-2.4.49.golden.json", res)
}

func TestFingerprintsWithoutCPE(t *testing.T) {
	db := testDB(t)
	tests := []struct {
		product, version string
		want             string
	}{
		{"OpenSSH", "7.4p1 Debian 10+deb9u7", "CVE-2018-15473"},
		{"OpenSSH", "8.5p1", "CVE-2024-6387"},
		{"vsftpd", "2.3.4", "CVE-2011-2523"},
		{"OpenSSL", "1.0.1f", "CVE-2014-0160"},
		{"Apache httpd", "v2.4.50", "CVE-2021-42013"},
	}
	for _, tt := range tests {
		got := subjects(run(t, db, service(tt.product, tt.version, "")))
		if !slices.Contains(got, tt.want) {
			t.Errorf("%s %s: results %v lack %s", tt.product, tt.version, got, tt.want)
		}
	}
	// A CPE without a version takes the fingerprint's version.
	got := subjects(run(t, db, service("", "1.0.1f", "cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*")))
	if !slices.Equal(got, []string{"CVE-2014-0160"}) {
		t.Errorf("versionless CPE: %v", got)
	}
	// Heartbleed: CVSS 7.5 and KEV-listed.
	res := run(t, db, service("OpenSSL", "1.0.1f", ""))
	if len(res) != 1 || res[0].Severity != finding.High || !res[0].KEV || res[0].Title != "OpenSSL 1.0.1f is affected by CVE-2014-0160 (known exploited)" {
		t.Errorf("heartbleed = %+v", res)
	}
}

func TestSilentOnPatchedAndUnknown(t *testing.T) {
	db := testDB(t)
	for _, tg := range []check.Target{
		service("Apache httpd", "2.4.62", "cpe:2.3:a:apache:http_server:2.4.62:*:*:*:*:*:*:*"),
		service("OpenSSH", "9.8p1", ""),
		service("OpenSSL", "1.0.1g", "cpe:2.3:a:openssl:openssl:1.0.1g:*:*:*:*:*:*:*"),
		service("vsftpd", "3.0.5", ""),
		service("Acme Web Server", "1.0", ""),
		service("", "", "cpe:2.3:a:acme:web:1.0:*:*:*:*:*:*:*"),
		service("", "", "not a cpe"),
		service("Apache httpd", "", "cpe:2.3:a:apache:http_server:*:*:*:*:*:*:*:*"),
	} {
		if res := run(t, db, tg); len(res) != 0 {
			t.Errorf("%s %s %s: %v", tg.Product, tg.Version, tg.CPE, subjects(res))
		}
	}
}

func TestApplies(t *testing.T) {
	c := KnownCVE{}
	for _, tt := range []struct {
		t    check.Target
		want bool
	}{
		{service("nginx", "1.20.0", ""), true},
		{service("", "", "cpe:2.3:a:f5:nginx:1.20.0"), true},
		{service("nginx", "", ""), false},
		{service("", "1.20.0", ""), false},
		{check.Target{Kind: check.TargetURL, URL: "https://example.org/", Product: "nginx", Version: "1.20.0"}, false},
	} {
		if got := c.Applies(tt.t); got != tt.want {
			t.Errorf("Applies(%+v) = %v", tt.t, got)
		}
	}
}

func TestNoDB(t *testing.T) {
	_, err := KnownCVE{}.Run(context.Background(), &check.Env{}, service("nginx", "1.20.0", ""))
	if !errors.Is(err, ErrNoDB) {
		t.Errorf("err = %v", err)
	}
	// An empty database is silent.
	res, err := KnownCVE{}.Run(context.Background(), &check.Env{Extra: map[string]any{ExtraKey: vulndb.NewDB()}}, service("nginx", "1.20.0", ""))
	if err != nil || len(res) != 0 {
		t.Errorf("empty db: %v, %v", res, err)
	}
}

func TestSeverity(t *testing.T) {
	kev := &vulndb.KEVEntry{CVEID: "CVE-2099-0001"}
	for _, tt := range []struct {
		score float64
		kev   bool
		none  bool
		want  finding.Severity
	}{
		{9.8, false, false, finding.Critical},
		{9.0, false, false, finding.Critical},
		{7.0, false, false, finding.High},
		{6.9, false, false, finding.Medium},
		{4.0, false, false, finding.Medium},
		{3.9, false, false, finding.Low},
		{3.9, true, false, finding.High},
		{9.8, true, false, finding.Critical},
		{0, false, true, finding.Medium},
		{0, true, true, finding.High},
	} {
		h := vulndb.Hit{CVE: &vulndb.CVE{ID: "CVE-2099-0001"}}
		if !tt.none {
			h.CVE.CVSS = &vulndb.CVSS{Score: tt.score}
		}
		if tt.kev {
			h.KEV = kev
		}
		if got := Severity(h); got != tt.want {
			t.Errorf("score %v kev %v unscored %v: %s, want %s", tt.score, tt.kev, tt.none, got, tt.want)
		}
	}
}

func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n%s", name, got)
	}
}

func TestCleanVersion(t *testing.T) {
	for in, want := range map[string]string{
		"7.4p1 Debian-10+deb9u7": "7.4p1",
		"2.4.49 (Unix)":          "2.4.49",
		"v1.2.3":                 "1.2.3",
		"V10":                    "10",
		"version":                "version",
		"  1.20.0 ":              "1.20.0",
		"":                       "",
	} {
		if got := CleanVersion(in); got != want {
			t.Errorf("CleanVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

// withDistroData adds the Debian tracker's record of CVE-2024-6387 and the
// DSA list excerpt kept with the vulnerability database's tests.
func withDistroData(t *testing.T, db *vulndb.DB) *vulndb.DB {
	t.Helper()
	dir := filepath.Join("..", "..", "vulndb", "testdata", "distro")
	for _, f := range []struct {
		name string
		read func(r *os.File, name string) error
	}{
		{"debian-tracker-openssh.json", func(r *os.File, name string) error {
			return vulndb.ReadDebianTracker(r, name, func(f vulndb.DistroFix) error { db.AddDistroFix(f); return nil }, nil)
		}},
		{"DSA-list-excerpt", func(r *os.File, name string) error {
			return vulndb.ReadDebianList(r, name, func(f vulndb.DistroFix) error { db.AddDistroFix(f); return nil }, nil)
		}},
	} {
		r, err := os.Open(filepath.Join(dir, f.name))
		if err != nil {
			t.Fatal(err)
		}
		err = f.read(r, f.name)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// TestDebianBackportSuppressed: a real Debian 12 OpenSSH banner, with the
// Debian tracker's record for CVE-2024-6387 (fixed in bookworm in
// 1:9.2p1-2+deb12u3, DSA-5724-1). The upstream version 9.2p1 is in NVD's
// range; the package is not vulnerable and is not reported, and the
// informational result says which advisory fixed it.
func TestDebianBackportSuppressed(t *testing.T) {
	db := withDistroData(t, testDB(t))
	ssh := func(banner string) check.Target {
		return check.Target{Kind: check.TargetService, Addr: netip.MustParseAddrPort("192.0.2.22:22"), Service: "ssh",
			Product: "OpenSSH", Version: "9.2p1", CPE: "cpe:2.3:a:openbsd:openssh:9.2p1:*:*:*:*:*:*:*", Banner: banner}
	}
	env := &check.Env{Extra: map[string]any{ExtraKey: db}}
	fixedBanner := `SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n`
	res := run(t, db, ssh(fixedBanner))
	if slices.Contains(subjects(res), "CVE-2024-6387") {
		t.Fatalf("CVE-2024-6387 reported on the fixed Debian package: %v", subjects(res))
	}
	info, err := BackportFixed{}.Run(context.Background(), env, ssh(fixedBanner))
	if err != nil || len(info) != 1 {
		t.Fatalf("backport-fixed: %+v, %v", info, err)
	}
	r := info[0]
	if r.Check != "vuln.backport-fixed" || r.Severity != finding.Info || r.KEV || len(r.CVE) != 0 ||
		!strings.Contains(r.Evidence.Fields["fixed"], "CVE-2024-6387: fixed in Debian bookworm 1:9.2p1-2+deb12u3 (DSA-5724-1)") ||
		r.Evidence.Fields["package"] != "Debian bookworm openssh 1:9.2p1-2+deb12u3" ||
		r.Title != "OpenSSH 9.2p1 (Debian bookworm openssh 1:9.2p1-2+deb12u3): 1 known CVE fixed by the distribution" {
		t.Fatalf("backport-fixed result: %+v", r)
	}
	// The same version from the fingerprint's newer form.
	tagged := ssh("")
	tagged.Version = "9.2p1 Debian-2+deb12u3"
	if slices.Contains(subjects(run(t, db, tagged)), "CVE-2024-6387") {
		t.Fatal("reported with the revision in the version")
	}

	// One revision older: reported, and the evidence says why it stands.
	old := run(t, db, ssh(`SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u2\r\n`))
	var hit *check.Result
	for i := range old {
		if old[i].Subject == "CVE-2024-6387" {
			hit = &old[i]
		}
	}
	if hit == nil {
		t.Fatalf("CVE-2024-6387 not reported on 2+deb12u2: %v", subjects(old))
	}
	if hit.Evidence.Fields["distribution"] != "Debian bookworm fixed it in 1:9.2p1-2+deb12u3; 1:9.2p1-2+deb12u2 is older" ||
		hit.Evidence.Fields["package"] != "Debian bookworm openssh 1:9.2p1-2+deb12u2" {
		t.Fatalf("evidence: %+v", hit.Evidence.Fields)
	}
	if info, _ := (BackportFixed{}).Run(context.Background(), env, ssh(`SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u2\r\n`)); len(info) != 0 {
		t.Fatalf("nothing is fixed, yet: %+v", info)
	}
	// Without a revision in the banner (upstream OpenSSH): reported as before.
	if !slices.Contains(subjects(run(t, db, ssh(`SSH-2.0-OpenSSH_9.2p1\r\n`))), "CVE-2024-6387") {
		t.Fatal("upstream 9.2p1 not reported")
	}
}

// TestBindRevisionKeptOutOfRanges: version.bind's Debian revision is not
// part of the upstream version NVD's ranges compare ("9.18.49-1" would
// sort after 9.18.49).
func TestBindRevisionKeptOutOfRanges(t *testing.T) {
	for _, v := range []string{"9.18.49-1~deb12u3-Debian", "9.18.49 Debian-1~deb12u3"} {
		s := identify(check.Target{Kind: check.TargetService, Product: "ISC BIND", Version: v, CPE: "cpe:2.3:a:isc:bind:9.18.49-1:*:*:*:*:*:*:*"})
		if s.version != "9.18.49" || s.cpe == nil || s.cpe.Version != "9.18.49" || !s.hasPkg || s.pkg.Version != "1:9.18.49-1~deb12u3" {
			t.Errorf("%s: %+v %+v", v, s, s.cpe)
		}
	}
}
