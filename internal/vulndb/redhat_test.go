package vulndb

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func redhatFile(name string) string { return filepath.Join("testdata", "redhat", name) }

func readRedHat(t *testing.T, name string) ([]DistroFix, []*RecordError) {
	t.Helper()
	return readAll(t, redhatFile(name), func(f *os.File, name string, fn func(DistroFix) error, bad func(*RecordError)) error {
		return ReadRedHatOVAL(f, name, fn, bad)
	})
}

func TestReadRedHatOVAL(t *testing.T) {
	got, bad := readRedHat(t, "rhel-9-excerpt.oval.xml")
	want := []DistroFix{{Distro: "rhel", Release: "el9", Package: "openssh", CVE: "CVE-2024-6387", Fixed: "0:8.7p1-38.el9_4.1",
		Advisory: "RHSA-2024:4312", Source: "redhat-oval", Stream: "8.7p1"}}
	// The bug fix (no CVE), the inventory definition and the kernel are
	// skipped; nginx's fixed version does not parse.
	if !slices.Equal(got, want) || len(bad) != 1 || !strings.Contains(bad[0].Error(), "RHSA-2099:9003") || !strings.Contains(bad[0].Error(), "nginx") {
		t.Fatalf("rhel-9:\n got %+v\nwant %+v\nbad %v", got, want, bad)
	}
	// bzip2'd, as Red Hat publishes it: the same.
	bz, _ := readRedHat(t, "rhel-9-excerpt.oval.xml.bz2")
	if !slices.Equal(bz, want) {
		t.Fatalf("bzip2: %+v", bz)
	}

	got, bad = readRedHat(t, "rhel-8-excerpt.oval.xml")
	mod := func(cve, pkg, fixed, stream, adv string) DistroFix {
		return DistroFix{Distro: "rhel", Release: "el8", Package: pkg, CVE: cve, Fixed: fixed, Advisory: adv, Source: "redhat-oval", Stream: stream}
	}
	want = []DistroFix{
		mod("CVE-2021-40438", "httpd", "0:2.4.37-41.module+el8.5.0+13093+f2a4aa4b", "2.4.37", "RHSA-2099:8001"),
		mod("CVE-2023-50387", "bind", "32:9.11.36-11.el8_9.1", "9.11.36", "RHSA-2099:8002"),
		mod("CVE-2023-50868", "bind", "32:9.11.36-11.el8_9.1", "9.11.36", "RHSA-2099:8002"),
		mod("CVE-2099-0004", "php", "0:7.4.33-1.module+el8.8.0+17865+f2a4aa4b", "7.4.33", "RHSA-2099:8003"),
		mod("CVE-2099-0004", "php", "0:8.0.30-1.module+el8.9.0+19000+abcd1234", "8.0.30", "RHSA-2099:8004"),
	}
	slices.SortFunc(want, func(a, b DistroFix) int { return strings.Compare(a.Key(), b.Key()) })
	if !slices.Equal(got, want) || len(bad) != 0 {
		t.Fatalf("rhel-8:\n got %+v\nwant %+v\nbad %v", got, want, bad)
	}

	// Strict mode stops at the bad record.
	f, _ := os.Open(redhatFile("rhel-9-excerpt.oval.xml"))
	defer f.Close()
	if err := ReadRedHatOVAL(f, "rhel-9", func(DistroFix) error { return nil }, nil); !errors.Is(err, ErrBadRecord) {
		t.Fatalf("strict read: %v", err)
	}
}

func TestReadRedHatOVALMalformed(t *testing.T) {
	raw, err := os.ReadFile(redhatFile("rhel-8-excerpt.oval.xml"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	testsAt, statesAt := strings.Index(doc, "  <tests>"), strings.Index(doc, "  <states>")
	swapped := doc[:testsAt] + doc[statesAt:strings.Index(doc, "</oval_definitions>")] + doc[testsAt:statesAt] + "</oval_definitions>\n"
	for name, in := range map[string]string{
		"empty":           "",
		"not xml":         "RHSA-2024:4312 openssh",
		"other root":      `<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"></feed>`,
		"truncated":       doc[:len(doc)/2],
		"unclosed":        strings.Replace(doc, "</oval_definitions>", "", 1),
		"mismatched tags": strings.Replace(doc, "</metadata>", "</metadatum>", 1),
		"after the root":  doc + "<oval_definitions/>",
		"out of order":    swapped,
	} {
		err := ReadRedHatOVAL(strings.NewReader(in), name, func(DistroFix) error { return nil }, func(*RecordError) {})
		if !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v, want ErrFormat", name, err)
		}
	}
	// A version test that is not there: a bad record, the others kept.
	missing := strings.Replace(doc, `id="oval:com.redhat.rhsa:tst:20998002001"`, `id="oval:com.redhat.rhsa:tst:20998002999"`, 1)
	var got []DistroFix
	var bad []*RecordError
	if err := ReadRedHatOVAL(strings.NewReader(missing), "missing", func(f DistroFix) error { got = append(got, f); return nil },
		func(e *RecordError) { bad = append(bad, e) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || len(bad) != 1 || !strings.Contains(bad[0].Error(), "RHSA-2099:8002") {
		t.Fatalf("missing test: %+v %v", got, bad)
	}
	// A definition for several RHEL majors, or none that can be told.
	several := strings.Replace(doc, "<platform>Red Hat Enterprise Linux 8</platform>",
		"<platform>Red Hat Enterprise Linux 8</platform><platform>Red Hat Enterprise Linux 9</platform>", 1)
	bad = nil
	if err := ReadRedHatOVAL(strings.NewReader(several), "several", func(DistroFix) error { return nil }, func(e *RecordError) { bad = append(bad, e) }); err != nil || len(bad) != 1 ||
		!strings.Contains(bad[0].Error(), "several RHEL major") {
		t.Fatalf("several majors: %v %v", err, bad)
	}
	eus := strings.ReplaceAll(strings.ReplaceAll(doc, "<platform>Red Hat Enterprise Linux 8</platform>", "<platform>Red Hat Enterprise Linux 8.6 EUS</platform>"),
		"enterprise_linux:8", "rhel_eus:8.6")
	bad = nil
	if err := ReadRedHatOVAL(strings.NewReader(eus), "rhel-8.6-eus.oval.xml", func(DistroFix) error { return nil }, func(e *RecordError) { bad = append(bad, e) }); err != nil || len(bad) != 4 {
		t.Fatalf("EUS stream: %v %v", err, bad)
	}
}

func TestDetectRedHatOVAL(t *testing.T) {
	b, err := os.ReadFile(redhatFile("rhel-9-excerpt.oval.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if k := Detect(b); k != KindRedHatOVAL {
		t.Fatalf("Detect = %q", k)
	}
	ubuntu := []byte(`<?xml version="1.0"?><oval_definitions xmlns="http://oval.mitre.org/XMLSchema/oval-definitions-5"><definitions><definition id="oval:com.ubuntu.jammy:def:1"/>`)
	if k := Detect(ubuntu); k != "" {
		t.Fatalf("Ubuntu's OVAL detected as %q", k)
	}
}

// TestImportRedHatOVAL: Red Hat's files go through Import like the
// others (gzip'd and bzip2'd too); a malformed file fails the import and
// leaves what was stored.
func TestImportRedHatOVAL(t *testing.T) {
	dir := t.TempDir()
	raw, err := os.ReadFile(redhatFile("rhel-8-excerpt.oval.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	gzName := filepath.Join(t.TempDir(), "rhel-8.oval.xml.gz")
	if err := os.WriteFile(gzName, gz.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	sum, err := Import(dir, gzName, redhatFile("rhel-9-excerpt.oval.xml.bz2"))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Manifest.DistroFixes != 6 || sum.Rejected != 1 || sum.Files[0].Kind != KindRedHatOVAL || sum.Files[1].Kind != KindRedHatOVAL {
		t.Fatalf("summary: %+v", sum)
	}
	again, err := Import(dir, redhatFile("rhel-8-excerpt.oval.xml"))
	if err != nil || again.Added+again.Updated != 0 || again.Unchanged != 5 { // the same records from another file
		t.Fatalf("re-import: %+v %v", again, err)
	}
	broken := filepath.Join(t.TempDir(), "rhel-9.oval.xml")
	if err := os.WriteFile(broken, raw[:len(raw)-200], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Import(dir, broken); !errors.Is(err, ErrFormat) {
		t.Fatalf("truncated file imported: %v", err)
	}
	db, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s := db.Stats(); s.DistroFixes != 6 {
		t.Fatalf("stored data lost: %+v", s)
	}
	if fx := db.DistroFixes("rhel", "php", "CVE-2099-0004"); len(fx) != 2 {
		t.Fatalf("php streams: %+v", fx)
	}
}

func redhatDB(t *testing.T) *DB {
	t.Helper()
	db := NewDB()
	for _, name := range []string{"rhel-8-excerpt.oval.xml", "rhel-9-excerpt.oval.xml"} {
		got, _ := readRedHat(t, name)
		for _, f := range got {
			db.AddDistroFix(f)
		}
	}
	return db
}

// TestBackportedRedHat: with the banner's package release (BIND's
// version.bind, an el tag), RPM ordering decides; with only the
// distribution's name in the banner, a fix in the very upstream version
// is reported as unverified, never as fixed.
func TestBackportedRedHat(t *testing.T) {
	db := redhatDB(t)
	tests := []struct {
		name                     string
		product, version, banner string
		cve                      string
		fixed, unverified        bool
		reason                   string
	}{
		{"bind el8 fixed", "ISC BIND", "9.11.36-RedHat-9.11.36-11.el8_9.1", "", "CVE-2023-50387", true, false,
			"fixed in Red Hat Enterprise Linux el8 32:9.11.36-11.el8_9.1 (RHSA-2099:8002)"},
		{"bind el8 later", "ISC BIND", "9.11.36 RedHat-9.11.36-16.el8_10.2", "", "CVE-2023-50868", true, false,
			"fixed in Red Hat Enterprise Linux el8 32:9.11.36-11.el8_9.1 (RHSA-2099:8002)"},
		{"bind el8 older", "ISC BIND", "9.11.36-RedHat-9.11.36-11.el8_9", "", "CVE-2023-50387", false, false,
			"Red Hat Enterprise Linux el8 fixed it in 32:9.11.36-11.el8_9.1; 32:9.11.36-11.el8_9 is older"},
		{"bind el7: no el7 record", "ISC BIND", "9.11.4-P2-RedHat-9.11.4-26.P2.el7_9.16", "", "CVE-2023-50387", false, false,
			"no Red Hat el7 fix for CVE-2023-50387 in bind 9.11.4 is known"},
		{"apache rhel: fixed in its upstream version, release unknown", "Apache httpd", "2.4.37",
			"HTTP/1.1 403 Forbidden\r\nServer: Apache/2.4.37 (Red Hat Enterprise Linux) OpenSSL/1.1.1k\r\n", "CVE-2021-40438", false, true,
			"fixed by RHSA-2099:8001 in Red Hat Enterprise Linux el8 httpd 0:2.4.37-41.module+el8.5.0+13093+f2a4aa4b and later; the banner does not show the package release, verify with `rpm -q httpd`"},
		{"apache rocky", "Apache httpd", "2.4.37", "Server: Apache/2.4.37 (Rocky Linux)\r\n", "CVE-2021-40438", false, true, ""},
		{"apache almalinux", "Apache httpd", "2.4.37", "Server: Apache/2.4.37 (AlmaLinux) OpenSSL/1.1.1k\r\n", "CVE-2021-40438", false, true, ""},
		{"apache centos 7: another upstream version", "Apache httpd", "2.4.6", "Server: Apache/2.4.6 (CentOS) OpenSSL/1.0.2k-fips PHP/5.4.16\r\n", "CVE-2021-40438", false, false,
			"the banner shows no CentOS package release and no Red Hat fix for CVE-2021-40438 in httpd 2.4.6 is known"},
		{"apache centos stream: not Red Hat's data", "Apache httpd", "2.4.37", "Server: Apache/2.4.37 (CentOS Stream)\r\n", "CVE-2021-40438", false, false,
			"the banner shows no CentOS Stream package revision"},
		{"apache with an el release", "Apache httpd", "2.4.37", "Server: Apache/2.4.37-43.module+el8.5.0+13806+b30d9eec.1\r\n", "CVE-2021-40438", true, false,
			"fixed in Red Hat Enterprise Linux el8 0:2.4.37-41.module+el8.5.0+13093+f2a4aa4b (RHSA-2099:8001)"},
		{"apache with an older el release", "Apache httpd", "2.4.37", "Server: Apache/2.4.37-30.module+el8.3.0+7001+0766b9e7\r\n", "CVE-2021-40438", false, false,
			"Red Hat Enterprise Linux el8 fixed it in 0:2.4.37-41.module+el8.5.0+13093+f2a4aa4b; 0:2.4.37-30.module+el8.3.0+7001+0766b9e7 is older"},
	}
	for _, tt := range tests {
		p, ok := DistroPackage(tt.product, tt.version, tt.banner)
		if !ok {
			t.Errorf("%s: no package", tt.name)
			continue
		}
		v := db.Backported(p, tt.cve)
		if v.Fixed != tt.fixed || v.Unverified != tt.unverified || tt.reason != "" && !strings.HasPrefix(v.Reason, tt.reason) {
			t.Errorf("%s: %+v\n want fixed=%v unverified=%v %q", tt.name, v, tt.fixed, tt.unverified, tt.reason)
		}
	}
	// Two module streams: each package is judged by its own.
	php := func(ver string) Package {
		v, _ := ParseRPMVersion("0:" + ver)
		return Package{Distro: "rhel", Release: "el8", Source: "php", Upstream: v.Version, Version: v.String(), EpochAssumed: true}
	}
	for ver, fixed := range map[string]bool{
		"7.4.33-1.module+el8.8.0+17865+f2a4aa4b":  true,
		"8.0.30-1.module+el8.9.0+19000+abcd1234":  true,
		"8.0.13-1.module+el8.5.0+12345+abcd1234":  false, // no record for upstream 8.0.13: the 7.4 fix says nothing
		"7.4.33-0.1.module+el8.7.0+1111+f2a4aa4b": false,
	} {
		if v := db.Backported(php(ver), "CVE-2099-0004"); v.Fixed != fixed {
			t.Errorf("php %s: %+v, want fixed=%v", ver, v, fixed)
		}
	}
	// An epoch other than the one assumed is not trusted.
	db.AddDistroFix(DistroFix{Distro: "rhel", Release: "el8", Package: "bind", CVE: "CVE-2099-0005", Fixed: "33:9.11.36-1.el8", Stream: "9.11.36", Source: "test"})
	p, _ := DistroPackage("ISC BIND", "9.11.36-RedHat-9.11.36-11.el8_9.1", "")
	if v := db.Backported(p, "CVE-2099-0005"); v.Fixed || !strings.Contains(v.Reason, "epoch") {
		t.Errorf("epoch: %+v", v)
	}
}

func TestDistroPackageRedHat(t *testing.T) {
	tests := []struct {
		name                     string
		product, version, banner string
		want                     Package
	}{
		{"bind rhel 9", "ISC BIND", "9.16.23-RH", "", Package{Distro: "rhel", Source: "bind", Upstream: "9.16.23", Tag: "RH"}},
		{"bind rhel 8", "ISC BIND", "9.11.36-RedHat-9.11.36-11.el8_9.1", "",
			Package{Distro: "rhel", Release: "el8", Source: "bind", Upstream: "9.11.36", Version: "32:9.11.36-11.el8_9.1", Tag: "RedHat-9.11.36-11.el8_9.1", EpochAssumed: true}},
		{"apache rhel", "Apache httpd", "2.4.57", "Server: Apache/2.4.57 (Red Hat Enterprise Linux) OpenSSL/3.0.7 mod_fcgid/2.3.9\r\n",
			Package{Distro: "rhel", Source: "httpd", Upstream: "2.4.57", Tag: "(Red Hat Enterprise Linux)"}},
		{"apache centos 8 lower case", "Apache httpd", "2.4.37", "Server: Apache/2.4.37 (centos)\r\n",
			Package{Distro: "centos", Source: "httpd", Upstream: "2.4.37", Tag: "(centos)"}},
		{"apache centos stream", "Apache httpd", "2.4.62", "Server: Apache/2.4.62 (CentOS Stream)\r\n",
			Package{Distro: "centos-stream", Source: "httpd", Upstream: "2.4.62", Tag: "(CentOS Stream)"}},
		{"apache rocky", "Apache httpd", "2.4.37", "Server: Apache/2.4.37 (Rocky Linux)\r\n",
			Package{Distro: "rocky", Source: "httpd", Upstream: "2.4.37", Tag: "(Rocky Linux)"}},
		{"apache alma", "Apache httpd", "2.4.37", "Server: Apache/2.4.37 (AlmaLinux) OpenSSL/1.1.1k\r\n",
			Package{Distro: "almalinux", Source: "httpd", Upstream: "2.4.37", Tag: "(AlmaLinux)"}},
		{"nginx el9 release", "nginx", "1.20.1", "Server: nginx/1.20.1-14.el9_2.1\r\n",
			Package{Distro: "rhel", Release: "el9", Source: "nginx", Upstream: "1.20.1", Version: "1:1.20.1-14.el9_2.1", Tag: "1.20.1-14.el9_2.1", EpochAssumed: true}},
		{"openssh bare el tag", "OpenSSH", "8.0p1", "SSH-2.0-OpenSSH_8.0p1-el8\r\n",
			Package{Distro: "rhel", Release: "el8", Source: "openssh", Upstream: "8.0p1", Tag: "8.0p1-el8"}},
	}
	for _, tt := range tests {
		got, ok := DistroPackage(tt.product, tt.version, tt.banner)
		if !ok || got != tt.want {
			t.Errorf("%s: %+v, %v\n want %+v", tt.name, got, ok, tt.want)
		}
	}
	for _, no := range [][3]string{
		{"OpenSSH", "8.0", "SSH-2.0-OpenSSH_8.0\r\n"},                  // RHEL's OpenSSH says nothing
		{"Apache httpd", "2.4.37", "Server: Apache/2.4.37\r\n"},        // nor a bare Apache
		{"nginx", "1.20.1", "Server: nginx/1.20.1-1\r\n"},              // a release without an el tag
		{"Apache httpd", "2.4.37", "Server: Apache/12.4.37-1.el8\r\n"}, // another version
		{"PHP", "7.2.24", "X-Powered-By: PHP/7.2.24\r\n"},              // PHP is not mapped
	} {
		if p, ok := DistroPackage(no[0], no[1], no[2]); ok {
			t.Errorf("%q: %+v", no[2], p)
		}
	}
}

func FuzzReadRedHatOVAL(f *testing.F) {
	for _, name := range []string{"rhel-8-excerpt.oval.xml", "rhel-9-excerpt.oval.xml"} {
		b, err := os.ReadFile(redhatFile(name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`<oval_definitions><definitions><definition class="patch"><metadata><title>RHSA-2024:1: x</title></metadata></definition></definitions></oval_definitions>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		keep := func(d DistroFix) error {
			if err := d.validate(); err != nil {
				t.Fatalf("invalid record delivered: %+v: %v", d, err)
			}
			if !IsRedHatNetworkPackage(d.Package) {
				t.Fatalf("package %q kept", d.Package)
			}
			return nil
		}
		_ = ReadRedHatOVAL(bytes.NewReader(b), "fuzz", keep, func(*RecordError) {})
	})
}

func FuzzDistroPackageRPM(f *testing.F) {
	for _, s := range [][3]string{
		{"ISC BIND", "9.11.36-RedHat-9.11.36-11.el8_9.1", ""},
		{"ISC BIND", "9.16.23-RH", ""},
		{"Apache httpd", "2.4.37", "Server: Apache/2.4.37 (Red Hat Enterprise Linux)"},
		{"nginx", "1.20.1", "Server: nginx/1.20.1-14.el9_2.1"},
		{"OpenSSH", "8.0p1", "SSH-2.0-OpenSSH_8.0p1-el8"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, product, version, banner string) {
		p, ok := DistroPackage(product, version, banner)
		if !ok || !RedHatFamily(p.Distro) {
			return
		}
		if p.Version != "" {
			v, err := ParseRPMVersion(p.Version)
			if err != nil || v.Release == "" {
				t.Fatalf("%+v: version does not parse: %v", p, err)
			}
		}
		if p.Release != "" && !rhelReleaseRE().MatchString(p.Release) {
			t.Fatalf("%+v: release", p)
		}
		_ = p.Label()
	})
}
