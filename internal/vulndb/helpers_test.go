package vulndb

import (
	"os"
	"path/filepath"
	"testing"
)

// sharedData returns the directory of the shared real samples
// (../shared/data seen from the repository root). It skips the test when
// they are absent, and fails it under CI.
func sharedData(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "data")
	if _, err := os.Stat(filepath.Join(dir, "nvd")); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("shared samples missing at %s: %v", dir, err)
		}
		tb.Skipf("shared samples not found at %s (%v); they live beside the repository", dir, err)
	}
	return dir
}

// nvdFiles lists the shared NVD records.
func nvdFiles(tb testing.TB) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(sharedData(tb), "nvd", "CVE-*.json"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no NVD samples: %v", err)
	}
	return files
}

func kevFile(tb testing.TB) string {
	return filepath.Join(sharedData(tb), "kev", "known_exploited_vulnerabilities.json")
}

// sampleDB builds a DB from every shared NVD record, the KEV catalog and
// the EPSS sample.
func sampleDB(tb testing.TB) *DB {
	tb.Helper()
	db := NewDB()
	for _, f := range nvdFiles(tb) {
		r, err := os.Open(f)
		if err != nil {
			tb.Fatal(err)
		}
		err = ReadNVD(r, f, db.AddCVE, nil)
		r.Close()
		if err != nil {
			tb.Fatal(err)
		}
	}
	r, err := os.Open(kevFile(tb))
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	if _, err := ReadKEV(r, "kev", func(e KEVEntry) error { db.AddKEV(e); return nil }, nil); err != nil {
		tb.Fatal(err)
	}
	e, err := os.Open(filepath.Join("testdata", "epss_sample.csv"))
	if err != nil {
		tb.Fatal(err)
	}
	defer e.Close()
	if _, err := ReadEPSS(e, "epss_sample.csv", func(s EPSSScore) error { db.AddEPSS(s); return nil }, nil); err != nil {
		tb.Fatal(err)
	}
	return db
}

func hitIDs(hits []Hit) []string {
	var out []string
	for _, h := range hits {
		out = append(out, h.CVE.ID)
	}
	return out
}
