package vulndb

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Seeds come from real data: the NVD records and the EPSS sample in
// testdata, a slice of the real KEV catalog's shape.

func FuzzReadNVD(f *testing.F) {
	for _, name := range []string{"CVE-2021-41773.json", "CVE-2017-7269.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", "nvd", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add([]byte(`{"vulnerabilities":[{"cve":` + string(data) + `}]}`))
	}
	f.Add([]byte(`[{"cve":{"id":"CVE-2099-0001","published":"2099-01-01T00:00:00"}}]`))
	f.Add([]byte(`{"id":"CVE-2099-0001","published":"2099-01-01T00:00:00","configurations":[{"operator":"AND","negate":true,"nodes":[{"operator":"OR","cpeMatch":[{"vulnerable":true,"criteria":"cpe:2.3:a:x:y:*:*:*:*:*:*:*:*","versionEndExcluding":"1.0"}]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		db := NewDB()
		err := ReadNVD(bytes.NewReader(data), "fuzz.json", func(c *CVE) error {
			if !ValidCVEID(c.ID) {
				t.Fatalf("invalid id %q delivered", c.ID)
			}
			return db.AddCVE(c)
		}, func(*RecordError) {})
		if err != nil && !strings.Contains(err.Error(), "fuzz.json") {
			t.Fatalf("error does not name the file: %v", err)
		}
		db.Match("cpe:2.3:a:x:y:0.9:*:*:*:*:*:*:*")
		db.Match("cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*")
	})
}

func FuzzReadKEV(f *testing.F) {
	f.Add([]byte(`{"title":"CISA Catalog","catalogVersion":"2025.08.25","dateReleased":"2025-08-25T17:04:19.9796Z","count":1,"vulnerabilities":[` +
		`{"cveID":"CVE-2021-41773","vendorProject":"Apache","product":"HTTP Server","vulnerabilityName":"Apache HTTP Server Path Traversal Vulnerability",` +
		`"dateAdded":"2021-11-03","shortDescription":"x","requiredAction":"Apply updates per vendor instructions.","dueDate":"2021-11-17",` +
		`"knownRansomwareCampaignUse":"Known","notes":"https://nvd.nist.gov/vuln/detail/CVE-2021-41773","cwes":["CWE-22"]}]}`))
	f.Add([]byte(`{"vulnerabilities":[{"cveID":"CVE-BAD"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := ReadKEV(bytes.NewReader(data), "fuzz.json", func(e KEVEntry) error {
			if !ValidCVEID(e.CVEID) {
				t.Fatalf("invalid id %q delivered", e.CVEID)
			}
			return nil
		}, func(*RecordError) {})
		if err != nil && !strings.Contains(err.Error(), "fuzz.json") {
			t.Fatalf("error does not name the file: %v", err)
		}
	})
}

func FuzzReadEPSS(f *testing.F) {
	data, err := os.ReadFile(filepath.Join("testdata", "epss_sample.csv"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte("cve,epss\nCVE-2099-0001,0.5\n"))
	f.Add([]byte("percentile,cve,epss\n\"0.5\",CVE-2099-0001,1e-3\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := ReadEPSS(bytes.NewReader(data), "fuzz.csv", func(s EPSSScore) error {
			if !ValidCVEID(s.CVE) || s.EPSS < 0 || s.EPSS > 1 || s.Percentile < 0 || s.Percentile > 1 {
				t.Fatalf("invalid score delivered: %+v", s)
			}
			return nil
		}, func(*RecordError) {})
		if err != nil && !strings.Contains(err.Error(), "fuzz.csv") {
			t.Fatalf("error does not name the file: %v", err)
		}
	})
}

func FuzzParseCPE(f *testing.F) {
	for _, s := range []string{
		"cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*",
		`cpe:2.3:o:ricon:s9922l_firmware:16.10.3\(3794\):*:*:*:*:*:*:*`,
		"cpe:2.3:a:openbsd:openssh:8.5:p1:*:*:*:*:*:*",
		`cpe:2.3:a:x:y:1.\*:*:*:*:*:*:*:*`,
		"cpe:/a:nginx:nginx:1.20.0",
		"cpe:/a:b%3ac:d",
	} {
		f.Add(s, "cpe:2.3:a:openbsd:openssh:7.4p1")
	}
	f.Fuzz(func(t *testing.T, crit, target string) {
		c, err := ParseCPE(crit)
		if err != nil {
			return
		}
		// Formatting is stable: format, parse, format gives the same text.
		s := c.String()
		c2, err := ParseCPE(s)
		if err != nil {
			t.Fatalf("ParseCPE(%q) of String() of %q: %v", s, crit, err)
		}
		if s2 := c2.String(); s2 != s {
			t.Fatalf("String not stable: %q → %q → %q", crit, s, s2)
		}
		tc, err := ParseCPE(target)
		if err != nil {
			return
		}
		m := CPEMatch{Vulnerable: true, Criteria: crit, VersionEndExcluding: "9"}
		n := Node{Match: []CPEMatch{m}}
		if err := n.compile(); err != nil {
			t.Fatal(err)
		}
		n.Match[0].matchCPE(&tc)
	})
}

func FuzzCompareVersion(f *testing.F) {
	for _, p := range [][3]string{
		{"1.0.1f", "1.0.1g", "1.0.2"}, {"7.4p1", "7.4", "7.5"}, {"1.0-rc1", "1.0", "1.0.1"},
		{"12.1-55.297", "12.1", "13.0"}, {"2.4.49", "2.4.9", "2.4.50"},
	} {
		f.Add(p[0], p[1], p[2])
	}
	f.Fuzz(func(t *testing.T, a, b, c string) {
		ab, ba := CompareVersion(a, b), CompareVersion(b, a)
		if ab != -ba {
			t.Fatalf("not antisymmetric: %q %q: %d %d", a, b, ab, ba)
		}
		if CompareVersion(a, a) != 0 {
			t.Fatalf("%q != itself", a)
		}
		// Transitivity of <=.
		if ab <= 0 && CompareVersion(b, c) <= 0 && CompareVersion(a, c) > 0 {
			t.Fatalf("not transitive: %q <= %q <= %q but %q > %q", a, b, c, a, c)
		}
	})
}
