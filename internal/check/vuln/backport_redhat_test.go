package vuln

import (
	"context"
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

// withRedHatData adds NVD's record of CVE-2021-40438 (Apache httpd up to
// 2.4.48) and the Red Hat OVAL excerpts kept with the vulnerability
// database's tests, and a record of CVE-2023-50387 for BIND written here
// in NVD's shape (the configuration only: BIND 9.0.0 up to 9.16.48).
func withRedHatData(t *testing.T) *vulndb.DB {
	t.Helper()
	db := testDB(t)
	vdb := filepath.Join("..", "..", "vulndb", "testdata")
	r, err := os.Open(filepath.Join(vdb, "nvd", "CVE-2021-40438.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := vulndb.ReadNVD(r, "CVE-2021-40438.json", db.AddCVE, nil); err != nil {
		t.Fatal(err)
	}
	bind := `{"id": "CVE-2023-50387", "published": "2024-02-14T16:15:45.300", "lastModified": "2024-02-14T16:15:45.300",
	  "descriptions": [{"lang": "en", "value": "DNSSEC validation can exhaust the resolver's CPU (test record)."}],
	  "configurations": [{"nodes": [{"operator": "OR", "negate": false, "cpeMatch": [{"vulnerable": true,
	    "criteria": "cpe:2.3:a:isc:bind:*:*:*:*:*:*:*:*", "versionStartIncluding": "9.0.0", "versionEndExcluding": "9.16.48"}]}]}]}`
	if err := vulndb.ReadNVD(strings.NewReader(bind), "bind.json", db.AddCVE, nil); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"rhel-8-excerpt.oval.xml", "rhel-9-excerpt.oval.xml"} {
		f, err := os.Open(filepath.Join(vdb, "redhat", name))
		if err != nil {
			t.Fatal(err)
		}
		err = vulndb.ReadRedHatOVAL(f, name, func(fx vulndb.DistroFix) error { db.AddDistroFix(fx); return nil }, func(*vulndb.RecordError) {})
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// TestRedHatBannerWithoutRelease: "Apache/2.4.37 (Red Hat Enterprise
// Linux)" shows no package release, but Red Hat fixed CVE-2021-40438 in
// httpd 2.4.37 itself (a backport). The CVE is not claimed: it is listed
// in the informational result with the advisory, the first fixed release
// and how to verify it. Upstream Apache 2.4.37 is still reported.
func TestRedHatBannerWithoutRelease(t *testing.T) {
	db := withRedHatData(t)
	env := &check.Env{Extra: map[string]any{ExtraKey: db}}
	web := func(server string) check.Target {
		return check.Target{Kind: check.TargetService, Addr: netip.MustParseAddrPort("192.0.2.80:443"), Service: "https", TLS: true,
			Product: "Apache httpd", Version: "2.4.37", CPE: "cpe:2.3:a:apache:http_server:2.4.37:*:*:*:*:*:*:*",
			Banner: "HTTP/1.1 403 Forbidden\r\nDate: Mon, 07 Dec 2026 09:00:00 GMT\r\nServer: " + server + "\r\n"}
	}
	rhel := web("Apache/2.4.37 (Red Hat Enterprise Linux) OpenSSL/1.1.1k")
	res := run(t, db, rhel)
	if slices.Contains(subjects(res), "CVE-2021-40438") {
		t.Fatalf("CVE-2021-40438 claimed on RHEL's httpd 2.4.37: %v", subjects(res))
	}
	// CVEs Red Hat's data does not cover are still reported, with why.
	var other *check.Result
	for i := range res {
		if res[i].Subject == "CVE-2023-25690" {
			other = &res[i]
		}
	}
	if other == nil || !strings.Contains(other.Evidence.Fields["distribution"], "no Red Hat fix for CVE-2023-25690 in httpd 2.4.37 is known") {
		t.Fatalf("CVE-2023-25690 on RHEL: %+v", other)
	}
	info, err := BackportFixed{}.Run(context.Background(), env, rhel)
	if err != nil || len(info) != 1 {
		t.Fatalf("backport-fixed: %+v, %v", info, err)
	}
	r := info[0]
	f := r.Evidence.Fields
	if r.Severity != finding.Info || len(r.CVE) != 0 || f["cves"] != "CVE-2021-40438" || f["fixed"] != "" ||
		f["verify"] != "CVE-2021-40438: fixed by RHSA-2099:8001 in Red Hat Enterprise Linux el8 httpd 0:2.4.37-41.module+el8.5.0+13093+f2a4aa4b and later; "+
			"the banner does not show the package release, verify with `rpm -q httpd`" ||
		f["verify_command"] != "rpm -q httpd" || f["package"] != "Red Hat Enterprise Linux httpd 2.4.37" ||
		!strings.Contains(r.Title, "1 known CVE fixed in a package release the banner does not show") {
		t.Fatalf("backport-fixed result: %+v", r)
	}
	// Rocky Linux rebuilds RHEL's packages: the same.
	if slices.Contains(subjects(run(t, db, web("Apache/2.4.37 (Rocky Linux)"))), "CVE-2021-40438") {
		t.Fatal("claimed on Rocky Linux")
	}
	// Upstream Apache, CentOS Stream (not Red Hat's data) and CentOS 7's
	// 2.4.6 (no Red Hat fix for that upstream version here): reported.
	for _, server := range []string{"Apache/2.4.37 (Unix)", "Apache/2.4.37 (CentOS Stream)"} {
		if !slices.Contains(subjects(run(t, db, web(server))), "CVE-2021-40438") {
			t.Errorf("%s: CVE-2021-40438 not reported", server)
		}
		if info, _ := (BackportFixed{}).Run(context.Background(), env, web(server)); len(info) != 0 {
			t.Errorf("%s: %+v", server, info)
		}
	}
	c7 := web("Apache/2.4.6 (CentOS) OpenSSL/1.0.2k-fips")
	c7.Version, c7.CPE = "2.4.6", "cpe:2.3:a:apache:http_server:2.4.6:*:*:*:*:*:*:*"
	if !slices.Contains(subjects(run(t, db, c7)), "CVE-2021-40438") {
		t.Error("CentOS 7 2.4.6: CVE-2021-40438 not reported")
	}
}

// TestRedHatBindRelease: RHEL 8's version.bind carries the package
// version-release; RPM ordering against Red Hat's fix decides.
func TestRedHatBindRelease(t *testing.T) {
	db := withRedHatData(t)
	env := &check.Env{Extra: map[string]any{ExtraKey: db}}
	dns := func(v string) check.Target {
		return check.Target{Kind: check.TargetService, Addr: netip.MustParseAddrPort("192.0.2.53:53"), Service: "dns",
			Product: "ISC BIND", Version: v, CPE: "cpe:2.3:a:isc:bind:9.11.36:*:*:*:*:*:*:*"}
	}
	fixed := dns("9.11.36 RedHat-9.11.36-11.el8_9.1")
	if slices.Contains(subjects(run(t, db, fixed)), "CVE-2023-50387") {
		t.Fatal("CVE-2023-50387 reported on the fixed package")
	}
	info, err := BackportFixed{}.Run(context.Background(), env, fixed)
	if err != nil || len(info) != 1 ||
		info[0].Evidence.Fields["fixed"] != "CVE-2023-50387: fixed in Red Hat Enterprise Linux el8 32:9.11.36-11.el8_9.1 (RHSA-2099:8002)" ||
		info[0].Evidence.Fields["verify"] != "" ||
		info[0].Title != "ISC BIND 9.11.36 (Red Hat Enterprise Linux el8 bind 32:9.11.36-11.el8_9.1): 1 known CVE fixed by the distribution" {
		t.Fatalf("backport-fixed: %+v %v", info, err)
	}
	older := run(t, db, dns("9.11.36 RedHat-9.11.36-8.el8_8.2"))
	var hit *check.Result
	for i := range older {
		if older[i].Subject == "CVE-2023-50387" {
			hit = &older[i]
		}
	}
	if hit == nil || hit.Evidence.Fields["distribution"] != "Red Hat Enterprise Linux el8 fixed it in 32:9.11.36-11.el8_9.1; 32:9.11.36-8.el8_8.2 is older" {
		t.Fatalf("older package: %+v", hit)
	}
	if info, _ := (BackportFixed{}).Run(context.Background(), env, dns("9.11.36 RedHat-9.11.36-8.el8_8.2")); len(info) != 0 {
		t.Fatalf("nothing fixed, yet: %+v", info)
	}
}
